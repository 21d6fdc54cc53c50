// Package render writes diagnosis reports for people and for programs.
//
// Every function is pure apart from writing to the given io.Writer: nothing reads the
// clock, the environment or the terminal. The caller decides the options (the CLI turns
// Color on only when stdout is a terminal).
//
//   - JSON and JSONList write the stable JSON contract, with empty lists as [] rather
//     than null.
//   - Text writes a report for an 80-column terminal. Prose is word-wrapped; commands are
//     never wrapped: each is printed verbatim after an indented "$ " prompt, so that it
//     stays copy-pasteable.
//   - Markdown writes the same content as GitHub-flavoured markdown, with commands in
//     fenced sh blocks.
//   - ScanText and ScanMarkdown write one line (or table row) per failing container and a
//     summary by cause.
package render
