//! Accounts, roles, sessions, API tokens, login throttling and password resets.
//! Secrets (passwords, session and API tokens, reset codes) arrive here already hashed.

use cityhall_core::identity::{Role, LOCKOUT_SECS, LOGIN_WINDOW_SECS, MAX_LOGIN_FAILURES};
use time::OffsetDateTime;
use tracing::instrument;

use crate::audit::{AuditStore, NewEntry};
use crate::notify::{NewMessage, NotifyStore};
use crate::{micros, new_id, run, tx, Db, Result, StoreError, Tx};

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct User {
    pub id: String,
    pub username: String,
    pub full_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    #[serde(skip)]
    pub password_hash: String,
    pub national_id_hint: Option<String>,
    pub assurance: String,
    pub ward_code: Option<String>,
    #[serde(skip)]
    pub totp_secret: Option<String>,
    pub totp_enabled: bool,
    pub disabled: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct RoleGrant {
    pub role: String,
    /// Empty when the role is not scoped to an agency.
    pub agency_code: String,
}

impl RoleGrant {
    pub fn role(&self) -> Option<Role> {
        Role::parse(&self.role).ok()
    }
}

/// A new account, with everything already parsed and hashed.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub full_name: &'a str,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub password_hash: &'a str,
    pub national_id_hash: Option<&'a str>,
    pub national_id_hint: Option<&'a str>,
    pub assurance: &'a str,
    pub ward_code: Option<&'a str>,
    pub roles: Vec<(Role, Option<&'a str>)>,
}

impl<'a> NewUser<'a> {
    /// An account with one role and nothing else known about the person yet (staff created
    /// by an admin or the CLI).
    pub fn with_role(
        username: &'a str,
        full_name: &'a str,
        password_hash: &'a str,
        role: Role,
        agency: Option<&'a str>,
    ) -> Self {
        NewUser {
            username,
            full_name,
            email: None,
            phone: None,
            password_hash,
            national_id_hash: None,
            national_id_hint: None,
            assurance: "none",
            ward_code: None,
            roles: vec![(role, agency)],
        }
    }
}

/// A personal API token as its owner sees it (the secret itself is never stored).
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// A signed-in session and who it belongs to.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub user: User,
    pub roles: Vec<RoleGrant>,
    /// The password was right but the second factor is still owed.
    pub mfa_pending: bool,
    pub expires_at: i64,
}

/// What a failed sign-in did to the throttle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttle {
    Open { failures: i64 },
    Locked { until: i64 },
}

pub trait IdentityStore {
    async fn create_user(&self, now: OffsetDateTime, actor: &str, u: NewUser<'_>)
        -> Result<String>;
    async fn user_by_id(&self, id: &str) -> Result<Option<User>>;
    /// Finds an account by username, email or phone (already normalised by the caller).
    async fn user_by_login(&self, login: &str) -> Result<Option<User>>;
    async fn user_by_national_id_hash(&self, hash: &str) -> Result<Option<User>>;
    async fn roles_of(&self, user_id: &str) -> Result<Vec<RoleGrant>>;
    /// Enabled users holding `role` for `agency`.
    async fn users_with_role(&self, role: &str, agency: &str) -> Result<Vec<User>>;
    async fn list_users(
        &self,
        query: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<(User, Vec<RoleGrant>)>>;
    async fn count_users(&self) -> Result<i64>;
    async fn grant_role(
        &self,
        now: OffsetDateTime,
        actor: &str,
        user_id: &str,
        role: Role,
        agency: Option<&str>,
    ) -> Result<bool>;
    async fn revoke_role(
        &self,
        now: OffsetDateTime,
        actor: &str,
        user_id: &str,
        role: Role,
        agency: Option<&str>,
    ) -> Result<bool>;
    async fn set_disabled(
        &self,
        now: OffsetDateTime,
        actor: &str,
        user_id: &str,
        disabled: bool,
    ) -> Result<()>;
    /// Marks a national ID verified (at a desk or by the identity provider).
    async fn verify_identity(
        &self,
        now: OffsetDateTime,
        actor: &str,
        user_id: &str,
        national_id_hash: &str,
        hint: &str,
        how: &str,
    ) -> Result<()>;
    async fn set_password(
        &self,
        now: OffsetDateTime,
        actor: &str,
        user_id: &str,
        password_hash: &str,
    ) -> Result<()>;
    async fn set_totp(
        &self,
        now: OffsetDateTime,
        user_id: &str,
        secret: Option<&str>,
        enabled: bool,
    ) -> Result<()>;

    async fn create_session(
        &self,
        now: OffsetDateTime,
        token_hash: &str,
        user_id: &str,
        ttl_secs: i64,
        mfa_pending: bool,
    ) -> Result<()>;
    async fn session(&self, now: OffsetDateTime, token_hash: &str) -> Result<Option<SessionInfo>>;
    async fn complete_mfa(&self, token_hash: &str) -> Result<()>;
    async fn delete_session(&self, token_hash: &str) -> Result<()>;

    async fn create_api_token(
        &self,
        now: OffsetDateTime,
        user_id: &str,
        token_hash: &str,
        name: &str,
        expires_at: Option<i64>,
    ) -> Result<String>;
    async fn api_token_user(
        &self,
        now: OffsetDateTime,
        token_hash: &str,
    ) -> Result<Option<SessionInfo>>;
    async fn api_tokens(&self, user_id: &str) -> Result<Vec<ApiToken>>;
    /// Revokes one of the user's own tokens; false if there was none to revoke.
    async fn revoke_api_token(
        &self,
        now: OffsetDateTime,
        user_id: &str,
        token_id: &str,
    ) -> Result<bool>;

    async fn throttle_state(&self, now: OffsetDateTime, key: &str) -> Result<Throttle>;
    async fn throttle_failure(&self, now: OffsetDateTime, key: &str) -> Result<Throttle>;
    async fn throttle_clear(&self, key: &str) -> Result<()>;

    /// Stores a reset code and queues its message in one transaction.
    async fn create_password_reset(
        &self,
        now: OffsetDateTime,
        user_id: &str,
        code_hash: &str,
        ttl_secs: i64,
        message: NewMessage<'_>,
    ) -> Result<()>;
    /// Uses a reset code: on a match sets the new password and ends every session.
    async fn use_password_reset(
        &self,
        now: OffsetDateTime,
        user_id: &str,
        code_hash: &str,
        new_password_hash: &str,
    ) -> Result<bool>;
}

const SELECT_USER: &str = "SELECT id, username, full_name, email, phone, password_hash, \
    national_id_hint, assurance, ward_code, totp_secret, totp_enabled, disabled, created_at \
    FROM users";

fn entry<'a>(
    actor: &'a str,
    action: &'a str,
    user_id: &'a str,
    detail: serde_json::Value,
) -> NewEntry<'a> {
    NewEntry {
        actor,
        action,
        object_type: "user",
        object_id: user_id,
        subject_user_id: Some(user_id),
        detail,
    }
}

impl IdentityStore for Db {
    #[instrument(skip_all)]
    async fn create_user(
        &self,
        now: OffsetDateTime,
        actor: &str,
        u: NewUser<'_>,
    ) -> Result<String> {
        let id = new_id();
        let at = micros(now);
        let mut tx = self.begin().await?;
        tx!(&mut tx, |c| sqlx::query(
            "INSERT INTO users (id, username, full_name, email, phone, password_hash, \
             national_id_hash, national_id_hint, assurance, ward_code, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)"
        )
        .bind(&id)
        .bind(u.username)
        .bind(u.full_name)
        .bind(u.email)
        .bind(u.phone)
        .bind(u.password_hash)
        .bind(u.national_id_hash)
        .bind(u.national_id_hint)
        .bind(u.assurance)
        .bind(u.ward_code)
        .bind(at)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        for (role, agency) in &u.roles {
            tx!(&mut tx, |c| sqlx::query(
                "INSERT INTO user_roles (user_id, role, agency_code, granted_by, granted_at) \
                 VALUES ($1, $2, $3, $4, $5)"
            )
            .bind(&id)
            .bind(role.as_str())
            .bind(agency.unwrap_or(""))
            .bind(actor)
            .bind(at)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        }
        let roles: Vec<String> = u
            .roles
            .iter()
            .map(|(r, a)| match a {
                Some(a) => format!("{}@{a}", r.as_str()),
                None => r.as_str().to_string(),
            })
            .collect();
        Db::record(
            &mut tx,
            now,
            entry(
                actor,
                "user.create",
                &id,
                serde_json::json!({"username": u.username, "roles": roles, "assurance": u.assurance}),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    #[instrument(skip_all)]
    async fn user_by_id(&self, id: &str) -> Result<Option<User>> {
        Ok(run!(self, |c| sqlx::query_as(&format!(
            "{SELECT_USER} WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(c)
        .await)?)
    }

    #[instrument(skip_all)]
    async fn user_by_login(&self, login: &str) -> Result<Option<User>> {
        Ok(run!(self, |c| sqlx::query_as(&format!(
            "{SELECT_USER} WHERE username = $1 OR email = $1 OR phone = $1 \
             ORDER BY CASE WHEN username = $1 THEN 0 ELSE 1 END LIMIT 1"
        ))
        .bind(login)
        .fetch_optional(c)
        .await)?)
    }

    #[instrument(skip_all)]
    async fn user_by_national_id_hash(&self, hash: &str) -> Result<Option<User>> {
        Ok(run!(self, |c| sqlx::query_as(&format!(
            "{SELECT_USER} WHERE national_id_hash = $1"
        ))
        .bind(hash)
        .fetch_optional(c)
        .await)?)
    }

    #[instrument(skip_all)]
    async fn roles_of(&self, user_id: &str) -> Result<Vec<RoleGrant>> {
        Ok(run!(self, |c| {
            sqlx::query_as(
            "SELECT role, agency_code FROM user_roles WHERE user_id = $1 ORDER BY role, agency_code"
        )
        .bind(user_id)
        .fetch_all(c)
        .await
        })?)
    }

    async fn users_with_role(&self, role: &str, agency: &str) -> Result<Vec<User>> {
        Ok(run!(self, |c| sqlx::query_as(&format!(
            "{SELECT_USER} WHERE disabled = FALSE AND id IN (SELECT user_id FROM user_roles \
             WHERE role = $1 AND agency_code = $2) ORDER BY username"
        ))
        .bind(role)
        .bind(agency)
        .fetch_all(c)
        .await)?)
    }

    #[instrument(skip_all)]
    async fn list_users(
        &self,
        query: &str,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<(User, Vec<RoleGrant>)>> {
        let pattern = format!("%{}%", query.trim().to_lowercase());
        let users: Vec<User> = run!(self, |c| sqlx::query_as(&format!(
            "{SELECT_USER} WHERE LOWER(username) LIKE $1 OR LOWER(full_name) LIKE $1 \
             OR COALESCE(email, '') LIKE $1 OR COALESCE(phone, '') LIKE $1 \
             ORDER BY username LIMIT $2 OFFSET $3"
        ))
        .bind(&pattern)
        .bind(limit)
        .bind(offset)
        .fetch_all(c)
        .await)?;
        let mut out = Vec::with_capacity(users.len());
        for u in users {
            let roles = self.roles_of(&u.id).await?;
            out.push((u, roles));
        }
        Ok(out)
    }

    async fn count_users(&self) -> Result<i64> {
        Ok(run!(self, |c| sqlx::query_scalar(
            "SELECT COUNT(*) FROM users"
        )
        .fetch_one(c)
        .await)?)
    }

    #[instrument(skip_all)]
    async fn grant_role(
        &self,
        now: OffsetDateTime,
        actor: &str,
        user_id: &str,
        role: Role,
        agency: Option<&str>,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let n = tx!(&mut tx, |c| sqlx::query(
            "INSERT INTO user_roles (user_id, role, agency_code, granted_by, granted_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, role, agency_code) DO NOTHING"
        )
        .bind(user_id)
        .bind(role.as_str())
        .bind(agency.unwrap_or(""))
        .bind(actor)
        .bind(micros(now))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        if n == 1 {
            Db::record(
                &mut tx,
                now,
                entry(
                    actor,
                    "user.role.grant",
                    user_id,
                    serde_json::json!({"role": role.as_str(), "agency": agency}),
                ),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }

    #[instrument(skip_all)]
    async fn revoke_role(
        &self,
        now: OffsetDateTime,
        actor: &str,
        user_id: &str,
        role: Role,
        agency: Option<&str>,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let n = tx!(&mut tx, |c| sqlx::query(
            "DELETE FROM user_roles WHERE user_id = $1 AND role = $2 AND agency_code = $3"
        )
        .bind(user_id)
        .bind(role.as_str())
        .bind(agency.unwrap_or(""))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        if n == 1 {
            Db::record(
                &mut tx,
                now,
                entry(
                    actor,
                    "user.role.revoke",
                    user_id,
                    serde_json::json!({"role": role.as_str(), "agency": agency}),
                ),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }

    #[instrument(skip_all)]
    async fn set_disabled(
        &self,
        now: OffsetDateTime,
        actor: &str,
        user_id: &str,
        disabled: bool,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let n = tx!(&mut tx, |c| sqlx::query(
            "UPDATE users SET disabled = $1, updated_at = $2 WHERE id = $3"
        )
        .bind(disabled)
        .bind(micros(now))
        .bind(user_id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        if disabled {
            tx!(&mut tx, |c| sqlx::query(
                "DELETE FROM sessions WHERE user_id = $1"
            )
            .bind(user_id)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        }
        let action = if disabled {
            "user.disable"
        } else {
            "user.enable"
        };
        Db::record(
            &mut tx,
            now,
            entry(actor, action, user_id, serde_json::json!({})),
        )
        .await?;
        tx.commit().await
    }

    #[instrument(skip_all)]
    async fn verify_identity(
        &self,
        now: OffsetDateTime,
        actor: &str,
        user_id: &str,
        national_id_hash: &str,
        hint: &str,
        how: &str,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let n = tx!(&mut tx, |c| {
            sqlx::query(
            "UPDATE users SET national_id_hash = $1, national_id_hint = $2, assurance = 'verified', \
             verified_by = $3, verified_at = $4, updated_at = $4 WHERE id = $5"
        )
        .bind(national_id_hash)
        .bind(hint)
        .bind(actor)
        .bind(micros(now))
        .bind(user_id)
        .execute(c)
        .await.map(|r| r.rows_affected())
        })?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Db::record(
            &mut tx,
            now,
            entry(
                actor,
                "user.identity.verify",
                user_id,
                serde_json::json!({"how": how}),
            ),
        )
        .await?;
        tx.commit().await
    }

    #[instrument(skip_all)]
    async fn set_password(
        &self,
        now: OffsetDateTime,
        actor: &str,
        user_id: &str,
        password_hash: &str,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        set_password_in(&mut tx, now, actor, user_id, password_hash).await?;
        tx.commit().await
    }

    #[instrument(skip_all)]
    async fn set_totp(
        &self,
        now: OffsetDateTime,
        user_id: &str,
        secret: Option<&str>,
        enabled: bool,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        tx!(&mut tx, |c| sqlx::query(
            "UPDATE users SET totp_secret = $1, totp_enabled = $2, updated_at = $3 WHERE id = $4"
        )
        .bind(secret)
        .bind(enabled)
        .bind(micros(now))
        .bind(user_id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        if enabled || secret.is_none() {
            let action = if enabled {
                "user.totp.enable"
            } else {
                "user.totp.disable"
            };
            Db::record(
                &mut tx,
                now,
                entry(user_id, action, user_id, serde_json::json!({})),
            )
            .await?;
        }
        tx.commit().await
    }

    #[instrument(skip_all)]
    async fn create_session(
        &self,
        now: OffsetDateTime,
        token_hash: &str,
        user_id: &str,
        ttl_secs: i64,
        mfa_pending: bool,
    ) -> Result<()> {
        let at = micros(now);
        let mut tx = self.begin().await?;
        // Housekeeping rides along: expired sessions of this user go.
        tx!(&mut tx, |c| sqlx::query(
            "DELETE FROM sessions WHERE user_id = $1 AND expires_at < $2"
        )
        .bind(user_id)
        .bind(at)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        tx!(&mut tx, |c| sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, mfa_pending) \
             VALUES ($1, $2, $3, $4, $5)"
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(at)
        .bind(at + ttl_secs * 1_000_000)
        .bind(mfa_pending)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        if !mfa_pending {
            Db::record(
                &mut tx,
                now,
                entry(user_id, "user.login", user_id, serde_json::json!({})),
            )
            .await?;
        }
        tx.commit().await
    }

    #[instrument(skip_all)]
    async fn session(&self, now: OffsetDateTime, token_hash: &str) -> Result<Option<SessionInfo>> {
        let row: Option<(String, bool, i64)> = run!(self, |c| {
            sqlx::query_as(
            "SELECT user_id, mfa_pending, expires_at FROM sessions WHERE token_hash = $1 AND expires_at > $2"
        )
        .bind(token_hash)
        .bind(micros(now))
        .fetch_optional(c)
        .await
        })?;
        let Some((user_id, mfa_pending, expires_at)) = row else {
            return Ok(None);
        };
        let Some(user) = self.user_by_id(&user_id).await? else {
            return Ok(None);
        };
        if user.disabled {
            return Ok(None);
        }
        let roles = self.roles_of(&user.id).await?;
        Ok(Some(SessionInfo {
            user,
            roles,
            mfa_pending,
            expires_at,
        }))
    }

    async fn complete_mfa(&self, token_hash: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let user_id: Option<String> = tx!(&mut tx, |c| sqlx::query_scalar(
            "UPDATE sessions SET mfa_pending = FALSE WHERE token_hash = $1 RETURNING user_id"
        )
        .bind(token_hash)
        .fetch_optional(c)
        .await)?;
        if let Some(uid) = user_id {
            Db::record(
                &mut tx,
                OffsetDateTime::now_utc(),
                entry(&uid, "user.login", &uid, serde_json::json!({"mfa": true})),
            )
            .await?;
        }
        tx.commit().await
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        tx!(&mut tx, |c| sqlx::query(
            "DELETE FROM sessions WHERE token_hash = $1"
        )
        .bind(token_hash)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        tx.commit().await
    }

    #[instrument(skip_all)]
    async fn create_api_token(
        &self,
        now: OffsetDateTime,
        user_id: &str,
        token_hash: &str,
        name: &str,
        expires_at: Option<i64>,
    ) -> Result<String> {
        let id = new_id();
        let mut tx = self.begin().await?;
        tx!(&mut tx, |c| sqlx::query(
            "INSERT INTO api_tokens (id, user_id, token_hash, name, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)"
        )
        .bind(&id)
        .bind(user_id)
        .bind(token_hash)
        .bind(name)
        .bind(micros(now))
        .bind(expires_at)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        Db::record(
            &mut tx,
            now,
            entry(
                user_id,
                "user.token.create",
                user_id,
                serde_json::json!({"token_id": id, "name": name}),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    #[instrument(skip_all)]
    async fn api_token_user(
        &self,
        now: OffsetDateTime,
        token_hash: &str,
    ) -> Result<Option<SessionInfo>> {
        let at = micros(now);
        let row: Option<(String, Option<i64>)> = run!(self, |c| {
            sqlx::query_as(
            "SELECT user_id, expires_at FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL \
             AND (expires_at IS NULL OR expires_at > $2)"
        )
        .bind(token_hash)
        .bind(at)
        .fetch_optional(c)
        .await
        })?;
        let Some((user_id, expires_at)) = row else {
            return Ok(None);
        };
        let Some(user) = self.user_by_id(&user_id).await? else {
            return Ok(None);
        };
        if user.disabled {
            return Ok(None);
        }
        let roles = self.roles_of(&user.id).await?;
        Ok(Some(SessionInfo {
            user,
            roles,
            mfa_pending: false,
            expires_at: expires_at.unwrap_or(i64::MAX),
        }))
    }

    #[instrument(skip_all)]
    async fn api_tokens(&self, user_id: &str) -> Result<Vec<ApiToken>> {
        Ok(run!(self, |c| sqlx::query_as(
            "SELECT id, name, created_at, expires_at, revoked_at FROM api_tokens \
             WHERE user_id = $1 ORDER BY created_at DESC"
        )
        .bind(user_id)
        .fetch_all(c)
        .await)?)
    }

    #[instrument(skip_all)]
    async fn revoke_api_token(
        &self,
        now: OffsetDateTime,
        user_id: &str,
        token_id: &str,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let n = tx!(&mut tx, |c| {
            sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL"
        )
        .bind(micros(now))
        .bind(token_id)
        .bind(user_id)
        .execute(c)
        .await
        .map(|r| r.rows_affected())
        })?;
        if n == 1 {
            Db::record(
                &mut tx,
                now,
                entry(
                    user_id,
                    "user.token.revoke",
                    user_id,
                    serde_json::json!({"token_id": token_id}),
                ),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }

    #[instrument(skip_all)]
    async fn throttle_state(&self, now: OffsetDateTime, key: &str) -> Result<Throttle> {
        let row: Option<(i64, i64, Option<i64>)> = run!(self, |c| sqlx::query_as(
            "SELECT failures, window_start, locked_until FROM login_throttle WHERE key = $1"
        )
        .bind(key)
        .fetch_optional(c)
        .await)?;
        let at = micros(now);
        Ok(match row {
            Some((_, _, Some(until))) if until > at => Throttle::Locked { until },
            Some((failures, start, _)) if at - start < LOGIN_WINDOW_SECS * 1_000_000 => {
                Throttle::Open { failures }
            }
            _ => Throttle::Open { failures: 0 },
        })
    }

    #[instrument(skip_all)]
    async fn throttle_failure(&self, now: OffsetDateTime, key: &str) -> Result<Throttle> {
        let at = micros(now);
        let window = LOGIN_WINDOW_SECS * 1_000_000;
        let mut tx = self.begin().await?;
        // One statement, so two replicas counting the same key cannot lose a failure.
        let (failures, locked_until): (i64, Option<i64>) = tx!(&mut tx, |c| {
            sqlx::query_as(
            "INSERT INTO login_throttle (key, failures, window_start, locked_until) VALUES ($1, 1, $2, NULL) \
             ON CONFLICT (key) DO UPDATE SET \
               failures = CASE WHEN $2 - login_throttle.window_start >= $3 THEN 1 ELSE login_throttle.failures + 1 END, \
               window_start = CASE WHEN $2 - login_throttle.window_start >= $3 THEN $2 ELSE login_throttle.window_start END \
             RETURNING failures, locked_until"
        )
        .bind(key)
        .bind(at)
        .bind(window)
        .fetch_one(c)
        .await
        })?;
        let result = if failures >= MAX_LOGIN_FAILURES {
            let until = locked_until
                .filter(|u| *u > at)
                .unwrap_or(at + LOCKOUT_SECS * 1_000_000);
            tx!(&mut tx, |c| {
                sqlx::query(
                "UPDATE login_throttle SET locked_until = $1, failures = 0, window_start = $2 WHERE key = $3"
            )
            .bind(until)
            .bind(at)
            .bind(key)
            .execute(c)
            .await.map(|r| r.rows_affected())
            })?;
            Db::record(
                &mut tx,
                now,
                NewEntry {
                    actor: "system",
                    action: "login.lockout",
                    object_type: "login",
                    object_id: key,
                    subject_user_id: None,
                    detail: serde_json::json!({"until": until}),
                },
            )
            .await?;
            Throttle::Locked { until }
        } else {
            Throttle::Open { failures }
        };
        tx.commit().await?;
        Ok(result)
    }

    async fn throttle_clear(&self, key: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        tx!(&mut tx, |c| sqlx::query(
            "DELETE FROM login_throttle WHERE key = $1"
        )
        .bind(key)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        tx.commit().await
    }

    #[instrument(skip_all)]
    async fn create_password_reset(
        &self,
        now: OffsetDateTime,
        user_id: &str,
        code_hash: &str,
        ttl_secs: i64,
        message: NewMessage<'_>,
    ) -> Result<()> {
        let at = micros(now);
        let mut tx = self.begin().await?;
        // A new code replaces any earlier one.
        tx!(&mut tx, |c| sqlx::query(
            "DELETE FROM password_resets WHERE user_id = $1"
        )
        .bind(user_id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        tx!(&mut tx, |c| {
            sqlx::query(
            "INSERT INTO password_resets (id, user_id, code_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)"
        )
        .bind(new_id())
        .bind(user_id)
        .bind(code_hash)
        .bind(at)
        .bind(at + ttl_secs * 1_000_000)
        .execute(c)
        .await.map(|r| r.rows_affected())
        })?;
        Db::enqueue(&mut tx, now, message).await?;
        Db::record(
            &mut tx,
            now,
            entry(
                "system",
                "user.password.reset_requested",
                user_id,
                serde_json::json!({}),
            ),
        )
        .await?;
        tx.commit().await
    }

    #[instrument(skip_all)]
    async fn use_password_reset(
        &self,
        now: OffsetDateTime,
        user_id: &str,
        code_hash: &str,
        new_password_hash: &str,
    ) -> Result<bool> {
        let at = micros(now);
        let mut tx = self.begin().await?;
        let row: Option<(String, String, i64)> = tx!(&mut tx, |c| sqlx::query_as(
            "SELECT id, code_hash, attempts FROM password_resets \
             WHERE user_id = $1 AND used_at IS NULL AND expires_at > $2"
        )
        .bind(user_id)
        .bind(at)
        .fetch_optional(c)
        .await)?;
        let Some((id, stored, attempts)) = row else {
            return Ok(false);
        };
        // Five wrong guesses burn the code.
        if attempts >= 5 || stored != code_hash {
            tx!(&mut tx, |c| sqlx::query(
                "UPDATE password_resets SET attempts = attempts + 1 WHERE id = $1"
            )
            .bind(&id)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
            tx.commit().await?;
            return Ok(false);
        }
        tx!(&mut tx, |c| sqlx::query(
            "UPDATE password_resets SET used_at = $1 WHERE id = $2"
        )
        .bind(at)
        .bind(&id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        set_password_in(&mut tx, now, user_id, user_id, new_password_hash).await?;
        tx.commit().await?;
        Ok(true)
    }
}

async fn set_password_in(
    tx: &mut Tx,
    now: OffsetDateTime,
    actor: &str,
    user_id: &str,
    password_hash: &str,
) -> Result<()> {
    let n = tx!(tx, |c| sqlx::query(
        "UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3"
    )
    .bind(password_hash)
    .bind(micros(now))
    .bind(user_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    // A changed password ends every session.
    tx!(tx, |c| sqlx::query(
        "DELETE FROM sessions WHERE user_id = $1"
    )
    .bind(user_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Db::record(
        tx,
        now,
        entry(actor, "user.password.set", user_id, serde_json::json!({})),
    )
    .await
}
