package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/buffer"
	"github.com/sidetrail/sidetrail/cmd/sidetrail/internal/config"
	"github.com/sidetrail/sidetrail/examples"
	"github.com/sidetrail/sidetrail/internal/server"
	"github.com/sidetrail/sidetrail/tailer"
)

const embeddedName = "embedded:examples/local.yaml"

// loadConfig loads path, or the embedded example when path is "".
func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return config.Parse(embeddedName, examples.Local, os.LookupEnv)
	}
	return config.Load(path, os.LookupEnv)
}

// printConfigErrors prints each of a config's errors on its own line.
func printConfigErrors(w io.Writer, err error) {
	var errs config.Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			fmt.Fprintln(w, e.Error())
		}
		return
	}
	fmt.Fprintln(w, err)
}

// loadChecked loads a configuration and builds its parsers and redaction
// rules, so that every error `run` would meet in them is found now.
func loadChecked(path string) (*config.Config, error) {
	cfg, err := loadConfig(path)
	if err != nil {
		return nil, err
	}
	if _, _, err := transforms(cfg, nil); err != nil {
		return nil, err
	}
	return cfg, nil
}

// configFlag defines -config on fs: a path given at most once. Given twice
// (a template's default and its override), the last one was used without a
// word (config21 C1).
func configFlag(fs *flag.FlagSet, usage string) *string {
	c := &configPath{}
	fs.Var(c, "config", usage)
	return &c.path
}

// configPath is -config's value.
type configPath struct {
	path string
	set  bool
}

func (c *configPath) String() string { return c.path }

func (c *configPath) Set(v string) error {
	if c.set {
		return fmt.Errorf("given twice (%q, then %q)", c.path, v)
	}
	c.path, c.set = v, true
	return nil
}

// parseFlags parses a command's flags. Arguments that are not flags are
// an error: `sidetrail validate FILE` must not check the embedded example
// and call FILE ok.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err // asked for: exit 0, as `sidetrail -h`
		}
		return exitError(2)
	}
	if fs.NArg() > 0 {
		arg := fs.Arg(0)
		fmt.Fprintf(fs.Output(), "sidetrail %s: unexpected argument %q", fs.Name(), arg)
		if fs.Lookup("config") != nil && arg != "" && arg[0] != '-' {
			if fs.Lookup("data-dir") != nil {
				fmt.Fprintf(fs.Output(), " (did you mean -config %s or -data-dir %s?)", arg, arg)
			} else {
				fmt.Fprintf(fs.Output(), " (did you mean -config %s?)", arg)
			}
		}
		fmt.Fprintln(fs.Output())
		return exitError(2)
	}
	// A -config given an empty value (a variable that expanded to
	// nothing) is no configuration, not the embedded example: run on the
	// demo, the agent shipped nothing of the real logs (config21 F2).
	empty := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "config" && f.Value.String() == "" {
			empty = true
		}
	})
	if empty {
		fmt.Fprintf(fs.Output(), "sidetrail %s: -config is empty (an unset variable?); leave it out for the embedded example\n", fs.Name())
		return exitError(2)
	}
	return nil
}

func cmdValidate(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := configFlag(fs, "configuration `file` to check (default: the embedded example)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if _, err := loadChecked(*path); err != nil {
		printConfigErrors(stderr, err)
		return exitError(1)
	}
	name := *path
	if name == "" {
		name = embeddedName
	}
	fmt.Fprintf(stdout, "%s: ok\n", name)
	return nil
}

func cmdParse(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("parse", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := configFlag(fs, "configuration `file` (default: the embedded example)")
	source := fs.String("source", "", "the source whose format and rules to apply (default: the first)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		printConfigErrors(stderr, err)
		return exitError(1)
	}
	trans, _, err := transforms(cfg, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		printConfigErrors(stderr, err)
		return exitError(1)
	}
	name := *source
	if name == "" {
		name = cfg.Sources[0].Name
	}
	t, ok := trans[name]
	if !ok {
		return fmt.Errorf("no source named %q in the configuration", name)
	}
	maxLine := int(config.DefaultMaxLineBytes)
	for _, src := range cfg.Sources {
		if src.Name == name && src.MaxLineBytes > 0 {
			maxLine = int(src.MaxLineBytes)
		}
	}
	in := bufio.NewReaderSize(stdin, 1<<20)
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	var (
		rec    sidetrail.Record
		enc    sidetrail.JSONEncoder
		buf    []byte
		offset int64
	)
	for {
		line, err := in.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// Longer than 1 MiB: gather it whole; this is a debugging tool.
			whole := append([]byte(nil), line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = in.ReadSlice('\n')
				whole = append(whole, line...)
			}
			line = whole
		}
		if len(line) > 0 {
			body, nl := line, int64(0)
			if body[len(body)-1] == '\n' {
				body, nl = body[:len(body)-1], 1
				if n := len(body); n > 0 && body[n-1] == '\r' {
					body, nl = body[:n-1], 2 // "\r\n" ends a line, as in run
				}
			}
			// NULs before a line are skipped, as in run.
			n := tailer.LeadingNULs(body)
			body, offset = body[n:], offset+int64(n)
			// Cut as the tailer cuts a line longer than max_line_bytes:
			// the rules see each fragment on its own, as they will in run.
			frag := false
			for {
				piece, end := body, offset+int64(len(body))+nl
				if len(body) > maxLine {
					cut := tailer.FragmentCut(body, maxLine)
					piece, end, frag = body[:cut], offset+int64(cut), true
				}
				t.Apply(&rec, tailer.Line{Path: "-", Start: offset, End: end, Bytes: piece, Fragment: frag}, time.Now())
				offset = end
				buf = enc.Append(buf[:0], &rec)
				buf = append(buf, '\n')
				if _, werr := out.Write(buf); werr != nil {
					return werr
				}
				body = body[len(piece):]
				if len(body) == 0 {
					break
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func cmdBuffer(args []string, stdout, stderr io.Writer) error {
	const use = "usage: sidetrail buffer inspect {-data-dir DIR | -config FILE}"
	if len(args) == 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		fmt.Fprintln(stderr, use)
		return nil // help asked for: exit 0, as every command's -h (docs14 F4)
	}
	if len(args) == 0 || args[0] != "inspect" {
		fmt.Fprintln(stderr, use)
		return exitError(2)
	}
	fs := flag.NewFlagSet("buffer inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("data-dir", "", "the agent's data_dir")
	path := configFlag(fs, "the agent's configuration `file`: its data_dir, and its sinks and sources, listed even before their first acknowledgement")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *dir == "" && *path == "" {
		fmt.Fprintln(stderr, use)
		return exitError(2)
	}
	var cursors []string
	if *path != "" {
		cfg, err := loadConfig(*path)
		if err != nil {
			printConfigErrors(stderr, err)
			return exitError(1)
		}
		if *dir == "" {
			*dir = cfg.DataDir
		}
		for _, s := range cfg.Sinks {
			cursors = append(cursors, s.Name)
		}
		for _, s := range cfg.Sources {
			cursors = append(cursors, sourceCursor(s.Name))
		}
	}
	rep, err := buffer.Inspect(bufferDir(*dir), cursors...)
	if err != nil {
		return err
	}
	var positions []string
	for _, c := range rep.Cursors {
		if strings.HasPrefix(c.Name, sourceCursor("")) {
			positions = append(positions, c.Name)
		}
	}
	rep.SetPositions(positions...)
	return rep.WriteText(stdout)
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := configFlag(fs, "configuration `file` (default: the embedded example)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to this file until exit")
	memProfile := fs.String("memprofile", "", "write a heap profile to this file at exit")
	traceFile := fs.String("trace", "", "write a Go execution trace to this file until exit")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// First: a SIGTERM while the configuration loads ended the process
	// by the signal (exit 143: regress19 F-G), not as a stop.
	ctx, hup, stopSignals := signalContext(ctx)
	defer stopSignals()
	stopProfiles, err := startProfiles(*cpuProfile, *memProfile, *traceFile)
	if err != nil {
		return err
	}
	defer stopProfiles()
	cfg, err := loadChecked(*path)
	if err != nil {
		printConfigErrors(stderr, err)
		return exitError(1)
	}
	logger := newLogger(cfg.Log, stderr)
	if cfg.Log.Format == "json" {
		// The error that ends the agent is its last log line: in JSON
		// too, or a JSON log pipeline got a plain "sidetrail: …" line
		// (ops15 F7: a port taken, data_dir not writable).
		defer func() {
			var exit exitError
			if err != nil && !errors.As(err, &exit) {
				logger.Error("sidetrail stopped", "err", err.Error())
				err = exitError(1)
			}
		}()
	}
	unlock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer unlock()

	m := newMetrics(version)
	var srvDone chan error
	served := cfg.Server.Listen // a reload does not move the server
	if cfg.Server.Listen != "" {
		srv := server.New(server.Options{Listen: cfg.Server.Listen, Gatherer: m.registry, Ready: m.ready, Logger: logger})
		srvCtx, cancelSrv := context.WithCancel(context.Background())
		srvDone = make(chan error, 1)
		go func() { srvDone <- srv.Run(srvCtx) }()
		if srv.Addr(ctx) == nil {
			// Not listening (the port is taken): the probes and metrics
			// the deployment relies on would be someone else's, or none.
			cancelSrv()
			if err := <-srvDone; err != nil {
				return fmt.Errorf("server.listen %s: %w", cfg.Server.Listen, err)
			}
			return nil // ctx ended first
		}
		defer func() { cancelSrv(); <-srvDone }()
	} else {
		// Said, since a ${VAR} set but empty turns it off too, and the
		// probes then never answer (docs19 F2).
		logger.Warn("http server off (server.listen is empty): no /metrics, /healthz or /readyz")
	}
	var changes <-chan struct{}
	var watcher *configWatcher
	if *path != "" {
		w, err := watchConfig(*path, logger)
		if err != nil {
			// No inotify instance left, say: a poll still sees a
			// ConfigMap's update, within configPollEvery.
			logger.Warn("config file watch failed: changes are noticed by reading the file every 5 s; SIGHUP still reloads", "err", err)
			w, err = newConfigWatcher(*path, logger, false)
		}
		if err == nil {
			defer w.Close()
			changes, watcher = w.Changes(), w
		}
	}

	keep := newLasting()
	defer keep.handoff.CloseAll()
	g, err := startGeneration(cfg, stdout, logger, m.observeBatch, keep, failingSince{})
	if err != nil {
		return err
	}
	// When SIGTERM came, for a finish after a reload it interrupted.
	var termAt atomic.Int64
	defer context.AfterFunc(ctx, func() { termAt.CompareAndSwap(0, time.Now().UnixNano()) })()
	for {
		m.setGeneration(g)
		logger.Info("sidetrail running", "version", version, "config", configName(*path),
			"sources", len(cfg.Sources), "sinks", len(cfg.Sinks), "data_dir", cfg.DataDir)
	wait:
		select {
		case <-ctx.Done():
			logger.Info("shutting down: delivering what is buffered", "drain_timeout", cfg.DrainTimeout)
			err := g.stop(true, cfg.DrainTimeout, nil)
			m.endGeneration(g)
			if err != nil {
				return err
			}
			logger.Info("stopped")
			return nil
		case err := <-g.failed:
			logger.Error("pipeline failed", "err", err)
			_ = g.stop(false, cfg.DrainTimeout, ctx.Done())
			m.endGeneration(g)
			return err
		case <-hup:
		case <-changes:
		}
		if watcher != nil {
			watcher.Loaded(hashFile(*path)) // before reading it: a later change is seen
		}
		next, err := loadChecked(*path)
		if err != nil {
			m.reloaded(false)
			logger.Error("reload rejected; still running the previous configuration", "errors", err.Error())
			goto wait
		}
		if !sameDir(next.DataDir, cfg.DataDir) {
			m.reloaded(false)
			logger.Error("reload rejected: data_dir cannot change while running; a restart on another data_dir starts anew, without the old one's checkpoints and undelivered records", "data_dir", cfg.DataDir, "new_data_dir", next.DataDir)
			goto wait
		}
		next.DataDir = cfg.DataDir // the spelling the agent started with
		if next.Log != cfg.Log {
			// Not "level": slog's handlers write the record's level under
			// that key, and a JSON reader kept the second (ops15 F2).
			// Both values, as server.listen's warning gives them: only
			// the running ones were named (config21 C1).
			logger.Warn("log.level and log.format changes take effect at the next restart",
				"log.level", cfg.Log.Level, "log.format", cfg.Log.Format,
				"configured_log.level", next.Log.Level, "configured_log.format", next.Log.Format)
			next.Log = cfg.Log // what runs
		}
		if next.Server.Listen != served {
			logger.Warn("server.listen changes take effect at the next restart", "listen", served, "configured", next.Server.Listen)
		}
		logger.Info("reloading configuration")
		err = g.stop(false, cfg.DrainTimeout, ctx.Done())
		failing := g.failing() // after the drain, which may have delivered
		m.endGeneration(g)
		if errors.Is(err, errStuckSink) { // SIGTERM while a sink was stuck
			return err
		}
		if err != nil {
			logger.Error("stopping the previous pipeline", "err", err)
		}
		if ctx.Err() != nil {
			// SIGTERM while the reload stopped the previous pipeline: it
			// has stopped (positions saved, the rest buffered) without
			// reading the files to their end, which a deleted pod never
			// does later (regress19 F-E). The new configuration starts to
			// do it, in what is left of drain_timeout since the signal
			// (draining it whole again took twice drain_timeout: regress9).
			termAt.CompareAndSwap(0, time.Now().UnixNano())
			left := cfg.DrainTimeout - time.Since(time.Unix(0, termAt.Load()))
			if left <= 0 {
				logger.Warn("stopped during a reload, drain_timeout spent: the files are read to their end at the next start")
				return nil
			}
			ng, err := startGeneration(next, stdout, logger, m.observeBatch, keep, failing)
			if err != nil {
				logger.Error("the new configuration did not start; finishing with the previous one", "err", err)
				if ng, err = startGeneration(cfg, stdout, logger, m.observeBatch, keep, failing); err != nil {
					return fmt.Errorf("restarting the previous configuration to finish after a reload: %w", err)
				}
			}
			m.setGeneration(ng)
			logger.Info("shutting down during a reload: reading the files to their end and delivering what is buffered", "drain_timeout", left.Round(time.Millisecond))
			err = ng.stop(true, left, nil)
			m.endGeneration(ng)
			if err != nil {
				return err
			}
			logger.Info("stopped")
			return nil
		}
		// The two generations share the data dir, so the new one starts
		// only once the old one stopped. If it cannot start (a file it
		// must open is not usable), the previous configuration starts
		// again: the checkpoints make that a resumption, not a gap.
		ng, err := startGeneration(next, stdout, logger, m.observeBatch, keep, failing)
		if err != nil {
			m.reloaded(false)
			logger.Error("reload failed: the new configuration did not start; restarting the previous one", "err", err)
			if watcher != nil {
				watcher.Retry() // saving the same file again retries
			}
			if ng, err = startGeneration(cfg, stdout, logger, m.observeBatch, keep, failing); err != nil {
				return fmt.Errorf("restarting the previous configuration after a failed reload: %w", err)
			}
		} else {
			m.reloaded(true)
			cfg = next
		}
		// Files rotated away that a source removed or renamed by the
		// reload was still reading: no tailer goes on with them.
		keep.handoff.CloseAll()
		g = ng
	}
}

// bufferDir is where the disk buffer lives under a data_dir.
func bufferDir(dataDir string) string { return filepath.Join(dataDir, "buffer") }

func configName(path string) string {
	if path == "" {
		return embeddedName
	}
	return path
}

// sameDir reports whether a and b name the same directory, however
// spelled: a trailing or doubled slash, relative or absolute, a symlink.
func sameDir(a, b string) bool {
	if a == b {
		return true
	}
	if aa, err := filepath.Abs(a); err == nil {
		if bb, err := filepath.Abs(b); err == nil && aa == bb {
			return true
		}
	}
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}
