package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"syscall"

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
// needs before opening any file. Errors carry file:line. logger (nil: none)
// gets the redactor's warnings: a withheld message, a short hash key.
func transforms(cfg *config.Config, logger *slog.Logger) (map[string]*pipeline.Transform, *redact.Redactor, error) {
	var errs config.Errors
	red, err := redact.New(cfg.Redact, redact.Options{Logger: logger})
	if err != nil {
		line := 0
		if len(cfg.RedactLines) > 0 {
			line = cfg.RedactLines[0]
		}
		errs = append(errs, config.Error{File: cfg.File, Line: line, Msg: "redact: " + err.Error()})
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
		w, err := transformLike(src, t, red, hasRules)
		if err != nil {
			return nil, err
		}
		ws = append(ws, w)
	}
	return ws, nil
}

// transformLike makes another transform that does what t does, with a
// parser and a redactor of its own, for another goroutine.
func transformLike(src *config.Source, t *pipeline.Transform, red *redact.Redactor, hasRules bool) (*pipeline.Transform, error) {
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
	return w, nil
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
		CheckpointPath:   checkpointPath(cfg, src.Name),
		Logger:           logger.With("source", src.Name),
		OwnDirs:          []string{realDir(cfg.DataDir)},
		OwnFiles:         ownFiles(),
	}
}

// realDir returns dir absolute, its symlinks resolved where it exists.
func realDir(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		return real
	}
	return dir
}

// ownFiles returns the process's stdout and stderr where they are files
// (`sidetrail run > out.log`), which a source must never read.
func ownFiles() []fs.FileInfo {
	var out []fs.FileInfo
	for _, f := range []*os.File{os.Stdout, os.Stderr} {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			out = append(out, fi)
		}
	}
	return out
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
	if v := volumeBytes(cfg.DataDir); v > 0 {
		fitToVolume(&o, v, logger)
	}
	for _, s := range cfg.Sinks {
		o.Cursors = append(o.Cursors, s.Name)
	}
	for _, s := range cfg.Sources {
		o.Cursors = append(o.Cursors, sourceCursor(s.Name))
		o.Positions = append(o.Positions, sourceCursor(s.Name))
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

// fdReserve is how many descriptors the agent keeps for itself beside the
// tailed files: buffer segments, cursors, checkpoints, dead-letter files,
// inotify, connections to backends and scrapers.
const fdReserve = 128

// openFilesBudget returns each source's max_open_files, lowered when
// together they would leave fewer than fdReserve descriptors under the
// process's limit (ulimit -n; Go raises the soft limit to the hard one at
// start). At the limit nothing works: the scale probe's agent (ulimit -n
// 256, 500 files) could not write a cursor, a checkpoint or answer
// /metrics. Files beyond a source's budget wait, counted in
// sidetrail_source_files_at_risk.
func openFilesBudget(sources []config.Source, limit uint64, logger *slog.Logger) map[string]int {
	out := make(map[string]int, len(sources))
	sum := 0
	for _, s := range sources {
		out[s.Name] = s.MaxOpenFiles
		sum += s.MaxOpenFiles
	}
	if limit == 0 || limit > uint64(sum)+fdReserve {
		return out
	}
	// Shared out smallest setting first: a setting under an even share of
	// what is left is kept whole, and the rest share the remainder.
	left := max(int(limit)-fdReserve, len(sources))
	order := slices.Clone(sources)
	slices.SortStableFunc(order, func(a, b config.Source) int { return cmp.Compare(a.MaxOpenFiles, b.MaxOpenFiles) })
	for i, s := range order {
		n := max(1, min(s.MaxOpenFiles, left/(len(order)-i)))
		out[s.Name] = n
		left -= n
	}
	logger.Warn("max_open_files lowered to fit the process's descriptor limit; raise it (ulimit -n) to tail more files at once",
		"limit", limit, "reserved", fdReserve, "max_open_files", sum, "now", out)
	return out
}

// nofileLimit is the process's descriptor limit, 0 if unknown.
func nofileLimit() uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	return lim.Cur
}

// volumeBytes is the size of the file system holding dir, 0 if unknown.
func volumeBytes(dir string) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0
	}
	return int64(st.Blocks) * st.Bsize
}

// fitToVolume lowers the buffer's segment size to a quarter of the data
// volume, and warns when max_bytes exceeds it. A segment the volume cannot
// hold is never closed, so never deleted, even with every record in it
// delivered: with 16 MiB segments on an 8 MiB volume the buffer filled it
// and shipping stopped for good, with /readyz ok (crash9 probe).
func fitToVolume(o *buffer.Options, volume int64, logger *slog.Logger) {
	const minSegment = 64 << 10
	if seg := max(volume/4, minSegment); o.SegmentBytes > seg {
		logger.Warn("buffer.segment_bytes lowered to a quarter of the data volume (at least 64KiB): a segment the volume cannot hold is never closed and deleted",
			"segment_bytes", sidetrail.ByteSize(o.SegmentBytes), "volume", sidetrail.ByteSize(volume), "now", sidetrail.ByteSize(seg))
		o.SegmentBytes = seg
	}
	if o.MaxBytes > volume {
		logger.Warn("buffer.max_bytes exceeds the data volume: when the volume fills, appends fail and reading pauses until sinks catch up; lower it",
			"max_bytes", sidetrail.ByteSize(o.MaxBytes), "volume", sidetrail.ByteSize(volume))
	}
}

// checkpointPath is where the named source's tailer keeps its checkpoint.
func checkpointPath(cfg *config.Config, source string) string {
	return filepath.Join(cfg.DataDir, "checkpoints", source+".json")
}
