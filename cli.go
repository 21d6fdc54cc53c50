package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"

	"github.com/pullcheck/pullcheck/config"
	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/diagnosis/cloud"
	"github.com/pullcheck/pullcheck/diagnosis/kube"
	"github.com/pullcheck/pullcheck/diagnosis/podfile"
	"github.com/pullcheck/pullcheck/diagnosis/registryprobe"
	"github.com/pullcheck/pullcheck/diagnosis/render"
)

// Exit codes.
const (
	exitOK      = 0
	exitError   = 1 // the diagnosis could not be made: unknown pod, forbidden, unreadable file, API errors
	exitUsage   = 2 // bad arguments; nothing was contacted
	exitFailing = 3 // only with --exit-code: the pod (or a scanned pod) is failing
)

// usageError marks errors in the arguments (exit 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// configError is bad configuration (exit 2 like a usage error, without the command-line
// usage, which would not help).
type configError struct{ msg string }

func (e configError) Error() string { return e.msg }

// cli holds the process's streams and environment; commands read flags into it.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	lookupEnv      func(string) (string, bool)
	now            func() time.Time

	kubeconfig  string
	kubeContext string
	namespace   string
	allNS       bool
	file        string
	output      string
	cluster     string
	readSecrets bool
	timeout     time.Duration
	exitCode    bool
	aws         bool
	probe       bool
	probeNS     []string
	// registryRoles are the roles assumed to read registry accounts (PULLCHECK_AWS_REGISTRY_ROLES).
	registryRoles map[string]string
	// scanNS limits the bot's alert scans and watch (PULLCHECK_SCAN_NAMESPACES).
	scanNS []string
	// awsErrors, when set, counts failed AWS calls (serve's metrics).
	awsErrors func(service, operation string)
}

func newCLI(stdin io.Reader, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) *cli {
	return &cli{stdin: stdin, stdout: stdout, stderr: stderr, lookupEnv: lookupEnv, now: time.Now}
}

// Run executes the command line and returns the process exit code.
func (c *cli) Run(ctx context.Context, args []string) int {
	cfg, err := config.Load(c.lookupEnv)
	if err != nil {
		fmt.Fprintf(c.stderr, "pullcheck: configuration from the environment is invalid:\n%v\n", err)
		return exitUsage
	}
	root := c.rootCommand(cfg)
	root.SetArgs(args)
	root.SetIn(c.stdin)
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	err = root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ue usageError
	var fe failingError
	var ce configError
	switch {
	case errors.As(err, &fe):
		return exitFailing
	case errors.As(err, &ce):
		fmt.Fprintf(c.stderr, "pullcheck: %v\n", err)
		return exitUsage
	case errors.As(err, &ue) || isCobraUsageError(err):
		fmt.Fprintf(c.stderr, "pullcheck: %v\n", err)
		fmt.Fprintln(c.stderr, "usage: pullcheck diagnose <namespace>/<pod> | pullcheck diagnose -n <namespace> <pod> | pullcheck diagnose --file <path|-> | pullcheck scan (-n <namespace> | -A)")
		return exitUsage
	default:
		fmt.Fprintf(c.stderr, "pullcheck: %v\n", err)
		return exitError
	}
}

// failingError makes --exit-code return exitFailing without printing anything more.
type failingError struct{}

func (failingError) Error() string { return "failing" }

// isCobraUsageError recognises cobra's flag and argument errors, which it does not type.
func isCobraUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown flag", "unknown shorthand flag", "unknown command", "flag needs an argument", "invalid argument", "accepts ", "requires ", "bad flag syntax", "if any flags in the group"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func (c *cli) rootCommand(cfg config.Config) *cobra.Command {
	c.scanNS = cfg.ScanNamespaces
	root := &cobra.Command{
		Use:           "pullcheck",
		Short:         "Tell why a Kubernetes pod cannot pull its image, with evidence and fixes",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&c.kubeconfig, "kubeconfig", "", "path to the kubeconfig file (default $KUBECONFIG or ~/.kube/config; in a pod, the in-cluster config)")
	root.PersistentFlags().StringVar(&c.kubeContext, "context", "", "kubeconfig context to use (default: the current context)")
	root.PersistentFlags().StringVarP(&c.output, "output", "o", "text", "output format: text, json or markdown")
	root.PersistentFlags().StringVar(&c.cluster, "cluster", cfg.Cluster, "EKS cluster name, used to fill in eks commands ($PULLCHECK_CLUSTER)")
	root.PersistentFlags().BoolVar(&c.readSecrets, "read-secrets", cfg.ReadSecrets, "read the type and registry host names of referenced pull secrets, never their credentials ($PULLCHECK_READ_SECRETS)")
	root.PersistentFlags().DurationVar(&c.timeout, "timeout", cfg.Timeout, "give up on the cluster after this long ($PULLCHECK_TIMEOUT)")
	root.PersistentFlags().BoolVar(&c.exitCode, "exit-code", false, "exit with status 3 when a failing pod is found")
	root.PersistentFlags().BoolVar(&c.probe, "probe", cfg.Probe, "read each failing image's manifest from its registry: anonymously, ECR with the bot's own token ($PULLCHECK_PROBE)")
	root.PersistentFlags().StringSliceVar(&c.probeNS, "probe-secret-namespaces", cfg.ProbeSecretNamespaces, "namespaces whose pull secrets the registry probe may use ($PULLCHECK_PROBE_SECRET_NAMESPACES)")
	root.PersistentFlags().BoolVar(&c.aws, "aws", cfg.AWS, "gather evidence from ECR, IAM and the VPC with the default AWS credential chain ($PULLCHECK_AWS)")
	c.registryRoles = cfg.RegistryRoles
	root.PersistentFlags().Var(registryRolesFlag{&c.registryRoles}, "aws-registry-roles", "ACCOUNT_ID=ROLE_ARN pairs, comma-separated: read those registry accounts' ECR repositories through the role ($PULLCHECK_AWS_REGISTRY_ROLES)")
	root.AddCommand(c.diagnoseCommand(), c.scanCommand(), c.serveCommand(), c.versionCommand())
	return root
}

func (c *cli) diagnoseCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "diagnose (<namespace>/<pod> | -n <namespace> <pod> | --file <path|->)",
		Short: "Diagnose one pod, live or from a saved file",
		Example: `  pullcheck diagnose payments/payments-api-6f7d9c8b5-k2x9z
  pullcheck diagnose -n payments payments-api-6f7d9c8b5-k2x9z -o json
  kubectl get pod NAME -o json | pullcheck diagnose --file -`,
		RunE: c.runDiagnose,
	}
	cmd.Flags().StringVarP(&c.namespace, "namespace", "n", "", "namespace of the pod")
	cmd.Flags().StringVarP(&c.file, "file", "f", "", "read the pod (and its events) from a saved file instead of the cluster; - for stdin")
	return cmd
}

func (c *cli) scanCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scan (-n <namespace> | -A)",
		Short: "List every pod with an image-pull failure, one line per failing container",
		Args:  cobra.NoArgs,
		RunE:  c.runScan,
	}
	cmd.Flags().StringVarP(&c.namespace, "namespace", "n", "", "namespace to scan")
	cmd.Flags().BoolVarP(&c.allNS, "all-namespaces", "A", false, "scan all namespaces")
	return cmd
}

func (c *cli) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(c.stdout, "pullcheck %s (commit %s)\n", version, commit)
			return nil
		},
	}
}

// Stamped at build time with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "unknown"
)

// parseTarget checks the diagnose arguments before any cluster access.
func (c *cli) parseTarget(args []string) (diagnosis.PodRef, error) {
	if c.file != "" {
		if len(args) > 0 || c.namespace != "" {
			return diagnosis.PodRef{}, usageError{"--file takes no pod argument and no --namespace"}
		}
		return diagnosis.PodRef{}, nil
	}
	if len(args) != 1 {
		return diagnosis.PodRef{}, usageError{fmt.Sprintf("diagnose needs exactly one pod, got %d arguments", len(args))}
	}
	ref := diagnosis.PodRef{Namespace: c.namespace, Name: args[0]}
	if ns, name, ok := strings.Cut(args[0], "/"); ok {
		if c.namespace != "" && c.namespace != ns {
			return diagnosis.PodRef{}, usageError{fmt.Sprintf("namespace given twice: %q and -n %q", ns, c.namespace)}
		}
		ref = diagnosis.PodRef{Namespace: ns, Name: name}
	}
	if ref.Namespace == "" {
		return diagnosis.PodRef{}, usageError{fmt.Sprintf("no namespace for pod %q: write <namespace>/<pod> or -n <namespace> <pod>", args[0])}
	}
	if errs := validation.IsDNS1123Label(ref.Namespace); len(errs) > 0 {
		return diagnosis.PodRef{}, usageError{fmt.Sprintf("invalid namespace %q: %s", ref.Namespace, strings.Join(errs, "; "))}
	}
	if errs := validation.IsDNS1123Subdomain(ref.Name); len(errs) > 0 {
		return diagnosis.PodRef{}, usageError{fmt.Sprintf("invalid pod name %q: %s", ref.Name, strings.Join(errs, "; "))}
	}
	return ref, nil
}

func (c *cli) checkOutput() error {
	switch c.output {
	case "text", "json", "markdown", "md":
		return nil
	}
	return usageError{fmt.Sprintf("unknown output format %q: use text, json or markdown", c.output)}
}

func (c *cli) runDiagnose(cmd *cobra.Command, args []string) error {
	if err := c.checkOutput(); err != nil {
		return err
	}
	ref, err := c.parseTarget(args)
	if err != nil {
		return err
	}
	engine := diagnosis.NewEngine()
	var report diagnosis.Report
	if c.file != "" {
		facts, err := c.loadFile()
		if err != nil {
			return err
		}
		facts.Cluster = c.cluster
		report = engine.Evaluate(facts)
	} else {
		ctx, cancel := context.WithTimeout(cmd.Context(), c.timeout)
		defer cancel()
		collector, contextName, err := c.collector(ctx)
		if err != nil {
			return err
		}
		report, err = engine.Diagnose(ctx, collector, ref)
		if err != nil {
			return explain(err, contextName, ref)
		}
	}
	if err := c.write(report); err != nil {
		return err
	}
	if c.exitCode && report.Status == diagnosis.StatusFailing {
		return failingError{}
	}
	return nil
}

func (c *cli) runScan(cmd *cobra.Command, _ []string) error {
	if err := c.checkOutput(); err != nil {
		return err
	}
	if c.allNS == (c.namespace != "") {
		return usageError{"scan needs exactly one of -n <namespace> or -A"}
	}
	if c.namespace != "" {
		if errs := validation.IsDNS1123Label(c.namespace); len(errs) > 0 {
			return usageError{fmt.Sprintf("invalid namespace %q: %s", c.namespace, strings.Join(errs, "; "))}
		}
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), c.timeout)
	defer cancel()
	collector, contextName, err := c.collector(ctx)
	if err != nil {
		return err
	}
	reports, err := diagnosis.NewEngine().Scan(ctx, collector, c.namespace)
	if err != nil {
		return explain(err, contextName, diagnosis.PodRef{Namespace: c.namespace})
	}
	switch c.output {
	case "json":
		err = render.JSONList(c.stdout, reports)
	case "markdown", "md":
		err = render.ScanMarkdown(c.stdout, reports)
	default:
		err = render.ScanText(c.stdout, reports, c.textOptions())
	}
	if err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	if c.exitCode && len(reports) > 0 {
		return failingError{}
	}
	return nil
}

func (c *cli) write(r diagnosis.Report) error {
	var err error
	switch c.output {
	case "json":
		err = render.JSON(c.stdout, r)
	case "markdown", "md":
		err = render.Markdown(c.stdout, r)
	default:
		err = render.Text(c.stdout, r, c.textOptions())
	}
	if err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// textOptions enables colour only when stdout is a terminal and NO_COLOR is unset.
func (c *cli) textOptions() render.TextOptions {
	opts := render.TextOptions{Width: 80}
	if _, noColor := c.lookupEnv("NO_COLOR"); noColor {
		return opts
	}
	if f, ok := c.stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		opts.Color = true
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w >= 60 {
			opts.Width = w
		}
	}
	return opts
}

func (c *cli) loadFile() (*diagnosis.Facts, error) {
	var r io.Reader = c.stdin
	name := "<stdin>"
	if c.file != "-" {
		f, err := os.Open(c.file)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", c.file, err)
		}
		defer f.Close()
		r, name = f, c.file
	}
	// A saved file is a snapshot: measure durations to the moment it was saved.
	facts, err := podfile.Load(r, name, time.Time{})
	if err != nil {
		return nil, err
	}
	return facts, nil
}

func (c *cli) collector(ctx context.Context) (clusterFacts, string, error) {
	client, contextName, err := c.kubeClient()
	if err != nil {
		return clusterFacts{}, "", err
	}
	return c.collectorFor(ctx, client, contextName)
}

// kubeClient connects to the cluster of --kubeconfig/--context (or the in-cluster config).
func (c *cli) kubeClient() (kubernetes.Interface, string, error) {
	cfg, contextName, err := kube.RESTConfig(c.kubeconfig, c.kubeContext)
	if err != nil {
		return nil, "", err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("create a client for context %q: %w", contextName, err)
	}
	return client, contextName, nil
}

// collectorFor builds the production collector: the cluster, then AWS and registry evidence.
func (c *cli) collectorFor(ctx context.Context, client kubernetes.Interface, contextName string) (clusterFacts, string, error) {
	kc := kube.NewCollector(client, kube.Options{Context: contextName, Now: c.now, ReadSecrets: c.readSecrets})
	enriched := diagnosis.Enriched{Collector: kc}
	var gatherer *cloud.Gatherer
	if c.aws {
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRetryMaxAttempts(5))
		if err != nil {
			return clusterFacts{}, "", fmt.Errorf("load the AWS configuration (disable with --aws=false): %w", err)
		}
		if c.awsErrors != nil {
			cloud.CountErrors(&awsCfg, c.awsErrors)
		}
		gatherer = cloud.New(awsCfg, cloud.Options{Cluster: c.cluster, Now: c.now, RegistryRoles: c.registryRoles})
		enriched.Enrichers = append(enriched.Enrichers, gatherer)
	}
	if c.probe {
		opts := registryprobe.EnricherOptions{}
		if gatherer != nil {
			opts.ECR = gatherer
		}
		if len(c.probeNS) > 0 {
			opts.Secrets = kube.NewSecretCredentials(client, c.probeNS)
		}
		enriched.Enrichers = append(enriched.Enrichers, registryprobe.NewEnricher(registryprobe.New(registryprobe.Options{}), opts))
	}
	return clusterFacts{enriched, c.cluster}, contextName, nil
}

// registryRolesFlag is --aws-registry-roles: ACCOUNT_ID=ROLE_ARN pairs, checked as
// PULLCHECK_AWS_REGISTRY_ROLES is.
type registryRolesFlag struct{ roles *map[string]string }

func (f registryRolesFlag) Set(v string) error {
	roles, err := config.ParseRegistryRoles(v)
	if err != nil {
		return err
	}
	*f.roles = roles
	return nil
}

func (f registryRolesFlag) String() string {
	if f.roles == nil {
		return ""
	}
	var pairs []string
	for _, account := range slices.Sorted(maps.Keys(*f.roles)) {
		pairs = append(pairs, account+"="+(*f.roles)[account])
	}
	return strings.Join(pairs, ",")
}

func (registryRolesFlag) Type() string { return "pairs" }

// clusterFacts adds the configured EKS cluster name to every collected Facts.
type clusterFacts struct {
	collector diagnosis.Enriched
	cluster   string
}

func (cf clusterFacts) Collect(ctx context.Context, ref diagnosis.PodRef) (*diagnosis.Facts, error) {
	f, err := cf.collector.Collect(ctx, ref)
	if f != nil {
		f.Cluster = cf.cluster
	}
	return f, err
}

func (cf clusterFacts) CollectFailing(ctx context.Context, namespace string) ([]*diagnosis.Facts, error) {
	all, err := cf.collector.CollectFailing(ctx, namespace)
	for _, f := range all {
		f.Cluster = cf.cluster
	}
	return all, err
}

// explain turns collector errors into messages that name the context and namespace.
func explain(err error, contextName string, ref diagnosis.PodRef) error {
	var fe *diagnosis.ForbiddenError
	switch {
	case errors.Is(err, diagnosis.ErrNamespaceNotFound):
		return fmt.Errorf("namespace %q not found in context %q", ref.Namespace, contextName)
	case errors.Is(err, diagnosis.ErrPodNotFound):
		return fmt.Errorf("pod %q not found in namespace %q (context %q)", ref.Name, ref.Namespace, contextName)
	case errors.As(err, &fe):
		return fmt.Errorf("context %q: the API server refused the request: needs RBAC permission %s", contextName, fe.Permission())
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("context %q: the API server did not answer in time (raise --timeout): %w", contextName, err)
	}
	return fmt.Errorf("context %q: %w", contextName, err)
}
