package pg

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/saasplatform/saas/internal/platform/problem"
)

// Constraints maps constraint names to the error a store wants its callers to
// see when that constraint is violated, for example
//
//	pg.Constraints{"sites_domain_key": problem.Conflict("a site with this domain already exists")}
//
// so the database's unique, foreign-key and check constraints decide, and
// the client still gets a message that names what clashed.
type Constraints map[string]*problem.Error

// Classify is Constraints.Classify without store-specific messages.
func Classify(err error) error { return Constraints(nil).Classify(err) }

// Classify turns a pgx or PostgreSQL error into a problem.Error of the kind
// the client should see, keeping err as the cause for the log:
//
//   - pgx.ErrNoRows: not found
//   - a constraint named in c: a copy of c's error
//   - unique_violation (23505), exclusion_violation (23P01): conflict
//   - foreign_key_violation (23503), check_violation (23514) and data
//     exceptions (class 22): invalid
//   - serialization_failure (40001), deadlock_detected (40P01): conflict,
//     to be retried
//   - failure to connect, lost connections (a network error, or the
//     server closing the connection: EOF), class 08 and the server
//     shutting down (57P01-57P03): unavailable
//
// Anything else, including errors that already carry a kind, is returned
// unchanged; nil stays nil.
func (c Constraints) Classify(err error) error {
	if err == nil {
		return nil
	}
	var known *problem.Error
	if errors.As(err, &known) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return &problem.Error{Kind: problem.KindNotFound, Detail: "the resource was not found", Err: err}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		if mapped := c[pgErr.ConstraintName]; mapped != nil && pgErr.ConstraintName != "" {
			e := *mapped
			e.Err = err
			return &e
		}
		return classifyCode(pgErr.Code, err)
	}
	if unreachable(err) {
		return &problem.Error{Kind: problem.KindUnavailable, Detail: "the database is unavailable", RetryAfter: time.Second, Err: err}
	}
	return err
}

// classifyCode maps SQLSTATE codes for which no constraint message exists.
func classifyCode(code string, err error) error {
	switch {
	case code == "23505", code == "23P01":
		return &problem.Error{Kind: problem.KindConflict, Detail: "a resource with these values already exists", Err: err}
	case code == "23503":
		return &problem.Error{Kind: problem.KindInvalid, Detail: "the request refers to a resource that does not exist", Err: err}
	case code == "23514", strings.HasPrefix(code, "22"):
		return &problem.Error{Kind: problem.KindInvalid, Detail: "a value in the request is not acceptable", Err: err}
	case code == "40001", code == "40P01":
		return &problem.Error{Kind: problem.KindConflict, Detail: "the request conflicted with a concurrent one; retry it", RetryAfter: time.Second, Err: err}
	case strings.HasPrefix(code, "08"), code == "57P01", code == "57P02", code == "57P03":
		return &problem.Error{Kind: problem.KindUnavailable, Detail: "the database is unavailable", RetryAfter: time.Second, Err: err}
	}
	return err
}

// unreachable reports errors that mean the server could not be reached or
// went away, as opposed to refusing a statement. A connection attempt that
// ran out of time counts; a statement cut short by the caller's context does
// not: that is the caller's deadline, not the database's health.
func unreachable(err error) bool {
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	// The server closed the connection under a statement (it crashed, was
	// stopped with -m immediate, or a proxy on the way dropped it): pgx
	// reports the short read as it is.
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, pgconn.ErrConnClosed)
}
