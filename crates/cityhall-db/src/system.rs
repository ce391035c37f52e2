//! Small facts about the installation itself, e.g. whether the demo data was loaded.

use time::OffsetDateTime;

use crate::{micros, run, tx, Db, Result, Tx};

pub trait SystemStore {
    async fn flag(&self, name: &str) -> Result<Option<String>>;
    /// Sets a flag inside the caller's transaction; returns false if it was already set.
    async fn set_flag_once(
        tx: &mut Tx,
        name: &str,
        value: &str,
        now: OffsetDateTime,
    ) -> Result<bool>;
}

impl SystemStore for Db {
    async fn flag(&self, name: &str) -> Result<Option<String>> {
        Ok(run!(self, |c| sqlx::query_scalar(
            "SELECT value FROM system_flags WHERE name = $1"
        )
        .bind(name)
        .fetch_optional(c)
        .await)?)
    }

    async fn set_flag_once(
        tx: &mut Tx,
        name: &str,
        value: &str,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let n = tx!(tx, |c| sqlx::query(
            "INSERT INTO system_flags (name, value, at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING"
        )
        .bind(name)
        .bind(value)
        .bind(micros(now))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }
}
