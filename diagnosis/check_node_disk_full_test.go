package diagnosis

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestCheckDiskFull(t *testing.T) {
	// containerd pkg/rootfs/apply.go (DOMAIN §3.1, C13).
	noSpace := `failed to pull and unpack image "` + ecrImage + `": failed to extract layer sha256:0a1b2c3d: write /var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/91/fs/usr/lib/libpython3.12.so: no space left on device: unknown`
	const pressureMsg = "kubelet has disk pressure"
	withRequests := func(f *Facts) {
		f.Pod.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}
	}
	runCheckCases(t, checkDiskFull, []checkCase{
		{
			name:  "no space and DiskPressure",
			facts: newFacts(diskPressure(pressureMsg), pullFailed("api", noSpace)),
			cause: CauseNodeDiskFull, conf: Confirmed,
			says: []string{"Node " + tNode, "DiskPressure=True: " + pressureMsg},
			fixes: []string{
				"kubectl cordon " + tNode,
				"kubectl -n payments rollout restart deployment/payments-api",
				"kubectl drain " + tNode + " --ignore-daemonsets --delete-emptydir-data",
			},
			restart: true,
		},
		{
			name:  "no space, condition not reported",
			facts: newFacts(pullFailed("api", noSpace)),
			cause: CauseNodeDiskFull, conf: Likely,
			restart: true,
		},
		{
			name:  "DiskPressure and only a bare back-off left",
			facts: newFacts(diskPressure(pressureMsg), waiting("api", ReasonImagePullBackOff, `Back-off pulling image "`+ecrImage+`"`)),
			cause: CauseNodeDiskFull, conf: Possible,
			says:    []string{"DiskPressure=True"},
			restart: true,
		},
		{
			// kubectl set resources merges into the container's requests; a JSON patch
			// "add" would fail without a requests map and drop cpu/memory with one.
			name:  "Fargate ephemeral storage, no requests yet",
			facts: newFacts(onFargate, pullFailed("api", noSpace)),
			cause: CauseNodeDiskFull, conf: Likely,
			says:     []string{"Fargate", "20 GiB"},
			fixes:    []string{"kubectl -n payments set resources deployment/payments-api -c api --requests=ephemeral-storage=40Gi"},
			notFixes: []string{"cordon", "drain"},
			restart:  true,
		},
		{
			name:  "Fargate ephemeral storage, requests kept",
			facts: newFacts(onFargate, withRequests, pullFailed("api", noSpace)),
			cause: CauseNodeDiskFull, conf: Likely,
			fixes:   []string{"kubectl -n payments set resources deployment/payments-api -c api --requests=ephemeral-storage=40Gi"},
			restart: true,
		},
		{
			name:      "Fargate init container of a Job: the template cannot change",
			facts:     newFacts(onFargate, ownedBy("Job", "payments-migrate"), pullFailed("migrate", `failed to pull and unpack image "`+tMigrate+`": failed to extract layer sha256:0a1b2c3d: no space left on device: unknown`)),
			container: "migrate",
			cause:     CauseNodeDiskFull, conf: Likely,
			notFixes: []string{"set resources"},
			restart:  true,
		},
		{name: "DiskPressure does not claim a not found", facts: newFacts(diskPressure(pressureMsg), pullFailed("api", notFoundErr(ecrImage))), wantNil: true},
		{name: "no disk signal", facts: newFacts(pullFailed("api", timeoutErr(ecrImage, "52.94.1.10"))), wantNil: true},
	})
}
