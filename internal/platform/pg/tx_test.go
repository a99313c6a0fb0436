package pg_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/saasplatform/saas/internal/platform/dbtest"
	"github.com/saasplatform/saas/internal/platform/pg"
)

func TestInTx(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE t (v text PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	insert := func(v string) func(pgx.Tx) error {
		return func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO t VALUES ($1)`, v)
			return err
		}
	}
	errBoom := errors.New("boom")

	tests := []struct {
		name    string
		fn      func(pgx.Tx) error
		wantErr error
		panics  bool
		kept    bool
	}{
		{"commits when fn succeeds", insert("ok"), nil, false, true},
		{"rolls back when fn fails", func(tx pgx.Tx) error { _ = insert("failed")(tx); return errBoom }, errBoom, false, false},
		{"rolls back and re-panics", func(tx pgx.Tx) error { _ = insert("panicked")(tx); panic(errBoom) }, nil, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			recovered := func() (p any) {
				defer func() { p = recover() }()
				err = pg.InTx(ctx, pool, tt.fn)
				return nil
			}()
			if (recovered != nil) != tt.panics {
				t.Errorf("panic = %v, want panic %v", recovered, tt.panics)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if kept := rowKept(t, pool); kept != tt.kept {
				t.Errorf("row kept = %v, want %v", kept, tt.kept)
			}
			if _, err := pool.Exec(ctx, `DELETE FROM t`); err != nil {
				t.Fatal(err)
			}
			// Every connection must be back in the pool, idle, not in a transaction.
			if s := pool.Stat(); s.AcquiredConns() != 0 {
				t.Errorf("%d connections still acquired", s.AcquiredConns())
			}
		})
	}
}

func rowKept(t *testing.T, pool *pgxpool.Pool) bool {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM t`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

func TestInTxWithAppliesOptions(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	var level string
	err := pg.InTxWith(context.Background(), pool, pgx.TxOptions{IsoLevel: pgx.Serializable, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error {
			if err := tx.QueryRow(context.Background(), `SHOW transaction_isolation`).Scan(&level); err != nil {
				return err
			}
			_, err := tx.Exec(context.Background(), `CREATE TABLE nope (x int)`)
			return err
		})
	if level != "serializable" {
		t.Errorf("isolation %q, want serializable", level)
	}
	if err == nil {
		t.Error("a write in a read-only transaction succeeded")
	}
}
