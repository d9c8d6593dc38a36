package tailer

import (
	"os"
	"sync"
	"time"
)

// Handoff carries, from a tailer that stops (Close) to the next tailer of
// the same source, the descriptors of files it was still reading after they
// were rotated away: deleted, or renamed out of the paths, while their
// writer keeps them open. A reload stops one tailer and starts another;
// the new one finds files by their paths, and these have none. Without the
// handoff, what was written into them after the reload was lost. Safe for
// concurrent use; the zero value is not usable (NewHandoff).
type Handoff struct {
	mu    sync.Mutex
	files map[string][]heldFile // by source
	// gone holds, by source, since when each file the last tailer knew
	// was missing: the next one's grace before it forgets their entries
	// goes on from there, not from its own start (leak15 F1: with reloads
	// closer together than the grace, the checkpoint kept every deleted
	// file).
	gone map[string]map[devIno]time.Time
	// risk holds, by source, the files the last tailer left waiting for a
	// descriptor (max_open_files), and those of them it saw go away and
	// had not yet decided about: one rotated away before the next
	// tailer's first scan is counted lost by it (tailer16 F4: the next
	// tailer saw only the new file at the path, and nothing was counted).
	risk map[string]handedRisk
}

// handedRisk is a tailer's atRisk and goneRisk, handed over.
type handedRisk struct {
	atRisk map[string]riskEntry
	gone   map[riskKey]goneRisk
}

// heldFile is a descriptor handed over, with what the checkpoint entry of
// its file is matched by.
type heldFile struct {
	fd     *os.File
	id     devIno
	path   string // where it was last seen
	atPath bool   // the next tailer's scan found it at a path: its open takes fd
}

// NewHandoff returns an empty Handoff.
func NewHandoff() *Handoff {
	return &Handoff{files: make(map[string][]heldFile), gone: make(map[string]map[devIno]time.Time), risk: make(map[string]handedRisk)}
}

func (h *Handoff) putRisk(source string, r handedRisk) {
	if h == nil || len(r.atRisk) == 0 && len(r.gone) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.risk[source] = r
}

func (h *Handoff) takeRisk(source string) handedRisk {
	if h == nil {
		return handedRisk{}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.risk[source]
	delete(h.risk, source)
	return r
}

func (h *Handoff) putGone(source string, gone map[devIno]time.Time) {
	if h == nil || len(gone) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.gone[source] = gone
}

func (h *Handoff) takeGone(source string) map[devIno]time.Time {
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	g := h.gone[source]
	delete(h.gone, source)
	return g
}

func (h *Handoff) put(source string, fs []heldFile) {
	if h == nil || len(fs) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.files[source] = append(h.files[source], fs...)
}

func (h *Handoff) take(source string) map[devIno]heldFile {
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	fs := h.files[source]
	delete(h.files, source)
	if len(fs) == 0 {
		return nil
	}
	out := make(map[devIno]heldFile, len(fs))
	for _, f := range fs {
		if old, ok := out[f.id]; ok {
			old.fd.Close()
		}
		out[f.id] = f
	}
	return out
}

// Len is the number of descriptors held.
func (h *Handoff) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, fs := range h.files {
		n += len(fs)
	}
	return n
}

// CloseAll closes what no tailer took: at the agent's stop, and after a
// reload for sources it removed or renamed.
func (h *Handoff) CloseAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s, fs := range h.files {
		for _, f := range fs {
			f.fd.Close()
		}
		delete(h.files, s)
	}
	clear(h.gone)
}
