package elasticsearch

import (
	"encoding/pem"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sidetrail/sidetrail"
	"github.com/sidetrail/sidetrail/internal/esfake"
)

func TestTLSWithCAFile(t *testing.T) {
	f := esfake.New(esfake.Options{})
	srv := httptest.NewTLSServer(f)
	defer srv.Close()
	ca := writeFile(t, "ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})))

	s := newSink(t, Config{URLs: []string{srv.URL}, TLS: TLSConfig{CAFile: ca}})
	res, err := send(t, s, testRecords(3))
	if err != nil {
		t.Fatal(err)
	}
	if countStatus(res)[sidetrail.Accepted] != 3 || f.Count() != 3 {
		t.Fatalf("results %v, stored %d", countStatus(res), f.Count())
	}
	s.Close()

	// Without the CA the server is not trusted: a retryable error.
	s2 := newSink(t, Config{URLs: []string{srv.URL}})
	_, err = send(t, s2, testRecords(1))
	if err == nil || sidetrail.IsPermanent(err) || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted server: %v", err)
	}
	s2.Close()
	srv.CloseClientConnections()
}
