package slack

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pullcheck/pullcheck/bot"
	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/diagnosis/kube"
	"github.com/pullcheck/pullcheck/handlers"
	"github.com/pullcheck/pullcheck/handlers/rollout"
	"github.com/pullcheck/pullcheck/tests/kubetest"
	"github.com/pullcheck/pullcheck/tests/slackfake"
)

// The Slack app's credentials. Neither may appear in a posted message or a log line.
const (
	botToken      = "xoxb-test"
	signingSecret = "5f3c9a1d7b2e4c6a8e0f1a2b3c4d5e6f"
)

// The workspace: #payments-alerts may ask about the payments namespaces, #random about none.
// U0ALICE approves restarts by user ID and U0CAROL through the user group S0PAYOPS; U0DEV
// asks, U0MALLORY is nobody in particular.
const (
	teamID       = "T0ACME"
	channelID    = "C0PAYMENTS"
	channelName  = "payments-alerts"
	otherChannel = "C0RANDOM"
	asker        = "U0DEV"
	approver     = "U0ALICE"
	groupMember  = "U0CAROL"
	outsider     = "U0MALLORY"
	approvers    = "S0PAYOPS"
	clusterName  = "prod-eks"
)

const (
	// workload is the Deployment whose pod fails.
	workload = "payments-api"
	// image is a tag that is not in the repository.
	image = "111122223333.dkr.ecr.us-west-2.amazonaws.com/payments/api:1.8.3"
	// restartActionID is the restart button's action_id (handlers' wire contract).
	restartActionID = "pullcheck_restart"
	// testTimeout bounds each test: a hang fails, nothing waits on a timer.
	testTimeout = 2 * time.Minute
)

// notFoundMsg is containerd's answer for a tag ECR does not have, as the kubelet records it
// in its Failed event (containerd's resolver: `<ref>: not found` on the manifest HEAD).
func notFoundMsg(image string) string {
	return fmt.Sprintf(`Failed to pull image %q: rpc error: code = NotFound desc = failed to pull and unpack image %q: failed to resolve reference %q: %s: not found`, image, image, image, image)
}

// accessDeniedMsg is ECR's 403 with its IAM body: the cause is confirmed.
func accessDeniedMsg(image string) string {
	return fmt.Sprintf(`Failed to pull image %q: failed to pull and unpack image %q: failed to resolve reference %q: unexpected status from HEAD request to https://111122223333.dkr.ecr.us-west-2.amazonaws.com/v2/payments/api/manifests/1.8.3: 403 Forbidden: denied: User: arn:aws:sts::111122223333:assumed-role/eks-ng-general-NodeInstanceRole/i-0abc1234def567890 is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:us-west-2:111122223333:repository/payments/api because no identity-based policy allows the ecr:BatchGetImage action`, image, image, image)
}

// logBuffer collects JSON log lines from any goroutine.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// records returns the log records whose message is msg.
func (l *logBuffer) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(l.String()), "\n") {
		if line == "" {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

// engine serves handlers' Diagnoser and Scanner from the diagnosis engine and the kube
// collector, as pullcheck serve wires them.
type engine struct {
	engine    *diagnosis.Engine
	collector diagnosis.Enriched
}

func (e engine) Diagnose(ctx context.Context, ref diagnosis.PodRef) (diagnosis.Report, error) {
	return e.engine.Diagnose(ctx, e.collector, ref)
}

func (e engine) Scan(ctx context.Context, namespace string) ([]diagnosis.Report, error) {
	return e.engine.Scan(ctx, e.collector, namespace)
}

func newEngine() engine {
	// Cloud evidence and registry probes are off: no enrichers.
	return engine{engine: diagnosis.NewEngine(), collector: diagnosis.Enriched{
		Collector: kube.NewCollector(cluster.Client, kube.Options{Context: kubetest.ContextName}),
	}}
}

// env is one test's world: a namespace with the failing Deployment, the local Slack API and
// the bot serving HTTP.
type env struct {
	t      *testing.T
	ctx    context.Context // every wait ends with it
	ns     string
	pod    *corev1.Pod // the failing pod
	slack  *slackfake.Server
	srv    *httptest.Server
	logs   *logBuffer
	engine engine

	// stop stops the bot once its work in flight is done; after it, the logs are complete.
	stop func()

	mu      sync.Mutex
	answers []string // every body the bot answered Slack with
}

var nsSeq atomic.Int32

// nextNamespace names each test's namespace: payments, then payments-2, … (the API server
// is shared, and tests may run more than once against it).
func nextNamespace() string {
	if n := nsSeq.Add(1); n > 1 {
		return fmt.Sprintf("payments-%d", n)
	}
	return "payments"
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	e := &env{t: t, ctx: ctx, ns: nextNamespace(), logs: &logBuffer{}, engine: newEngine()}

	e.slack = slackfake.New(t, slackfake.Options{Token: botToken, Groups: map[string][]string{approvers: {groupMember, "U0DAVE"}}})
	// Runs last, once the bot has stopped: nothing it posted or logged holds a credential.
	t.Cleanup(e.checkNoSecrets)

	e.deployFailingPod()

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	cfg := handlers.Config{
		Cluster:   clusterName,
		Channels:  []handlers.ChannelRule{{Channel: channelID, Namespaces: []string{"payments", "payments-*"}}},
		Approvers: []handlers.ApproverRule{{Namespaces: []string{"payments", "payments-*"}, Approvers: []string{approver, approvers}}},
		TokenKey:  handlers.SigningKey(key),
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("handlers config: %v", err)
	}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	api := slackapi.New(botToken, slackapi.OptionAPIURL(e.slack.URL()))
	poster := bot.NewPoster(api, bot.PosterOptions{Logger: log.With("component", "slack")})
	pc := handlers.New(cfg, handlers.Deps{
		Diagnoser:    e.engine,
		Scanner:      e.engine,
		Restarter:    rollout.New(cluster.Client, nil),
		Poster:       poster,
		GroupMembers: poster,
		Logger:       log.With("component", "handlers"),
	})
	b := bot.New(bot.Options{Logger: log.With("component", "bot"), WorkTimeout: pc.InteractionTimeout(),
		ShutdownTimeout: 10 * time.Second}, pc, pc)
	h, err := bot.NewHTTPHandler(b, bot.HTTPOptions{SigningSecret: signingSecret})
	if err != nil {
		t.Fatal(err)
	}

	runCtx, cancelRun := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- b.Run(runCtx) }()
	var once sync.Once
	e.stop = func() {
		once.Do(func() {
			cancelRun()
			if err := <-ran; err != nil {
				t.Errorf("bot.Run: %v", err)
			}
		})
	}
	t.Cleanup(e.stop)
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	return e
}

// deployFailingPod creates the Deployment payments-api, its ReplicaSet and one pod on the
// node, and writes what the kubelet writes when ECR has no such tag: the Pulling, Failed
// and BackOff events and the ImagePullBackOff waiting state.
func (e *env) deployFailingPod() {
	t, ctx := e.t, e.ctx
	t.Helper()
	if _, err := cluster.CreateNamespace(ctx, e.ns); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.Client.CoreV1().ServiceAccounts(e.ns).Create(ctx,
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	spec := corev1.PodSpec{Containers: []corev1.Container{{Name: "api", Image: image, ImagePullPolicy: corev1.PullIfNotPresent}}}
	_, rs, err := cluster.CreateDeployment(ctx, e.ns, workload, spec)
	if err != nil {
		t.Fatal(err)
	}
	pod, err := cluster.CreatePod(ctx, kubetest.PodFor(e.ns, rs.Name+"-k2x9z", spec, rs), node)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, ev := range []kubetest.Event{
		{Container: "api", Reason: "Pulling", Message: fmt.Sprintf("Pulling image %q", image), First: now.Add(-9 * time.Minute), Last: now.Add(-2 * time.Minute), Count: 4},
		{Container: "api", Type: corev1.EventTypeWarning, Reason: "Failed", Message: notFoundMsg(image), First: now.Add(-9 * time.Minute), Last: now.Add(-2 * time.Minute), Count: 4},
		{Container: "api", Type: corev1.EventTypeWarning, Reason: "Failed", Message: "Error: ErrImagePull", First: now.Add(-9 * time.Minute), Last: now.Add(-2 * time.Minute), Count: 4},
		{Container: "api", Reason: "BackOff", Message: fmt.Sprintf("Back-off pulling image %q", image), First: now.Add(-8 * time.Minute), Last: now.Add(-time.Minute), Count: 30},
	} {
		if _, err := cluster.RecordEvent(ctx, pod, ev); err != nil {
			t.Fatal(err)
		}
	}
	if e.pod, err = cluster.SetContainerWaiting(ctx, pod, "api", "ImagePullBackOff", fmt.Sprintf("Back-off pulling image %q", image)); err != nil {
		t.Fatal(err)
	}
}

// deployment reads the Deployment back.
func (e *env) deployment() *appsv1.Deployment {
	e.t.Helper()
	d, err := cluster.Client.AppsV1().Deployments(e.ns).Get(e.ctx, workload, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// assertNotRestarted checks the Deployment is as before: same generation, no restart
// annotation, no offer recorded.
func (e *env) assertNotRestarted(before *appsv1.Deployment) {
	e.t.Helper()
	d := e.deployment()
	if d.Generation != before.Generation {
		e.t.Errorf("Deployment generation %d, want %d: it was changed", d.Generation, before.Generation)
	}
	if a, ok := d.Spec.Template.Annotations[rollout.RestartedAtAnnotation]; ok {
		e.t.Errorf("Deployment restarted: pod template annotation %s=%s", rollout.RestartedAtAnnotation, a)
	}
	if a, ok := d.Annotations[rollout.OfferAnnotation]; ok {
		e.t.Errorf("Deployment has the offer annotation %s=%s", rollout.OfferAnnotation, a)
	}
}

// Requests as Slack sends them.

// request is one HTTP request to the bot.
type request struct {
	path, body string
	header     http.Header
}

// sign signs body exactly as Slack does: X-Slack-Request-Timestamp is the Unix time and
// X-Slack-Signature "v0=" + hex(HMAC-SHA256(secret, "v0:" + timestamp + ":" + body)).
func sign(secret string, at time.Time, body string) http.Header {
	ts := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + ts + ":" + body))
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	h.Set("X-Slack-Request-Timestamp", ts)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	return h
}

// signed is a request to path carrying body, signed with the app's signing secret now.
func signed(path, body string) request {
	return request{path: path, body: body, header: sign(signingSecret, time.Now(), body)}
}

// send posts r to the bot and returns the status and the body it answered with.
func (e *env) send(r request) (int, string) {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.ctx, http.MethodPost, e.srv.URL+r.path, strings.NewReader(r.body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("POST %s: %v", r.path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("POST %s: read answer: %v", r.path, err)
	}
	e.mu.Lock()
	e.answers = append(e.answers, string(body))
	e.mu.Unlock()
	return resp.StatusCode, string(body)
}

// commandBody is a /pullcheck request body as Slack sends it (slash command docs).
func (e *env) commandBody(text, channel, channelName, user string) string {
	return url.Values{
		"token":                 {"gIkuvaNzQIHg97ATvDxqgjtO"}, // the deprecated verification token
		"team_id":               {teamID},
		"team_domain":           {"acme"},
		"channel_id":            {channel},
		"channel_name":          {channelName},
		"user_id":               {user},
		"user_name":             {strings.ToLower(strings.TrimPrefix(user, "U0"))},
		"command":               {"/pullcheck"},
		"text":                  {text},
		"api_app_id":            {"A0PULLCHECK"},
		"is_enterprise_install": {"false"},
		"response_url":          {e.slack.ResponseURL("commands")},
		"trigger_id":            {"13345224609.738474920.8088930838d88f008e0"},
	}.Encode()
}

// ack is the acknowledgement the bot answers a slash command with.
type ack struct {
	Text         string          `json:"text"`
	ResponseType string          `json:"response_type"`
	Blocks       json.RawMessage `json:"blocks"`
}

func (a ack) allText() string {
	return slackfake.Call{Text: a.Text, Blocks: string(a.Blocks)}.AllText()
}

// command sends a signed /pullcheck text from user in channel; it wants 200 and returns the
// acknowledgement and how long it took.
func (e *env) command(text, channel, channelName, user string) (ack, time.Duration) {
	e.t.Helper()
	start := time.Now()
	status, body := e.send(signed(bot.CommandsPath, e.commandBody(text, channel, channelName, user)))
	took := time.Since(start)
	if status != http.StatusOK {
		e.t.Fatalf("/pullcheck %s: status %d (%s), want 200", text, status, body)
	}
	var a ack
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		e.t.Fatalf("/pullcheck %s: acknowledgement is not a message: %v\n%s", text, err, body)
	}
	return a, took
}

// ask runs /pullcheck text from the asker in #payments-alerts.
func (e *env) ask(text string) ack {
	e.t.Helper()
	a, _ := e.command(text, channelID, channelName, asker)
	return a
}

// podName is the failing pod's name.
func (e *env) podName() string { return e.pod.Name }

// report asks about the failing pod and waits for the report in the channel. It returns the
// report and its restart button's value.
func (e *env) report() (slackfake.Call, string) {
	e.t.Helper()
	e.ask(e.ns + "/" + e.podName())
	msg := e.slack.WaitForCall(e.ctx, e.t, "the report", func(c slackfake.Call) bool {
		return c.Method == "chat.postMessage" && c.ThreadTS == "" && strings.Contains(c.Text, e.ns+"/"+e.podName())
	})
	btn := restartButton(e.t, msg)
	if btn == nil {
		e.t.Fatalf("the report has no restart button:\n%s", msg.Blocks)
	}
	return msg, btn.Value
}

// clickBody is a block_actions payload for a click on the restart button of msg, as Slack
// documents it: the JSON goes in the form field "payload".
func (e *env) clickBody(msg slackfake.Call, user, value string) string {
	payload := map[string]any{
		"type":                  "block_actions",
		"user":                  map[string]any{"id": user, "username": strings.ToLower(user), "name": strings.ToLower(user), "team_id": teamID},
		"api_app_id":            "A0PULLCHECK",
		"token":                 "gIkuvaNzQIHg97ATvDxqgjtO",
		"container":             map[string]any{"type": "message", "message_ts": msg.TS, "channel_id": msg.Channel, "is_ephemeral": false},
		"trigger_id":            "13345224609.738474920.8088930838d88f008e0",
		"team":                  map[string]any{"id": teamID, "domain": "acme"},
		"enterprise":            nil,
		"is_enterprise_install": false,
		"channel":               map[string]any{"id": msg.Channel, "name": channelName},
		"message": map[string]any{
			"type": "message", "subtype": "bot_message", "bot_id": "B0PULLCHECK", "user": "U0PULLCHECK",
			"text": msg.Text, "ts": msg.TS, "blocks": json.RawMessage(msg.Blocks),
		},
		"state":        map[string]any{"values": map[string]any{}},
		"response_url": e.slack.ResponseURL("actions"),
		"actions": []any{map[string]any{
			"action_id": restartActionID, "block_id": "pullcheck_restart", "type": "button", "value": value, "style": "primary",
			"text":      map[string]any{"type": "plain_text", "text": "Restart Deployment/" + workload, "emoji": true},
			"action_ts": strconv.FormatInt(time.Now().Unix(), 10) + ".123456",
		}},
	}
	js, err := json.Marshal(payload)
	if err != nil {
		e.t.Fatal(err)
	}
	return url.Values{"payload": {string(js)}}.Encode()
}

// click sends a signed click on msg's restart button; it wants 200 with an empty body
// (Slack shows nothing from a block_actions acknowledgement).
func (e *env) click(msg slackfake.Call, user, value string) {
	e.t.Helper()
	if status, body := e.send(signed(bot.InteractionsPath, e.clickBody(msg, user, value))); status != http.StatusOK || body != "" {
		e.t.Errorf("click by %s: status %d body %q, want 200 and no body", user, status, body)
	}
}

// ephemeral waits for the first ephemeral answer to user that contains want.
func (e *env) ephemeral(user, want string) slackfake.Call {
	e.t.Helper()
	return e.slack.WaitForCall(e.ctx, e.t, "an ephemeral answer to "+user+" saying "+want, func(c slackfake.Call) bool {
		return c.Method == "chat.postEphemeral" && c.User == user && strings.Contains(c.AllText(), want)
	})
}

// restartButton returns the restart button in a message's blocks, or nil.
func restartButton(t *testing.T, c slackfake.Call) *slackapi.ButtonBlockElement {
	t.Helper()
	for _, b := range c.DecodeBlocks(t) {
		a, ok := b.(*slackapi.ActionBlock)
		if !ok || a.Elements == nil {
			continue
		}
		for _, el := range a.Elements.ElementSet {
			if btn, ok := el.(*slackapi.ButtonBlockElement); ok && btn.ActionID == restartActionID {
				return btn
			}
		}
	}
	return nil
}

// checkNoSecrets fails the test when the bot token or the signing secret is in a log line,
// a message posted to Slack or an answer to Slack.
func (e *env) checkNoSecrets() {
	t := e.t
	logs := e.logs.String()
	if logs == "" {
		t.Error("the bot logged nothing: the secrets check checked nothing")
	}
	e.mu.Lock()
	answers := strings.Join(e.answers, "\n")
	e.mu.Unlock()
	var posted strings.Builder
	for _, c := range e.slack.Calls() {
		posted.WriteString(c.AllText() + "\n" + c.Blocks + "\n")
	}
	for name, secret := range map[string]string{"bot token": botToken, "signing secret": signingSecret} {
		for where, s := range map[string]string{"the logs": logs, "the messages posted to Slack": posted.String(), "the answers to Slack": answers} {
			if strings.Contains(s, secret) {
				t.Errorf("the %s is in %s", name, where)
			}
		}
	}
}
