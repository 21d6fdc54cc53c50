package slack

import (
	"os"
	"slices"
	"testing"

	"sigs.k8s.io/yaml"
)

// scopeOf maps each Slack Web API method the bot calls to the bot scope it needs
// (api.slack.com/methods). The local Slack API in these tests answers exactly these methods
// and fails the test on any other, so a new call cannot slip past this table.
var scopeOf = map[string]string{
	"chat.postMessage":      "chat:write",
	"chat.update":           "chat:write",
	"chat.postEphemeral":    "chat:write",
	"usergroups.users.list": "usergroups:read",
}

// TestAppManifestScopes checks that deploy/slack/app-manifest.yaml asks for exactly the bot
// scopes the code uses: those of the methods above, plus commands for /pullcheck.
func TestAppManifestScopes(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/slack/app-manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
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
	if err := yaml.Unmarshal(raw, &m); err != nil {
		t.Fatalf("parse the app manifest: %v", err)
	}
	want := []string{"commands"}
	for _, s := range scopeOf {
		if !slices.Contains(want, s) {
			want = append(want, s)
		}
	}
	got := slices.Clone(m.OAuth.Scopes.Bot)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("manifest bot scopes %v, want exactly %v", got, want)
	}
	if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].Command != "/pullcheck" {
		t.Errorf("manifest slash commands %+v, want /pullcheck", m.Features.SlashCommands)
	}
	if !m.Settings.Interactivity.IsEnabled || !m.Settings.SocketMode {
		t.Errorf("manifest settings %+v: interactivity and Socket Mode must be on", m.Settings)
	}
}
