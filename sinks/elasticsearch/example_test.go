package elasticsearch_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/internal/esfake"
	"github.com/sidetrail/sidetrail/sinks/elasticsearch"
)

func Example() {
	fake := esfake.New(esfake.Options{})
	srv := httptest.NewServer(fake)
	defer srv.Close()

	sink, err := elasticsearch.New(elasticsearch.Config{
		URLs:  []string{srv.URL},
		Index: "nginx-%Y.%m.%d",
	}, elasticsearch.Options{})
	if err != nil {
		panic(err)
	}
	defer sink.Close()

	batch := []sidetrail.Record{{
		FileKey: 42, Offset: 0, Source: "nginx", Path: "/var/log/nginx/access.log",
		Time:    time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Message: []byte(`GET / 200`),
	}}
	results := make([]sidetrail.Result, len(batch))
	if err := sink.Send(context.Background(), batch, results); err != nil {
		panic(err)
	}
	fmt.Println(results[0].Status)

	// A replay (after a crash) answers 409: delivered, not stored twice.
	clear(results)
	_ = sink.Send(context.Background(), batch, results)
	fmt.Println(results[0].Status, fake.Count())

	doc := fake.Docs()[0]
	fmt.Println(doc.Index, doc.ID)
	fmt.Println(string(doc.Source))
	// Output:
	// accepted
	// duplicate 1
	// nginx-2025.01.02 000000000000002a0000000000000000
	// {"@timestamp":"2025-01-02T03:04:05.000000000Z","message":"GET / 200","log":{"file":{"path":"/var/log/nginx/access.log"},"offset":0},"source":"nginx"}
}
