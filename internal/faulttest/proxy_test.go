package faulttest_test

import (
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"
)

// proxyMode is how the fault proxy treats the requests it gets.
type proxyMode int

const (
	forward proxyMode = iota // pass them on
	delay                    // wait, then pass them on (unless the caller gave up)
	refuse                   // listen no more: connections are refused
	reset                    // accept, then reset the connection without an answer
)

func (m proxyMode) String() string {
	return [...]string{"forward", "delay", "refuse", "reset"}[m]
}

// faultProxy stands between a service and the one it calls, on a loopback
// address of its own, and breaks the calls on demand.
type faultProxy struct {
	URL  string
	addr string
	rp   *httputil.ReverseProxy
	tr   *http.Transport

	mu    sync.Mutex
	mode  proxyMode
	wait  time.Duration
	ln    net.Listener // nil while refusing
	srv   *http.Server
	conns map[net.Conn]struct{}
}

func startFaultProxy(t testing.TB, target string) *faultProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	f := &faultProxy{conns: map[net.Conn]struct{}{}, tr: &http.Transport{}}
	f.rp = httputil.NewSingleHostReverseProxy(u)
	f.rp.Transport = f.tr
	f.rp.ErrorLog = log.New(io.Discard, "", 0)
	f.srv = &http.Server{Handler: f, ConnState: f.track, ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = ln.Addr().String()
	f.URL = "http://" + f.addr
	f.serve(ln)
	t.Cleanup(func() {
		_ = f.srv.Close()
		f.tr.CloseIdleConnections()
	})
	return f
}

func (f *faultProxy) serve(ln net.Listener) {
	f.ln = ln
	go func() { _ = f.srv.Serve(ln) }()
}

func (f *faultProxy) track(c net.Conn, state http.ConnState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch state {
	case http.StateNew:
		f.conns[c] = struct{}{}
	case http.StateClosed, http.StateHijacked:
		delete(f.conns, c)
	}
}

// set switches the mode (wait is delay's). Every connection open so far is
// closed, as when the service behind restarts or the network breaks, so
// that the callers' pooled connections see the new mode too.
func (f *faultProxy) set(t testing.TB, mode proxyMode, wait time.Duration) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mode, f.wait = mode, wait
	for c := range f.conns {
		_ = c.Close()
	}
	f.tr.CloseIdleConnections()
	switch {
	case mode == refuse && f.ln != nil:
		_ = f.ln.Close()
		f.ln = nil
	case mode != refuse && f.ln == nil:
		var ln net.Listener
		var err error
		// The address was ours a moment ago; give the kernel a few tries.
		for range 50 {
			if ln, err = net.Listen("tcp", f.addr); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("fault proxy: listen again on %s: %v", f.addr, err)
		}
		f.serve(ln)
	}
}

func (f *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	mode, wait := f.mode, f.wait
	f.mu.Unlock()
	switch mode {
	case delay:
		select {
		case <-time.After(wait):
		case <-r.Context().Done():
			return
		}
	case reset:
		c, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(errors.Join(http.ErrAbortHandler, err))
		}
		if tcp, ok := c.(*net.TCPConn); ok {
			_ = tcp.SetLinger(0) // an RST, not an orderly close
		}
		_ = c.Close()
		return
	}
	f.rp.ServeHTTP(w, r)
}
