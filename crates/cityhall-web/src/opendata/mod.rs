//! Open data (dữ liệu mở) on the web: the datasets agencies publish, each replica's search
//! snapshot of them, the CKAN Action API ([`ckan`]), DCAT ([`dcat`]), the portal pages
//! ([`pages`]) and the statistics the platform publishes about its own work ([`stats`]).
//! Every write goes through [`service`], which checks the publisher's rights and writes the
//! change, its audit entry and the change counter in one transaction.

pub mod ckan;
pub mod dcat;
pub mod demo;
pub mod pages;
pub mod service;
pub mod stats;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use cityhall_core::opendata::query::{Clause, Range, SearchField, SearchSpec, SortKey, Values};
use cityhall_core::text::fold;
use cityhall_db::geo::AgencyRow;
use cityhall_db::opendata::{DatasetFull, GroupRow, ResourceRow};
use cityhall_db::{from_micros, Db, GeoStore, OpenDataStore};
use cityhall_search::{Doc, Index, Query, Synonyms};
use serde_json::{json, Value};

use crate::auth::Signed;
use crate::AppState;

/// The largest file a publisher may upload through the web or the API (bigger tables are
/// loaded with `cityhall opendata load`).
pub const UPLOAD_LIMIT: usize = 50 * 1024 * 1024;
/// How often a replica asks the database whether another one changed a dataset.
const STAMP_CHECK: Duration = Duration::from_secs(1);

/// A licence a dataset may carry.
pub struct Licence {
    pub id: &'static str,
    pub title: &'static str,
    pub url: &'static str,
    pub open: bool,
}

/// The licences offered (CKAN's usual open licences).
pub const LICENCES: &[Licence] = &[
    Licence {
        id: "cc-by-4.0",
        title: "Creative Commons Attribution 4.0",
        url: "https://creativecommons.org/licenses/by/4.0/",
        open: true,
    },
    Licence {
        id: "cc-by-sa-4.0",
        title: "Creative Commons Attribution Share-Alike 4.0",
        url: "https://creativecommons.org/licenses/by-sa/4.0/",
        open: true,
    },
    Licence {
        id: "cc-zero",
        title: "Creative Commons CCZero",
        url: "https://creativecommons.org/publicdomain/zero/1.0/",
        open: true,
    },
    Licence {
        id: "odc-by",
        title: "Open Data Commons Attribution License",
        url: "https://opendatacommons.org/licenses/by/1-0/",
        open: true,
    },
    Licence {
        id: "odc-odbl",
        title: "Open Data Commons Open Database License (ODbL)",
        url: "https://opendatacommons.org/licenses/odbl/1-0/",
        open: true,
    },
    Licence {
        id: "odc-pddl",
        title: "Open Data Commons Public Domain Dedication and License (PDDL)",
        url: "https://opendatacommons.org/licenses/pddl/1-0/",
        open: true,
    },
    Licence {
        id: "other-open",
        title: "Other (Open)",
        url: "",
        open: true,
    },
    Licence {
        id: "notspecified",
        title: "License not specified",
        url: "",
        open: false,
    },
];

pub fn licence(id: &str) -> Option<&'static Licence> {
    LICENCES.iter().find(|l| l.id == id)
}

/// An organisation: an agency that publishes (CKAN's organization).
#[derive(Clone, Debug)]
pub struct Org {
    pub id: String,
    pub code: String,
    /// The URL name: the agency code in lower case.
    pub name: String,
    pub title_vi: String,
    pub title_en: String,
}

impl Org {
    fn of(a: &AgencyRow) -> Org {
        Org {
            id: a.id.clone(),
            code: a.code.clone(),
            name: a.code.to_lowercase(),
            title_vi: a.name.clone(),
            title_en: a.name_en.clone(),
        }
    }
    pub fn title(&self, english: bool) -> &str {
        if english && !self.title_en.is_empty() {
            &self.title_en
        } else {
            &self.title_vi
        }
    }
}

/// One dataset in the snapshot, with what searching and faceting need precomputed.
pub struct Entry {
    pub full: DatasetFull,
    pub org: Org,
    pub group_names: Vec<String>,
    pub formats: Vec<String>,
    pub title_sort: String,
}

/// Every dataset, as one consistent snapshot.
#[derive(Default)]
pub struct Snapshot {
    pub stamp: i64,
    pub entries: Vec<Entry>,
    by_key: HashMap<String, usize>,
    pub groups: Vec<GroupRow>,
    pub orgs: Vec<Org>,
}

impl Snapshot {
    /// A dataset by id or name.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.by_key.get(key).map(|i| &self.entries[*i])
    }
    pub fn org(&self, key: &str) -> Option<&Org> {
        let k = key.to_lowercase();
        self.orgs
            .iter()
            .find(|o| o.id == key || o.name == k || o.code == key)
    }
    pub fn group(&self, key: &str) -> Option<&GroupRow> {
        self.groups.iter().find(|g| g.id == key || g.name == key)
    }
}

/// The open-data cache of one replica and its search index.
pub struct OpenData {
    snap: RwLock<Arc<Snapshot>>,
    index: Index,
    checked: Mutex<Option<Instant>>,
    reload: tokio::sync::Mutex<()>,
}

impl OpenData {
    pub fn new() -> anyhow::Result<OpenData> {
        let synonyms = Synonyms::from_json(include_str!("../../../../data/synonyms-vi.json"))?;
        Ok(OpenData {
            snap: RwLock::new(Arc::new(Snapshot::default())),
            index: Index::new(synonyms)?,
            checked: Mutex::new(None),
            reload: tokio::sync::Mutex::new(()),
        })
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snap.read().map(|s| s.clone()).unwrap_or_default()
    }

    /// The snapshot, reloaded first when the database changed since it was taken (checked at
    /// most once a second, or now when `force`).
    pub async fn current(&self, db: &Db, force: bool) -> anyhow::Result<Arc<Snapshot>> {
        let due = force
            || self
                .checked
                .lock()
                .map(|c| c.is_none_or(|t| t.elapsed() >= STAMP_CHECK))
                .unwrap_or(true);
        if !due {
            return Ok(self.snapshot());
        }
        let stamp = db.od_stamp().await?;
        if let Ok(mut c) = self.checked.lock() {
            *c = Some(Instant::now());
        }
        let snap = self.snapshot();
        if snap.stamp == stamp && !snap.orgs.is_empty() {
            return Ok(snap);
        }
        let _one = self.reload.lock().await;
        let snap = self.snapshot();
        if snap.stamp == stamp && !snap.orgs.is_empty() {
            return Ok(snap);
        }
        self.reload_from(db).await
    }

    async fn reload_from(&self, db: &Db) -> anyhow::Result<Arc<Snapshot>> {
        let all = db.od_all().await?;
        let agencies = db.agencies().await?;
        let by_code: HashMap<&str, &AgencyRow> =
            agencies.iter().map(|a| (a.code.as_str(), a)).collect();
        let group_name: HashMap<&str, &str> = all
            .groups
            .iter()
            .map(|g| (g.id.as_str(), g.name.as_str()))
            .collect();
        let mut entries = Vec::with_capacity(all.datasets.len());
        let mut by_key = HashMap::new();
        let mut docs = Vec::with_capacity(all.datasets.len());
        let mut publishing: std::collections::HashSet<String> = Default::default();
        for full in all.datasets {
            let Some(agency) = by_code.get(full.dataset.org_code.as_str()) else {
                continue;
            };
            publishing.insert(agency.code.clone());
            let org = Org::of(agency);
            let group_names: Vec<String> = full
                .groups
                .iter()
                .filter_map(|g| group_name.get(g.as_str()).map(|s| s.to_string()))
                .collect();
            let mut formats: Vec<String> = full
                .resources
                .iter()
                .map(|r| r.format.to_uppercase())
                .filter(|f| !f.is_empty())
                .collect();
            formats.sort();
            formats.dedup();
            docs.push(Doc {
                id: full.dataset.id.clone(),
                kind: "dataset".into(),
                title_vi: full.dataset.title_vi.clone(),
                title_en: full.dataset.title_en.clone(),
                body: format!(
                    "{} {} {} {}",
                    full.dataset.notes_vi,
                    full.dataset.notes_en,
                    org.title_vi,
                    full.resources
                        .iter()
                        .map(|r| format!("{} {}", r.name, r.description))
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
                keywords: full
                    .tags
                    .iter()
                    .cloned()
                    .chain(std::iter::once(full.dataset.name.replace(['-', '_'], " ")))
                    .collect(),
                facets: vec![],
            });
            let i = entries.len();
            by_key.insert(full.dataset.id.clone(), i);
            by_key.insert(full.dataset.name.clone(), i);
            entries.push(Entry {
                title_sort: fold(&full.dataset.title_vi),
                full,
                org,
                group_names,
                formats,
            });
        }
        self.index.replace_kind("dataset", docs)?;
        // City departments and boards, and any ward body that publishes.
        let orgs = agencies
            .iter()
            .filter(|a| {
                !(a.code.starts_with("UBND-") || a.code.starts_with("CA-"))
                    || publishing.contains(&a.code)
            })
            .map(Org::of)
            .collect();
        let snap = Arc::new(Snapshot {
            stamp: all.stamp,
            entries,
            by_key,
            groups: all.groups,
            orgs,
        });
        if let Ok(mut s) = self.snap.write() {
            *s = snap.clone();
        }
        Ok(snap)
    }
}

/// Who is searching: what they may see beyond public, active datasets.
#[derive(Clone, Debug, Default)]
pub struct Viewer {
    /// Agencies whose private datasets and drafts this viewer may see; `None` = all.
    pub orgs: Option<Vec<String>>,
}

impl Viewer {
    pub fn anonymous() -> Viewer {
        Viewer {
            orgs: Some(Vec::new()),
        }
    }
    pub fn of(s: Option<&Signed>) -> Viewer {
        match s {
            None => Viewer::anonymous(),
            Some(s) if s.has(cityhall_core::identity::Role::CityAdmin) => Viewer { orgs: None },
            Some(s) => Viewer {
                orgs: Some(service::publisher_orgs(s)),
            },
        }
    }
    /// Whether this viewer may see `org`'s private datasets and drafts.
    pub fn member_of(&self, org: &str) -> bool {
        match &self.orgs {
            None => true,
            Some(v) => v.iter().any(|o| o == org),
        }
    }
    /// Whether this viewer may see the dataset at all.
    pub fn sees(&self, d: &cityhall_db::opendata::DatasetRow) -> bool {
        d.state != "deleted" && ((d.state == "active" && !d.private) || self.member_of(&d.org_code))
    }
}

/// A search over the snapshot.
#[derive(Clone, Debug, Default)]
pub struct Search {
    pub spec: SearchSpec,
    pub sort: Vec<(SortKey, bool)>,
    pub rows: usize,
    pub start: usize,
    pub facet_fields: Vec<String>,
    pub facet_limit: usize,
    pub include_private: bool,
    pub include_drafts: bool,
}

/// The result of a search: the page of entries and the facet counts.
pub struct Found<'a> {
    pub count: usize,
    pub page: Vec<&'a Entry>,
    /// Field → (value, count), most frequent first, in the order the fields were asked.
    pub facets: Vec<(String, Vec<(String, usize)>)>,
}

/// The fields a facet may be asked on.
pub const FACET_FIELDS: &[&str] = &["organization", "groups", "tags", "res_format", "license_id"];

fn facet_values<'a>(e: &'a Entry, field: &str) -> Vec<&'a str> {
    match field {
        "organization" => vec![e.org.name.as_str()],
        "groups" => e.group_names.iter().map(|s| s.as_str()).collect(),
        "tags" => e.full.tags.iter().map(|s| s.as_str()).collect(),
        "res_format" => e.formats.iter().map(|s| s.as_str()).collect(),
        "license_id" => vec![e.full.dataset.license_id.as_str()],
        _ => vec![],
    }
}

/// Runs a search as `viewer`.
pub fn search<'a>(
    snap: &'a Snapshot,
    index: &OpenData,
    s: &Search,
    viewer: &Viewer,
) -> anyhow::Result<Found<'a>> {
    let text = s.spec.text.trim();
    let mut scored: Vec<(&Entry, f32)> = if text.is_empty() {
        snap.entries.iter().map(|e| (e, 0.0)).collect()
    } else {
        let hits = index.index.search(&Query {
            text,
            kind: Some("dataset"),
            filters: vec![],
            offset: 0,
            limit: snap.entries.len().max(1),
        })?;
        hits.hits
            .into_iter()
            .filter_map(|h| snap.get(&h.id).map(|e| (e, h.score)))
            .collect()
    };
    scored.retain(|(e, _)| {
        let d = &e.full.dataset;
        if d.state == "deleted" {
            return false;
        }
        let member = viewer.member_of(&d.org_code);
        if d.private && !(s.include_private && member) {
            return false;
        }
        if d.state == "draft" && !(s.include_drafts && member) {
            return false;
        }
        s.spec.clauses.iter().all(|c| clause_holds(e, c))
    });
    let mut facets = Vec::new();
    for f in &s.facet_fields {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for (e, _) in &scored {
            for v in facet_values(e, f) {
                *counts.entry(v).or_default() += 1;
            }
        }
        let mut list: Vec<(String, usize)> = counts
            .into_iter()
            .map(|(k, n)| (k.to_string(), n))
            .collect();
        list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        list.truncate(s.facet_limit);
        facets.push((f.clone(), list));
    }
    scored.sort_by(|(a, sa), (b, sb)| {
        for (key, desc) in &s.sort {
            let ord = match key {
                SortKey::Score => sa.partial_cmp(sb).unwrap_or(std::cmp::Ordering::Equal),
                SortKey::MetadataModified => {
                    a.full.dataset.modified_at.cmp(&b.full.dataset.modified_at)
                }
                SortKey::MetadataCreated => {
                    a.full.dataset.created_at.cmp(&b.full.dataset.created_at)
                }
                SortKey::Name => a.full.dataset.name.cmp(&b.full.dataset.name),
                SortKey::TitleString => a.title_sort.cmp(&b.title_sort),
                SortKey::NumResources => a.full.resources.len().cmp(&b.full.resources.len()),
                SortKey::NumTags => a.full.tags.len().cmp(&b.full.tags.len()),
            };
            let ord = if *desc { ord.reverse() } else { ord };
            if ord != std::cmp::Ordering::Equal {
                return ord;
            }
        }
        a.full.dataset.name.cmp(&b.full.dataset.name)
    });
    let count = scored.len();
    let page = scored
        .into_iter()
        .skip(s.start)
        .take(s.rows)
        .map(|(e, _)| e)
        .collect();
    Ok(Found {
        count,
        page,
        facets,
    })
}

fn clause_holds(e: &Entry, c: &Clause) -> bool {
    let d = &e.full.dataset;
    let list: &[String] = match &c.values {
        Values::AnyOf(v) => v,
        Values::Exists => &[],
        Values::Range(_) => &[],
    };
    let any = |candidates: &[&str]| match &c.values {
        Values::Exists => candidates.iter().any(|x| !x.is_empty()),
        Values::Range(r) => candidates.iter().any(|x| in_range(r, x)),
        Values::AnyOf(_) => list.iter().any(|v| {
            let v = v.trim();
            candidates
                .iter()
                .any(|x| x.eq_ignore_ascii_case(v) || fold(x) == fold(v))
        }),
    };
    let tags: Vec<&str> = e.full.tags.iter().map(|s| s.as_str()).collect();
    let holds = match c.field {
        SearchField::Organization => any(&[&e.org.name, &e.org.code]),
        SearchField::OwnerOrg => any(&[&e.org.id, &e.org.name]),
        SearchField::Groups => {
            let mut names: Vec<&str> = e.group_names.iter().map(|s| s.as_str()).collect();
            names.extend(e.full.groups.iter().map(|s| s.as_str()));
            any(&names)
        }
        SearchField::Tags => any(&tags),
        SearchField::ResFormat => any(&e.formats.iter().map(|s| s.as_str()).collect::<Vec<_>>()),
        SearchField::LicenseId => any(&[&d.license_id]),
        SearchField::Name => any(&[&d.name]),
        SearchField::Id => any(&[&d.id]),
        SearchField::Title => contains_any(list, &format!("{} {}", d.title_vi, d.title_en)),
        SearchField::Notes => contains_any(list, &format!("{} {}", d.notes_vi, d.notes_en)),
        SearchField::Text => contains_any(
            list,
            &format!(
                "{} {} {} {} {}",
                d.title_vi,
                d.title_en,
                d.notes_vi,
                d.notes_en,
                e.full.tags.join(" ")
            ),
        ),
        SearchField::State => any(&[&d.state]),
        SearchField::DatasetType => any(&["dataset"]),
        SearchField::Capacity => any(&[if d.private { "private" } else { "public" }]),
        SearchField::MetadataModified => any(&[&ckan_time(d.modified_at)]),
        SearchField::MetadataCreated => any(&[&ckan_time(d.created_at)]),
        SearchField::NumResources => num_holds(&c.values, e.full.resources.len()),
        SearchField::NumTags => num_holds(&c.values, e.full.tags.len()),
    };
    holds != c.negate
}

/// Solr date math as CKAN users write it: `NOW`, `NOW-7DAYS`, `NOW/DAY`, or a date.
fn resolve_date(v: &str) -> String {
    let v = v.trim();
    let Some(rest) = v.strip_prefix("NOW") else {
        return v.trim_end_matches('Z').to_string();
    };
    let now = time::OffsetDateTime::now_utc();
    let rest = rest.split('/').next().unwrap_or("");
    let mut t = now;
    if let Some((sign, amount)) = rest
        .strip_prefix('-')
        .map(|r| (-1i64, r))
        .or_else(|| rest.strip_prefix('+').map(|r| (1i64, r)))
    {
        let digits: String = amount.chars().take_while(|c| c.is_ascii_digit()).collect();
        let unit = amount[digits.len()..].trim_end_matches('S');
        let n: i64 = digits.parse().unwrap_or(0) * sign;
        let days = match unit {
            "DAY" => n,
            "MONTH" => n * 30,
            "YEAR" => n * 365,
            "HOUR" => 0,
            _ => 0,
        };
        t += time::Duration::days(days);
        if unit == "HOUR" {
            t += time::Duration::hours(n);
        }
    }
    ckan_time(cityhall_db::micros(t))
}

fn in_range(r: &Range, value: &str) -> bool {
    let lo = r.from.as_deref().filter(|v| *v != "*").map(resolve_date);
    let hi = r.to.as_deref().filter(|v| *v != "*").map(resolve_date);
    let value = value.to_string();
    lo.is_none_or(|lo| {
        if r.from_inclusive {
            value >= lo
        } else {
            value > lo
        }
    }) && hi.is_none_or(|hi| {
        if r.to_inclusive {
            value <= hi
        } else {
            value < hi
        }
    })
}

fn num_holds(values: &Values, n: usize) -> bool {
    let n = n as i64;
    match values {
        Values::Exists => true,
        Values::AnyOf(list) => list.iter().any(|v| v.trim().parse::<i64>() == Ok(n)),
        Values::Range(r) => {
            let bound = |b: &Option<String>| {
                b.as_deref()
                    .filter(|v| *v != "*")
                    .and_then(|v| v.trim().parse::<i64>().ok())
            };
            bound(&r.from).is_none_or(|lo| if r.from_inclusive { n >= lo } else { n > lo })
                && bound(&r.to).is_none_or(|hi| if r.to_inclusive { n <= hi } else { n < hi })
        }
    }
}

fn contains_any(values: &[String], text: &str) -> bool {
    let hay = fold(text);
    values.iter().any(|v| {
        let words: Vec<String> = fold(v).split_whitespace().map(String::from).collect();
        !words.is_empty() && words.iter().all(|w| hay.contains(w.as_str()))
    })
}

/// CKAN's timestamp format: UTC, microseconds, no zone.
pub fn ckan_time(us: i64) -> String {
    let t = from_micros(us);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// The address of this site as clients reached it: the configured public URL, else the
/// request's host.
pub fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    let configured = state.config.public_url.trim_end_matches('/');
    if !configured.is_empty() {
        return configured.to_string();
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    };
    format!("{scheme}://{host}")
}

/// The file name a resource is downloaded as.
pub fn file_name(r: &ResourceRow) -> String {
    let ext = match r.format.to_uppercase().as_str() {
        "CSV" => "csv",
        "JSON" => "json",
        "XLSX" => "xlsx",
        "PDF" => "pdf",
        _ => "bin",
    };
    let name = fold(&r.name);
    let lower = name.to_ascii_lowercase();
    let base = [".csv", ".json", ".xlsx", ".pdf", ".xls", ".txt"]
        .iter()
        .find_map(|e| lower.strip_suffix(e).map(|b| &name[..b.len()]))
        .unwrap_or(&name);
    let mut stem = String::new();
    for c in base.chars() {
        if c.is_ascii_alphanumeric() {
            stem.push(c);
        } else if !stem.is_empty() && !stem.ends_with('-') {
            stem.push('-');
        }
    }
    let stem = stem.trim_matches('-');
    let stem = if stem.is_empty() { "resource" } else { stem };
    format!("{}.{ext}", &stem[..stem.len().min(60)])
}

/// A resource as CKAN shows it.
pub fn resource_dict(r: &ResourceRow, base: &str) -> Value {
    let url = match (&r.url, &r.blob_hash) {
        (Some(u), None) => u.clone(),
        _ => format!(
            "{base}/dataset/{}/resource/{}/download/{}",
            r.dataset_id,
            r.id,
            file_name(r)
        ),
    };
    json!({
        "id": r.id,
        "package_id": r.dataset_id,
        "name": r.name,
        "description": r.description,
        "format": r.format,
        "mimetype": r.mimetype,
        "url": url,
        "url_type": if r.blob_hash.is_some() { Value::from("upload") } else { Value::Null },
        "size": r.size,
        "hash": r.blob_hash.as_ref().map(|h| format!("sha256:{h}")),
        "created": ckan_time(r.created_at),
        "last_modified": ckan_time(r.modified_at),
        "metadata_modified": ckan_time(r.modified_at),
        "position": r.position,
        "state": "active",
        "datastore_active": r.datastore_table.is_some(),
        "datastore_rows": r.datastore_rows,
        "encoding": r.encoding,
    })
}

/// A dataset as CKAN's `package_show` shows it.
pub fn package_dict(e: &Entry, snap: &Snapshot, base: &str) -> Value {
    package_dict_of(&e.full, &e.org, snap, base)
}

pub fn package_dict_of(full: &DatasetFull, org: &Org, snap: &Snapshot, base: &str) -> Value {
    let d = &full.dataset;
    let lic = licence(&d.license_id);
    let groups: Vec<Value> = full
        .groups
        .iter()
        .filter_map(|g| snap.group(g))
        .map(|g| {
            json!({
                "id": g.id, "name": g.name, "title": g.title_vi, "display_name": g.title_vi,
                "description": g.description_vi, "image_display_url": "",
            })
        })
        .collect();
    let mut extras = Vec::new();
    for (k, v) in [
        ("frequency", &d.frequency),
        ("temporal_start", &d.temporal_start),
        ("temporal_end", &d.temporal_end),
        ("spatial_text", &d.spatial),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            extras.push(json!({"key": k, "value": v}));
        }
    }
    extras.push(json!({"key": "issued", "value": ckan_time(d.created_at)}));
    extras.push(json!({"key": "language", "value": "vi"}));
    json!({
        "id": d.id,
        "name": d.name,
        "title": d.title_vi,
        "title_translated": {"vi": d.title_vi, "en": d.title_en},
        "notes": d.notes_vi,
        "notes_translated": {"vi": d.notes_vi, "en": d.notes_en},
        "type": "dataset",
        "state": d.state,
        "private": d.private,
        "owner_org": org.id,
        "organization": org_dict(org, None),
        "license_id": d.license_id,
        "license_title": lic.map(|l| l.title).unwrap_or(d.license_id.as_str()),
        "license_url": lic.map(|l| l.url).filter(|u| !u.is_empty()),
        "isopen": lic.is_some_and(|l| l.open),
        "maintainer": d.contact_name,
        "maintainer_email": d.contact_email,
        "author": org.title_vi,
        "author_email": Value::Null,
        "url": format!("{base}/dataset/{}", d.name),
        "version": Value::Null,
        "metadata_created": ckan_time(d.created_at),
        "metadata_modified": ckan_time(d.modified_at),
        "creator_user_id": d.created_by,
        "tags": full.tags.iter().map(|t| json!({
            "name": t, "display_name": t, "state": "active", "vocabulary_id": Value::Null
        })).collect::<Vec<_>>(),
        "num_tags": full.tags.len(),
        "groups": groups,
        "resources": full.resources.iter().map(|r| resource_dict(r, base)).collect::<Vec<_>>(),
        "num_resources": full.resources.len(),
        "extras": extras,
        "relationships_as_object": [],
        "relationships_as_subject": [],
    })
}

/// An organisation as CKAN shows it; `count` adds `package_count`.
pub fn org_dict(o: &Org, count: Option<usize>) -> Value {
    let mut v = json!({
        "id": o.id,
        "name": o.name,
        "title": o.title_vi,
        "display_name": o.title_vi,
        "title_translated": {"vi": o.title_vi, "en": o.title_en},
        "description": "",
        "type": "organization",
        "is_organization": true,
        "state": "active",
        "approval_status": "approved",
        "image_url": "",
        "image_display_url": "",
    });
    if let Some(n) = count {
        v["package_count"] = n.into();
    }
    v
}

/// A theme as CKAN shows it.
pub fn group_dict(g: &GroupRow, count: Option<usize>) -> Value {
    let mut v = json!({
        "id": g.id,
        "name": g.name,
        "title": g.title_vi,
        "display_name": g.title_vi,
        "title_translated": {"vi": g.title_vi, "en": g.title_en},
        "description": g.description_vi,
        "type": "group",
        "is_organization": false,
        "state": "active",
        "approval_status": "approved",
        "image_url": "",
        "image_display_url": "",
        "created": ckan_time(g.created_at),
    });
    if let Some(n) = count {
        v["package_count"] = n.into();
    }
    v
}

/// The router: the CKAN API, DCAT and the portal pages.
pub fn router() -> axum::Router<AppState> {
    axum::Router::new()
        .merge(ckan::router())
        .merge(dcat::router())
        .merge(pages::router())
}
