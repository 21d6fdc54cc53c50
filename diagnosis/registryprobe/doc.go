// Package registryprobe resolves an image's manifest over the registry's own HTTP API
// (OCI distribution) and reports what the registry answered as a diagnosis.RegistryProbe.
//
// A probe does what the container runtime does first when it pulls: it pings /v2/,
// follows the registry's challenge (Basic auth, or a bearer token from the realm the
// WWW-Authenticate header names, anonymous when no credentials are given), then GETs the
// manifest by digest, or by tag, with the Accept header of a pull (OCI index, Docker
// manifest list, OCI manifest, Docker v2 manifest; schema 1 as well, so that an old image
// shows as one). It records the digest and media type of the manifest and the
// os/arch[/variant] platforms of an index; Docker Hub's ratelimit-limit and
// ratelimit-remaining headers and Retry-After from any response (ping, token or
// manifest); and, for a failure, one of:
//   - Status and ErrorCode: the HTTP status and the first registry error code (NAME_UNKNOWN,
//     MANIFEST_UNKNOWN, UNAUTHORIZED, DENIED, TOOMANYREQUESTS, ...) of the request that
//     failed: the manifest GET, or the /v2/ ping or token request before it (a wrong
//     password is a 401 from the token endpoint);
//   - TLSError: the certificate or handshake failure, worded as the runtime words it
//     ("tls: failed to verify certificate: x509: ...");
//   - DNSError: the failed lookup;
//   - ConnError: a refused or reset connection, no answer within the timeout, or any other
//     failure to complete the exchange (an unusable challenge or token response, a plain
//     HTTP registry).
//
// Docker Hub images are probed on registry-1.docker.io.
//
// What a probe proves:
//   - Exists Yes: the manifest exists and these credentials may read it.
//   - Exists No: the registry said 404 to the manifest request (NAME_UNKNOWN: no such
//     repository; MANIFEST_UNKNOWN: no such tag or digest). Registries that hide private
//     repositories answer 401 or 403 instead, which leaves Exists Unknown.
//   - Platforms: which platforms an index offers; a node whose platform is missing fails
//     with "no match for platform in manifest".
//   - TLSError, DNSError, ConnError: the bot could not reach the registry.
//
// What it does not prove:
//   - That the node may pull. The probe runs as the bot, from the bot's network, with the
//     credentials the caller chose. With the bot's own ECR token (Auth "ecr-token") a 200
//     proves the image exists, not that the node's or Fargate execution role may pull it:
//     ask IAM and the repository policy for that. Only a probe with the pod's own pull
//     secret (Auth "pull-secret") speaks for the pod's credentials.
//   - That the node can reach the registry: the node's VPC endpoints, routes, proxies and
//     trust store are not the bot's. A TLS failure here with the system trust store
//     suggests, but does not show, the node's failure.
//   - That the layers can be downloaded: blobs (S3 behind ECR) are not fetched.
//   - The platform of a single-platform image: it is in the config blob, which is not
//     fetched, so Platforms is empty for a single manifest.
//   - The node's rate-limit budget: Docker Hub counts per source IP, and the bot's
//     address is usually not the nodes' NAT gateway. The probe itself may count as a
//     pull, so it is sent once, without retries.
//
// The probe uses https only, as containerd does for every host but localhost (and the
// bot's localhost is not the node's); go-containerregistry alone would also try plain
// http for loopback, private and .local addresses.
//
// Neither the password nor any token appears in a probe: failure texts are built from the
// underlying network errors, URLs lose their userinfo and query strings, and every text
// field is scrubbed of the password and of every credential the probe sent.
//
// A reference that cannot be resolved (ImageRef.Err set, no host or repository) is not
// probed: the result has Auth "not-probed" and nothing else.
package registryprobe
