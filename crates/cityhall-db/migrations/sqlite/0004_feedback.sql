-- Citizen feedback (1022): reports, their timeline, photos, followers; routing overrides
-- set by admins; Open311 API keys. Instants are microseconds since the epoch (UTC).

-- Category × ward → responsible unit, overriding the category's rule. ward_code '' is
-- every ward.
CREATE TABLE feedback_routes (
    category_code TEXT NOT NULL,
    ward_code TEXT NOT NULL DEFAULT '',
    agency_code TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT,
    PRIMARY KEY (category_code, ward_code)
);

CREATE TABLE reports (
    id TEXT PRIMARY KEY,
    -- PA-yymmdd-NNNN, also the Open311 service_request_id.
    code TEXT NOT NULL UNIQUE,
    category_code TEXT NOT NULL,
    status TEXT NOT NULL,
    channel TEXT NOT NULL,
    description TEXT NOT NULL,
    answers TEXT NOT NULL DEFAULT '{}',
    address TEXT,
    ward_code TEXT NOT NULL REFERENCES units(code),
    lat REAL,
    lon REAL,
    agency_code TEXT NOT NULL,
    assigned_to TEXT,
    reporter_id TEXT,
    reporter_name TEXT,
    reporter_email TEXT,
    reporter_phone TEXT,
    hide_name BOOLEAN NOT NULL DEFAULT FALSE,
    -- The operator who filed it for a caller, or the Open311 key.
    filed_by TEXT,
    -- Hash of the e-mailed confirmation token or the SMS code, until confirmed.
    confirm_hash TEXT,
    confirm_attempts INTEGER NOT NULL DEFAULT 0,
    -- Open311's token for a report not yet confirmed.
    open311_token TEXT UNIQUE,
    idem_key TEXT UNIQUE,
    created_at BIGINT NOT NULL,
    confirmed_at BIGINT,
    updated_at BIGINT NOT NULL,
    due_at BIGINT,
    resolved_at BIGINT,
    closed_at BIGINT,
    public_note TEXT,
    duplicate_of TEXT,
    reopen_count INTEGER NOT NULL DEFAULT 0,
    escalation_level INTEGER NOT NULL DEFAULT 0,
    escalated_at BIGINT,
    rating INTEGER,
    rating_comment TEXT,
    rated_at BIGINT,
    row_version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX reports_queue ON reports (agency_code, status, created_at);
CREATE INDEX reports_nearby ON reports (category_code, status, lat, lon);
CREATE INDEX reports_due ON reports (status, due_at);
CREATE INDEX reports_created ON reports (created_at);
CREATE INDEX reports_ward ON reports (ward_code, created_at);
CREATE INDEX reports_phone ON reports (reporter_phone);
CREATE INDEX reports_reporter ON reports (reporter_id, created_at);

CREATE TABLE report_events (
    id TEXT PRIMARY KEY,
    report_id TEXT NOT NULL REFERENCES reports(id),
    at BIGINT NOT NULL,
    actor_id TEXT,
    actor_kind TEXT NOT NULL,
    action TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    note TEXT,
    -- Only staff see an internal note.
    internal BOOLEAN NOT NULL DEFAULT FALSE,
    data TEXT
);
CREATE INDEX report_events_report ON report_events (report_id, at);

CREATE TABLE report_photos (
    id TEXT PRIMARY KEY,
    report_id TEXT NOT NULL REFERENCES reports(id),
    -- 'report' (the resident's) or 'resolution' (the unit's).
    stage TEXT NOT NULL,
    blob_hash TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    position INTEGER NOT NULL,
    added_at BIGINT NOT NULL
);
CREATE INDEX report_photos_report ON report_photos (report_id, position);

CREATE TABLE report_followers (
    report_id TEXT NOT NULL REFERENCES reports(id),
    user_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (report_id, user_id)
);
CREATE INDEX report_followers_user ON report_followers (user_id);

-- Keys issued to Open311 apps; only the hash is kept.
CREATE TABLE open311_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    created_by TEXT,
    revoked_at BIGINT
);
