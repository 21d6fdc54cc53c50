package slack

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/pullcheck/pullcheck/tests/slackfake"
)

// scopesOf maps each Slack Web API method the bot calls to the bot scopes it needs
// (api.slack.com/methods). The local Slack API the tests use (tests/slackfake) answers
// exactly its Methods and fails the test on any other; TestScopesCoverFakeMethods makes
// every one of those appear here, so a new call cannot slip past this table.
var scopesOf = map[string][]string{
	"auth.test":             nil, // no scope
	"chat.postMessage":      {"chat:write"},
	"chat.update":           {"chat:write"},
	"chat.postEphemeral":    {"chat:write"},
	"usergroups.users.list": {"usergroups:read"},
	// Alert channels are resolved by listing the public and private channels the bot is a
	// member of (users.conversations) and looking up the IDs not among them
	// (conversations.info); each channel type has its own scope.
	"users.conversations": {"channels:read", "groups:read"},
	"conversations.info":  {"channels:read", "groups:read"},
	// The bot no longer calls it; the fake still serves it.
	"conversations.list": {"channels:read", "groups:read"},
}

// manifest is what the tests read of deploy/slack/app-manifest.yaml.
type manifest struct {
	Features struct {
		SlashCommands []struct {
			Command string `json:"command"`
		} `json:"slash_commands"`
	} `json:"features"`
	OAuth struct {
		Scopes struct {
			Bot []string `json:"bot"`
		} `json:"scopes"`
	} `json:"oauth_config"`
	Settings struct {
		Interactivity struct {
			IsEnabled bool `json:"is_enabled"`
		} `json:"interactivity"`
		SocketMode bool `json:"socket_mode_enabled"`
	} `json:"settings"`
}

// scopeProblems compares the manifest's bot scopes with those the methods need, plus
// commands for /pullcheck: each scope missing names the methods needing it, and each scope
// no method needs is reported as extra.
func scopeProblems(bot []string, scopesOf map[string][]string) []string {
	need := map[string][]string{"commands": {"/pullcheck"}} // scope -> what needs it
	for _, method := range slices.Sorted(maps.Keys(scopesOf)) {
		for _, s := range scopesOf[method] {
			need[s] = append(need[s], method)
		}
	}
	var problems []string
	for _, s := range slices.Sorted(maps.Keys(need)) {
		if !slices.Contains(bot, s) {
			problems = append(problems, fmt.Sprintf("bot scope %s is missing (needed by %s)", s, strings.Join(need[s], ", ")))
		}
	}
	for _, s := range bot {
		if _, ok := need[s]; !ok {
			problems = append(problems, fmt.Sprintf("bot scope %s is not needed by any method the code calls: remove it", s))
		}
	}
	return problems
}

// TestAppManifestScopes checks that deploy/slack/app-manifest.yaml asks for exactly the bot
// scopes the code uses: those of the methods above, plus commands for /pullcheck.
func TestAppManifestScopes(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/slack/app-manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := yaml.Unmarshal(raw, &m); err != nil {
		t.Fatalf("parse the app manifest: %v", err)
	}
	for _, p := range scopeProblems(m.OAuth.Scopes.Bot, scopesOf) {
		t.Errorf("app manifest: %s", p)
	}
	if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].Command != "/pullcheck" {
		t.Errorf("manifest slash commands %+v, want /pullcheck", m.Features.SlashCommands)
	}
	if !m.Settings.Interactivity.IsEnabled || !m.Settings.SocketMode {
		t.Errorf("manifest settings %+v: interactivity and Socket Mode must be on", m.Settings)
	}
}

// TestScopeProblems: the comparison fails on a scope missing or extra, and names the methods.
func TestScopeProblems(t *testing.T) {
	all := []string{"commands", "chat:write", "usergroups:read", "channels:read", "groups:read"}
	without := func(s string) []string {
		return slices.DeleteFunc(slices.Clone(all), func(x string) bool { return x == s })
	}
	for _, tc := range []struct {
		name string
		bot  []string
		want []string
	}{
		{"exact", all, nil},
		{"no groups:read", without("groups:read"), []string{"bot scope groups:read is missing (needed by conversations.info, conversations.list, users.conversations)"}},
		{"no channels:read", without("channels:read"), []string{"bot scope channels:read is missing (needed by conversations.info, conversations.list, users.conversations)"}},
		{"no commands", without("commands"), []string{"bot scope commands is missing (needed by /pullcheck)"}},
		{"extra", append(slices.Clone(all), "channels:history"), []string{"bot scope channels:history is not needed by any method the code calls: remove it"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := scopeProblems(tc.bot, scopesOf)
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems %q, want %q", got, tc.want)
			}
		})
	}
}

// TestScopesCoverFakeMethods: every method the local Slack API answers has its scopes in
// scopesOf, and scopesOf names no method it does not answer (so the e2e tests exercise it).
func TestScopesCoverFakeMethods(t *testing.T) {
	fake := slackfake.Methods()
	for _, m := range fake {
		if _, ok := scopesOf[m]; !ok {
			t.Errorf("slackfake answers %s but scopesOf does not say which bot scopes it needs", m)
		}
	}
	for m := range scopesOf {
		if !slices.Contains(fake, m) {
			t.Errorf("scopesOf has %s, which slackfake does not answer: a call to it would fail the tests", m)
		}
	}
}
