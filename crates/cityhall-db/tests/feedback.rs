//! Feedback store on both engines.

use cityhall_core::geo::{all_agencies, AgenciesFile, UnitsFile};
use cityhall_db::feedback::{
    Open311KeyRow, PhotoRow, ReportEventRow, ReportFilter, ReportRow, ReportSort, RouteRow,
};
use cityhall_db::{both_engines, new_id, Db, FeedbackStore, GeoStore, StoreError};
use time::OffsetDateTime;

async fn setup(db: &Db) {
    let units: UnitsFile =
        serde_json::from_str(include_str!("../../../data/units-79.json")).unwrap();
    let city: AgenciesFile =
        serde_json::from_str(include_str!("../../../data/agencies-79.json")).unwrap();
    db.import_reference(
        OffsetDateTime::now_utc(),
        &units,
        &all_agencies(&units, &city),
    )
    .await
    .unwrap();
}

fn report(code: &str, cat: &str, ward: &str, at: i64, lat: f64) -> ReportRow {
    ReportRow {
        id: new_id(),
        code: code.into(),
        category_code: cat.into(),
        status: "open".into(),
        channel: "web".into(),
        description: "Ổ gà lớn giữa đường".into(),
        answers: "{}".into(),
        ward_code: ward.into(),
        lat: Some(lat),
        lon: Some(106.70),
        agency_code: format!("UBND-{ward}"),
        reporter_phone: Some("0912345678".into()),
        created_at: at,
        updated_at: at,
        due_at: Some(at + 1_000_000),
        row_version: 1,
        ..Default::default()
    }
}

both_engines!(reports_lists_and_concurrency, |db: Db| async move {
    setup(&db).await;
    let mut tx = db.begin().await.unwrap();
    for i in 0..25 {
        let mut r = report(
            &format!("PA-261123-{:04}", i + 1),
            if i % 5 == 0 { "noise" } else { "road-damage" },
            if i < 20 { "26740" } else { "27004" },
            1_000 + i,
            10.77 + f64::from(u8::try_from(i).unwrap()) * 0.001,
        );
        if i == 24 {
            r.status = "unconfirmed".into();
            r.idem_key = Some("k-1".into());
            r.open311_token = Some("tok-1".into());
        }
        Db::insert_report(&mut tx, &r).await.unwrap();
    }
    tx.commit().await.unwrap();
    // The same idempotency key again is refused, and nothing is half-written.
    let mut dup = report("PA-261123-9999", "noise", "26740", 5, 10.7);
    dup.idem_key = Some("k-1".into());
    let mut tx = db.begin().await.unwrap();
    let e = Db::insert_report(&mut tx, &dup).await.unwrap_err();
    assert!(
        matches!(e, StoreError::Conflict(ref w) if w == "idempotency"),
        "{e:?}"
    );
    drop(tx);
    assert!(db.report_by_code("PA-261123-9999").await.is_err());
    assert_eq!(
        db.report_by_idem("k-1").await.unwrap().unwrap().code,
        "PA-261123-0025"
    );
    assert_eq!(
        db.report_by_token("tok-1").await.unwrap().code,
        "PA-261123-0025"
    );

    // A unit's queue: filters, totals and pages.
    let f = ReportFilter {
        agencies: vec!["UBND-26740".into()],
        category: Some("road-damage".into()),
        sort: ReportSort::Oldest,
        limit: 10,
        ..Default::default()
    };
    let (page, total) = db.reports(&f).await.unwrap();
    assert_eq!((page.len(), total), (10, 16));
    assert_eq!(page[0].code, "PA-261123-0002");
    let (page2, _) = db
        .reports(&ReportFilter {
            offset: 10,
            ..f.clone()
        })
        .await
        .unwrap();
    assert_eq!(page2.len(), 6);
    // The public list leaves the unconfirmed one out.
    let (_, public) = db
        .reports(&ReportFilter {
            public_only: true,
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(public, 24);
    let (by_phone, n) = db
        .reports(&ReportFilter {
            phone: Some("0912345678".into()),
            codes: vec!["PA-261123-0003".into(), "PA-261123-0004".into()],
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!((by_phone.len(), n), (2, 2));

    // Nearby open reports of the same category, within a box.
    let near = db
        .open_within("road-damage", (10.7705, 10.7735, 106.69, 106.71), 10)
        .await
        .unwrap();
    let codes: Vec<&str> = near.iter().map(|r| r.code.as_str()).collect();
    assert_eq!(
        codes,
        vec!["PA-261123-0004", "PA-261123-0003", "PA-261123-0002"]
    );

    // Two officers at once: one wins, the other gets a conflict, and nothing of it stays.
    let r = db.report_by_code("PA-261123-0002").await.unwrap();
    let mut a = r.clone();
    a.status = "in_progress".into();
    a.assigned_to = Some("u1".into());
    let mut b = r.clone();
    b.status = "rejected".into();
    let mut tx = db.begin().await.unwrap();
    Db::update_report(&mut tx, &a, r.row_version).await.unwrap();
    Db::add_report_event(
        &mut tx,
        &ReportEventRow {
            id: new_id(),
            report_id: r.id.clone(),
            at: 2_000,
            actor_id: Some("u1".into()),
            actor_kind: "unit".into(),
            action: "assign".into(),
            from_status: Some("open".into()),
            to_status: "in_progress".into(),
            note: None,
            internal: false,
            data: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let mut tx = db.begin().await.unwrap();
    let e = Db::update_report(&mut tx, &b, r.row_version)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)));
    drop(tx);
    let now = db.report_by_code("PA-261123-0002").await.unwrap();
    assert_eq!((now.status.as_str(), now.row_version), ("in_progress", 2));
    assert_eq!(db.report_events(&r.id).await.unwrap().len(), 1);

    // Overdue and escalation levels; resolved ones waiting to close.
    let over = db.overdue(1_000_000 + 1_010, 1, 100).await.unwrap();
    assert_eq!(over.len(), 10, "due at 1_001_000 + i for i < 10");
    let mut tx = db.begin().await.unwrap();
    let mut e1 = over[0].clone();
    e1.escalation_level = 1;
    Db::update_report(&mut tx, &e1, over[0].row_version)
        .await
        .unwrap();
    let mut res = db.report_by_code("PA-261123-0020").await.unwrap();
    let v = res.row_version;
    res.status = "resolved".into();
    res.resolved_at = Some(3_000);
    Db::update_report(&mut tx, &res, v).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        db.overdue(1_000_000 + 1_010, 1, 100).await.unwrap().len(),
        9
    );
    assert_eq!(
        db.overdue(1_000_000 + 1_010, 2, 100).await.unwrap().len(),
        10
    );
    assert_eq!(db.resolved_before(3_001, 10).await.unwrap().len(), 1);
    assert_eq!(db.resolved_before(3_000, 10).await.unwrap().len(), 0);

    // Photos and followers.
    let mut tx = db.begin().await.unwrap();
    Db::add_photo(
        &mut tx,
        &PhotoRow {
            id: new_id(),
            report_id: r.id.clone(),
            stage: "report".into(),
            blob_hash: "ab".repeat(32),
            content_type: "image/jpeg".into(),
            size: 10,
            position: 0,
            added_at: 1,
        },
    )
    .await
    .unwrap();
    assert!(Db::follow(&mut tx, &r.id, "u9", 1).await.unwrap());
    assert!(!Db::follow(&mut tx, &r.id, "u9", 2).await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(db.photos(&r.id).await.unwrap().len(), 1);
    assert_eq!(db.followers(&r.id).await.unwrap(), vec!["u9".to_string()]);
});

both_engines!(routes_and_open311_keys, |db: Db| async move {
    setup(&db).await;
    assert_eq!(db.route_for("noise", "26740").await.unwrap(), None);
    let mut tx = db.begin().await.unwrap();
    for (ward, agency) in [("", "SOXAYDUNG"), ("26740", "UBND-27004")] {
        Db::set_route(
            &mut tx,
            &RouteRow {
                category_code: "noise".into(),
                ward_code: ward.into(),
                agency_code: agency.into(),
                updated_at: 1,
                updated_by: Some("admin".into()),
            },
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    assert_eq!(
        db.route_for("noise", "26740").await.unwrap().as_deref(),
        Some("UBND-27004")
    );
    assert_eq!(
        db.route_for("noise", "27004").await.unwrap().as_deref(),
        Some("SOXAYDUNG")
    );
    let mut tx = db.begin().await.unwrap();
    assert_eq!(
        Db::delete_route(&mut tx, "noise", "26740").await.unwrap(),
        1
    );
    tx.commit().await.unwrap();
    assert_eq!(
        db.route_for("noise", "26740").await.unwrap().as_deref(),
        Some("SOXAYDUNG")
    );
    assert_eq!(db.routes().await.unwrap().len(), 1);

    let k = Open311KeyRow {
        id: new_id(),
        name: "app".into(),
        created_at: 1,
        created_by: None,
        revoked_at: None,
    };
    let mut tx = db.begin().await.unwrap();
    Db::insert_open311_key(&mut tx, &k, "hash-1").await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(db.open311_key("hash-1").await.unwrap().unwrap().name, "app");
    assert!(db.open311_key("hash-2").await.unwrap().is_none());
    let mut tx = db.begin().await.unwrap();
    assert_eq!(Db::revoke_open311_key(&mut tx, &k.id, 5).await.unwrap(), 1);
    tx.commit().await.unwrap();
    assert!(db.open311_key("hash-1").await.unwrap().is_none());
    assert_eq!(db.open311_keys().await.unwrap().len(), 1);
});
