//! Every change to open data: who may make it, what it must satisfy, and writing it with its
//! audit entry and the change counter in one transaction. The API, the pages, the demo and
//! the statistics jobs all come through here.

use cityhall_core::identity::Role;
use cityhall_core::opendata::table::{
    convert, infer_types, sniff, Cell, ColumnType, Encoding, FileKind, Source, TableError,
    TabularFormat,
};
use cityhall_core::text::fold;
use cityhall_db::audit::NewEntry;
use cityhall_db::opendata::{DatasetFull, DatasetRow, DsValue, ResourceRow};
use cityhall_db::{micros, new_id, AuditStore, Db, OpenDataStore, StoreError, Tx};
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::{licence, Snapshot};
use crate::auth::Signed;
use crate::AppState;

/// Rows written per insert batch while loading a table.
const LOAD_BATCH: usize = 1000;

/// Who is making a change: a signed-in person, or the platform itself (demo, statistics).
#[derive(Clone, Debug)]
pub enum Actor<'a> {
    User(&'a Signed),
    System(&'a str),
}

impl Actor<'_> {
    fn name(&self) -> &str {
        match self {
            Actor::User(s) => s.username(),
            Actor::System(n) => n,
        }
    }
    fn user_id(&self) -> Option<&str> {
        match self {
            Actor::User(s) => Some(s.user_id()),
            Actor::System(_) => None,
        }
    }
    /// Whether this actor may publish for `org` (an agency code).
    pub fn may_publish(&self, org: &str) -> bool {
        match self {
            Actor::System(_) => true,
            Actor::User(s) => s.has(Role::CityAdmin) || publisher_orgs(s).iter().any(|o| o == org),
        }
    }
}

/// Agencies for which `s` publishes: as a publisher or as the agency's admin.
pub fn publisher_orgs(s: &Signed) -> Vec<String> {
    let mut v = s.agencies(Role::Publisher);
    v.extend(s.agencies(Role::AgencyAdmin));
    v.sort();
    v.dedup();
    v
}

/// One problem with one field: a translation key and its arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub key: &'static str,
    pub args: Vec<(&'static str, String)>,
}

fn field_err(field: &str, key: &'static str) -> FieldError {
    FieldError {
        field: field.to_string(),
        key,
        args: vec![],
    }
}

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum OdError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("not allowed")]
    Forbidden,
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// Someone else changed the dataset since it was read.
    #[error("changed meanwhile")]
    Stale,
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

impl From<TableError> for OdError {
    fn from(e: TableError) -> Self {
        OdError::Invalid(vec![FieldError {
            field: "upload".into(),
            key: e.key(),
            args: e.args(),
        }])
    }
}

/// What a dataset write may set; `None` leaves a field as it is (patch) or empty (create).
#[derive(Debug, Clone, Default)]
pub struct DatasetInput {
    pub name: Option<String>,
    pub title_vi: Option<String>,
    pub title_en: Option<String>,
    pub notes_vi: Option<String>,
    pub notes_en: Option<String>,
    /// An organisation id, name or agency code.
    pub owner_org: Option<String>,
    pub license_id: Option<String>,
    pub tags: Option<Vec<String>>,
    /// Group ids or names.
    pub groups: Option<Vec<String>>,
    pub private: Option<bool>,
    pub state: Option<String>,
    pub frequency: Option<String>,
    pub temporal_start: Option<String>,
    pub temporal_end: Option<String>,
    pub spatial: Option<String>,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    /// The version the writer read (pages send it; the API may omit it).
    pub row_version: Option<i32>,
}

/// Whether `name` is a valid dataset URL name: 2–100 of `a-z 0-9 - _`.
pub fn valid_name(name: &str) -> bool {
    (2..=100).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// A URL name made from a title ("Danh sách phường" → "danh-sach-phuong").
pub fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in fold(title).chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').chars().take(90).collect()
}

fn clean(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

fn valid_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && s[..4].parse::<u16>().is_ok()
        && s[5..7].parse::<u8>().is_ok_and(|m| (1..=12).contains(&m))
        && s[8..].parse::<u8>().is_ok_and(|d| (1..=31).contains(&d))
}

/// The update frequencies offered (DCAT's frequency vocabulary, by name).
pub const FREQUENCIES: &[&str] = &[
    "daily",
    "weekly",
    "monthly",
    "quarterly",
    "annual",
    "irregular",
    "never",
];

/// Merges `input` over `base` and checks the result; `snap` resolves organisations and
/// groups. Returns the row and the group ids.
fn merged(
    base: &DatasetRow,
    base_tags: &[String],
    base_groups: &[String],
    input: &DatasetInput,
    snap: &Snapshot,
) -> Result<(DatasetRow, Vec<String>, Vec<String>), OdError> {
    let mut errors = Vec::new();
    let mut d = base.clone();
    if let Some(n) = &input.name {
        d.name = n.trim().to_string();
    }
    if !valid_name(&d.name) {
        errors.push(field_err("name", "od-err-name"));
    }
    macro_rules! text {
        ($f:ident) => {
            if let Some(v) = &input.$f {
                d.$f = v.trim().to_string();
            }
        };
    }
    text!(title_vi);
    text!(title_en);
    text!(notes_vi);
    text!(notes_en);
    if d.title_vi.is_empty() {
        errors.push(field_err("title", "od-err-title"));
    } else if d.title_vi.chars().count() > 300 || d.title_en.chars().count() > 300 {
        errors.push(field_err("title", "od-err-too-long"));
    }
    if d.notes_vi.len() > 20_000 || d.notes_en.len() > 20_000 {
        errors.push(field_err("notes", "od-err-too-long"));
    }
    if let Some(o) = &input.owner_org {
        match snap.org(o.trim()) {
            Some(org) => d.org_code = org.code.clone(),
            None => errors.push(field_err("owner_org", "od-err-org")),
        }
    }
    if d.org_code.is_empty() {
        errors.push(field_err("owner_org", "od-err-org"));
    }
    if let Some(l) = &input.license_id {
        d.license_id = l.trim().to_string();
    }
    if d.license_id.is_empty() {
        d.license_id = "cc-by-4.0".into();
    }
    if licence(&d.license_id).is_none() {
        errors.push(field_err("license_id", "od-err-licence"));
    }
    if let Some(p) = input.private {
        d.private = p;
    }
    if let Some(s) = &input.state {
        d.state = s.trim().to_string();
    }
    if !matches!(d.state.as_str(), "draft" | "active" | "deleted") {
        errors.push(field_err("state", "od-err-state"));
    }
    macro_rules! opt {
        ($f:ident) => {
            if input.$f.is_some() {
                d.$f = clean(&input.$f);
            }
        };
    }
    opt!(frequency);
    opt!(temporal_start);
    opt!(temporal_end);
    opt!(spatial);
    opt!(contact_name);
    opt!(contact_email);
    if d.frequency
        .as_deref()
        .is_some_and(|f| !FREQUENCIES.contains(&f))
    {
        errors.push(field_err("frequency", "od-err-frequency"));
    }
    for (field, v) in [
        ("temporal_start", &d.temporal_start),
        ("temporal_end", &d.temporal_end),
    ] {
        if v.as_deref().is_some_and(|v| !valid_date(v)) {
            errors.push(field_err(field, "od-err-date"));
        }
    }
    if let (Some(a), Some(b)) = (&d.temporal_start, &d.temporal_end) {
        if valid_date(a) && valid_date(b) && a > b {
            errors.push(field_err("temporal_end", "od-err-date-order"));
        }
    }
    if d.contact_email
        .as_deref()
        .is_some_and(|e| cityhall_core::identity::Email::parse(e).is_err())
    {
        errors.push(field_err("maintainer_email", "od-err-email"));
    }
    let tags = match &input.tags {
        None => base_tags.to_vec(),
        Some(list) => {
            let mut out: Vec<String> = Vec::new();
            for t in list {
                let t = t.trim();
                if t.is_empty() {
                    continue;
                }
                if t.chars().count() > 100
                    || !t.chars().all(|c| c.is_alphanumeric() || " -_.".contains(c))
                {
                    errors.push(FieldError {
                        field: "tags".into(),
                        key: "od-err-tag",
                        args: vec![("tag", t.to_string())],
                    });
                    continue;
                }
                if !out.iter().any(|o| o == t) {
                    out.push(t.to_string());
                }
            }
            out
        }
    };
    let groups = match &input.groups {
        None => base_groups.to_vec(),
        Some(list) => {
            let mut out = Vec::new();
            for g in list {
                match snap.group(g.trim()) {
                    Some(g) => {
                        if !out.contains(&g.id) {
                            out.push(g.id.clone())
                        }
                    }
                    None => errors.push(FieldError {
                        field: "groups".into(),
                        key: "od-err-group",
                        args: vec![("group", g.trim().to_string())],
                    }),
                }
            }
            out
        }
    };
    if errors.is_empty() {
        Ok((d, tags, groups))
    } else {
        Err(OdError::Invalid(errors))
    }
}

async fn audit(
    tx: &mut Tx,
    now: OffsetDateTime,
    actor: &Actor<'_>,
    action: &str,
    object_type: &str,
    object_id: &str,
    detail: Value,
) -> Result<(), OdError> {
    Db::record(
        tx,
        now,
        NewEntry {
            actor: actor.name(),
            action,
            object_type,
            object_id,
            subject_user_id: None,
            detail,
        },
    )
    .await?;
    Ok(())
}

/// Creates a dataset.
pub async fn create_dataset(
    state: &AppState,
    actor: &Actor<'_>,
    input: &DatasetInput,
    source: &str,
) -> Result<DatasetFull, OdError> {
    let now = OffsetDateTime::now_utc();
    let snap = state
        .opendata
        .current(&state.db, true)
        .await
        .map_err(other)?;
    let base = DatasetRow {
        id: new_id(),
        state: "active".into(),
        source: source.into(),
        created_at: micros(now),
        modified_at: micros(now),
        created_by: actor.user_id().map(String::from),
        row_version: 1,
        ..Default::default()
    };
    let mut input = input.clone();
    if input.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
        input.name = input.title_vi.as_deref().map(slug);
    }
    let (d, tags, groups) = merged(&base, &[], &[], &input, &snap)?;
    if !actor.may_publish(&d.org_code) {
        return Err(OdError::Forbidden);
    }
    if state.db.od_dataset(&d.name).await?.is_some() {
        return Err(OdError::Invalid(vec![field_err(
            "name",
            "od-err-name-taken",
        )]));
    }
    let mut tx = state.db.begin().await?;
    Db::od_insert_dataset(&mut tx, &d)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => {
                OdError::Invalid(vec![field_err("name", "od-err-name-taken")])
            }
            e => e.into(),
        })?;
    Db::od_set_tags(&mut tx, &d.id, &tags).await?;
    Db::od_set_groups(&mut tx, &d.id, &groups).await?;
    audit(
        &mut tx,
        now,
        actor,
        "opendata.dataset.create",
        "dataset",
        &d.id,
        json!({"name": d.name, "org": d.org_code, "state": d.state, "private": d.private}),
    )
    .await?;
    Db::od_bump(&mut tx).await?;
    tx.commit().await?;
    refreshed(state).await;
    Ok(DatasetFull {
        dataset: d,
        tags,
        groups,
        resources: vec![],
    })
}

/// Changes a dataset: `input` over what is stored (a patch), or over an empty dataset that
/// keeps only its identity, organisation and resources (`replace`, CKAN's `package_update`).
pub async fn update_dataset(
    state: &AppState,
    actor: &Actor<'_>,
    key: &str,
    input: &DatasetInput,
    replace: bool,
) -> Result<DatasetFull, OdError> {
    let now = OffsetDateTime::now_utc();
    let snap = state
        .opendata
        .current(&state.db, true)
        .await
        .map_err(other)?;
    let Some(cur) = state.db.od_dataset(key).await? else {
        return Err(OdError::NotFound("dataset"));
    };
    if cur.dataset.state == "deleted" && !actor.may_publish(&cur.dataset.org_code) {
        return Err(OdError::NotFound("dataset"));
    }
    if !actor.may_publish(&cur.dataset.org_code) {
        return Err(OdError::Forbidden);
    }
    if input
        .row_version
        .is_some_and(|v| v != cur.dataset.row_version)
    {
        return Err(OdError::Stale);
    }
    let (base, tags, groups) = if replace {
        let b = DatasetRow {
            id: cur.dataset.id.clone(),
            name: cur.dataset.name.clone(),
            org_code: cur.dataset.org_code.clone(),
            license_id: cur.dataset.license_id.clone(),
            state: cur.dataset.state.clone(),
            private: cur.dataset.private,
            source: cur.dataset.source.clone(),
            created_at: cur.dataset.created_at,
            created_by: cur.dataset.created_by.clone(),
            row_version: cur.dataset.row_version,
            ..Default::default()
        };
        (b, vec![], vec![])
    } else {
        (cur.dataset.clone(), cur.tags.clone(), cur.groups.clone())
    };
    let (mut d, tags, groups) = merged(&base, &tags, &groups, input, &snap)?;
    if d.org_code != cur.dataset.org_code && !actor.may_publish(&d.org_code) {
        return Err(OdError::Forbidden);
    }
    if d.name != cur.dataset.name && state.db.od_dataset(&d.name).await?.is_some() {
        return Err(OdError::Invalid(vec![field_err(
            "name",
            "od-err-name-taken",
        )]));
    }
    d.modified_at = micros(now).max(cur.dataset.modified_at + 1);
    let mut tx = state.db.begin().await?;
    if !Db::od_update_dataset(&mut tx, &d, cur.dataset.row_version).await? {
        return Err(OdError::Stale);
    }
    Db::od_set_tags(&mut tx, &d.id, &tags).await?;
    Db::od_set_groups(&mut tx, &d.id, &groups).await?;
    audit(
        &mut tx,
        now,
        actor,
        "opendata.dataset.update",
        "dataset",
        &d.id,
        changes(&cur.dataset, &d),
    )
    .await?;
    Db::od_bump(&mut tx).await?;
    tx.commit().await?;
    refreshed(state).await;
    d.row_version = cur.dataset.row_version + 1;
    Ok(DatasetFull {
        dataset: d,
        tags,
        groups,
        resources: cur.resources,
    })
}

/// The fields that changed, old and new, for the audit entry.
fn changes(a: &DatasetRow, b: &DatasetRow) -> Value {
    let (va, vb) = (
        serde_json::to_value(a).unwrap_or_default(),
        serde_json::to_value(b).unwrap_or_default(),
    );
    let mut out = serde_json::Map::new();
    if let (Value::Object(ma), Value::Object(mb)) = (va, vb) {
        for (k, v) in mb {
            if matches!(k.as_str(), "modified_at" | "row_version") {
                continue;
            }
            if ma.get(&k) != Some(&v) {
                let from = ma.get(&k).cloned();
                out.insert(k, json!({"from": from, "to": v}));
            }
        }
    }
    Value::Object(out)
}

/// A new resource: a link, or an upload (checked by content).
#[derive(Debug, Clone, Default)]
pub struct ResourceInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub format: Option<String>,
    pub url: Option<String>,
    pub upload: Option<Vec<u8>>,
    /// The upload's file name as sent (used only for a default resource name).
    pub filename: Option<String>,
    pub encoding: Option<String>,
    /// Column types chosen by the publisher (in column order), instead of inferred ones.
    pub types: Option<Vec<String>>,
}

fn kind_format(k: FileKind) -> (&'static str, &'static str) {
    match k {
        FileKind::Csv => ("CSV", "text/csv"),
        FileKind::Json => ("JSON", "application/json"),
        FileKind::Xlsx => (
            "XLSX",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        FileKind::Pdf => ("PDF", "application/pdf"),
    }
}

fn parse_encoding(e: Option<&str>) -> Result<Option<Encoding>, OdError> {
    match e.map(str::trim).filter(|e| !e.is_empty()) {
        None => Ok(None),
        Some(e) => Encoding::parse(e)
            .map(Some)
            .ok_or_else(|| OdError::Invalid(vec![field_err("encoding", "od-err-encoding")])),
    }
}

fn parse_types(types: &[String]) -> Result<Vec<ColumnType>, OdError> {
    types
        .iter()
        .map(|t| {
            ColumnType::parse(t.trim()).ok_or_else(|| {
                OdError::Invalid(vec![FieldError {
                    field: "types".into(),
                    key: "od-err-type",
                    args: vec![("type", t.clone())],
                }])
            })
        })
        .collect()
}

/// Adds a resource to a dataset; a CSV or XLSX upload is loaded into the datastore in the
/// same transaction, so a file with a bad row adds nothing.
pub async fn add_resource(
    state: &AppState,
    actor: &Actor<'_>,
    dataset_key: &str,
    input: ResourceInput,
) -> Result<ResourceRow, OdError> {
    let now = OffsetDateTime::now_utc();
    let Some(cur) = state.db.od_dataset(dataset_key).await? else {
        return Err(OdError::NotFound("dataset"));
    };
    if !actor.may_publish(&cur.dataset.org_code) {
        return Err(if cur.dataset.private || cur.dataset.state != "active" {
            OdError::NotFound("dataset")
        } else {
            OdError::Forbidden
        });
    }
    let mut r = ResourceRow {
        id: new_id(),
        dataset_id: cur.dataset.id.clone(),
        position: cur
            .resources
            .iter()
            .map(|r| r.position + 1)
            .max()
            .unwrap_or(0),
        name: clean(&input.name)
            .or_else(|| clean(&input.filename))
            .unwrap_or_default(),
        description: clean(&input.description).unwrap_or_default(),
        format: clean(&input.format).unwrap_or_default().to_uppercase(),
        created_at: micros(now),
        modified_at: micros(now),
        ..Default::default()
    };
    let encoding = parse_encoding(input.encoding.as_deref())?;
    let mut tx = state.db.begin().await?;
    match (&input.upload, clean(&input.url)) {
        (Some(bytes), _) => {
            let Some(kind) = sniff(bytes) else {
                return Err(OdError::Invalid(vec![field_err(
                    "upload",
                    "od-err-file-kind",
                )]));
            };
            let (format, mime) = kind_format(kind);
            if !r.format.is_empty() && r.format != format {
                return Err(OdError::Invalid(vec![FieldError {
                    field: "format".into(),
                    key: "od-err-format-mismatch",
                    args: vec![("declared", r.format.clone()), ("found", format.into())],
                }]));
            }
            r.format = format.into();
            r.mimetype = Some(mime.into());
            r.size = Some(bytes.len() as i64);
            r.encoding = encoding.map(|e| e.as_str().to_string());
            r.blob_hash = Some(state.blobs.put(&mut tx, now, bytes, mime).await?);
            Db::od_insert_resource(&mut tx, &r).await?;
            let tabular = match kind {
                FileKind::Csv => Some(TabularFormat::Csv),
                FileKind::Xlsx => Some(TabularFormat::Xlsx),
                _ => None,
            };
            if let Some(fmt) = tabular {
                let types = input.types.as_deref().map(parse_types).transpose()?;
                let rows = load_table(&mut tx, &r.id, bytes, fmt, encoding, types).await?;
                r.datastore_rows = Some(rows);
            }
        }
        (None, Some(url)) => {
            if !(url.starts_with("https://") || url.starts_with("http://"))
                || url.len() > 2000
                || url.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(OdError::Invalid(vec![field_err("url", "od-err-url")]));
            }
            if r.name.is_empty() {
                r.name = url.clone();
            }
            r.url = Some(url);
            Db::od_insert_resource(&mut tx, &r).await?;
        }
        (None, None) => {
            return Err(OdError::Invalid(vec![field_err(
                "upload",
                "od-err-no-file",
            )]));
        }
    }
    if r.name.is_empty() {
        r.name = r.format.clone();
        Db::od_update_resource(&mut tx, &r).await?;
    }
    touch(&mut tx, &cur.dataset, now).await?;
    audit(
        &mut tx,
        now,
        actor,
        "opendata.resource.create",
        "resource",
        &r.id,
        json!({"dataset": cur.dataset.id, "name": r.name, "format": r.format,
               "blob": r.blob_hash, "url": r.url, "rows": r.datastore_rows}),
    )
    .await?;
    Db::od_bump(&mut tx).await?;
    tx.commit().await?;
    refreshed(state).await;
    let mut stored = state
        .db
        .od_resource(&r.id)
        .await?
        .ok_or(OdError::NotFound("resource"))?;
    stored.datastore_rows = stored.datastore_rows.or(r.datastore_rows);
    Ok(stored)
}

/// Reloads a resource's table with the column types a publisher chose; a value that does not
/// fit leaves the table as it was.
pub async fn retype(
    state: &AppState,
    actor: &Actor<'_>,
    resource_id: &str,
    types: &[String],
) -> Result<(), OdError> {
    let now = OffsetDateTime::now_utc();
    let Some(r) = state.db.od_resource(resource_id).await? else {
        return Err(OdError::NotFound("resource"));
    };
    let Some(d) = state.db.od_dataset(&r.dataset_id).await? else {
        return Err(OdError::NotFound("dataset"));
    };
    if !actor.may_publish(&d.dataset.org_code) {
        return Err(OdError::Forbidden);
    }
    let (Some(hash), Some(_)) = (&r.blob_hash, &r.datastore_table) else {
        return Err(OdError::Invalid(vec![field_err(
            "types",
            "od-err-not-table",
        )]));
    };
    let Some((_, bytes)) = state.blobs.get(&state.db, hash).await? else {
        return Err(OdError::NotFound("resource"));
    };
    let fmt = if r.format == "XLSX" {
        TabularFormat::Xlsx
    } else {
        TabularFormat::Csv
    };
    let types = parse_types(types)?;
    let encoding = parse_encoding(r.encoding.as_deref())?;
    let mut tx = state.db.begin().await?;
    let rows = load_table(&mut tx, &r.id, &bytes, fmt, encoding, Some(types.clone())).await?;
    touch(&mut tx, &d.dataset, now).await?;
    audit(
        &mut tx,
        now,
        actor,
        "opendata.resource.retype",
        "resource",
        &r.id,
        json!({"types": types.iter().map(|t| t.as_str()).collect::<Vec<_>>(), "rows": rows}),
    )
    .await?;
    Db::od_bump(&mut tx).await?;
    tx.commit().await?;
    refreshed(state).await;
    Ok(())
}

/// Removes a resource (and its table).
pub async fn delete_resource(
    state: &AppState,
    actor: &Actor<'_>,
    resource_id: &str,
) -> Result<(), OdError> {
    let now = OffsetDateTime::now_utc();
    let Some(r) = state.db.od_resource(resource_id).await? else {
        return Err(OdError::NotFound("resource"));
    };
    let Some(d) = state.db.od_dataset(&r.dataset_id).await? else {
        return Err(OdError::NotFound("dataset"));
    };
    if !actor.may_publish(&d.dataset.org_code) {
        return Err(OdError::Forbidden);
    }
    let mut tx = state.db.begin().await?;
    Db::od_delete_resource(&mut tx, &r.id).await?;
    touch(&mut tx, &d.dataset, now).await?;
    audit(
        &mut tx,
        now,
        actor,
        "opendata.resource.delete",
        "resource",
        &r.id,
        json!({"dataset": d.dataset.id, "name": r.name}),
    )
    .await?;
    Db::od_bump(&mut tx).await?;
    tx.commit().await?;
    refreshed(state).await;
    Ok(())
}

/// Marks the dataset modified (a resource changed).
async fn touch(tx: &mut Tx, d: &DatasetRow, now: OffsetDateTime) -> Result<(), OdError> {
    let mut d = d.clone();
    d.modified_at = micros(now).max(d.modified_at + 1);
    if !Db::od_update_dataset(tx, &d, d.row_version).await? {
        return Err(OdError::Stale);
    }
    Ok(())
}

/// Parses a table and loads it into a new datastore table for `resource_id`, swapped in when
/// every row fitted. Returns the number of rows.
pub async fn load_table(
    tx: &mut Tx,
    resource_id: &str,
    bytes: &[u8],
    format: TabularFormat,
    encoding: Option<Encoding>,
    types: Option<Vec<ColumnType>>,
) -> Result<i64, OdError> {
    let src = Source::open(bytes, format, encoding)?;
    let headers: Vec<String> = src.headers().to_vec();
    let types = match types {
        Some(t) if t.len() != headers.len() => {
            return Err(OdError::Invalid(vec![FieldError {
                field: "types".into(),
                key: "od-err-type-count",
                args: vec![
                    ("expected", headers.len().to_string()),
                    ("found", t.len().to_string()),
                ],
            }]))
        }
        Some(t) => t,
        None => infer_types(&src)?,
    };
    let fields: Vec<(String, String)> = headers
        .iter()
        .cloned()
        .zip(types.iter().map(|t| t.as_str().to_string()))
        .collect();
    let table = Db::ds_create(tx, resource_id, &fields).await?;
    let mut count: i64 = 0;
    let mut rows = src.rows();
    loop {
        // Parse a batch without holding the parser across an await.
        let mut batch: Vec<(Vec<DsValue>, String)> = Vec::with_capacity(LOAD_BATCH);
        for row in rows.by_ref().take(LOAD_BATCH) {
            let row = row?;
            let cells = convert(&row, &types, &headers)?;
            let text = fold(&row.cells.join(" "));
            batch.push((cells.into_iter().map(ds_value).collect(), text));
        }
        if batch.is_empty() {
            break;
        }
        Db::ds_insert(tx, &table, fields.len(), count + 1, &batch).await?;
        count += batch.len() as i64;
    }
    Db::ds_swap(tx, resource_id, &table, &fields, count).await?;
    Ok(count)
}

fn ds_value(c: Cell) -> DsValue {
    match c {
        Cell::Null => DsValue::Null,
        Cell::Text(s) | Cell::Date(s) | Cell::Timestamp(s) => DsValue::Text(s),
        Cell::Int(i) => DsValue::Int(i),
        Cell::Numeric(f) => DsValue::Float(f),
        Cell::Bool(b) => DsValue::Bool(b),
    }
}

fn other(e: anyhow::Error) -> OdError {
    OdError::Store(StoreError::Other(e))
}

/// Reloads this replica's snapshot after a write (others notice the counter within a second).
async fn refreshed(state: &AppState) {
    if let Err(e) = state.opendata.current(&state.db, true).await {
        tracing::warn!(error = %e, "open data reload after a write");
    }
}

/// A table the platform publishes: the resource's name and description, the file, the types.
pub struct TableFile {
    pub name: String,
    pub description: String,
    pub csv: Vec<u8>,
    pub types: Vec<ColumnType>,
}

/// Publishes (or refreshes) a table the platform keeps itself: the dataset is created when
/// missing, and its resource `resource_name` gets `csv` as its file and its datastore table.
/// Content identical to what is published writes nothing. Returns whether anything changed.
pub async fn publish_table(
    state: &AppState,
    actor: &Actor<'_>,
    dataset: &DatasetInput,
    source: &str,
    table: TableFile,
) -> Result<bool, OdError> {
    let TableFile {
        name: resource_name,
        description: resource_description,
        csv,
        types,
    } = table;
    let name = dataset.name.clone().unwrap_or_default();
    let existing = match state.db.od_dataset(&name).await? {
        Some(d) => d,
        None => create_dataset(state, actor, dataset, source).await?,
    };
    let Some(r) = existing
        .resources
        .iter()
        .find(|r| r.name == resource_name)
        .cloned()
    else {
        add_resource(
            state,
            actor,
            &existing.dataset.id,
            ResourceInput {
                name: Some(resource_name.clone()),
                description: Some(resource_description.clone()),
                format: Some("CSV".into()),
                upload: Some(csv),
                types: Some(types.iter().map(|t| t.as_str().to_string()).collect()),
                ..Default::default()
            },
        )
        .await?;
        return Ok(true);
    };
    if r.blob_hash.as_deref() == Some(cityhall_core::blob::address(&csv).as_str()) {
        return Ok(false);
    }
    let now = OffsetDateTime::now_utc();
    let mut tx = state.db.begin().await?;
    let mut r = r;
    r.blob_hash = Some(state.blobs.put(&mut tx, now, &csv, "text/csv").await?);
    r.size = Some(csv.len() as i64);
    r.modified_at = micros(now);
    r.description = resource_description;
    Db::od_update_resource(&mut tx, &r).await?;
    let rows = load_table(&mut tx, &r.id, &csv, TabularFormat::Csv, None, Some(types)).await?;
    touch(&mut tx, &existing.dataset, now).await?;
    audit(
        &mut tx,
        now,
        actor,
        "opendata.resource.refresh",
        "resource",
        &r.id,
        json!({"dataset": existing.dataset.id, "rows": rows, "blob": r.blob_hash}),
    )
    .await?;
    Db::od_bump(&mut tx).await?;
    tx.commit().await?;
    refreshed(state).await;
    Ok(true)
}

/// A CSV file from a header and rows (fields quoted when needed).
pub fn csv_bytes(header: &[&str], rows: &[Vec<String>]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(header);
    for r in rows {
        let _ = w.write_record(r);
    }
    w.into_inner().unwrap_or_default()
}
