package config

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// expandEnv replaces ${VAR} and ${VAR:-default} in every scalar value of
// the tree (never in keys), after parsing: a variable's value is never YAML,
// so a secret holding "a: b" or "]" cannot change the document's shape.
//
//	${VAR}           the variable's value; an error names VAR when it is unset
//	${VAR:-default}  the value, or default when VAR is unset or empty; the
//	                 default is expanded too (${A:-${B:-x}}, $$)
//	$$               a literal $
//	$ followed by anything else is kept as it is ("^a$", "$1")
//
// A plain (unquoted, untagged) scalar that changed is re-typed from its new
// text, so "max_open_files: ${N}" is an integer when N is "64"; a value that
// would read as null stays the string it is. Quoted scalars stay strings.
func (p *parser) expandEnv(root *yaml.Node) {
	seen := make(map[*yaml.Node]bool)
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		if n == nil || seen[n] {
			return
		}
		seen[n] = true
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, path+"["+strconv.Itoa(i)+"]")
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				key := n.Content[i].Value
				if path != "" {
					key = path + "." + key
				}
				if strings.Contains(n.Content[i].Value, "${") {
					// Kept as it is, a "${K}" key shipped a field named
					// so without a word (ops15 F8).
					p.errorf(n.Content[i].Line, "%s: variables are expanded in values only, not in keys", key)
				}
				walk(n.Content[i+1], key)
			}
		case yaml.AliasNode:
			walk(n.Alias, path)
		case yaml.ScalarNode:
			p.expandScalar(n, path)
		}
	}
	walk(root, "")
}

func (p *parser) expandScalar(n *yaml.Node, path string) {
	if !strings.Contains(n.Value, "$") {
		return
	}
	out, problems := expand(n.Value, p.lookupEnv)
	for _, msg := range problems {
		p.errorf(n.Line, "%s: %s", path, msg)
		p.badNodes[n] = true
	}
	if out == n.Value {
		return
	}
	n.Value = out
	const notPlain = yaml.TaggedStyle | yaml.SingleQuotedStyle | yaml.DoubleQuotedStyle | yaml.LiteralStyle | yaml.FoldedStyle
	if n.Style&notPlain == 0 {
		n.Tag = ""
		if tag := n.ShortTag(); tag == "!!null" || tag == "!!merge" {
			n.Tag = "!!str"
		} else {
			n.Tag = tag
		}
	}
}

// expand expands s as expandEnv describes, returning the problems found.
func expand(s string, lookup func(string) (string, bool)) (string, []string) {
	return expandAt(s, lookup, 0)
}

// maxDefaultDepth bounds defaults nested in defaults (${A:-${B:-…}}): each
// level scans the rest of the string, and 80,000 levels took 46 s to read
// (ops18 F4).
const maxDefaultDepth = 16

func expandAt(s string, lookup func(string) (string, bool), depth int) (string, []string) {
	var b strings.Builder
	var problems []string
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' {
			b.WriteByte(c)
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == '$' {
			b.WriteByte('$')
			i += 2
			continue
		}
		if i+1 >= len(s) || s[i+1] != '{' {
			b.WriteByte('$')
			i++
			continue
		}
		end := closingBrace(s[i+2:])
		if end < 0 {
			problems = append(problems, fmt.Sprintf("unterminated %q: close it with } or write $$ for a literal $", s[i:]))
			b.WriteString(s[i:])
			break
		}
		ref := s[i+2 : i+2+end]
		i += 2 + end + 1
		name, def, hasDef := strings.Cut(ref, ":-")
		if !validEnvName(name) {
			problems = append(problems, fmt.Sprintf("invalid variable reference \"${%s}\": want ${NAME} or ${NAME:-default} (write $${ for a literal ${)", ref))
			continue
		}
		v, ok := lookup(name)
		switch {
		case ok && (v != "" || !hasDef):
			b.WriteString(v)
		case hasDef:
			// A default is expanded too: ${A:-${B}}, $$ for a $.
			if depth >= maxDefaultDepth {
				problems = append(problems, fmt.Sprintf("defaults nest more than %d deep in \"${%s:-…}\"", maxDefaultDepth, name))
				return b.String(), problems
			}
			d, more := expandAt(def, lookup, depth+1)
			problems = append(problems, more...)
			b.WriteString(d)
		default:
			hint := fmt.Sprintf("write ${%s:-default} to give a default", name)
			if strings.ToLower(name) == name {
				// Lower case: most likely nginx's ${var} in a log_format.
				hint = fmt.Sprintf("for nginx's ${%s} in a log_format write $${%s}; or ${%s:-default} to give a default", name, name, name)
			}
			problems = append(problems, fmt.Sprintf("environment variable %s is not set (%s)", name, hint))
		}
	}
	return b.String(), problems
}

// closingBrace returns the index in s of the } that closes a ${ opened
// just before s, past any ${…} nested in a default and any $$; -1 if none.
func closingBrace(s string) int {
	depth := 1
	for j := 0; j < len(s); j++ {
		switch {
		case s[j] == '$' && j+1 < len(s) && s[j+1] == '$':
			j++
		case s[j] == '$' && j+1 < len(s) && s[j+1] == '{':
			depth++
			j++
		case s[j] == '}':
			if depth--; depth == 0 {
				return j
			}
		}
	}
	return -1
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
