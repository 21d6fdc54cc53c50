package awsfake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// AWSCLI is the AWS CLI that RunCLI runs: Debian's awscli package. (A pyenv shim named
// aws may come earlier on PATH; it is not used.)
const AWSCLI = "/usr/bin/aws"

// RunCLI runs script with bash, in order, as one script, with set -e. In the script `aws`
// is a shell function (exported, so $(aws …) subshells have it too) that runs
// /usr/bin/aws --endpoint-url $AWSFAKE_URL, with the fake credentials, region us-west-2
// (or the scenario's), AWS_PAGER="" and a HOME of its own, so nothing from the
// developer's ~/.aws is read. env adds or overrides variables ("AWS_DEFAULT_REGION=…").
//
// It returns the script's standard output. A non-zero exit is an error that carries the
// exit status and standard error. A missing /usr/bin/aws fails the test with the
// command that installs it.
//
// The Debian CLI (2.9.19) predates ECR's archive API, so RunCLI lays an ECR model over the
// installed one (through AWS_DATA_PATH) that adds what the SDK in go.mod has and the CLI
// lacks: the UpdateImageStorageClass operation, the imageStatus, lastArchivedAt and
// lastActivatedAt members of image details, and the imageStatus filters.
func (s *Server) RunCLI(t testing.TB, script string, env ...string) (string, error) {
	t.Helper()
	if _, err := os.Stat(AWSCLI); err != nil {
		t.Fatalf("awsfake: the AWS CLI is missing at %s (%v); install it with: apt-get install -y awscli", AWSCLI, err)
	}
	bashPath, err := exec.LookPath("bash")
	if err != nil {
		t.Fatalf("awsfake: bash not found: %v", err)
	}
	dataDir, err := s.cliDataPath()
	if err != nil {
		t.Fatalf("awsfake: prepare the CLI's ECR model: %v", err)
	}
	home := t.TempDir()

	s.mu.Lock()
	region := s.sc.Region
	s.mu.Unlock()

	prelude := `aws() { ` + AWSCLI + ` --endpoint-url "$AWSFAKE_URL" "$@"; }
export -f aws
set -e
`
	cmd := exec.Command(bashPath, "-c", prelude+script)
	cmd.Dir = home
	cmd.Env = append(cliBaseEnv(),
		"HOME="+home,
		"AWSFAKE_URL="+s.URL,
		"AWS_ACCESS_KEY_ID="+AccessKeyID,
		"AWS_SECRET_ACCESS_KEY="+SecretAccessKey,
		"AWS_DEFAULT_REGION="+region,
		"AWS_REGION="+region,
		"AWS_PAGER=",
		"AWS_CONFIG_FILE="+filepath.Join(home, ".aws", "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, ".aws", "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_RETRY_MODE=standard",
		"AWS_MAX_ATTEMPTS=3",
		"AWS_DATA_PATH="+dataDir,
	)
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("aws cli script: %w\nstderr:\n%s", err, stderr.String())
	}
	return stdout.String(), nil
}

// cliBaseEnv keeps PATH and locale from the environment and drops every AWS_ variable.
func cliBaseEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "AWS_"):
		case k == "PATH", k == "LANG", k == "LC_ALL", k == "TMPDIR", k == "TZ":
			out = append(out, kv)
		}
	}
	return out
}

// cliECRModelGlob finds the installed CLI's ECR model.
const cliECRModelGlob = "/usr/lib/python3/dist-packages/awscli/botocore/data/ecr/*/service-2.json"

// cliDataPath writes (once per server) the ECR model overlay and returns its directory.
func (s *Server) cliDataPath() (string, error) {
	s.cliOnce.Do(func() {
		s.cliDataDir, s.cliDataErr = os.MkdirTemp("", "awsfake-cli-models-")
		if s.cliDataErr != nil {
			return
		}
		s.cliDataErr = writeECRModelOverlay(s.cliDataDir)
	})
	return s.cliDataDir, s.cliDataErr
}

func writeECRModelOverlay(dir string) error {
	paths, _ := filepath.Glob(cliECRModelGlob)
	if len(paths) == 0 {
		return nil // another CLI build: use its model as it is
	}
	src := paths[len(paths)-1]
	raw, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	var model map[string]any
	if err := json.Unmarshal(raw, &model); err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	ops, _ := model["operations"].(map[string]any)
	shapes, _ := model["shapes"].(map[string]any)
	if ops == nil || shapes == nil {
		return errors.New(src + ": no operations or shapes")
	}
	if _, ok := ops["UpdateImageStorageClass"]; ok {
		return nil // the CLI knows the archive API already
	}
	ops["UpdateImageStorageClass"] = map[string]any{
		"name":   "UpdateImageStorageClass",
		"http":   map[string]any{"method": "POST", "requestUri": "/"},
		"input":  map[string]any{"shape": "UpdateImageStorageClassRequest"},
		"output": map[string]any{"shape": "UpdateImageStorageClassResponse"},
		"errors": []any{
			map[string]any{"shape": "ServerException"},
			map[string]any{"shape": "InvalidParameterException"},
			map[string]any{"shape": "RepositoryNotFoundException"},
			map[string]any{"shape": "ImageNotFoundException"},
			map[string]any{"shape": "ImageStorageClassUpdateNotSupportedException"},
		},
		"documentation": "<p>Transitions an image between storage classes (added by awsfake from the ECR API that aws-sdk-go-v2 serves).</p>",
	}
	member := func(shape string) map[string]any { return map[string]any{"shape": shape} }
	shapes["UpdateImageStorageClassRequest"] = map[string]any{
		"type":     "structure",
		"required": []any{"repositoryName", "imageId", "targetStorageClass"},
		"members": map[string]any{
			"registryId":         member("RegistryId"),
			"repositoryName":     member("RepositoryName"),
			"imageId":            member("ImageIdentifier"),
			"targetStorageClass": member("TargetStorageClass"),
		},
	}
	shapes["UpdateImageStorageClassResponse"] = map[string]any{
		"type": "structure",
		"members": map[string]any{
			"registryId":     member("RegistryId"),
			"repositoryName": member("RepositoryName"),
			"imageId":        member("ImageIdentifier"),
			"imageStatus":    member("ImageStatus"),
		},
	}
	shapes["TargetStorageClass"] = map[string]any{"type": "string", "enum": []any{"STANDARD", "ARCHIVE"}}
	shapes["ImageStatus"] = map[string]any{"type": "string", "enum": []any{"ACTIVE", "ARCHIVED", "ACTIVATING"}}
	shapes["ImageStatusFilter"] = map[string]any{"type": "string", "enum": []any{"ACTIVE", "ARCHIVED", "ACTIVATING", "ANY"}}
	shapes["ImageStorageClassUpdateNotSupportedException"] = map[string]any{
		"type":      "structure",
		"members":   map[string]any{"message": member("ExceptionMessage")},
		"exception": true,
	}
	if d, ok := shapes["ImageDetail"].(map[string]any); ok {
		m := d["members"].(map[string]any)
		m["imageStatus"] = member("ImageStatus")
		m["lastArchivedAt"] = member("Date")
		m["lastActivatedAt"] = member("Date")
	}
	for _, name := range []string{"DescribeImagesFilter", "ListImagesFilter"} {
		if d, ok := shapes[name].(map[string]any); ok {
			d["members"].(map[string]any)["imageStatus"] = member("ImageStatusFilter")
		}
	}
	out, err := json.Marshal(model)
	if err != nil {
		return err
	}
	version := filepath.Base(filepath.Dir(src))
	target := filepath.Join(dir, "ecr", version)
	if err := os.MkdirAll(target, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(target, "service-2.json"), out, 0o644)
}
