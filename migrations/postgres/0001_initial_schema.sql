-- Vartalaap's PostgreSQL schema, version 1: every record of the redb store.
--
-- Each record table keeps the record itself as `doc` (JSONB in exactly the form
-- schemas/*.json documents and the redb store writes, so both backends share one serde model
-- and new optional fields need no migration) plus the columns that queries filter, order, lock
-- or join on. The columns are written from the same record in the same statement as `doc`,
-- so they cannot disagree with it.
--
-- Phone numbers appear only as AES-256-GCM ciphertext (inside `doc`) and as the HMAC look-up
-- hash (`phone_hash`), never in plaintext.

CREATE TABLE reservations (
    id               BIGINT PRIMARY KEY,
    business_id      TEXT   NOT NULL,
    reservation_date DATE   NOT NULL,
    status           TEXT   NOT NULL,
    phone_hash       TEXT,
    call_id          BIGINT,
    doc              JSONB  NOT NULL
);
CREATE SEQUENCE reservations_id_seq OWNED BY reservations.id;
-- Capacity checks and day lists.
CREATE INDEX reservations_by_business_date ON reservations (business_id, reservation_date);
-- "Do I have a booking today?"
CREATE INDEX reservations_by_phone_date ON reservations (phone_hash, reservation_date)
    WHERE phone_hash IS NOT NULL;

CREATE TABLE call_logs (
    id          BIGINT      PRIMARY KEY,
    business_id TEXT        NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    outcome     TEXT        NOT NULL,
    phone_hash  TEXT,
    doc         JSONB       NOT NULL
);
CREATE SEQUENCE call_logs_id_seq OWNED BY call_logs.id;
CREATE INDEX call_logs_by_business_start ON call_logs (business_id, started_at);

CREATE TABLE conversation_turns (
    call_id BIGINT  NOT NULL REFERENCES call_logs (id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    doc     JSONB   NOT NULL,
    PRIMARY KEY (call_id, seq)
);

CREATE TABLE caller_preferences (
    phone_hash TEXT        PRIMARY KEY,
    updated_at TIMESTAMPTZ NOT NULL,
    doc        JSONB       NOT NULL
);

CREATE TABLE whatsapp_followups (
    id             BIGINT PRIMARY KEY,
    reservation_id BIGINT NOT NULL REFERENCES reservations (id),
    status         TEXT   NOT NULL,
    doc            JSONB  NOT NULL
);
CREATE SEQUENCE whatsapp_followups_id_seq OWNED BY whatsapp_followups.id;
CREATE INDEX whatsapp_followups_by_reservation ON whatsapp_followups (reservation_id);

CREATE TABLE callback_requests (
    id          BIGINT      PRIMARY KEY,
    business_id TEXT        NOT NULL,
    status      TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    phone_hash  TEXT,
    call_id     BIGINT,
    doc         JSONB       NOT NULL
);
CREATE SEQUENCE callback_requests_id_seq OWNED BY callback_requests.id;
CREATE INDEX callback_requests_by_business ON callback_requests (business_id, id);

-- One review per call (the review job is idempotent); deleted with its call by retention.
CREATE TABLE transcript_reviews (
    id          BIGINT      PRIMARY KEY,
    call_id     BIGINT      NOT NULL UNIQUE REFERENCES call_logs (id) ON DELETE CASCADE,
    business_id TEXT        NOT NULL,
    reviewed_at TIMESTAMPTZ NOT NULL,
    doc         JSONB       NOT NULL
);
CREATE SEQUENCE transcript_reviews_id_seq OWNED BY transcript_reviews.id;

-- Suggestions outlive the review and call they came from (retention keeps them: they hold
-- no caller data), so review_id and call_id are plain columns, not foreign keys.
CREATE TABLE improvement_suggestions (
    id          BIGINT PRIMARY KEY,
    review_id   BIGINT NOT NULL,
    call_id     BIGINT NOT NULL,
    business_id TEXT   NOT NULL,
    status      TEXT   NOT NULL,
    category    TEXT   NOT NULL,
    doc         JSONB  NOT NULL
);
CREATE SEQUENCE improvement_suggestions_id_seq OWNED BY improvement_suggestions.id;
CREATE INDEX improvement_suggestions_by_review ON improvement_suggestions (review_id);
CREATE INDEX improvement_suggestions_by_business_status
    ON improvement_suggestions (business_id, status);

-- Durable jobs. `claim_at` is when the job may next be claimed: `due_at` while pending, the
-- lease expiry while running, NULL once done or dead; claiming is an index range scan with
-- FOR UPDATE SKIP LOCKED.
CREATE TABLE jobs (
    id              BIGINT      PRIMARY KEY,
    kind            TEXT        NOT NULL,
    status          TEXT        NOT NULL,
    idempotency_key TEXT        NOT NULL UNIQUE,
    claim_at        TIMESTAMPTZ,
    doc             JSONB       NOT NULL
);
CREATE SEQUENCE jobs_id_seq OWNED BY jobs.id;
CREATE INDEX jobs_claimable ON jobs (claim_at, id) WHERE claim_at IS NOT NULL;
CREATE INDEX jobs_by_status ON jobs (status, id);

-- Per-business daily counters; they survive retention purges.
CREATE TABLE daily_aggregates (
    business_id TEXT   NOT NULL,
    day         DATE   NOT NULL,
    metric      TEXT   NOT NULL,
    count       BIGINT NOT NULL CHECK (count >= 0),
    PRIMARY KEY (business_id, day, metric)
);

-- Single-use markers (Plivo nonces, stream tokens): the primary key makes "first use wins"
-- hold across every node sharing the database.
CREATE TABLE used_once (
    key        TEXT   PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX used_once_by_expiry ON used_once (expires_at);

-- One throw-away row written and deleted by the write probe.
CREATE TABLE write_probe (
    id     SMALLINT PRIMARY KEY,
    filler BYTEA    NOT NULL
);
