package handlers

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/validation"
)

func TestParseCommand(t *testing.T) {
	diag := func(ns, pod string) request { return request{kind: reqDiagnose, namespace: ns, pod: pod} }
	scan := func(ns string) request { return request{kind: reqScan, namespace: ns} }
	help := request{kind: reqHelp}
	tests := []struct {
		name string
		text string
		want request
		// wantErr is a part of the public error text; empty means no error.
		wantErr string
	}{
		{"empty", "", help, ""},
		{"spaces only", " \t\n ", help, ""},
		{"help", "help", help, ""},
		{"HELP", "HELP", help, ""},
		{"--help", "--help", help, ""},
		{"-h", "-h", help, ""},
		{"question mark", "?", help, ""},
		{"help among words", "payments help", help, ""},

		{"namespace/pod", "payments/payments-api-7d9f8b6c4-x2k9p", diag("payments", "payments-api-7d9f8b6c4-x2k9p"), ""},
		{"pod -n namespace", "payments-api-7d9f8b6c4-x2k9p -n payments", diag("payments", "payments-api-7d9f8b6c4-x2k9p"), ""},
		{"-n namespace pod", "-n payments payments-api-7d9f8b6c4-x2k9p", diag("payments", "payments-api-7d9f8b6c4-x2k9p"), ""},
		{"--namespace", "api-0 --namespace payments", diag("payments", "api-0"), ""},
		{"--namespace=", "api-0 --namespace=payments", diag("payments", "api-0"), ""},
		{"-n=", "api-0 -n=payments", diag("payments", "api-0"), ""},
		{"-nNS", "api-0 -npayments", diag("payments", "api-0"), ""},
		{"em dash namespace", "api-0 —namespace payments", diag("payments", "api-0"), ""},
		{"en dash n", "api-0 –n payments", diag("payments", "api-0"), ""},
		{"single dash namespace", "api-0 -namespace payments", diag("payments", "api-0"), ""},
		{"same namespace twice", "payments/api-0 -n payments", diag("payments", "api-0"), ""},
		{"tabs and newlines", "\tpayments/api-0\n", diag("payments", "api-0"), ""},
		{"no-break spaces", "api-0\u00a0-n\u00a0payments", diag("payments", "api-0"), ""},
		{"in backticks", "`payments/api-0`", diag("payments", "api-0"), ""},
		{"in smart quotes", "“payments/api-0”", diag("payments", "api-0"), ""},
		{"dots in pod name", "kube-system/coredns.v1-0", diag("kube-system", "coredns.v1-0"), ""},

		{"namespace", "payments", scan("payments"), ""},
		{"-n namespace alone", "-n payments", scan("payments"), ""},

		{"uppercase namespace", "Payments/api-0", request{}, "lowercase. Did you mean `payments`?"},
		{"uppercase pod", "payments/API-0", request{}, "Did you mean `api-0`?"},
		{"uppercase scan", "PAYMENTS", request{}, "Did you mean `payments`?"},
		{"unicode namespace", "paymënts/api-0", request{}, "`\"paym\\u00ebnts\"` is not a valid namespace name"},
		{"zero-width space", "payments\u200b/api-0", request{}, "`\"payments\\u200b\"` is not a valid namespace name"},
		{"dot in namespace", "pay.ments/api-0", request{}, "is not a valid namespace name: use lowercase letters, digits and '-'"},
		{"namespace too long", strings.Repeat("a", 64) + "/api-0", request{}, "longer than 63 characters"},
		{"pod too long", "payments/" + strings.Repeat("a", 254), request{}, "longer than 253 characters"},
		{"placeholders", "<namespace>/<pod>", request{}, "Replace `&lt;namespace&gt;` with the real namespace name."},
		{"escaped placeholders", "&lt;namespace&gt;/&lt;pod&gt;", request{}, "Replace `&lt;namespace&gt;`"},
		{"too many args", "payments api-0 api-1", request{}, "Too many arguments (`payments`, `api-0` and `api-1`)"},
		{"two pods with -n", "api-0 api-1 -n payments", request{}, "Too many arguments"},
		{"two slashes", "payments/api/0", request{}, "more than one `/`"},
		{"no pod after slash", "payments/", request{}, "no pod name after the `/`"},
		{"no namespace before slash", "/api-0", request{}, "no namespace before the `/`"},
		{"-n without value", "api-0 -n", request{}, "`-n` needs a namespace"},
		{"-n= without value", "api-0 -n=", request{}, "`-n` needs a namespace"},
		{"conflicting namespaces", "payments/api-0 -n billing", request{}, "given twice (`payments` and `billing`)"},
		{"two -n", "api-0 -n payments -n billing", request{}, "given twice (`payments` and `billing`)"},
		{"unknown flag", "api-0 -o json", request{}, "Unknown option `-o`"},
		{"all namespaces", "-A", request{}, "Unknown option `-A`"},
		{"mention injection", "<!here>/api-0", request{}, "Replace `&lt;!here&gt;`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCommand(tt.text)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("parseCommand(%q) error: %v", tt.text, err)
				}
				if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(request{})); diff != "" {
					t.Errorf("parseCommand(%q) mismatch (-want +got):\n%s", tt.text, diff)
				}
				return
			}
			var ue UserError
			if !errors.As(err, &ue) {
				t.Fatalf("parseCommand(%q) = %+v, %v; want a UserError", tt.text, got, err)
			}
			if !strings.Contains(ue.Public, tt.wantErr) {
				t.Errorf("parseCommand(%q) error %q; want it to contain %q", tt.text, ue.Public, tt.wantErr)
			}
		})
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"", "help", "payments/api-0", "api-0 -n payments", "a b c", "—namespace=x y", "&lt;x&gt;", "`p/q`"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		r, err := parseCommand(text)
		if err != nil {
			var ue UserError
			if !errors.As(err, &ue) || ue.Public == "" {
				t.Fatalf("parseCommand(%q) error %v is not a UserError with public text", text, err)
			}
			return
		}
		switch r.kind {
		case reqDiagnose:
			if checkName("pod", r.pod, validation.IsDNS1123Subdomain) != nil || checkName("namespace", r.namespace, validation.IsDNS1123Label) != nil {
				t.Fatalf("parseCommand(%q) = %+v: invalid names accepted", text, r)
			}
		case reqScan:
			if checkName("namespace", r.namespace, validation.IsDNS1123Label) != nil {
				t.Fatalf("parseCommand(%q) = %+v: invalid namespace accepted", text, r)
			}
		}
	})
}
