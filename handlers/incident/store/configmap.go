package store

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

const (
	// DefaultConfigMapName is the ConfigMap that holds the incident state unless configured.
	DefaultConfigMapName = "pullcheck-incidents"
	// StateKey is the ConfigMap key that holds the state.
	StateKey = "incidents.json"
	// maxConfigMapSize is the API server's limit on the keys and values of one ConfigMap
	// (k8s.io/kubernetes/pkg/apis/core/validation: ValidateConfigMap, core.MaxSecretSize).
	maxConfigMapSize = 1 << 20
	// MaxStateSize is the largest state Save accepts: the ConfigMap limit less the key.
	MaxStateSize = maxConfigMapSize - len(StateKey)
)

var (
	// ErrConflict: the ConfigMap changed since the version the caller loaded (or was created
	// or deleted meanwhile). Load again, re-apply the change and Save with the new version.
	ErrConflict = errors.New("incident state changed since it was loaded")
	// ErrTooLarge: the state does not fit in one ConfigMap.
	ErrTooLarge = errors.New("incident state is larger than a ConfigMap can hold")
)

// ConfigMapStore keeps one state blob in a ConfigMap. It is safe for concurrent use; the
// ConfigMap's resourceVersion is the version Load returns and Save expects.
type ConfigMapStore struct {
	client    kubernetes.Interface
	namespace string
	name      string
}

// NewConfigMapStore returns a store for the ConfigMap namespace/name (name "" means
// DefaultConfigMapName). namespace is the bot's own namespace.
func NewConfigMapStore(client kubernetes.Interface, namespace, name string) *ConfigMapStore {
	if name == "" {
		name = DefaultConfigMapName
	}
	return &ConfigMapStore{client: client, namespace: namespace, name: name}
}

// Load returns the state and its version. When the ConfigMap does not exist it returns an
// empty state and version "" (the next Save creates it); when it exists without the key, an
// empty state and the ConfigMap's version.
func (s *ConfigMapStore) Load(ctx context.Context) (state []byte, version string, err error) {
	cm, err := s.client.CoreV1().ConfigMaps(s.namespace).Get(ctx, s.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("load incident state from configmap %s/%s: %w", s.namespace, s.name, err)
	}
	if v, ok := cm.Data[StateKey]; ok {
		return []byte(v), cm.ResourceVersion, nil
	}
	return cm.BinaryData[StateKey], cm.ResourceVersion, nil
}

// Save writes state if the ConfigMap is still at version (version "" creates it) and returns
// the new version. A stale version returns an error wrapping ErrConflict; a state over
// MaxStateSize returns an error wrapping ErrTooLarge without calling the API server. Saving
// the state already stored is a no-op for the API server and returns the same version.
func (s *ConfigMapStore) Save(ctx context.Context, state []byte, version string) (newVersion string, err error) {
	if len(state) > MaxStateSize {
		return "", fmt.Errorf("save incident state to configmap %s/%s: %w: %d bytes, at most %d", s.namespace, s.name, ErrTooLarge, len(state), MaxStateSize)
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name:            s.name,
			Namespace:       s.namespace,
			ResourceVersion: version,
			Labels: map[string]string{
				"app.kubernetes.io/name":      "pullcheck",
				"app.kubernetes.io/component": "incidents",
			},
		},
	}
	// JSON is UTF-8 and readable in `kubectl get -o yaml`; anything else would be mangled
	// in Data, so it goes to BinaryData.
	if utf8.Valid(state) {
		cm.Data = map[string]string{StateKey: string(state)}
	} else {
		cm.BinaryData = map[string][]byte{StateKey: state}
	}
	configMaps := s.client.CoreV1().ConfigMaps(s.namespace)
	var saved *corev1.ConfigMap
	if version == "" {
		saved, err = configMaps.Create(ctx, cm, metav1.CreateOptions{})
	} else {
		saved, err = configMaps.Update(ctx, cm, metav1.UpdateOptions{})
	}
	switch {
	case err == nil:
		return saved.ResourceVersion, nil
	case apierrors.IsConflict(err), apierrors.IsAlreadyExists(err), version != "" && apierrors.IsNotFound(err):
		return "", fmt.Errorf("save incident state to configmap %s/%s at version %q: %w: %w", s.namespace, s.name, version, ErrConflict, err)
	case apierrors.IsRequestEntityTooLargeError(err):
		return "", fmt.Errorf("save incident state to configmap %s/%s: %w: %w", s.namespace, s.name, ErrTooLarge, err)
	default:
		return "", fmt.Errorf("save incident state to configmap %s/%s: %w", s.namespace, s.name, err)
	}
}
