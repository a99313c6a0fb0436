// Package idempotency makes POST requests safe to retry (ARCHITECTURE §5): a
// client that sends an Idempotency-Key gets the first request's answer for
// every repetition of it, instead of creating the resource again. Answers
// are kept in PostgreSQL (platform.idempotency_keys), so the guarantee holds
// across processes and restarts.
//
// A key is scoped to the caller, so two callers cannot see each other's
// answers. Reusing a key for a different request is answered 422; a
// repetition that arrives while the first is still running is answered 409
// with Retry-After. Answers with status 5xx or 429, and handlers that panic,
// are not kept: those failures are transient and the client must be able to
// retry with the same key.
package idempotency

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/saasplatform/saas/internal/platform/pg"
	"github.com/saasplatform/saas/internal/platform/problem"
)

//go:embed *.sql
var migrationFiles embed.FS

// Migrations creates the platform schema's table; apply it with pg.Migrate
// before serving requests through the middleware.
var Migrations = pg.Migrations{Schema: "platform", FS: migrationFiles}

const (
	// Header carries the client's key.
	Header = "Idempotency-Key"
	// ReplayedHeader marks an answer that was stored, not freshly computed.
	ReplayedHeader = "Idempotent-Replayed"
)

// keptHeaders are the response headers replayed with a stored answer: the
// ones that describe the created resource. Others (dates, request ids,
// rate-limit counters) belong to the response that carried them.
var keptHeaders = []string{"Content-Type", "Location", "ETag"}

// Options tune the middleware; zero values mean the defaults.
type Options struct {
	// Retention is how long an answer is replayed; older records are ignored
	// and removed by Purge. Default 24h, the minimum the API promises.
	Retention time.Duration
	// MaxBody bounds the request body the middleware reads to hash it.
	// Default 1 MiB; a larger body is answered 413.
	MaxBody int64
	// Lease is how long a request in flight keeps its key from others. When
	// it passes, the worker is presumed dead and a retry takes the key over,
	// so it must exceed the longest time a handler may run. Default 1m.
	Lease time.Duration
	// HashKey keys the HMAC that fingerprints request bodies. Bodies may hold
	// secrets (a new user's password): a plain hash stored for a day would let
	// whoever reads the database test guesses at hash speed. Every replica must
	// use the same key, or a retry reaching another one is refused as a
	// different request. Default: a random key of this process.
	HashKey []byte
}

// Middleware implements Idempotency-Key for POST requests.
type Middleware struct {
	pool  *pgxpool.Pool
	scope func(*http.Request) string
	opts  Options
}

// New returns the middleware. scope names the caller a request comes from
// (the token's subject, or "anonymous"); it must run after authentication.
func New(pool *pgxpool.Pool, scope func(*http.Request) string, opts Options) *Middleware {
	if scope == nil {
		panic("idempotency: New needs a scope function: keys must not be shared between callers")
	}
	if opts.Retention <= 0 {
		opts.Retention = 24 * time.Hour
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = 1 << 20
	}
	if opts.Lease <= 0 {
		opts.Lease = time.Minute
	}
	if len(opts.HashKey) == 0 {
		opts.HashKey = make([]byte, 32)
		_, _ = rand.Read(opts.HashKey) // crypto/rand.Read never fails
	}
	return &Middleware{pool: pool, scope: scope, opts: opts}
}

// request identifies one keyed request.
type request struct {
	scope, key, method, path string
	hash                     []byte
}

// Wrap returns next guarded by the middleware. Requests other than POST, and
// POSTs without the header, pass through untouched.
func (m *Middleware) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		keys := r.Header.Values(Header)
		if r.Method != http.MethodPost || len(keys) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		if len(keys) != 1 || !validKey(keys[0]) {
			problem.Write(w, r, problem.Field("header."+Header, "must be a single value of 1 to 255 printable ASCII characters"))
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, m.opts.MaxBody))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				problem.Write(w, r, problem.New(problem.KindTooLarge, "the request body exceeds %d bytes", m.opts.MaxBody))
			} else {
				problem.Write(w, r, problem.Invalid("the request body could not be read"))
			}
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))

		req := request{scope: m.scope(r), key: keys[0], method: r.Method, path: r.URL.RequestURI()}
		h := hmac.New(sha256.New, m.opts.HashKey)
		for _, part := range [][]byte{[]byte(req.method), {0}, []byte(req.path), {0}, body} {
			h.Write(part)
		}
		req.hash = h.Sum(nil)

		claim, prior, err := m.claim(r.Context(), req)
		switch {
		case err != nil:
			problem.Write(w, r, pg.Classify(err))
		case prior == nil:
			m.run(w, r, next, req, claim)
		case !bytes.Equal(prior.hash, req.hash):
			problem.Write(w, r, problem.New(problem.KindUnprocessable, "Idempotency-Key reused with a different request"))
		case prior.state != stateDone:
			problem.Write(w, r, &problem.Error{Kind: problem.KindConflict, RetryAfter: time.Second,
				Detail: "a request with this Idempotency-Key is still being processed"})
		default:
			for name, values := range prior.headers {
				w.Header()[name] = values
			}
			w.Header().Set(ReplayedHeader, "true")
			w.WriteHeader(prior.status)
			_, _ = w.Write(prior.body)
		}
	})
}

// validKey accepts 1 to 255 printable ASCII characters.
func validKey(k string) bool {
	if len(k) < 1 || len(k) > 255 {
		return false
	}
	for i := range len(k) {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

const (
	stateInFlight = "in_flight"
	stateDone     = "done"
)

// record is a stored row as the middleware needs it.
type record struct {
	hash    []byte
	state   string
	status  int
	headers http.Header
	body    []byte
}

// claimSQL takes the key: it inserts a fresh row, or takes over one that is
// past retention (ignored by definition) or in flight for the same request
// with an expired lease (its worker died). One statement, so two requests
// racing for a key cannot both win: the loser waits for the winner's row
// and then fails the WHERE.
const claimSQL = `
INSERT INTO platform.idempotency_keys AS k
    (scope, key, method, path, request_hash, state, claim, locked_until)
VALUES ($1, $2, $3, $4, $5, 'in_flight', $6, now() + make_interval(secs => $7))
ON CONFLICT (scope, key) DO UPDATE SET
    method = excluded.method, path = excluded.path, request_hash = excluded.request_hash,
    state = 'in_flight', claim = excluded.claim, locked_until = excluded.locked_until,
    created_at = excluded.created_at,
    response_status = NULL, response_headers = NULL, response_body = NULL
WHERE k.created_at < now() - make_interval(secs => $8)
   OR (k.state = 'in_flight' AND k.locked_until <= now() AND k.request_hash = excluded.request_hash)
RETURNING k.claim`

// claim returns a claim id if this request may run, or the record that
// stands in its way.
func (m *Middleware) claim(ctx context.Context, req request) (uuid.UUID, *record, error) {
	// The row that blocked the claim may vanish before it is read (a failed
	// first attempt releasing it); then the claim is simply tried again.
	for range 3 {
		var claim uuid.UUID
		err := m.pool.QueryRow(ctx, claimSQL, req.scope, req.key, req.method, req.path, req.hash,
			uuid.New(), m.opts.Lease.Seconds(), m.opts.Retention.Seconds()).Scan(&claim)
		if !errors.Is(err, pgx.ErrNoRows) {
			return claim, nil, err
		}
		rec := record{}
		var status *int32
		err = m.pool.QueryRow(ctx, `
			SELECT request_hash, state, response_status, response_headers, response_body
			FROM platform.idempotency_keys WHERE scope = $1 AND key = $2`, req.scope, req.key).
			Scan(&rec.hash, &rec.state, &status, &rec.headers, &rec.body)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if status != nil {
			rec.status = int(*status)
		}
		return uuid.Nil, &rec, err
	}
	return uuid.Nil, &record{hash: req.hash, state: stateInFlight}, nil
}

// run serves a claimed request. The handler's answer is buffered so it can
// be stored before the client sees it: once the client has the answer, a
// retry must find it.
func (m *Middleware) run(w http.ResponseWriter, r *http.Request, next http.Handler, req request, claim uuid.UUID) {
	rec := &recorder{header: http.Header{}}
	completed := false
	defer func() {
		if !completed { // the handler panicked; let the panic go on, but free the key
			m.release(r.Context(), req, claim)
		}
	}()
	next.ServeHTTP(rec, r)
	completed = true

	status, header := rec.result()
	if retryable(status, header) {
		m.release(r.Context(), req, claim)
	} else {
		kept := http.Header{}
		for _, name := range keptHeaders {
			if v := header.Values(name); len(v) > 0 {
				kept[name] = v
			}
		}
		m.complete(r.Context(), req, claim, status, kept, rec.body.Bytes())
	}
	for name, values := range header {
		w.Header()[name] = values
	}
	w.WriteHeader(status)
	_, _ = w.Write(rec.body.Bytes())
}

// retryable answers are not the request's outcome but an invitation to try
// again (server errors, rate limits, and any answer with Retry-After, such as
// a 409 for a lost database race): storing one would replay it to the very
// retries it invites.
func retryable(status int, header http.Header) bool {
	return status >= 500 || status == http.StatusTooManyRequests || header.Get("Retry-After") != ""
}

// complete stores the answer. It runs even if the client has gone away,
// because the handler's effect has happened. A failure is logged and the
// answer still sent; the key then stays in flight until its lease expires.
func (m *Middleware) complete(ctx context.Context, req request, claim uuid.UUID, status int, header http.Header, body []byte) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, err := m.pool.Exec(ctx, `
		UPDATE platform.idempotency_keys
		SET state = 'done', claim = NULL, locked_until = NULL,
		    response_status = $4, response_headers = $5, response_body = $6
		WHERE scope = $1 AND key = $2 AND claim = $3`,
		req.scope, req.key, claim, status, header, body)
	if err != nil {
		slog.ErrorContext(ctx, "idempotency: store answer", "error", err)
	}
}

// release deletes the claimed row so that the client may retry. The claim
// check keeps a worker whose lease expired from deleting its successor's row.
func (m *Middleware) release(ctx context.Context, req request, claim uuid.UUID) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, err := m.pool.Exec(ctx, `DELETE FROM platform.idempotency_keys WHERE scope = $1 AND key = $2 AND claim = $3`,
		req.scope, req.key, claim)
	if err != nil {
		slog.ErrorContext(ctx, "idempotency: release key", "error", err)
	}
}

// Purge deletes records older than the retention and reports how many. Call
// it periodically (hourly is plenty); until then such records are ignored.
func (m *Middleware) Purge(ctx context.Context) (int64, error) {
	tag, err := m.pool.Exec(ctx, `DELETE FROM platform.idempotency_keys WHERE created_at < now() - make_interval(secs => $1)`,
		m.opts.Retention.Seconds())
	if err != nil {
		return 0, pg.Classify(err)
	}
	return tag.RowsAffected(), nil
}

// recorder buffers a handler's answer. Like net/http it fixes the headers
// when the status is written, so the stored answer is what the client got.
type recorder struct {
	header http.Header
	sent   http.Header
	status int
	body   bytes.Buffer
}

func (rec *recorder) Header() http.Header { return rec.header }

func (rec *recorder) WriteHeader(status int) {
	if rec.status != 0 || status < 200 { // informational answers cannot be buffered
		return
	}
	rec.status, rec.sent = status, rec.header.Clone()
}

func (rec *recorder) Write(b []byte) (int, error) {
	rec.WriteHeader(http.StatusOK)
	return rec.body.Write(b)
}

// result is the status and headers sent, with net/http's defaults for a
// handler that wrote nothing.
func (rec *recorder) result() (int, http.Header) {
	if rec.status == 0 {
		return http.StatusOK, rec.header
	}
	return rec.status, rec.sent
}
