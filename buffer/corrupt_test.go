package buffer_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sidetrail/sidetrail/buffer"
)

// frameOffsets returns the offsets of the frames in a segment file written
// by appendRange (no corruption): header 20 bytes, frames of 16+len.
func frameOffsets(t *testing.T, path string) []int64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var offs []int64
	for off := int64(20); off+16 <= int64(len(data)); {
		offs = append(offs, off)
		off += 16 + int64(binary.BigEndian.Uint32(data[off:]))
	}
	return offs
}

// firstSeqOf returns the first seq encoded in a segment's name.
func firstSeqOf(path string) uint64 {
	var v uint64
	for _, c := range strings.TrimSuffix(filepath.Base(path), ".seg") {
		v = v*10 + uint64(c-'0')
	}
	return v
}

func modify(t *testing.T, path string, f func([]byte) []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, f(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// buildLog writes records payload(0..n-1) in small segments and returns
// the dir and its segment files.
func buildLog(t *testing.T, n int) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	b, err := buffer.Open(dir, buffer.Options{Cursors: []string{"a"}, SegmentBytes: 2048})
	if err != nil {
		t.Fatal(err)
	}
	appendRange(t, b, 0, n, 10)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	segs := segFiles(t, dir)
	if len(segs) < 3 {
		t.Fatalf("want at least 3 segments, got %d", len(segs))
	}
	return dir, segs
}

// readAllAfterReopen opens dir, reads every record and checks each one is
// intact (payload(seq-1)); it returns the seqs read and the stats.
func readAllAfterReopen(t *testing.T, dir string) (map[uint64]bool, buffer.Stats) {
	t.Helper()
	b := open(t, dir, buffer.Options{Cursors: []string{"a"}, SegmentBytes: 2048})
	r, _ := b.Reader("a")
	got := readAvailable(t, r)
	seen := map[uint64]bool{}
	for _, e := range got {
		if want := payload(int(e.Seq) - 1); !bytes.Equal(e.Data, want) {
			t.Fatalf("seq %d: %q, want %q", e.Seq, e.Data, want)
		}
		seen[e.Seq] = true
	}
	return seen, b.Stats()
}

func TestCorruptionMidSegmentIsSkipped(t *testing.T) {
	cases := []struct {
		name  string
		frame int                          // which frame of the segment to damage
		at    func(off int64, data []byte) // damages data at frame offset off
		lost  int                          // records lost
	}{
		{"payload bytes flipped", 3, func(off int64, d []byte) { d[off+20] ^= 0xff; d[off+21] ^= 0x55 }, 1},
		{"length field flipped", 2, func(off int64, d []byte) { d[off+1] ^= 0x10 }, 1},
		{"seq field flipped", 4, func(off int64, d []byte) { d[off+15] ^= 0x01 }, 1},
		{"two frames zeroed", 1, func(off int64, d []byte) {
			end := off + 16 + int64(binary.BigEndian.Uint32(d[off:]))
			end += 16 + int64(binary.BigEndian.Uint32(d[end:]))
			clear(d[off:end])
		}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			const n = 400
			dir, segs := buildLog(t, n)
			for _, target := range []string{segs[1], segs[len(segs)-1]} { // a middle and the last segment
				offs := frameOffsets(t, target)
				modify(t, target, func(d []byte) []byte { tc.at(offs[tc.frame], d); return d })
			}
			seen, st := readAllAfterReopen(t, dir)
			if st.Corrupt != 2 || st.TornBytes != 0 || st.CorruptRecords != uint64(2*tc.lost) {
				t.Fatalf("stats: corrupt %d (want 2) holding %d records (want %d), torn %d", st.Corrupt, st.CorruptRecords, 2*tc.lost, st.TornBytes)
			}
			if len(seen) != n-2*tc.lost {
				t.Fatalf("read %d intact records, want %d", len(seen), n-2*tc.lost)
			}
			// The records lost are exactly the damaged frames.
			for _, target := range []string{segs[1], segs[len(segs)-1]} {
				s := firstSeqOf(target) + uint64(tc.frame)
				for k := range uint64(tc.lost) {
					if seen[s+k] {
						t.Fatalf("damaged record %d was read", s+k)
					}
				}
			}
			_, buf := inspectText(t, dir)
			if c := strings.Count(buf, "corrupt: corrupt segment"); c != 2 {
				t.Fatalf("inspect reports %d corrupt regions:\n%s", c, buf)
			}
		})
	}
}

func TestSegmentTruncatedMidRecord(t *testing.T) {
	const n = 400
	dir, segs := buildLog(t, n)
	target := segs[1]
	offs := frameOffsets(t, target)
	cut := offs[5] + 10 // inside frame 5's header
	modify(t, target, func(d []byte) []byte { return d[:cut] })
	seen, st := readAllAfterReopen(t, dir)
	lost := len(offs) - 5
	if st.Corrupt != 1 || st.TornBytes != 0 || st.CorruptRecords != uint64(lost) {
		t.Fatalf("stats: corrupt %d holding %d records (want %d), torn %d", st.Corrupt, st.CorruptRecords, lost, st.TornBytes)
	}
	if len(seen) != n-lost {
		t.Fatalf("read %d records, want %d", len(seen), n-lost)
	}
}

func TestTornTailIsCut(t *testing.T) {
	for _, tc := range []struct {
		name string
		tail func(frame []byte) []byte
	}{
		{"half a header", func(f []byte) []byte { return f[:7] }},
		{"header and half the payload", func(f []byte) []byte { return f[:16+len(f[16:])/2] }},
		{"zeros (power loss)", func([]byte) []byte { return make([]byte, 4096) }},
		{"bad checksum on the last frame", func(f []byte) []byte { f = bytes.Clone(f); f[len(f)-1] ^= 1; return f }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 100
			dir, segs := buildLog(t, n)
			last := segs[len(segs)-1]
			// A complete frame for the next seq, as a valid source of torn bytes.
			frame := validFrame(uint64(n+1), payload(n))
			tail := tc.tail(frame)
			modify(t, last, func(d []byte) []byte { return append(d, tail...) })
			size0, _ := os.Stat(last)

			b := open(t, dir, buffer.Options{Cursors: []string{"a"}, SegmentBytes: 2048})
			st := b.Stats()
			if st.Corrupt != 0 || st.TornBytes != int64(len(tail)) {
				t.Fatalf("corrupt %d, torn %d (want %d)", st.Corrupt, st.TornBytes, len(tail))
			}
			if info, _ := os.Stat(last); info.Size() != size0.Size()-int64(len(tail)) {
				t.Fatalf("tail not cut: %d -> %d", size0.Size(), info.Size())
			}
			if seq := appendRange(t, b, n, n+5, 5); seq != n+5 {
				t.Fatalf("append after cut got seq %d", seq)
			}
			r, _ := b.Reader("a")
			checkEntries(t, readN(t, r, n+5), 1, 0)
		})
	}
}

// validFrame builds a frame the way the buffer does (the format is drawn
// in format.go).
func validFrame(seq uint64, p []byte) []byte {
	return buffer.AppendTestFrame(nil, seq, p)
}

func TestCorruptionAfterOpenIsSkippedByReaders(t *testing.T) {
	const n = 300
	dir := t.TempDir()
	b := open(t, dir, buffer.Options{Cursors: []string{"a"}, SegmentBytes: 2048})
	appendRange(t, b, 0, n, 10)
	segs := segFiles(t, dir)
	offs := frameOffsets(t, segs[2])
	f, err := os.OpenFile(segs[2], os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0xde, 0xad, 0xbe, 0xef}, offs[1]+18); err != nil { // bit rot under a running buffer
		t.Fatal(err)
	}
	f.Close()
	r, _ := b.Reader("a")
	got := readAvailable(t, r)
	if len(got) != n-1 || b.Stats().Corrupt != 1 || b.Stats().CorruptRecords != 1 {
		t.Fatalf("read %d (want %d), corrupt %d", len(got), n-1, b.Stats().Corrupt)
	}
	for _, e := range got {
		if !bytes.Equal(e.Data, payload(int(e.Seq)-1)) {
			t.Fatalf("seq %d damaged: %q", e.Seq, e.Data)
		}
	}
	// Reading it again (Rewind) does not count it again.
	r.Rewind()
	readAvailable(t, r)
	if c := b.Stats().Corrupt; c != 1 {
		t.Fatalf("corrupt counted %d times", c)
	}
}

func TestDamagedCursorFileRestartsAtOldest(t *testing.T) {
	dir := t.TempDir()
	b, err := buffer.Open(dir, buffer.Options{Cursors: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	appendRange(t, b, 0, 20, 10)
	r, _ := b.Reader("a")
	r.Ack(10)
	b.Close()
	modify(t, filepath.Join(dir, "a.cursor"), func(d []byte) []byte { d[10] ^= 0xff; return d })
	b = open(t, dir, buffer.Options{Cursors: []string{"a"}})
	if st := b.Stats(); st.Corrupt != 1 || st.Cursors[0].Acked != 0 {
		t.Fatalf("stats %+v", st)
	}
	r, _ = b.Reader("a")
	checkEntries(t, readN(t, r, 20), 1, 0) // duplicates, never loss
}

// A cursor file whose checksum holds but whose number no buffer reaches
// is damage. At 2^64-1 the next sequence number wrapped around below it,
// and the sink took every record appended later for acknowledged
// (buffer15 F1: 0 of 25,000 lines delivered). At 2^63-1, the records
// appended later took sequence numbers beyond 2^63-1, in segments whose
// names the next start refused: lost (buffer18 F1). A cursor beyond 2^62
// is damage, and inspect says so as the agent reads it (buffer18 F2: it
// called the sink's records gone).
func TestCursorBeyondAnySequenceIsDamaged(t *testing.T) {
	for _, acked := range []uint64{1<<64 - 1, 1 << 63, 1<<63 - 1, 1<<62 + 1} {
		dir := closedBuffer(t, "a")
		if err := os.WriteFile(filepath.Join(dir, "a.cursor"), buffer.CursorFile(acked), 0o644); err != nil {
			t.Fatal(err)
		}
		rep, err := buffer.Inspect(dir, "a")
		if err != nil {
			t.Fatal(err)
		}
		if c := rep.Cursors[0]; c.Err == nil || c.Acked != 0 || c.LagRecords != 20 || c.Beyond != 0 {
			t.Errorf("cursor at %d: inspect says %+v", acked, c)
		}
		var logs bytes.Buffer
		b := open(t, dir, buffer.Options{Cursors: []string{"a"}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if st := b.Stats(); st.Corrupt != 1 || st.Cursors[0].Acked != 0 || st.NextSeq != 21 {
			t.Fatalf("cursor at %d: stats %+v\n%s", acked, st, logs.String())
		}
		if !strings.Contains(logs.String(), "damaged cursor file") {
			t.Errorf("cursor at %d: no ERROR:\n%s", acked, logs.String())
		}
		appendRange(t, b, 20, 25, 5)
		r, _ := b.Reader("a")
		checkEntries(t, readN(t, r, 25), 1, 0)
	}
}

// A cursor at 2^62, the largest taken for a position, leaves room: the
// records appended after it are read back after a restart.
func TestCursorAtTheBoundIsAPosition(t *testing.T) {
	dir := t.TempDir()
	b, err := buffer.Open(dir, buffer.Options{Cursors: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	const acked = 1 << 62
	if err := os.WriteFile(filepath.Join(dir, "a.cursor"), buffer.CursorFile(acked), 0o644); err != nil {
		t.Fatal(err)
	}
	b = open(t, dir, buffer.Options{Cursors: []string{"a"}})
	if st := b.Stats(); st.Corrupt != 0 || st.NextSeq != acked+1 {
		t.Fatalf("stats %+v", st)
	}
	appendRange(t, b, 0, 5, 5)
	b.Close()
	// The cursor past 2^62 is within the records held: a position, not
	// damage (ops18 F1: every start called it damaged and sent the last
	// segment again).
	for round := 0; round < 2; round++ {
		b = open(t, dir, buffer.Options{Cursors: []string{"a"}})
		if st := b.Stats(); st.Corrupt != 0 {
			t.Fatalf("round %d: stats %+v", round, st)
		}
		r, _ := b.Reader("a")
		if round == 0 {
			checkEntries(t, readN(t, r, 5), acked+1, 0)
			if err := r.Ack(acked + 5); err != nil {
				t.Fatal(err)
			}
		} else if st := b.Stats(); st.Cursors[0].Acked != acked+5 || st.Cursors[0].LagRecords != 0 {
			t.Fatalf("round %d: stats %+v", round, st)
		}
		b.Close()
	}
}

func TestLastSegmentWithTornHeaderIsReplaced(t *testing.T) {
	dir, segs := buildLog(t, 100)
	// A crash while creating the next segment left 7 bytes of header.
	next := filepath.Join(dir, "00000000000000000101.seg")
	if err := os.WriteFile(next, []byte("STSG\x01\x00\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := open(t, dir, buffer.Options{Cursors: []string{"a"}, SegmentBytes: 2048})
	if st := b.Stats(); st.Corrupt != 0 || st.NextSeq != 101 {
		t.Fatalf("stats %+v", st)
	}
	appendRange(t, b, 100, 110, 10)
	r, _ := b.Reader("a")
	checkEntries(t, readN(t, r, 110), 1, 0)
	_ = segs
	if _, err := b.Append(context.Background(), [][]byte{[]byte("x")}); err != nil {
		t.Fatal(err)
	}
}

// Records a cursor acknowledged were appended and durable: if the buffer
// no longer holds them while another cursor still needs them, the data dir
// was damaged outside sidetrail (a crash's torn tail is never
// acknowledged). They cannot be delivered; Open must count and log them,
// not pass over them in silence.
func TestAcknowledgedRecordsMissingAreCounted(t *testing.T) {
	const n = 400
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, segs []string) // returns nothing; the test computes what is left
	}{
		{"last segment truncated mid-record", func(t *testing.T, segs []string) {
			last := segs[len(segs)-1]
			offs := frameOffsets(t, last)
			modify(t, last, func(d []byte) []byte { return d[:offs[len(offs)/2]+10] })
		}},
		{"last segment truncated at a frame boundary", func(t *testing.T, segs []string) {
			last := segs[len(segs)-1]
			offs := frameOffsets(t, last)
			modify(t, last, func(d []byte) []byte { return d[:offs[len(offs)/2]] })
		}},
		{"last segment emptied", func(t *testing.T, segs []string) {
			modify(t, segs[len(segs)-1], func([]byte) []byte { return nil })
		}},
		{"last segment removed", func(t *testing.T, segs []string) {
			if err := os.Remove(segs[len(segs)-1]); err != nil {
				t.Fatal(err)
			}
		}},
		{"a middle segment removed", func(t *testing.T, segs []string) {
			if err := os.Remove(segs[len(segs)/2]); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := buffer.Options{Cursors: []string{"sink", "source"}, SegmentBytes: 2048}
			b := open(t, dir, opts)
			appendRange(t, b, 0, n, 10)
			src, _ := b.Reader("source")
			if err := src.Ack(n); err != nil { // the source's cursor follows its checkpoints
				t.Fatal(err)
			}
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			tc.damage(t, segFiles(t, dir))

			var logs bytes.Buffer
			opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			b2 := open(t, dir, opts)
			r, _ := b2.Reader("sink")
			have := 0
			for {
				ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
				batch, err := r.Read(ctx, nil, 100, 1<<20)
				cancel()
				if err != nil || len(batch) == 0 {
					break
				}
				have += len(batch)
			}
			st := b2.Stats()
			lost := uint64(n - have)
			if lost == 0 {
				t.Fatal("the damage took nothing: the test is wrong")
			}
			if st.CorruptRecords != lost || st.Corrupt == 0 {
				t.Errorf("read %d of %d: corrupt regions %d holding %d records, want %d records", have, n, st.Corrupt, st.CorruptRecords, lost)
			}
			if !strings.Contains(logs.String(), "level=ERROR") {
				t.Errorf("no error logged:\n%s", logs.String())
			}
			if st.NextSeq != n+1 {
				t.Errorf("next seq %d, want %d", st.NextSeq, n+1)
			}
		})
	}
}

// What a crash or an acknowledged deletion leaves is not counted: a torn
// tail nobody acknowledged, and segments every cursor had passed (whose
// cursor files, fsynced at most once a second, may be older than the
// deletion after a power failure).
func TestMissingButUnacknowledgedIsNotCorruption(t *testing.T) {
	const n = 400
	dir := t.TempDir()
	opts := buffer.Options{Cursors: []string{"sink", "source"}, SegmentBytes: 2048}
	b := open(t, dir, opts)
	appendRange(t, b, 0, n, 10)
	sink, _ := b.Reader("sink")
	if err := sink.Ack(5); err != nil {
		t.Fatal(err)
	}
	stale, err := os.ReadFile(filepath.Join(dir, "sink.cursor"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range opts.Cursors {
		r, _ := b.Reader(name)
		if err := r.Ack(n / 2); err != nil {
			t.Fatal(err)
		}
	}
	buffer.Reap(b)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	segs := segFiles(t, dir)
	if firstSeqOf(segs[0]) <= 6 {
		t.Fatal("no segment was deleted: the test is wrong")
	}
	// A cursor file older than the deletion (a power failure undid its
	// last writes) and a torn tail.
	if err := os.WriteFile(filepath.Join(dir, "sink.cursor"), stale, 0o644); err != nil {
		t.Fatal(err)
	}
	frame := validFrame(uint64(n+1), payload(n))
	modify(t, segs[len(segs)-1], func(d []byte) []byte { return append(d, frame[:len(frame)/2]...) })
	b2 := open(t, dir, opts)
	if st := b2.Stats(); st.Corrupt != 0 || st.CorruptRecords != 0 {
		t.Fatalf("counted as corrupt: %+v", st)
	}
}

// A directory where a cursor or segment file belongs is an error at Open:
// a cursor could never be acknowledged (a rename onto a directory fails),
// and the drain would wait out its timeout on every stop.
func TestDirectoryInPlaceOfACursorFileIsAnError(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "out.cursor"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := buffer.Open(dir, buffer.Options{Cursors: []string{"out"}})
	if err == nil || !strings.Contains(err.Error(), "out.cursor") || !strings.Contains(err.Error(), "directory") {
		t.Errorf("Open error %v", err)
	}
}

// Other directories are ignored, with a warning: a configuration that
// does not name them can still start (a reload that failed on them falls
// back to it). So is a file named like a segment whose number no buffer
// gives (zero, or past maxSeq): its first-1 wrapped around (buffer15).
func TestStrayEntriesAreIgnored(t *testing.T) {
	for _, tc := range []struct {
		names []string
		make  func(path string) error
		warn  string
	}{
		{[]string{"junk.cursor", "99999999999999999999.seg", "lost+found"},
			func(p string) error { return os.Mkdir(p, 0o755) }, "ignoring a directory"},
		{[]string{"00000000000000000000.seg", "18446744073709551615.seg"},
			func(p string) error { return os.WriteFile(p, []byte("junk"), 0o644) }, "ignoring a file named like a segment"},
	} {
		dir := t.TempDir()
		for _, name := range tc.names {
			if err := tc.make(filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
		var logs bytes.Buffer
		b := open(t, dir, buffer.Options{Cursors: []string{"out"}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		appendRange(t, b, 0, 10, 10)
		r, _ := b.Reader("out")
		checkEntries(t, readN(t, r, 10), 1, 0)
		if st := b.Stats(); st.Corrupt != 0 || st.NextSeq != 11 {
			t.Fatalf("%v: stats %+v", tc.names, st)
		}
		if n := strings.Count(logs.String(), tc.warn); n != len(tc.names) {
			t.Errorf("%d warnings, want %d:\n%s", n, len(tc.names), logs.String())
		}
	}
}

// A stray file named like a segment after the last one (junk, or a crash
// while creating a segment) must not bound the scan of the real last
// segment: its records past the stray name are delivered at once, not
// held back as "corrupt" until the next start.
func TestStrayLastSegmentDoesNotHideRecords(t *testing.T) {
	const n = 100
	dir, segs := buildLog(t, n)
	last := segs[len(segs)-1]
	stray := filepath.Join(dir, fmt.Sprintf("%020d.seg", firstSeqOf(last)+3))
	if err := os.WriteFile(stray, []byte("junk\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	seen, st := readAllAfterReopen(t, dir)
	if len(seen) != n || st.Corrupt != 0 || st.CorruptRecords != 0 {
		t.Fatalf("read %d of %d, corrupt %d holding %d", len(seen), n, st.Corrupt, st.CorruptRecords)
	}
	if _, err := os.Stat(stray); !os.IsNotExist(err) {
		t.Fatalf("stray file kept: %v", err)
	}
}

// The same for a stray named inside an earlier segment's range, junk or
// empty: it bounded that segment's scan, and the segment's intact records
// past its name were counted corrupt and lost (buffer13 F1: 3,145 of them).
func TestStrayMiddleSegmentDoesNotHideRecords(t *testing.T) {
	random := make([]byte, 50000)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	for _, content := range [][]byte{[]byte("junk\n"), random, nil} {
		const n = 100
		dir, segs := buildLog(t, n)
		stray := filepath.Join(dir, fmt.Sprintf("%020d.seg", firstSeqOf(segs[1])+3))
		if err := os.WriteFile(stray, content, 0o644); err != nil {
			t.Fatal(err)
		}
		seen, st := readAllAfterReopen(t, dir)
		if len(seen) != n || st.Corrupt != 0 || st.CorruptRecords != 0 {
			t.Errorf("%d-byte stray: read %d of %d, corrupt %d holding %d", len(content), len(seen), n, st.Corrupt, st.CorruptRecords)
		}
		if _, err := os.Stat(stray); !os.IsNotExist(err) {
			t.Errorf("%d-byte stray: kept: %v", len(content), err)
		}
	}
}

// A process that opens the buffer again (a configuration reload) counts
// damage it counted before only once, when the Buffers share a DamageSeen;
// new damage still counts.
func TestDamageCountedOncePerProcess(t *testing.T) {
	const n = 400
	dir, segs := buildLog(t, n)
	offs := frameOffsets(t, segs[1])
	modify(t, segs[1], func(d []byte) []byte { d = bytes.Clone(d); d[offs[3]+20] ^= 0xff; return d })
	opts := buffer.Options{Cursors: []string{"a", "src"}, SegmentBytes: 2048, Seen: &buffer.DamageSeen{}}
	b := open(t, dir, opts)
	src, _ := b.Reader("src")
	if err := src.Ack(n); err != nil {
		t.Fatal(err)
	}
	first := b.Stats()
	if first.Corrupt != 1 || first.CorruptRecords != 1 {
		t.Fatalf("first open: %d regions, %d records", first.Corrupt, first.CorruptRecords)
	}
	b.Close()
	// New damage: the last segment loses its second half.
	last := segs[len(segs)-1]
	lo := frameOffsets(t, last)
	modify(t, last, func(d []byte) []byte { return d[:lo[len(lo)/2]] })
	b = open(t, dir, opts)
	second := b.Stats()
	if second.Corrupt != 1 || second.CorruptRecords != uint64(len(lo)-len(lo)/2) {
		t.Fatalf("second open: %d regions, %d records; want only the new damage: 1 region, %d records",
			second.Corrupt, second.CorruptRecords, len(lo)-len(lo)/2)
	}
	b.Close()
	b = open(t, dir, opts)
	if third := b.Stats(); third.Corrupt != 0 || third.CorruptRecords != 0 {
		t.Fatalf("third open counted again: %+v", third)
	}
	// Without a shared DamageSeen, every Open counts what it finds.
	b.Close()
	opts.Seen = nil
	b = open(t, dir, opts)
	if st := b.Stats(); st.Corrupt != 2 {
		t.Fatalf("without Seen: %d regions, want 2", st.Corrupt)
	}
}

// buffer inspect shows the records damage took, as the agent counts them at
// its next start: a removed segment and a cut tail leave seqs no segment
// holds, a cursor acknowledged past the last record held lost its records.
// Before, it printed "CORRUPT 0" and cursors "ok" for 50 and 4,096 records
// gone (crash9 probe).
func TestInspectShowsMissingRecords(t *testing.T) {
	const n = 400
	dir, segs := buildLog(t, n)
	// Cursor a acknowledges every record; b, none (it keeps the segments).
	b := open(t, dir, buffer.Options{Cursors: []string{"a", "b"}, SegmentBytes: 2048})
	r, _ := b.Reader("a")
	if err := r.Ack(n); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	segs = segFiles(t, dir)
	removed := segs[1]
	lost := firstSeqOf(segs[2]) - firstSeqOf(segs[1])
	if err := os.Remove(removed); err != nil {
		t.Fatal(err)
	}
	offs := frameOffsets(t, segs[2])
	cut := len(offs) - 3 // the last three records of a closed segment
	modify(t, segs[2], func(d []byte) []byte { return d[:offs[cut]] })
	last := segs[len(segs)-1]
	lastOffs := frameOffsets(t, last)
	modify(t, last, func(d []byte) []byte { return d[:lastOffs[len(lastOffs)-2]] }) // the newest two
	rep, text := inspectText(t, dir, "a", "b")
	if len(rep.Missing) != 3 {
		t.Fatalf("missing %+v\n%s", rep.Missing, text)
	}
	if m := rep.Missing[0]; m.First != firstSeqOf(removed) || m.Records != lost {
		t.Errorf("removed segment: %+v, want %d records from %d", m, lost, firstSeqOf(removed))
	}
	if m := rep.Missing[1]; m.Records != 3 || m.Last != firstSeqOf(segs[3])-1 {
		t.Errorf("cut tail: %+v, want 3 records ending at %d", m, firstSeqOf(segs[3])-1)
	}
	if c := rep.Cursors[0]; c.Name != "a" || c.Beyond != 2 || !strings.Contains(text, "acknowledged 2 records past the last one held") {
		t.Errorf("cursor %+v\n%s", c, text)
	}
	// The newest two, acknowledged by a, not by b: lost for b, as the
	// agent counts them (regress24 R3: no line said so).
	if m := rep.Missing[2]; m.First != n-1 || m.Last != n || m.Records != 2 {
		t.Errorf("cut tail acknowledged by one cursor: %+v", m)
	}
	if strings.Count(text, "missing:") != 3 {
		t.Errorf("text:\n%s", text)
	}
	b = open(t, dir, buffer.Options{Cursors: []string{"a", "b"}, SegmentBytes: 2048})
	if st := b.Stats(); st.CorruptRecords != lost+3+2 {
		t.Errorf("the agent counted %d records, inspect %d", st.CorruptRecords, lost+3+2)
	}
}

// A segment cut shorter while the buffer is open (something else truncated
// it) is damage like a bad checksum: the records it no longer holds are
// counted and skipped, and reading goes on. The read failed with
// "unexpected EOF" instead, and the agent stopped (buffer11 #3). The active
// segment, cut, is read on from where new appends go.
func TestSegmentCutWhileOpen(t *testing.T) {
	dir := t.TempDir()
	opts, segs := closedSegments(t, dir, 200, 4)
	b := open(t, dir, opts) // nothing of the data in memory: reads go to the files
	for _, p := range []string{segs[1], segs[len(segs)-1]} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, fi.Size()/2); err != nil {
			t.Fatal(err)
		}
	}
	appendRange(t, b, 200, 210, 10)
	r, _ := b.Reader("a")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var got []buffer.Entry
	for len(got) == 0 || got[len(got)-1].Seq < 210 {
		es, err := r.Read(ctx, nil, 0, 0)
		if err != nil {
			t.Fatalf("Read after %d records: %v", len(got), err)
		}
		got = append(got, es...)
	}
	st := b.Stats()
	if lost := 210 - uint64(len(got)); lost == 0 || st.CorruptRecords != lost || st.Corrupt != 2 {
		t.Fatalf("read %d of 210 records; counted %d lost in %d regions", len(got), st.CorruptRecords, st.Corrupt)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Seq <= got[i-1].Seq {
			t.Fatalf("seq %d after %d", got[i].Seq, got[i-1].Seq)
		}
	}
}

// A middle segment removed or emptied after a crash that came before any
// cursor passed its records: the segments after it show the records were
// written, and the loss is counted (buffer13 F0: 4,096 lines lost with no
// word, where the same damage after a checkpoint was counted).
func TestUnacknowledgedMiddleSegmentMissingIsCounted(t *testing.T) {
	for _, remove := range []bool{true, false} {
		const n = 400
		dir := t.TempDir()
		opts := buffer.Options{Cursors: []string{"sink", "source"}, SegmentBytes: 2048}
		b := open(t, dir, opts)
		appendRange(t, b, 0, n, 10)
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		segs := segFiles(t, dir)
		mid := segs[len(segs)/2]
		held := len(frameOffsets(t, mid))
		if remove {
			if err := os.Remove(mid); err != nil {
				t.Fatal(err)
			}
		} else {
			modify(t, mid, func([]byte) []byte { return nil })
		}
		seen, st := readAllAfterReopenWith(t, dir, opts)
		if lost := uint64(n - len(seen)); lost != uint64(held) || st.CorruptRecords != lost {
			t.Errorf("removed %v: %d records held, %d lost, %d counted", remove, held, lost, st.CorruptRecords)
		}
	}
}

func readAllAfterReopenWith(t *testing.T, dir string, opts buffer.Options) (map[uint64]bool, buffer.Stats) {
	t.Helper()
	b := open(t, dir, opts)
	r, _ := b.Reader(opts.Cursors[0])
	seen := map[uint64]bool{}
	for _, e := range readAvailable(t, r) {
		seen[e.Seq] = true
	}
	return seen, b.Stats()
}

// A stray named below the oldest segment was reported as thousands of
// lost records, by the agent (junk) and by inspect (junk or empty), when
// nothing was lost (buffer13 F6). Inspect names it as a stray instead.
func TestStrayBelowOldestIsNoLoss(t *testing.T) {
	for _, content := range [][]byte{[]byte("junk junk junk junk junk junk"), nil} {
		const n = 100
		dir, segs := buildLog(t, n)
		if err := os.Remove(segs[0]); err != nil { // delivered and deleted
			t.Fatal(err)
		}
		stray := fmt.Sprintf("%020d.seg", firstSeqOf(segs[1])-5)
		if err := os.WriteFile(filepath.Join(dir, stray), content, 0o644); err != nil {
			t.Fatal(err)
		}
		rep, err := buffer.Inspect(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Missing) != 0 || len(rep.Strays) != 1 || rep.Strays[0] != stray {
			t.Errorf("%d-byte stray: inspect says missing %v, strays %v", len(content), rep.Missing, rep.Strays)
		}
		_, st := readAllAfterReopen(t, dir)
		if st.CorruptRecords != 0 {
			t.Errorf("%d-byte stray: %d records counted lost", len(content), st.CorruptRecords)
		}
	}
}

// Inspect names the files the agent ignores for their names (it warns of
// them at start): inspect said nothing of them (buffer18 F2).
func TestInspectNamesIgnoredSegmentFiles(t *testing.T) {
	dir := t.TempDir()
	b := open(t, dir, buffer.Options{Cursors: []string{"a"}})
	appendRange(t, b, 0, 3, 3)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	ignored := []string{"00000000000000000000.seg", "09223372036854775808.seg"}
	for _, name := range ignored {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("STSG"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rep, text := inspectText(t, dir, "a")
	if !slices.Equal(rep.Ignored, ignored) || strings.Count(text, "ignored: ") != 2 || len(rep.Segments) != 1 {
		t.Errorf("ignored %v\n%s", rep.Ignored, text)
	}
}

// A damaged region whose records every cursor had acknowledged lost
// nothing: its segment stays only for the records after it. It was counted
// in the corrupt counters at every start for as long as the segment stayed
// (buffer22 P2). A region one cursor still needs is counted, as before;
// unless that cursor is a source's place, which delivers nothing (buffer22
// P1).
func TestDamageEveryCursorAcknowledgedIsNotCounted(t *testing.T) {
	cases := []struct {
		name         string
		frame        int // frame of the second segment damaged
		ackA, ackB   int // frames of that segment each cursor acknowledged through
		bPosition    bool
		wantRegions  uint64
		wantRecords  uint64
		wantReadFrom int // the frame cursor b reads first
	}{
		{"both cursors past it", 2, 5, 5, false, 0, 0, 6},
		{"the last acknowledged record damaged", 5, 5, 5, false, 0, 0, 6},
		{"the record after the cursors damaged", 6, 5, 5, false, 1, 1, 7},
		{"one cursor behind it", 2, 5, 1, false, 1, 1, 3},
		{"a source's place behind it", 2, 5, 1, true, 0, 0, 3},
		{"a source's place past it, the sink behind", 2, 1, 5, true, 1, 1, 6},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := buffer.Options{Cursors: []string{"a", "b"}, SegmentBytes: 2048}
			if tc.bPosition {
				opts.Positions = []string{"b"}
			}
			b, err := buffer.Open(dir, opts)
			if err != nil {
				t.Fatal(err)
			}
			appendRange(t, b, 0, 400, 10)
			segs := segFiles(t, dir)
			first := firstSeqOf(segs[1])
			for name, k := range map[string]int{"a": tc.ackA, "b": tc.ackB} {
				r, err := b.Reader(name)
				if err != nil {
					t.Fatal(err)
				}
				readAvailable(t, r)
				if err := r.Ack(first + uint64(k)); err != nil {
					t.Fatal(err)
				}
			}
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			offs := frameOffsets(t, segs[1])
			modify(t, segs[1], func(d []byte) []byte { d[offs[tc.frame]+20] ^= 0xff; return d })
			rep, err := buffer.Inspect(dir, "a", "b")
			if err != nil {
				t.Fatal(err)
			}
			rep.SetPositions(opts.Positions...)
			var out bytes.Buffer
			rep.WriteText(&out)
			if text := out.String(); strings.Contains(text, "delivered, nothing lost") != (tc.wantRecords == 0) {
				t.Errorf("inspect:\n%s", text)
			}
			for start := 0; start < 2; start++ { // counted the same at every start
				b := open(t, dir, opts)
				st := b.Stats()
				if st.Corrupt != tc.wantRegions || st.CorruptRecords != tc.wantRecords {
					t.Fatalf("start %d: %d corrupt regions holding %d records, want %d and %d", start, st.Corrupt, st.CorruptRecords, tc.wantRegions, tc.wantRecords)
				}
				r, _ := b.Reader("b")
				got := readAvailable(t, r)
				if len(got) == 0 || got[0].Seq != first+uint64(tc.wantReadFrom) {
					t.Fatalf("start %d: cursor b read %d records, from %v; want from seq %d", start, len(got), got[:min(len(got), 1)], first+uint64(tc.wantReadFrom))
				}
				for _, e := range got {
					if want := payload(int(e.Seq) - 1); !bytes.Equal(e.Data, want) {
						t.Fatalf("seq %d: %q, want %q", e.Seq, e.Data, want)
					}
				}
				b.Close()
			}
		})
	}
}

// A tail the sink had acknowledged, cut off (a power cut with fsync:
// interval), while a source's place is behind it: the sink delivered those
// records and the source reads their lines again, so nothing is lost and
// nothing counted (buffer22 P1: 33 records counted and logged as lost).
// With a sink behind the cut too, the source's lines read again reach it
// (regress24 R4); it counts them when the source's place is past the cut.
func TestCutTailTheSinksHadDeliveredIsNotCounted(t *testing.T) {
	for _, tc := range []struct {
		name            string
		positions       []string
		ackSink, ackSrc uint64
		wantRecords     uint64
	}{
		{"the source's place behind", []string{"src"}, 100, 50, 0},
		{"a sink behind", nil, 100, 50, 3},
		// A sink behind the tail too, the source's place behind it: its
		// lines are read again (regress24 R4). Past it, they are not.
		{"a sink and the source's place behind", []string{"src"}, 60, 50, 0},
		{"a sink behind, the source's place past it", []string{"src"}, 60, 100, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := buffer.Options{Cursors: []string{"ahead", "sink", "src"}, Positions: tc.positions, SegmentBytes: 1 << 20}
			b := open(t, dir, opts)
			appendRange(t, b, 0, 100, 10)
			for name, acked := range map[string]uint64{"ahead": 100, "sink": tc.ackSink, "src": tc.ackSrc} {
				r, err := b.Reader(name)
				if err != nil {
					t.Fatal(err)
				}
				readAvailable(t, r)
				if err := r.Ack(acked); err != nil {
					t.Fatal(err)
				}
			}
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			segs := segFiles(t, dir)
			last := segs[len(segs)-1]
			offs := frameOffsets(t, last)
			modify(t, last, func(d []byte) []byte { return d[:offs[len(offs)-3]] })
			// buffer inspect says what the agent will count.
			rep, err := buffer.Inspect(dir, "ahead", "sink", "src")
			if err != nil {
				t.Fatal(err)
			}
			rep.SetPositions(tc.positions...)
			var text bytes.Buffer
			rep.WriteText(&text)
			if strings.Contains(text.String(), "lost to damage") != (tc.wantRecords > 0) || !strings.Contains(text.String(), "missing:") {
				t.Errorf("inspect:\n%s", text.String())
			}
			b = open(t, dir, opts)
			if st := b.Stats(); st.CorruptRecords != tc.wantRecords {
				t.Errorf("%d records counted lost, want %d", st.CorruptRecords, tc.wantRecords)
			}
		})
	}
}

// inspectText inspects dir as `sidetrail buffer inspect` does and returns
// the report and its text.
func inspectText(t *testing.T, dir string, cursors ...string) (*buffer.Report, string) {
	t.Helper()
	rep, err := buffer.Inspect(dir, cursors...)
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	return rep, text.String()
}

// closedBuffer makes a buffer with records 1-20 and the cursors named, and
// closes it.
func closedBuffer(t *testing.T, cursors ...string) string {
	t.Helper()
	dir := t.TempDir()
	b, err := buffer.Open(dir, buffer.Options{Cursors: cursors})
	if err != nil {
		t.Fatal(err)
	}
	appendRange(t, b, 0, 20, 10)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A FIFO named like a segment or a cursor: opened without O_NONBLOCK, its
// open waited for a writer, and the agent's start (and buffer inspect)
// with it, for good, SIGTERM ignored (buffer25 P3). Open and Inspect now
// fail at once, naming the file.
func TestFIFOInTheBufferIsRefused(t *testing.T) {
	for _, name := range []string{"00000000000000099999.seg", "00000000000000000001.seg", "a.cursor"} {
		dir := closedBuffer(t, "a")
		p := filepath.Join(dir, name)
		os.Remove(p)
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 2)
		go func() {
			b, err := buffer.Open(dir, buffer.Options{Cursors: []string{"a"}})
			if err == nil {
				b.Close()
			}
			done <- err
		}()
		go func() {
			_, err := buffer.Inspect(dir)
			done <- err
		}()
		for range 2 {
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), "not a regular file") || !strings.Contains(err.Error(), name) {
					t.Errorf("%s: err %v, want one naming it as not a regular file", name, err)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("%s: Open or Inspect still blocked after 5 s", name)
			}
		}
	}
}

// A segment file renamed by hand, its header and records intact: it gets
// the name its header says back, when no other file has it, and every
// record is read. Taken for a stray (its records lie below its name), the
// oldest segment so renamed was removed, its records lost uncounted
// (buffer25 P2: 2,048 records). Inspect says what the agent will do.
func TestMisnamedSegmentIsRenamedBack(t *testing.T) {
	const n = 400
	for _, which := range []string{"oldest", "middle", "last"} {
		t.Run(which, func(t *testing.T) {
			dir, segs := buildLog(t, n)
			src := map[string]string{"oldest": segs[0], "middle": segs[1], "last": segs[len(segs)-1]}[which]
			to := filepath.Join(dir, fmt.Sprintf("%020d.seg", firstSeqOf(segs[len(segs)-2])+3)) // inside another's range
			if which == "last" {
				to = filepath.Join(dir, fmt.Sprintf("%020d.seg", firstSeqOf(src)+1000))
			}
			if err := os.Rename(src, to); err != nil {
				t.Fatal(err)
			}
			_, text := inspectText(t, dir)
			if !strings.Contains(text, "misnamed: "+filepath.Base(to)) || strings.Contains(text, "missing") || strings.Contains(text, "stray") {
				t.Errorf("inspect:\n%s", text)
			}
			seen, st := readAllAfterReopen(t, dir)
			if len(seen) != n || st.Corrupt != 0 || st.CorruptRecords != 0 {
				t.Fatalf("read %d of %d, stats %+v", len(seen), n, st)
			}
			if _, err := os.Stat(src); err != nil {
				t.Errorf("not renamed back: %v", err)
			}
		})
	}
	// Renamed in a chain, each onto the name of the one before: the name
	// each wants is freed by a rename later in the pass; at one pass the
	// oldest was removed as a stray (regress25a P4).
	t.Run("chain", func(t *testing.T) {
		dir, segs := buildLog(t, n)
		park := filepath.Join(dir, fmt.Sprintf("%020d.seg", firstSeqOf(segs[len(segs)-1])+7))
		for _, mv := range [][2]string{{segs[0], park}, {segs[1], segs[0]}, {segs[2], segs[1]}} {
			if err := os.Rename(mv[0], mv[1]); err != nil {
				t.Fatal(err)
			}
		}
		_, text := inspectText(t, dir)
		if strings.Count(text, "misnamed: ") != 3 || strings.Contains(text, "missing") || strings.Contains(text, "stray") {
			t.Errorf("inspect:\n%s", text)
		}
		if seen, st := readAllAfterReopen(t, dir); len(seen) != n || st.CorruptRecords != 0 {
			t.Fatalf("read %d of %d, stats %+v", len(seen), n, st)
		}
	})
	// Its name held by a stray (an empty file left there): the stray goes
	// first, and the segment gets its name back. Both were removed as
	// strays, the records lost uncounted (regress25a P8).
	t.Run("stray at its name", func(t *testing.T) {
		dir, segs := buildLog(t, n)
		to := filepath.Join(dir, fmt.Sprintf("%020d.seg", firstSeqOf(segs[1])+3))
		if err := os.Rename(segs[0], to); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(segs[0], nil, 0o644); err != nil {
			t.Fatal(err)
		}
		_, text := inspectText(t, dir)
		if !strings.Contains(text, "misnamed: "+filepath.Base(to)) || strings.Contains(text, "missing") {
			t.Errorf("inspect:\n%s", text)
		}
		if seen, st := readAllAfterReopen(t, dir); len(seen) != n || st.CorruptRecords != 0 {
			t.Fatalf("read %d of %d, stats %+v", len(seen), n, st)
		}
	})
	// Its name taken (a copy of another segment over one): a stray, as
	// before, and what the file it replaced held is counted missing.
	dir, segs := buildLog(t, n)
	data, err := os.ReadFile(segs[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(segs[2], data, 0o644); err != nil {
		t.Fatal(err)
	}
	seen, st := readAllAfterReopen(t, dir)
	if st.CorruptRecords == 0 || len(seen)+int(st.CorruptRecords) != n {
		t.Fatalf("read %d, counted %d missing, of %d", len(seen), st.CorruptRecords, n)
	}
}

// Given the configuration's cursors, inspect marks a cursor file of none of
// them (a sink renamed or removed) as one the agent removes at its next
// start: it was "ok" beside its lag, as if it still held the segments
// (buffer25 P4). Its place does not count for what is missing either.
func TestInspectMarksCursorsNotConfigured(t *testing.T) {
	dir := closedBuffer(t, "old", "kept")
	rep, text := inspectText(t, dir, "kept", "new")
	for _, c := range rep.Cursors {
		if c.Unconfigured != (c.Name == "old") {
			t.Errorf("cursor %s: unconfigured %v", c.Name, c.Unconfigured)
		}
	}
	if !strings.Contains(text, "removed at the next start") {
		t.Errorf("inspect:\n%s", text)
	}
	if _, text := inspectText(t, dir); strings.Contains(text, "not in the configuration") {
		t.Errorf("without the configuration's cursors:\n%s", text)
	}
	// Such a cursor is not read, as the agent removes it unread: a FIFO so
	// named failed inspect, while run started (regress25a P6).
	if err := syscall.Mkfifo(filepath.Join(dir, "ghost.cursor"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, text := inspectText(t, dir, "kept", "new"); !strings.Contains(text, "ghost") {
		t.Errorf("with a FIFO as an unconfigured cursor:\n%s", text)
	}
}

// A missing range that a sink's cursor runs into: inspect splits it there,
// the part every sink had acknowledged delivered, the rest lost, as the agent
// counts it (regress25a P5: inspect called the whole range lost).
func TestInspectSplitsAMissingRangeAtTheCursor(t *testing.T) {
	const n = 400
	dir, segs := buildLog(t, n)
	mid := segs[len(segs)/2]
	first := firstSeqOf(mid)
	// The cursor moved while the agent was stopped: the segments before it
	// are still there.
	if err := os.WriteFile(filepath.Join(dir, "a.cursor"), buffer.CursorFile(first+2), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(mid); err != nil {
		t.Fatal(err)
	}
	_, text := inspectText(t, dir, "a")
	var lost uint64
	for _, l := range strings.Split(text, "\n") {
		var lo, hi, k uint64
		if _, err := fmt.Sscanf(l, "missing: seq %d-%d (%d records)", &lo, &hi, &k); err == nil && strings.Contains(l, "lost to damage") {
			lost += k
		}
	}
	_, st := readAllAfterReopenWith(t, dir, buffer.Options{Cursors: []string{"a"}, SegmentBytes: 2048})
	if lost != st.CorruptRecords || lost == 0 {
		t.Fatalf("inspect counts %d lost, the agent %d:\n%s", lost, st.CorruptRecords, text)
	}
}
