package main

import (
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics exports every component's counters. Components keep plain atomic
// counters (no Prometheus in the core packages); at scrape time the collector
// reads them from the running generation. A reload starts new components
// whose counters begin at zero, so the totals of ended generations are
// carried and added: exported counters never go backwards.
type metrics struct {
	registry     *prometheus.Registry
	batchLatency *prometheus.HistogramVec
	reloads      *prometheus.CounterVec

	mu      sync.Mutex
	gen     *generation
	carried map[string]carriedSample
}

type carriedSample struct {
	desc   *prometheus.Desc
	labels []string
	value  float64
}

// sample is one exported value.
type sample struct {
	desc   *prometheus.Desc
	typ    prometheus.ValueType
	labels []string
	value  float64
}

func newMetrics(version string) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		batchLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sidetrail_sink_batch_duration_seconds",
			Help:    "Time from reading a batch from the buffer to acknowledging it, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}, []string{"sink"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sidetrail_config_reloads_total",
			Help: "Configuration reloads by result (success, failure: the previous configuration keeps running).",
		}, []string{"result"}),
		carried: map[string]carriedSample{},
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "sidetrail_build_info", Help: "Always 1; the version label says which build runs.",
		ConstLabels: prometheus.Labels{"version": version},
	})
	build.Set(1)
	m.registry.MustRegister(m, m.batchLatency, m.reloads, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.reloads.WithLabelValues("success")
	m.reloads.WithLabelValues("failure")
	return m
}

func (m *metrics) observeBatch(sink string, d time.Duration) {
	m.batchLatency.WithLabelValues(sink).Observe(d.Seconds())
}

func (m *metrics) reloaded(ok bool) {
	if ok {
		m.reloads.WithLabelValues("success").Inc()
	} else {
		m.reloads.WithLabelValues("failure").Inc()
	}
}

func (m *metrics) setGeneration(g *generation) {
	for _, su := range g.sinks {
		// A series from the start: a dashboard of batch durations showed
		// "no data" exactly while a sink had never delivered a batch.
		m.batchLatency.WithLabelValues(su.cfg.Name)
	}
	m.mu.Lock()
	m.gen = g
	m.mu.Unlock()
}

// endGeneration folds the ended generation's counters into the carried
// totals.
func (m *metrics) endGeneration(g *generation) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range g.samples() {
		if s.typ != prometheus.CounterValue {
			continue
		}
		k := sampleKey(s.desc, s.labels)
		c := m.carried[k]
		c.desc, c.labels = s.desc, s.labels
		c.value += s.value
		m.carried[k] = c
	}
	if m.gen == g {
		m.gen = nil
	}
}

func sampleKey(d *prometheus.Desc, labels []string) string {
	return d.String() + "\xff" + strings.Join(labels, "\xff")
}

// ready is /readyz: a configuration is running and no sink has been failing
// longer than it may.
func (m *metrics) ready() error {
	m.mu.Lock()
	g := m.gen
	m.mu.Unlock()
	if g == nil {
		return errors.New("no pipeline running (starting or reloading)")
	}
	return g.ready()
}

// Describe sends no descriptors: the collector is unchecked, because the
// label values (sources, sinks, rules) come from the configuration.
func (m *metrics) Describe(chan<- *prometheus.Desc) {}

// Collect reads the running generation's counters.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := map[string]bool{}
	if m.gen != nil {
		for _, s := range m.gen.samples() {
			v := s.value
			if s.typ == prometheus.CounterValue {
				k := sampleKey(s.desc, s.labels)
				v += m.carried[k].value
				seen[k] = true
			}
			ch <- prometheus.MustNewConstMetric(s.desc, s.typ, v, s.labels...)
		}
	}
	for k, c := range m.carried {
		if !seen[k] {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, c.value, c.labels...)
		}
	}
}
