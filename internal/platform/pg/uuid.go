package pg

import (
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
)

// registerUUID teaches a connection's type map github.com/google/uuid.UUID,
// the type sqlc generates for every uuid column and parameter. Without it
// pgx takes the database/sql route for that type: each parameter is
// formatted as a string by Value and parsed again, each column formatted
// and parsed by Scan, two allocations and two conversions per uuid, and
// every query has several (the tenant id at least). With it a uuid is its
// 16 bytes on the wire, both ways. Scanning NULL into a uuid.UUID gives
// uuid.Nil, as its Scan method does; nullable columns use *uuid.UUID.
func registerUUID(m *pgtype.Map) {
	t := &pgtype.Type{Name: "uuid", OID: pgtype.UUIDOID, Codec: uuidCodec{}}
	m.RegisterType(t)
	m.RegisterType(&pgtype.Type{Name: "_uuid", OID: pgtype.UUIDArrayOID, Codec: &pgtype.ArrayCodec{ElementType: t}})
}

// uuidCodec is pgx's UUIDCodec that also encodes and scans uuid.UUID.
type uuidCodec struct{ pgtype.UUIDCodec }

func (c uuidCodec) PlanEncode(m *pgtype.Map, oid uint32, format int16, value any) pgtype.EncodePlan {
	if _, ok := value.(uuid.UUID); ok {
		switch format {
		case pgtype.BinaryFormatCode:
			return encodeUUIDBinary{}
		case pgtype.TextFormatCode:
			return encodeUUIDText{}
		}
	}
	return c.UUIDCodec.PlanEncode(m, oid, format, value)
}

func (c uuidCodec) PlanScan(m *pgtype.Map, oid uint32, format int16, target any) pgtype.ScanPlan {
	if _, ok := target.(*uuid.UUID); ok {
		switch format {
		case pgtype.BinaryFormatCode:
			return scanUUIDBinary{}
		case pgtype.TextFormatCode:
			return scanUUIDText{}
		}
	}
	return c.UUIDCodec.PlanScan(m, oid, format, target)
}

type encodeUUIDBinary struct{}

func (encodeUUIDBinary) Encode(value any, buf []byte) ([]byte, error) {
	id := value.(uuid.UUID)
	return append(buf, id[:]...), nil
}

type encodeUUIDText struct{}

func (encodeUUIDText) Encode(value any, buf []byte) ([]byte, error) {
	return append(buf, value.(uuid.UUID).String()...), nil
}

type scanUUIDBinary struct{}

func (scanUUIDBinary) Scan(src []byte, dst any) error {
	id := dst.(*uuid.UUID)
	switch len(src) {
	case 0:
		if src == nil {
			*id = uuid.Nil
			return nil
		}
	case len(id):
		copy(id[:], src)
		return nil
	}
	return fmt.Errorf("pg: a binary uuid of %d bytes", len(src))
}

type scanUUIDText struct{}

func (scanUUIDText) Scan(src []byte, dst any) error {
	id := dst.(*uuid.UUID)
	if src == nil {
		*id = uuid.Nil
		return nil
	}
	parsed, err := uuid.ParseBytes(src)
	if err != nil {
		return fmt.Errorf("pg: %w", err)
	}
	*id = parsed
	return nil
}
