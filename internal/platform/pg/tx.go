package pg

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// InTx runs fn in a read-committed transaction; see InTxWith.
func InTx(ctx context.Context, pool *pgxpool.Pool, fn func(pgx.Tx) error) error {
	return InTxWith(ctx, pool, pgx.TxOptions{}, fn)
}

// InTxWith runs fn in a transaction with the given options and commits it if
// fn returns nil. It rolls back when fn fails or panics (the panic continues
// after the rollback), so no code path can leak an open transaction or a
// connection stuck in one. Errors come back unchanged or wrapped with %w, so
// Classify still sees the PostgreSQL error, including a serialization
// failure reported at commit.
func InTxWith(ctx context.Context, pool *pgxpool.Pool, opts pgx.TxOptions, fn func(pgx.Tx) error) error {
	tx, err := pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("pg: begin transaction: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			rollback(ctx, tx)
			panic(p)
		}
	}()
	if err := fn(tx); err != nil {
		rollback(ctx, tx)
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("pg: commit: %w", err)
	}
	return nil
}

// rollback ends tx even when ctx is already cancelled (a client that went
// away), so the connection goes back to the pool instead of being closed; the
// timeout keeps a dead server from holding the caller. A failed rollback
// closes the connection, which ends the transaction too, so its error is not
// worth more than the one that caused it.
func rollback(ctx context.Context, tx pgx.Tx) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = tx.Rollback(ctx)
}
