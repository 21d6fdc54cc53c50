package kube

import (
	"errors"
	"fmt"
	"os"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// InClusterContext is the context name reported when RESTConfig uses the pod's service account.
const InClusterContext = "in-cluster"

// Client settings: the adapter issues one request per distinct object, so it needs more
// than client-go's default 5 QPS, and protobuf decodes pod lists several times faster than JSON.
const (
	clientQPS   = 100
	clientBurst = 200
	protobuf    = "application/vnd.kubernetes.protobuf"
	userAgent   = "pullcheck"
)

// RESTConfig loads the client configuration for kubeconfigPath (empty: $KUBECONFIG or
// ~/.kube/config) and contextName (empty: the current context), and returns it with the
// name of the context it used. When neither is given, $KUBECONFIG is unset and the process
// runs in a pod (KUBERNETES_SERVICE_HOST is set), it uses the in-cluster configuration and
// returns InClusterContext.
func RESTConfig(kubeconfigPath, contextName string) (*rest.Config, string, error) {
	if kubeconfigPath == "" && contextName == "" && os.Getenv("KUBECONFIG") == "" && os.Getenv("KUBERNETES_SERVICE_HOST") != "" {
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, "", fmt.Errorf("load in-cluster config: %w", err)
		}
		return tune(cfg), InClusterContext, nil
	}

	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfigPath != "" {
		rules.ExplicitPath = kubeconfigPath
	}
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: contextName})
	raw, err := loader.RawConfig()
	if err != nil {
		return nil, "", fmt.Errorf("load kubeconfig: %w", err)
	}
	name := contextName
	if name == "" {
		name = raw.CurrentContext
	}
	if name == "" {
		return nil, "", errors.New("load kubeconfig: no current context; pass a context name or run kubectl config use-context")
	}
	if _, ok := raw.Contexts[name]; !ok {
		return nil, "", fmt.Errorf("load kubeconfig: context %q not found", name)
	}
	cfg, err := loader.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("load kubeconfig context %q: %w", name, err)
	}
	return tune(cfg), name, nil
}

func tune(cfg *rest.Config) *rest.Config {
	cfg.QPS = clientQPS
	cfg.Burst = clientBurst
	cfg.ContentType = protobuf
	cfg.AcceptContentTypes = protobuf + ",application/json"
	if cfg.UserAgent == "" {
		cfg.UserAgent = userAgent
	}
	return cfg
}
