//! Identity verification through an external OpenID Connect provider (e.g. the national
//! e-ID): a signed-in resident is sent to the provider, comes back with an authorization
//! code, and the national ID number in the provider's ID token makes the account *verified*.
//!
//! Authorization code flow with PKCE (S256), `state` and `nonce`. The ID token comes straight
//! from the token endpoint over the back channel, so, as OpenID Connect Core 3.1.3.7 allows,
//! the TLS connection authenticates the issuer and we check `iss`, `aud`, `exp` and `nonce`
//! rather than the token's signature.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine as _;
use cityhall_core::identity::NationalId;
use cityhall_db::IdentityStore;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::auth::{cookie, keyed_hash, random_token, CsrfForm, Signed};
use crate::error::{AppError, AppResult};
use crate::AppState;

/// The provider, from configuration.
#[derive(Clone, Debug)]
pub struct OidcConfig {
    /// e.g. `https://id.example.gov.vn`; discovery is at `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// This site's public URL of `/auth/oidc/callback`.
    pub redirect_url: String,
    /// The ID-token claim that holds the 12-digit personal ID number.
    pub national_id_claim: String,
}

const STATE_COOKIE: &str = "cityhall_oidc";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account/verify/oidc", post(start))
        .route("/auth/oidc/callback", get(callback))
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
}

/// Skipping the ID token's signature relies on TLS: a provider must be `https://`, except on
/// the loopback interface (a provider run beside the server, or in tests).
fn trusted_transport(url: &str) -> bool {
    url.starts_with("https://")
        || url.starts_with("http://127.0.0.1")
        || url.starts_with("http://localhost")
        || url.starts_with("http://[::1]")
}

async fn discover(http: &reqwest::Client, c: &OidcConfig) -> AppResult<Discovery> {
    if !trusted_transport(&c.issuer) {
        return Err(AppError::internal(anyhow::anyhow!(
            "the identity provider {} must be reached over https",
            c.issuer
        )));
    }
    let url = format!(
        "{}/.well-known/openid-configuration",
        c.issuer.trim_end_matches('/')
    );
    let d: Discovery = http
        .get(&url)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(provider_down)?
        .json()
        .await
        .map_err(provider_down)?;
    if !trusted_transport(&d.token_endpoint) {
        return Err(AppError::internal(anyhow::anyhow!(
            "the provider's token endpoint {} is not https",
            d.token_endpoint
        )));
    }
    if d.issuer.trim_end_matches('/') != c.issuer.trim_end_matches('/') {
        return Err(AppError::internal(anyhow::anyhow!(
            "the provider's discovery names issuer {} instead of {}",
            d.issuer,
            c.issuer
        )));
    }
    Ok(d)
}

fn provider_down(e: reqwest::Error) -> AppError {
    let mut err = AppError::new(
        StatusCode::BAD_GATEWAY,
        "identity_provider_unavailable",
        "err-oidc-down",
    );
    err.cause = Some(e.into());
    err
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(15))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[derive(Deserialize)]
struct Empty {}

async fn start(
    State(state): State<AppState>,
    _s: Signed,
    CsrfForm(_): CsrfForm<Empty>,
) -> AppResult<Response> {
    let Some(c) = state.config.oidc.clone() else {
        return Err(AppError::not_found());
    };
    let d = discover(&http_client(), &c).await?;
    let (st, nonce, verifier) = (random_token(), random_token(), random_token());
    let challenge = b64url(&Sha256::digest(verifier.as_bytes()));
    let q = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", c.client_id.as_str()),
        ("redirect_uri", c.redirect_url.as_str()),
        ("scope", "openid profile"),
        ("state", st.as_str()),
        ("nonce", nonce.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ])
    .map_err(AppError::internal)?;
    let sep = if d.authorization_endpoint.contains('?') {
        '&'
    } else {
        '?'
    };
    let mut res = Redirect::to(&format!("{}{sep}{q}", d.authorization_endpoint)).into_response();
    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    // Lax: the cookie comes back on the provider's top-level redirect to us.
    let v = format!("{STATE_COOKIE}={st}.{nonce}.{verifier}; Path=/auth/oidc; HttpOnly; SameSite=Lax; Max-Age=600{secure}");
    res.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_str(&v).map_err(AppError::internal)?,
    );
    Ok(res)
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct TokenResponse {
    id_token: String,
}

fn refused() -> AppError {
    AppError::new(
        StatusCode::BAD_REQUEST,
        "identity_verification_failed",
        "err-oidc-failed",
    )
}

async fn callback(
    State(state): State<AppState>,
    s: Signed,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> AppResult<Response> {
    let Some(c) = state.config.oidc.clone() else {
        return Err(AppError::not_found());
    };
    if q.error.is_some() {
        return Err(refused());
    }
    let saved = cookie(&headers, STATE_COOKIE).unwrap_or_default();
    let mut parts = saved.splitn(3, '.');
    let (Some(st), Some(nonce), Some(verifier)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(refused());
    };
    let (Some(code), Some(got_state)) = (q.code, q.state) else {
        return Err(refused());
    };
    if got_state != st {
        return Err(refused());
    }
    let http = http_client();
    let d = discover(&http, &c).await?;
    let tok: TokenResponse = http
        .post(&d.token_endpoint)
        .basic_auth(&c.client_id, Some(&c.client_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", c.redirect_url.as_str()),
            ("client_id", c.client_id.as_str()),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|_| refused())?
        .json()
        .await
        .map_err(|_| refused())?;
    let claims = id_token_claims(&tok.id_token).ok_or_else(refused)?;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let aud_ok = match &claims["aud"] {
        serde_json::Value::String(a) => a == &c.client_id,
        serde_json::Value::Array(a) => a.iter().any(|v| v.as_str() == Some(c.client_id.as_str())),
        _ => false,
    };
    let iss_ok = claims["iss"].as_str().map(|i| i.trim_end_matches('/'))
        == Some(c.issuer.trim_end_matches('/'));
    let exp_ok = claims["exp"].as_i64().is_some_and(|e| e > now);
    let nonce_ok = claims["nonce"].as_str() == Some(nonce);
    if !(aud_ok && iss_ok && exp_ok && nonce_ok) {
        return Err(refused());
    }
    let nid = claims[c.national_id_claim.as_str()]
        .as_str()
        .and_then(|v| NationalId::parse(v).ok())
        .ok_or_else(refused)?;
    let h = keyed_hash(&state.config.secret_key, nid.as_str());
    if let Some(other) = state.db.user_by_national_id_hash(&h).await? {
        if other.id != s.user_id() {
            return Err(AppError::new(
                StatusCode::CONFLICT,
                "national_id_taken",
                "err-national-id-taken",
            ));
        }
    }
    let actor = format!("oidc:{}", c.issuer);
    state
        .db
        .verify_identity(
            OffsetDateTime::now_utc(),
            &actor,
            s.user_id(),
            &h,
            &nid.hint(),
            "oidc",
        )
        .await?;
    let mut res = Redirect::to("/account?notice=verified").into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "cityhall_oidc=; Path=/auth/oidc; HttpOnly; SameSite=Lax; Max-Age=0",
        ),
    );
    Ok(res)
}

/// The payload of a compact JWT, unverified (see the module comment for why that is sound
/// for a token taken from the token endpoint).
fn id_token_claims(jwt: &str) -> Option<serde_json::Value> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tls_or_loopback_providers_are_trusted() {
        assert!(trusted_transport("https://id.example.gov.vn"));
        assert!(trusted_transport("http://127.0.0.1:8081"));
        assert!(!trusted_transport("http://id.example.gov.vn"));
    }

    #[test]
    fn claims_are_read_from_the_payload() {
        let enc = |v: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        let jwt = format!(
            "{}.{}.sig",
            enc("{}"),
            enc(r#"{"national_id":"079090000001"}"#)
        );
        assert_eq!(
            id_token_claims(&jwt).unwrap()["national_id"],
            "079090000001"
        );
        assert!(id_token_claims("garbage").is_none());
    }
}
