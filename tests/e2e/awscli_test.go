package e2e

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// cliStubs stand in for the tools that cannot run here: they swallow their input and succeed.
// jq is real (the fixes filter policies with it), and so is aws (RunCLI points it at awsfake).
const cliStubs = `set -o pipefail
kubectl() { cat >/dev/null; }
docker() { cat >/dev/null; }
sudo() { cat >/dev/null; }
openssl() { cat >/dev/null; }
export -f kubectl docker sudo openssl
`

// awsCommand matches a command line that runs the AWS CLI, also inside $(...) or <(...).
var awsCommand = regexp.MustCompile(`(^|[\s$(<"'])aws\s`)

// cliScript is a finding's fixes, each fix's commands in order, then its verify command, as
// one script (later commands use the variables earlier ones set), and the number of aws
// command lines in it.
func cliScript(f diagnosis.Finding) (string, int) {
	var b strings.Builder
	b.WriteString(cliStubs)
	n := 0
	add := func(cmd string) {
		b.WriteString(cmd + "\n")
		if awsCommand.MatchString(cmd) {
			n++
		}
	}
	for i, fx := range f.Fixes {
		fmt.Fprintf(&b, "# Fix %d: %s\n", i+1, strings.ReplaceAll(fx.Title, "\n", " "))
		for _, c := range fx.Commands {
			add(c)
		}
	}
	b.WriteString("# Verify\n")
	add(f.Verify)
	return b.String(), n
}
