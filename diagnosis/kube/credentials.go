package kube

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/diagnosis/registryprobe"
)

// SecretCredentials reads registry credentials from pull secrets, for the registry probe, in
// the namespaces the operator opted in and nowhere else. The credentials go to the registry
// and nowhere else: they are never logged, stored in facts or put into an error.
type SecretCredentials struct {
	client     kubernetes.Interface
	namespaces map[string]bool
}

// NewSecretCredentials serves the given namespaces only.
func NewSecretCredentials(client kubernetes.Interface, namespaces []string) *SecretCredentials {
	set := map[string]bool{}
	for _, ns := range namespaces {
		set[ns] = true
	}
	return &SecretCredentials{client: client, namespaces: set}
}

var errNoCredentials = errors.New("the secret holds no usable credentials for the image's registry")

// PullSecretCredentials returns the credentials in secret for img's host, or (nil, nil) when
// the namespace is not opted in.
func (s *SecretCredentials) PullSecretCredentials(ctx context.Context, namespace, secret string, img diagnosis.ImageRef) (*registryprobe.Credentials, error) {
	if !s.namespaces[namespace] {
		return nil, nil
	}
	sec, err := s.client.CoreV1().Secrets(namespace).Get(ctx, secret, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get secret %s/%s: %w", namespace, secret, errWithoutDetail(err))
	}
	var auths map[string]dockerAuth
	switch sec.Type {
	case corev1.SecretTypeDockerConfigJson:
		var cfg struct {
			Auths map[string]dockerAuth `json:"auths"`
		}
		if json.Unmarshal(sec.Data[corev1.DockerConfigJsonKey], &cfg) != nil {
			return nil, errNoCredentials
		}
		auths = cfg.Auths
	case corev1.SecretTypeDockercfg:
		if json.Unmarshal(sec.Data[corev1.DockerConfigKey], &auths) != nil {
			return nil, errNoCredentials
		}
	default:
		return nil, errNoCredentials
	}
	for host, a := range auths {
		if !img.HostMatches(host) {
			continue
		}
		user, pass := a.Username, a.Password
		if user == "" && a.Auth != "" {
			raw, err := base64.StdEncoding.DecodeString(a.Auth)
			if err != nil {
				return nil, errNoCredentials
			}
			user, pass, _ = strings.Cut(string(raw), ":")
		}
		if user == "" && pass == "" {
			return nil, errNoCredentials
		}
		return &registryprobe.Credentials{Username: user, Password: pass, Source: "pull-secret"}, nil
	}
	return nil, errNoCredentials
}

type dockerAuth struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Auth     string `json:"auth"`
}

// errWithoutDetail keeps an API error's class (not found, forbidden) without its text.
type apiClassError struct{ class string }

func (e apiClassError) Error() string { return e.class }

func errWithoutDetail(err error) error {
	var status interface{ Status() metav1.Status }
	if errors.As(err, &status) {
		return apiClassError{string(status.Status().Reason)}
	}
	return apiClassError{"request failed"}
}
