package config

import (
	"encoding"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The strict decoder. yaml.v3's Node.Decode has no KnownFields and stops at
// the first error that is not a type error, so the parser walks the node
// tree against the target type itself: unknown and duplicate keys, wrong
// shapes and wrong scalar types are all reported with their lines, and the
// walk carries on. Scalars (and types with their own UnmarshalYAML) are
// decoded by yaml.v3 itself, one leaf at a time, so their semantics are
// exactly yaml.v3's.

var (
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	yamlUnmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	durationType        = reflect.TypeFor[time.Duration]()
	sinkType            = reflect.TypeFor[Sink]()
)

// place says where in the file a value is, for messages: item names a list
// item of the top level (`source "nginx"`), path the dotted keys inside it
// (or from the top level when item is "").
type place struct {
	item string
	path string
}

func (pl place) key(k string) place {
	if pl.path == "" {
		return place{pl.item, k}
	}
	return place{pl.item, pl.path + "." + k}
}

func (pl place) index(i int) place {
	return place{pl.item, pl.path + "[" + strconv.Itoa(i) + "]"}
}

// String formats pl as a message prefix: `source "nginx": paths[0]`.
func (pl place) String() string {
	switch {
	case pl.item == "" && pl.path == "":
		return "top level"
	case pl.item == "":
		return pl.path
	case pl.path == "":
		return pl.item
	}
	return pl.item + ": " + pl.path
}

// in formats pl for "unknown key ... in X": the item or "".
func (pl place) in() string {
	if pl.item == "" {
		return ""
	}
	return " in " + pl.item
}

// singular names one item of the top-level lists in messages.
var singular = map[string]string{"sources": "source", "sinks": "sink", "redact": "redact rule"}

// itemPlace returns the place of the i-th item n of the list at pl: a named
// item (`sink "es"`) when the list is a top-level list of mappings, else an
// index into the path.
func itemPlace(pl place, i int, n *yaml.Node) place {
	word, ok := singular[pl.path]
	if pl.item != "" || !ok {
		return pl.index(i)
	}
	if n.Kind == yaml.MappingNode {
		for j := 0; j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value == "name" && n.Content[j+1].Kind == yaml.ScalarNode && n.Content[j+1].Value != "" {
				return place{item: fmt.Sprintf("%s %q", word, n.Content[j+1].Value)}
			}
		}
	}
	return place{item: fmt.Sprintf("%s #%d", word, i+1)}
}

// mapEntry is the lines key of one entry of a decoded map: the map field's
// address and the entry's key.
type mapEntry struct {
	m   any
	key string
}

// Limits on what aliases can make of a document: an alias inside the node
// it names would recurse forever, and nested aliases grow exponentially.
const (
	maxDepth = 64
	maxNodes = 1 << 20
)

// decode decodes n into v (addressable), reporting every problem.
func (p *parser) decode(n *yaml.Node, v reflect.Value, at place) {
	n = resolveAlias(n)
	p.depth++
	defer func() { p.depth-- }()
	if p.nodes++; p.depth > maxDepth || p.nodes > maxNodes {
		if !p.tooBig {
			p.tooBig = true
			p.failf(n.Line, "%s: the document nests too deep or its aliases expand too far", at)
		}
		return
	}
	if p.badNodes[n] {
		p.failures++ // reported by expandEnv
	}
	t := v.Type()
	pt := reflect.PointerTo(t)
	switch {
	case pt.Implements(yamlUnmarshalerType) || t.Kind() == reflect.Interface:
		if err := n.Decode(v.Addr().Interface()); err != nil {
			p.valueError(n, at, t, err)
		}
		return
	case pt.Implements(textUnmarshalerType) || isScalarKind(t.Kind()) ||
		(t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8):
		if n.Kind != yaml.ScalarNode {
			p.failf(n.Line, "%s: want %s, not %s", at, describe(t), kindName(n))
			return
		}
		if isNull(n) {
			v.SetZero()
			return
		}
		if t.Kind() == reflect.Bool && n.ShortTag() != "!!bool" {
			// yaml.v3 reads yes, no, on, off, y and n into a bool, quoted
			// too, where it refuses "true" (tailer22 P6): one spelling.
			p.failf(n.Line, "%s: want true or false, not %q", at, n.Value)
			return
		}
		if isIntKind(t.Kind()) && !pt.Implements(textUnmarshalerType) && n.ShortTag() == "!!float" && !wholeNumber(n.Value) {
			// yaml.v3 cuts 2.5 to 2 without a word: workers: 2.5 ran 2.
			p.failf(n.Line, "%s: want a whole number, not %s", at, n.Value)
			return
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			p.valueError(n, at, t, err)
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		if isNull(n) {
			v.SetZero()
			return
		}
		nv := reflect.New(t.Elem())
		p.decode(n, nv.Elem(), at)
		v.Set(nv)
	case reflect.Struct:
		if t == sinkType {
			p.decodeSink(n, v.Addr().Interface().(*Sink), at)
			return
		}
		p.decodeStruct(n, v, at, nil, nil)
	case reflect.Slice:
		if isNull(n) {
			v.SetZero()
			return
		}
		if n.Kind != yaml.SequenceNode {
			p.failf(n.Line, "%s: want a list, not %s", at, kindName(n))
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, item := range n.Content {
			ev := s.Index(i)
			p.lines[ev.Addr().Interface()] = item.Line
			p.decodeField(item, ev, itemPlace(at, i, resolveAlias(item)))
		}
		v.Set(s)
	case reflect.Map:
		if isNull(n) {
			v.SetZero()
			return
		}
		if n.Kind != yaml.MappingNode {
			p.failf(n.Line, "%s: want a mapping, not %s", at, kindName(n))
			return
		}
		m := reflect.MakeMapWithSize(t, len(n.Content)/2)
		seen := make(map[string]int)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := resolveAlias(n.Content[i]), n.Content[i+1]
			if !p.checkKey(k, at, seen) {
				continue
			}
			kv := reflect.New(t.Key()).Elem()
			p.decode(k, kv, at.key(k.Value))
			vv := reflect.New(t.Elem()).Elem()
			entry := mapEntry{v.Addr().Interface(), k.Value}
			p.lines[entry] = k.Line
			before := p.failures
			p.decode(val, vv, at.key(k.Value))
			if p.failures > before {
				p.bad[entry] = true
			}
			m.SetMapIndex(kv, vv)
		}
		v.Set(m)
	default:
		p.failf(n.Line, "%s: cannot decode into %s", at, t)
	}
}

// failf reports a decoding problem.
func (p *parser) failf(line int, format string, args ...any) {
	p.failures++
	p.errorf(line, format, args...)
}

// decodeField decodes n into the field or list item v, marking v bad when
// that reported a problem (a struct is never marked: its fields are).
func (p *parser) decodeField(n *yaml.Node, v reflect.Value, at place) {
	before := p.failures
	p.decode(n, v, at)
	if p.failures > before {
		p.dirty[v.Addr().Interface()] = true
		if v.Kind() != reflect.Struct {
			p.bad[v.Addr().Interface()] = true
		}
	}
}

// checkKey reports a key that is not a plain string, a merge key or a
// duplicate, and returns whether the pair should be decoded.
func (p *parser) checkKey(k *yaml.Node, at place, seen map[string]int) bool {
	if k.Kind != yaml.ScalarNode {
		p.failf(k.Line, "%s: keys must be strings, not %s", at, kindName(k))
		return false
	}
	if k.Value == "<<" && k.Style&yaml.TaggedStyle == 0 && k.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) == 0 {
		p.failf(k.Line, "%s: merge keys (<<) are not supported; repeat the keys or use an anchor for the whole value", at)
		return false
	}
	if first, dup := seen[k.Value]; dup {
		p.failf(k.Line, "duplicate key %q%s (first at line %d)", at.key(k.Value).path, at.in(), first)
		return false
	}
	seen[k.Value] = k.Line
	return true
}

// decodeStruct decodes mapping n into struct v. Keys the struct lacks are
// appended to *rest when rest is not nil, else reported as unknown, with a
// suggestion drawn from the struct's keys and also.
func (p *parser) decodeStruct(n *yaml.Node, v reflect.Value, at place, rest *[]*yaml.Node, also []string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		p.failf(n.Line, "%s: want a mapping of keys, not %s", at, kindName(n))
		return
	}
	fields := structFields(v.Type())
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolveAlias(n.Content[i]), n.Content[i+1]
		if !p.checkKey(k, at, seen) {
			continue
		}
		f, ok := fields.byKey[k.Value]
		if !ok {
			if rest != nil {
				*rest = append(*rest, k, val)
				continue
			}
			p.unknownKey(k, at, append(fields.keys[:len(fields.keys):len(fields.keys)], also...))
			continue
		}
		if isNull(resolveAlias(val)) {
			// A key written with no value (a template value rendered
			// empty) is a key not written: it gets its default. A
			// blank server.listen turned the server off without a word,
			// and a blank rotate_wait was 0 (ops18 F2).
			continue
		}
		fv := fieldByIndex(v, f)
		p.lines[fv.Addr().Interface()] = k.Line
		p.decodeField(val, fv, at.key(k.Value))
	}
}

func (p *parser) unknownKey(k *yaml.Node, at place, candidates []string) {
	full := at.key(k.Value).path
	msg := fmt.Sprintf("unknown key %q%s", full, at.in())
	if s := suggest(k.Value, candidates); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", at.key(s).path)
	}
	p.failf(k.Line, "%s", msg)
}

// valueError reports a scalar that would not decode into t.
func (p *parser) valueError(n *yaml.Node, at place, t reflect.Type, err error) {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		p.failf(n.Line, "%s: want %s, not %s", at, describe(t), kindName(n))
		return
	}
	_, msg := splitLine(strings.TrimPrefix(err.Error(), "yaml: "))
	p.failf(n.Line, "%s: %s", at, msg)
}

// structInfo lists a struct type's YAML keys, inline structs included.
type structInfo struct {
	keys  []string         // in declaration order
	byKey map[string][]int // field index path
}

func structFields(t reflect.Type) structInfo {
	info := structInfo{byKey: make(map[string][]int)}
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if f.PkgPath != "" && !f.Anonymous {
				continue
			}
			tag := f.Tag.Get("yaml")
			name, opts, _ := strings.Cut(tag, ",")
			if name == "-" {
				continue
			}
			index := append(prefix[:len(prefix):len(prefix)], i)
			if strings.Contains(","+opts+",", ",inline,") {
				ft := f.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() == reflect.Struct {
					walk(ft, index)
					continue
				}
			}
			if f.PkgPath != "" {
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			if _, dup := info.byKey[name]; !dup {
				info.keys = append(info.keys, name)
			}
			info.byKey[name] = index
		}
	}
	walk(t, nil)
	return info
}

// fieldByIndex is reflect.Value.FieldByIndex, allocating nil embedded
// pointers on the way.
func fieldByIndex(v reflect.Value, index []int) reflect.Value {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v
}

// wholeNumber reports whether a YAML float is a whole number ("2.0").
func wholeNumber(s string) bool {
	f, err := strconv.ParseFloat(s, 64)
	return err == nil && f == math.Trunc(f)
}

func isIntKind(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

func isScalarKind(k reflect.Kind) bool {
	switch k {
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// describe says in words what a YAML value for t looks like.
func describe(t reflect.Type) string {
	if t == durationType {
		return `a duration such as "250ms", "5s" or "1m"`
	}
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		if t.Name() == "ByteSize" {
			return `a size such as "512", "64KiB" or "1GiB"`
		}
		return "a string"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a string"
		}
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	case reflect.Pointer:
		return describe(t.Elem())
	}
	return t.String()
}

// kindName describes a node for messages: the scalar itself, quoted, or
// its shape.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) != 0 && n.ShortTag() == "!!str" {
			return fmt.Sprintf("the string %q", n.Value)
		}
		return strconv.Quote(n.Value)
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	return "nothing"
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// resolveAlias follows aliases to the anchored node.
func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// reflectValue returns the addressable value ptr points at.
func reflectValue(ptr any) reflect.Value { return reflect.ValueOf(ptr).Elem() }

// suggest returns the candidate closest to key when it is close enough to
// be a typo, else "".
func suggest(key string, candidates []string) string {
	norm := func(s string) string {
		return strings.NewReplacer("_", "", "-", "", ".", "").Replace(strings.ToLower(s))
	}
	// A plural for a singular or back ("retries" for "retry"): too far
	// apart by letters for a suggestion (config21 C1).
	stem := func(s string) string {
		if t, ok := strings.CutSuffix(s, "ies"); ok {
			return t + "y"
		}
		return strings.TrimSuffix(s, "s")
	}
	best, bestD := "", -1
	for _, c := range candidates {
		if norm(c) == norm(key) || stem(norm(c)) == stem(norm(key)) {
			return c
		}
		d := levenshtein(key, c)
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if bestD >= 0 && bestD < len(key) && (bestD <= 2 || bestD*3 <= max(len(key), len(best))) {
		return best
	}
	return ""
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
