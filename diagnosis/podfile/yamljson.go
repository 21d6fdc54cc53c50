package podfile

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Limits on converting one YAML object (a Pod, an Event, ...; a List's items are converted
// one by one) to JSON: aliases can make a small document expand without bound ("billion
// laughs"), and cycles through aliases never end. A real object has a few thousand values.
const (
	maxYAMLNodes = 1 << 16
	maxYAMLDepth = 256
	maxJSONSize  = 4 * MaxSize
)

// convertError is a YAML value that has no JSON equivalent, with its position.
type convertError struct {
	line, col int
	msg       string
}

func (e *convertError) Error() string { return e.msg }

// mark records that the JSON value starting at offset off came from the YAML node at
// line:col, so that an error found in the JSON can point into the YAML.
type mark struct {
	off       int
	line, col int
}

// yamlToJSON converts a YAML node to JSON, with a mark for every value in the order they
// were written. Scalars keep their text: a timestamp stays the string it was written as,
// so that the Kubernetes types parse it as kubectl would.
func yamlToJSON(n *yaml.Node) ([]byte, []mark, error) {
	c := &converter{}
	if err := c.value(n, 0); err != nil {
		return nil, nil, err
	}
	return c.buf.Bytes(), c.marks, nil
}

// position returns the YAML position of the JSON value that starts at off.
func position(marks []mark, off int) (line, col int, ok bool) {
	i, found := slices.BinarySearchFunc(marks, off, func(m mark, off int) int { return cmp.Compare(m.off, off) })
	if !found {
		return 0, 0, false
	}
	// Aliases put several nodes at one offset; the first is the one written in place.
	return marks[i].line, marks[i].col, true
}

type converter struct {
	buf   bytes.Buffer
	nodes int
	marks []mark
}

func (c *converter) fail(n *yaml.Node, msg string) error {
	return &convertError{line: n.Line, col: n.Column, msg: msg}
}

func (c *converter) value(n *yaml.Node, depth int) error {
	c.nodes++
	switch {
	case c.nodes > maxYAMLNodes:
		return c.fail(n, "the YAML document expands to too many values (aliases?)")
	case depth > maxYAMLDepth:
		return c.fail(n, "the YAML document is nested too deeply (a cycle of aliases?)")
	case c.buf.Len() > maxJSONSize:
		return c.fail(n, "the YAML document expands to too much data (aliases?)")
	}
	if n.Kind != yaml.DocumentNode && n.Kind != yaml.AliasNode {
		c.marks = append(c.marks, mark{off: c.buf.Len(), line: n.Line, col: n.Column})
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			c.buf.WriteString("null")
			return nil
		}
		return c.value(n.Content[0], depth+1)
	case yaml.AliasNode:
		if n.Alias == nil {
			return c.fail(n, "an alias to an unknown anchor")
		}
		return c.value(n.Alias, depth+1)
	case yaml.SequenceNode:
		c.buf.WriteByte('[')
		for i, e := range n.Content {
			if i > 0 {
				c.buf.WriteByte(',')
			}
			if err := c.value(e, depth+1); err != nil {
				return err
			}
		}
		c.buf.WriteByte(']')
		return nil
	case yaml.MappingNode:
		c.buf.WriteByte('{')
		first := true
		if err := c.members(n, depth, &first); err != nil {
			return err
		}
		c.buf.WriteByte('}')
		return nil
	case yaml.ScalarNode:
		return c.scalar(n)
	}
	return c.fail(n, "an unknown kind of YAML node")
}

// members writes the key/value pairs of mapping m. Values merged in with "<<" come first,
// so that the mapping's own keys win (encoding/json keeps the last duplicate).
func (c *converter) members(m *yaml.Node, depth int, first *bool) error {
	if depth > maxYAMLDepth {
		return c.fail(m, "the YAML document is nested too deeply (a cycle of aliases?)")
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			if err := c.merge(m.Content[i+1], depth+1, first); err != nil {
				return err
			}
		}
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			return c.fail(k, "a mapping key that is not a scalar")
		}
		if k.ShortTag() == "!!merge" {
			continue
		}
		if !*first {
			c.buf.WriteByte(',')
		}
		*first = false
		key, _ := json.Marshal(k.Value) // a string always marshals
		c.buf.Write(key)
		c.buf.WriteByte(':')
		if err := c.value(v, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// merge writes the members of a "<<" value: a mapping, or a sequence of mappings of which
// the earlier ones win.
func (c *converter) merge(v *yaml.Node, depth int, first *bool) error {
	c.nodes++
	if c.nodes > maxYAMLNodes {
		return c.fail(v, "the YAML document expands to too many values (aliases?)")
	}
	if v.Kind == yaml.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	switch v.Kind {
	case yaml.MappingNode:
		return c.members(v, depth+1, first)
	case yaml.SequenceNode:
		for i := len(v.Content) - 1; i >= 0; i-- {
			e := v.Content[i]
			if e.Kind == yaml.AliasNode && e.Alias != nil {
				e = e.Alias
			}
			if e.Kind != yaml.MappingNode {
				return c.fail(e, "a merge (<<) of something that is not a mapping")
			}
			if err := c.members(e, depth+1, first); err != nil {
				return err
			}
		}
		return nil
	}
	return c.fail(v, "a merge (<<) of something that is not a mapping")
}

func (c *converter) scalar(n *yaml.Node) error {
	switch n.ShortTag() {
	case "!!null":
		c.buf.WriteString("null")
		return nil
	case "!!bool":
		if b, err := strconv.ParseBool(n.Value); err == nil {
			c.buf.WriteString(strconv.FormatBool(b))
			return nil
		}
	case "!!int":
		plain := strings.ReplaceAll(n.Value, "_", "")
		if i, err := strconv.ParseInt(plain, 0, 64); err == nil {
			c.buf.WriteString(strconv.FormatInt(i, 10))
			return nil
		}
		if u, err := strconv.ParseUint(plain, 0, 64); err == nil {
			c.buf.WriteString(strconv.FormatUint(u, 10))
			return nil
		}
		if json.Valid([]byte(plain)) { // too large, but a number: let the decoder say so
			c.buf.WriteString(plain)
			return nil
		}
	case "!!float":
		switch strings.ToLower(n.Value) {
		case ".inf", "+.inf", "-.inf", ".nan":
			return c.fail(n, "an infinite or NaN number, which JSON cannot hold")
		}
		plain := strings.ReplaceAll(n.Value, "_", "")
		f, err := strconv.ParseFloat(plain, 64)
		switch {
		case err == nil && (math.IsInf(f, 0) || math.IsNaN(f)):
			return c.fail(n, "an infinite or NaN number, which JSON cannot hold")
		case err == nil:
			c.buf.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
			return nil
		case errors.Is(err, strconv.ErrRange) && json.Valid([]byte(plain)):
			c.buf.WriteString(plain) // out of range, but a number: let the decoder say so
			return nil
		}
	}
	// Strings, timestamps, binary and custom tags keep their text; so does a value whose
	// tag says int, float or bool but whose text is not one.
	s, _ := json.Marshal(n.Value)
	c.buf.Write(s)
	return nil
}
