package awsfake

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Fake credentials that SDKConfig and RunCLI use. The server does not check signatures.
const (
	AccessKeyID     = "AKIAAWSFAKEEXAMPLE01"
	SecretAccessKey = "awsfake/secret/key/EXAMPLEKEY0000000000000"
)

// Call is one request the server received (retries are separate calls).
type Call struct {
	Service   string // SigV4 signing name: ecr, iam, sts, ec2, eks, kms
	Operation string // API operation name: DescribeImages
	Region    string // region of the credential scope
	// Account is the account the call acts as: Scenario.Account for the bot's own
	// credentials, the role's account for credentials that sts:AssumeRole issued.
	Account string
	// Role is the ARN of the assumed role whose credentials signed the call ("" for the
	// bot's own credentials).
	Role string
}

// Action returns the IAM action name of the call ("ecr:DescribeImages").
func (c Call) Action() string { return c.Service + ":" + c.Operation }

// Fault is an injected failure, see Server.FailNext.
type Fault struct {
	kind  faultKind
	delay time.Duration
}

type faultKind int

const (
	faultThrottle faultKind = iota + 1
	faultServerError
	faultSlow
)

var (
	// Throttle answers with the protocol's throttling error: ECR and KMS
	// ThrottlingException (400), IAM and STS Throttling (400), EC2 RequestLimitExceeded
	// (503), EKS ThrottlingException (429).
	Throttle = Fault{kind: faultThrottle}
	// ServerError answers 500 InternalFailure (EC2: InternalError).
	ServerError = Fault{kind: faultServerError}
)

// Slow delays the answer by d (or until the client gives up), then answers normally.
func Slow(d time.Duration) Fault { return Fault{kind: faultSlow, delay: d} }

func (f Fault) String() string {
	switch f.kind {
	case faultThrottle:
		return "Throttle"
	case faultServerError:
		return "ServerError"
	case faultSlow:
		return fmt.Sprintf("Slow(%s)", f.delay)
	}
	return "Fault(?)"
}

// Server is a running fake. It is safe for concurrent use.
type Server struct {
	// URL is the base URL of the server (http://127.0.0.1:port).
	URL string

	srv *httptest.Server

	mu      sync.Mutex
	sc      *Scenario
	latency time.Duration
	faults  map[string][]Fault
	calls   []Call
	seq     int
	// sessions are the credentials sts:AssumeRole issued, by access key ID.
	sessions map[string]session

	cliOnce    sync.Once
	cliDataDir string
	cliDataErr error
}

// New starts a server over sc, which it owns from now on: change it only through Update.
// Close the server when done.
func New(sc *Scenario) *Server {
	if sc == nil {
		sc = &Scenario{}
	}
	s := &Server{sc: sc, faults: map[string][]Fault{}, sessions: map[string]session{}}
	s.normalize()
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.srv.URL
	return s
}

// Close stops the server and removes what RunCLI wrote.
func (s *Server) Close() {
	s.srv.Close()
	s.cliOnce.Do(func() {}) // waits for a RunCLI that is writing the model overlay
	if s.cliDataDir != "" {
		os.RemoveAll(s.cliDataDir)
	}
}

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// SDKConfig returns a config for real aws-sdk-go-v2 clients that sends every call to
// the server: static fake credentials, region us-west-2 (or the scenario's region),
// BaseEndpoint = URL, and the standard retryer with 3 attempts, millisecond backoff and no
// retry quota. It reads nothing from the environment or ~/.aws, so a developer's AWS
// setup cannot leak into a test.
func (s *Server) SDKConfig(_ context.Context) aws.Config {
	s.mu.Lock()
	region := s.sc.Region
	s.mu.Unlock()
	if region == "" {
		region = ExampleRegion
	}
	return aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		BaseEndpoint: aws.String(s.URL),
		HTTPClient:   s.Client(),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.MaxBackoff = 5 * time.Millisecond
				o.RateLimiter = ratelimit.None
			})
		},
	}
}

// Update runs fn on the scenario under the server's lock, so a test can change the
// state between calls (mutate what New was given, add resources, …).
func (s *Server) Update(fn func(sc *Scenario)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s.sc)
	s.normalize()
}

// View runs fn on the scenario under the server's lock, to read state that calls changed.
func (s *Server) View(fn func(sc *Scenario)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s.sc)
}

// SetLatency adds d to every call from now on (0 turns it off). The wait ends early when
// the client gives up.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	s.latency = d
	s.mu.Unlock()
}

// FailNext makes the next n calls of op fail with kind. op is an IAM action name
// ("ecr:DescribeImages"), or a bare operation name ("DescribeImages") for that operation
// in any service; faults queue up behind earlier FailNext calls for the same op.
func (s *Server) FailNext(op string, n int, kind Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[op] = append(s.faults[op], kind)
	}
}

// Calls returns every call received so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Actions returns the IAM action names of the calls received so far, sorted, without
// duplicates.
func (s *Server) Actions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, c := range s.calls {
		a := c.Action()
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	sort.Strings(out)
	return out
}

// ResetCalls forgets the calls received so far.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	s.calls = nil
	s.mu.Unlock()
}

// request is one decoded call.
type request struct {
	service string
	op      string
	region  string
	body    []byte
	form    url.Values // query protocols
	http    *http.Request
	id      string // request ID
	// path parameters of restJson operations
	params map[string]string
	// account is the account the call acts as, and session the assumed role's session
	// (nil for the bot's own credentials): see Server.identify.
	account string
	session *session
}

// apiError is an error answer in the protocol of the service.
type apiError struct {
	status  int
	code    string
	message string
	fault   string            // query <Type>: Sender (default) or Receiver
	fields  map[string]string // extra JSON members (EKS clusterName, …)
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

var scopeRE = regexp.MustCompile(`Credential=([^/,\s]+)/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request`)

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	m := scopeRE.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		http.Error(w, `{"__type":"MissingAuthenticationTokenException","message":"Missing Authentication Token"}`, http.StatusForbidden)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := &request{region: m[2], service: m[3], body: body, http: r}
	proto, ok := protocols[req.service]
	if !ok {
		http.Error(w, fmt.Sprintf("awsfake: no service %q", req.service), http.StatusBadRequest)
		return
	}
	if err := proto.decode(req); err != nil {
		proto.writeError(w, req, err)
		return
	}

	s.mu.Lock()
	s.seq++
	req.id = fmt.Sprintf("00000000-aws0-fake-0000-%012d", s.seq)
	s.identify(req, m[1])
	call := Call{Service: req.service, Operation: req.op, Region: req.region, Account: req.account}
	if req.session != nil {
		call.Role = req.session.role
	}
	s.calls = append(s.calls, call)
	latency := s.latency
	var fault Fault
	action := req.service + ":" + req.op
	for _, key := range []string{action, req.op} {
		if q := s.faults[key]; len(q) > 0 {
			fault, s.faults[key] = q[0], q[1:]
			break
		}
	}
	s.mu.Unlock()

	ctx := r.Context()
	if !wait(ctx, latency) {
		return
	}
	switch fault.kind {
	case faultSlow:
		if !wait(ctx, fault.delay) {
			return
		}
	case faultThrottle:
		proto.writeError(w, req, proto.throttle())
		return
	case faultServerError:
		proto.writeError(w, req, proto.serverError())
		return
	}

	s.mu.Lock()
	var out any
	switch {
	case req.session == nil && s.sc.Denied[action]:
		err = proto.accessDenied(s.sc, action)
	default:
		h, ok := handlers[action]
		if !ok {
			err = proto.unknownOperation(req.op)
			break
		}
		out, err = h(s, req)
		if err == nil {
			s.normalize()
		}
	}
	s.mu.Unlock()
	if err != nil {
		proto.writeError(w, req, err)
		return
	}
	proto.writeOutput(w, req, out)
}

// wait blocks for d or until ctx is done; it reports whether the whole time passed.
func wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// handler serves one operation with the server's lock held.
type handler func(s *Server, req *request) (any, error)

// handlers maps IAM action names ("ecr:DescribeImages") to their handlers.
var handlers = func() map[string]handler {
	all := map[string]handler{}
	for service, ops := range map[string]map[string]handler{
		"ecr": ecrHandlers, "iam": iamHandlers, "sts": stsHandlers,
		"ec2": ec2Handlers, "eks": eksHandlers, "kms": kmsHandlers,
	} {
		for op, h := range ops {
			all[service+":"+op] = h
		}
	}
	return all
}()

func (s *Server) now() time.Time {
	if !s.sc.Now.IsZero() {
		return s.sc.Now
	}
	return time.Now().UTC()
}

// newID returns a fresh resource ID with the prefix ("vpce-", "sgr-", …) and 17 hex digits.
func (s *Server) newID(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s0%016x", prefix, 0xfa4e000000+s.seq)
}

// normalize fills in defaults that the handlers rely on.
func (s *Server) normalize() {
	sc := s.sc
	if sc.Account == "" {
		sc.Account = ExampleAccount
	}
	if sc.Region == "" {
		sc.Region = ExampleRegion
	}
	if sc.Caller.Arn == "" {
		sc.Caller.Arn = "arn:aws:sts::" + sc.Account + ":assumed-role/pullcheck-bot/pullcheck"
	}
	if sc.Denied == nil {
		sc.Denied = map[string]bool{}
	}
	if sc.ManagedPolicies == nil {
		sc.ManagedPolicies = map[string]*ManagedPolicy{}
	}
	for _, r := range sc.Repositories {
		def(&r.RegistryID, sc.Account)
		def(&r.Region, sc.Region)
		def(&r.ImageTagMutability, "MUTABLE")
		def(&r.EncryptionType, "AES256")
		for _, im := range r.Images {
			if im.Digest == "" && im.Manifest != "" {
				im.Digest = digestOf(im.Manifest)
			}
			def(&im.Status, "ACTIVE")
		}
	}
	for _, p := range sc.PullThroughCacheRules {
		def(&p.RegistryID, sc.Account)
		def(&p.Region, sc.Region)
	}
	for _, r := range sc.Roles {
		def(&r.Path, "/")
		if r.ID == "" {
			r.ID = "AROA" + strings.ToUpper(shortHash("role", r.Name)[1:17])
		}
	}
	for _, p := range sc.InstanceProfiles {
		def(&p.Path, "/")
		if p.ID == "" {
			p.ID = "AIPA" + strings.ToUpper(shortHash("instance-profile", p.Name)[1:17])
		}
	}
	for _, i := range sc.Instances {
		def(&i.Region, sc.Region)
		def(&i.State, "running")
		def(&i.MetadataHTTPEndpoint, "enabled")
		def(&i.MetadataHTTPTokens, "required")
		if i.MetadataHopLimit == 0 {
			i.MetadataHopLimit = 2
		}
	}
	for _, v := range sc.VPCs {
		def(&v.Region, sc.Region)
	}
	for _, v := range sc.Subnets {
		def(&v.Region, sc.Region)
	}
	for _, t := range sc.RouteTables {
		def(&t.Region, sc.Region)
		for i := range t.Routes {
			def(&t.Routes[i].State, "active")
		}
	}
	for _, e := range sc.VpcEndpoints {
		def(&e.Region, sc.Region)
		def(&e.Type, "Gateway")
		def(&e.State, "available")
		def(&e.PolicyDocument, fullAccessPolicy)
	}
	for _, g := range sc.SecurityGroups {
		def(&g.Region, sc.Region)
		def(&g.OwnerID, sc.Account)
	}
	for _, p := range sc.PrefixLists {
		def(&p.Region, sc.Region)
	}
	for _, c := range sc.Clusters {
		def(&c.Region, sc.Region)
		def(&c.Status, "ACTIVE")
		for _, f := range c.FargateProfiles {
			def(&f.Status, "ACTIVE")
		}
	}
	for _, k := range sc.KMSKeys {
		def(&k.Account, sc.Account)
		def(&k.Region, sc.Region)
		def(&k.State, "Enabled")
	}
}

const fullAccessPolicy = `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`

func def(p *string, v string) {
	if *p == "" {
		*p = v
	}
}
