package buffer

// Stats is a snapshot of the buffer's gauges and counters. Counters are
// cumulative since Open.
type Stats struct {
	// Bytes is the size of all segment files; Records the records they
	// hold (acknowledged ones included until their segment is deleted);
	// Segments how many segment files there are.
	Bytes    int64
	Records  int64
	Segments int
	// NextSeq is the sequence number the next appended record gets.
	NextSeq uint64
	// Appended counts records appended; AppendErrors failed Append calls
	// (write errors, segment creation errors); SyncErrors failed fsyncs.
	Appended     uint64
	AppendErrors uint64
	SyncErrors   uint64
	// AckErrors counts Acks whose cursor file could not be written.
	AckErrors uint64
	// Corrupt counts damaged regions skipped (plus damaged segment headers
	// and cursor files); CorruptBytes the bytes in those regions;
	// CorruptRecords the records they held, as far as the sequence numbers
	// around them tell.
	Corrupt        uint64
	CorruptBytes   int64
	CorruptRecords uint64
	// TornBytes counts the bytes cut from the tail of the last segment at
	// Open: the remains of a write a crash interrupted. Expected after a
	// crash; not corruption.
	TornBytes int64
	// Dropped counts records deleted unacknowledged by DropOldest.
	Dropped uint64
	// TailCacheReads counts Reader reads served from memory rather than
	// from the segment file (see Options.TailCache).
	TailCacheReads uint64
	// BlockedNanos is the total time Append spent waiting for space; Full
	// is true while an Append is waiting.
	BlockedNanos int64
	Full         bool
	// Cursors has one entry per cursor, in Options.Cursors order.
	Cursors []CursorStats
}

// CursorStats describes one cursor.
type CursorStats struct {
	Name string
	// Acked is the last acknowledged sequence number.
	Acked uint64
	// LagRecords and LagBytes are what Reader.Lag returns.
	LagRecords uint64
	LagBytes   int64
	// Dropped counts the records DropOldest deleted before this cursor had
	// them (acknowledged, or read and in flight). Zero for Positions.
	Dropped uint64
}

// Stats returns a snapshot. It is safe for concurrent use, also after
// Close (then it describes the state at Close).
func (b *Buffer) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := Stats{
		Bytes:          b.bytes,
		Segments:       len(b.segs),
		NextSeq:        b.nextSeq,
		Appended:       b.stats.appended,
		AppendErrors:   b.stats.appendErrors,
		SyncErrors:     b.stats.syncErrors,
		AckErrors:      b.stats.ackErrors,
		Corrupt:        b.stats.corrupt,
		CorruptBytes:   b.stats.corruptBytes,
		CorruptRecords: b.stats.corruptRecords,
		TornBytes:      b.stats.tornBytes,
		Dropped:        b.stats.dropped,
		TailCacheReads: b.stats.tailCacheReads,
		BlockedNanos:   b.stats.blockedNanos,
		Full:           b.stats.blocked > 0,
	}
	for _, s := range b.segs {
		st.Records += s.records
	}
	for _, s := range b.stuck {
		st.Bytes += s.disk
		st.Segments++
	}
	for _, c := range b.cursors {
		lr, lb := b.lag(c)
		st.Cursors = append(st.Cursors, CursorStats{Name: c.name, Acked: c.acked, LagRecords: lr, LagBytes: lb, Dropped: c.dropped})
	}
	return st
}
