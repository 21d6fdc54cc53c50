package kubetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	crlog "sigs.k8s.io/controller-runtime/pkg/log"
)

// ContextName is the name of the context in the kubeconfig that Kubeconfig writes.
const ContextName = "envtest"

// Cluster is a running kube-apiserver backed by its own etcd, with RBAC authorization
// and without controllers, scheduler or kubelets. It does one thing a kubelet does on
// its own: it completes the graceful deletion of pods bound to a node (see
// completeDeletions), so that deleting such a pod does not hang.
type Cluster struct {
	// Config connects as an administrator (group system:masters).
	Config *rest.Config
	// Client is a clientset built from Config.
	Client kubernetes.Interface

	env        *envtest.Environment
	kubeconfig []byte
	seq        atomic.Uint64 // makes event names unique
	stop       context.CancelFunc
	stopped    chan struct{}
}

// AssetsDir returns the directory with the kube-apiserver, etcd and kubectl binaries:
// $KUBEBUILDER_ASSETS if set, else <repo root>/.cache/kube-assets. It fails when
// kube-apiserver or etcd is not there, with the command that builds them.
func AssetsDir() (string, error) {
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(root, ".cache", "kube-assets")
	}
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(dir, bin)); err != nil {
			return "", fmt.Errorf("kubetest: %s is missing from %s: run hack/control-plane.sh (or set KUBEBUILDER_ASSETS): %w", bin, dir, err)
		}
	}
	return dir, nil
}

// repoRoot walks up from the working directory (a test runs in its package directory)
// to the directory holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("kubetest: find repo root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("kubetest: find repo root: no go.mod above the working directory")
		}
		dir = parent
	}
}

var quietOnce sync.Once

// New starts a server. The caller owns it and must call Stop; use it from TestMain to
// share one server across a package's tests.
func New() (*Cluster, error) {
	dir, err := AssetsDir()
	if err != nil {
		return nil, err
	}
	// envtest logs through controller-runtime's global logger, which complains with a
	// stack trace when nothing was set; the server's own output is not needed by tests.
	quietOnce.Do(func() { crlog.SetLogger(logr.Discard()) })
	env := &envtest.Environment{BinaryAssetsDirectory: dir}
	cfg, err := env.Start()
	if err != nil {
		_ = env.Stop()
		return nil, fmt.Errorf("kubetest: start kube-apiserver and etcd from %s: %w", dir, err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		_ = env.Stop()
		return nil, fmt.Errorf("kubetest: build client: %w", err)
	}
	c := &Cluster{Config: cfg, Client: client, env: env, kubeconfig: env.KubeConfig, stopped: make(chan struct{})}
	// The cluster's own kubelet duty; the root context is this goroutine's lifetime,
	// which Stop ends.
	ctx, cancel := context.WithCancel(context.Background())
	c.stop = cancel
	go func() {
		defer close(c.stopped)
		c.completeDeletions(ctx)
	}()
	return c, nil
}

// Stop stops the server and removes its data.
func (c *Cluster) Stop() error {
	c.stop()
	<-c.stopped
	if err := c.env.Stop(); err != nil {
		return fmt.Errorf("kubetest: stop: %w", err)
	}
	return nil
}

// Start starts a server for one test (or benchmark) and stops it when the test ends.
// It fails the test when the binaries are missing.
func Start(t testing.TB) *Cluster {
	t.Helper()
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
	})
	return c
}

// Kubeconfig writes a kubeconfig for the administrator, with one context named
// ContextName (the current context), and returns its path. The file lives in t.TempDir().
func (c *Cluster) Kubeconfig(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, c.kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// As returns a configuration and a clientset that act as user (through impersonation by
// the administrator), to test what a collector does with fewer permissions. The user has
// no permissions until they are granted, e.g. with Grant.
func (c *Cluster) As(user string) (*rest.Config, kubernetes.Interface, error) {
	cfg := rest.CopyConfig(c.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("kubetest: client as %s: %w", user, err)
	}
	return cfg, client, nil
}

// Grant gives user the rules: with a Role and RoleBinding in namespace, or with a
// ClusterRole and ClusterRoleBinding when namespace is "". The objects are named after
// name, which must be unique per namespace.
func (c *Cluster) Grant(ctx context.Context, namespace, name, user string, rules ...rbacv1.PolicyRule) error {
	subject := []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}
	rbac := c.Client.RbacV1()
	if namespace == "" {
		if _, err := rbac.ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("kubetest: create clusterrole %s: %w", name, err)
		}
		_, err := rbac.ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
			Subjects:   subject,
		}, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("kubetest: create clusterrolebinding %s: %w", name, err)
		}
		return c.waitAllowed(ctx, "", user, rules)
	}
	if _, err := rbac.Roles(namespace).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("kubetest: create role %s/%s: %w", namespace, name, err)
	}
	_, err := rbac.RoleBindings(namespace).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
		Subjects:   subject,
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("kubetest: create rolebinding %s/%s: %w", namespace, name, err)
	}
	return c.waitAllowed(ctx, namespace, user, rules)
}

// waitAllowed waits until the authorizer has seen the new binding: RBAC reads bindings
// through an informer, so a request made right after the create can still be refused.
func (c *Cluster) waitAllowed(ctx context.Context, namespace, user string, rules []rbacv1.PolicyRule) error {
	for _, rule := range rules {
		if len(rule.Verbs) == 0 || len(rule.Resources) == 0 {
			continue
		}
		attrs := &authorizationv1.ResourceAttributes{Namespace: namespace, Verb: rule.Verbs[0], Resource: rule.Resources[0]}
		if len(rule.APIGroups) > 0 {
			attrs.Group = rule.APIGroups[0]
		}
		if len(rule.ResourceNames) > 0 {
			attrs.Name = rule.ResourceNames[0]
		}
		review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: user, ResourceAttributes: attrs}}
		err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			got, err := c.Client.AuthorizationV1().SubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
			if err != nil {
				return false, err
			}
			return got.Status.Allowed, nil
		})
		if err != nil {
			return fmt.Errorf("kubetest: wait until %s may %s %s: %w", user, attrs.Verb, attrs.Resource, err)
		}
	}
	return nil
}
