// Package registryfake runs a real OCI registry (go-containerregistry's pkg/registry, in
// memory) behind TLS for tests, with what pkg/registry lacks: authentication (Docker Hub's
// bearer-token flow or ECR's Basic auth), refusals and rate limits (403 DENIED, 429
// TOOMANYREQUESTS with Docker Hub's RateLimit-* and Retry-After headers), and a delay on
// every response. pkg/registry itself answers NAME_UNKNOWN and MANIFEST_UNKNOWN.
//
// A Registry answers for host names of its own (Options.Hosts: registry-1.docker.io,
// *.dkr.ecr.us-west-2.amazonaws.com, registry.example.com, ...) besides its 127.0.0.1
// address: its certificate names them, and Transport routes them to its listener, so a
// client that builds URLs from real image references reaches the fake without DNS. A
// registry marked Untrusted is routed but its certificate is not trusted, as with a private
// CA that the client lacks. Hosts that no registry serves fail as a DNS lookup would: no
// request leaves the process. The bearer flow's token realm is on the registry's first
// host name (clients refuse a realm on a private address for a registry with a public name).
//
// Repositories with these prefixes behave the same whatever the registry holds:
// RepoForbidden (403 DENIED), RepoLimited (429 with rate-limit headers), RepoTokenLimited
// (the token endpoint answers 429), RepoEcho (a 429 that echoes the request's Authorization
// header and the password, to test scrubbing). Fail adds such behaviour for other
// repositories. In bearer mode RepoPublic, RepoLibrary and RepoLimited are readable with an
// anonymous token; manifests under RepoLibrary carry Docker Hub's rate-limit headers.
package registryfake
