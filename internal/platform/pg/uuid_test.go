package pg_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/saasplatform/saas/internal/platform/pg"
)

// uuid.UUID goes to PostgreSQL and back unchanged through a pool of Open,
// as a parameter, a column, NULL, an array, in binary and in text.
func TestUUIDRoundTrip(t *testing.T) {
	t.Parallel()
	_, dbURL := freshURL(t)
	pool, err := pg.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ctx := context.Background()
	id := uuid.Must(uuid.NewV7())

	var back uuid.UUID
	var text string
	if err := pool.QueryRow(ctx, "SELECT $1::uuid, $1::uuid::text", id).Scan(&back, &text); err != nil {
		t.Fatal(err)
	}
	if back != id || text != id.String() {
		t.Fatalf("sent %s, got %s and %q", id, back, text)
	}
	// The text protocol (as through PgBouncer in statement mode, or
	// QueryExecModeSimpleProtocol) both ways.
	if err := pool.QueryRow(ctx, "SELECT $1::uuid", pgx.QueryExecModeSimpleProtocol, id).Scan(&back); err != nil || back != id {
		t.Fatalf("simple protocol: %s, %v", back, err)
	}
	var null *uuid.UUID
	var zero uuid.UUID = id
	if err := pool.QueryRow(ctx, "SELECT NULL::uuid, NULL::uuid").Scan(&null, &zero); err != nil || null != nil || zero != uuid.Nil {
		t.Fatalf("NULL: %v, %s, %v", null, zero, err)
	}
	some := &id
	if err := pool.QueryRow(ctx, "SELECT $1::uuid", some).Scan(&null); err != nil || null == nil || *null != id {
		t.Fatalf("pointers: %v, %v", null, err)
	}
	ids := []uuid.UUID{id, uuid.Must(uuid.NewV7())}
	var arr []uuid.UUID
	if err := pool.QueryRow(ctx, "SELECT $1::uuid[]", ids).Scan(&arr); err != nil || len(arr) != 2 || arr[0] != ids[0] || arr[1] != ids[1] {
		t.Fatalf("array: %v, %v", arr, err)
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM unnest($1::uuid[]) u WHERE u = $2", ids, ids[1]).Scan(&n); err != nil || n != 1 {
		t.Fatalf("comparison in the database: %d, %v", n, err)
	}
	// pgtype.UUID still works as before.
	var p pgtype.UUID
	if err := pool.QueryRow(ctx, "SELECT $1::uuid", pgtype.UUID{Bytes: id, Valid: true}).Scan(&p); err != nil || p.Bytes != id {
		t.Fatalf("pgtype.UUID: %v, %v", p, err)
	}
}
