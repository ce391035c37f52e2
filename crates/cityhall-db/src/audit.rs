//! The audit log store: entries written inside the caller's transaction, a sealer that
//! chains them, signed checkpoints, and verification.
//!
//! Entries get their place in the chain after commit, from one sealer at a time (a row lock
//! on `audit_head`), so the chain does not serialise every write of the platform. The lag
//! between a write and its seal is bounded by the sealer's period and reported by `verify`.

use cityhall_core::audit::{checkpoint_message, digest, head_message, ChainEntry, GENESIS_HASH};
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use time::OffsetDateTime;
use tracing::instrument;

use crate::{micros, new_id, run, tx, Db, Result, Tx};

/// What happened, by whom, to what. `detail` is the change itself (JSON).
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: &'a str,
    /// The person whose personal data was changed or read, if any.
    pub subject_user_id: Option<&'a str>,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Entry {
    pub id: String,
    pub seq: Option<i64>,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub subject_user_id: Option<String>,
    pub detail: String,
    pub digest: String,
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
}

/// The outcome of walking the chain.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    pub sealed: i64,
    pub checkpoints: i64,
    pub pending: i64,
    /// Age in seconds of the oldest entry not yet sealed.
    pub oldest_pending_secs: Option<i64>,
    /// The first problem found, naming the entry.
    pub problem: Option<String>,
}

/// The audit log's storage.
pub trait AuditStore {
    /// Adds an entry inside the caller's transaction (so it commits with the change).
    async fn record(tx: &mut Tx, now: OffsetDateTime, e: NewEntry<'_>) -> Result<()>;
    /// Chains pending entries in order, signing a checkpoint every `every` entries.
    async fn seal(&self, key: &SigningKey, every: i64) -> Result<usize>;
    /// Walks the whole chain and the checkpoints.
    async fn verify(&self, key: &VerifyingKey, now: OffsetDateTime) -> Result<VerifyReport>;
    /// Entries about one person (for "who looked at my data"), newest first.
    async fn entries_for_subject(&self, user_id: &str, limit: i64) -> Result<Vec<Entry>>;
    /// The newest entries, for the auditor's page.
    async fn recent(&self, limit: i64) -> Result<Vec<Entry>>;
}

const SELECT_ENTRY: &str = "SELECT id, seq, at, actor, action, object_type, object_id, \
     subject_user_id, detail, digest, prev_hash, hash FROM audit_log";

fn chain_entry(e: &Entry, seq: i64) -> ChainEntry<'_> {
    ChainEntry {
        seq,
        id: &e.id,
        at_micros: e.at,
        actor: &e.actor,
        action: &e.action,
        object_type: &e.object_type,
        object_id: &e.object_id,
        subject_user_id: e.subject_user_id.as_deref(),
        digest: &e.digest,
    }
}

/// A short identifier of a verifying key, stored with each checkpoint.
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(&key.as_bytes()[..8])
}

impl AuditStore for Db {
    #[instrument(skip_all, fields(action = e.action))]
    async fn record(tx: &mut Tx, now: OffsetDateTime, e: NewEntry<'_>) -> Result<()> {
        let detail = e.detail.to_string();
        let dg = digest(&detail);
        let id = new_id();
        let at = micros(now);
        tx!(tx, |c| sqlx::query(
            "INSERT INTO audit_log (id, at, actor, action, object_type, object_id, \
             subject_user_id, detail, digest) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        )
        .bind(&id)
        .bind(at)
        .bind(e.actor)
        .bind(e.action)
        .bind(e.object_type)
        .bind(e.object_id)
        .bind(e.subject_user_id)
        .bind(&detail)
        .bind(&dg)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    #[instrument(skip_all)]
    async fn seal(&self, key: &SigningKey, every: i64) -> Result<usize> {
        let every = every.max(1);
        let mut tx = self.begin().await?;
        // PostgreSQL: the row lock makes one sealer at a time across replicas. SQLite has no
        // FOR UPDATE, and needs none: its single writer already serialises this transaction.
        let (mut seq, mut hash): (i64, String) = match &mut tx {
            Tx::Sqlite(t) => {
                sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
                    .fetch_one(&mut **t)
                    .await?
            }
            Tx::Postgres(t) => {
                sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE")
                    .fetch_one(&mut **t)
                    .await?
            }
        };
        let pending: Vec<Entry> = tx!(&mut tx, |c| sqlx::query_as(&format!(
            "{SELECT_ENTRY} WHERE seq IS NULL ORDER BY at, id LIMIT 1000"
        ))
        .fetch_all(c)
        .await)?;
        if pending.is_empty() {
            return Ok(0);
        }
        let kid = key_id(&key.verifying_key());
        let now = micros(OffsetDateTime::now_utc());
        for e in &pending {
            seq += 1;
            let h = chain_entry(e, seq).hash(&hash);
            tx!(&mut tx, |c| sqlx::query(
                "UPDATE audit_log SET seq = $1, prev_hash = $2, hash = $3 WHERE id = $4"
            )
            .bind(seq)
            .bind(&hash)
            .bind(&h)
            .bind(&e.id)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
            hash = h;
            if seq % every == 0 {
                let sig = key.sign(&checkpoint_message(seq, &hash));
                tx!(&mut tx, |c| sqlx::query(
                    "INSERT INTO audit_checkpoints (seq, hash, key_id, signature, at) \
                     VALUES ($1, $2, $3, $4, $5)"
                )
                .bind(seq)
                .bind(&hash)
                .bind(&kid)
                .bind(hex::encode(sig.to_bytes()))
                .bind(now)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))?;
            }
        }
        tx!(&mut tx, |c| sqlx::query(
            "UPDATE audit_head SET seq = $1, hash = $2, signature = $3 WHERE id = 1"
        )
        .bind(seq)
        .bind(&hash)
        .bind(hex::encode(key.sign(&head_message(seq, &hash)).to_bytes()))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        tx.commit().await?;
        Ok(pending.len())
    }

    #[instrument(skip_all)]
    async fn verify(&self, key: &VerifyingKey, now: OffsetDateTime) -> Result<VerifyReport> {
        let mut report = VerifyReport {
            sealed: 0,
            checkpoints: 0,
            pending: 0,
            oldest_pending_secs: None,
            problem: None,
        };
        // Walk in pages so a long log does not have to fit in memory.
        let mut expected_seq = 1i64;
        let mut prev = GENESIS_HASH.to_string();
        let mut last_seq = 0i64;
        let mut hashes_at_checkpoints = std::collections::HashMap::new();
        // The head first: everything up to it was committed with it, so the walk below sees a
        // consistent chain even while the sealer keeps extending it (entries after the head
        // are left for the next verification).
        let head: (i64, String, String) = run!(self, |c| sqlx::query_as(
            "SELECT seq, hash, signature FROM audit_head WHERE id = 1"
        )
        .fetch_one(c)
        .await)?;
        let checkpoints: Vec<(i64, String, String, String)> = run!(self, |c| {
            sqlx::query_as(
            "SELECT seq, hash, key_id, signature FROM audit_checkpoints WHERE seq <= $1 ORDER BY seq"
        )
        .bind(head.0)
        .fetch_all(c)
        .await
        })?;
        let cp_seqs: std::collections::HashSet<i64> = checkpoints.iter().map(|c| c.0).collect();
        'walk: loop {
            let page: Vec<Entry> = run!(self, |c| {
                sqlx::query_as(&format!(
                "{SELECT_ENTRY} WHERE seq IS NOT NULL AND seq > $1 AND seq <= $2 ORDER BY seq LIMIT 5000"
            ))
            .bind(last_seq)
            .bind(head.0)
            .fetch_all(c)
            .await
            })?;
            if page.is_empty() {
                break;
            }
            for e in &page {
                let seq = e.seq.unwrap_or_default();
                last_seq = seq;
                let name = format!("entry #{seq} (id {}, action {})", e.id, e.action);
                if seq != expected_seq {
                    report.problem = Some(format!(
                        "{name}: expected entry #{expected_seq} here — an entry was deleted or \
                         the order was changed"
                    ));
                    break 'walk;
                }
                if digest(&e.detail) != e.digest {
                    report.problem = Some(format!("{name}: its detail was edited"));
                    break 'walk;
                }
                if e.prev_hash.as_deref() != Some(prev.as_str()) {
                    report.problem = Some(format!(
                        "{name}: does not link to the entry before it — an entry was removed, \
                         inserted or reordered"
                    ));
                    break 'walk;
                }
                let h = chain_entry(e, seq).hash(&prev);
                if e.hash.as_deref() != Some(h.as_str()) {
                    report.problem = Some(format!("{name}: its content was edited"));
                    break 'walk;
                }
                if cp_seqs.contains(&seq) {
                    hashes_at_checkpoints.insert(seq, h.clone());
                }
                prev = h;
                expected_seq += 1;
                report.sealed += 1;
            }
        }
        if report.problem.is_none() && (head.0 != report.sealed || head.1 != prev) {
            report.problem = Some(format!(
                "the chain ends at entry #{} but the head records #{}: entries after #{} were \
                 deleted or the head was changed",
                report.sealed, head.0, report.sealed
            ));
        }
        if report.problem.is_none() {
            // One statement, so one snapshot: a sealed row past the current head was not put
            // there by the sealer.
            let beyond: Option<i64> = run!(self, |c| {
                sqlx::query_scalar(
                "SELECT MIN(seq) FROM audit_log WHERE seq > (SELECT seq FROM audit_head WHERE id = 1)"
            )
            .fetch_one(c)
            .await
            })?;
            if let Some(seq) = beyond {
                report.problem = Some(format!(
                    "entry #{seq} lies beyond the head of the chain — it was added outside the sealer"
                ));
            }
        }
        if report.problem.is_none() && head.0 > 0 {
            let sig = hex::decode(&head.2)
                .ok()
                .and_then(|b| ed25519_dalek::Signature::from_slice(&b).ok());
            if sig.is_none_or(|s| key.verify(&head_message(head.0, &head.1), &s).is_err()) {
                report.problem = Some(format!(
                    "the head of the chain (entry #{}) is not signed by the configured key — \
                     the newest entries were rewritten, or the key differs",
                    head.0
                ));
            }
        }
        if report.problem.is_none() {
            let kid = key_id(key);
            for (seq, hash, cp_kid, sig) in &checkpoints {
                let bad = |why: &str| format!("checkpoint at entry #{seq}: {why}");
                if cp_kid != &kid {
                    report.problem = Some(bad("signed by another key than the configured one"));
                    break;
                }
                let sig = hex::decode(sig)
                    .ok()
                    .and_then(|b| ed25519_dalek::Signature::from_slice(&b).ok());
                let Some(sig) = sig else {
                    report.problem = Some(bad("the signature is malformed"));
                    break;
                };
                if key.verify(&checkpoint_message(*seq, hash), &sig).is_err() {
                    report.problem = Some(bad("the signature does not match"));
                    break;
                }
                if hashes_at_checkpoints.get(seq) != Some(hash) {
                    report.problem = Some(bad(
                        "the chain no longer matches the signed hash — the log was rewritten",
                    ));
                    break;
                }
                report.checkpoints += 1;
            }
        }
        let (pending, oldest): (i64, Option<i64>) = run!(self, |c| sqlx::query_as(
            "SELECT COUNT(*), MIN(at) FROM audit_log WHERE seq IS NULL"
        )
        .fetch_one(c)
        .await)?;
        report.pending = pending;
        report.oldest_pending_secs = oldest.map(|o| ((micros(now) - o) / 1_000_000).max(0));
        Ok(report)
    }

    #[instrument(skip_all)]
    async fn entries_for_subject(&self, user_id: &str, limit: i64) -> Result<Vec<Entry>> {
        Ok(run!(self, |c| sqlx::query_as(&format!(
            "{SELECT_ENTRY} WHERE subject_user_id = $1 ORDER BY at DESC LIMIT $2"
        ))
        .bind(user_id)
        .bind(limit)
        .fetch_all(c)
        .await)?)
    }

    #[instrument(skip_all)]
    async fn recent(&self, limit: i64) -> Result<Vec<Entry>> {
        Ok(run!(self, |c| sqlx::query_as(&format!(
            "{SELECT_ENTRY} ORDER BY at DESC LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(c)
        .await)?)
    }
}

/// Records an entry in its own transaction (for reads of personal data, which change
/// nothing else).
pub async fn record_alone(db: &Db, now: OffsetDateTime, e: NewEntry<'_>) -> Result<()> {
    let mut tx = db.begin().await?;
    Db::record(&mut tx, now, e).await?;
    tx.commit().await
}
