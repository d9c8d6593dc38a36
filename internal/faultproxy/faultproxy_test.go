package faultproxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// echoServer echoes each line back, prefixed by "echo ".
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	conns := make(chan net.Conn, 64)
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := io.WriteString(c, "echo "+line); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		close(conns)
		for c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

func roundTrip(c net.Conn, r *bufio.Reader, msg string) (string, error) {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, msg+"\n"); err != nil {
		return "", err
	}
	line, err := r.ReadString('\n')
	return strings.TrimSuffix(line, "\n"), err
}

func TestDownCutsAndRefusesUpRestores(t *testing.T) {
	p := Start(t, echoServer(t), Options{})

	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	if got, err := roundTrip(c, r, "one"); err != nil || got != "echo one" {
		t.Fatalf("through the proxy: %q, %v", got, err)
	}

	p.Down()
	if _, err := roundTrip(c, r, "two"); err == nil {
		t.Fatal("an open connection survived Down")
	}
	// A new connection is accepted by the kernel but reset at once.
	c2, err := net.Dial("tcp", p.Addr())
	if err == nil {
		defer c2.Close()
		if _, err := roundTrip(c2, bufio.NewReader(c2), "three"); err == nil {
			t.Fatal("a new connection got through while down")
		}
	}
	if s := p.Stats(); !s.Down || s.Cut < 1 || s.Refused < 1 {
		t.Fatalf("stats after Down: %+v", s)
	}

	p.Up()
	c3, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	if got, err := roundTrip(c3, bufio.NewReader(c3), "four"); err != nil || got != "echo four" {
		t.Fatalf("after Up: %q, %v", got, err)
	}
}

func TestHTTPClientSeesOutage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	p := Start(t, srv.Listener.Addr().String(), Options{})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: 5 * time.Second}

	get := func() error {
		resp, err := cl.Get(p.URL() + "/")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.ReadAll(resp.Body)
		return err
	}
	if err := get(); err != nil {
		t.Fatal(err)
	}
	p.Down()
	if err := get(); err == nil {
		t.Fatal("request succeeded while down")
	}
	p.Up()
	if err := get(); err != nil {
		t.Fatalf("after Up: %v", err)
	}
}

func TestMaxConnsBounds(t *testing.T) {
	p := Start(t, echoServer(t), Options{MaxConns: 2})
	var open []net.Conn
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, c)
		if _, err := roundTrip(c, bufio.NewReader(c), "x"); err != nil {
			t.Fatal(err)
		}
	}
	c, err := net.Dial("tcp", p.Addr())
	if err == nil {
		defer c.Close()
		if _, err := roundTrip(c, bufio.NewReader(c), "y"); err == nil {
			t.Fatal("a third connection got through with MaxConns 2")
		}
	}
	if s := p.Stats(); s.Open != 2 {
		t.Fatalf("open = %d, want 2", s.Open)
	}
}

func TestCloseIsIdempotentAndStopsEverything(t *testing.T) {
	p, err := New(echoServer(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := roundTrip(c, bufio.NewReader(c), "x"); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	p.Close()
	if _, err := net.Dial("tcp", p.Addr()); err == nil {
		t.Fatal("still listening after Close")
	}
}
