package config

import (
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"

	logparser "github.com/sidetrail/sidetrail/parser"
	"github.com/sidetrail/sidetrail/redact"
	"github.com/sidetrail/sidetrail/sinks/elasticsearch"
	"github.com/sidetrail/sidetrail/sinks/loki"
)

// This file is the seam to the packages whose configuration types live
// with their code: the parser's Config, the sinks' Config types and
// redact.Rule. Adding a sink type means a case in decodeSink, one in
// validateSinkConfig, one in sinkConfigTypes and a field in Sink.

// sinkTypes lists the valid Sink.Type values, for messages and tests.
var sinkTypes = []string{SinkStdout, SinkElasticsearch, SinkLoki}

// sinkConfigTypes maps each sink type to its own Config type, for the
// documentation test.
func sinkConfigTypes() map[string]reflect.Type {
	return map[string]reflect.Type{
		SinkStdout:        reflect.TypeFor[StdoutConfig](),
		SinkElasticsearch: reflect.TypeFor[elasticsearch.Config](),
		SinkLoki:          reflect.TypeFor[loki.Config](),
	}
}

// decodeSink decodes a sink item: the common keys into s, the rest,
// strictly, into the Config of the type s.Type names.
func (p *parser) decodeSink(n *yaml.Node, s *Sink, at place) {
	var rest []*yaml.Node
	p.decodeStruct(n, reflectValue(s), at, &rest, nil)
	if n.Kind != yaml.MappingNode {
		return
	}
	own := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column, Content: rest}
	common := structFields(sinkType).keys
	switch s.Type {
	case SinkStdout:
		s.Stdout = new(StdoutConfig)
		p.decodeStruct(own, reflectValue(s.Stdout), at, nil, common)
	case SinkElasticsearch:
		s.Elasticsearch = new(elasticsearch.Config)
		p.decodeStruct(own, reflectValue(s.Elasticsearch), at, nil, common)
	case SinkLoki:
		s.Loki = new(loki.Config)
		p.decodeStruct(own, reflectValue(s.Loki), at, nil, common)
	default:
		// validate reports the missing or unknown type; the other keys
		// cannot be checked without one.
	}
}

// validateSinkConfig runs the type's own Validate, which reports every
// problem joined, each message starting with the key it is about; each
// becomes one Error on that key's line (the sink's line when the key is
// absent or not recognised).
func (p *parser) validateSinkConfig(s *Sink, at string) {
	var err error
	var own reflect.Value
	switch {
	case s.Elasticsearch != nil:
		err, own = s.Elasticsearch.Validate(), reflectValue(s.Elasticsearch)
	case s.Loki != nil:
		err, own = s.Loki.Validate(), reflectValue(s.Loki)
	}
	for _, msg := range splitJoined(err) {
		line := s.Line
		if l, ok := p.keyLine(own, leadingKey(msg)); ok {
			line = l
		}
		p.errorf(line, "%s: %s", at, msg)
	}
}

// leadingKey returns the YAML key a message starts with: "tls.ca_file" of
// "tls.ca_file: no such file", "urls" of "urls[0]: ...".
func leadingKey(msg string) string {
	i := strings.IndexFunc(msg, func(r rune) bool {
		return !(r == '_' || r == '.' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9')
	})
	if i < 0 {
		return msg
	}
	return msg[:i]
}

// keyLine returns the line of the dotted key inside the struct v, if the
// file set it; -1 when its value already had a decoding error.
func (p *parser) keyLine(v reflect.Value, key string) (int, bool) {
	if !v.IsValid() || key == "" {
		return 0, false
	}
	line, found := 0, false
	for _, k := range strings.Split(key, ".") {
		if v.Kind() != reflect.Struct {
			return line, found
		}
		idx, ok := structFields(v.Type()).byKey[k]
		if !ok {
			return line, found
		}
		v = fieldByIndex(v, idx)
		if p.bad[v.Addr().Interface()] {
			return -1, true // reported while decoding; errorf drops it
		}
		if l, ok := p.lines[v.Addr().Interface()]; ok {
			line, found = l, true
		} else {
			return line, found
		}
	}
	return line, found
}

// validateRedact checks the rules as run would build them, with redact.New.
// redact.New stops at the first problem, so each rule is first built on its
// own (every rule's problem is reported, on that rule's line), then, if all
// pass, the whole list (names and fields used twice).
func (p *parser) validateRedact(cfg *Config) {
	opts := redact.Options{LookupEnv: p.lookupEnv}
	ok := true
	for i := range cfg.Redact {
		if p.dirty[&cfg.Redact[i]] { // already reported; don't cascade
			ok = false
			continue
		}
		if _, err := redact.New(cfg.Redact[i:i+1], opts); err != nil {
			ok = false
			msg := oneLine(err)
			if rest, found := strings.CutPrefix(msg, "rule 1"); found {
				msg = fmt.Sprintf("rule %d%s", i+1, rest)
			}
			p.errorf(p.line(&cfg.Redact[i], &cfg.Redact, cfg), "redact %s", msg)
		}
	}
	if !ok || len(cfg.Redact) < 2 {
		return
	}
	if _, err := redact.New(cfg.Redact, opts); err != nil {
		msg := oneLine(err)
		line := p.line(&cfg.Redact, cfg)
		var n int
		if _, serr := fmt.Sscanf(msg, "rule %d", &n); serr == nil && n >= 1 && n <= len(cfg.Redact) {
			line = p.line(&cfg.Redact[n-1], &cfg.Redact, cfg)
		}
		p.errorf(line, "redact %s", msg)
	}
}

// splitJoined splits an errors.Join error into its messages.
func splitJoined(err error) []string {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var msgs []string
		for _, e := range j.Unwrap() {
			msgs = append(msgs, splitJoined(e)...)
		}
		return msgs
	}
	var msgs []string
	for _, line := range strings.Split(err.Error(), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			msgs = append(msgs, line)
		}
	}
	return msgs
}

// checkParser builds the source's parser as run would, so a bad
// log_format, time_format or timezone is caught by validate.
func checkParser(s *Source) error {
	_, err := logparser.New(logparser.Config{Format: s.Format, LogFormat: s.LogFormat,
		TimeKey: s.TimeKey, TimeFormat: s.TimeFormat, Timezone: s.Timezone})
	return err
}
