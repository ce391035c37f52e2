//! Open data: datasets, their tags, themes and resources, and the datastore — one real table
//! per loaded resource (`ods_<uuid>`, a new one for each load, columns `_id`, `_text` and `c1…cN`), so
//! that filters, sorting and paging are plain indexed SQL on either engine. A load creates the
//! new table, fills it and swaps it in inside the caller's transaction: a file that fails half
//! way leaves the previous table (or none) in place.

use time::OffsetDateTime;
use tracing::instrument;

use crate::{micros, run, tx, Db, Engine, Result, StoreError, Tx};

/// A dataset as stored.
#[derive(Debug, Clone, Default, sqlx::FromRow, serde::Serialize)]
pub struct DatasetRow {
    pub id: String,
    pub name: String,
    pub org_code: String,
    pub title_vi: String,
    pub title_en: String,
    pub notes_vi: String,
    pub notes_en: String,
    pub license_id: String,
    pub state: String,
    pub private: bool,
    pub frequency: Option<String>,
    pub temporal_start: Option<String>,
    pub temporal_end: Option<String>,
    pub spatial: Option<String>,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub source: String,
    pub created_at: i64,
    pub modified_at: i64,
    pub created_by: Option<String>,
    pub row_version: i32,
}

const DATASET_COLUMNS: &str = "id, name, org_code, title_vi, title_en, notes_vi, notes_en, \
    license_id, state, private, frequency, temporal_start, temporal_end, spatial, contact_name, \
    contact_email, source, created_at, modified_at, created_by, row_version";

/// A resource (a file or a link) of a dataset.
#[derive(Debug, Clone, Default, sqlx::FromRow, serde::Serialize)]
pub struct ResourceRow {
    pub id: String,
    pub dataset_id: String,
    pub position: i32,
    pub name: String,
    pub description: String,
    pub format: String,
    pub mimetype: Option<String>,
    pub url: Option<String>,
    pub blob_hash: Option<String>,
    pub size: Option<i64>,
    pub encoding: Option<String>,
    pub datastore_table: Option<String>,
    pub datastore_rows: Option<i64>,
    pub created_at: i64,
    pub modified_at: i64,
}

const RESOURCE_COLUMNS: &str = "id, dataset_id, position, name, description, format, mimetype, \
    url, blob_hash, size, encoding, datastore_table, datastore_rows, created_at, modified_at";

/// A theme (CKAN group).
#[derive(Debug, Clone, Default, sqlx::FromRow, serde::Serialize)]
pub struct GroupRow {
    pub id: String,
    pub name: String,
    pub title_vi: String,
    pub title_en: String,
    pub description_vi: String,
    pub description_en: String,
    pub created_at: i64,
}

/// A column of a datastore table. `type` is one of `text`, `int`, `numeric`, `bool`, `date`,
/// `timestamp` (dates and timestamps are kept as ISO 8601 text, which sorts correctly).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct FieldRow {
    pub position: i32,
    pub name: String,
    #[sqlx(rename = "type")]
    #[serde(rename = "type")]
    pub kind: String,
}

/// A dataset with everything that hangs from it.
#[derive(Debug, Clone, Default)]
pub struct DatasetFull {
    pub dataset: DatasetRow,
    pub tags: Vec<String>,
    /// Group ids.
    pub groups: Vec<String>,
    pub resources: Vec<ResourceRow>,
}

/// Every dataset (deleted ones excluded) with its tags, groups and resources, for the search
/// snapshot each replica keeps.
#[derive(Debug, Clone, Default)]
pub struct AllDatasets {
    pub stamp: i64,
    pub datasets: Vec<DatasetFull>,
    pub groups: Vec<GroupRow>,
}

/// A value of a datastore cell.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum DsValue {
    Null,
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl DsValue {
    /// The value as text (empty for null), for previews and CSV output.
    pub fn text(&self) -> String {
        match self {
            DsValue::Null => String::new(),
            DsValue::Text(s) => s.clone(),
            DsValue::Int(i) => i.to_string(),
            DsValue::Float(f) => f.to_string(),
            DsValue::Bool(b) => b.to_string(),
        }
    }
}

/// A datastore query, already checked against the table's columns (indexes are 1-based
/// column positions; 0 is `_id`).
#[derive(Debug, Clone, Default)]
pub struct DsQuery {
    /// Column → accepted values (OR); all filters must hold (AND).
    pub filters: Vec<(usize, Vec<DsValue>)>,
    /// Folded words that must all appear somewhere in the row.
    pub words: Vec<String>,
    /// Column → lower-case text it must contain.
    pub contains: Vec<(usize, String)>,
    pub sort: Vec<(usize, bool)>,
    pub limit: i64,
    pub offset: i64,
    pub total: bool,
}

/// SQL type of a datastore column type on `engine`.
fn sql_type(kind: &str, engine: Engine) -> &'static str {
    match (kind, engine) {
        ("int", Engine::Sqlite) => "INTEGER",
        ("int", Engine::Postgres) => "BIGINT",
        ("numeric", Engine::Sqlite) => "REAL",
        ("numeric", Engine::Postgres) => "DOUBLE PRECISION",
        ("bool", _) => "BOOLEAN",
        _ => "TEXT",
    }
}

/// Whether `name` is a datastore table name this store made (so it is safe in SQL text).
fn valid_table(name: &str) -> bool {
    name.starts_with("ods_")
        && name.len() < 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Rows per INSERT statement: well under both engines' bound-parameter limits.
fn batch_rows(columns: usize) -> usize {
    (30_000 / (columns + 2)).clamp(1, 500)
}

/// What the published statistics need of one submitted dossier.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DossierFact {
    pub procedure_code: String,
    pub agency_code: String,
    pub channel: String,
    pub submitted_at: i64,
    pub due_at: Option<i64>,
    pub finished_at: Option<i64>,
}

/// What the published statistics need of one confirmed report.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReportFact {
    pub category_code: String,
    pub ward_code: String,
    pub created_at: i64,
    pub due_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub rating: Option<i32>,
}

pub trait OpenDataStore {
    /// Every submitted dossier's facts for the statistics (no personal data).
    async fn stats_dossiers(&self) -> Result<Vec<DossierFact>>;
    /// Every confirmed report's facts for the statistics (no personal data).
    async fn stats_reports(&self) -> Result<Vec<ReportFact>>;
    /// The change counter (bumped by every write).
    async fn od_stamp(&self) -> Result<i64>;
    async fn od_all(&self) -> Result<AllDatasets>;
    async fn od_groups(&self) -> Result<Vec<GroupRow>>;
    /// A dataset by id or name (deleted ones too; the caller decides).
    async fn od_dataset(&self, id_or_name: &str) -> Result<Option<DatasetFull>>;
    async fn od_resource(&self, id: &str) -> Result<Option<ResourceRow>>;
    /// Names of the datasets whose name starts with `prefix`.
    async fn od_names(&self, prefix: &str) -> Result<Vec<String>>;
    async fn od_fields(&self, resource_id: &str) -> Result<Vec<FieldRow>>;
    /// Inserts or replaces a group (by name); returns its id.
    async fn od_put_group(tx: &mut Tx, now: OffsetDateTime, g: &GroupRow) -> Result<String>;
    /// Inserts a dataset (its id and name must be new).
    async fn od_insert_dataset(tx: &mut Tx, d: &DatasetRow) -> Result<()>;
    /// Replaces a dataset's fields if its `row_version` is still `expected`; false when
    /// someone else changed it meanwhile.
    async fn od_update_dataset(tx: &mut Tx, d: &DatasetRow, expected: i32) -> Result<bool>;
    async fn od_set_tags(tx: &mut Tx, dataset_id: &str, tags: &[String]) -> Result<()>;
    async fn od_set_groups(tx: &mut Tx, dataset_id: &str, group_ids: &[String]) -> Result<()>;
    async fn od_insert_resource(tx: &mut Tx, r: &ResourceRow) -> Result<()>;
    async fn od_update_resource(tx: &mut Tx, r: &ResourceRow) -> Result<()>;
    /// Removes a resource and drops its datastore table.
    async fn od_delete_resource(tx: &mut Tx, id: &str) -> Result<()>;
    /// Bumps the change counter (every write transaction calls it once).
    async fn od_bump(tx: &mut Tx) -> Result<()>;
    /// Creates an empty datastore table for `resource_id` (recorded by [`OpenDataStore::ds_swap`]) with `fields` (name, type) and
    /// returns its name. Fill it with [`OpenDataStore::ds_insert`], then
    /// [`OpenDataStore::ds_swap`].
    async fn ds_create(
        tx: &mut Tx,
        resource_id: &str,
        fields: &[(String, String)],
    ) -> Result<String>;
    /// Inserts rows (`_id` from `first_id` on); each row has one value per field, and its
    /// folded text for full-text matching.
    async fn ds_insert(
        tx: &mut Tx,
        table: &str,
        columns: usize,
        first_id: i64,
        rows: &[(Vec<DsValue>, String)],
    ) -> Result<()>;
    /// Indexes the new table, makes it the resource's live table with its fields and row
    /// count, and drops the table it replaces.
    async fn ds_swap(
        tx: &mut Tx,
        resource_id: &str,
        table: &str,
        fields: &[(String, String)],
        rows: i64,
    ) -> Result<()>;
    /// Runs a datastore query on `table` with columns `fields`: the rows (`_id` first) and,
    /// when asked, the number of rows matching.
    async fn ds_search(
        &self,
        table: &str,
        fields: &[FieldRow],
        q: &DsQuery,
    ) -> Result<(Vec<Vec<DsValue>>, Option<i64>)>;
}

/// Binds datastore values in order.
macro_rules! bind_values {
    ($q:expr, $values:expr) => {{
        let mut q = $q;
        for v in $values {
            q = match v {
                DsValue::Null => q.bind(None::<String>),
                DsValue::Text(s) => q.bind(s.clone()),
                DsValue::Int(i) => q.bind(*i),
                DsValue::Float(f) => q.bind(*f),
                DsValue::Bool(b) => q.bind(*b),
            };
        }
        q
    }};
}

/// Reads a result row of a datastore query: `_id`, then the fields by type.
macro_rules! decode_row {
    ($row:expr, $fields:expr) => {{
        use sqlx::Row;
        let mut out = Vec::with_capacity($fields.len() + 1);
        out.push(DsValue::Int($row.try_get::<i64, _>(0)?));
        for (i, f) in $fields.iter().enumerate() {
            let i = i + 1;
            let v = match f.kind.as_str() {
                "int" => $row.try_get::<Option<i64>, _>(i)?.map(DsValue::Int),
                "numeric" => $row.try_get::<Option<f64>, _>(i)?.map(DsValue::Float),
                "bool" => $row.try_get::<Option<bool>, _>(i)?.map(DsValue::Bool),
                _ => $row.try_get::<Option<String>, _>(i)?.map(DsValue::Text),
            };
            out.push(v.unwrap_or(DsValue::Null));
        }
        out
    }};
}

impl OpenDataStore for Db {
    async fn stats_dossiers(&self) -> Result<Vec<DossierFact>> {
        Ok(run!(self, |c| sqlx::query_as(
            "SELECT procedure_code, agency_code, channel, submitted_at, \
             COALESCE(rescheduled_due_at, due_at) AS due_at, finished_at \
             FROM dossiers WHERE submitted_at IS NOT NULL"
        )
        .fetch_all(c)
        .await)?)
    }

    async fn stats_reports(&self) -> Result<Vec<ReportFact>> {
        Ok(run!(self, |c| sqlx::query_as(
            "SELECT category_code, ward_code, created_at, due_at, resolved_at, rating \
             FROM reports WHERE confirmed_at IS NOT NULL"
        )
        .fetch_all(c)
        .await)?)
    }

    async fn od_stamp(&self) -> Result<i64> {
        Ok(run!(self, |c| sqlx::query_scalar(
            "SELECT stamp FROM od_stamp WHERE id = 1"
        )
        .fetch_one(c)
        .await)?)
    }

    #[instrument(skip_all)]
    async fn od_all(&self) -> Result<AllDatasets> {
        // The stamp first: a write landing during the reads makes the next check reload.
        let stamp = self.od_stamp().await?;
        let datasets: Vec<DatasetRow> = run!(self, |c| sqlx::query_as(&format!(
            "SELECT {DATASET_COLUMNS} FROM od_datasets WHERE state <> 'deleted' ORDER BY id"
        ))
        .fetch_all(c)
        .await)?;
        let tags: Vec<(String, String)> = run!(self, |c| sqlx::query_as(
            "SELECT dataset_id, tag FROM od_dataset_tags ORDER BY dataset_id, tag"
        )
        .fetch_all(c)
        .await)?;
        let groups_of: Vec<(String, String)> = run!(self, |c| sqlx::query_as(
            "SELECT dataset_id, group_id FROM od_dataset_groups ORDER BY dataset_id, group_id"
        )
        .fetch_all(c)
        .await)?;
        let resources: Vec<ResourceRow> = run!(self, |c| sqlx::query_as(&format!(
            "SELECT {RESOURCE_COLUMNS} FROM od_resources ORDER BY dataset_id, position"
        ))
        .fetch_all(c)
        .await)?;
        let mut index = std::collections::HashMap::new();
        let mut all: Vec<DatasetFull> = datasets
            .into_iter()
            .enumerate()
            .map(|(i, d)| {
                index.insert(d.id.clone(), i);
                DatasetFull {
                    dataset: d,
                    ..Default::default()
                }
            })
            .collect();
        for (d, t) in tags {
            if let Some(&i) = index.get(&d) {
                all[i].tags.push(t);
            }
        }
        for (d, g) in groups_of {
            if let Some(&i) = index.get(&d) {
                all[i].groups.push(g);
            }
        }
        for r in resources {
            if let Some(&i) = index.get(&r.dataset_id) {
                all[i].resources.push(r);
            }
        }
        Ok(AllDatasets {
            stamp,
            datasets: all,
            groups: self.od_groups().await?,
        })
    }

    async fn od_groups(&self) -> Result<Vec<GroupRow>> {
        Ok(run!(self, |c| sqlx::query_as(
            "SELECT id, name, title_vi, title_en, description_vi, description_en, created_at \
             FROM od_groups ORDER BY name"
        )
        .fetch_all(c)
        .await)?)
    }

    #[instrument(skip(self))]
    async fn od_dataset(&self, id_or_name: &str) -> Result<Option<DatasetFull>> {
        let d: Option<DatasetRow> = run!(self, |c| sqlx::query_as(&format!(
            "SELECT {DATASET_COLUMNS} FROM od_datasets WHERE id = $1 OR name = $1"
        ))
        .bind(id_or_name)
        .fetch_optional(c)
        .await)?;
        let Some(dataset) = d else {
            return Ok(None);
        };
        let tags = run!(self, |c| sqlx::query_scalar(
            "SELECT tag FROM od_dataset_tags WHERE dataset_id = $1 ORDER BY tag"
        )
        .bind(&dataset.id)
        .fetch_all(c)
        .await)?;
        let groups = run!(self, |c| sqlx::query_scalar(
            "SELECT group_id FROM od_dataset_groups WHERE dataset_id = $1 ORDER BY group_id"
        )
        .bind(&dataset.id)
        .fetch_all(c)
        .await)?;
        let resources = run!(self, |c| sqlx::query_as(&format!(
            "SELECT {RESOURCE_COLUMNS} FROM od_resources WHERE dataset_id = $1 ORDER BY position"
        ))
        .bind(&dataset.id)
        .fetch_all(c)
        .await)?;
        Ok(Some(DatasetFull {
            dataset,
            tags,
            groups,
            resources,
        }))
    }

    async fn od_resource(&self, id: &str) -> Result<Option<ResourceRow>> {
        Ok(run!(self, |c| sqlx::query_as(&format!(
            "SELECT {RESOURCE_COLUMNS} FROM od_resources WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(c)
        .await)?)
    }

    async fn od_names(&self, prefix: &str) -> Result<Vec<String>> {
        let pattern = format!("{}%", like_escape(prefix));
        Ok(run!(self, |c| sqlx::query_scalar(
            "SELECT name FROM od_datasets WHERE name LIKE $1 ESCAPE '\\'"
        )
        .bind(&pattern)
        .fetch_all(c)
        .await)?)
    }

    async fn od_fields(&self, resource_id: &str) -> Result<Vec<FieldRow>> {
        Ok(run!(self, |c| sqlx::query_as(
            "SELECT position, name, type FROM od_fields WHERE resource_id = $1 ORDER BY position"
        )
        .bind(resource_id)
        .fetch_all(c)
        .await)?)
    }

    async fn od_put_group(tx: &mut Tx, now: OffsetDateTime, g: &GroupRow) -> Result<String> {
        let id: String = tx!(tx, |c| sqlx::query_scalar(
            "INSERT INTO od_groups (id, name, title_vi, title_en, description_vi, \
             description_en, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (name) DO UPDATE SET title_vi = excluded.title_vi, \
             title_en = excluded.title_en, description_vi = excluded.description_vi, \
             description_en = excluded.description_en RETURNING id"
        )
        .bind(&g.id)
        .bind(&g.name)
        .bind(&g.title_vi)
        .bind(&g.title_en)
        .bind(&g.description_vi)
        .bind(&g.description_en)
        .bind(micros(now))
        .fetch_one(c)
        .await)?;
        Ok(id)
    }

    async fn od_insert_dataset(tx: &mut Tx, d: &DatasetRow) -> Result<()> {
        tx!(tx, |c| sqlx::query(&format!(
            "INSERT INTO od_datasets ({DATASET_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, \
             $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)"
        ))
        .bind(&d.id)
        .bind(&d.name)
        .bind(&d.org_code)
        .bind(&d.title_vi)
        .bind(&d.title_en)
        .bind(&d.notes_vi)
        .bind(&d.notes_en)
        .bind(&d.license_id)
        .bind(&d.state)
        .bind(d.private)
        .bind(&d.frequency)
        .bind(&d.temporal_start)
        .bind(&d.temporal_end)
        .bind(&d.spatial)
        .bind(&d.contact_name)
        .bind(&d.contact_email)
        .bind(&d.source)
        .bind(d.created_at)
        .bind(d.modified_at)
        .bind(&d.created_by)
        .bind(d.row_version)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    async fn od_update_dataset(tx: &mut Tx, d: &DatasetRow, expected: i32) -> Result<bool> {
        let n = tx!(tx, |c| sqlx::query(
            "UPDATE od_datasets SET name = $2, org_code = $3, title_vi = $4, title_en = $5, \
             notes_vi = $6, notes_en = $7, license_id = $8, state = $9, private = $10, \
             frequency = $11, temporal_start = $12, temporal_end = $13, spatial = $14, \
             contact_name = $15, contact_email = $16, modified_at = $17, \
             row_version = row_version + 1 WHERE id = $1 AND row_version = $18"
        )
        .bind(&d.id)
        .bind(&d.name)
        .bind(&d.org_code)
        .bind(&d.title_vi)
        .bind(&d.title_en)
        .bind(&d.notes_vi)
        .bind(&d.notes_en)
        .bind(&d.license_id)
        .bind(&d.state)
        .bind(d.private)
        .bind(&d.frequency)
        .bind(&d.temporal_start)
        .bind(&d.temporal_end)
        .bind(&d.spatial)
        .bind(&d.contact_name)
        .bind(&d.contact_email)
        .bind(d.modified_at)
        .bind(expected)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    async fn od_set_tags(tx: &mut Tx, dataset_id: &str, tags: &[String]) -> Result<()> {
        replace_links(tx, "od_dataset_tags", "tag", dataset_id, tags).await
    }

    async fn od_set_groups(tx: &mut Tx, dataset_id: &str, group_ids: &[String]) -> Result<()> {
        replace_links(tx, "od_dataset_groups", "group_id", dataset_id, group_ids).await
    }

    async fn od_insert_resource(tx: &mut Tx, r: &ResourceRow) -> Result<()> {
        tx!(tx, |c| sqlx::query(&format!(
            "INSERT INTO od_resources ({RESOURCE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, \
             $8, $9, $10, $11, $12, $13, $14, $15)"
        ))
        .bind(&r.id)
        .bind(&r.dataset_id)
        .bind(r.position)
        .bind(&r.name)
        .bind(&r.description)
        .bind(&r.format)
        .bind(&r.mimetype)
        .bind(&r.url)
        .bind(&r.blob_hash)
        .bind(r.size)
        .bind(&r.encoding)
        .bind(&r.datastore_table)
        .bind(r.datastore_rows)
        .bind(r.created_at)
        .bind(r.modified_at)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    async fn od_update_resource(tx: &mut Tx, r: &ResourceRow) -> Result<()> {
        let n = tx!(tx, |c| sqlx::query(
            "UPDATE od_resources SET name = $2, description = $3, format = $4, mimetype = $5, \
             url = $6, blob_hash = $7, size = $8, encoding = $9, modified_at = $10, \
             position = $11 WHERE id = $1"
        )
        .bind(&r.id)
        .bind(&r.name)
        .bind(&r.description)
        .bind(&r.format)
        .bind(&r.mimetype)
        .bind(&r.url)
        .bind(&r.blob_hash)
        .bind(r.size)
        .bind(&r.encoding)
        .bind(r.modified_at)
        .bind(r.position)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn od_delete_resource(tx: &mut Tx, id: &str) -> Result<()> {
        let table: Option<Option<String>> = tx!(tx, |c| sqlx::query_scalar(
            "DELETE FROM od_resources WHERE id = $1 RETURNING datastore_table"
        )
        .bind(id)
        .fetch_optional(c)
        .await)?;
        match table {
            None => Err(StoreError::NotFound),
            Some(Some(t)) if valid_table(&t) => {
                tx!(tx, |c| sqlx::query(&format!("DROP TABLE IF EXISTS {t}"))
                    .execute(c)
                    .await
                    .map(|r| r.rows_affected()))?;
                Ok(())
            }
            Some(_) => Ok(()),
        }
    }

    async fn od_bump(tx: &mut Tx) -> Result<()> {
        tx!(tx, |c| sqlx::query(
            "UPDATE od_stamp SET stamp = stamp + 1 WHERE id = 1"
        )
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    #[instrument(skip(tx, fields))]
    async fn ds_create(
        tx: &mut Tx,
        resource_id: &str,
        fields: &[(String, String)],
    ) -> Result<String> {
        let engine = match tx {
            Tx::Sqlite(_) => Engine::Sqlite,
            Tx::Postgres(_) => Engine::Postgres,
        };
        // Short enough that its index names (`<table>_cN`) stay under PostgreSQL's 63 bytes.
        let table = format!("ods_{}", uuid::Uuid::now_v7().simple());
        if !valid_table(&table) {
            return Err(StoreError::Other(anyhow::anyhow!(
                "bad datastore table name"
            )));
        }
        let mut cols = vec![
            "_id BIGINT PRIMARY KEY".to_string(),
            "_text TEXT NOT NULL".to_string(),
        ];
        for (i, (_, kind)) in fields.iter().enumerate() {
            cols.push(format!("c{} {}", i + 1, sql_type(kind, engine)));
        }
        let sql = format!("CREATE TABLE {table} ({})", cols.join(", "));
        tx!(tx, |c| sqlx::query(&sql)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(table)
    }

    async fn ds_insert(
        tx: &mut Tx,
        table: &str,
        columns: usize,
        first_id: i64,
        rows: &[(Vec<DsValue>, String)],
    ) -> Result<()> {
        if !valid_table(table) {
            return Err(StoreError::NotFound);
        }
        let names: Vec<String> = std::iter::once("_id".to_string())
            .chain(std::iter::once("_text".to_string()))
            .chain((1..=columns).map(|i| format!("c{i}")))
            .collect();
        for (chunk_no, chunk) in rows.chunks(batch_rows(columns)).enumerate() {
            let mut sql = format!("INSERT INTO {table} ({}) VALUES ", names.join(", "));
            let mut values: Vec<DsValue> = Vec::with_capacity(chunk.len() * (columns + 2));
            for (i, (cells, text)) in chunk.iter().enumerate() {
                if cells.len() != columns {
                    return Err(StoreError::Other(anyhow::anyhow!(
                        "a datastore row has {} values for {columns} columns",
                        cells.len()
                    )));
                }
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push('(');
                let base = values.len();
                for k in 0..columns + 2 {
                    if k > 0 {
                        sql.push_str(", ");
                    }
                    sql.push_str(&format!("${}", base + k + 1));
                }
                sql.push(')');
                let id = first_id + (chunk_no * batch_rows(columns) + i) as i64;
                values.push(DsValue::Int(id));
                values.push(DsValue::Text(text.clone()));
                values.extend(cells.iter().cloned());
            }
            tx!(tx, |c| bind_values!(sqlx::query(&sql), &values)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))?;
        }
        Ok(())
    }

    #[instrument(skip(tx, fields))]
    async fn ds_swap(
        tx: &mut Tx,
        resource_id: &str,
        table: &str,
        fields: &[(String, String)],
        rows: i64,
    ) -> Result<()> {
        if !valid_table(table) {
            return Err(StoreError::NotFound);
        }
        // Every column gets an index (filters and sorts are on columns); wide tables only
        // their first 32.
        for i in 1..=fields.len().min(32) {
            let sql = format!("CREATE INDEX {table}_c{i} ON {table} (c{i})");
            tx!(tx, |c| sqlx::query(&sql)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))?;
        }
        let old: Option<Option<String>> = tx!(tx, |c| sqlx::query_scalar(
            "SELECT datastore_table FROM od_resources WHERE id = $1"
        )
        .bind(resource_id)
        .fetch_optional(c)
        .await)?;
        let Some(old) = old else {
            return Err(StoreError::NotFound);
        };
        if let Some(old) = old.filter(|t| valid_table(t) && t != table) {
            tx!(tx, |c| sqlx::query(&format!("DROP TABLE IF EXISTS {old}"))
                .execute(c)
                .await
                .map(|r| r.rows_affected()))?;
        }
        tx!(tx, |c| sqlx::query(
            "UPDATE od_resources SET datastore_table = $2, datastore_rows = $3 WHERE id = $1"
        )
        .bind(resource_id)
        .bind(table)
        .bind(rows)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        tx!(tx, |c| sqlx::query(
            "DELETE FROM od_fields WHERE resource_id = $1"
        )
        .bind(resource_id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        for (i, (name, kind)) in fields.iter().enumerate() {
            tx!(tx, |c| sqlx::query(
                "INSERT INTO od_fields (resource_id, position, name, type) VALUES ($1, $2, $3, $4)"
            )
            .bind(resource_id)
            .bind(i as i32 + 1)
            .bind(name)
            .bind(kind)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        }
        Ok(())
    }

    #[instrument(skip_all, fields(table))]
    async fn ds_search(
        &self,
        table: &str,
        fields: &[FieldRow],
        q: &DsQuery,
    ) -> Result<(Vec<Vec<DsValue>>, Option<i64>)> {
        if !valid_table(table) {
            return Err(StoreError::NotFound);
        }
        let col = |i: usize| {
            if i == 0 {
                "_id".to_string()
            } else {
                format!("c{i}")
            }
        };
        let mut values: Vec<DsValue> = Vec::new();
        let mut wheres: Vec<String> = Vec::new();
        let param = |values: &mut Vec<DsValue>, v: DsValue| {
            values.push(v);
            format!("${}", values.len())
        };
        for (i, accepted) in &q.filters {
            if accepted.is_empty() {
                wheres.push("1 = 0".into());
                continue;
            }
            let mut alts = Vec::new();
            for v in accepted {
                if matches!(v, DsValue::Null) {
                    alts.push(format!("{} IS NULL", col(*i)));
                } else {
                    let p = param(&mut values, v.clone());
                    alts.push(format!("{} = {p}", col(*i)));
                }
            }
            wheres.push(format!("({})", alts.join(" OR ")));
        }
        for w in &q.words {
            let p = param(&mut values, DsValue::Text(format!("%{}%", like_escape(w))));
            wheres.push(format!("_text LIKE {p} ESCAPE '\\'"));
        }
        for (i, text) in &q.contains {
            let p = param(
                &mut values,
                DsValue::Text(format!("%{}%", like_escape(text))),
            );
            wheres.push(format!(
                "LOWER(CAST({} AS TEXT)) LIKE {p} ESCAPE '\\'",
                col(*i)
            ));
        }
        let where_sql = if wheres.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", wheres.join(" AND "))
        };
        let mut order: Vec<String> = q
            .sort
            .iter()
            .map(|(i, desc)| format!("{} {}", col(*i), if *desc { "DESC" } else { "ASC" }))
            .collect();
        if !q.sort.iter().any(|(i, _)| *i == 0) {
            order.push("_id ASC".into());
        }
        let select: Vec<String> = (0..=fields.len()).map(col).collect();
        let sql = format!(
            "SELECT {} FROM {table}{where_sql} ORDER BY {} LIMIT {} OFFSET {}",
            select.join(", "),
            order.join(", "),
            q.limit.max(0),
            q.offset.max(0)
        );
        let rows = run!(self, |c| {
            let raw = bind_values!(sqlx::query(&sql), &values)
                .fetch_all(c)
                .await?;
            let mut out = Vec::with_capacity(raw.len());
            for r in &raw {
                out.push(decode_row!(r, fields));
            }
            Ok::<_, sqlx::Error>(out)
        })?;
        let total = if !q.total {
            None
        } else if wheres.is_empty() {
            let n: Option<i64> = run!(self, |c| sqlx::query_scalar(
                "SELECT datastore_rows FROM od_resources WHERE datastore_table = $1"
            )
            .bind(table)
            .fetch_optional(c)
            .await)?
            .flatten();
            match n {
                Some(n) => Some(n),
                None => Some(count(self, table, &where_sql, &values).await?),
            }
        } else {
            Some(count(self, table, &where_sql, &values).await?)
        };
        Ok((rows, total))
    }
}

/// Replaces a dataset's rows in a link table (`table` and `column` are this module's names).
async fn replace_links(
    tx: &mut Tx,
    table: &'static str,
    column: &'static str,
    dataset_id: &str,
    values: &[String],
) -> Result<()> {
    let delete = format!("DELETE FROM {table} WHERE dataset_id = $1");
    tx!(tx, |c| sqlx::query(&delete)
        .bind(dataset_id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    let insert = format!(
        "INSERT INTO {table} (dataset_id, {column}) VALUES ($1, $2) ON CONFLICT DO NOTHING"
    );
    for v in values {
        tx!(tx, |c| sqlx::query(&insert)
            .bind(dataset_id)
            .bind(v)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
    }
    Ok(())
}

async fn count(db: &Db, table: &str, where_sql: &str, values: &[DsValue]) -> Result<i64> {
    let sql = format!("SELECT COUNT(*) FROM {table}{where_sql}");
    Ok(run!(db, |c| bind_values!(
        sqlx::query_scalar(&sql),
        values
    )
    .fetch_one(c)
    .await)?)
}

/// Escapes `%`, `_` and `\` for a LIKE pattern with `ESCAPE '\'`.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}
