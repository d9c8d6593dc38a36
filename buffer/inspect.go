package buffer

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
)

// Report describes a buffer directory as Inspect found it.
type Report struct {
	Dir      string
	Segments []SegmentReport
	Cursors  []CursorReport
	// LastSeq is the highest sequence number found in any segment.
	LastSeq uint64
	// Missing lists the records no segment holds between the oldest one
	// and LastSeq: lost to damage (a segment removed, a tail cut, a corrupt
	// region), as the agent counts them in
	// sidetrail_buffer_corrupt_records_total at its next start (but for
	// those every cursor had acknowledged: delivered, nothing lost).
	Missing []SeqRange
	// Strays names the files named like segments that have a damaged
	// header and no valid record: the agent removes them at its next
	// start, and they bound no other segment.
	Strays []string
	// Misnamed are the segment files whose sound header says another first
	// sequence number than their name (renamed by hand), each with the
	// name the agent gives it back at its next start; read here for the
	// records they hold.
	Misnamed [][2]string
	// Ignored names the files named like segments with a name no buffer
	// writes (sequence number 0, or beyond any a buffer gives): the agent
	// ignores them, with a warning.
	Ignored []string
}

// SeqRange is Records sequence numbers missing between First and Last (all
// of them for a gap between segments; Records of them for a segment with
// holes).
type SeqRange struct {
	First, Last, Records uint64
	tail                 bool // no record after it is held (see Inspect)
}

// SegmentReport describes one segment file.
type SegmentReport struct {
	Name     string
	FirstSeq uint64
	// LastSeq is the last valid record's seq (0 if none); Records how many
	// valid records the segment holds; Bytes its file size.
	LastSeq uint64
	Records int64
	Bytes   int64
	// Corrupt lists the damaged regions (a damaged header included).
	Corrupt []*CorruptionError
	// TailBytes counts invalid bytes at the end (a torn tail in the last
	// segment, which Open cuts; corruption in any other).
	TailBytes int64
	// holes are the seqs each damaged region inside the segment held.
	holes []SeqRange
}

// CursorReport describes one cursor file. A cursor that has never
// acknowledged anything has no file: it is listed only when Inspect is
// told its name, with NoFile set and everything buffered as its lag.
type CursorReport struct {
	Name   string
	NoFile bool
	// Position: a source's place, not a sink's (see Options.Positions and
	// Report.SetPositions).
	Position bool
	// Acked is the last acknowledged seq; Err is set if the file is damaged.
	Acked uint64
	Err   error
	// Beyond counts the seqs acknowledged past the last record any
	// segment holds: records the buffer had written (a source's cursor)
	// or delivered, gone since (a cut tail).
	Beyond uint64
	// LagRecords counts the records in the segments with seq > Acked.
	LagRecords uint64
	// Unconfigured: a cursor file Inspect was not asked about, when it was
	// given the configuration's cursors: the agent removes it at its next
	// start (a sink or source removed or renamed).
	Unconfigured bool
}

// Inspect reads the buffer directory dir without changing anything: every
// segment is scanned and checked, every cursor file read. It can run while
// the agent runs (it then sees a moment's state, possibly with a tail being
// written reported as torn). Cursors names cursors the agent opens (its
// sinks, and its sources' own): those without a file are listed too.
func Inspect(dir string, cursors ...string) (*Report, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("inspect: %w", err)
	}
	rep := &Report{Dir: dir}
	var firsts []uint64
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasSuffix(name, tmpSuffix) {
			continue
		}
		if first, ok := parseSegName(name); ok {
			firsts = append(firsts, first)
		} else if strings.HasSuffix(name, segSuffix) {
			rep.Ignored = append(rep.Ignored, name)
		} else if c, ok := strings.CutSuffix(name, cursorSuffix); ok {
			rep.Cursors = append(rep.Cursors, CursorReport{Name: c})
		}
	}
	for i := range rep.Cursors {
		rep.Cursors[i].Unconfigured = len(cursors) > 0 && !slices.Contains(cursors, rep.Cursors[i].Name)
	}
	for _, name := range cursors {
		if !slices.ContainsFunc(rep.Cursors, func(c CursorReport) bool { return c.Name == name }) {
			rep.Cursors = append(rep.Cursors, CursorReport{Name: name, NoFile: true})
		}
	}
	slices.Sort(firsts)
	// A segment renamed by hand, which the agent names back (see
	// renameMisnamed): read under its name, for the records its header
	// says.
	path := map[uint64]string{}
	for _, first := range firsts {
		path[first] = filepath.Join(dir, segName(first))
	}
	// Strays, as the agent finds them: first those that are no misnamed
	// segment, then those misnamed whose name stays taken.
	strays := func(spareMisnamed bool) error {
		var kept []uint64
		for _, first := range firsts {
			if spareMisnamed {
				if _, misnamed, err := headerNamesAt(path[first], first); err != nil {
					return err
				} else if misnamed {
					kept = append(kept, first)
					continue
				}
			}
			stray, err := inspectStray(path[first], first)
			if err != nil {
				return err
			}
			if stray {
				rep.Strays = append(rep.Strays, filepath.Base(path[first]))
			} else {
				kept = append(kept, first)
			}
		}
		firsts = kept
		return nil
	}
	if err := strays(true); err != nil {
		return nil, err
	}
	for again := true; again; {
		again = false
		for i, first := range firsts {
			v, ok, err := headerNamesAt(path[first], first)
			if err != nil {
				return nil, err
			}
			if ok && !slices.Contains(firsts, v) {
				rep.Misnamed = append(rep.Misnamed, [2]string{filepath.Base(path[first]), segName(v)})
				path[v] = path[first]
				delete(path, first)
				firsts[i], again = v, true
			}
		}
	}
	slices.Sort(firsts)
	if err := strays(false); err != nil {
		return nil, err
	}
	discard := slog.New(slog.DiscardHandler)
	for i, first := range firsts {
		var next uint64
		if i+1 < len(firsts) {
			next = firsts[i+1]
		}
		sr, err := inspectSegment(path[first], first, next, discard)
		if err != nil {
			return nil, err
		}
		rep.LastSeq = max(rep.LastSeq, sr.LastSeq)
		rep.Segments = append(rep.Segments, sr)
	}
	rep.Missing = missingRanges(rep.Segments)
	for i := range rep.Cursors {
		c := &rep.Cursors[i]
		if c.Unconfigured {
			continue // not read: the agent removes it unread (a FIFO so named failed inspect; regress25a P6)
		}
		if c.NoFile {
			// It starts at the oldest record, as Open starts it.
			if len(rep.Segments) > 0 {
				c.Acked = rep.Segments[0].FirstSeq - 1
			}
		} else {
			data, err := readRegular(filepath.Join(dir, c.Name+cursorSuffix))
			if err != nil {
				return nil, fmt.Errorf("inspect: %w", err)
			}
			// As the agent reads it: beyond maxCursor, damage, and the
			// cursor restarts at the oldest record (inspect called its
			// records gone, and the agent delivered them; buffer18 F2).
			held := rep.LastSeq
			if n := len(rep.Segments); n > 0 {
				held = max(held, rep.Segments[n-1].FirstSeq-1)
			}
			c.Acked, c.Err = parseCursor(data, held)
			if c.Err != nil && len(rep.Segments) > 0 {
				c.Acked = rep.Segments[0].FirstSeq - 1
			}
			if c.Err == nil && rep.LastSeq > 0 && c.Acked > rep.LastSeq {
				c.Beyond = c.Acked - rep.LastSeq
			}
		}
		for _, s := range rep.Segments {
			switch {
			case s.Records == 0 || s.LastSeq <= c.Acked:
			case s.FirstSeq > c.Acked:
				c.LagRecords += uint64(s.Records)
			default:
				c.LagRecords += min(uint64(s.Records), s.LastSeq-c.Acked)
			}
		}
	}
	// A tail cut off: records a cursor acknowledged past the last one
	// held, which another had not; the agent counts them at its next
	// start (regress24 R3: inspect showed no missing line for them).
	held := rep.LastSeq
	if n := len(rep.Segments); n > 0 {
		held = max(held, rep.Segments[n-1].FirstSeq-1)
	}
	var hi, lo uint64
	seen := false
	for _, c := range rep.Cursors {
		if c.Err != nil {
			continue
		}
		if !seen || c.Acked < lo {
			lo = c.Acked
		}
		hi, seen = max(hi, c.Acked), true
	}
	if first := max(held, lo) + 1; seen && first <= hi {
		rep.Missing = append(rep.Missing, SeqRange{First: first, Last: hi, Records: hi - first + 1, tail: true})
	}
	return rep, nil
}

// missingRanges finds the seqs the segments should hold and do not: gaps
// between one segment's last record and the next one's first, and holes
// inside a segment (fewer records than its seqs span).
func missingRanges(segs []SegmentReport) []SeqRange {
	var out []SeqRange
	var expect uint64
	for i, s := range segs {
		if i > 0 && s.FirstSeq > expect {
			out = append(out, SeqRange{First: expect, Last: s.FirstSeq - 1, Records: s.FirstSeq - expect})
		}
		if s.Records == 0 {
			expect = max(expect, s.FirstSeq)
			continue
		}
		if span := s.LastSeq - s.FirstSeq + 1; span > uint64(s.Records) {
			var inHoles uint64
			for _, h := range s.holes {
				inHoles += h.Records
			}
			if inHoles == span-uint64(s.Records) {
				out = append(out, s.holes...) // each damaged region's own seqs
			} else {
				out = append(out, SeqRange{First: s.FirstSeq, Last: s.LastSeq, Records: span - uint64(s.Records)})
			}
		}
		expect = s.LastSeq + 1
	}
	return out
}

// headerNamesAt is headerNames for the segment file at path (see
// Buffer.misnamed, the agent's).
func headerNamesAt(path string, first uint64) (uint64, bool, error) {
	f, err := openRegular(path, os.O_RDONLY, 0)
	if err != nil {
		return 0, false, fmt.Errorf("inspect: %w", err)
	}
	defer f.Close()
	v, ok := headerNames(f, first)
	return v, ok, nil
}

// readRegular reads the regular file at path whole (see openRegular).
func readRegular(path string) ([]byte, error) {
	f, err := openRegular(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

func inspectStray(path string, first uint64) (bool, error) {
	f, err := openRegular(path, os.O_RDONLY, 0)
	if err != nil {
		return false, fmt.Errorf("inspect: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("inspect: %w", err)
	}
	stray, _, err := isStray(f, info.Size(), filepath.Base(path), first)
	return stray, err
}

func inspectSegment(path string, first, next uint64, log *slog.Logger) (SegmentReport, error) {
	name := filepath.Base(path)
	sr := SegmentReport{Name: name, FirstSeq: first}
	f, err := openRegular(path, os.O_RDONLY, 0)
	if err != nil {
		return sr, fmt.Errorf("inspect: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return sr, fmt.Errorf("inspect: %w", err)
	}
	sr.Bytes = info.Size()
	res, err := scanSegment(f, name, first, next, info.Size(), log)
	if err != nil {
		return sr, fmt.Errorf("inspect %s: %w", name, err)
	}
	sr.LastSeq, sr.Records = res.last, res.records
	for _, r := range res.corrupt {
		sr.Corrupt = append(sr.Corrupt, r.ce)
		if r.ce.Lost > 0 {
			sr.holes = append(sr.holes, SeqRange{First: r.last - r.ce.Lost + 1, Last: r.last, Records: r.ce.Lost})
		}
	}
	if res.headerErr != nil {
		sr.Corrupt = append([]*CorruptionError{{Segment: name, Offset: 0, End: segHeaderSize, Err: res.headerErr}}, sr.Corrupt...)
	}
	if res.tail {
		sr.TailBytes = info.Size() - res.tailOffset
	}
	return sr, nil
}

// WriteText writes the report as the `sidetrail buffer inspect` command
// prints it: a summary, a table of segments, a table of cursors, then every
// corrupt region.
func (r *Report) WriteText(w io.Writer) error {
	var bytes, records int64
	for _, s := range r.Segments {
		bytes += s.Bytes
		records += s.Records
	}
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "buffer %s: %d segments, %d bytes, %d records, last seq %d\n\n", r.Dir, len(r.Segments), bytes, records, r.LastSeq)
	tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEGMENT\tFIRST\tLAST\tRECORDS\tBYTES\tCORRUPT\tBAD TAIL")
	for _, s := range r.Segments {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\n", s.Name, s.FirstSeq, s.LastSeq, s.Records, s.Bytes, len(s.Corrupt), s.TailBytes)
	}
	tw.Flush()
	fmt.Fprintln(ew)
	tw = tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CURSOR\tACKED\tLAG RECORDS\tSTATE")
	for _, c := range r.Cursors {
		state := "ok"
		switch {
		case c.Unconfigured:
			state = "not in the configuration (a sink or source removed or renamed): removed at the next start"
		case c.Err != nil:
			state = c.Err.Error() + ": the agent restarts it at the oldest record"
		case c.NoFile:
			state = "no file yet: starts at the oldest record"
		case c.Beyond > 0:
			state = fmt.Sprintf("acknowledged %d %s past the last one held: delivered before, gone from the buffer", c.Beyond, plural(c.Beyond, "record", "records"))
			if c.Position {
				state = fmt.Sprintf("acknowledged %d %s past the last one held: its source's checkpoint covers them", c.Beyond, plural(c.Beyond, "record", "records"))
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", c.Name, c.Acked, c.LagRecords, state)
	}
	tw.Flush()
	for _, s := range r.Segments {
		for _, ce := range s.Corrupt {
			fmt.Fprintf(ew, "corrupt: %v\n", ce)
		}
	}
	for _, m := range r.Misnamed {
		fmt.Fprintf(ew, "misnamed: %s holds the records its header says of %s: renamed back at the next start\n", m[0], m[1])
	}
	for _, name := range r.Strays {
		fmt.Fprintf(ew, "stray: %s has a damaged header and no record: not a segment; removed at the next start\n", name)
	}
	for _, name := range r.Ignored {
		fmt.Fprintf(ew, "ignored: %s is named like a segment with a name no buffer writes: the agent reads nothing from it\n", name)
	}
	acked, every := r.minAcked()
	var missing []SeqRange
	for _, m := range r.Missing {
		if every && m.First <= acked && acked < m.Last && m.Records == m.Last-m.First+1 {
			// Part delivered, part not: the agent counts the part no
			// sink had acknowledged (regress25a P5: inspect said 2,048
			// lost, the agent counted 1,096).
			d := m
			d.Last, d.Records, d.tail = acked, acked-m.First+1, false
			m.First, m.Records = acked+1, m.Last-acked
			missing = append(missing, d)
		}
		missing = append(missing, m)
	}
	for _, m := range missing {
		why := "lost to damage"
		switch {
		case every && m.Last <= acked:
			// As the agent sees them at start: not counted (buffer22 P2).
			why = "damaged after every sink's cursor had acknowledged them: delivered, nothing lost"
		case m.tail && r.behindPositions(m.First):
			// Not counted either (regress24 R4).
			why = "past every source's checkpoint: their lines are read again from the files, where they still are"
		}
		if m.Records == m.Last-m.First+1 {
			fmt.Fprintf(ew, "missing: seq %d-%d (%d records): no segment holds them (%s)\n", m.First, m.Last, m.Records, why)
		} else {
			fmt.Fprintf(ew, "missing: %d records between seq %d and %d (%s)\n", m.Records, m.First, m.Last, why)
		}
	}
	return ew.err
}

// behindPositions reports whether there are sources' places and every
// one is before seq.
func (r *Report) behindPositions(seq uint64) bool {
	found := false
	for _, c := range r.Cursors {
		if c.Position {
			if c.Err != nil || c.Acked >= seq {
				return false
			}
			found = true
		}
	}
	return found
}

// SetPositions marks the cursors named as sources' places (the agent's
// Options.Positions): records every other cursor acknowledged were
// delivered, whatever those say.
func (r *Report) SetPositions(names ...string) {
	for i := range r.Cursors {
		r.Cursors[i].Position = slices.Contains(names, r.Cursors[i].Name)
	}
}

// minAcked returns the lowest acknowledgement of the sinks' cursors (all
// cursors when every one is a position), and whether every one of those
// has one the agent keeps (one with no file, or a damaged one, starts
// again at the oldest record).
func (r *Report) minAcked() (uint64, bool) {
	sinks := slices.ContainsFunc(r.Cursors, func(c CursorReport) bool { return !c.Position })
	var m uint64
	found := false
	for _, c := range r.Cursors {
		if sinks && c.Position || c.Unconfigured {
			continue
		}
		if c.Err != nil || c.NoFile {
			return 0, false
		}
		if !found || c.Acked < m {
			m = c.Acked
		}
		found = true
	}
	return m, found
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	if err != nil {
		e.err = err
	} else if n < len(p) {
		e.err = errors.New("short write")
	}
	return len(p), nil
}

// plural returns one or many as n is 1 or not.
func plural(n uint64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
