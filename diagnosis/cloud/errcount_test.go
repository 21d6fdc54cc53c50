package cloud_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"
	"github.com/google/go-cmp/cmp"

	"github.com/pullcheck/pullcheck/diagnosis/cloud"
)

// awsReply is one canned answer of the fake AWS endpoint.
type awsReply struct {
	status      int
	contentType string
	errorType   string // x-amzn-ErrorType, for JSON-protocol errors
	body        string
}

const (
	ecrJSON           = "application/x-amz-json-1.1"
	ecrRepoNotFound   = `{"__type":"RepositoryNotFoundException","message":"The repository with name 'payments/apii' does not exist in the registry with id '111122223333'"}`
	ecrInternalError  = `{"__type":"ServerException","message":"internal error"}`
	stsAccessDenied   = `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not allowed</Message></Error><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ErrorResponse>`
	stsCallerIdentity = `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:sts::111122223333:assumed-role/pullcheck/bot</Arn><UserId>AROAEXAMPLE:bot</UserId><Account>111122223333</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata></GetCallerIdentityResponse>`
)

// fakeAWS answers every request with reply and counts the requests.
func fakeAWS(t *testing.T, reply awsReply) (cfg aws.Config, requests func() int) {
	t.Helper()
	var (
		mu sync.Mutex
		n  int
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		n++
		mu.Unlock()
		w.Header().Set("Content-Type", reply.contentType)
		if reply.errorType != "" {
			w.Header().Set("X-Amzn-ErrorType", reply.errorType)
		}
		w.WriteHeader(reply.status)
		_, _ = w.Write([]byte(reply.body))
	}))
	t.Cleanup(srv.Close)
	cfg = aws.Config{
		Region:       "us-west-2",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(srv.URL),
		HTTPClient:   srv.Client(),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.MaxBackoff = time.Millisecond
				o.RateLimiter = ratelimit.None
			})
		},
	}
	return cfg, func() int {
		mu.Lock()
		defer mu.Unlock()
		return n
	}
}

// counted records CountErrors' calls.
type counted struct {
	mu    sync.Mutex
	calls []string
}

func (c *counted) count(service, operation string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, service+" "+operation)
}

func (c *counted) got() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.calls...)
}

func describeImages(ctx context.Context, cfg aws.Config) error {
	_, err := ecr.NewFromConfig(cfg).DescribeImages(ctx, &ecr.DescribeImagesInput{
		RepositoryName: aws.String("payments/apii"),
		ImageIds:       []ecrtypes.ImageIdentifier{{ImageTag: aws.String("1.8.2")}},
	})
	return err
}

func getCallerIdentity(ctx context.Context, cfg aws.Config) error {
	_, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	return err
}

func TestCountErrors(t *testing.T) {
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name         string
		reply        awsReply
		ctx          context.Context // default t.Context()
		call         func(context.Context, aws.Config) error
		wantErr      bool
		wantRequests int
		want         []string
	}{
		{
			name:         "ECR modeled error, not retried",
			reply:        awsReply{status: http.StatusBadRequest, contentType: ecrJSON, errorType: "RepositoryNotFoundException", body: ecrRepoNotFound},
			call:         describeImages,
			wantErr:      true,
			wantRequests: 1,
			want:         []string{"ECR DescribeImages"},
		},
		{
			name:         "ECR server error counted once after three attempts",
			reply:        awsReply{status: http.StatusInternalServerError, contentType: ecrJSON, errorType: "ServerException", body: ecrInternalError},
			call:         describeImages,
			wantErr:      true,
			wantRequests: 3,
			want:         []string{"ECR DescribeImages"},
		},
		{
			name:         "ECR success",
			reply:        awsReply{status: http.StatusOK, contentType: ecrJSON, body: `{"imageDetails":[]}`},
			call:         describeImages,
			wantRequests: 1,
		},
		{
			name:         "STS query-protocol error",
			reply:        awsReply{status: http.StatusForbidden, contentType: "text/xml", body: stsAccessDenied},
			call:         getCallerIdentity,
			wantErr:      true,
			wantRequests: 1,
			want:         []string{"STS GetCallerIdentity"},
		},
		{
			name:         "STS success",
			reply:        awsReply{status: http.StatusOK, contentType: "text/xml", body: stsCallerIdentity},
			call:         getCallerIdentity,
			wantRequests: 1,
		},
		{
			name:    "cancelled by the caller",
			reply:   awsReply{status: http.StatusOK, contentType: ecrJSON, body: `{"imageDetails":[]}`},
			ctx:     cancelled,
			call:    describeImages,
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, requests := fakeAWS(t, tt.reply)
			var c counted
			cloud.CountErrors(&cfg, c.count)
			ctx := tt.ctx
			if ctx == nil {
				ctx = t.Context()
			}
			err := tt.call(ctx, cfg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want one: %t", err, tt.wantErr)
			}
			if got := requests(); got != tt.wantRequests {
				t.Errorf("requests: got %d, want %d", got, tt.wantRequests)
			}
			if diff := cmp.Diff(tt.want, c.got()); diff != "" {
				t.Errorf("counted (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCountErrorsTwiceKeepsTheFirstCounter(t *testing.T) {
	cfg, _ := fakeAWS(t, awsReply{status: http.StatusBadRequest, contentType: ecrJSON, errorType: "RepositoryNotFoundException", body: ecrRepoNotFound})
	var first, second counted
	cloud.CountErrors(&cfg, first.count)
	cloud.CountErrors(&cfg, second.count)
	err := describeImages(t.Context(), cfg)
	if _, ok := errors.AsType[*ecrtypes.RepositoryNotFoundException](err); !ok {
		t.Fatalf("got %v, want the API's RepositoryNotFoundException", err)
	}
	if diff := cmp.Diff([]string{"ECR DescribeImages"}, first.got()); diff != "" {
		t.Errorf("first counter (-want +got):\n%s", diff)
	}
	if got := second.got(); len(got) != 0 {
		t.Errorf("second counter: got %v, want no calls", got)
	}
}

func TestCountErrorsDoesNotChangeEarlierCopies(t *testing.T) {
	cfg, _ := fakeAWS(t, awsReply{status: http.StatusBadRequest, contentType: ecrJSON, errorType: "RepositoryNotFoundException", body: ecrRepoNotFound})
	cfg.APIOptions = make([]func(*middleware.Stack) error, 0, 4) // spare capacity a plain append would share
	// A copy taken earlier adds an option of its own in the shared spare capacity.
	earlier := cfg
	var ran bool
	earlier.APIOptions = append(earlier.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("test.marker",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
				middleware.InitializeOutput, middleware.Metadata, error,
			) {
				ran = true
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	})
	var c counted
	cloud.CountErrors(&cfg, c.count)
	if err := describeImages(t.Context(), earlier); err == nil {
		t.Fatal("got nil, want the API error")
	}
	if !ran {
		t.Error("the earlier copy's own option was overwritten")
	}
	if got := c.got(); len(got) != 0 {
		t.Errorf("the earlier copy counted %v", got)
	}
}
