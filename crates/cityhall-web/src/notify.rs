//! The outbox worker: claims due messages and delivers them by email (SMTP relay) or SMS
//! (an HTTP webhook the city's SMS gateway provides), with retries and backoff kept in the
//! database. Without a configured channel, messages are written to the log (development).

use std::time::Duration;

use cityhall_db::notify::Message;
use cityhall_db::NotifyStore;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use time::OffsetDateTime;

use crate::{AppState, SmtpConfig, SmtpTls};

fn smtp_transport(c: &SmtpConfig) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    type T = AsyncSmtpTransport<Tokio1Executor>;
    let b = match c.tls {
        SmtpTls::None => T::builder_dangerous(&c.host),
        SmtpTls::StartTls => T::starttls_relay(&c.host)?,
        SmtpTls::Tls => T::relay(&c.host)?,
    };
    let mut b = b.port(c.port).timeout(Some(Duration::from_secs(20)));
    if let (Some(u), Some(p)) = (&c.username, &c.password) {
        b = b.credentials(Credentials::new(u.clone(), p.clone()));
    }
    Ok(b.build())
}

async fn deliver(state: &AppState, http: &reqwest::Client, m: &Message) -> anyhow::Result<()> {
    match m.channel.as_str() {
        "email" => {
            let Some(c) = &state.config.smtp else {
                tracing::info!(to = %m.recipient, subject = %m.subject, body = %m.body, "email (no SMTP relay configured)");
                return Ok(());
            };
            let email = lettre::Message::builder()
                .from(c.from.parse()?)
                .to(m.recipient.parse()?)
                .subject(m.subject.clone())
                .header(ContentType::TEXT_PLAIN)
                .body(m.body.clone())?;
            smtp_transport(c)?.send(email).await?;
            Ok(())
        }
        "sms" => {
            let Some(url) = &state.config.sms_webhook else {
                tracing::info!(to = %m.recipient, body = %m.body, "sms (no SMS webhook configured)");
                return Ok(());
            };
            let res = http
                .post(url)
                .json(&serde_json::json!({"to": m.recipient, "text": m.body, "id": m.id}))
                .send()
                .await?;
            if !res.status().is_success() {
                anyhow::bail!("SMS gateway answered {}", res.status());
            }
            Ok(())
        }
        other => anyhow::bail!("unknown channel {other}"),
    }
}

/// Delivers what is due once; returns how many were handled.
pub async fn deliver_due(state: &AppState, http: &reqwest::Client) -> anyhow::Result<usize> {
    let batch = state.db.claim(OffsetDateTime::now_utc(), 20, 120).await?;
    for m in &batch {
        match deliver(state, http, m).await {
            Ok(()) => state.db.mark_sent(OffsetDateTime::now_utc(), &m.id).await?,
            Err(e) => {
                tracing::warn!(id = %m.id, attempts = m.attempts, error = %e, "delivery failed");
                state
                    .db
                    .mark_failed(OffsetDateTime::now_utc(), &m.id, &e.to_string())
                    .await?;
            }
        }
    }
    Ok(batch.len())
}

pub async fn run_worker(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap_or_default();
    loop {
        match deliver_due(&state, &http).await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "outbox worker"),
        }
        tokio::select! {
            _ = tokio::time::sleep(state.config.outbox_interval) => {}
            _ = stop.changed() => return,
        }
    }
}
