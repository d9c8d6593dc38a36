package elasticsearch

import (
	"sync"
	"testing"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/internal/esfake"
)

// TestConcurrentSends: Send is safe for concurrent use (the shipper's
// concurrency key relies on it). Eight goroutines send distinct batches,
// some with gzip bodies and 413 splits, at once; every document arrives
// once with the body its own batch encoded.
func TestConcurrentSends(t *testing.T) {
	for _, comp := range []string{"none", "gzip"} {
		t.Run(comp, func(t *testing.T) {
			f := esfake.Start(t)
			s := newSink(t, Config{URLs: []string{f.URL()}, Compression: comp})
			probe := testRecords(50)
			rq := s.getRequest()
			s.encode(rq, probe)
			f.SetMaxBodyBytes(len(rq.body) / 2) // every batch of 50 splits at least once
			s.putRequest(rq)
			const workers, batches = 8, 6
			var wg sync.WaitGroup
			errs := make(chan error, workers*batches)
			for w := range workers {
				wg.Go(func() {
					for b := range batches {
						recs := testRecords(50)
						for i := range recs {
							recs[i].FileKey = uint64(w*batches + b + 1)
						}
						res := make([]sidetrail.Result, len(recs))
						if err := s.Send(t.Context(), recs, res); err != nil {
							errs <- err
							return
						}
						if c := countStatus(res); c[sidetrail.Accepted] != len(recs) {
							t.Errorf("worker %d batch %d: %v", w, b, c)
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if got, want := f.Count(), workers*batches*50; got != want {
				t.Fatalf("stored %d documents, want %d", got, want)
			}
		})
	}
}
