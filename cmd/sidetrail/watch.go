package main

import (
	"bytes"
	"crypto/sha256"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// configWatcher reports changes to the configuration file's content. It
// watches the file's directory, not the file: Kubernetes updates a mounted
// ConfigMap by swapping the ..data symlink, which replaces the file without
// ever writing it. Events are debounced and a change is reported only when
// the content's hash differs.
type configWatcher struct {
	w       *fsnotify.Watcher
	changes chan struct{}
	done    chan struct{}
	retry   chan struct{} // Retry: the next write counts even if the content is the same
	loaded  chan []byte   // Loaded: the hash of the content the agent read
}

func watchConfig(path string, logger *slog.Logger) (*configWatcher, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	if err := w.Add(filepath.Dir(path)); err != nil {
		w.Close()
		return nil, err
	}
	c := &configWatcher{w: w, changes: make(chan struct{}, 1), done: make(chan struct{}), retry: make(chan struct{}, 1),
		loaded: make(chan []byte, 1)}
	go c.loop(path, logger)
	return c, nil
}

func hashFile(path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	h := sha256.Sum256(b)
	return h[:]
}

func (c *configWatcher) loop(path string, logger *slog.Logger) {
	defer close(c.done)
	last := hashFile(path)
	base := filepath.Base(path)
	var timer <-chan time.Time
	for {
		select {
		case ev, ok := <-c.w.Events:
			if !ok {
				return
			}
			// Other files in the directory are none of our business, and a
			// busy neighbour must not postpone the check forever: the
			// timer starts at the first relevant event and is not reset.
			if name := filepath.Base(ev.Name); name != base && !strings.HasPrefix(name, "..data") {
				continue
			}
			if timer == nil {
				timer = time.After(300 * time.Millisecond)
			}
		case <-c.retry:
			last = nil
		case h := <-c.loaded:
			// What the agent runs now. The file may have changed again
			// since (an edit reverted while a reload ran, whose change
			// was reported and read before the revert): look once more.
			last = h
			if timer == nil {
				timer = time.After(300 * time.Millisecond)
			}
		case err, ok := <-c.w.Errors:
			if !ok {
				return
			}
			logger.Warn("config watch", "err", err)
		case <-timer:
			timer = nil
			h := hashFile(path)
			if h == nil || bytes.Equal(h, last) {
				continue
			}
			last = h
			select {
			case c.changes <- struct{}{}:
			default:
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
	err := c.w.Close()
	<-c.done
	return err
}
