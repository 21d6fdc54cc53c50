package handlers

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	"k8s.io/apimachinery/pkg/util/validation"
)

// ChannelRule lets one channel ask about the namespaces that match its globs.
type ChannelRule struct {
	// Channel is a channel ID (C…, G…, D…) or a channel name, with or without "#". Name
	// private channels and direct messages by ID: Slack may send them as "privategroup" or
	// "directmessage".
	Channel string
	// Namespaces are globs in path.Match syntax: "payments", "team-*", "*".
	Namespaces []string
}

// ApproverRule names who may approve restarts in the namespaces that match its globs.
type ApproverRule struct {
	// Namespaces are globs in path.Match syntax.
	Namespaces []string
	// Approvers are Slack user IDs (U…, W…) and user-group IDs (S…).
	Approvers []string
}

var (
	channelIDPattern = regexp.MustCompile(`^[CGD][A-Z0-9]{2,}$`)
	userIDPattern    = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)
	groupIDPattern   = regexp.MustCompile(`^S[A-Z0-9]{2,}$`)
	// channelNamePattern is what Slack allows in a channel name.
	channelNamePattern = regexp.MustCompile(`^[\p{Ll}\p{Lo}\p{N}_-]{1,80}$`)
)

// access decides, without any I/O, which channels may ask about which namespaces and who is
// configured to approve restarts.
type access struct {
	channels  []ChannelRule
	defaults  []string
	approvers []ApproverRule
}

// namespacesFor returns the namespace globs a channel may ask about: those of every rule
// naming the channel by ID or by name, or the defaults when no rule names it.
func (a access) namespacesFor(channelID, channelName string) []string {
	var globs []string
	matched := false
	for _, r := range a.channels {
		if channelMatches(r.Channel, channelID, channelName) {
			matched = true
			globs = append(globs, r.Namespaces...)
		}
	}
	if !matched {
		return a.defaults
	}
	return globs
}

// allowed reports whether the channel may ask about namespace.
func (a access) allowed(channelID, channelName, namespace string) bool {
	return matchAny(a.namespacesFor(channelID, channelName), namespace)
}

// approversFor returns the user IDs and user-group IDs that may approve a restart in namespace.
func (a access) approversFor(namespace string) (users, groups []string) {
	for _, r := range a.approvers {
		if !matchAny(r.Namespaces, namespace) {
			continue
		}
		for _, id := range r.Approvers {
			id = strings.TrimSpace(id)
			switch {
			case groupIDPattern.MatchString(id):
				if !slices.Contains(groups, id) {
					groups = append(groups, id)
				}
			case userIDPattern.MatchString(id):
				if !slices.Contains(users, id) {
					users = append(users, id)
				}
			}
		}
	}
	return users, groups
}

func channelMatches(rule, id, name string) bool {
	rule = strings.TrimSpace(rule)
	if channelIDPattern.MatchString(rule) {
		return rule == id
	}
	return name != "" && strings.TrimPrefix(rule, "#") == strings.TrimPrefix(name, "#")
}

func matchAny(globs []string, namespace string) bool {
	for _, g := range globs {
		if ok, err := path.Match(g, namespace); err == nil && ok {
			return true
		}
	}
	return false
}

// validate reports every problem in the rules at once.
func (a access) validate() error {
	var errs []error
	checkGlobs := func(where string, globs []string) {
		if len(globs) == 0 {
			errs = append(errs, fmt.Errorf("%s: no namespaces", where))
		}
		for _, g := range globs {
			if err := checkGlob(g); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", where, err))
			}
		}
	}
	for i, r := range a.channels {
		where := fmt.Sprintf("channel rule %d (%q)", i+1, r.Channel)
		c := strings.TrimPrefix(strings.TrimSpace(r.Channel), "#")
		if !channelIDPattern.MatchString(c) && !channelNamePattern.MatchString(c) {
			errs = append(errs, fmt.Errorf("%s: want a channel ID (C…, G…, D…) or a channel name", where))
		}
		checkGlobs(where, r.Namespaces)
	}
	for _, g := range a.defaults {
		if err := checkGlob(g); err != nil {
			errs = append(errs, fmt.Errorf("default namespaces: %w", err))
		}
	}
	for i, r := range a.approvers {
		where := fmt.Sprintf("approver rule %d", i+1)
		checkGlobs(where, r.Namespaces)
		if len(r.Approvers) == 0 {
			errs = append(errs, fmt.Errorf("%s: no approvers", where))
		}
		for _, id := range r.Approvers {
			id = strings.TrimSpace(id)
			if !userIDPattern.MatchString(id) && !groupIDPattern.MatchString(id) {
				errs = append(errs, fmt.Errorf("%s: %q is not a Slack user ID (U…, W…) or user-group ID (S…); names and e-mail addresses are not accepted", where, id))
			}
		}
	}
	return errors.Join(errs...)
}

// checkGlob accepts a namespace name or a path.Match pattern over namespace names.
func checkGlob(g string) error {
	if _, err := path.Match(g, ""); err != nil {
		return fmt.Errorf("namespace glob %q: %w", g, err)
	}
	if !strings.ContainsAny(g, "*?[") {
		if problems := validation.IsDNS1123Label(g); len(problems) > 0 {
			return fmt.Errorf("namespace %q is not a valid namespace name: %s", g, strings.Join(problems, "; "))
		}
	}
	return nil
}

// approverCheck answers "is this user an approver" against configured user IDs and the
// members of configured user groups, which are read from Slack and cached for ttl.
type approverCheck struct {
	members GroupMembers
	now     func() time.Time
	ttl     time.Duration

	flight singleflight.Group
	mu     sync.Mutex
	cache  map[string]groupMembers // by user-group ID
}

type groupMembers struct {
	users   []string
	fetched time.Time
}

// isApprover reports whether userID is one of users or a member of one of groups. It fails
// closed: when a group cannot be read, the error is returned and nobody is approved by it.
func (c *approverCheck) isApprover(ctx context.Context, userID string, users, groups []string) (bool, error) {
	if userID == "" {
		return false, nil
	}
	if slices.Contains(users, userID) {
		return true, nil
	}
	var errs []error
	for _, g := range groups {
		members, err := c.groupMembers(ctx, g)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if slices.Contains(members, userID) {
			return true, nil
		}
	}
	return false, errors.Join(errs...)
}

func (c *approverCheck) groupMembers(ctx context.Context, group string) ([]string, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.cache[group]
	c.mu.Unlock()
	if ok && now.Sub(e.fetched) < c.ttl && !now.Before(e.fetched) {
		return e.users, nil
	}
	if c.members == nil {
		return nil, fmt.Errorf("user group %s: no Slack client to read its members", group)
	}
	v, err, _ := c.flight.Do(group, func() (any, error) {
		users, err := c.members.GetUserGroupMembersContext(ctx, group)
		if err != nil {
			return nil, fmt.Errorf("read members of user group %s: %w", group, err)
		}
		c.mu.Lock()
		if c.cache == nil {
			c.cache = map[string]groupMembers{}
		}
		c.cache[group] = groupMembers{users: users, fetched: c.now()}
		c.mu.Unlock()
		return users, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]string), nil
}
