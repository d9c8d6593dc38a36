package config

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// yamlKeys returns every YAML key reachable from t, each with its dotted
// path (for messages), through structs, pointers, slices and maps.
func yamlKeys(t reflect.Type, prefix string, out map[string]string) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return
	}
	info := structFields(t)
	for _, k := range info.keys {
		path := k
		if prefix != "" {
			path = prefix + "." + k
		}
		out[path] = k
		f := t.FieldByIndex(info.byKey[k])
		yamlKeys(f.Type, path, out)
	}
}

// TestEveryKeyDocumented: every key of the schema, the sink types' own keys
// and redact.Rule's included, appears in the configuration reference of the
// module's README.md (as `key` or key:).
func TestEveryKeyDocumented(t *testing.T) {
	readme := filepath.Join("..", "..", "..", "..", "README.md")
	data, err := os.ReadFile(readme)
	if os.IsNotExist(err) {
		t.Skip("!!! README.md does not exist yet: the configuration reference is NOT checked !!!")
	}
	if err != nil {
		t.Fatal(err)
	}
	ref := configReference(string(data))
	if ref == "" {
		t.Fatalf("%s has no configuration reference (a heading containing \"Configuration\")", readme)
	}
	keys := make(map[string]string)
	yamlKeys(reflect.TypeFor[Config](), "", keys)
	for typ, rt := range sinkConfigTypes() {
		yamlKeys(rt, "sinks[type="+typ+"]", keys)
	}
	documented := documentedKeys(ref)
	var missing []string
	for path, k := range keys {
		if !documented[k] {
			missing = append(missing, path)
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("key %s is not in the configuration reference of %s", m, readme)
	}
}

// documentedKeys returns the names a configuration reference mentions as
// keys: every dotted component of a code span ("`tls.ca_file`" gives tls
// and ca_file; "`sinks[]`" gives sinks) and every "key:" in a YAML block.
func documentedKeys(ref string) map[string]bool {
	keys := make(map[string]bool)
	word := regexp.MustCompile(`[A-Za-z_@][A-Za-z0-9_]*`)
	for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(ref, -1) {
		for _, w := range word.FindAllString(m[1], -1) {
			keys[w] = true
		}
	}
	for _, m := range regexp.MustCompile(`(?m)^[\s-]*([A-Za-z_][A-Za-z0-9_]*):`).FindAllStringSubmatch(ref, -1) {
		keys[m[1]] = true
	}
	return keys
}

// configReference returns the section of a Markdown document under the
// first heading that mentions configuration, up to the next heading of the
// same or a higher level.
func configReference(md string) string {
	lines := strings.Split(md, "\n")
	start, level := -1, 0
	inFence := false
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			inFence = !inFence
		}
		if inFence || !strings.HasPrefix(l, "#") {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, "#"))
		if start < 0 {
			if strings.Contains(strings.ToLower(l), "configuration") {
				start, level = i, n
			}
			continue
		}
		if n <= level {
			return strings.Join(lines[start:i], "\n")
		}
	}
	if start < 0 {
		return ""
	}
	return strings.Join(lines[start:], "\n")
}

func TestConfigReference(t *testing.T) {
	md := "# sidetrail\nintro data_dir:\n## Configuration reference\n```yaml\n# not a heading\ndata_dir: x\n```\n### Sources\n`paths`\n## Metrics\nmetrics:\n"
	got := configReference(md)
	if !strings.Contains(got, "data_dir: x") || !strings.Contains(got, "`paths`") || strings.Contains(got, "metrics:") {
		t.Errorf("configReference = %q", got)
	}
	doc := documentedKeys("| `tls.ca_file`, `x` | `sinks[]` |\n```yaml\n  - max_wait: 1s\n```\nnot_a_key: prose")
	for _, want := range []string{"tls", "ca_file", "x", "sinks", "max_wait"} {
		if !doc[want] {
			t.Errorf("documentedKeys lacks %s: %v", want, doc)
		}
	}
	keys := make(map[string]string)
	yamlKeys(reflect.TypeFor[Config](), "", keys)
	for _, want := range []string{"data_dir", "sources.paths", "sinks.batch.max_wait", "redact.key_env", "server.listen"} {
		if _, ok := keys[want]; !ok {
			t.Errorf("yamlKeys lacks %s", want)
		}
	}
	for _, notKey := range []string{"file", "line", "sinks.line", "sinks.stdout", "redact_lines"} {
		if _, ok := keys[notKey]; ok {
			t.Errorf("yamlKeys has %s, which is not a YAML key", notKey)
		}
	}
}
