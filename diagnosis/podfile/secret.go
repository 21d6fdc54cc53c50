package podfile

import (
	"encoding/base64"
	"encoding/json"
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// secretInfo is all that is kept of a Secret in the file: never its data.
type secretInfo struct {
	Name, Namespace string
	Type            corev1.SecretType
	Hosts           []string // keys of the dockerconfig auths map
	Detail          string   // why the keys could not be read
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
	info := secretInfo{Name: s.Metadata.Name, Namespace: s.Metadata.Namespace, Type: corev1.SecretType(s.Type)}
	info.Hosts, info.Detail = registryKeys(&s)
	return info, nil
}

// registryKeys returns the registry hosts a dockerconfig Secret has credentials for, sorted,
// or why they could not be read. Secrets of other types have none.
func registryKeys(s *secretObject) ([]string, string) {
	var key string
	switch corev1.SecretType(s.Type) {
	case corev1.SecretTypeDockerConfigJson:
		key = corev1.DockerConfigJsonKey
	case corev1.SecretTypeDockercfg:
		key = corev1.DockerConfigKey
	default:
		return nil, ""
	}
	var blob []byte
	if raw, ok := s.StringData[key]; ok {
		var str string
		if json.Unmarshal(raw, &str) != nil {
			return nil, "stringData " + key + " is not a string"
		}
		blob = []byte(str)
	} else if raw, ok := s.Data[key]; ok {
		var str string
		if json.Unmarshal(raw, &str) != nil {
			return nil, "data " + key + " is not a string"
		}
		var err error
		if blob, err = base64.StdEncoding.DecodeString(str); err != nil {
			return nil, "data " + key + " is not valid base64"
		}
	} else {
		return nil, "no " + key + " key in the Secret"
	}
	defer clear(blob)

	var auths map[string]json.RawMessage
	if key == corev1.DockerConfigJsonKey {
		var cfg struct {
			Auths map[string]json.RawMessage `json:"auths"`
		}
		if json.Unmarshal(blob, &cfg) != nil {
			return nil, key + " is not a JSON object with an auths map"
		}
		auths = cfg.Auths
	} else if json.Unmarshal(blob, &auths) != nil { // .dockercfg is the auths map itself
		return nil, key + " is not a JSON object"
	}
	var hosts []string
	for host := range auths {
		hosts = append(hosts, host)
	}
	slices.Sort(hosts)
	return hosts, ""
}
