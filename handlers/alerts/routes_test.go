package alerts

import (
	"path"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestChannelFor(t *testing.T) {
	routes := Routes{
		Rules: []Route{
			{Channel: "#payments", Namespaces: []string{"payments", "payments-*"}},
			{Channel: "#team-checkout", Selector: "team=checkout"},
			{Channel: "#prod-search", Namespaces: []string{"search-?"}, Selector: "env in (prod)"},
			{Channel: "#broken", Namespaces: []string{"[bad"}},
		},
		Default: "#alerts",
	}
	tests := []struct {
		name      string
		routes    Routes
		namespace string
		labels    map[string]string
		want      string
		wantOK    bool
	}{
		{"exact name", routes, "payments", nil, "#payments", true},
		{"glob", routes, "payments-eu", nil, "#payments", true},
		{"glob needs its prefix", routes, "payment", nil, "#alerts", true},
		{"first rule wins over selector", routes, "payments-eu", map[string]string{"team": "checkout"}, "#payments", true},
		{"selector", routes, "cart", map[string]string{"team": "checkout"}, "#team-checkout", true},
		{"selector mismatch", routes, "cart", map[string]string{"team": "search"}, "#alerts", true},
		{"names and selector both needed", routes, "search-1", map[string]string{"env": "prod"}, "#prod-search", true},
		{"names without selector labels", routes, "search-1", map[string]string{"env": "dev"}, "#alerts", true},
		{"bad glob matches nothing", routes, "[bad", nil, "#alerts", true},
		{"no default", Routes{Rules: routes.Rules}, "other", nil, "", false},
		{"no rules", Routes{Default: "#all"}, "other", nil, "#all", true},
		{"empty rule matches nothing", Routes{Rules: []Route{{Channel: "#x"}}}, "other", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.routes.ChannelFor(tt.namespace, tt.labels)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("ChannelFor(%q, %v) = %q, %v; want %q, %v", tt.namespace, tt.labels, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		routes Routes
		// want are substrings, one per expected problem, in order.
		want []string
	}{
		{"valid", Routes{Rules: []Route{
			{Channel: "#a", Namespaces: []string{"payments", "payments-*"}},
			{Channel: "#b", Namespaces: []string{"search-[0-9]"}},
			{Channel: "#c", Selector: "team=checkout"},
			{Channel: "#d", Namespaces: []string{"payments-eu"}, Selector: "env=prod"}, // a selector: not checked for overlap
		}, Default: "#all"}, nil},
		{"empty", Routes{}, nil},
		{"empty channel", Routes{Rules: []Route{{Namespaces: []string{"a"}}}},
			[]string{`alert route 1: channel is empty: set it`}},
		{"nothing to match", Routes{Rules: []Route{{Channel: "#a"}}},
			[]string{"alert route 1: has neither namespaces nor a selector"}},
		{"bad glob", Routes{Rules: []Route{{Channel: "#a", Namespaces: []string{"pay[ments"}}}},
			[]string{`alert route 1: namespace glob "pay[ments" is malformed`}},
		{"empty namespace", Routes{Rules: []Route{{Channel: "#a", Namespaces: []string{""}}}},
			[]string{"alert route 1: a namespace is empty"}},
		{"bad selector", Routes{Rules: []Route{{Channel: "#a", Selector: "team in ("}}},
			[]string{`alert route 1: selector "team in (" is not a label selector`}},
		{"same name", Routes{Rules: []Route{{Channel: "#a", Namespaces: []string{"payments"}}, {Channel: "#b", Namespaces: []string{"x", "payments"}}}},
			[]string{`alert routes 1 ("#a") and 2 ("#b") overlap: "payments" and "payments" both match namespace "payments"`}},
		{"name and glob", Routes{Rules: []Route{{Channel: "#a", Namespaces: []string{"payments-*"}}, {Channel: "#b", Namespaces: []string{"payments-eu"}}}},
			[]string{`"payments-*" and "payments-eu" both match namespace "payments-eu"`}},
		{"two globs", Routes{Rules: []Route{{Channel: "#a", Namespaces: []string{"*-prod"}}, {Channel: "#b", Namespaces: []string{"payments-*"}}}},
			[]string{`"*-prod" and "payments-*" both match namespace "payments-prod"`}},
		{"catch-all glob", Routes{Rules: []Route{{Channel: "#a", Namespaces: []string{"*"}}, {Channel: "#b", Namespaces: []string{"*"}}}},
			[]string{`"*" and "*" both match namespace "a"`}},
		{"classes", Routes{Rules: []Route{{Channel: "#a", Namespaces: []string{"ns-[a-c]"}}, {Channel: "#b", Namespaces: []string{"ns-[^ab]"}}}},
			[]string{`both match namespace "ns-c"`}},
		{"disjoint classes", Routes{Rules: []Route{{Channel: "#a", Namespaces: []string{"ns-[a-c]"}}, {Channel: "#b", Namespaces: []string{"ns-[d-f]", "ns-??"}}}}, nil},
		{"disjoint globs", Routes{Rules: []Route{{Channel: "#a", Namespaces: []string{"payments-*"}}, {Channel: "#b", Namespaces: []string{"search-*", "payments"}}}}, nil},
		{"question marks", Routes{Rules: []Route{{Channel: "#a", Namespaces: []string{"a?c"}}, {Channel: "#b", Namespaces: []string{"*b*"}}}},
			[]string{`both match namespace "abc"`}},
		{"escaped star is literal", Routes{Rules: []Route{{Channel: "#a", Namespaces: []string{`a\*`}}, {Channel: "#b", Namespaces: []string{"ab"}}}}, nil},
		{"selector rules are not compared", Routes{Rules: []Route{{Channel: "#a", Namespaces: []string{"*"}, Selector: "team=a"}, {Channel: "#b", Namespaces: []string{"*"}}}}, nil},
		{"every problem at once", Routes{Rules: []Route{
			{Namespaces: []string{"a*"}},
			{Channel: "#b", Namespaces: []string{"[x"}, Selector: "in in in"},
			{Channel: "#c", Namespaces: []string{"ab"}},
		}}, []string{
			"alert route 1: channel is empty",
			`alert route 2: namespace glob "[x" is malformed`,
			`alert route 2: selector "in in in" is not a label selector`,
			`alert routes 1 (no channel) and 3 ("#c") overlap: "a*" and "ab" both match namespace "ab", which would always go to route 1`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.routes.Validate()
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Validate() = %d problems, want %d:\n%v", len(got), len(tt.want), err)
			}
			for i := range got {
				if !strings.Contains(got[i], tt.want[i]) {
					t.Errorf("problem %d = %q\nwant it to contain %q", i+1, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestIntersectWitnessMatchesBoth(t *testing.T) {
	pairs := [][2]string{{"*", "*"}, {"a*b", "*ab*"}, {"[a-z]?x", "b*"}, {"x*", "*y"}, {"*-*-*", "a-b-c"}, {`\[a\]`, "[[]*"}}
	for _, p := range pairs {
		a, _ := parseGlob(p[0])
		b, _ := parseGlob(p[1])
		name, ok := intersect(a, b)
		if !ok || name == "" {
			t.Errorf("intersect(%q, %q) = %q, %v; want a name", p[0], p[1], name, ok)
			continue
		}
		for _, pat := range p {
			if m, _ := path.Match(pat, name); !m {
				t.Errorf("intersect(%q, %q) = %q, which %q does not match", p[0], p[1], name, pat)
			}
		}
	}
}

func TestParseGlob(t *testing.T) {
	got, err := parseGlob(`a**?[^\]]\*`)
	if err != nil {
		t.Fatal(err)
	}
	want := []globToken{{kind: globLiteral, lit: 'a'}, {kind: globStar}, {kind: globAny}, {kind: globClass, class: `[^\]]`}, {kind: globLiteral, lit: '*'}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(globToken{})); diff != "" {
		t.Errorf("parseGlob (-want +got):\n%s", diff)
	}
}
