//! Configuration in layers: defaults → `cityhall.toml` → `CITYHALL_*` environment → flags.
//! Secrets are wrapped so they never print.

use std::path::{Path, PathBuf};

use anyhow::Context;
use cityhall_core::calendar::CalendarConfig;
use serde::Deserialize;

/// A value that must not appear in logs or debug output.
#[derive(Clone, Deserialize, Default)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SmtpFile {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub from: Option<String>,
    /// `none`, `starttls` (default) or `tls`.
    pub tls: Option<String>,
}

/// The external OpenID Connect provider that verifies identities (e.g. the national e-ID).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct OidcFile {
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub redirect_url: Option<String>,
    pub national_id_claim: Option<String>,
}

/// Citizen feedback policy (`[feedback]`).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FeedbackFile {
    /// Radius of the "already reported nearby" suggestion, in metres (default 200).
    pub nearby_m: Option<f64>,
    /// Days after a resolution during which the reporter may reopen (default 7).
    pub reopen_days: Option<i64>,
    /// Working hours past the due time before the unit's supervisor is told (default 0).
    pub supervisor_after_hours: Option<u32>,
    /// Working hours past the due time before the report moves to the city desk (default 8).
    pub city_after_hours: Option<u32>,
    /// The city desk: level-2 escalations and reports no unit exists for (default VPUBND).
    pub city_desk: Option<String>,
}

/// Every setting, as the file and the environment name them.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<Secret>,
    pub demo: Option<bool>,
    pub secure_cookies: Option<bool>,
    pub session_ttl_secs: Option<i64>,
    /// 64 hex characters; keyed hash of national ID numbers and one-time codes.
    pub secret_key: Option<Secret>,
    /// 64 hex characters: the Ed25519 seed that signs audit checkpoints.
    pub audit_signing_key: Option<Secret>,
    pub audit_checkpoint_every: Option<i64>,
    pub body_limit_bytes: Option<usize>,
    pub request_timeout_secs: Option<u64>,
    pub units_file: Option<PathBuf>,
    pub agencies_file: Option<PathBuf>,
    pub sms_webhook: Option<String>,
    pub log_format: Option<String>,
    /// Where attachments live: "files" (DATA_DIR/blobs, the default) or "database"
    /// (replicas that share nothing but the database).
    pub blob_store: Option<String>,
    /// The site's public address, e.g. https://dichvucong.example.vn (payment return links).
    pub public_url: Option<String>,
    /// The payment provider's payment page; the built-in sandbox when unset.
    pub payment_url: Option<String>,
    /// The secret shared with the payment provider (HMAC-SHA512 of its parameters).
    pub payment_secret: Option<Secret>,
    #[serde(default)]
    pub smtp: SmtpFile,
    #[serde(default)]
    pub oidc: OidcFile,
    #[serde(default)]
    pub calendar: CalendarConfig,
    #[serde(default)]
    pub feedback: FeedbackFile,
}

fn env(name: &str) -> Option<String> {
    std::env::var(format!("CITYHALL_{name}"))
        .ok()
        .filter(|v| !v.is_empty())
}

fn env_parse<T: std::str::FromStr>(name: &str) -> anyhow::Result<Option<T>> {
    match env(name) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| anyhow::anyhow!("CITYHALL_{name}={v:?} is not a valid value")),
    }
}

impl Settings {
    /// Reads `path` (if given, it must exist; else `./cityhall.toml` if present), then the
    /// environment on top.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Settings> {
        let mut s = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).with_context(|| {
                    format!("cannot read the configuration file {}", p.display())
                })?;
                toml::from_str(&text).with_context(|| format!("{} is not valid", p.display()))?
            }
            None if Path::new("cityhall.toml").exists() => {
                let text = std::fs::read_to_string("cityhall.toml")?;
                toml::from_str(&text).context("cityhall.toml is not valid")?
            }
            None => Settings::default(),
        };
        if let Some(v) = env("LISTEN") {
            s.listen = Some(v)
        }
        if let Some(v) = env("DATA_DIR") {
            s.data_dir = Some(v.into())
        }
        if let Some(v) = env("DATABASE_URL") {
            s.database_url = Some(Secret(v))
        }
        if let Some(v) = env_parse("DEMO")? {
            s.demo = Some(v)
        }
        if let Some(v) = env_parse("SECURE_COOKIES")? {
            s.secure_cookies = Some(v)
        }
        if let Some(v) = env_parse("SESSION_TTL_SECS")? {
            s.session_ttl_secs = Some(v)
        }
        if let Some(v) = env("SECRET_KEY") {
            s.secret_key = Some(Secret(v))
        }
        if let Some(v) = env("AUDIT_SIGNING_KEY") {
            s.audit_signing_key = Some(Secret(v))
        }
        if let Some(v) = env_parse("AUDIT_CHECKPOINT_EVERY")? {
            s.audit_checkpoint_every = Some(v)
        }
        if let Some(v) = env_parse("BODY_LIMIT_BYTES")? {
            s.body_limit_bytes = Some(v)
        }
        if let Some(v) = env_parse("REQUEST_TIMEOUT_SECS")? {
            s.request_timeout_secs = Some(v)
        }
        if let Some(v) = env("UNITS_FILE") {
            s.units_file = Some(v.into())
        }
        if let Some(v) = env("AGENCIES_FILE") {
            s.agencies_file = Some(v.into())
        }
        if let Some(v) = env("SMS_WEBHOOK") {
            s.sms_webhook = Some(v)
        }
        if let Some(v) = env("LOG_FORMAT") {
            s.log_format = Some(v)
        }
        if let Some(v) = env("BLOB_STORE") {
            s.blob_store = Some(v)
        }
        if let Some(v) = env("PUBLIC_URL") {
            s.public_url = Some(v)
        }
        if let Some(v) = env("PAYMENT_URL") {
            s.payment_url = Some(v)
        }
        if let Some(v) = env("PAYMENT_SECRET") {
            s.payment_secret = Some(Secret(v))
        }
        if let Some(v) = env("SMTP_HOST") {
            s.smtp.host = Some(v)
        }
        if let Some(v) = env_parse("SMTP_PORT")? {
            s.smtp.port = Some(v)
        }
        if let Some(v) = env("SMTP_USERNAME") {
            s.smtp.username = Some(v)
        }
        if let Some(v) = env("SMTP_PASSWORD") {
            s.smtp.password = Some(Secret(v))
        }
        if let Some(v) = env("SMTP_FROM") {
            s.smtp.from = Some(v)
        }
        if let Some(v) = env("SMTP_TLS") {
            s.smtp.tls = Some(v)
        }
        if let Some(v) = env("OIDC_ISSUER") {
            s.oidc.issuer = Some(v)
        }
        if let Some(v) = env("OIDC_CLIENT_ID") {
            s.oidc.client_id = Some(v)
        }
        if let Some(v) = env("OIDC_CLIENT_SECRET") {
            s.oidc.client_secret = Some(Secret(v))
        }
        if let Some(v) = env("OIDC_REDIRECT_URL") {
            s.oidc.redirect_url = Some(v)
        }
        if let Some(v) = env("OIDC_NATIONAL_ID_CLAIM") {
            s.oidc.national_id_claim = Some(v)
        }
        Ok(s)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("./cityhall-data"))
    }

    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(u) => u.0.clone(),
            None => format!("sqlite://{}/cityhall.db", self.data_dir().display()),
        }
    }
}

/// Reads a 32-byte key from configuration (hex), or from `DATA_DIR/keys/NAME`, generating it
/// there on first run (only readable by the owner).
pub fn key_or_generate(
    configured: Option<&Secret>,
    data_dir: &Path,
    name: &str,
) -> anyhow::Result<[u8; 32]> {
    let parse = |hex_text: &str, what: &str| -> anyhow::Result<[u8; 32]> {
        let bytes = hex::decode(hex_text.trim()).with_context(|| format!("{what} is not hex"))?;
        bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("{what} must be 32 bytes (64 hex characters)"))
    };
    if let Some(s) = configured {
        return parse(&s.0, name);
    }
    let dir = data_dir.join("keys");
    let path = dir.join(name);
    if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        return parse(&text, &path.display().to_string());
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut key = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
    write_private(&path, &hex::encode(key))?;
    tracing::info!(path = %path.display(), "generated a new key");
    Ok(key)
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(())
}
