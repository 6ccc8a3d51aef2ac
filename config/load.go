package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is a configuration error at a known place.
type Error struct {
	File string // file name, or "command line"
	Line int    // 0 when unknown
	Key  string // dotted key path, e.g. "ebm.lr"
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Key != "" {
		fmt.Fprintf(&b, ": key %q", e.Key)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Special top-level keys handled by the loader, not stored in Experiment.
const (
	keyExtends = "extends"
	keyScales  = "scales"
)

// Load reads an experiment file, its bases, its scale profile and the
// command-line overrides ("ebm.lr=1e-4", "seed=3"), in that order of
// precedence from lowest to highest, and returns the validated result.
func Load(path string, overrides []string) (Experiment, error) {
	root, scales, err := loadTree(path, 0)
	if err != nil {
		return Experiment{}, err
	}
	var ovs []*yaml.Node
	scale := "quick"
	if v := lookup(root, "scale"); v != nil {
		scale = v.Value
	}
	for _, o := range overrides {
		n, err := overrideNode(o)
		if err != nil {
			return Experiment{}, err
		}
		if v := lookup(n, "scale"); v != nil {
			scale = v.Value
		}
		ovs = append(ovs, n)
	}
	// "quick" is the file as written unless it declares a quick profile.
	if s, ok := scales[scale]; ok {
		merge(root, s.node)
	} else if scale != "quick" {
		names := make([]string, 0, len(scales))
		for k := range scales {
			names = append(names, k)
		}
		sort.Strings(names)
		return Experiment{}, &Error{File: path, Key: "scale", Msg: fmt.Sprintf("no profile %q under scales: (have %v)", scale, names)}
	}
	for _, n := range ovs {
		merge(root, n)
	}
	return decode(root, path)
}

// decode fills Defaults from a checked mapping node and validates the
// result, naming where in errors that do not already name a file.
func decode(root *yaml.Node, where string) (Experiment, error) {
	e := Defaults()
	if err := root.Decode(&e); err != nil {
		return Experiment{}, &Error{File: where, Msg: err.Error()}
	}
	if err := e.Validate(); err != nil {
		var ce *Error
		if errors.As(err, &ce) && ce.File == "" {
			ce.File = where
		}
		return Experiment{}, err
	}
	return e, nil
}

type scaleProfile struct {
	file string
	node *yaml.Node
}

// loadTree parses path into a mapping node with its bases merged under it
// and its scales: section split off.
func loadTree(path string, depth int) (*yaml.Node, map[string]scaleProfile, error) {
	if depth > 8 {
		return nil, nil, &Error{File: path, Key: keyExtends, Msg: "too many nested extends (a cycle?)"}
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading experiment: %w", err)
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(src))
	if err := dec.Decode(&doc); err != nil {
		return nil, nil, &Error{File: path, Msg: "malformed YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, nil, &Error{File: path, Line: doc.Line, Msg: "an experiment file must be a YAML mapping"}
	}
	root := doc.Content[0]
	var base string
	scales := map[string]scaleProfile{}
	kept := root.Content[:0:0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case keyExtends:
			base = v.Value
		case keyScales:
			if v.Kind != yaml.MappingNode {
				return nil, nil, &Error{File: path, Line: v.Line, Key: keyScales, Msg: "must map profile names to overrides"}
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				name, prof := v.Content[j].Value, v.Content[j+1]
				if err := check(prof, reflect.TypeOf(Experiment{}), keyScales+"."+name, path); err != nil {
					return nil, nil, err
				}
				scales[name] = scaleProfile{file: path, node: prof}
			}
		default:
			kept = append(kept, k, v)
		}
	}
	root.Content = kept
	if err := check(root, reflect.TypeOf(Experiment{}), "", path); err != nil {
		return nil, nil, err
	}
	if base == "" {
		return root, scales, nil
	}
	bpath := filepath.Join(filepath.Dir(path), base)
	broot, bscales, err := loadTree(bpath, depth+1)
	if err != nil {
		return nil, nil, fmt.Errorf("%s extends %s: %w", path, base, err)
	}
	merge(broot, root)
	for k, s := range scales {
		if b, ok := bscales[k]; ok {
			merge(b.node, s.node)
			continue
		}
		bscales[k] = s
	}
	return broot, bscales, nil
}

// check walks n against the struct type t and reports the first unknown key
// or badly typed value.
func check(n *yaml.Node, t reflect.Type, path, file string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct {
		if n.Kind != yaml.SequenceNode {
			return &Error{File: file, Line: n.Line, Key: path, Msg: fmt.Sprintf("must be a list of mappings with keys %v", fieldNames(t.Elem()))}
		}
		for i, item := range n.Content {
			if err := check(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i), file); err != nil {
				return err
			}
		}
		return nil
	}
	if t.Kind() != reflect.Struct {
		v := reflect.New(t)
		if err := n.Decode(v.Interface()); err != nil {
			return &Error{File: file, Line: n.Line, Key: path, Msg: fmt.Sprintf("value %q is not a valid %s", n.Value, kindName(t))}
		}
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return &Error{File: file, Line: n.Line, Key: path, Msg: fmt.Sprintf("must be a mapping with keys %v", fieldNames(t))}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		if path != "" {
			key = path + "." + k.Value
		}
		f, ok := fieldByTag(t, k.Value)
		if !ok {
			return &Error{File: file, Line: k.Line, Key: key, Msg: fmt.Sprintf("unknown key (valid keys here: %s)", strings.Join(fieldNames(t), ", "))}
		}
		if err := check(v, f.Type, key, file); err != nil {
			return err
		}
	}
	return nil
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int64:
		return "integer"
	case reflect.Uint64, reflect.Uint:
		return "non-negative integer"
	case reflect.Float64:
		return "number"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	}
	return t.String()
}

func tagName(f reflect.StructField) string {
	return strings.Split(f.Tag.Get("yaml"), ",")[0]
}

func fieldByTag(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		if tagName(t.Field(i)) == name {
			return t.Field(i), true
		}
	}
	return reflect.StructField{}, false
}

func fieldNames(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		if n := tagName(t.Field(i)); n != "" && n != "-" {
			out = append(out, n)
		}
	}
	return out
}

// merge overlays src onto dst: mappings merge key by key, anything else replaces.
func merge(dst, src *yaml.Node) {
	for i := 0; i+1 < len(src.Content); i += 2 {
		k, v := src.Content[i], src.Content[i+1]
		found := false
		for j := 0; j+1 < len(dst.Content); j += 2 {
			if dst.Content[j].Value != k.Value {
				continue
			}
			found = true
			if v.Kind == yaml.MappingNode && dst.Content[j+1].Kind == yaml.MappingNode {
				merge(dst.Content[j+1], v)
			} else {
				dst.Content[j+1] = v
			}
		}
		if !found {
			dst.Content = append(dst.Content, k, v)
		}
	}
}

func lookup(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// overrideNode turns "a.b.c=value" into the mapping {a: {b: {c: value}}},
// checked against the schema.
func overrideNode(o string) (*yaml.Node, error) {
	const where = "command line"
	key, val, ok := strings.Cut(o, "=")
	if !ok || key == "" {
		return nil, &Error{File: where, Msg: fmt.Sprintf("override %q is not key=value", o)}
	}
	var leaf yaml.Node
	if err := yaml.Unmarshal([]byte(val), &leaf); err != nil || len(leaf.Content) == 0 {
		leaf = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: val}
	} else {
		leaf = *leaf.Content[0]
	}
	parts := strings.Split(key, ".")
	root := &yaml.Node{Kind: yaml.MappingNode}
	cur := root
	for i, p := range parts {
		k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: p}
		if i == len(parts)-1 {
			cur.Content = append(cur.Content, k, &leaf)
			break
		}
		next := &yaml.Node{Kind: yaml.MappingNode}
		cur.Content = append(cur.Content, k, next)
		cur = next
	}
	if err := check(root, reflect.TypeOf(Experiment{}), "", where); err != nil {
		return nil, err
	}
	return root, nil
}

// Parse decodes a resolved experiment as Marshal wrote it (the config
// stored with a run), strictly, and validates it; where names its origin.
func Parse(src []byte, where string) (Experiment, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return Experiment{}, &Error{File: where, Msg: err.Error()}
	}
	if len(doc.Content) == 0 {
		return Experiment{}, &Error{File: where, Msg: "empty config"}
	}
	if err := check(doc.Content[0], reflect.TypeOf(Experiment{}), "", where); err != nil {
		return Experiment{}, err
	}
	return decode(doc.Content[0], where)
}

// Marshal renders the resolved experiment as YAML, as stored with each run.
func Marshal(e Experiment) ([]byte, error) { return yaml.Marshal(e) }

// Flatten returns every leaf of the resolved experiment as dotted key → value.
func Flatten(e Experiment) (map[string]string, error) {
	raw, err := yaml.Marshal(e)
	if err != nil {
		return nil, err
	}
	var n yaml.Node
	if err := yaml.Unmarshal(raw, &n); err != nil {
		return nil, err
	}
	out := map[string]string{}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		switch n.Kind {
		case yaml.DocumentNode:
			walk(n.Content[0], prefix)
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i].Value
				if prefix != "" {
					k = prefix + "." + k
				}
				walk(n.Content[i+1], k)
			}
		case yaml.SequenceNode:
			n.Style = yaml.FlowStyle
			b, _ := yaml.Marshal(n)
			out[prefix] = strings.TrimSpace(string(b))
		default:
			out[prefix] = n.Value
		}
	}
	walk(&n, "")
	return out, nil
}

// DecodeFile reads the YAML mapping in path into out, a pointer to a struct
// with yaml tags, as strictly as an experiment: an unknown key or a badly
// typed value is an *Error naming the file, line and dotted key. It returns
// the mapping node, so that a caller can name the line of a key whose value
// is wrong for reasons of its own (NodeAt).
func DecodeFile(path string, out any) (*yaml.Node, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, &Error{File: path, Msg: "malformed YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, &Error{File: path, Line: doc.Line, Msg: "the file must be a YAML mapping"}
	}
	root := doc.Content[0]
	if err := check(root, reflect.TypeOf(out).Elem(), "", path); err != nil {
		return nil, err
	}
	if err := root.Decode(out); err != nil {
		return nil, &Error{File: path, Msg: err.Error()}
	}
	return root, nil
}

// NodeAt follows a path of mapping keys (string) and list indices (int)
// from n and returns the node there, or nil.
func NodeAt(n *yaml.Node, path ...any) *yaml.Node {
	for _, p := range path {
		if n == nil {
			return nil
		}
		switch p := p.(type) {
		case string:
			n = lookup(n, p)
		case int:
			if n.Kind != yaml.SequenceNode || p < 0 || p >= len(n.Content) {
				return nil
			}
			n = n.Content[p]
		default:
			return nil
		}
	}
	return n
}
