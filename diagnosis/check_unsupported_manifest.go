package diagnosis

import "fmt"

// checkUnsupportedManifest: a Docker schema-1 image, which containerd 2.x no longer pulls.
func checkUnsupportedManifest(f *Facts, c *Container) *Verdict {
	if c.Signal.Kind != SigSchema1 {
		return nil
	}
	return &Verdict{Cause: CauseUnsupportedManifest, Confidence: Confirmed,
		Summary: fmt.Sprintf("%s is a Docker schema-1 image, which containerd 2.x (%s) no longer pulls: rebuild and push it as a schema-2 or OCI image.", c.Image.Raw, cmdContext{f, c}.nodeLabel()),
		Fixes: []Fix{{Title: "Rebuild and push the image with a current builder", Commands: []string{
			fmt.Sprintf("docker buildx build -t %s --push .", c.Image.Full)}}},
		RestartHelps: RestartAdvice{Helps: true, Reason: "once the image is pushed again under the same reference, a new pod pulls it"},
	}
}
