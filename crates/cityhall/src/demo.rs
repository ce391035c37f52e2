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

/// The third set: the open-data publisher.
const OPENDATA_USERS: &[DemoUser] = &[DemoUser {
    username: "publisher",
    full_name: "Người Công Bố Thử Sở Xây dựng (demo)",
    national_id: None,
    ward: None,
    role: Role::Publisher,
    agency: Some("SOXAYDUNG"),
}];

/// The demo Open311 API key, given to a fictitious app.
pub const OPEN311_KEY: &str = "demo-open311-key";

pub async fn load(db: &Db, config: &WebConfig) -> anyhow::Result<()> {
    load_set(db, config, "demo_loaded", USERS).await?;
    load_set(db, config, "demo_opendata_users_loaded", OPENDATA_USERS).await?;
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

struct DemoReport {
    category: &'static str,
    description: &'static str,
    address: &'static str,
    lat: f64,
    lon: f64,
    /// Past its due time already (the escalation job picks it up).
    overdue: bool,
}

/// A few reports so that the public list, the map and the queues are not empty, one of them
/// overdue for the escalation job. Filed once, by `citizen2`.
const REPORTS: &[DemoReport] = &[
    DemoReport {
        category: "road-damage",
        description: "Ổ gà lớn trên đường Lê Lợi, đoạn gần chợ Bến Thành (demo)",
        address: "Đường Lê Lợi",
        lat: 10.7772,
        lon: 106.7012,
        overdue: false,
    },
    DemoReport {
        category: "sidewalk-encroachment",
        description: "Quán nước lấn hết vỉa hè, người đi bộ phải xuống lòng đường (demo)",
        address: "Đường Đồng Khởi",
        lat: 10.7790,
        lon: 106.7030,
        overdue: true,
    },
    DemoReport {
        category: "street-light",
        description: "Ba cột đèn liên tiếp không sáng vào ban đêm (demo)",
        address: "Đường Phạm Ngũ Lão",
        lat: 10.7690,
        lon: 106.6930,
        overdue: false,
    },
];

/// Files the demo reports once (their own flag), through the same rules as every channel.
pub async fn load_reports(state: &cityhall_web::AppState) -> anyhow::Result<()> {
    use cityhall_core::feedback::{Channel, Point, RawAnswers};
    use cityhall_web::feedback::service::{file, FileError, NewReport, Reporter};
    let db = &state.db;
    if db.flag("demo_reports_loaded").await?.is_some() {
        return Ok(());
    }
    let Some(owner) = db.user_by_login("citizen2").await? else {
        return Ok(());
    };
    let now = OffsetDateTime::now_utc();
    for r in REPORTS {
        let filed = file(
            state,
            now,
            NewReport {
                category: r.category.into(),
                description: r.description.into(),
                address: Some(r.address.into()),
                ward: None,
                point: Point::new(r.lat, r.lon),
                answers: RawAnswers::new(),
                photos: Vec::new(),
                reporter: Reporter {
                    user_id: Some(owner.id.clone()),
                    name: Some(owner.full_name.clone()),
                    email: None,
                    phone: None,
                },
                hide_name: true,
                channel: Channel::Web,
                filed_by: None,
                trusted: true,
                idem_key: Some(format!("demo-{}", r.category)),
            },
        )
        .await
        .map_err(|e| match e {
            FileError::Fields(f) => anyhow::anyhow!("demo report refused: {f:?}"),
            FileError::Other(e) => anyhow::anyhow!("demo report: {e:?}"),
        })?;
        if r.overdue {
            let mut row = filed.report;
            let expected = row.row_version;
            row.due_at = Some(cityhall_db::micros(now - time::Duration::minutes(5)));
            let mut tx = db.begin().await?;
            Db::update_report(&mut tx, &row, expected).await?;
            tx.commit().await?;
        }
    }
    let mut tx = db.begin().await?;
    Db::set_flag_once(&mut tx, "demo_reports_loaded", "1", now).await?;
    tx.commit().await?;
    tracing::info!(reports = REPORTS.len(), "demo reports filed");
    Ok(())
}
