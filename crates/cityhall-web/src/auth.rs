//! Authentication and authorization at the edge: password and token hashing, sessions,
//! CSRF, TOTP, and the typed capabilities a handler asks for. A handler that takes
//! [`CityAdmin`] cannot run unless the check passed: forgetting a check does not compile.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use cityhall_core::identity::Role;
use cityhall_db::identity::SessionInfo;
use cityhall_db::IdentityStore;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::error::AppError;
use crate::AppState;

pub const SESSION_COOKIE: &str = "cityhall_session";
pub const CSRF_COOKIE: &str = "cityhall_csrf";

/// 32 random bytes, URL-safe base64 (43 characters).
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// Session and API tokens are stored as their SHA-256: they are long and random, so a fast
/// hash is enough and lets us look them up.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A keyed hash (HMAC-SHA-256) for values that are guessable, like national ID numbers and
/// short one-time codes: without the key, the stored hash does not reveal them.
pub fn keyed_hash(key: &[u8; 32], value: &str) -> String {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    m.update(value.as_bytes());
    hex::encode(m.finalize().into_bytes())
}

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash of a password nobody has, verified against when the account does not exist so a
/// wrong username takes as long as a wrong password.
pub fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| hash_password("no-such-account-password").unwrap_or_default())
}

/// The value of a cookie.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The CSRF token of this browser (double-submit: cookie and form field must match).
#[derive(Clone, Debug)]
pub struct Csrf(pub String);

/// Constant-time comparison.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A form whose CSRF token was checked before its fields were parsed.
pub struct CsrfForm<T>(pub T);

impl<S, T> FromRequest<S> for CsrfForm<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let expected = req
            .extensions()
            .get::<Csrf>()
            .map(|c| c.0.clone())
            .unwrap_or_default();
        let had_cookie = cookie(req.headers(), CSRF_COOKIE).is_some();
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        if !ct.starts_with("application/x-www-form-urlencoded") {
            return Err(AppError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "error-415",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|r| {
                let status = r.status();
                if status == StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::new(status, "payload_too_large", "error-413")
                } else {
                    AppError::literal(status, "bad_request", r.body_text())
                }
            })?;
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_bytes(&bytes).map_err(|_| AppError::bad_request("error-400"))?;
        let sent = pairs
            .iter()
            .find(|(k, _)| k == "csrf_token")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        if !had_cookie || sent.is_empty() || !same(sent, &expected) {
            return Err(AppError::csrf());
        }
        serde_urlencoded::from_bytes(&bytes)
            .map(CsrfForm)
            .map_err(|e| {
                AppError::literal(StatusCode::BAD_REQUEST, "malformed_form", e.to_string())
            })
    }
}

/// The signed-in session of this request, resolved once by the `finish` middleware.
#[derive(Clone, Debug, Default)]
pub struct CurrentSession {
    pub info: Option<Arc<SessionInfo>>,
    pub token_hash: Option<String>,
    /// The credential was a bearer token (API), not a cookie.
    pub bearer: bool,
}

/// What templates show about the signed-in user.
#[derive(Clone, Debug)]
pub struct UserView {
    pub username: String,
    pub full_name: String,
    pub is_staff: bool,
    pub is_admin: bool,
    pub is_auditor: bool,
    /// Handles a unit's feedback (officer or supervisor).
    pub is_unit_staff: bool,
    pub is_operator: bool,
    pub is_city_admin: bool,
}

impl UserView {
    pub fn from_session(s: &SessionInfo) -> UserView {
        let roles: Vec<Role> = s.roles.iter().filter_map(|r| r.role()).collect();
        UserView {
            username: s.user.username.clone(),
            full_name: s.user.full_name.clone(),
            is_staff: roles.iter().any(|r| r.is_staff()),
            is_admin: roles
                .iter()
                .any(|r| matches!(r, Role::CityAdmin | Role::AgencyAdmin)),
            is_auditor: roles
                .iter()
                .any(|r| matches!(r, Role::Auditor | Role::CityAdmin)),
            is_unit_staff: roles
                .iter()
                .any(|r| matches!(r, Role::Officer | Role::Supervisor)),
            is_operator: roles
                .iter()
                .any(|r| matches!(r, Role::Operator | Role::CityAdmin)),
            is_city_admin: roles.contains(&Role::CityAdmin),
        }
    }
}

/// Looks up the credential of a request.
pub async fn resolve_session(state: &AppState, headers: &HeaderMap) -> CurrentSession {
    let now = OffsetDateTime::now_utc();
    if let Some(tok) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        let h = hash_token(tok.trim());
        let info = state.db.api_token_user(now, &h).await.ok().flatten();
        return CurrentSession {
            info: info.map(Arc::new),
            token_hash: Some(h),
            bearer: true,
        };
    }
    if let Some(tok) = cookie(headers, SESSION_COOKIE) {
        let h = hash_token(&tok);
        let info = state.db.session(now, &h).await.ok().flatten();
        return CurrentSession {
            info: info.map(Arc::new),
            token_hash: Some(h),
            bearer: false,
        };
    }
    CurrentSession::default()
}

fn refuse(parts: &Parts, e: AppError) -> Response {
    // A page asking for sign-in sends the browser to the sign-in page and back.
    if e.status == StatusCode::UNAUTHORIZED && !parts.uri.path().starts_with("/api/") {
        let next = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let q = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
        return Redirect::to(&format!("/login?{q}")).into_response();
    }
    let mut res = e.into_response();
    if parts.uri.path().starts_with("/api/") && res.status() == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
    }
    res
}

/// Any signed-in person whose sign-in is complete (second factor included).
#[derive(Clone, Debug)]
pub struct Signed(pub Arc<SessionInfo>);

impl Signed {
    pub fn has(&self, role: Role) -> bool {
        self.0.roles.iter().any(|r| r.role() == Some(role))
    }
    /// Agencies in which the user holds `role`.
    pub fn agencies(&self, role: Role) -> Vec<String> {
        self.0
            .roles
            .iter()
            .filter(|r| r.role() == Some(role) && !r.agency_code.is_empty())
            .map(|r| r.agency_code.clone())
            .collect()
    }
    pub fn user_id(&self) -> &str {
        &self.0.user.id
    }
    pub fn username(&self) -> &str {
        &self.0.user.username
    }
}

impl<S> FromRequestParts<S> for Signed
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts
            .extensions
            .get::<CurrentSession>()
            .and_then(|s| s.info.clone())
        {
            Some(info) if !info.mfa_pending => Ok(Signed(info)),
            _ => Err(refuse(parts, AppError::unauthorized())),
        }
    }
}

macro_rules! capability {
    ($(#[$doc:meta])* $name:ident, |$s:ident| $allowed:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $name(pub Signed);

        impl<S> FromRequestParts<S> for $name
        where
            AppState: FromRef<S>,
            S: Send + Sync,
        {
            type Rejection = Response;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
                let $s = Signed::from_request_parts(parts, state).await?;
                if $allowed {
                    Ok($name($s))
                } else {
                    Err(refuse(parts, AppError::forbidden()))
                }
            }
        }
    };
}

capability!(
    /// Any staff member (officer, agency admin, city admin, auditor).
    Staff,
    |s| Role::ALL.iter().any(|r| r.is_staff() && s.has(*r))
);
capability!(
    /// An officer of at least one agency; `agencies()` says which.
    Officer,
    |s| !s.agencies(Role::Officer).is_empty()
);
capability!(
    /// Administers users: the whole city, or the agencies of an agency admin.
    Admin,
    |s| s.has(Role::CityAdmin) || !s.agencies(Role::AgencyAdmin).is_empty()
);
capability!(
    /// The city administrator.
    CityAdmin,
    |s| s.has(Role::CityAdmin)
);
capability!(
    /// Reads the audit log: auditors and the city administrator.
    Auditor,
    |s| s.has(Role::Auditor) || s.has(Role::CityAdmin)
);

impl Officer {
    pub fn agencies(&self) -> Vec<String> {
        self.0.agencies(Role::Officer)
    }
}

impl Admin {
    /// `None` for the whole city, else the agencies this admin may manage.
    pub fn scope(&self) -> Option<Vec<String>> {
        if self.0.has(Role::CityAdmin) {
            None
        } else {
            Some(self.0.agencies(Role::AgencyAdmin))
        }
    }
}

/// Time-based one-time passwords (RFC 6238: HMAC-SHA-1, 30-second steps, 6 digits), the
/// scheme every authenticator app speaks. Small enough to keep here, checked against the
/// RFC's test vector.
pub mod totp {
    use hmac::{Hmac, Mac};
    use rand::RngCore;

    pub fn code_at(secret: &[u8], unix: i64, digits: u32) -> String {
        let counter = (unix.max(0) / 30) as u64;
        let mut m = <Hmac<sha1::Sha1> as Mac>::new_from_slice(secret).expect("any key length");
        m.update(&counter.to_be_bytes());
        let h = m.finalize().into_bytes();
        let off = (h[19] & 0x0f) as usize;
        let bin = (u32::from(h[off] & 0x7f) << 24)
            | (u32::from(h[off + 1]) << 16)
            | (u32::from(h[off + 2]) << 8)
            | u32::from(h[off + 3]);
        format!(
            "{:0width$}",
            bin % 10u32.pow(digits),
            width = digits as usize
        )
    }

    /// Accepts the code of the current step or one step either side (clock drift).
    pub fn check(secret_b32: &str, code: &str, unix: i64) -> bool {
        let Some(secret) = base32_decode(secret_b32) else {
            return false;
        };
        let code = code.trim().replace(' ', "");
        [-30, 0, 30]
            .iter()
            .any(|d| code_at(&secret, unix + d, 6) == code)
    }

    pub fn new_secret() -> String {
        let mut b = [0u8; 20];
        rand::rngs::OsRng.fill_bytes(&mut b);
        base32_encode(&b)
    }

    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

    pub fn base32_encode(data: &[u8]) -> String {
        let mut out = String::new();
        let (mut buf, mut bits) = (0u32, 0u32);
        for &b in data {
            buf = (buf << 8) | u32::from(b);
            bits += 8;
            while bits >= 5 {
                out.push(ALPHABET[((buf >> (bits - 5)) & 31) as usize] as char);
                bits -= 5;
            }
        }
        if bits > 0 {
            out.push(ALPHABET[((buf << (5 - bits)) & 31) as usize] as char);
        }
        out
    }

    pub fn base32_decode(s: &str) -> Option<Vec<u8>> {
        let mut out = vec![];
        let (mut buf, mut bits) = (0u32, 0u32);
        for c in s.chars().filter(|c| *c != '=' && !c.is_whitespace()) {
            let v = ALPHABET
                .iter()
                .position(|a| *a as char == c.to_ascii_uppercase())? as u32;
            buf = (buf << 5) | v;
            bits += 5;
            if bits >= 8 {
                out.push((buf >> (bits - 8)) as u8);
                bits -= 8;
            }
        }
        Some(out)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn rfc6238_vector() {
            // RFC 6238 appendix B, SHA-1 seed, 8 digits.
            let secret = b"12345678901234567890";
            assert_eq!(code_at(secret, 59, 8), "94287082");
            assert_eq!(code_at(secret, 1111111109, 8), "07081804");
            assert_eq!(code_at(secret, 2000000000, 8), "69279037");
        }

        #[test]
        fn base32_round_trip_and_check() {
            let s = base32_encode(b"12345678901234567890");
            assert_eq!(s, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
            assert_eq!(base32_decode(&s).unwrap(), b"12345678901234567890");
            let code = code_at(b"12345678901234567890", 1000, 6);
            assert!(check(&s, &code, 1000));
            assert!(check(&s, &code, 1020));
            assert!(!check(&s, &code, 1200));
        }
    }
}
