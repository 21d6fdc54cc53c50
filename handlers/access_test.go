package handlers

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"
)

func testAccess() access {
	return access{
		channels: []ChannelRule{
			{Channel: "C0PAYMENTS", Namespaces: []string{"payments", "payments-*"}},
			{Channel: "#platform", Namespaces: []string{"*"}},
			{Channel: "team-a", Namespaces: []string{"team-a-?"}},
			{Channel: "team-a", Namespaces: []string{"shared"}},
		},
		defaults: []string{"sandbox"},
		approvers: []ApproverRule{
			{Namespaces: []string{"payments*"}, Approvers: []string{"U0ALICE", "S0PAYOPS"}},
			{Namespaces: []string{"*"}, Approvers: []string{"W0PLATFORM"}},
			{Namespaces: []string{"payments"}, Approvers: []string{"U0ALICE", "U0BOB"}},
		},
	}
}

func TestAccessAllowed(t *testing.T) {
	a := testAccess()
	tests := []struct {
		name                string
		channelID, chanName string
		namespace           string
		want                bool
	}{
		{"by ID", "C0PAYMENTS", "payments-alerts", "payments", true},
		{"by ID, glob", "C0PAYMENTS", "payments-alerts", "payments-batch", true},
		{"by ID, other namespace", "C0PAYMENTS", "payments-alerts", "billing", false},
		{"by ID, glob is not a prefix match", "C0PAYMENTS", "", "paymentsx", false},
		{"by name with #", "C0PLATFORM", "platform", "kube-system", true},
		{"by name, two rules add up", "C0TEAMA", "team-a", "shared", true},
		{"by name, ? glob", "C0TEAMA", "team-a", "team-a-1", true},
		{"by name, ? is one character", "C0TEAMA", "team-a", "team-a-12", false},
		{"no rule: defaults", "C0OTHER", "random", "sandbox", true},
		{"no rule: not in defaults", "C0OTHER", "random", "payments", false},
		{"ID rule does not match a name", "C0OTHER", "C0PAYMENTS", "payments", false},
		{"direct message: defaults", "D0DM", "directmessage", "sandbox", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := a.allowed(tt.channelID, tt.chanName, tt.namespace); got != tt.want {
				t.Errorf("allowed(%q, %q, %q) = %v, want %v", tt.channelID, tt.chanName, tt.namespace, got, tt.want)
			}
		})
	}
}

func TestAccessApproversFor(t *testing.T) {
	a := testAccess()
	tests := []struct {
		namespace           string
		wantUsers, wantGrps []string
	}{
		{"payments", []string{"U0ALICE", "W0PLATFORM", "U0BOB"}, []string{"S0PAYOPS"}},
		{"payments-batch", []string{"U0ALICE", "W0PLATFORM"}, []string{"S0PAYOPS"}},
		{"billing", []string{"W0PLATFORM"}, nil},
	}
	for _, tt := range tests {
		users, groups := a.approversFor(tt.namespace)
		if diff := cmp.Diff(tt.wantUsers, users); diff != "" {
			t.Errorf("approversFor(%q) users (-want +got):\n%s", tt.namespace, diff)
		}
		if diff := cmp.Diff(tt.wantGrps, groups); diff != "" {
			t.Errorf("approversFor(%q) groups (-want +got):\n%s", tt.namespace, diff)
		}
	}
	if users, groups := (access{}).approversFor("payments"); users != nil || groups != nil {
		t.Errorf("no rules: approversFor = %v, %v; want none", users, groups)
	}
}

func TestConfigValidate(t *testing.T) {
	key := SigningKey(strings.Repeat("k", 32))
	valid := Config{
		Cluster:           "prod-eks",
		Channels:          []ChannelRule{{Channel: "C0PAYMENTS", Namespaces: []string{"payments"}}},
		DefaultNamespaces: []string{"sandbox-*"},
		Approvers:         []ApproverRule{{Namespaces: []string{"payments"}, Approvers: []string{"U0ALICE", "S0OPS"}}},
		TokenKey:          key,
	}
	if err := valid.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	tests := []struct {
		name   string
		change func(*Config)
		want   []string
	}{
		{"bad glob", func(c *Config) { c.Channels[0].Namespaces = []string{"pay[ments"} }, []string{`namespace glob "pay[ments"`}},
		{"bad namespace", func(c *Config) { c.DefaultNamespaces = []string{"Payments"} }, []string{`namespace "Payments" is not a valid namespace name`}},
		{"empty channel", func(c *Config) { c.Channels[0].Channel = "" }, []string{"want a channel ID"}},
		{"no namespaces", func(c *Config) { c.Channels[0].Namespaces = nil }, []string{"no namespaces"}},
		{"approver by name", func(c *Config) { c.Approvers[0].Approvers = []string{"alice@example.com"} }, []string{`"alice@example.com" is not a Slack user ID`}},
		{"no approvers", func(c *Config) { c.Approvers[0].Approvers = nil }, []string{"no approvers"}},
		{"short key", func(c *Config) { c.TokenKey = key[:16] }, []string{"16 bytes"}},
		{"no cluster", func(c *Config) { c.Cluster = "" }, []string{"the cluster needs a name"}},
		{"negative duration", func(c *Config) { c.OfferTTL = -time.Minute }, []string{"offer TTL is -1m0s"}},
		{"every problem at once", func(c *Config) {
			c.TokenKey = nil
			c.RolloutTimeout = -1
			c.Channels[0].Channel = "#"
		}, []string{"restart token key is 0 bytes", "rollout timeout", "want a channel ID"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid
			c.Channels = []ChannelRule{{Channel: "C0PAYMENTS", Namespaces: []string{"payments"}}}
			c.Approvers = []ApproverRule{{Namespaces: []string{"payments"}, Approvers: []string{"U0ALICE", "S0OPS"}}}
			tt.change(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("Validate() = nil, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to mention %q", err, w)
				}
			}
		})
	}
}

// fakeGroups is GroupMembers over a map, counting calls.
type fakeGroups struct {
	mu      sync.Mutex
	members map[string][]string
	err     error
	calls   int
}

func (f *fakeGroups) GetUserGroupMembersContext(ctx context.Context, group string, _ ...slack.GetUserGroupMembersOption) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	return f.members[group], nil
}

func TestApproverCheck(t *testing.T) {
	now := testNow
	groups := &fakeGroups{members: map[string][]string{"S0OPS": {"U0CAROL"}}}
	c := &approverCheck{members: groups, now: func() time.Time { return now }, ttl: time.Minute}
	ctx := context.Background()
	users, grps := []string{"U0ALICE"}, []string{"S0OPS"}

	tests := []struct {
		name      string
		user      string
		advance   time.Duration
		setGroup  []string
		want      bool
		wantCalls int
	}{
		{"user ID, no Slack call", "U0ALICE", 0, nil, true, 0},
		{"group member", "U0CAROL", 0, nil, true, 1},
		{"cached", "U0CAROL", 30 * time.Second, nil, true, 1},
		{"not a member, from the cache", "U0MALLORY", 0, nil, false, 1},
		{"empty user", "", 0, nil, false, 1},
		{"cache expired: removed from the group", "U0CAROL", time.Minute, []string{"U0DAVE"}, false, 2},
		{"new member seen", "U0DAVE", 0, nil, true, 2},
	}
	for _, tt := range tests {
		now = now.Add(tt.advance)
		if tt.setGroup != nil {
			groups.members["S0OPS"] = tt.setGroup
		}
		got, err := c.isApprover(ctx, tt.user, users, grps)
		if err != nil {
			t.Fatalf("%s: isApprover: %v", tt.name, err)
		}
		if got != tt.want {
			t.Errorf("%s: isApprover(%q) = %v, want %v", tt.name, tt.user, got, tt.want)
		}
		if groups.calls != tt.wantCalls {
			t.Errorf("%s: %d usergroups.users.list calls, want %d", tt.name, groups.calls, tt.wantCalls)
		}
	}

	t.Run("fails closed", func(t *testing.T) {
		broken := &fakeGroups{err: errors.New("ratelimited")}
		c := &approverCheck{members: broken, now: func() time.Time { return now }, ttl: time.Minute}
		got, err := c.isApprover(ctx, "U0CAROL", users, grps)
		if got || err == nil {
			t.Errorf("isApprover with a failing Slack = %v, %v; want false and an error", got, err)
		}
		// A configured user ID still approves without asking Slack.
		if got, err := c.isApprover(ctx, "U0ALICE", users, grps); !got || err != nil {
			t.Errorf("isApprover(user ID) with a failing Slack = %v, %v; want true", got, err)
		}
	})
	t.Run("no client", func(t *testing.T) {
		c := &approverCheck{now: func() time.Time { return now }, ttl: time.Minute}
		if got, err := c.isApprover(ctx, "U0CAROL", nil, grps); got || err == nil {
			t.Errorf("isApprover without GroupMembers = %v, %v; want false and an error", got, err)
		}
	})
}
