//! Demo data (`serve --demo`): fictitious accounts with the password `cityhall-demo`, and
//! the Open311 key `demo-open311-key`, created once and kept. A flag per set records that
//! the set was loaded, so an admin's later changes are not undone at the next start, and a
//! set added in a later version still reaches an existing demo database.

use cityhall_core::identity::{NationalId, Role};
use cityhall_db::feedback::Open311KeyRow;
use cityhall_db::identity::NewUser;
use cityhall_db::{AuditStore, Db, FeedbackStore, IdentityStore, SystemStore};
use cityhall_web::WebConfig;
use time::OffsetDateTime;

pub const PASSWORD: &str = "cityhall-demo";

struct DemoUser {
    username: &'static str,
    full_name: &'static str,
    national_id: Option<&'static str>,
    ward: Option<&'static str>,
    role: Role,
    agency: Option<&'static str>,
}

/// The first set.
const USERS: &[DemoUser] = &[
    DemoUser {
        username: "citizen1",
        full_name: "Công Dân Thử Một (demo)",
        national_id: Some("079090000001"),
        ward: Some("26740"),
        role: Role::Citizen,
        agency: None,
    },
    DemoUser {
        username: "citizen2",
        full_name: "Công Dân Thử Hai (demo)",
        national_id: Some("079195000002"),
        ward: Some("26743"),
        role: Role::Citizen,
        agency: None,
    },
    DemoUser {
        username: "officer.tuphap",
        full_name: "Cán Bộ Thử Tư Pháp (demo)",
        national_id: None,
        ward: None,
        role: Role::Officer,
        agency: Some("SOTUPHAP"),
    },
    DemoUser {
        username: "officer.phuongsaigon",
        full_name: "Cán Bộ Thử Sài Gòn (demo)",
        national_id: None,
        ward: None,
        role: Role::Officer,
        agency: Some("UBND-26740"),
    },
    DemoUser {
        username: "officer.phuongbenthanh",
        full_name: "Cán Bộ Thử Bến Thành (demo)",
        national_id: None,
        ward: None,
        role: Role::Officer,
        agency: Some("UBND-26743"),
    },
    DemoUser {
        username: "admin",
        full_name: "Quản Trị Thử (demo)",
        national_id: None,
        ward: None,
        role: Role::CityAdmin,
        agency: None,
    },
    DemoUser {
        username: "auditor",
        full_name: "Kiểm Toán Thử (demo)",
        national_id: None,
        ward: None,
        role: Role::Auditor,
        agency: None,
    },
];

/// The second set: the feedback roles.
const FEEDBACK_USERS: &[DemoUser] = &[
    DemoUser {
        username: "operator",
        full_name: "Điện Thoại Viên Thử 1022 (demo)",
        national_id: None,
        ward: None,
        role: Role::Operator,
        agency: None,
    },
    DemoUser {
        username: "supervisor.phuongsaigon",
        full_name: "Lãnh Đạo Thử Sài Gòn (demo)",
        national_id: None,
        ward: None,
        role: Role::Supervisor,
        agency: Some("UBND-26740"),
    },
];

/// The demo Open311 API key, given to a fictitious app.
pub const OPEN311_KEY: &str = "demo-open311-key";

pub async fn load(db: &Db, config: &WebConfig) -> anyhow::Result<()> {
    load_set(db, config, "demo_loaded", USERS).await?;
    if load_set(db, config, "demo_feedback_loaded", FEEDBACK_USERS).await? {
        let now = OffsetDateTime::now_utc();
        let key_hash = cityhall_web::auth::hash_token(OPEN311_KEY);
        if db.open311_key(&key_hash).await?.is_none() {
            let mut tx = db.begin().await?;
            Db::insert_open311_key(
                &mut tx,
                &Open311KeyRow {
                    id: cityhall_db::new_id(),
                    name: "Ứng dụng thử (demo app)".into(),
                    created_at: cityhall_db::micros(now),
                    created_by: Some("demo".into()),
                    revoked_at: None,
                },
                &key_hash,
            )
            .await?;
            tx.commit().await?;
        }
    }
    Ok(())
}

/// Creates the accounts of one set unless its flag is set; `true` when it ran.
async fn load_set(
    db: &Db,
    config: &WebConfig,
    flag: &str,
    users: &[DemoUser],
) -> anyhow::Result<bool> {
    if db.flag(flag).await?.is_some() {
        return Ok(false);
    }
    let hash = cityhall_web::auth::hash_password(PASSWORD)?;
    let now = OffsetDateTime::now_utc();
    let mut created = 0;
    for u in users {
        if db.user_by_login(u.username).await?.is_some() {
            continue;
        }
        let nid = u
            .national_id
            .map(|n| NationalId::parse(n).expect("demo IDs are valid"));
        let nid_hash = nid
            .as_ref()
            .map(|n| cityhall_web::auth::keyed_hash(&config.secret_key, n.as_str()));
        let hint = nid.as_ref().map(|n| n.hint());
        db.create_user(
            now,
            "demo",
            NewUser {
                username: u.username,
                full_name: u.full_name,
                email: None,
                phone: None,
                password_hash: &hash,
                national_id_hash: nid_hash.as_deref(),
                national_id_hint: hint.as_deref(),
                assurance: if nid.is_some() { "verified" } else { "none" },
                ward_code: u.ward,
                roles: vec![(u.role, u.agency)],
            },
        )
        .await?;
        created += 1;
    }
    let mut tx = db.begin().await?;
    Db::set_flag_once(&mut tx, flag, "1", now).await?;
    tx.commit().await?;
    db.seal(&config.audit_key, config.checkpoint_every).await?;
    tracing::info!(created, flag, "demo accounts ready (password {PASSWORD})");
    Ok(true)
}
