//! DCAT: the catalogue of public datasets as JSON-LD and Turtle (`/catalog.jsonld`,
//! `/catalog.ttl`, 100 datasets a page with Hydra paging), and each dataset's own document
//! (`/dataset/{id}.jsonld`, `.ttl`, served by the dataset page's route).

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use cityhall_core::opendata::dcat::{
    catalog_jsonld, catalog_turtle, dataset_jsonld, dataset_turtle, CatalogInfo, Page,
};
use serde::Deserialize;
use serde_json::Value;

use super::{base_url, ckan_time, package_dict, Entry, Snapshot};
use crate::AppState;

/// Datasets per catalogue page.
pub const PER_PAGE: usize = 100;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/catalog.jsonld", get(catalog_json))
        .route("/catalog.ttl", get(catalog_ttl))
}

#[derive(Deserialize)]
pub struct PageQuery {
    page: Option<String>,
}

/// Which RDF serialisation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Rdf {
    JsonLd,
    Turtle,
}

impl Rdf {
    pub fn content_type(self) -> &'static str {
        match self {
            Rdf::JsonLd => "application/ld+json",
            Rdf::Turtle => "text/turtle; charset=utf-8",
        }
    }
}

fn info(snap: &Snapshot, base: &str) -> CatalogInfo {
    CatalogInfo {
        title: "Cổng dữ liệu mở — cityhall".into(),
        description: "Dữ liệu mở do các cơ quan của thành phố công bố.".into(),
        homepage: format!("{base}/dataset"),
        language: "vi".into(),
        publisher_name: "Ủy ban nhân dân Thành phố".into(),
        modified: snap
            .entries
            .iter()
            .map(|e| e.full.dataset.modified_at)
            .max()
            .map(ckan_time),
    }
}

async fn catalog(state: AppState, headers: HeaderMap, q: PageQuery, rdf: Rdf) -> Response {
    let page: usize = match q.page.as_deref().map(str::trim) {
        None | Some("") => 1,
        Some(p) => match p.parse() {
            Ok(n) if n >= 1 => n,
            _ => {
                return (
                    StatusCode::BAD_REQUEST,
                    [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                    "page must be a whole number from 1",
                )
                    .into_response()
            }
        },
    };
    let snap = match state.opendata.current(&state.db, false).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "catalog snapshot");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let base = base_url(&state, &headers);
    let mut public: Vec<&Entry> = snap
        .entries
        .iter()
        .filter(|e| e.full.dataset.state == "active" && !e.full.dataset.private)
        .collect();
    public.sort_by(|a, b| {
        b.full
            .dataset
            .modified_at
            .cmp(&a.full.dataset.modified_at)
            .then_with(|| a.full.dataset.name.cmp(&b.full.dataset.name))
    });
    let total = public.len();
    let pkgs: Vec<Value> = public
        .into_iter()
        .skip((page - 1) * PER_PAGE)
        .take(PER_PAGE)
        .map(|e| package_dict(e, &snap, &base))
        .collect();
    let paging = Page {
        number: page as u64,
        per_page: PER_PAGE as u64,
        total: total as u64,
    };
    let info = info(&snap, &base);
    let body = match rdf {
        Rdf::JsonLd => catalog_jsonld(&info, &pkgs, &paging, &base).to_string(),
        Rdf::Turtle => catalog_turtle(&info, &pkgs, &paging, &base),
    };
    ([(header::CONTENT_TYPE, rdf.content_type())], body).into_response()
}

async fn catalog_json(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    catalog(state, headers, q, Rdf::JsonLd).await
}

async fn catalog_ttl(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    catalog(state, headers, q, Rdf::Turtle).await
}

/// One dataset's DCAT document.
pub fn dataset_document(pkg: &Value, base: &str, rdf: Rdf) -> Response {
    let body = match rdf {
        Rdf::JsonLd => dataset_jsonld(pkg, base).to_string(),
        Rdf::Turtle => dataset_turtle(pkg, base),
    };
    ([(header::CONTENT_TYPE, rdf.content_type())], body).into_response()
}
