-- Foundation: reference data, accounts, sessions, audit log, outbox.
-- Instants are integer microseconds since the Unix epoch (UTC). IDs are UUIDv7 text.

CREATE TABLE units (
    code TEXT PRIMARY KEY,
    province_code TEXT NOT NULL,
    name TEXT NOT NULL,
    name_en TEXT NOT NULL,
    kind TEXT NOT NULL,
    lat DOUBLE PRECISION NOT NULL,
    lon DOUBLE PRECISION NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE agencies (
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    name_en TEXT NOT NULL,
    kind TEXT NOT NULL,
    -- NULL: the whole province; otherwise the one ward/commune the agency serves.
    ward_code TEXT REFERENCES units(code),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    updated_at BIGINT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    full_name TEXT NOT NULL,
    email TEXT UNIQUE,
    phone TEXT UNIQUE,
    password_hash TEXT NOT NULL,
    national_id_hash TEXT UNIQUE,
    national_id_hint TEXT,
    assurance TEXT NOT NULL DEFAULT 'none',
    verified_by TEXT,
    verified_at BIGINT,
    ward_code TEXT REFERENCES units(code),
    totp_secret TEXT,
    totp_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE user_roles (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    -- '' when the role is not scoped to an agency (portable UNIQUE without NULL quirks).
    agency_code TEXT NOT NULL DEFAULT '',
    granted_by TEXT,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, role, agency_code)
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    mfa_pending BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT,
    last_used_at BIGINT
);

CREATE TABLE login_throttle (
    key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    locked_until BIGINT
);

CREATE TABLE password_resets (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    used_at BIGINT
);
CREATE INDEX password_resets_user ON password_resets(user_id);

CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    -- NULL until the sealer gives the entry its place in the chain.
    seq BIGINT UNIQUE,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    subject_user_id TEXT,
    detail TEXT NOT NULL,
    digest TEXT NOT NULL,
    prev_hash TEXT,
    hash TEXT
);
CREATE INDEX audit_log_pending ON audit_log(at) WHERE seq IS NULL;
CREATE INDEX audit_log_subject ON audit_log(subject_user_id, at);

CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    -- Ed25519 signature of the head, renewed at every seal: rewriting the newest entries
    -- and the head together is caught without waiting for the next checkpoint.
    signature TEXT NOT NULL DEFAULT ''
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_checkpoints (
    seq BIGINT PRIMARY KEY,
    hash TEXT NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL,
    at BIGINT NOT NULL
);

CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    locked_until BIGINT,
    sent_at BIGINT,
    failed_at BIGINT,
    last_error TEXT
);
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;

CREATE TABLE system_flags (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    at BIGINT NOT NULL
);
