-- +goose Up
-- The first answer to each POST that carried an Idempotency-Key, so that a
-- retry gets that answer again instead of causing a second effect
-- (ARCHITECTURE §5). A row is claimed (in_flight) before the handler runs
-- and completed (done) after it; claim fences a worker whose lease expired.
CREATE TABLE platform.idempotency_keys (
    scope            text        NOT NULL,
    key              text        NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    method           text        NOT NULL,
    path             text        NOT NULL,
    request_hash     bytea       NOT NULL CHECK (length(request_hash) = 32),
    state            text        NOT NULL CHECK (state IN ('in_flight', 'done')),
    claim            uuid,
    locked_until     timestamptz,
    response_status  integer,
    response_headers jsonb,
    response_body    bytea,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key),
    CHECK ((state = 'in_flight') = (claim IS NOT NULL AND locked_until IS NOT NULL)),
    CHECK ((state = 'done') = (response_status IS NOT NULL))
);

-- Purge deletes by age.
CREATE INDEX idempotency_keys_created_at_idx ON platform.idempotency_keys (created_at);

-- +goose Down
DROP TABLE platform.idempotency_keys;
