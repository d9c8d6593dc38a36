package server_test

import (
	"errors"
	"fmt"
	"net/http/httptest"

	"github.com/sidetrail/sidetrail/internal/server"
)

// The readiness endpoint answers with the reason the Ready callback gives.
func ExampleServer_Handler() {
	s := server.New(server.Options{
		Listen: ":9110",
		Ready:  func() error { return errors.New(`sink "es" failing for 5m0s`) },
	})
	for _, path := range []string{"/healthz", "/readyz"} {
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		fmt.Printf("%s %d %s", path, w.Code, w.Body.String())
	}
	// Output:
	// /healthz 200 ok
	// /readyz 503 not ready: sink "es" failing for 5m0s
}
