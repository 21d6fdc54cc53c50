package podfile

import (
	"encoding/base64"
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// secretInfo is all that is kept of a Secret in the file: never its data.
type secretInfo struct {
	Namespace string
	// PullSecret is what diagnosis.PullSecretFrom read (the Secret's name, type and registry
	// keys), or why the docker config could not be taken out of the file. From is unset.
	diagnosis.PullSecret
}

// secretObject is how a Secret is decoded: data values stay raw and are read only for
// the dockerconfig key, and only for the keys of its auths map.
type secretObject struct {
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Type       string                     `json:"type"`
	Data       map[string]json.RawMessage `json:"data"`
	StringData map[string]json.RawMessage `json:"stringData"`
}

// secret reads a Secret's name, type and registry keys. Errors never quote the input: it
// may hold credentials.
func (l *loader) secret(o *object, h header) (secretInfo, error) {
	js, err := l.json(o)
	if err != nil {
		return secretInfo{}, err
	}
	var s secretObject
	if err := json.Unmarshal(js, &s); err != nil {
		return secretInfo{}, l.errorAt(o.line, o.col, "Secret %s: metadata, type or data is not of the right JSON type", h.name())
	}
	return secretInfo{Namespace: s.Metadata.Namespace, PullSecret: pullSecretOf(&s)}, nil
}

// pullSecretOf decodes, of the whole Secret, only the docker config its type uses (from
// stringData, which wins as the API server would merge it, else from base64 data), and
// hands it to diagnosis.PullSecretFrom. The decoded bytes are zeroed once read.
func pullSecretOf(s *secretObject) diagnosis.PullSecret {
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: s.Metadata.Name, Namespace: s.Metadata.Namespace},
		Type:       corev1.SecretType(s.Type),
	}
	key := diagnosis.PullSecretDataKey(secret.Type)
	blob, problem := dockerConfigBlob(s, key)
	defer clear(blob)
	if problem != "" {
		return diagnosis.PullSecret{Name: secret.Name, Status: diagnosis.SecretFound, Type: secret.Type, Detail: problem}
	}
	if blob != nil {
		secret.Data = map[string][]byte{key: blob}
	}
	return diagnosis.PullSecretFrom(secret, "")
}

// dockerConfigBlob returns the decoded value of key in the Secret (nil when key is "" or
// absent), or why it could not be decoded, in words that never quote it.
func dockerConfigBlob(s *secretObject, key string) (blob []byte, problem string) {
	if key == "" {
		return nil, ""
	}
	if raw, ok := s.StringData[key]; ok {
		var str string
		if json.Unmarshal(raw, &str) != nil {
			return nil, "stringData " + key + " is not a string"
		}
		return []byte(str), ""
	}
	raw, ok := s.Data[key]
	if !ok {
		return nil, ""
	}
	var str string
	if json.Unmarshal(raw, &str) != nil {
		return nil, "data " + key + " is not a string"
	}
	blob, err := base64.StdEncoding.DecodeString(str)
	if err != nil {
		return nil, "data " + key + " is not valid base64"
	}
	return blob, ""
}
