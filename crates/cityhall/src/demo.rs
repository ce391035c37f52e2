//! Demo data (`serve --demo`): fictitious accounts with the password `cityhall-demo`,
//! created once and kept; a flag records that the set was loaded, so an admin's later
//! changes to these accounts are not undone at the next start.

use cityhall_core::identity::{NationalId, Role};
use cityhall_db::identity::NewUser;
use cityhall_db::{AuditStore, Db, IdentityStore, SystemStore};
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

pub async fn load(db: &Db, config: &WebConfig) -> anyhow::Result<()> {
    if db.flag("demo_loaded").await?.is_some() {
        return Ok(());
    }
    let hash = cityhall_web::auth::hash_password(PASSWORD)?;
    let now = OffsetDateTime::now_utc();
    let mut created = 0;
    for u in USERS {
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
    Db::set_flag_once(&mut tx, "demo_loaded", "1", now).await?;
    tx.commit().await?;
    db.seal(&config.audit_key, config.checkpoint_every).await?;
    tracing::info!(created, "demo accounts ready (password {PASSWORD})");
    Ok(())
}
