package cloud_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pullcheck/pullcheck/diagnosis"
	"github.com/pullcheck/pullcheck/diagnosis/cloud"
	"github.com/pullcheck/pullcheck/tests/awsfake"
)

// ECRToken returns the registry credentials of GetAuthorizationToken, cached for the TTL and
// shared by concurrent callers.
func TestECRToken(t *testing.T) {
	const ttl = 5 * time.Minute
	e := newEnv(t, nil, cloud.Options{TTL: ttl})
	ctx := context.Background()
	img := diagnosis.ParseImage(tMissingTag)

	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			user, password, err := e.g.ECRToken(ctx, img)
			if err != nil || user != "AWS" || password != awsfake.ECRPassword {
				t.Errorf("ECRToken() = %q, %q, %v; want AWS, %q, nil", user, password, err, awsfake.ECRPassword)
			}
		})
	}
	wg.Wait()
	// Another image of the same registry uses the same token.
	if _, _, err := e.g.ECRToken(ctx, diagnosis.ParseImage(tLedger)); err != nil {
		t.Fatalf("ECRToken(%s): %v", tLedger, err)
	}
	if n := counts(e.srv)["ecr:GetAuthorizationToken"]; n != 1 {
		t.Errorf("ecr:GetAuthorizationToken called %d times, want 1", n)
	}

	// After the TTL it is asked for again.
	e.clock.Advance(ttl + time.Second)
	if _, _, err := e.g.ECRToken(ctx, img); err != nil {
		t.Fatalf("ECRToken after the TTL: %v", err)
	}
	if n := counts(e.srv)["ecr:GetAuthorizationToken"]; n != 2 {
		t.Errorf("ecr:GetAuthorizationToken called %d times after the TTL, want 2", n)
	}
}

// The token is asked for in the image's region (the credential provider does the same).
func TestECRTokenRegion(t *testing.T) {
	e := newEnv(t, nil, cloud.Options{})
	if _, _, err := e.g.ECRToken(context.Background(), diagnosis.ParseImage("111122223333.dkr.ecr.eu-central-1.amazonaws.com/payments/api:1.8.1")); err != nil {
		t.Fatalf("ECRToken: %v", err)
	}
	calls := e.srv.Calls()
	if len(calls) != 1 || calls[0].Action() != "ecr:GetAuthorizationToken" || calls[0].Region != "eu-central-1" {
		t.Errorf("calls %+v, want one ecr:GetAuthorizationToken in eu-central-1", calls)
	}
}

func TestECRTokenErrors(t *testing.T) {
	e := newEnv(t, func(sc *awsfake.Scenario) { sc.Denied["ecr:GetAuthorizationToken"] = true }, cloud.Options{})
	ctx := context.Background()

	if _, _, err := e.g.ECRToken(ctx, diagnosis.ParseImage(tDockerHub)); err == nil {
		t.Errorf("ECRToken(%s) succeeded, want an error for a non-ECR image", tDockerHub)
	}
	if calls := e.srv.Calls(); len(calls) > 0 {
		t.Errorf("calls %+v for a non-ECR image, want none", calls)
	}

	img := diagnosis.ParseImage(tMissingTag)
	if _, _, err := e.g.ECRToken(ctx, img); err == nil {
		t.Errorf("ECRToken succeeded although the bot may not call ecr:GetAuthorizationToken")
	}
	// A refusal is not cached: once allowed, the next call gets a token.
	e.srv.Update(func(sc *awsfake.Scenario) { sc.Denied = nil })
	if user, password, err := e.g.ECRToken(ctx, img); err != nil || user != "AWS" || password != awsfake.ECRPassword {
		t.Errorf("ECRToken() = %q, %q, %v after the permission was granted", user, password, err)
	}
}
