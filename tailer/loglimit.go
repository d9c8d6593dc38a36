package tailer

import (
	"sync"
	"time"
)

// LogLimit remembers, across the tailers an agent makes over its reloads,
// when a warning that is logged at most once a minute was last logged for
// a source: each reload made a new tailer, which logged the
// "max_open_files reached" error again (tailer9). Safe for concurrent use;
// a nil LogLimit remembers nothing.
type LogLimit struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// NewLogLimit returns an empty LogLimit.
func NewLogLimit() *LogLimit { return &LogLimit{last: make(map[string]time.Time)} }

// allow reports whether key may be logged at now, at most every every, and
// if so remembers now.
func (l *LogLimit) allow(key string, now time.Time, every time.Duration) bool {
	if l == nil {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if last, ok := l.last[key]; ok && now.Sub(last) < every {
		return false
	}
	l.last[key] = now
	return true
}
