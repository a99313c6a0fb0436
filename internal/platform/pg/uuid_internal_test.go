package pg

import (
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
)

// BenchmarkUUID is one uuid.UUID parameter encoded and one column scanned,
// as every query does several times: "registered" as Open's connections do
// it, "database/sql" through uuid.UUID's Value and Scan, pgx's fallback.
func BenchmarkUUID(b *testing.B) {
	id := uuid.Must(uuid.NewV7())
	wire := id[:]
	for _, registered := range []bool{true, false} {
		name := "database-sql"
		m := pgtype.NewMap()
		if registered {
			name = "registered"
			registerUUID(m)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 64)
			var back uuid.UUID
			for b.Loop() {
				out, err := m.Encode(pgtype.UUIDOID, pgtype.BinaryFormatCode, id, buf[:0])
				if err != nil || len(out) != 16 {
					b.Fatal(out, err)
				}
				if err := m.Scan(pgtype.UUIDOID, pgtype.BinaryFormatCode, wire, &back); err != nil || back != id {
					b.Fatal(back, err)
				}
			}
		})
	}
}
