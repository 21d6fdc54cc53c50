package awsfake

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// protocol is the wire protocol of one service.
type protocol interface {
	// decode finds the operation (and its parameters) of req.
	decode(req *request) error
	writeOutput(w http.ResponseWriter, req *request, out any)
	writeError(w http.ResponseWriter, req *request, err error)
	throttle() *apiError
	serverError() *apiError
	accessDenied(sc *Scenario, action string) *apiError
	unknownOperation(op string) *apiError
}

var protocols = map[string]protocol{
	"ecr": awsJSON{target: "AmazonEC2ContainerRegistry_V20150921"},
	"kms": awsJSON{target: "TrentService"},
	"iam": awsQuery{ns: "https://iam.amazonaws.com/doc/2010-05-08/", version: "2010-05-08"},
	"sts": awsQuery{ns: "https://sts.amazonaws.com/doc/2011-06-15/", version: "2011-06-15"},
	"ec2": ec2Query{},
	"eks": restJSON{},
}

func asAPIError(err error, fallback func() *apiError) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	e := fallback()
	e.message = err.Error()
	return e
}

func deniedMessage(sc *Scenario, action string) string {
	return fmt.Sprintf("User: %s is not authorized to perform: %s because no identity-based policy allows the %s action", sc.Caller.Arn, action, action)
}

// ---- awsJson1_1 (ECR, KMS) ----

type awsJSON struct{ target string }

func (p awsJSON) decode(req *request) error {
	t := req.http.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(t, p.target+".")
	if !ok || req.http.Method != http.MethodPost {
		return errorf(400, "UnknownOperationException", "unknown target %q", t)
	}
	req.op = op
	if len(bytes.TrimSpace(req.body)) == 0 {
		req.body = []byte("{}")
	}
	return nil
}

func (p awsJSON) writeOutput(w http.ResponseWriter, req *request, out any) {
	if out == nil {
		out = struct{}{}
	}
	b, err := json.Marshal(out)
	if err != nil {
		p.writeError(w, req, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", req.id)
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

func (p awsJSON) writeError(w http.ResponseWriter, req *request, err error) {
	ae := asAPIError(err, p.serverError)
	body := map[string]string{"__type": ae.code, "message": ae.message}
	for k, v := range ae.fields {
		body[k] = v
	}
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", req.id)
	w.WriteHeader(ae.status)
	w.Write(b)
}

func (awsJSON) throttle() *apiError {
	return errorf(400, "ThrottlingException", "Rate exceeded")
}

func (awsJSON) serverError() *apiError {
	return errorf(500, "InternalFailure", "The request processing has failed because of an unknown error, exception or failure.")
}

func (awsJSON) accessDenied(sc *Scenario, action string) *apiError {
	return errorf(400, "AccessDeniedException", "%s", deniedMessage(sc, action))
}

func (awsJSON) unknownOperation(op string) *apiError {
	return errorf(400, "UnknownOperationException", "awsfake does not serve %s", op)
}

// decodeJSON decodes the request body into v.
func decodeJSON(req *request, v any) error {
	if err := json.Unmarshal(req.body, v); err != nil {
		return errorf(400, "SerializationException", "cannot decode request: %v", err)
	}
	return nil
}

// epoch renders t as awsJson/restJson epoch seconds (with milliseconds).
func epoch(t time.Time) json.Number {
	ms := t.UnixMilli()
	return json.Number(strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64))
}

// ---- awsQuery (IAM, STS) ----

type awsQuery struct{ ns, version string }

func (p awsQuery) decode(req *request) error {
	form, err := url.ParseQuery(string(req.body))
	if err != nil {
		return errorf(400, "MalformedQueryString", "%v", err)
	}
	req.form = form
	req.op = form.Get("Action")
	if req.op == "" {
		return errorf(400, "MissingAction", "Missing Action")
	}
	return nil
}

func (p awsQuery) writeOutput(w http.ResponseWriter, req *request, out any) {
	var buf bytes.Buffer
	enc := xml.NewEncoder(&buf)
	root := xml.StartElement{Name: xml.Name{Local: req.op + "Response"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: p.ns}}}
	err := enc.EncodeToken(root)
	if err == nil && out != nil {
		err = enc.EncodeElement(out, xml.StartElement{Name: xml.Name{Local: req.op + "Result"}})
	}
	if err == nil {
		err = enc.EncodeElement(struct {
			RequestID string `xml:"RequestId"`
		}{req.id}, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}})
	}
	if err == nil {
		err = enc.EncodeToken(root.End())
	}
	if err == nil {
		err = enc.Flush()
	}
	if err != nil {
		p.writeError(w, req, err)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-RequestId", req.id)
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}

func (p awsQuery) writeError(w http.ResponseWriter, req *request, err error) {
	ae := asAPIError(err, p.serverError)
	fault := ae.fault
	if fault == "" {
		fault = "Sender"
		if ae.status >= 500 {
			fault = "Receiver"
		}
	}
	type xmlError struct {
		Type    string
		Code    string
		Message string
	}
	b, _ := xml.Marshal(struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		Xmlns     string   `xml:"xmlns,attr"`
		Error     xmlError
		RequestID string `xml:"RequestId"`
	}{Xmlns: p.ns, Error: xmlError{fault, ae.code, ae.message}, RequestID: req.id})
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-RequestId", req.id)
	w.WriteHeader(ae.status)
	w.Write(b)
}

func (awsQuery) throttle() *apiError { return errorf(400, "Throttling", "Rate exceeded") }

func (awsQuery) serverError() *apiError {
	return errorf(500, "InternalFailure", "The request processing has failed because of an unknown error, exception or failure.")
}

func (awsQuery) accessDenied(sc *Scenario, action string) *apiError {
	return errorf(403, "AccessDenied", "%s", deniedMessage(sc, action))
}

func (p awsQuery) unknownOperation(op string) *apiError {
	return errorf(400, "InvalidAction", "Could not find operation %s for version %s", op, p.version)
}

// ---- ec2Query (EC2) ----

type ec2Query struct{}

const ec2NS = "http://ec2.amazonaws.com/doc/2016-11-15/"

func (ec2Query) decode(req *request) error {
	return awsQuery{}.decode(req)
}

// ec2Meta is embedded in every EC2 output for its <requestId>.
type ec2Meta struct {
	RequestID string `xml:"requestId"`
}

func (m *ec2Meta) setRequestID(id string) { m.RequestID = id }

func (p ec2Query) writeOutput(w http.ResponseWriter, req *request, out any) {
	if out == nil {
		out = &ec2Return{Return: true}
	}
	if m, ok := out.(interface{ setRequestID(string) }); ok {
		m.setRequestID(req.id)
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	err := enc.EncodeElement(out, xml.StartElement{
		Name: xml.Name{Local: req.op + "Response"},
		Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: ec2NS}},
	})
	if err == nil {
		err = enc.Flush()
	}
	if err != nil {
		p.writeError(w, req, err)
		return
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}

type ec2Return struct {
	ec2Meta
	Return bool `xml:"return"`
}

func (p ec2Query) writeError(w http.ResponseWriter, req *request, err error) {
	ae := asAPIError(err, p.serverError)
	type xmlError struct {
		Code    string
		Message string
	}
	b, _ := xml.Marshal(struct {
		XMLName   xml.Name   `xml:"Response"`
		Errors    []xmlError `xml:"Errors>Error"`
		RequestID string     `xml:"RequestID"`
	}{Errors: []xmlError{{ae.code, ae.message}}, RequestID: req.id})
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(ae.status)
	w.Write(append([]byte(xml.Header), b...))
}

func (ec2Query) throttle() *apiError {
	return errorf(503, "RequestLimitExceeded", "Request limit exceeded.")
}

func (ec2Query) serverError() *apiError {
	return errorf(500, "InternalError", "An internal error has occurred")
}

func (ec2Query) accessDenied(sc *Scenario, action string) *apiError {
	return errorf(403, "UnauthorizedOperation", "You are not authorized to perform this operation. %s", deniedMessage(sc, action))
}

func (ec2Query) unknownOperation(op string) *apiError {
	return errorf(400, "InvalidAction", "The action %s is not valid for this web service.", op)
}

// ---- restJson1 (EKS) ----

type restJSON struct{}

type restRoute struct {
	method, pattern, op string
}

var eksRoutes = []restRoute{
	{"GET", "/clusters", "ListClusters"},
	{"GET", "/clusters/{name}", "DescribeCluster"},
	{"GET", "/clusters/{clusterName}/fargate-profiles", "ListFargateProfiles"},
	{"GET", "/clusters/{clusterName}/fargate-profiles/{fargateProfileName}", "DescribeFargateProfile"},
	{"GET", "/clusters/{clusterName}/node-groups", "ListNodegroups"},
	{"GET", "/clusters/{clusterName}/node-groups/{nodegroupName}", "DescribeNodegroup"},
}

func (restJSON) decode(req *request) error {
	got := strings.Split(strings.Trim(req.http.URL.EscapedPath(), "/"), "/")
	for _, rt := range eksRoutes {
		want := strings.Split(strings.Trim(rt.pattern, "/"), "/")
		if rt.method != req.http.Method || len(want) != len(got) {
			continue
		}
		params := map[string]string{}
		ok := true
		for i, seg := range want {
			if strings.HasPrefix(seg, "{") {
				v, err := url.PathUnescape(got[i])
				if err != nil {
					ok = false
					break
				}
				params[strings.Trim(seg, "{}")] = v
			} else if seg != got[i] {
				ok = false
				break
			}
		}
		if ok {
			req.op, req.params = rt.op, params
			return nil
		}
	}
	return errorf(404, "UnknownOperationException", "awsfake does not serve %s %s", req.http.Method, req.http.URL.Path)
}

func (p restJSON) writeOutput(w http.ResponseWriter, req *request, out any) {
	if out == nil {
		out = struct{}{}
	}
	b, err := json.Marshal(out)
	if err != nil {
		p.writeError(w, req, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-RequestId", req.id)
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

func (p restJSON) writeError(w http.ResponseWriter, req *request, err error) {
	ae := asAPIError(err, p.serverError)
	body := map[string]string{"message": ae.message}
	for k, v := range ae.fields {
		body[k] = v
	}
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-RequestId", req.id)
	w.Header().Set("X-Amzn-ErrorType", ae.code)
	w.WriteHeader(ae.status)
	w.Write(b)
}

func (restJSON) throttle() *apiError { return errorf(429, "ThrottlingException", "Rate exceeded") }

func (restJSON) serverError() *apiError {
	return errorf(500, "InternalFailure", "The request processing has failed because of an unknown error, exception or failure.")
}

func (restJSON) accessDenied(sc *Scenario, action string) *apiError {
	return errorf(403, "AccessDeniedException", "%s", deniedMessage(sc, action))
}

func (restJSON) unknownOperation(op string) *apiError {
	return errorf(404, "UnknownOperationException", "awsfake does not serve %s", op)
}

// ---- form helpers for the query protocols ----

// formList returns the values of prefix.1, prefix.2, … (ordered by index). IAM lists use
// "Name.member"; EC2 lists are flat ("InstanceId").
func formList(form url.Values, prefix string) []string {
	var out []string
	for _, i := range formIndexes(form, prefix) {
		out = append(out, form.Get(prefix+"."+strconv.Itoa(i)))
	}
	return out
}

// formIndexes returns the sorted indexes N that appear as prefix.N or prefix.N.… keys.
func formIndexes(form url.Values, prefix string) []int {
	seen := map[int]bool{}
	for k := range form {
		rest, ok := strings.CutPrefix(k, prefix+".")
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(rest, ".")
		if n, err := strconv.Atoi(num); err == nil {
			seen[n] = true
		}
	}
	var out []int
	for n := range seen {
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

// formBool reads an optional boolean parameter.
func formBool(form url.Values, key string) (v, ok bool) {
	s := form.Get(key)
	if s == "" {
		return false, false
	}
	return strings.EqualFold(s, "true"), true
}

// isoTime renders t the way the XML protocols do.
func isoTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// items is an XML list whose members are <item> (EC2); it is rendered even when empty.
type items[T any] struct {
	Items []T `xml:"item"`
}

// members is an XML list whose members are <member> (IAM, STS); rendered even when empty.
type members[T any] struct {
	Members []T `xml:"member"`
}

// pageOf returns one page of n items starting at the offset encoded in token.
func pageOf(total, maxResults int, token string) (start, end int, next string, err error) {
	if token != "" {
		start, err = strconv.Atoi(strings.TrimPrefix(token, "awsfake-"))
		if err != nil || start < 0 || start > total {
			return 0, 0, "", fmt.Errorf("invalid pagination token %q", token)
		}
	}
	end = total
	if maxResults > 0 && start+maxResults < total {
		end = start + maxResults
		next = "awsfake-" + strconv.Itoa(end)
	}
	return start, end, next, nil
}
