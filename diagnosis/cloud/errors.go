package cloud

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/pullcheck/pullcheck/diagnosis"
)

// errorCode returns the AWS error code of err ("" when it is not an API error).
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func isAccessDenied(err error) bool {
	switch errorCode(err) {
	case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedException", "AuthorizationError":
		return true
	}
	return false
}

// skipFor turns a failed lookup into a Skip that says why and what it needs: the IAM action
// (and resource) for a refusal, the endpoint for a network failure, the deadline for a timeout.
func skipFor(check, action, resource, endpoint string, err error) diagnosis.Skip {
	s := diagnosis.Skip{Check: check}
	needs := action
	if resource != "" {
		needs += " on " + resource
	}
	switch {
	case isAccessDenied(err):
		s.Reason = fmt.Sprintf("the bot's AWS role may not call %s", action)
		s.Needs = needs
	case errors.Is(err, context.DeadlineExceeded):
		s.Reason = fmt.Sprintf("%s did not answer in time", action)
		s.Needs = "a faster path to " + endpoint
	case errorCode(err) != "":
		s.Reason = fmt.Sprintf("%s failed: %s", action, errorCode(err))
		s.Needs = needs
	default:
		s.Reason = fmt.Sprintf("%s failed: %s", action, shortError(err))
		s.Needs = "network access from the bot to " + endpoint
	}
	return s
}

// shortError keeps the last part of a wrapped transport error: the part that says what failed.
func shortError(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && len(msg)-i > 12 {
		msg = msg[i+2:]
	}
	if len(msg) > 160 {
		msg = msg[:160] + "…"
	}
	return msg
}
