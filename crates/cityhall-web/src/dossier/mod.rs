//! Dossiers on the web: applying (with drafts, attachments and reuse from the document
//! wallet), the resident's pages, the officers' inbox and actions, desk registration, the
//! signed result and its public verification, fee payment, and the dossier API.

use std::collections::BTreeMap;

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use cityhall_core::blob::{sniff, FileType};
use cityhall_core::calendar::VN_OFFSET;
use cityhall_db::catalog::ProcedureVersion;
use cityhall_db::dossier::DossierRow;
use cityhall_db::{from_micros, CatalogStore};

use crate::auth::{cookie, Csrf, CSRF_COOKIE};
use crate::error::{AppError, AppResult};
use crate::AppState;

pub mod api;
pub mod desk;
pub mod pay;
pub mod resident;
pub mod service;

/// Largest single attachment.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// Most attachments in one request.
pub const MAX_FILES: usize = 20;
/// Largest upload request (all attachments and fields).
pub const MAX_UPLOAD_BYTES: usize = 30 * 1024 * 1024;

/// The procedure version a dossier was filed under.
pub async fn procedure_of(state: &AppState, d: &DossierRow) -> AppResult<ProcedureVersion> {
    let snap = state.catalog.snapshot();
    if let Some(v) = snap.get(&d.procedure_code) {
        if v.id == d.procedure_id {
            return Ok(v.clone());
        }
    }
    Ok(state.db.procedure_version(&d.procedure_id).await?)
}

/// An instant in the city's time: `17:00 26/11/2026`.
pub fn local_when(us: i64) -> String {
    let t = from_micros(us).to_offset(VN_OFFSET);
    format!(
        "{:02}:{:02} {:02}/{:02}/{}",
        t.hour(),
        t.minute(),
        t.day(),
        u8::from(t.month()),
        t.year()
    )
}

/// A file part of a multipart form.
#[derive(Debug, Clone)]
pub struct RawFile {
    pub field: String,
    pub filename: String,
    pub bytes: Vec<u8>,
}

/// A multipart form whose CSRF token was checked; text fields and files, in memory
/// (bounded by [`MAX_UPLOAD_BYTES`]).
#[derive(Debug, Default)]
pub struct UploadForm {
    pub fields: BTreeMap<String, String>,
    /// Every text field in order, repeated names included (check boxes of one question).
    pub pairs: Vec<(String, String)>,
    pub files: Vec<RawFile>,
}

impl UploadForm {
    pub fn get(&self, k: &str) -> &str {
        self.fields.get(k).map(|s| s.as_str()).unwrap_or("")
    }
}

/// Why an attachment was refused, as a message key.
pub fn check_file(f: &RawFile) -> Result<FileType, &'static str> {
    if f.bytes.len() > MAX_FILE_BYTES {
        return Err("err-file-too-big");
    }
    match sniff(&f.bytes) {
        Some(t @ (FileType::Pdf | FileType::Jpeg | FileType::Png)) => Ok(t),
        _ => Err("err-file-type"),
    }
}

impl<S: Send + Sync> FromRequest<S> for UploadForm {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let expected = req
            .extensions()
            .get::<Csrf>()
            .map(|c| c.0.clone())
            .unwrap_or_default();
        let had_cookie = cookie(req.headers(), CSRF_COOKIE).is_some();
        let mut mp = Multipart::from_request(req, state).await.map_err(|r| {
            let status = r.status();
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::new(status, "payload_too_large", "err-upload-too-big")
            } else {
                AppError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "error-415",
                )
            }
        })?;
        let mut out = UploadForm::default();
        let too_big = || {
            AppError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "err-upload-too-big",
            )
        };
        loop {
            let field = match mp.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_big()),
                Err(_) => return Err(AppError::bad_request("error-400")),
            };
            let name = field.name().unwrap_or("").to_string();
            if let Some(filename) = field.file_name().map(|s| s.to_string()) {
                let bytes = field.bytes().await.map_err(|e| {
                    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        too_big()
                    } else {
                        AppError::bad_request("error-400")
                    }
                })?;
                // A file input left empty still sends a part with no name and no bytes.
                if filename.is_empty() && bytes.is_empty() {
                    continue;
                }
                if out.files.len() >= MAX_FILES {
                    return Err(AppError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "too_many_files",
                        "err-too-many-files",
                    ));
                }
                let filename: String = filename
                    .rsplit(['/', '\\'])
                    .next()
                    .unwrap_or("")
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(200)
                    .collect();
                out.files.push(RawFile {
                    field: name,
                    filename,
                    bytes: bytes.to_vec(),
                });
            } else {
                let text = field
                    .text()
                    .await
                    .map_err(|_| AppError::bad_request("error-400"))?;
                if text.len() > 64 * 1024 {
                    return Err(too_big());
                }
                out.pairs.push((name.clone(), text.clone()));
                out.fields.insert(name, text);
            }
        }
        let sent = out.get("csrf_token");
        if !had_cookie || sent.is_empty() || !crate::auth::same(sent, &expected) {
            return Err(AppError::csrf());
        }
        Ok(out)
    }
}

pub fn router() -> Router<AppState> {
    let uploads = Router::new()
        .route(
            "/procedures/{code}/apply",
            get(resident::apply_page).post(resident::apply_submit),
        )
        .route(
            "/drafts/{id}",
            get(resident::draft_page).post(resident::draft_submit),
        )
        .route("/dossiers/{code}/supplement", post(resident::supplement))
        .route(
            "/desk/register",
            get(desk::register_page).post(desk::register_submit),
        )
        .layer(axum::extract::DefaultBodyLimit::max(MAX_UPLOAD_BYTES));
    Router::new()
        .merge(uploads)
        .route("/dossiers", get(resident::my_dossiers))
        .route("/dossiers/{code}", get(resident::dossier_page))
        .route("/dossiers/{code}/receipt", get(resident::receipt_page))
        .route("/dossiers/{code}/files/{id}", get(resident::file_download))
        .route("/dossiers/{code}/withdraw", post(resident::withdraw))
        .route("/dossiers/{code}/rate", post(resident::rate))
        .route("/dossiers/{code}/act", post(desk::act_submit))
        .route("/wallet", get(resident::wallet_page))
        .route("/verify", get(resident::verify_lookup))
        .route("/verify/{code}", get(resident::verify_page))
        .route("/status", get(resident::status_page))
        .route("/desk", get(desk::inbox))
        .merge(pay::router())
        .merge(api::router())
}
