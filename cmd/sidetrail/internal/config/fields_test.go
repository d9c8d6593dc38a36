package config

import (
	"errors"
	"strings"
	"testing"
)

// Static fields are nested by their dots in the record JSON, with the
// parsed fields: two names where one is the other's dotted prefix ("a" and
// "a.b") would write the key "a" twice, which Elasticsearch rejects.
func TestFieldPathConflicts(t *testing.T) {
	const sinks = "sinks: [{name: s, type: stdout}]\n"
	for _, tc := range []struct {
		name string
		yml  string
		want []string
	}{{
		name: "a value and a field below it, on one line",
		yml: `sources:
  - name: a
    paths: [/a]
    fields: {a: x, "a.b": y}
` + sinks,
		want: []string{
			`c.yaml:4: source "a": fields: "a.b" is below "a" (line 4): one name cannot hold a value and nested fields`,
		},
	}, {
		name: "three levels",
		yml: `sources:
  - name: a
    paths: [/a]
    fields:
      a.b: x
      a.b.c: y
      a: z
      ab: 1
      a.bc: 2
      a_b.c: 3
` + sinks,
		want: []string{
			`c.yaml:5: source "a": fields: "a.b" is below "a" (line 7): one name cannot hold a value and nested fields`,
			`c.yaml:6: source "a": fields: "a.b.c" is below "a" (line 7): one name cannot hold a value and nested fields`,
			`c.yaml:6: source "a": fields: "a.b.c" is below "a.b" (line 5): one name cannot hold a value and nested fields`,
			`c.yaml:9: source "a": fields: "a.bc" is below "a" (line 7): one name cannot hold a value and nested fields`,
		},
	}, {
		name: "nginx: the fields of the log format",
		yml: `sources:
  - name: web
    paths: [/a]
    format: nginx
    fields:
      request.x: y
      status: "200"
      request_method.a: b
      http_user_agent: x
      env: prod
      request_id: r
      requestx: 1
      time_local: t
` + sinks,
		want: []string{
			`c.yaml:6: source "web": fields: "request.x" is below "request", a field of the log format: one name cannot hold a value and nested fields`,
			`c.yaml:7: source "web": fields: "status" is a field of the log format: the parsed field would replace it`,
			`c.yaml:8: source "web": fields: "request_method.a" is below "request_method", a field of the log format: one name cannot hold a value and nested fields`,
			`c.yaml:9: source "web": fields: "http_user_agent" is a field of the log format: the parsed field would replace it`,
			`c.yaml:13: source "web": fields: "time_local" is the log format's event time: a line whose time does not parse keeps it as a field, which would replace this one`,
		},
	}, {
		name: "nginx: a log_format with renamed variables",
		yml: `sources:
  - name: web
    paths: [/a]
    format: nginx
    log_format: '$remote_addr "$request_uri" $message'
    fields:
      nginx: x
      request_path.x: y
      request: whole
      remote_addr_x: z
` + sinks,
		want: []string{
			`c.yaml:7: source "web": fields: "nginx" is above "nginx.message", a field of the log format: one name cannot hold a value and nested fields`,
			`c.yaml:8: source "web": fields: "request_path.x" is below "request_path", a field of the log format: one name cannot hold a value and nested fields`,
		},
	}, {
		name: "nginx_error",
		yml: `sources:
  - name: err
    paths: [/a]
    format: nginx_error
    fields: {level: x, client.ip: y, request_path: z, cluster: w}
` + sinks,
		want: []string{
			`c.yaml:5: source "err": fields: "client.ip" is below "client", a field of the log format: one name cannot hold a value and nested fields`,
			`c.yaml:5: source "err": fields: "level" is a field of the log format: the parsed field would replace it`,
			`c.yaml:5: source "err": fields: "request_path" is a field of the log format: the parsed field would replace it`,
		},
	}, {
		name: "main",
		yml: `sources:
  - name: web
    paths: [/a]
    format: nginx
    log_format: main
    fields: {http_x_forwarded_for.a: b, request_protocol: x}
` + sinks,
		want: []string{
			`c.yaml:6: source "web": fields: "http_x_forwarded_for.a" is below "http_x_forwarded_for", a field of the log format: one name cannot hold a value and nested fields`,
			`c.yaml:6: source "web": fields: "request_protocol" is a field of the log format: the parsed field would replace it`,
		},
	}, {
		name: "a bad log_format is reported alone",
		yml: `sources:
  - name: web
    paths: [/a]
    format: nginx
    log_format: '$a $ b'
    fields: {a: x}
` + sinks,
		want: []string{
			`c.yaml:5: source "web": log_format column 4: '$' must be followed by a variable name`,
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tc.yml), env(nil))
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error %v, want *Errors", err)
			}
			var got []string
			for _, e := range *errs {
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("errors:\n got:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(tc.want, "\n\t"))
			}
		})
	}
}

// TestFieldPathsAccepted: fields that only look alike, and a JSON source's
// fields (its names are the lines'), are no error.
func TestFieldPathsAccepted(t *testing.T) {
	for _, yml := range []string{
		`sources:
  - name: a
    paths: [/a]
    format: json
    fields: {k8s.pod: p1, k8s.ns: shop, k8sx: 1, k8s_pod: 2, request.x: y, status: s}
sinks: [{name: s, type: stdout}]
`,
		`sources:
  - name: web
    paths: [/a]
    format: nginx
    fields: {env: prod, request_id: r, requestx.y: 1, k8s.pod: p1, k8s.ns: shop}
sinks: [{name: s, type: stdout}]
`,
	} {
		mustParse(t, yml, nil)
	}
}
