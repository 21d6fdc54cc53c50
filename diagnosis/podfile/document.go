package podfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// object is one Kubernetes object of the input and where it starts.
type object struct {
	// js is the object as JSON: a slice of the input for JSON input (base is its offset
	// there), or converted from node for YAML input (base is -1).
	js    []byte
	base  int
	node  *yaml.Node // the YAML mapping, for YAML input
	marks []mark     // for YAML input: where each JSON value came from

	line, col int

	// For items of a typed list (PodList, EventList, ...), which may omit apiVersion and kind.
	defAPIVersion, defKind string
}

// header is what every object says about itself.
type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

// name is the object's namespace/name, or "(no name)".
func (h header) name() string {
	switch {
	case h.Metadata.Name == "":
		return "(no name)"
	case h.Metadata.Namespace == "":
		return h.Metadata.Name
	}
	return h.Metadata.Namespace + "/" + h.Metadata.Name
}

// documents splits the input into its top-level objects. JSON input is recognised by its
// first character; anything else is read as YAML.
func (l *loader) documents() ([]object, error) {
	start := skipJSONSpace(l.data, 0)
	if start == len(l.data) {
		return nil, nil
	}
	if c := l.data[start]; c == '{' || c == '[' {
		return l.jsonDocuments()
	}
	return l.yamlDocuments()
}

// --- JSON ---

func skipJSONSpace(data []byte, off int) int {
	for off < len(data) {
		switch data[off] {
		case ' ', '\t', '\n', '\r':
			off++
		default:
			return off
		}
	}
	return off
}

// skipSeparators skips white space and the ',' and ':' between JSON tokens.
func skipSeparators(data []byte, off int) int {
	for off < len(data) {
		switch data[off] {
		case ' ', '\t', '\n', '\r', ',', ':':
			off++
		default:
			return off
		}
	}
	return off
}

// jsonDocuments reads a stream of JSON values. Objects are documents; an array's elements
// are documents too.
func (l *loader) jsonDocuments() ([]object, error) {
	dec := json.NewDecoder(bytes.NewReader(l.data))
	var docs []object
	for {
		start := skipJSONSpace(l.data, int(dec.InputOffset()))
		if start >= len(l.data) {
			return docs, nil
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, l.jsonSyntaxError(start, err)
		}
		end := int(dec.InputOffset())
		switch l.data[start] {
		case '{':
			docs = append(docs, l.jsonObject(start, end))
		case '[':
			elems, err := l.jsonElements(start, end, "")
			if err != nil {
				return nil, err
			}
			docs = append(docs, elems...)
		default:
			line, col := l.position(start)
			return nil, l.errorAt(line, col, "a JSON %s: want an object", jsonType(l.data[start]))
		}
	}
}

func (l *loader) jsonObject(start, end int) object {
	line, col := l.position(start)
	return object{js: l.data[start:end], base: start, line: line, col: col}
}

// jsonElements returns the elements of the (valid) JSON array at data[start:end], which
// must all be objects. what names the array in errors ("items" or "" for a document).
func (l *loader) jsonElements(start, end int, what string) ([]object, error) {
	arr := l.data[start:end]
	dec := json.NewDecoder(bytes.NewReader(arr))
	if _, err := dec.Token(); err != nil { // '['
		return nil, l.jsonSyntaxError(start, err)
	}
	var out []object
	for i := 0; dec.More(); i++ {
		s := skipSeparators(arr, int(dec.InputOffset()))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, l.jsonSyntaxError(start+s, err)
		}
		e := int(dec.InputOffset())
		if s >= len(arr) || arr[s] != '{' {
			line, col := l.position(start + s)
			name := fmt.Sprintf("element %d of the array", i)
			if what != "" {
				name = fmt.Sprintf("%s[%d]", what, i)
			}
			t := "nothing"
			if s < len(arr) {
				t = jsonType(arr[s])
			}
			return nil, l.errorAt(line, col, "%s is a JSON %s: want an object", name, t)
		}
		out = append(out, l.jsonObject(start+s, start+e))
	}
	return out, nil
}

func jsonType(c byte) string {
	switch c {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// jsonMember finds the value of key in the (valid) JSON object js and returns its offsets
// in js. Like encoding/json, a later key wins and case is ignored.
func jsonMember(js []byte, key string) (start, end int, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(js))
	if _, err := dec.Token(); err != nil { // '{'
		return 0, 0, false
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return 0, 0, false
		}
		s := skipSeparators(js, int(dec.InputOffset()))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return 0, 0, false
		}
		if k, isString := tok.(string); isString && strings.EqualFold(k, key) {
			start, end, ok = s, int(dec.InputOffset()), true
		}
	}
	return start, end, ok
}

// jsonSyntaxError positions a JSON syntax error in the value that starts at offset start.
func (l *loader) jsonSyntaxError(start int, err error) error {
	// Unmarshal reports the offset of the problem relative to where it started reading;
	// the Decoder's own error may be a bare io.ErrUnexpectedEOF.
	var raw json.RawMessage
	uerr := json.Unmarshal(l.data[start:], &raw)
	var se *json.SyntaxError
	if errors.As(uerr, &se) {
		line, col := l.position(start + max(int(se.Offset)-1, 0))
		return l.errorAt(line, col, "%s", se.Error())
	}
	line, col := l.position(start)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return l.errorAt(line, col, "unexpected end of JSON input")
	}
	return l.errorAt(line, col, "%s", strings.TrimPrefix(err.Error(), "json: "))
}

// valueStart returns the offset in js of the start of the JSON value at which the decoder
// reported a type error with offset end (the end of a scalar, or just inside the opening
// bracket of an object or array), or -1.
func valueStart(js []byte, end int64) int {
	dec := json.NewDecoder(bytes.NewReader(js))
	var open []int
	for {
		start := skipSeparators(js, int(dec.InputOffset()))
		tok, err := dec.Token()
		if err != nil {
			return -1
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			// The decoder reports a type error for an object or array where it begins.
			if dec.InputOffset() == end {
				return start
			}
			open = append(open, start)
			continue
		case json.Delim('}'), json.Delim(']'):
			if len(open) == 0 {
				return -1
			}
			start = open[len(open)-1]
			open = open[:len(open)-1]
		}
		if dec.InputOffset() == end {
			return start
		}
		if dec.InputOffset() > end {
			return -1
		}
	}
}

// --- YAML ---

// yamlLine is how go.yaml.in/yaml/v3 puts a position into its syntax errors; the library
// has no structured error type for them, so the line is read from the message.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

func (l *loader) yamlError(err error) error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		if line, convErr := strconv.Atoi(m[1]); convErr == nil {
			return l.errorAt(line, 0, "%s", msg[len(m[0]):]) // the library gives no column
		}
	}
	return &Error{Name: l.name, Msg: strings.TrimPrefix(msg, "yaml: ")}
}

// yamlDocuments reads a stream of YAML documents. Mappings are documents; a sequence's
// elements are documents too; empty documents are skipped.
func (l *loader) yamlDocuments() (docs []object, err error) {
	defer func() {
		// The YAML parser is third-party code fed with arbitrary input: if it ever panics,
		// report the input as unreadable rather than crash the caller.
		if r := recover(); r != nil {
			docs, err = nil, &Error{Name: l.name, Msg: fmt.Sprintf("the YAML parser failed on this input: %v", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(l.data))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				return docs, nil
			}
			return nil, l.yamlError(err)
		}
		root := &doc
		if root.Kind == yaml.DocumentNode {
			if len(root.Content) == 0 {
				continue
			}
			root = root.Content[0]
		}
		switch root.Kind {
		case yaml.MappingNode:
			docs = append(docs, yamlObject(root))
		case yaml.SequenceNode:
			elems, err := l.yamlElements(root, "")
			if err != nil {
				return nil, err
			}
			docs = append(docs, elems...)
		case yaml.ScalarNode:
			if root.ShortTag() == "!!null" {
				continue // an empty document, or one with only comments
			}
			return nil, l.errorAt(root.Line, root.Column, "a YAML scalar: want a mapping")
		default:
			return nil, l.errorAt(root.Line, root.Column, "a YAML alias at the top of a document: want a mapping")
		}
	}
}

func yamlObject(n *yaml.Node) object {
	return object{node: n, base: -1, line: n.Line, col: n.Column}
}

func (l *loader) yamlElements(seq *yaml.Node, what string) ([]object, error) {
	out := make([]object, 0, len(seq.Content))
	for i, e := range seq.Content {
		if e.Kind == yaml.AliasNode && e.Alias != nil {
			e = e.Alias
		}
		if e.Kind != yaml.MappingNode {
			name := fmt.Sprintf("element %d of the sequence", i)
			if what != "" {
				name = fmt.Sprintf("%s[%d]", what, i)
			}
			return nil, l.errorAt(e.Line, e.Column, "%s is not a mapping: want an object", name)
		}
		out = append(out, yamlObject(e))
	}
	return out, nil
}

// yamlMember returns the value of key in a YAML mapping. Like encoding/json (which reads
// the rest of the object), a later key wins and case is ignored.
func yamlMember(m *yaml.Node, key string) *yaml.Node {
	var v *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && strings.EqualFold(k.Value, key) {
			v = m.Content[i+1]
		}
	}
	if v != nil && v.Kind == yaml.AliasNode {
		v = v.Alias
	}
	return v
}

// --- both ---

// json returns the object as JSON, converting YAML on first use.
func (l *loader) json(o *object) ([]byte, error) {
	if o.js != nil {
		return o.js, nil
	}
	js, marks, err := yamlToJSON(o.node)
	if err != nil {
		var ce *convertError
		if errors.As(err, &ce) {
			return nil, l.errorAt(ce.line, ce.col, "%s", ce.msg)
		}
		return nil, l.errorAt(o.line, o.col, "%s", err.Error())
	}
	o.js, o.marks = js, marks
	return js, nil
}

// header reads the object's apiVersion, kind and name.
func (l *loader) header(o *object) (header, error) {
	var h header
	if o.node != nil && yamlMember(o.node, "items") != nil {
		// A List: read its header without converting every item (each item is
		// converted on its own, within its own limits).
		head := yamlObject(withoutItems(o.node))
		return h, l.decode(&head, &h, "")
	}
	return h, l.decode(o, &h, "")
}

// withoutItems returns a copy of the YAML mapping m without its items.
func withoutItems(m *yaml.Node) *yaml.Node {
	head := *m
	head.Content = nil
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && strings.EqualFold(k.Value, "items") {
			continue
		}
		head.Content = append(head.Content, m.Content[i], m.Content[i+1])
	}
	return &head
}

// decode unmarshals the object into v; what names the object in errors (may be empty).
func (l *loader) decode(o *object, v any, what string) error {
	js, err := l.json(o)
	if err != nil {
		return err
	}
	err = json.Unmarshal(js, v)
	if err == nil {
		return nil
	}
	if what != "" {
		what += ": "
	}
	line, col := o.line, o.col
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		off := valueStart(js, te.Offset)
		switch {
		case o.base >= 0 && off >= 0:
			line, col = l.position(o.base + off)
		case o.base >= 0:
			line, col = l.position(o.base + int(te.Offset))
		case off >= 0:
			if ml, mc, ok := position(o.marks, off); ok {
				line, col = ml, mc
			}
		}
		field := ""
		if te.Field != "" {
			field = "field " + te.Field + ": "
		}
		return l.errorAt(line, col, "%s%scannot unmarshal %s into %s", what, field, te.Value, te.Type)
	}
	return l.errorAt(line, col, "%s%s", what, strings.TrimPrefix(err.Error(), "json: "))
}

// items returns the items of a list object.
func (l *loader) items(o *object) ([]object, error) {
	if o.node != nil {
		v := yamlMember(o.node, "items")
		switch {
		case v == nil, v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null":
			return nil, nil
		case v.Kind != yaml.SequenceNode:
			return nil, l.errorAt(v.Line, v.Column, "items is not a sequence")
		}
		return l.yamlElements(v, "items")
	}
	s, e, ok := jsonMember(o.js, "items")
	if !ok {
		return nil, nil
	}
	switch o.js[s] {
	case 'n':
		return nil, nil
	case '[':
		return l.jsonElements(o.base+s, o.base+e, "items")
	}
	line, col := l.position(o.base + s)
	return nil, l.errorAt(line, col, "items is a JSON %s: want an array", jsonType(o.js[s]))
}
