package main

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// configWatcher reports changes to the configuration file's content. It
// watches directories, not the file: Kubernetes updates a mounted ConfigMap
// by swapping the ..data symlink, which replaces the file without ever
// writing it. The directories are those of every symlink on the way to the
// file and the file's own, found again after each change (a swap or a
// retargeted link moves the file to another directory). A poll every
// configPollEvery backs the watch up where it cannot see (a network file
// system written from another machine). Events are debounced and a change
// is reported only when the content's hash differs.
type configWatcher struct {
	w       *fsnotify.Watcher // nil with the poll alone
	watch   bool              // false: the poll alone (no inotify left; tests)
	logger  *slog.Logger
	changes chan struct{}
	quit    chan struct{} // Close
	done    chan struct{}
	retry   chan struct{} // Retry: the next save counts even if the content is the same
	loaded  chan []byte   // Loaded: the hash of the content the agent read
}

// configPollEvery is how often the file is read and hashed whatever the
// watch says.
var configPollEvery = 5 * time.Second

func watchConfig(path string, logger *slog.Logger) (*configWatcher, error) {
	return newConfigWatcher(path, logger, true)
}

func newConfigWatcher(path string, logger *slog.Logger, watch bool) (*configWatcher, error) {
	var w *fsnotify.Watcher
	if watch {
		var err error
		if w, err = fsnotify.NewWatcher(); err != nil {
			return nil, err
		}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &configWatcher{w: w, watch: watch, logger: logger, changes: make(chan struct{}, 1), done: make(chan struct{}),
		quit: make(chan struct{}), retry: make(chan struct{}, 1), loaded: make(chan []byte, 1)}
	if watch {
		dirs, _ := watchTargets(path)
		// The file's own directory must be watchable at the start; the
		// others are added as they can be.
		if err := w.Add(dirs[len(dirs)-1]); err != nil {
			w.Close()
			return nil, err
		}
	}
	// The content and the watches as they are now, before returning: a
	// change made right after is a change.
	last, names := hashFile(path), c.rewatch(path)
	go c.loop(path, last, names)
	return c, nil
}

// watchTargets resolves path one symlink at a time and returns the
// directories to watch (each symlink's, then the file's, which is last) and
// the names whose events matter in them. A link that cannot be followed
// (a target not there yet) ends the walk at the path reached.
func watchTargets(path string) (dirs []string, names map[string]bool) {
	names = map[string]bool{}
	p, err := filepath.Abs(path)
	if err != nil {
		p = filepath.Clean(path)
	}
	add := func(d string) {
		if !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	for hops := 0; hops < 40; hops++ {
		link, rest, ok := firstSymlink(p)
		if !ok {
			break
		}
		target, err := os.Readlink(link)
		if err != nil {
			break
		}
		add(filepath.Dir(link))
		names[filepath.Base(link)] = true
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(link), target)
		}
		p = filepath.Join(target, rest)
	}
	if i := slices.Index(dirs, filepath.Dir(p)); i >= 0 {
		dirs = slices.Delete(dirs, i, i+1)
	}
	dirs = append(dirs, filepath.Dir(p))
	names[filepath.Base(p)] = true
	return dirs, names
}

// firstSymlink returns the first part of the absolute, clean path p that is
// a symlink, and what follows it.
func firstSymlink(p string) (link, rest string, ok bool) {
	for i := 1; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			continue
		}
		fi, err := os.Lstat(p[:i])
		if err != nil {
			return "", "", false
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			return p[:i], strings.TrimPrefix(p[i:], "/"), true
		}
	}
	return "", "", false
}

// rewatch watches the directories path now goes through, and no others.
// It returns the names that matter in them.
func (c *configWatcher) rewatch(path string) map[string]bool {
	dirs, names := watchTargets(path)
	if !c.watch {
		return names
	}
	for _, d := range c.w.WatchList() {
		if !slices.Contains(dirs, d) {
			_ = c.w.Remove(d) // gone with its directory, often
		}
	}
	have := c.w.WatchList()
	for _, d := range dirs {
		if slices.Contains(have, d) {
			continue
		}
		if err := c.w.Add(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
			c.logger.Warn("config watch", "dir", d, "err", err)
		}
	}
	return names
}

func hashFile(path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	h := sha256.Sum256(b)
	return h[:]
}

func (c *configWatcher) loop(path string, last []byte, names map[string]bool) {
	defer close(c.done)
	poll := time.NewTicker(configPollEvery)
	defer poll.Stop()
	var (
		timer <-chan time.Time
		saved bool // an event of the file's started the timer
		force bool // Retry: the next save is a change whatever it holds
	)
	check := func() {
		names = c.rewatch(path)
		h := hashFile(path)
		retry := force && saved
		saved = false
		if h == nil || bytes.Equal(h, last) && !retry {
			return
		}
		last, force = h, false
		select {
		case c.changes <- struct{}{}:
		default:
		}
	}
	var (
		events <-chan fsnotify.Event
		errs   <-chan error
	)
	if c.w != nil {
		events, errs = c.w.Events, c.w.Errors
	}
	for {
		select {
		case <-c.quit:
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			// Other files in the directories are none of our business,
			// and a busy neighbour must not postpone the check forever:
			// the timer starts at the first relevant event and is not
			// reset.
			if name := filepath.Base(ev.Name); !names[name] && !strings.HasPrefix(name, "..data") {
				continue
			}
			saved = true
			if timer == nil {
				timer = time.After(300 * time.Millisecond)
			}
		case <-c.retry:
			force = true
		case h := <-c.loaded:
			// What the agent runs now. The file may have changed again
			// since (an edit reverted while a reload ran, whose change
			// was reported and read before the revert): look once more.
			last = h
			if timer == nil {
				timer = time.After(300 * time.Millisecond)
			}
		case err, ok := <-errs:
			if !ok {
				return
			}
			c.logger.Warn("config watch", "err", err)
		case <-timer:
			timer = nil
			check()
		case <-poll.C:
			if timer == nil {
				check()
			}
		}
	}
}

// Retry makes the next write of the file a change even if its content is
// the one last reported: after a reload that failed for a reason outside
// the file (a directory in the data dir), saving it again retries.
func (c *configWatcher) Retry() {
	select {
	case c.retry <- struct{}{}:
	default:
	}
}

// Loaded tells the watcher the hash of the content the agent read for a
// reload (hashFile before reading it): changes are judged against what
// runs, not against what the watcher saw last, and the file is looked at
// again shortly after.
func (c *configWatcher) Loaded(h []byte) {
	if h == nil {
		// The file could not be read (missing, unreadable): the agent
		// runs what it ran, and the same content put back is no change.
		// Taken as one, it restarted the pipeline (ops15 F8).
		return
	}
	select {
	case <-c.loaded: // an older one, not yet taken
	default:
	}
	c.loaded <- h
}

// Changes delivers one value per noticed change (coalesced).
func (c *configWatcher) Changes() <-chan struct{} { return c.changes }

// Close stops watching.
func (c *configWatcher) Close() error {
	close(c.quit)
	var err error
	if c.w != nil {
		err = c.w.Close()
	}
	<-c.done
	return err
}
