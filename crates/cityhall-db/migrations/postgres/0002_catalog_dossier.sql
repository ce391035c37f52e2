-- Procedure catalog, dossiers and their workflow, attachments, signed results (the
-- document wallet) and fee payments. Instants are integer microseconds (UTC).

CREATE TABLE procedure_fields (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_en TEXT NOT NULL
);

-- One row per version; `current` marks the version in force. Dossiers point at a version.
CREATE TABLE procedures (
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL,
    version INTEGER NOT NULL,
    current BOOLEAN NOT NULL,
    name TEXT NOT NULL,
    name_en TEXT NOT NULL,
    field TEXT NOT NULL REFERENCES procedure_fields(code),
    level TEXT NOT NULL,
    agency TEXT NOT NULL,
    online_level TEXT NOT NULL,
    has_online BOOLEAN NOT NULL,
    has_fee BOOLEAN NOT NULL,
    complete BOOLEAN NOT NULL,
    effective_from TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    record TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    UNIQUE (code, version)
);
CREATE INDEX procedures_current ON procedures (current, code);

-- Per agency and local day; incremented inside the submitting transaction, so codes are
-- unique across replicas.
CREATE TABLE tracking_sequences (
    agency_code TEXT NOT NULL,
    day TEXT NOT NULL,
    next_value BIGINT NOT NULL,
    PRIMARY KEY (agency_code, day)
);

CREATE TABLE dossiers (
    id TEXT PRIMARY KEY,
    -- The tracking code; NULL while a draft.
    code TEXT UNIQUE,
    procedure_id TEXT NOT NULL REFERENCES procedures(id),
    procedure_code TEXT NOT NULL,
    -- The account that filed it (NULL for a paper dossier of someone without an account).
    owner_id TEXT REFERENCES users(id),
    applicant_name TEXT NOT NULL,
    applicant_id_hash TEXT,
    applicant_id_hint TEXT,
    applicant_contact TEXT,
    -- JSON {kind, name, id_hint, relation} of the person or business applied for, or NULL.
    represented TEXT,
    state TEXT NOT NULL,
    status INTEGER NOT NULL,
    channel TEXT NOT NULL,
    delivery TEXT NOT NULL,
    ward_code TEXT REFERENCES units(code),
    agency_code TEXT NOT NULL,
    desk_agency_code TEXT,
    form TEXT NOT NULL,
    assigned_to TEXT REFERENCES users(id),
    registered_by TEXT REFERENCES users(id),
    row_version INTEGER NOT NULL,
    idem_key TEXT,
    time_limit TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    submitted_at BIGINT,
    accepted_at BIGINT,
    due_at BIGINT,
    rescheduled_due_at BIGINT,
    finished_at BIGINT,
    returned_at BIGINT,
    outcome TEXT,
    last_reason TEXT,
    paused_micros BIGINT NOT NULL DEFAULT 0,
    pause_started_at BIGINT,
    supplement_count INTEGER NOT NULL DEFAULT 0,
    fee BIGINT NOT NULL DEFAULT 0,
    fee_due BIGINT NOT NULL DEFAULT 0,
    fee_paid_online BOOLEAN NOT NULL DEFAULT FALSE,
    paid_at BIGINT,
    inputs_digitised BOOLEAN NOT NULL DEFAULT FALSE,
    e_result BOOLEAN NOT NULL DEFAULT FALSE,
    paper_result_required BOOLEAN NOT NULL DEFAULT FALSE,
    reused_count INTEGER NOT NULL DEFAULT 0,
    rating INTEGER,
    rating_comment TEXT,
    rated_at BIGINT,
    UNIQUE (owner_id, idem_key)
);
CREATE INDEX dossiers_agency ON dossiers (agency_code, status, submitted_at);
CREATE INDEX dossiers_desk ON dossiers (desk_agency_code, submitted_at);
CREATE INDEX dossiers_owner ON dossiers (owner_id, created_at);
CREATE INDEX dossiers_due ON dossiers (agency_code, due_at);

CREATE TABLE dossier_events (
    id TEXT PRIMARY KEY,
    dossier_id TEXT NOT NULL REFERENCES dossiers(id),
    at BIGINT NOT NULL,
    actor_id TEXT,
    actor_kind TEXT NOT NULL,
    action TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    note TEXT,
    data TEXT
);
CREATE INDEX dossier_events_dossier ON dossier_events (dossier_id, at);

CREATE TABLE blobs (
    hash TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    -- The bytes when blobs live in the database; NULL when they live in files.
    data BYTEA,
    created_at BIGINT NOT NULL
);

CREATE TABLE dossier_files (
    id TEXT PRIMARY KEY,
    dossier_id TEXT NOT NULL REFERENCES dossiers(id),
    field TEXT NOT NULL,
    document_id TEXT,
    blob_hash TEXT REFERENCES blobs(hash),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    -- upload | scan | wallet | registry
    source TEXT NOT NULL,
    issued_document_id TEXT,
    stage TEXT NOT NULL,
    added_at BIGINT NOT NULL,
    added_by TEXT
);
CREATE INDEX dossier_files_dossier ON dossier_files (dossier_id);

-- Signed results: the document wallet of their holder, and what /verify checks.
CREATE TABLE issued_documents (
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    dossier_id TEXT NOT NULL REFERENCES dossiers(id),
    owner_id TEXT REFERENCES users(id),
    holder_id_hash TEXT,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    title_en TEXT NOT NULL,
    payload TEXT NOT NULL,
    signature TEXT NOT NULL,
    key_id TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX issued_documents_owner ON issued_documents (owner_id, kind);

CREATE TABLE payments (
    id TEXT PRIMARY KEY,
    dossier_id TEXT NOT NULL REFERENCES dossiers(id),
    amount BIGINT NOT NULL,
    provider TEXT NOT NULL,
    status TEXT NOT NULL,
    provider_ref TEXT,
    receipt_no TEXT UNIQUE,
    created_at BIGINT NOT NULL,
    paid_at BIGINT
);
CREATE INDEX payments_dossier ON payments (dossier_id);
