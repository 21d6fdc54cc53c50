// Package awsfake is an in-process fake of the AWS APIs pullcheck reads (and the ones its
// printed fix commands write), for tests that drive the real aws-sdk-go-v2 clients and the
// real AWS CLI.
//
// A Server speaks each service's wire protocol the way the SDK version in go.mod
// serializes and deserializes it:
//
//   - ECR and KMS: awsJson1_1 (POST /, X-Amz-Target "AmazonEC2ContainerRegistry_V20150921.Op" /
//     "TrentService.Op", JSON bodies, epoch-second timestamps, errors as
//     {"__type": "...", "message": "..."}).
//   - IAM and STS: awsQuery (form-encoded Action=Op&Version=..., lists as Name.member.N;
//     XML <OpResponse><OpResult>…</OpResult><ResponseMetadata>…; errors as
//     <ErrorResponse><Error><Type/><Code/><Message/></Error>).
//   - EC2: ec2Query (flat lists InstanceId.N, Filter.N.Name / Filter.N.Value.M; XML
//     <OpResponse xmlns=…><requestId/>… with <item> list members; errors as
//     <Response><Errors><Error><Code/><Message/></Error></Errors>).
//   - EKS: restJson1 (GET /clusters/{name}/…, errors with an x-amzn-ErrorType header).
//
// Requests are routed by the service name in the SigV4 credential scope of the
// Authorization header, and resources are looked up in the region of that scope, so a
// client configured for the wrong region sees what it would see in AWS.
//
// A call acts as the account of the credentials that signed it (Call.Account): the access
// key ID in the Authorization header names them. Keys that sts:AssumeRole issued act as the
// role's account; any other key is the bot's own and acts as Scenario.Account (signatures are
// not checked). With Scenario.SeparateAccounts, ECR and KMS answer only about the account a
// call acts as, so that reading a central registry account needs an assumed role there.
//
// The state is a plain Scenario value (WorkedExample gives the values of the reference
// worked example). Tests change it through Server.Update, inject faults with FailNext,
// Latency and Scenario.Denied, and read what was called with Calls and Actions. RunCLI
// runs a bash script in which `aws` is the Debian AWS CLI pointed at the server.
package awsfake
