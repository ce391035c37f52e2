-- Open data: themes (CKAN groups), datasets published by agencies (CKAN organizations),
-- their tags, themes and resources, and the columns of each resource's datastore table.
-- A datastore table itself is created at each load as ods_<uuid>.

CREATE TABLE od_groups (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    title_vi TEXT NOT NULL,
    title_en TEXT NOT NULL,
    description_vi TEXT NOT NULL DEFAULT '',
    description_en TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);

CREATE TABLE od_datasets (
    id TEXT PRIMARY KEY,
    -- The URL name: lower-case letters, digits, '-' and '_'.
    name TEXT NOT NULL UNIQUE,
    org_code TEXT NOT NULL REFERENCES agencies(code),
    title_vi TEXT NOT NULL,
    title_en TEXT NOT NULL DEFAULT '',
    notes_vi TEXT NOT NULL DEFAULT '',
    notes_en TEXT NOT NULL DEFAULT '',
    license_id TEXT NOT NULL,
    -- draft | active | deleted
    state TEXT NOT NULL,
    private BOOLEAN NOT NULL DEFAULT FALSE,
    frequency TEXT,
    temporal_start TEXT,
    temporal_end TEXT,
    spatial TEXT,
    contact_name TEXT,
    contact_email TEXT,
    -- Who keeps it: 'publisher', or the statistics job that writes it.
    source TEXT NOT NULL DEFAULT 'publisher',
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    created_by TEXT,
    row_version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX od_datasets_org ON od_datasets (org_code);

CREATE TABLE od_dataset_tags (
    dataset_id TEXT NOT NULL REFERENCES od_datasets(id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (dataset_id, tag)
);

CREATE TABLE od_dataset_groups (
    dataset_id TEXT NOT NULL REFERENCES od_datasets(id) ON DELETE CASCADE,
    group_id TEXT NOT NULL REFERENCES od_groups(id),
    PRIMARY KEY (dataset_id, group_id)
);

CREATE TABLE od_resources (
    id TEXT PRIMARY KEY,
    dataset_id TEXT NOT NULL REFERENCES od_datasets(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    format TEXT NOT NULL DEFAULT '',
    mimetype TEXT,
    -- A link, when the resource is not an upload.
    url TEXT,
    blob_hash TEXT REFERENCES blobs(hash),
    size BIGINT,
    encoding TEXT,
    -- The live datastore table and its row count, when the file was loaded.
    datastore_table TEXT,
    datastore_rows BIGINT,
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL
);
CREATE INDEX od_resources_dataset ON od_resources (dataset_id, position);

CREATE TABLE od_fields (
    resource_id TEXT NOT NULL REFERENCES od_resources(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    PRIMARY KEY (resource_id, position)
);

-- Bumped by every change, so each replica knows when to rebuild its search index.
CREATE TABLE od_stamp (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    stamp BIGINT NOT NULL
);
INSERT INTO od_stamp (id, stamp) VALUES (1, 0);
