package config

import (
	"time"

	sidetrail "github.com/sidetrail/sidetrail"
)

// Defaults. applyDefaults is the only place they are applied.
const (
	DefaultDataDir           = "/var/lib/sidetrail"
	DefaultLogLevel          = "info"
	DefaultLogFormat         = "text"
	DefaultDrainTimeout      = 10 * time.Second
	DefaultSourceFormat      = FormatRaw
	DefaultNginxLogFormat    = "combined"
	DefaultStartAt           = "beginning"
	DefaultMaxLineBytes      = sidetrail.ByteSize(1 << 20)
	DefaultWorkers           = 1
	DefaultScanInterval      = 250 * time.Millisecond
	DefaultRotateWait        = 5 * time.Second
	DefaultMaxOpenFiles      = 1024
	DefaultFingerprintBytes  = 1024
	DefaultBufferMaxBytes    = sidetrail.ByteSize(1 << 30)
	DefaultSegmentBytes      = sidetrail.ByteSize(16 << 20)
	DefaultWhenFull          = WhenFullBlock
	DefaultFsync             = FsyncBatch
	DefaultFsyncInterval     = time.Second
	DefaultBatchMaxRecords   = 1000
	DefaultBatchMaxBytes     = sidetrail.ByteSize(5 << 20)
	DefaultBatchMaxWait      = 200 * time.Millisecond
	DefaultInitialBackoff    = 250 * time.Millisecond
	DefaultMaxBackoff        = 30 * time.Second
	DefaultReadyAfterFailing = 5 * time.Minute
	DefaultDeadLetterBytes   = 64 << 20
	DefaultListen            = ":9110"
)

// applyDefaults fills every key the file left out. A key that is present
// keeps its value, zero included, and validation judges it. Format-specific
// source keys get their default only for their format (log_format for
// nginx); json's time_key and time_format and nginx_error's timezone stay ""
// meaning the parser's own default (the first of @timestamp, time,
// timestamp, ts; RFC 3339 strings or Unix numbers; UTC).
func (p *parser) applyDefaults(c *Config) {
	def := func(set bool, apply func()) {
		if !set {
			apply()
		}
	}
	def(p.set(&c.DataDir), func() { c.DataDir = DefaultDataDir })
	def(p.set(&c.Log.Level), func() { c.Log.Level = DefaultLogLevel })
	def(p.set(&c.Log.Format), func() { c.Log.Format = DefaultLogFormat })
	def(p.set(&c.DrainTimeout), func() { c.DrainTimeout = DefaultDrainTimeout })
	for i := range c.Sources {
		s := &c.Sources[i]
		s.Line = p.line(s)
		def(p.set(&s.Format), func() { s.Format = DefaultSourceFormat })
		def(p.set(&s.LogFormat) || s.Format != FormatNginx, func() { s.LogFormat = DefaultNginxLogFormat })
		def(p.set(&s.StartAt), func() { s.StartAt = DefaultStartAt })
		def(p.set(&s.MaxLineBytes), func() { s.MaxLineBytes = DefaultMaxLineBytes })
		def(p.set(&s.Workers), func() { s.Workers = DefaultWorkers })
		def(p.set(&s.ScanInterval), func() { s.ScanInterval = DefaultScanInterval })
		def(p.set(&s.RotateWait), func() { s.RotateWait = DefaultRotateWait })
		def(p.set(&s.MaxOpenFiles), func() { s.MaxOpenFiles = DefaultMaxOpenFiles })
		def(p.set(&s.FingerprintBytes), func() { s.FingerprintBytes = DefaultFingerprintBytes })
	}
	c.RedactLines = make([]int, len(c.Redact))
	for i := range c.Redact {
		c.RedactLines[i] = p.line(&c.Redact[i])
	}
	b := &c.Buffer
	def(p.set(&b.MaxBytes), func() { b.MaxBytes = DefaultBufferMaxBytes })
	def(p.set(&b.SegmentBytes), func() {
		// A small max_bytes gets smaller segments (at least two fit, as
		// the buffer wants), not an error about a key nobody wrote.
		b.SegmentBytes = min(DefaultSegmentBytes, max(b.MaxBytes/2, 64<<10))
	})
	def(p.set(&b.WhenFull), func() { b.WhenFull = DefaultWhenFull })
	def(p.set(&b.Fsync), func() { b.Fsync = DefaultFsync })
	def(p.set(&b.FsyncInterval), func() { b.FsyncInterval = DefaultFsyncInterval })
	for i := range c.Sinks {
		s := &c.Sinks[i]
		s.Line = p.line(s)
		def(p.set(&s.Batch.MaxRecords), func() { s.Batch.MaxRecords = DefaultBatchMaxRecords })
		def(p.set(&s.Batch.MaxBytes), func() { s.Batch.MaxBytes = DefaultBatchMaxBytes })
		def(p.set(&s.Batch.MaxWait), func() { s.Batch.MaxWait = DefaultBatchMaxWait })
		def(p.set(&s.Retry.InitialBackoff), func() { s.Retry.InitialBackoff = DefaultInitialBackoff })
		def(p.set(&s.Retry.MaxBackoff), func() { s.Retry.MaxBackoff = DefaultMaxBackoff })
		def(p.set(&s.ReadyAfterFailing), func() { s.ReadyAfterFailing = DefaultReadyAfterFailing })
		def(p.set(&s.DeadLetter.MaxBytes), func() { s.DeadLetter.MaxBytes = DefaultDeadLetterBytes })
	}
	def(p.set(&c.Server.Listen), func() { c.Server.Listen = DefaultListen })
}
