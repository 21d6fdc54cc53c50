package render

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// JSON writes r as an indented JSON object followed by a newline.
//
// Lists of the contract (findings, evidence, fixes, commands) are written as [] when
// empty, never as null, and a healthy report without a cause gets the cause "none".
// r itself is not modified.
func JSON(w io.Writer, r diagnosis.Report) error {
	return writeJSON(w, normalize(r))
}

// JSONList writes the reports as an indented JSON array followed by a newline.
// No reports give [].
func JSONList(w io.Writer, reports []diagnosis.Report) error {
	out := make([]diagnosis.Report, len(reports))
	for i, r := range reports {
		out[i] = normalize(r)
	}
	return writeJSON(w, out)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	// Commands contain &&, < and >; keep them readable instead of \u0026.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// normalize returns a copy of r whose contract lists are non-nil. It allocates new
// slices wherever it changes something, so the caller's report is never modified.
func normalize(r diagnosis.Report) diagnosis.Report {
	if r.Cause == "" && r.Status == diagnosis.StatusHealthy {
		r.Cause = diagnosis.CauseNone
	}
	findings := make([]diagnosis.Finding, len(r.Findings))
	for i, f := range r.Findings {
		if f.Evidence == nil {
			f.Evidence = []string{}
		}
		fixes := make([]diagnosis.Fix, len(f.Fixes))
		for j, fix := range f.Fixes {
			if fix.Commands == nil {
				fix.Commands = []string{}
			}
			fixes[j] = fix
		}
		f.Fixes = fixes
		findings[i] = f
	}
	r.Findings = findings
	return r
}
