package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/buffer"
	"github.com/sidetrail/sidetrail/cmd/sidetrail/internal/config"
	"github.com/sidetrail/sidetrail/parser"
	"github.com/sidetrail/sidetrail/pipeline"
	"github.com/sidetrail/sidetrail/redact"
	"github.com/sidetrail/sidetrail/sinks/elasticsearch"
	"github.com/sidetrail/sidetrail/sinks/loki"
	"github.com/sidetrail/sidetrail/sinks/stdout"
	"github.com/sidetrail/sidetrail/tailer"
)

// transforms builds each source's parser, the shared redaction rules and the
// static fields: everything `validate` must check beyond the YAML and `run`
// needs before opening any file. Errors carry file:line.
func transforms(cfg *config.Config) (map[string]*pipeline.Transform, *redact.Redactor, error) {
	var errs config.Errors
	red, err := redact.New(cfg.Redact, redact.Options{})
	if err != nil {
		line := 0
		if len(cfg.RedactLines) > 0 {
			line = cfg.RedactLines[0]
		}
		errs = append(errs, config.Error{File: cfg.File, Line: line, Msg: "redact: " + err.Error()})
	}
	for _, sk := range cfg.Sinks {
		if strings.HasPrefix(sk.Name, "_") {
			errs = append(errs, config.Error{File: cfg.File, Line: sk.Line, Msg: fmt.Sprintf("sink %q: names starting with _ are reserved", sk.Name)})
		}
	}
	out := make(map[string]*pipeline.Transform, len(cfg.Sources))
	for _, src := range cfg.Sources {
		p, err := parser.New(parser.Config{
			Format: src.Format, LogFormat: src.LogFormat, TimeKey: src.TimeKey,
			TimeFormat: src.TimeFormat, Timezone: src.Timezone,
		})
		if err != nil {
			errs = append(errs, config.Error{File: cfg.File, Line: src.Line, Msg: fmt.Sprintf("source %q: %v", src.Name, err)})
			continue
		}
		t := &pipeline.Transform{Source: src.Name, Parser: p, Fields: staticFields(src.Fields)}
		if red != nil && len(cfg.Redact) > 0 {
			// A Redactor belongs to one goroutine; clones share the
			// compiled rules and add up their counts.
			t.Redactor = red.Clone()
		}
		out[src.Name] = t
	}
	if len(errs) > 0 {
		return nil, nil, errs
	}
	return out, red, nil
}

// sourceWorkers returns the Transforms a source's extra worker goroutines
// use, each with its own parser and redactor clone (see Source.Workers).
func sourceWorkers(src *config.Source, t *pipeline.Transform, red *redact.Redactor, hasRules bool) ([]*pipeline.Transform, error) {
	var ws []*pipeline.Transform
	for range src.Workers - 1 {
		p, err := parser.New(parser.Config{
			Format: src.Format, LogFormat: src.LogFormat, TimeKey: src.TimeKey,
			TimeFormat: src.TimeFormat, Timezone: src.Timezone,
		})
		if err != nil {
			return nil, fmt.Errorf("source %q: %w", src.Name, err)
		}
		w := &pipeline.Transform{Source: t.Source, Parser: p, Fields: t.Fields}
		if hasRules {
			w.Redactor = red.Clone()
		}
		ws = append(ws, w)
	}
	return ws, nil
}

// staticFields turns a source's fields map into record fields in a stable
// (sorted) order.
func staticFields(m map[string]string) []sidetrail.Field {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fields := make([]sidetrail.Field, 0, len(keys))
	for _, k := range keys {
		fields = append(fields, sidetrail.Field{Key: k, Kind: sidetrail.KindString, Value: []byte(m[k])})
	}
	return fields
}

func tailerOptions(cfg *config.Config, src config.Source, logger *slog.Logger) tailer.Options {
	start := tailer.Beginning
	if src.StartAt == "end" {
		start = tailer.End
	}
	return tailer.Options{
		Source:           src.Name,
		Paths:            src.Paths,
		Exclude:          src.Exclude,
		StartAt:          start,
		MaxLineBytes:     int(src.MaxLineBytes),
		ScanInterval:     src.ScanInterval,
		Poll:             src.Poll,
		RotateWait:       src.RotateWait,
		MaxOpenFiles:     src.MaxOpenFiles,
		FingerprintBytes: src.FingerprintBytes,
		CheckpointPath:   filepath.Join(cfg.DataDir, "checkpoints", src.Name+".json"),
		Logger:           logger.With("source", src.Name),
	}
}

func bufferOptions(cfg *config.Config, logger *slog.Logger, seen *buffer.DamageSeen) buffer.Options {
	o := buffer.Options{
		MaxBytes:      int64(cfg.Buffer.MaxBytes),
		SegmentBytes:  int64(cfg.Buffer.SegmentBytes),
		FsyncInterval: cfg.Buffer.FsyncInterval,
		Logger:        logger.With("component", "buffer"),
		Seen:          seen,
	}
	if cfg.Buffer.WhenFull == config.WhenFullDropOldest {
		o.WhenFull = buffer.DropOldest
	}
	switch cfg.Buffer.Fsync {
	case config.FsyncAlways:
		o.Fsync = buffer.FsyncAlways
	case config.FsyncInterval:
		o.Fsync = buffer.FsyncInterval
	default:
		o.Fsync = buffer.FsyncBatch
	}
	for _, s := range cfg.Sinks {
		o.Cursors = append(o.Cursors, s.Name)
	}
	for _, s := range cfg.Sources {
		o.Cursors = append(o.Cursors, sourceCursor(s.Name))
	}
	return o
}

// sourceCursor names the buffer cursor a source acknowledges after each
// checkpoint (see pipeline.SourceOptions.Cursor). Sink names cannot start
// with "_", so the names never meet.
func sourceCursor(source string) string {
	return "_source." + source
}

// newSink builds the sink a configuration names.
func newSink(s config.Sink, stdoutW io.Writer, logger *slog.Logger) (sidetrail.Sink, error) {
	logger = logger.With("sink", s.Name)
	switch s.Type {
	case config.SinkStdout:
		return stdout.New(stdoutW), nil
	case config.SinkElasticsearch:
		return elasticsearch.New(*s.Elasticsearch, elasticsearch.Options{Logger: logger})
	case config.SinkLoki:
		return loki.New(*s.Loki, loki.Options{Logger: logger})
	}
	return nil, errors.New("unknown sink type " + s.Type)
}
