// Package svcclient is how one service calls another (ARCHITECTURE §1: only
// through the other's generated client). New gives the server URL and the
// *http.Client to hand to a generated client:
//
//	server, hc := svcclient.New(cfg.ConfigVaultURL, "/config-vault/v1", local.Handler, 5*time.Second)
//	vault, err := configvaultclient.NewClientWithResponses(server, configvaultclient.WithHTTPClient(hc))
//
// With a base URL (SAAS_<SERVICE>_URL, a microservice deployment) requests go
// over the network; without one the callee runs in this process and requests
// are served by the process's own root handler directly, with no socket, but
// otherwise as over the network: through the whole middleware chain, with no
// context value of the caller crossing over. Both ways carry the caller's
// request id (X-Request-Id) and, when tracing is on, the W3C trace context,
// and every failure to get an answer (connection refused, timeout, the callee
// not running) is a *problem.Error of KindUnavailable, "<service> is
// unavailable", which problem.Write answers with 503.
package svcclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/saasplatform/saas/internal/platform/httpapi"
	"github.com/saasplatform/saas/internal/platform/problem"
	"github.com/saasplatform/saas/internal/platform/tracing"
)

// LocalServer is the server URL of in-process calls. Its host never resolves:
// nothing is dialled.
const LocalServer = "http://in-process"

// RetryAfter is suggested to the clients of a caller that answers 503
// because a service it needs did not answer.
const RetryAfter = 2 * time.Second

// New returns the server URL and an *http.Client for calling the service
// mounted at prefix (e.g. "/config-vault/v1"): over the network to
// baseURL+prefix when baseURL is set, else in-process through local, which
// returns the process's root handler when a request is made (it may be set
// after New is called; see Local). Each request, including reading its
// response body, gets at most timeout (> 0). The client follows no
// redirects: the APIs answer with none.
func New(baseURL, prefix string, local func() http.Handler, timeout time.Duration) (server string, c *http.Client) {
	if timeout <= 0 {
		panic("svcclient: the timeout must be positive")
	}
	name := serviceName(prefix)
	var base http.RoundTripper
	if baseURL != "" {
		server = strings.TrimRight(baseURL, "/") + prefix
		base = networkTransport()
	} else {
		if local == nil {
			panic("svcclient: " + name + ": neither a base URL nor a local handler")
		}
		server = LocalServer + prefix
		base = &localTransport{service: name, handler: local}
	}
	if tracing.Enabled() {
		base = otelhttp.NewTransport(base, otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			return r.Method + " " + name
		}))
	}
	rt := &transport{service: name, timeout: timeout, next: base}
	return server, &http.Client{
		Transport: rt,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// serviceName is the first segment of a prefix: "config-vault" for
// "/config-vault/v1".
func serviceName(prefix string) string {
	name, _, _ := strings.Cut(strings.TrimPrefix(prefix, "/"), "/")
	if name == "" {
		return "service"
	}
	return name
}

// networkTransport is a transport of its own per callee, with enough idle
// connections kept for the calls of a busy service (the default keeps 2).
func networkTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil // calls between services never go through an HTTP(S)_PROXY meant for the outside
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	t.IdleConnTimeout = 90 * time.Second
	return t
}

// Local holds the process's root handler, which is built after the clients
// that the services use: pass h.Handler to New and Set the handler once it
// exists. Until then, in-process calls fail as unavailable.
type Local struct{ h atomic.Pointer[http.Handler] }

// Set makes h the handler of in-process calls.
func (l *Local) Set(h http.Handler) { l.h.Store(&h) }

// Handler returns the handler set, or nil.
func (l *Local) Handler() http.Handler {
	if p := l.h.Load(); p != nil {
		return *p
	}
	return nil
}

// Unavailable is what a caller returns when a call to another service failed
// without an answer: err itself when it already is the *problem.Error this
// package's clients return ("config-vault is unavailable", 503 with
// Retry-After), else err wrapped into one. It returns nil for nil.
func Unavailable(err error) error {
	if err == nil {
		return nil
	}
	var pe *problem.Error
	if errors.As(err, &pe) && pe.Kind == problem.KindUnavailable {
		return pe
	}
	return &problem.Error{Kind: problem.KindUnavailable, Detail: "a service this request needs is unavailable", RetryAfter: RetryAfter, Err: err}
}

// Failure is what a caller returns for a call that failed: the caller's
// own cancellation stays a cancellation (its client has gone; nothing is
// unavailable), anything else is Unavailable.
func Failure(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return Unavailable(err)
}

// StatusError is an answer the caller did not expect, by its status.
type StatusError int

func (s StatusError) Error() string {
	return fmt.Sprintf("answered %d %s", int(s), http.StatusText(int(s)))
}

// NotFound reports whether resp is the callee's own 404, a problem document:
// a 404 from something else on the way (a misrouted SAAS_<SERVICE>_URL, a
// proxy) says nothing about the resource and is an outage.
func NotFound(resp *http.Response) bool {
	return resp != nil && resp.StatusCode == http.StatusNotFound &&
		resp.Header.Get("Content-Type") == "application/problem+json"
}

// unavailable is the error of a call to service that got no answer. The
// cause stays in Err, for the log.
func unavailable(service string, err error) *problem.Error {
	return &problem.Error{Kind: problem.KindUnavailable, Detail: service + " is unavailable", RetryAfter: RetryAfter,
		Err: fmt.Errorf("calling %s: %w", service, err)}
}

// transport is the outer layer: the request id, the per-request deadline
// and errors as problems.
type transport struct {
	service string
	timeout time.Duration
	next    http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), t.timeout)
	out := req.Clone(ctx) // a RoundTripper must not change the caller's request
	if id := httpapi.RequestIDFrom(req.Context()); id != "" && out.Header.Get(httpapi.RequestIDHeader) == "" {
		out.Header.Set(httpapi.RequestIDHeader, id)
	}
	resp, err := t.next.RoundTrip(out)
	if err != nil {
		cancel()
		if callerErr := req.Context().Err(); callerErr != nil {
			return nil, callerErr // the caller gave up: nothing to say about the callee
		}
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w (%w)", ctxErr, err)
		}
		return nil, unavailable(t.service, err)
	}
	resp.Body = &body{ReadCloser: resp.Body, cancel: cancel, service: t.service}
	return resp, nil
}

// body releases the request's deadline when the caller is done with the
// response, and reports a failure to read it as the callee being unavailable.
type body struct {
	io.ReadCloser
	cancel  context.CancelFunc
	service string
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = unavailable(b.service, err)
	}
	return n, err
}

func (b *body) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// localTransport serves a request with the process's own root handler.
type localTransport struct {
	service string
	handler func() http.Handler
}

// errAborted is a handler's panic(http.ErrAbortHandler), which over the
// network resets the connection.
var errAborted = errors.New("the handler aborted the response")

func (t *localTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	h := t.handler()
	if h == nil {
		closeBody(req)
		return nil, errors.New("not serving yet")
	}
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		closeBody(req)
		return nil, err
	}
	in := serverRequest(req)
	w := &responseWriter{header: http.Header{}, head: req.Method == http.MethodHead}
	done := make(chan any, 1)
	go func() {
		defer closeBody(req)
		defer func() { done <- recover() }()
		h.ServeHTTP(w, in)
	}()
	select {
	case v := <-done:
		if v != nil {
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				return nil, errAborted
			}
			// The root handler recovers panics itself; one that escapes
			// it would have killed a server's connection, not the process.
			return nil, fmt.Errorf("the handler panicked: %v", v)
		}
		return w.response(req), nil
	case <-ctx.Done():
		// The handler sees the same cancellation and stops on its own; its
		// writes go to a response nobody reads.
		return nil, ctx.Err()
	}
}

// serverRequest is req as a server would hand it to a handler: a path-only
// URL, RequestURI, Host, and a context that carries the caller's deadline
// and cancellation but none of its values (its principal, request id or
// span): what crosses is what the headers carry, as over the network.
func serverRequest(req *http.Request) *http.Request {
	in := req.Clone(detached{req.Context()})
	in.URL.Scheme, in.URL.Host, in.URL.User = "", "", nil
	in.RequestURI = in.URL.RequestURI()
	in.Host = req.URL.Host
	in.RemoteAddr = "127.0.0.1:0"
	in.Proto, in.ProtoMajor, in.ProtoMinor = "HTTP/1.1", 1, 1
	in.Close = false
	in.TLS = nil
	in.Header.Del("Host")
	if req.Body == nil || req.Body == http.NoBody {
		in.Body = http.NoBody
		return in
	}
	// The handler must not close the caller's body; the transport does.
	in.Body = io.NopCloser(req.Body)
	if req.ContentLength == 0 { // a client's "unknown" is a server's -1
		in.ContentLength = -1
	}
	return in
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// detached passes on a context's deadline and cancellation, not its values.
type detached struct{ parent context.Context }

func (d detached) Deadline() (time.Time, bool) { return d.parent.Deadline() }
func (d detached) Done() <-chan struct{}       { return d.parent.Done() }
func (d detached) Err() error                  { return d.parent.Err() }
func (d detached) Value(any) any               { return nil }

// responseWriter buffers a handler's answer, with net/http's defaults: 200
// when nothing is set, a sniffed Content-Type, no body for HEAD, and the
// headers as they were when the status was written.
type responseWriter struct {
	header      http.Header
	sent        http.Header
	status      int
	body        bytes.Buffer
	head        bool
	wroteHeader bool
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(code int) {
	if w.wroteHeader || code < 200 { // informational answers are not the answer
		return
	}
	w.wroteHeader, w.status = true, code
	w.sent = w.header.Clone()
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		if w.header.Get("Content-Type") == "" && w.header.Get("Transfer-Encoding") == "" {
			w.header.Set("Content-Type", http.DetectContentType(b))
		}
		w.WriteHeader(http.StatusOK)
	}
	if w.head || !bodyAllowed(w.status) {
		return len(b), nil
	}
	return w.body.Write(b)
}

func bodyAllowed(status int) bool {
	return status != http.StatusNoContent && status != http.StatusNotModified
}

func (w *responseWriter) response(req *http.Request) *http.Response {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	header := w.sent
	n := int64(w.body.Len())
	if !w.head && bodyAllowed(w.status) && header.Get("Content-Length") == "" {
		header.Set("Content-Length", strconv.FormatInt(n, 10))
	}
	contentLength := n
	if w.head {
		contentLength = -1
		if v, err := strconv.ParseInt(header.Get("Content-Length"), 10, 64); err == nil {
			contentLength = v
		}
	}
	return &http.Response{
		Status:        strconv.Itoa(w.status) + " " + http.StatusText(w.status),
		StatusCode:    w.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        header,
		Body:          io.NopCloser(bytes.NewReader(w.body.Bytes())),
		ContentLength: contentLength,
		Request:       req,
	}
}
