//! Feedback rules shared by every channel, on both engines: filing (routing, ward from the
//! point, outside the city, photos without metadata, confirmation), the unit's and the
//! reporter's actions with conflicts, and the escalation and closing sweep.

mod common;

use cityhall_core::feedback::{Actor, Channel, Point, RawAnswers};
use cityhall_core::identity::Role;
use cityhall_db::{from_micros, AuditStore, BlobBackend, FeedbackStore};
use cityhall_web::feedback::service::{
    self, act, file, FileError, NewReport, ReportAction, Reporter, Who,
};
use common::*;
use time::OffsetDateTime;

fn report(category: &str, point: Option<Point>, ward: Option<&str>) -> NewReport {
    NewReport {
        category: category.into(),
        description: "Lấn chiếm vỉa hè bán hàng trước số 12 Lê Lợi".into(),
        address: Some("12 Lê Lợi".into()),
        ward: ward.map(Into::into),
        point,
        answers: RawAnswers::new(),
        photos: vec![],
        reporter: Reporter::default(),
        hide_name: false,
        channel: Channel::Web,
        filed_by: None,
        trusted: false,
        idem_key: None,
    }
}

fn jpeg_with_gps() -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8];
    let seg = |v: &mut Vec<u8>, marker: u8, body: &[u8]| {
        v.extend([0xFF, marker]);
        v.extend(u16::try_from(body.len() + 2).unwrap().to_be_bytes());
        v.extend(body);
    };
    seg(&mut v, 0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    seg(&mut v, 0xE1, b"Exif\0\0GPSLatitude=10.7769");
    seg(&mut v, 0xDB, &[0u8; 65]);
    seg(&mut v, 0xDA, &[1, 1, 0, 0, 0x3F, 0]);
    v.extend([0x12, 0x34, 0xFF, 0xD9]);
    v
}

fn fields(e: FileError) -> Vec<(String, &'static str)> {
    match e {
        FileError::Fields(f) => f,
        FileError::Other(e) => panic!("{e:?}"),
    }
}

web_test!(filing_routing_and_confirmation, |engine| async move {
    let Some(s) = start(engine, |c| c.blobs = BlobBackend::Database).await else {
        return;
    };
    let now = OffsetDateTime::now_utc();
    let resident = s.user("dan", Role::Citizen, None).await;

    // A point near Bến Thành market finds its ward; the ward's committee gets it.
    let mut r = report("sidewalk-encroachment", Point::new(10.7725, 106.6980), None);
    r.reporter.user_id = Some(resident.clone());
    r.photos = vec![jpeg_with_gps()];
    let filed = file(&s.state, now, r).await.map_err(fields).unwrap();
    let row = filed.report;
    assert!(row.code.starts_with("PA-"), "{}", row.code);
    assert_eq!(row.status, "open");
    assert_eq!(row.agency_code, format!("UBND-{}", row.ward_code));
    assert!(row.due_at.unwrap() > row.created_at);
    // The stored photo has no GPS position left.
    let photos = s.db.photos(&row.id).await.unwrap();
    assert_eq!(photos.len(), 1);
    let (_, bytes) = s
        .state
        .blobs
        .get(&s.db, &photos[0].blob_hash)
        .await
        .unwrap()
        .unwrap();
    assert!(!String::from_utf8_lossy(&bytes).contains("GPS"));
    // The reporter follows it.
    assert_eq!(
        s.db.followers(&row.id).await.unwrap(),
        vec![resident.clone()]
    );

    // A bus complaint goes to the city department, whatever the ward.
    let mut bus = report("bus-service", None, Some("26740"));
    bus.reporter.user_id = Some(resident.clone());
    bus.answers.insert("route".into(), vec!["19".into()]);
    let b = file(&s.state, now, bus)
        .await
        .map_err(fields)
        .unwrap()
        .report;
    assert_eq!(b.agency_code, "SOXAYDUNG");

    // Every problem at once, and nothing stored.
    let (_, before) = s.db.reports(&Default::default()).await.unwrap();
    let mut bad = report(
        "no-such-category",
        Point::new(21.0285, 105.8542),
        Some("99999"),
    );
    bad.description = "x".repeat(4001);
    bad.photos = vec![b"GIF89a not a photo".to_vec()];
    bad.reporter.email = Some("not-an-email".into());
    let errs = fields(file(&s.state, now, bad).await.unwrap_err());
    let names: Vec<&str> = errs.iter().map(|(f, _)| f.as_str()).collect();
    for f in [
        "category",
        "description",
        "ward",
        "location",
        "photos",
        "email",
    ] {
        assert!(names.contains(&f), "{f} missing from {errs:?}");
    }
    // A point far from the city is refused on its own too.
    let mut far = report("noise", Point::new(21.0285, 105.8542), None);
    far.reporter.user_id = Some(resident.clone());
    assert_eq!(
        fields(file(&s.state, now, far).await.unwrap_err()),
        vec![("location".to_string(), "err-fb-outside")]
    );
    // A required answer is missing (bus route).
    let mut noroute = report("bus-service", None, Some("26740"));
    noroute.reporter.user_id = Some(resident.clone());
    assert_eq!(
        fields(file(&s.state, now, noroute).await.unwrap_err()),
        vec![("attr_route".to_string(), "err-attr-required")]
    );
    let (_, after) = s.db.reports(&Default::default()).await.unwrap();
    assert_eq!(before, after);

    // Without an account: it waits for the SMS code, and a wrong code counts.
    let mut anon = report("noise", None, Some("26740"));
    anon.reporter.phone = Some("0912 345 678".into());
    anon.idem_key = Some("form-1".into());
    let first = file(&s.state, now, anon.clone())
        .await
        .map_err(fields)
        .unwrap();
    assert!(first.created);
    let a = first.report;
    assert_eq!((a.status.as_str(), a.due_at), ("unconfirmed", None));
    // The double submit gives the same report.
    let again = file(&s.state, now, anon).await.map_err(fields).unwrap();
    assert!(!again.created);
    assert_eq!(again.report.code, a.code);
    let sms: Vec<String> = sqlx_outbox(&s).await;
    let code = sms
        .iter()
        .find_map(|b| {
            b.rsplit(": ")
                .next()
                .filter(|c| c.len() == 6)
                .map(String::from)
        })
        .expect("an SMS with the code");
    let reporter = Who {
        user_id: "anonymous".into(),
        actor: Actor::Reporter,
        agencies: vec![],
    };
    let wrong = ReportAction {
        action: "confirm".into(),
        secret: Some("000000".into()).filter(|w| *w != code),
        ..Default::default()
    };
    if wrong.secret.is_some() {
        let e = act(&s.state, now, &reporter, &a.code, &wrong)
            .await
            .unwrap_err();
        assert_eq!(e.status, 422);
    }
    let ok = ReportAction {
        action: "confirm".into(),
        secret: Some(code),
        ..Default::default()
    };
    let c = act(&s.state, now, &reporter, &a.code, &ok).await.unwrap();
    assert_eq!(c.status, "open");
    assert!(c.due_at.is_some());
    // Confirming twice is a state conflict.
    assert_eq!(
        act(&s.state, now, &reporter, &a.code, &ok)
            .await
            .unwrap_err()
            .status,
        409
    );
});

async fn sqlx_outbox(s: &TestServer) -> Vec<String> {
    let mut tx = s.db.begin().await.unwrap();
    let rows: Vec<String> = cityhall_db::tx!(&mut tx, |c| sqlx::query_scalar(
        "SELECT body FROM outbox ORDER BY created_at"
    )
    .fetch_all(c)
    .await)
    .unwrap();
    tx.commit().await.unwrap();
    rows
}

async fn sqlx_count(s: &TestServer, sql: &'static str) -> i64 {
    let mut tx = s.db.begin().await.unwrap();
    let n: i64 = cityhall_db::tx!(&mut tx, |c| sqlx::query_scalar(sql).fetch_one(c).await).unwrap();
    tx.commit().await.unwrap();
    n
}

web_test!(unit_actions_reporter_and_sweep, |engine| async move {
    let Some(s) = start(engine, |_| {}).await else {
        return;
    };
    let now = OffsetDateTime::now_utc();
    let resident = s.user("dan", Role::Citizen, None).await;
    let officer = s.user("can.bo", Role::Officer, Some("UBND-26740")).await;
    let other = s
        .user("can.bo.khac", Role::Officer, Some("UBND-27004"))
        .await;
    let mut r = report("sidewalk-encroachment", None, Some("26740"));
    r.reporter.user_id = Some(resident.clone());
    let row = file(&s.state, now, r).await.map_err(fields).unwrap().report;
    let unit = |id: &str, agency: &str| Who {
        user_id: id.into(),
        actor: Actor::Unit,
        agencies: vec![agency.into()],
    };
    let me = unit(&officer, "UBND-26740");
    let them = unit(&other, "UBND-27004");
    let owner = Who {
        user_id: resident.clone(),
        actor: Actor::Reporter,
        agencies: vec![],
    };
    let a = |action: &str| ReportAction {
        action: action.into(),
        ..Default::default()
    };

    // Another ward's officer may not touch it.
    assert_eq!(
        act(&s.state, now, &them, &row.code, &a("assign"))
            .await
            .unwrap_err()
            .status,
        403
    );
    // Two officers at once with the version they saw: one wins.
    let v = ReportAction {
        row_version: Some(row.row_version),
        ..a("assign")
    };
    act(&s.state, now, &me, &row.code, &v).await.unwrap();
    assert_eq!(
        act(&s.state, now, &me, &row.code, &v)
            .await
            .unwrap_err()
            .status,
        409
    );
    // Resolving needs a public note.
    assert_eq!(
        act(&s.state, now, &me, &row.code, &a("resolve"))
            .await
            .unwrap_err()
            .status,
        422
    );
    let resolved = act(
        &s.state,
        now,
        &me,
        &row.code,
        &ReportAction {
            note: Some("Đã giải tỏa, lập biên bản".into()),
            photos: vec![jpeg_with_gps()],
            ..a("resolve")
        },
    )
    .await
    .unwrap();
    assert_eq!(resolved.status, "resolved");
    // The reporter reopens (with a reason), the unit resolves again, the reporter rates.
    let reopened = act(
        &s.state,
        now,
        &owner,
        &row.code,
        &ReportAction {
            note: Some("Vẫn còn bày bán".into()),
            ..a("reopen")
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (reopened.status.as_str(), reopened.reopen_count),
        ("open", 1)
    );
    act(
        &s.state,
        now,
        &me,
        &row.code,
        &ReportAction {
            note: Some("Đã xử lý dứt điểm".into()),
            ..a("resolve")
        },
    )
    .await
    .unwrap();
    let rated = act(
        &s.state,
        now,
        &owner,
        &row.code,
        &ReportAction {
            rating: Some(4),
            ..a("rate")
        },
    )
    .await
    .unwrap();
    assert_eq!(rated.rating, Some(4));
    let events = s.db.report_events(&row.id).await.unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        vec!["create", "assign", "resolve", "reopen", "resolve", "rate"]
    );
    assert_eq!(s.db.photos(&row.id).await.unwrap().len(), 1);

    // Transfer needs a reason and a real unit; afterwards the old unit cannot act.
    let mut r2 = report("noise", None, Some("26740"));
    r2.reporter.user_id = Some(resident.clone());
    let r2 = file(&s.state, now, r2)
        .await
        .map_err(fields)
        .unwrap()
        .report;
    let tr = |agency: &str, note: Option<&str>| ReportAction {
        agency: Some(agency.into()),
        note: note.map(Into::into),
        ..a("transfer")
    };
    assert_eq!(
        act(&s.state, now, &me, &r2.code, &tr("NOWHERE", Some("x")))
            .await
            .unwrap_err()
            .status,
        422
    );
    assert_eq!(
        act(&s.state, now, &me, &r2.code, &tr("UBND-27004", None))
            .await
            .unwrap_err()
            .status,
        422
    );
    let moved = act(
        &s.state,
        now,
        &me,
        &r2.code,
        &tr("UBND-27004", Some("Địa điểm thuộc phường khác")),
    )
    .await
    .unwrap();
    assert_eq!(moved.agency_code, "UBND-27004");
    assert_eq!(
        act(&s.state, now, &me, &r2.code, &a("assign"))
            .await
            .unwrap_err()
            .status,
        403
    );
    // Marked as a duplicate of the first report.
    let dup = act(
        &s.state,
        now,
        &them,
        &r2.code,
        &ReportAction {
            duplicate_of: Some(row.code.clone()),
            ..a("duplicate")
        },
    )
    .await
    .unwrap();
    assert_eq!(dup.duplicate_of.as_deref(), Some(row.code.as_str()));

    // The sweep: a report past its due instant escalates to level 1, then to the city desk;
    // a resolved report past the reopen window closes.
    let mut r3 = report("sidewalk-encroachment", None, Some("26740"));
    r3.reporter.user_id = Some(resident.clone());
    let r3 = file(&s.state, now, r3)
        .await
        .map_err(fields)
        .unwrap()
        .report;
    let due = from_micros(r3.due_at.unwrap());
    let cal = &s.state.config.calendar;
    let later = cal.add_working_seconds(due, 3600);
    let (escalated, _) = service::sweep(&s.state, later).await.unwrap();
    assert_eq!(escalated, 1);
    assert_eq!(
        s.db.report_by_code(&r3.code)
            .await
            .unwrap()
            .escalation_level,
        1
    );
    // Nothing more at the same instant.
    assert_eq!(service::sweep(&s.state, later).await.unwrap().0, 0);
    let much_later = cal.add_working_seconds(due, 9 * 3600);
    service::sweep(&s.state, much_later).await.unwrap();
    let r3 = s.db.report_by_code(&r3.code).await.unwrap();
    assert_eq!(
        (r3.escalation_level, r3.agency_code.as_str()),
        (2, s.state.feedback.escalation.city_desk.as_str())
    );
    let (_, closed) = service::sweep(&s.state, now + time::Duration::days(8))
        .await
        .unwrap();
    assert!(closed >= 1);
    assert_eq!(
        s.db.report_by_code(&row.code).await.unwrap().status,
        "closed"
    );
    // Every change is in the audit chain, and it verifies.
    let audit =
        s.db.verify(
            &s.state.config.audit_key.verifying_key(),
            OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    assert_eq!(audit.problem, None);
    let entries = sqlx_count(
        &s,
        "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'report.%'",
    )
    .await;
    assert!(entries >= 12, "{entries}");
});

// More concurrent filings and actions than the pool has connections: a change's
// transaction must never wait for a second connection (it would hold one while waiting, and
// enough requests together would hold them all).
web_test!(
    concurrent_changes_do_not_starve_the_pool,
    |engine| async move {
        let Some(s) = start(engine, |_| {}).await else {
            return;
        };
        let resident = s.user("dan", Role::Citizen, None).await;
        let officer = s.user("can.bo", Role::Officer, Some("UBND-26740")).await;
        let now = OffsetDateTime::now_utc();
        let mut tasks = Vec::new();
        for i in 0..48 {
            let state = s.state.clone();
            let resident = resident.clone();
            let officer = officer.clone();
            tasks.push(tokio::spawn(async move {
                let mut r = report("waste-collection", None, Some("26740"));
                r.reporter.user_id = Some(resident);
                r.description = format!("Rác chưa thu gom, điểm {i}");
                let row = file(&state, now, r).await.map_err(fields).unwrap().report;
                let me = Who {
                    user_id: officer,
                    actor: Actor::Unit,
                    agencies: vec!["UBND-26740".into()],
                };
                let assign = ReportAction {
                    action: "assign".into(),
                    ..Default::default()
                };
                act(&state, now, &me, &row.code, &assign).await.unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        // (A starved pool fails the calls above when its 10 s wait for a connection ends.)
        let (_, n) =
            s.db.reports(&cityhall_db::feedback::ReportFilter {
                statuses: vec!["in_progress".into()],
                limit: 1,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(n, 48);
    }
);
