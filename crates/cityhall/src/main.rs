//! The `cityhall` command: serve, migrate, manage users, verify the audit log, back up and
//! restore, and print the calendar. Thin: the work lives in the library crates.

use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use cityhall_core::calendar::Calendar;
use cityhall_core::geo::{all_agencies, AgenciesFile, UnitsFile};
use cityhall_core::identity::{check_new_password, FullName, Role, Username};
use cityhall_db::{redact_url, AuditStore, Db, DbOptions, Engine, GeoStore, IdentityStore};
use cityhall_web::{AppState, SmtpConfig, SmtpTls, WebConfig};
use clap::{Parser, Subcommand};
use ed25519_dalek::SigningKey;
use time::OffsetDateTime;

mod config;
mod demo;

use config::Settings;

#[derive(Parser)]
#[command(
    name = "cityhall",
    version,
    about = "cityhall: an open-source digital city hall"
)]
struct Cli {
    /// Configuration file (TOML). Default: ./cityhall.toml when it exists.
    #[arg(long, global = true, env = "CITYHALL_CONFIG")]
    config: Option<PathBuf>,
    /// Folder for the SQLite database, keys and stored files.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH (default DATA_DIR/cityhall.db) or postgres://…
    #[arg(long, global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

/// Open-data work too long or too large for a web request.
#[derive(Subcommand, Debug)]
enum OpendataCommand {
    /// Add a CSV or XLSX file to a dataset as a new resource and load it into the datastore,
    /// with the same checks as an upload but no size limit.
    Load {
        /// The dataset's name or id.
        dataset: String,
        file: PathBuf,
        /// The resource's name (default: the file name).
        #[arg(long)]
        name: Option<String>,
        /// `utf-8` (default) or `windows-1258`.
        #[arg(long)]
        encoding: Option<String>,
    },
    /// Recompute and publish the platform's statistics now.
    Stats,
    /// Make synthetic datasets and one large table, for benchmarks.
    Generate {
        #[arg(long, default_value_t = 10_000)]
        datasets: usize,
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Migrate, load reference data and serve the web site and APIs.
    Serve {
        /// Address to listen on.
        #[arg(long)]
        listen: Option<String>,
        /// Also load the demo accounts (once; kept across restarts).
        #[arg(long)]
        demo: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// The tamper-evident audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Write a consistent online copy of the database (SQLite), keys and stored files to FILE.
    Backup { file: PathBuf },
    /// Restore a backup made by `cityhall backup` into the data folder.
    Restore {
        file: PathBuf,
        /// Replace an existing database in the data folder.
        #[arg(long)]
        force: bool,
    },
    /// Load or update the procedure catalog from a JSON file (changed procedures get a new
    /// version; dossiers keep theirs).
    Import { file: PathBuf },
    /// Open data: load a large file, publish the statistics now, make benchmark data.
    Opendata {
        #[command(subcommand)]
        command: OpendataCommand,
    },
    /// Vietnamese working-day calendar.
    Calendar {
        #[command(subcommand)]
        command: CalendarCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account; the password is read from standard input or prompted for.
    Add {
        #[arg(long)]
        username: String,
        /// citizen, officer, agency_admin, city_admin or auditor.
        #[arg(long)]
        role: String,
        /// Agency code, for officer and agency_admin (e.g. SOTUPHAP, UBND-26740).
        #[arg(long)]
        agency: Option<String>,
        /// Full name (defaults to the username).
        #[arg(long)]
        full_name: Option<String>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check every entry's hash chain and every signed checkpoint.
    Verify {
        /// Fail when an entry has waited longer than this to be sealed.
        #[arg(long, default_value_t = 300)]
        max_lag_secs: i64,
    },
}

#[derive(Subcommand)]
enum CalendarCommand {
    /// Print a year's public holidays and substitute days, one `YYYY-MM-DD name` a line.
    Holidays { year: i32 },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(mut s) => {
            if let Some(d) = cli.data_dir.clone() {
                s.data_dir = Some(d);
            }
            if let Some(u) = cli.database_url.clone() {
                s.database_url = Some(config::Secret(u));
            }
            s
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    init_logging(&settings);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli.command, settings)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(s: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CITYHALL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=info"));
    // Colours only on a terminal: logs redirected to a file or a journal stay plain text.
    let ansi = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    if s.log_format.as_deref() == Some("json") {
        b.json().init();
    } else {
        b.init();
    }
}

async fn run(cmd: Command, s: Settings) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Serve { listen, demo } => serve(s, listen, demo).await,
        Command::Migrate => {
            let db = open(&s).await?;
            db.migrate().await?;
            println!("database is up to date");
            Ok(ExitCode::SUCCESS)
        }
        Command::User {
            command:
                UserCommand::Add {
                    username,
                    role,
                    agency,
                    full_name,
                },
        } => {
            user_add(
                &s,
                &username,
                &role,
                agency.as_deref(),
                full_name.as_deref(),
            )
            .await
        }
        Command::Audit {
            command: AuditCommand::Verify { max_lag_secs },
        } => audit_verify(&s, max_lag_secs).await,
        Command::Backup { file } => backup(&s, &file).await,
        Command::Restore { file, force } => restore(&s, &file, force),
        Command::Import { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let db = open(&s).await?;
            db.migrate().await?;
            let (units, city) = reference_data(&s)?;
            db.import_reference(
                OffsetDateTime::now_utc(),
                &units,
                &all_agencies(&units, &city),
            )
            .await?;
            let r = cityhall_web::catalog::import_file(&db, "cli", &text)
                .await
                .with_context(|| format!("{} was not imported; nothing changed", file.display()))?;
            println!(
                "added {}, changed {}, unchanged {}",
                r.added, r.changed, r.unchanged
            );
            db.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Opendata { command } => {
            let state = cli_state(&s).await?;
            match command {
                OpendataCommand::Load {
                    dataset,
                    file,
                    name,
                    encoding,
                } => {
                    let bytes = std::fs::read(&file)
                        .with_context(|| format!("cannot read {}", file.display()))?;
                    let input = cityhall_web::opendata::service::ResourceInput {
                        name: name
                            .or_else(|| file.file_name().map(|f| f.to_string_lossy().to_string())),
                        upload: Some(bytes),
                        encoding,
                        ..Default::default()
                    };
                    let actor = cityhall_web::opendata::service::Actor::System("cli");
                    match cityhall_web::opendata::service::add_resource(
                        &state, &actor, &dataset, input,
                    )
                    .await
                    {
                        Ok(r) => println!(
                            "added resource {} ({} rows in the datastore)",
                            r.id,
                            r.datastore_rows.unwrap_or(0)
                        ),
                        Err(e) => {
                            eprintln!("{} was not loaded; nothing changed: {e:?}", file.display());
                            return Ok(ExitCode::FAILURE);
                        }
                    }
                }
                OpendataCommand::Stats => cityhall_web::opendata::stats::publish(&state).await?,
                OpendataCommand::Generate { datasets, rows } => {
                    cityhall_web::opendata::demo::generate(&state, datasets, rows, |m| {
                        eprintln!("{m}")
                    })
                    .await?
                }
            }
            state.db.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Calendar {
            command: CalendarCommand::Holidays { year },
        } => {
            if !(1900..=2199).contains(&year) {
                anyhow::bail!("year {year} is outside 1900–2199");
            }
            let cal = Calendar::try_new(s.calendar.clone()).context("calendar configuration")?;
            for h in cal.holidays(year) {
                println!("{} {}", h.date, h.name_vi);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Prepares the data folder: exists and is writable.
fn prepare_data_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the data folder {}", dir.display()))?;
    let probe = dir.join(".write-test");
    std::fs::write(&probe, b"ok").with_context(|| {
        format!(
            "the data folder {} is not writable; choose another with --data-dir",
            dir.display()
        )
    })?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// Opens a database that must already exist. Commands that only read it (`audit verify`,
/// `backup`) must not create an empty one at a mistyped `--data-dir` and report success.
async fn open_existing(s: &Settings) -> anyhow::Result<Db> {
    let url = s.database_url();
    if Engine::from_url(&url) == Some(Engine::Sqlite) {
        let file = url
            .parse::<sqlx::sqlite::SqliteConnectOptions>()
            .map(|o| o.get_filename().to_path_buf())
            .ok()
            .filter(|f| !f.as_os_str().is_empty() && f != Path::new(":memory:"));
        if let Some(file) = file.filter(|f| !f.exists()) {
            anyhow::bail!(
                "there is no database at {}: check --data-dir (`cityhall migrate` creates one)",
                file.display()
            );
        }
    }
    open(s).await
}

async fn open(s: &Settings) -> anyhow::Result<Db> {
    let url = s.database_url();
    if Engine::from_url(&url) == Some(Engine::Sqlite) {
        prepare_data_dir(&s.data_dir())?;
    }
    Db::connect(&url, &DbOptions::default())
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the database {}: {e}", redact_url(&url)))
}

fn web_config(s: &Settings, demo: bool) -> anyhow::Result<WebConfig> {
    let dir = s.data_dir();
    let secret_key = config::key_or_generate(s.secret_key.as_ref(), &dir, "secret.key")?;
    let audit_seed =
        config::key_or_generate(s.audit_signing_key.as_ref(), &dir, "audit-ed25519.key")?;
    let tls = match s.smtp.tls.as_deref().unwrap_or("starttls") {
        "none" => SmtpTls::None,
        "starttls" => SmtpTls::StartTls,
        "tls" => SmtpTls::Tls,
        other => anyhow::bail!("smtp.tls = {other:?}: use none, starttls or tls"),
    };
    let smtp = s.smtp.host.clone().map(|host| SmtpConfig {
        port: s.smtp.port.unwrap_or(match tls {
            SmtpTls::None => 25,
            SmtpTls::StartTls => 587,
            SmtpTls::Tls => 465,
        }),
        host,
        username: s.smtp.username.clone(),
        password: s.smtp.password.clone().map(|p| p.0),
        from: s
            .smtp
            .from
            .clone()
            .unwrap_or_else(|| "cityhall@localhost".into()),
        tls,
    });
    let oidc = match (
        &s.oidc.issuer,
        &s.oidc.client_id,
        &s.oidc.client_secret,
        &s.oidc.redirect_url,
    ) {
        (Some(issuer), Some(client_id), Some(secret), Some(redirect_url)) => {
            Some(cityhall_web::oidc::OidcConfig {
                issuer: issuer.clone(),
                client_id: client_id.clone(),
                client_secret: secret.0.clone(),
                redirect_url: redirect_url.clone(),
                national_id_claim: s
                    .oidc
                    .national_id_claim
                    .clone()
                    .unwrap_or_else(|| "national_id".into()),
            })
        }
        (None, None, None, None) => None,
        _ => {
            anyhow::bail!("[oidc] needs issuer, client_id, client_secret and redirect_url together")
        }
    };
    Ok(WebConfig {
        oidc,
        demo,
        secure_cookies: s.secure_cookies.unwrap_or(false),
        session_ttl_secs: s.session_ttl_secs.unwrap_or(8 * 3600),
        secret_key,
        audit_key: SigningKey::from_bytes(&audit_seed),
        checkpoint_every: s.audit_checkpoint_every.unwrap_or(1000).max(1),
        seal_interval: Duration::from_secs(1),
        body_limit: s.body_limit_bytes.unwrap_or(2 * 1024 * 1024),
        request_timeout: Duration::from_secs(s.request_timeout_secs.unwrap_or(30)),
        smtp,
        sms_webhook: s.sms_webhook.clone(),
        outbox_interval: Duration::from_secs(2),
        calendar: Calendar::try_new(s.calendar.clone()).context("calendar configuration")?,
        blobs: match s.blob_store.as_deref().unwrap_or("files") {
            "files" => cityhall_db::BlobBackend::Files(s.data_dir().join("blobs")),
            "database" => cityhall_db::BlobBackend::Database,
            other => anyhow::bail!("blob_store is \"files\" or \"database\", not {other:?}"),
        },
        public_url: s
            .public_url
            .clone()
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_string(),
        payment_provider: if s.payment_url.is_some() {
            "vnpay".into()
        } else {
            "sandbox".into()
        },
        payment_sandbox: s.payment_url.is_none(),
        feedback: {
            let d = cityhall_web::feedback::service::Policy::default();
            let f = &s.feedback;
            let p = cityhall_web::feedback::service::Policy {
                escalation: cityhall_core::feedback::Escalation {
                    supervisor_after_hours: f
                        .supervisor_after_hours
                        .unwrap_or(d.escalation.supervisor_after_hours),
                    city_after_hours: f.city_after_hours.unwrap_or(d.escalation.city_after_hours),
                    city_desk: f.city_desk.clone().unwrap_or(d.escalation.city_desk),
                },
                reopen_days: f.reopen_days.unwrap_or(d.reopen_days),
                nearby_m: f.nearby_m.unwrap_or(d.nearby_m),
            };
            anyhow::ensure!(
                p.nearby_m > 0.0 && p.nearby_m <= 5000.0,
                "feedback.nearby_m must be between 0 and 5000 metres"
            );
            anyhow::ensure!(
                p.reopen_days >= 0,
                "feedback.reopen_days cannot be negative"
            );
            anyhow::ensure!(
                p.escalation.city_after_hours >= p.escalation.supervisor_after_hours,
                "feedback.city_after_hours must not be below supervisor_after_hours"
            );
            p
        },
        payment_url: s
            .payment_url
            .clone()
            .unwrap_or_else(|| "/pay/sandbox".into()),
        payment_secret: match &s.payment_secret {
            Some(p) => p.0.as_bytes().to_vec(),
            // Derived, so every replica agrees without one more setting.
            None => cityhall_web::auth::keyed_hash(&secret_key, "payment-sandbox").into_bytes(),
        },
    })
}

/// The application state for a command that works like the server (reference data loaded,
/// open-data themes present), without serving.
async fn cli_state(s: &Settings) -> anyhow::Result<AppState> {
    let db = open(s).await?;
    db.migrate().await?;
    let (units, city) = reference_data(s)?;
    db.import_reference(
        OffsetDateTime::now_utc(),
        &units,
        &all_agencies(&units, &city),
    )
    .await?;
    cityhall_web::catalog::import_file(&db, "system", cityhall_web::catalog::SHIPPED_CATALOG)
        .await
        .context("the shipped procedure catalog")?;
    let state = AppState::new(db, web_config(s, false)?);
    state.catalog.refresh(&state.db).await?;
    cityhall_web::opendata::demo::ensure_themes(&state).await?;
    Ok(state)
}

fn reference_data(s: &Settings) -> anyhow::Result<(UnitsFile, AgenciesFile)> {
    let units = match &s.units_file {
        Some(p) => {
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?
        }
        None => include_str!("../../../data/units-79.json").to_string(),
    };
    let agencies = match &s.agencies_file {
        Some(p) => {
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?
        }
        None => include_str!("../../../data/agencies-79.json").to_string(),
    };
    Ok((
        serde_json::from_str(&units).context("the units file is not valid")?,
        serde_json::from_str(&agencies).context("the agencies file is not valid")?,
    ))
}

async fn serve(s: Settings, listen: Option<String>, demo_flag: bool) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let demo = demo_flag || s.demo.unwrap_or(false);
    let listen = listen
        .or_else(|| s.listen.clone())
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let db = open(&s).await?;
    db.migrate().await?;
    let config = web_config(&s, demo)?;
    let (units, city) = reference_data(&s)?;
    let counts = db
        .import_reference(
            OffsetDateTime::now_utc(),
            &units,
            &all_agencies(&units, &city),
        )
        .await?;
    tracing::info!(
        units_changed = counts.units,
        agencies_changed = counts.agencies,
        "reference data loaded"
    );
    let catalog =
        cityhall_web::catalog::import_file(&db, "system", cityhall_web::catalog::SHIPPED_CATALOG)
            .await
            .context("the shipped procedure catalog")?;
    tracing::info!(
        added = catalog.added,
        changed = catalog.changed,
        "procedure catalog loaded"
    );
    if demo {
        demo::load(&db, &config).await?;
    }
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    tracing::info!(
        addr = %listener.local_addr()?,
        database = %redact_url(&s.database_url()),
        demo,
        startup_ms = started.elapsed().as_millis() as u64,
        "cityhall ready"
    );
    let state = AppState::new(db.clone(), config);
    if demo {
        demo::load_reports(&state).await?;
        state.catalog.refresh(&state.db).await?;
        cityhall_web::opendata::demo::load(&state).await?;
    }
    cityhall_web::serve(state, listener, shutdown_signal()).await?;
    db.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

async fn user_add(
    s: &Settings,
    username: &str,
    role: &str,
    agency: Option<&str>,
    full_name: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let username = Username::parse(username)
        .map_err(|_| anyhow::anyhow!("invalid username: 3–64 of a–z 0–9 . _ - @ +"))?;
    let role = Role::parse(role).map_err(|_| {
        anyhow::anyhow!(
            "unknown role {role}: use citizen, officer, agency_admin, city_admin or auditor"
        )
    })?;
    let full_name = FullName::parse(full_name.unwrap_or(username.as_str()))
        .map_err(|_| anyhow::anyhow!("invalid full name"))?;
    let db = open(s).await?;
    db.migrate().await?;
    let config = web_config(s, false)?;
    let agency = match (role.needs_agency(), agency) {
        (true, None) => anyhow::bail!("role {} needs --agency CODE", role.as_str()),
        (true, Some(a)) => {
            let a = a.trim().to_uppercase();
            if db.agency(&a).await?.is_none() {
                // Reference data may not be loaded yet on a fresh database.
                let (units, city) = reference_data(s)?;
                db.import_reference(
                    OffsetDateTime::now_utc(),
                    &units,
                    &all_agencies(&units, &city),
                )
                .await?;
                if db.agency(&a).await?.is_none() {
                    anyhow::bail!("no agency with code {a}");
                }
            }
            Some(a)
        }
        (false, Some(_)) => anyhow::bail!(
            "role {} is not scoped to an agency; drop --agency",
            role.as_str()
        ),
        (false, None) => None,
    };
    let password = if std::io::stdin().is_terminal() {
        let p = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Repeat: ")?;
        if p != again {
            anyhow::bail!("the passwords do not match");
        }
        p
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    check_new_password(&password).map_err(|_| {
        anyhow::anyhow!("the password needs 10–256 characters and must not be trivial")
    })?;
    let hash = cityhall_web::auth::hash_password(&password)?;
    let id = db
        .create_user(
            OffsetDateTime::now_utc(),
            "cli",
            cityhall_db::identity::NewUser::with_role(
                username.as_str(),
                full_name.as_str(),
                &hash,
                role,
                agency.as_deref(),
            ),
        )
        .await
        .map_err(|e| match e {
            cityhall_db::StoreError::Conflict(_) => {
                anyhow::anyhow!("the username {} is taken", username.as_str())
            }
            e => e.into(),
        })?;
    db.seal(&config.audit_key, config.checkpoint_every).await?;
    println!(
        "created {} ({}) with id {id}",
        username.as_str(),
        role.as_str()
    );
    Ok(ExitCode::SUCCESS)
}

async fn audit_verify(s: &Settings, max_lag: i64) -> anyhow::Result<ExitCode> {
    let db = open_existing(s).await?;
    let config = web_config(s, false)?;
    let r = db
        .verify(&config.audit_key.verifying_key(), OffsetDateTime::now_utc())
        .await?;
    println!("sealed entries: {}", r.sealed);
    println!("signed checkpoints: {}", r.checkpoints);
    match r.oldest_pending_secs {
        Some(age) => println!("waiting to be sealed: {} (oldest {age} s)", r.pending),
        None => println!("waiting to be sealed: 0"),
    }
    if let Some(p) = r.problem {
        println!("TAMPERED: {p}");
        return Ok(ExitCode::from(1));
    }
    if r.oldest_pending_secs.is_some_and(|a| a > max_lag) {
        println!("LAGGING: an entry has waited more than {max_lag} s to be sealed — is the server's sealer running?");
        return Ok(ExitCode::from(3));
    }
    println!("OK: the audit log is intact");
    Ok(ExitCode::SUCCESS)
}

async fn backup(s: &Settings, file: &Path) -> anyhow::Result<ExitCode> {
    let dir = s.data_dir();
    let url = s.database_url();
    let staging = tempfile::Builder::new()
        .prefix("cityhall-backup")
        .tempdir()?;
    let db_copy = staging.path().join("cityhall.db");
    let engine = Engine::from_url(&url);
    if engine == Some(Engine::Sqlite) {
        let db = open_existing(s).await?;
        // VACUUM INTO is a consistent snapshot taken while the server keeps running.
        if let Db::Sqlite { writer, .. } = &db {
            sqlx::query("VACUUM INTO $1")
                .bind(db_copy.display().to_string())
                .execute(writer)
                .await
                .context("copying the SQLite database")?;
        }
        db.close().await;
    } else {
        eprintln!(
            "note: the database is PostgreSQL; back it up with pg_dump (e.g. `pg_dump -Fc -f cityhall.dump {}`). \
             This backup holds the keys and stored files only.",
            redact_url(&url)
        );
    }
    let out =
        std::fs::File::create(file).with_context(|| format!("cannot create {}", file.display()))?;
    let mut tar = tar::Builder::new(out);
    if db_copy.exists() {
        tar.append_path_with_name(&db_copy, "cityhall.db")?;
    }
    for sub in ["keys", "blobs"] {
        let p = dir.join(sub);
        if p.exists() {
            tar.append_dir_all(sub, &p)?;
        }
    }
    tar.into_inner()?.sync_all()?;
    println!("backup written to {}", file.display());
    Ok(ExitCode::SUCCESS)
}

fn restore(s: &Settings, file: &Path, force: bool) -> anyhow::Result<ExitCode> {
    let dir = s.data_dir();
    prepare_data_dir(&dir)?;
    let target_db = dir.join("cityhall.db");
    if (target_db.exists() || dir.join("keys").exists()) && !force {
        anyhow::bail!(
            "{} already holds a database or keys; stop the server and pass --force to replace them",
            dir.display()
        );
    }
    let archive = || -> anyhow::Result<tar::Archive<std::fs::File>> {
        let f =
            std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
        Ok(tar::Archive::new(f))
    };
    let not_a_backup = |why: String| {
        anyhow::anyhow!(
            "{} is not a complete cityhall backup: {why}",
            file.display()
        )
    };
    // First pass: read the whole archive before touching the data folder, so that a
    // truncated or foreign file cannot replace a working database with half of one.
    let mut entries = 0;
    for entry in archive()?
        .entries()
        .map_err(|e| not_a_backup(e.to_string()))?
    {
        let mut entry = entry.map_err(|e| not_a_backup(e.to_string()))?;
        let path = entry
            .path()
            .map_err(|e| not_a_backup(e.to_string()))?
            .into_owned();
        let kind = entry.header().entry_type();
        let ok = (path == Path::new("cityhall.db") && kind.is_file())
            || ((path.starts_with("keys") || path.starts_with("blobs"))
                && (kind.is_file() || kind.is_dir()));
        if !ok
            || path
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(not_a_backup(format!("unexpected entry {}", path.display())));
        }
        let size = entry.size();
        let read = std::io::copy(&mut entry, &mut std::io::sink())
            .map_err(|e| not_a_backup(e.to_string()))?;
        if read != size {
            return Err(not_a_backup(format!("{} is cut short", path.display())));
        }
        entries += 1;
    }
    if entries == 0 {
        return Err(not_a_backup("it is empty".into()));
    }
    // Second pass: unpack. The database goes to a side file first and is renamed into place.
    let mut archive = archive()?;
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        if path == Path::new("cityhall.db") {
            let staged = dir.join("cityhall.db.restoring");
            entry
                .unpack(&staged)
                .with_context(|| format!("cannot write {}", staged.display()))?;
            for ext in ["-wal", "-shm"] {
                let _ = std::fs::remove_file(dir.join(format!("cityhall.db{ext}")));
            }
            std::fs::rename(&staged, &target_db)
                .with_context(|| format!("cannot replace {}", target_db.display()))?;
        } else {
            entry.unpack_in(&dir)?;
        }
    }
    if Engine::from_url(&s.database_url()) == Some(Engine::Postgres) {
        eprintln!("note: restore the PostgreSQL database itself with pg_restore.");
    }
    println!("restored {} into {}", file.display(), dir.display());
    Ok(ExitCode::SUCCESS)
}
