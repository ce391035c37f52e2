//! One error type at the HTTP edge. A handler returns [`AppError`]; the response carries an
//! [`ErrorInfo`] extension and the `finish` middleware renders it as an HTML page in the
//! user's language, or as the JSON error body under `/api/`. Errors that come from the
//! framework itself (405, 413, timeouts) are rendered the same way.

use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cityhall_db::StoreError;

/// What the renderer needs to know about an error.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    /// Stable snake_case code for programs.
    pub code: &'static str,
    /// A translation key, or a literal message when `literal` is set.
    pub key: String,
    pub literal: bool,
    /// Field name → translation key.
    pub fields: Vec<(String, String)>,
}

#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub info: ErrorInfo,
    pub cause: Option<anyhow::Error>,
}

impl AppError {
    pub fn new(status: StatusCode, code: &'static str, key: impl Into<String>) -> AppError {
        AppError {
            status,
            info: ErrorInfo {
                code,
                key: key.into(),
                literal: false,
                fields: vec![],
            },
            cause: None,
        }
    }
    /// A message that is not in the catalog (e.g. a parser's own words).
    pub fn literal(status: StatusCode, code: &'static str, msg: impl Into<String>) -> AppError {
        let mut e = AppError::new(status, code, msg);
        e.info.literal = true;
        e
    }
    pub fn not_found() -> AppError {
        AppError::new(StatusCode::NOT_FOUND, "not_found", "error-404")
    }
    pub fn unauthorized() -> AppError {
        AppError::new(StatusCode::UNAUTHORIZED, "unauthorized", "error-401")
    }
    pub fn forbidden() -> AppError {
        AppError::new(StatusCode::FORBIDDEN, "forbidden", "error-403")
    }
    pub fn bad_request(key: &str) -> AppError {
        AppError::new(StatusCode::BAD_REQUEST, "bad_request", key)
    }
    pub fn csrf() -> AppError {
        AppError::new(StatusCode::FORBIDDEN, "csrf_failed", "err-csrf")
    }
    pub fn internal(cause: impl Into<anyhow::Error>) -> AppError {
        let mut e = AppError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "error-500");
        e.cause = Some(cause.into());
        e
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::not_found(),
            StoreError::Conflict(what) => {
                let mut e = AppError::new(StatusCode::CONFLICT, "conflict", "error-409");
                e.cause = Some(anyhow::anyhow!("conflict on {what}"));
                e
            }
            StoreError::Unavailable(why) => {
                let mut e = AppError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "database_unavailable",
                    "error-503",
                );
                e.cause = Some(anyhow::anyhow!(why));
                e
            }
            StoreError::Other(cause) => AppError::internal(cause),
        }
    }
}

impl From<JsonRejection> for AppError {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        let code = match status {
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            _ => "malformed_json",
        };
        AppError::literal(status, code, r.body_text())
    }
}

impl From<FormRejection> for AppError {
    fn from(r: FormRejection) -> Self {
        let status = r.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "payload_too_large"
        } else {
            "malformed_form"
        };
        AppError::literal(status, code, r.body_text())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let Some(cause) = &self.cause {
            if self.status.is_server_error() {
                // Logged once, here, inside the request's span (which carries its id).
                tracing::error!(
                    error = format!("{cause:#}"),
                    code = self.info.code,
                    "request failed"
                );
            } else {
                tracing::info!(
                    error = format!("{cause:#}"),
                    code = self.info.code,
                    "request refused"
                );
            }
        }
        let mut res = self.status.into_response();
        res.extensions_mut().insert(self.info);
        res
    }
}

/// The generic message for a status that no handler described.
pub fn info_for_status(status: StatusCode) -> ErrorInfo {
    let (code, key) = match status.as_u16() {
        400 => ("bad_request", "error-400"),
        401 => ("unauthorized", "error-401"),
        403 => ("forbidden", "error-403"),
        404 => ("not_found", "error-404"),
        405 => ("method_not_allowed", "error-400"),
        408 => ("timeout", "error-500"),
        409 => ("conflict", "error-409"),
        413 => ("payload_too_large", "error-413"),
        415 => ("unsupported_media_type", "error-415"),
        422 => ("invalid_input", "error-422"),
        429 => ("rate_limited", "error-429"),
        503 => ("unavailable", "error-503"),
        _ => ("internal", "error-500"),
    };
    ErrorInfo {
        code,
        key: key.into(),
        literal: false,
        fields: vec![],
    }
}

pub type AppResult<T> = Result<T, AppError>;
