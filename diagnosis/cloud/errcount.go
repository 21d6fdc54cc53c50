package cloud

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// errorCounterID names the middleware CountErrors adds.
const errorCounterID = "pullcheck.CountErrors"

// CountErrors makes every client built from cfg afterwards call count(service, operation),
// e.g. ("ECR", "DescribeImages"), once for each API call that returns an error to its caller,
// after retries. Answers the gatherer treats as facts (RepositoryNotFoundException, access
// denied) count too: they are errors on the wire. A call cancelled by its caller
// (context.Canceled) is not counted: nothing failed. count must be safe for concurrent use
// and must not block; ops.Metrics.AWSError fits.
//
// Call it once per config, before building clients (cloud.New copies cfg); a second call on
// the same config is ignored by the clients, which keep the first counter.
func CountErrors(cfg *aws.Config, count func(service, operation string)) {
	add := func(stack *middleware.Stack) error {
		if _, ok := stack.Initialize.Get(errorCounterID); ok {
			return nil
		}
		// Initialize is the outermost step: the retry loop (Finalize) runs inside it, so a
		// call retried three times is seen here once, with its final error.
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc(errorCounterID,
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
				middleware.InitializeOutput, middleware.Metadata, error,
			) {
				out, md, err := next.HandleInitialize(ctx, in)
				if err != nil && !errors.Is(err, context.Canceled) {
					count(awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx))
				}
				return out, md, err
			}), middleware.Before)
	}
	// A full slice expression makes append copy: configs copied from cfg earlier must not see
	// the counter through a shared backing array.
	cfg.APIOptions = append(cfg.APIOptions[:len(cfg.APIOptions):len(cfg.APIOptions)], add)
}
