package loki_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/sinks/loki"
)

// A Loki sink labelling streams with a static app label and the record's
// source, pushing snappy-compressed protobuf.
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println(r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	sink, err := loki.New(loki.Config{
		URL:         srv.URL, // e.g. http://loki:3100
		Labels:      map[string]string{"app": "nginx"},
		LabelFields: []string{"source"},
		Line:        loki.LineMessage,
	}, loki.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sink.Close()

	batch := []sidetrail.Record{{
		FileKey: 1, Offset: 0, Time: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC),
		Source: "web", Path: "/var/log/nginx/access.log",
		Message: []byte(`127.0.0.1 - - [04/Mar/2025:05:06:07 +0000] "GET / HTTP/1.1" 200 612`),
	}}
	results := make([]sidetrail.Result, len(batch))
	if err := sink.Send(context.Background(), batch, results); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(results[0].Status, sink.Stats().Records)
	// Output:
	// POST /loki/api/v1/push application/x-protobuf
	// accepted 1
}
