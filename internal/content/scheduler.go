package content

import (
	"context"
	"errors"
	"html"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	db "github.com/saasplatform/saas/gen/db/content"
	"github.com/saasplatform/saas/internal/platform/pg"
)

// RunScheduler publishes due scheduled publications every
// Options.SchedulerInterval until ctx ends. Every replica runs one: PublishDue
// makes them share the work without ever publishing anything twice.
func (s *Service) RunScheduler(ctx context.Context) {
	t := time.NewTicker(s.opts.SchedulerInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for {
			n, err := s.PublishDue(ctx)
			if err != nil {
				if ctx.Err() == nil {
					slog.WarnContext(ctx, "content: scheduled publishing failed", "error", err.Error())
				}
				break
			}
			if n > 0 {
				slog.InfoContext(ctx, "content: published scheduled items", "count", n)
			}
			if n < s.opts.SchedulerBatch {
				break // the queue is empty for now; a full batch may have more behind it
			}
		}
	}
}

// PublishDue publishes one batch of due scheduled publications in one
// transaction and reports how many it claimed. The claim locks the due rows
// with FOR UPDATE SKIP LOCKED, so concurrent callers (other replicas) take
// other rows instead of waiting, and a published row leaves the queue when
// this transaction commits: each scheduled publication happens exactly once.
// One whose revision cannot go live (its slug is live on another item) is
// cancelled with the reason instead of blocking the queue.
func (s *Service) PublishDue(ctx context.Context) (int, error) {
	claimed, live := 0, 0
	err := pg.InTx(ctx, s.store.pool, func(tx pgx.Tx) error {
		q := s.store.q.WithTx(tx)
		due, err := q.ClaimDue(ctx, int32(s.opts.SchedulerBatch))
		if err != nil {
			return err
		}
		claimed = len(due)
		for _, d := range due {
			// A savepoint per item: a refused publication rolls back alone.
			err := savepoint(ctx, tx, func(sp pgx.Tx) error {
				_, err := q.WithTx(sp).PublishScheduled(ctx, db.PublishScheduledParams{TenantID: d.TenantID, ID: d.ID})
				return err
			})
			if err == nil {
				live++
			}
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "23505" {
				err = q.FailSchedule(ctx, db.FailScheduleParams{TenantID: d.TenantID, ID: d.ID,
					Reason: ptr("the scheduled revision's slug is live on another item of the site with the same type and locale")})
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		published.WithLabelValues(publishedOnSchedule).Add(float64(live))
	}
	return claimed, err
}

// savepoint runs fn in a savepoint of tx, rolled back if fn fails, so that
// tx can go on.
func savepoint(ctx context.Context, tx pgx.Tx, fn func(pgx.Tx) error) error {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return err
	}
	if err := fn(sp); err != nil {
		if rbErr := sp.Rollback(ctx); rbErr != nil {
			return errors.Join(err, rbErr)
		}
		return err
	}
	return sp.Commit(ctx)
}

// Search snippets come from ts_headline with the matches between U+0002 and
// U+0003, which item text cannot contain (parseText refuses control
// characters): the text is escaped as HTML and the markers become <mark>.
var markers = strings.NewReplacer("\x02", "<mark>", "\x03", "</mark>")

func snippetHTML(s string) string { return markers.Replace(html.EscapeString(s)) }
