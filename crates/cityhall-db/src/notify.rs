//! The transactional outbox: a message is queued in the same transaction as the change that
//! causes it; a worker on any replica claims due messages, delivers them and records the
//! outcome. A claim is a lease (`locked_until`), so a crashed worker's messages come back.

use time::OffsetDateTime;
use tracing::instrument;

use crate::{micros, new_id, run, tx, Db, Result, Tx};

/// The channel a message goes out on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub channel: Channel,
    pub recipient: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Message {
    pub id: String,
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub attempts: i64,
}

/// Outbox counts, for `/metrics` and the operator.
#[derive(Debug, Clone, Default)]
pub struct OutboxStats {
    pub queued: i64,
    pub sent: i64,
    pub failed: i64,
}

/// Attempts before a message is given up as failed.
pub const MAX_ATTEMPTS: i64 = 10;

/// The wait before attempt `n + 1`: 30 s doubling, at most 1 h.
pub fn backoff_secs(attempts: i64) -> i64 {
    (30i64 << attempts.clamp(0, 7)).min(3600)
}

pub trait NotifyStore {
    async fn enqueue(tx: &mut Tx, now: OffsetDateTime, m: NewMessage<'_>) -> Result<String>;
    /// Claims up to `limit` due messages for `lease_secs`; no two workers get the same one.
    async fn claim(&self, now: OffsetDateTime, limit: i64, lease_secs: i64)
        -> Result<Vec<Message>>;
    async fn mark_sent(&self, now: OffsetDateTime, id: &str) -> Result<()>;
    async fn mark_failed(&self, now: OffsetDateTime, id: &str, error: &str) -> Result<()>;
    async fn outbox_stats(&self) -> Result<OutboxStats>;
}

impl NotifyStore for Db {
    #[instrument(skip_all, fields(channel = m.channel.as_str()))]
    async fn enqueue(tx: &mut Tx, now: OffsetDateTime, m: NewMessage<'_>) -> Result<String> {
        let id = new_id();
        let at = micros(now);
        tx!(tx, |c| {
            sqlx::query(
            "INSERT INTO outbox (id, channel, recipient, subject, body, created_at, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)"
        )
        .bind(&id)
        .bind(m.channel.as_str())
        .bind(m.recipient)
        .bind(m.subject)
        .bind(m.body)
        .bind(at)
        .execute(c)
        .await.map(|r| r.rows_affected())
        })?;
        Ok(id)
    }

    #[instrument(skip_all)]
    async fn claim(
        &self,
        now: OffsetDateTime,
        limit: i64,
        lease_secs: i64,
    ) -> Result<Vec<Message>> {
        let at = micros(now);
        let until = at + lease_secs * 1_000_000;
        let mut tx = self.begin().await?;
        // PostgreSQL: SKIP LOCKED lets replicas claim disjoint messages without waiting on each
        // other. SQLite has no row locks; its single writer already makes the claim exclusive.
        let due = "sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1 \
                   AND (locked_until IS NULL OR locked_until <= $1)";
        let ids: Vec<String> = match &mut tx {
            Tx::Postgres(t) => sqlx::query_scalar(&format!(
                "SELECT id FROM outbox WHERE {due} ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED"
            ))
            .bind(at)
            .bind(limit)
            .fetch_all(&mut **t)
            .await?,
            Tx::Sqlite(t) => sqlx::query_scalar(&format!(
                "SELECT id FROM outbox WHERE {due} ORDER BY next_attempt_at LIMIT $2"
            ))
            .bind(at)
            .bind(limit)
            .fetch_all(&mut **t)
            .await?,
        };
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let m: Message = tx!(&mut tx, |c| sqlx::query_as(
                "UPDATE outbox SET locked_until = $1, attempts = attempts + 1 WHERE id = $2 \
                 RETURNING id, channel, recipient, subject, body, attempts"
            )
            .bind(until)
            .bind(&id)
            .fetch_one(c)
            .await)?;
            out.push(m);
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn mark_sent(&self, now: OffsetDateTime, id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        tx!(&mut tx, |c| sqlx::query(
            "UPDATE outbox SET sent_at = $1, locked_until = NULL, last_error = NULL WHERE id = $2"
        )
        .bind(micros(now))
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        tx.commit().await
    }

    async fn mark_failed(&self, now: OffsetDateTime, id: &str, error: &str) -> Result<()> {
        let at = micros(now);
        let mut tx = self.begin().await?;
        let attempts: i64 = tx!(&mut tx, |c| sqlx::query_scalar(
            "SELECT attempts FROM outbox WHERE id = $1"
        )
        .bind(id)
        .fetch_one(c)
        .await)?;
        let failed_at = (attempts >= MAX_ATTEMPTS).then_some(at);
        tx!(&mut tx, |c| {
            sqlx::query(
            "UPDATE outbox SET locked_until = NULL, last_error = $1, next_attempt_at = $2, failed_at = $3 \
             WHERE id = $4"
        )
        .bind(error)
        .bind(at + backoff_secs(attempts) * 1_000_000)
        .bind(failed_at)
        .bind(id)
        .execute(c)
        .await.map(|r| r.rows_affected())
        })?;
        tx.commit().await
    }

    async fn outbox_stats(&self) -> Result<OutboxStats> {
        let (queued, sent, failed): (i64, i64, i64) = run!(self, |c| {
            sqlx::query_as(
            "SELECT \
               COALESCE(SUM(CASE WHEN sent_at IS NULL AND failed_at IS NULL THEN 1 ELSE 0 END), 0), \
               COALESCE(SUM(CASE WHEN sent_at IS NOT NULL THEN 1 ELSE 0 END), 0), \
               COALESCE(SUM(CASE WHEN failed_at IS NOT NULL THEN 1 ELSE 0 END), 0) FROM outbox"
        )
        .fetch_one(c)
        .await
        })?;
        Ok(OutboxStats {
            queued,
            sent,
            failed,
        })
    }
}
