// Package detect finds pods that cannot pull their images, for channel alerts (issue 5,
// "Detection"). It has two sources that feed one incident pipeline:
//
//   - Scheduler runs a scan on one or more cron schedules (robfig/cron/v3, standard
//     five-field specs or descriptors such as @hourly, in one time zone). All specs are
//     checked up front and every problem is reported at once; a panicking scan is
//     recovered and logged; a scan never overlaps the previous one (a tick that finds a
//     scan still running is skipped and logged).
//   - PodWatch is a client-go informer on pods that reports, within seconds, a pod whose
//     container enters an image-pull failure (diagnosis.HasPullFailure: ErrImagePull,
//     ImagePullBackOff, InvalidImageName, …) and a failing pod that recovers or is
//     deleted. Its cache is kept small: a transform drops managed fields, annotations and
//     the pod spec and status fields that neither the watch nor the engine reads.
//
// Neither source diagnoses anything: they hand a context and, for the watch, a
// diagnosis.PodRef to callbacks; the caller owns fire delays, incidents and posting.
package detect
