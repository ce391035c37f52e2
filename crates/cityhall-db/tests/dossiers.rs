//! Catalog, dossier and blob stores on both engines.

use cityhall_core::catalog::CatalogFile;
use cityhall_core::geo::{all_agencies, AgenciesFile, UnitsFile};
use cityhall_core::identity::Role;
use cityhall_db::dossier::{
    event, DossierRow, FileRow, InboxFilter, InboxSort, IssuedRow, PaymentRow,
};
use cityhall_db::identity::NewUser;
use cityhall_db::{
    both_engines, micros, new_id, BlobBackend, Blobs, CatalogStore, Db, DossierStore, GeoStore,
    IdentityStore, StoreError,
};
use time::OffsetDateTime;

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn catalog(fee: i64) -> CatalogFile {
    serde_json::from_value(serde_json::json!({
        "fields": [{"code": "ho-tich", "name": {"vi": "Hộ tịch", "en": "Civil status"}}],
        "procedures": [{
            "code": "1.001193", "name": {"vi": "Đăng ký khai sinh", "en": "Birth registration"},
            "field": "ho-tich", "level": "commune", "agency": "UBND-{ward}",
            "channels": [{"kind": "online", "time_limit": "same_day", "fee": fee}],
            "online_level": "full", "effective_from": "2025-07-01",
            "form": {"type": "object", "properties": {}}
        }]
    }))
    .unwrap()
}

async fn setup(db: &Db) -> (String, String) {
    let units: UnitsFile =
        serde_json::from_str(include_str!("../../../data/units-79.json")).unwrap();
    let city: AgenciesFile =
        serde_json::from_str(include_str!("../../../data/agencies-79.json")).unwrap();
    db.import_reference(now(), &units, &all_agencies(&units, &city))
        .await
        .unwrap();
    db.import_catalog(now(), "test", &catalog(0)).await.unwrap();
    let owner = db
        .create_user(
            now(),
            "test",
            NewUser {
                username: "an",
                full_name: "Nguyễn Văn An",
                email: None,
                phone: None,
                password_hash: "h",
                national_id_hash: None,
                national_id_hint: None,
                assurance: "none",
                ward_code: None,
                roles: vec![(Role::Citizen, None)],
            },
        )
        .await
        .unwrap();
    let proc_id = db.current_procedures().await.unwrap()[0].id.clone();
    (owner, proc_id)
}

fn dossier(owner: &str, procedure_id: &str, code: Option<String>, agency: &str) -> DossierRow {
    let t = micros(now());
    DossierRow {
        id: new_id(),
        code,
        procedure_id: procedure_id.into(),
        procedure_code: "1.001193".into(),
        owner_id: Some(owner.into()),
        applicant_name: "Nguyễn Văn An".into(),
        applicant_id_hash: None,
        applicant_id_hint: None,
        applicant_contact: None,
        represented: None,
        state: "new".into(),
        status: 1,
        channel: "online".into(),
        delivery: "online".into(),
        ward_code: Some("27004".into()),
        agency_code: agency.into(),
        desk_agency_code: None,
        form: "{}".into(),
        assigned_to: None,
        registered_by: None,
        row_version: 1,
        idem_key: None,
        time_limit: None,
        created_at: t,
        updated_at: t,
        submitted_at: Some(t),
        accepted_at: None,
        due_at: None,
        rescheduled_due_at: None,
        finished_at: None,
        returned_at: None,
        outcome: None,
        last_reason: None,
        paused_micros: 0,
        pause_started_at: None,
        supplement_count: 0,
        fee: 0,
        fee_due: 0,
        fee_paid_online: false,
        paid_at: None,
        inputs_digitised: true,
        e_result: false,
        paper_result_required: false,
        reused_count: 0,
        rating: None,
        rating_comment: None,
        rated_at: None,
    }
}

both_engines!(catalog_versions_only_on_change, |db: Db| async move {
    setup(&db).await;
    let again = db.import_catalog(now(), "test", &catalog(0)).await.unwrap();
    assert_eq!((again.added, again.changed, again.unchanged), (0, 0, 1));
    let first = db.current_procedures().await.unwrap()[0].clone();
    assert_eq!(first.version, 1);

    let changed = db
        .import_catalog(now(), "test", &catalog(8000))
        .await
        .unwrap();
    assert_eq!(changed.changed, 1);
    let current = db.current_procedures().await.unwrap();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0].version, 2);
    assert_eq!(current[0].procedure.channels[0].fee, Some(8000));
    // The old version stays readable for the dossiers filed under it.
    let old = db.procedure_version(&first.id).await.unwrap();
    assert_eq!(old.procedure.channels[0].fee, Some(0));
    assert!(!old.current);
    assert_eq!(db.procedure_history("1.001193").await.unwrap().len(), 2);
    // Going back to the old content is a new version too, numbered after the highest.
    db.import_catalog(now(), "test", &catalog(0)).await.unwrap();
    assert_eq!(db.current_procedures().await.unwrap()[0].version, 3);
    assert_eq!(db.fields().await.unwrap()[0].name.en, "Civil status");
});

both_engines!(
    sequences_idempotency_and_optimistic_updates,
    |db: Db| async move {
        let (owner, pid) = setup(&db).await;
        let mut tx = db.begin().await.unwrap();
        let a = Db::next_sequence(&mut tx, "UBND-27004", "261123")
            .await
            .unwrap();
        let b = Db::next_sequence(&mut tx, "UBND-27004", "261123")
            .await
            .unwrap();
        let other = Db::next_sequence(&mut tx, "UBND-26740", "261123")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!((a, b, other), (1, 2, 1));

        let mut d = dossier(
            &owner,
            &pid,
            Some("UBND-27004-261123-0001".into()),
            "UBND-27004",
        );
        d.idem_key = Some("k1".into());
        let mut tx = db.begin().await.unwrap();
        Db::insert_dossier(&mut tx, &d).await.unwrap();
        Db::add_event(
            &mut tx,
            &event(
                &d.id,
                now(),
                Some(&owner),
                "applicant",
                "submit",
                None,
                "new",
                None,
            ),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();

        // The same idempotency key again is a conflict, and nothing is written.
        let mut dup = dossier(
            &owner,
            &pid,
            Some("UBND-27004-261123-0002".into()),
            "UBND-27004",
        );
        dup.idem_key = Some("k1".into());
        let mut tx = db.begin().await.unwrap();
        let err = Db::insert_dossier(&mut tx, &dup).await.unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict(ref w) if w == "idempotency"),
            "{err:?}"
        );
        drop(tx);
        assert_eq!(
            db.dossier_by_idem(&owner, "k1").await.unwrap().unwrap().id,
            d.id
        );
        assert!(matches!(
            db.dossier_by_code("UBND-27004-261123-0002").await,
            Err(StoreError::NotFound)
        ));

        // Two officers read version 1; the first write wins, the second is stale.
        let read = db.dossier_by_code("UBND-27004-261123-0001").await.unwrap();
        let mut first = read.clone();
        first.state = "accepted".into();
        first.status = 2;
        let mut second = read.clone();
        second.state = "refused".into();
        second.status = 3;
        let mut tx = db.begin().await.unwrap();
        Db::update_dossier(&mut tx, &first, read.row_version)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let mut tx = db.begin().await.unwrap();
        let err = Db::update_dossier(&mut tx, &second, read.row_version)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(ref w) if w == "stale"));
        drop(tx);
        let now_row = db.dossier(&d.id).await.unwrap();
        assert_eq!(
            (now_row.state.as_str(), now_row.row_version),
            ("accepted", 2)
        );
        assert_eq!(db.events(&d.id).await.unwrap().len(), 1);
    }
);

both_engines!(inbox_filters_and_totals, |db: Db| async move {
    let (owner, pid) = setup(&db).await;
    let t0 = micros(now());
    let mut tx = db.begin().await.unwrap();
    for i in 0..25 {
        let agency = if i % 5 == 0 {
            "UBND-26740"
        } else {
            "UBND-27004"
        };
        let mut d = dossier(
            &owner,
            &pid,
            Some(format!("{agency}-261123-{i:04}")),
            agency,
        );
        d.submitted_at = Some(t0 + i);
        d.due_at = Some(t0 + 1_000_000 * i);
        if i % 2 == 0 {
            d.status = 4;
            d.state = "processing".into();
        }
        if i == 3 {
            d.desk_agency_code = Some("UBND-26740".into());
        }
        Db::insert_dossier(&mut tx, &d).await.unwrap();
    }
    // A draft never shows in an inbox.
    Db::insert_dossier(&mut tx, &dossier(&owner, &pid, None, "UBND-27004"))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut f = InboxFilter {
        agencies: vec!["UBND-27004".into()],
        limit: 7,
        ..Default::default()
    };
    let (rows, total) = db.inbox(&f).await.unwrap();
    assert_eq!((rows.len(), total), (7, 20));
    assert!(rows
        .windows(2)
        .all(|w| w[0].submitted_at >= w[1].submitted_at));
    f.offset = 14;
    let (rows, total) = db.inbox(&f).await.unwrap();
    assert_eq!((rows.len(), total), (6, 20));
    f.offset = 0;
    f.status = Some(4);
    assert_eq!(db.inbox(&f).await.unwrap().1, 10);
    f.status = None;
    f.due_before = Some(t0 + 1_000_000 * 10);
    f.sort = InboxSort::DueSoonest;
    let (rows, total) = db.inbox(&f).await.unwrap();
    assert_eq!(total, 8);
    assert!(rows.windows(2).all(|w| w[0].due_at <= w[1].due_at));

    // The desk where a dossier was filed sees it too; nobody else does.
    let desk = InboxFilter {
        agencies: vec!["UBND-26740".into()],
        limit: 50,
        ..Default::default()
    };
    let (rows, total) = db.inbox(&desk).await.unwrap();
    assert_eq!(total, 6);
    assert!(rows.iter().any(|r| r.agency_code == "UBND-27004"));
    let nobody = InboxFilter {
        limit: 50,
        ..Default::default()
    };
    assert_eq!(db.inbox(&nobody).await.unwrap().1, 0);
    let (mine, total) = db.owned(&owner, 0, 10).await.unwrap();
    assert_eq!((mine.len(), total), (10, 26));
});

both_engines!(files_results_and_payments, |db: Db| async move {
    let (owner, pid) = setup(&db).await;
    let d = dossier(
        &owner,
        &pid,
        Some("UBND-27004-261123-0001".into()),
        "UBND-27004",
    );
    let blobs = Blobs::new(BlobBackend::Database);
    let mut tx = db.begin().await.unwrap();
    Db::insert_dossier(&mut tx, &d).await.unwrap();
    let hash = blobs
        .put(&mut tx, now(), b"%PDF-1.4 test", "application/pdf")
        .await
        .unwrap();
    // The same bytes twice are stored once.
    assert_eq!(
        blobs
            .put(&mut tx, now(), b"%PDF-1.4 test", "application/pdf")
            .await
            .unwrap(),
        hash
    );
    Db::add_file(
        &mut tx,
        &FileRow {
            id: new_id(),
            dossier_id: d.id.clone(),
            field: "proof".into(),
            document_id: Some("giay-chung-sinh".into()),
            blob_hash: Some(hash.clone()),
            filename: "a.pdf".into(),
            content_type: "application/pdf".into(),
            size: 13,
            source: "upload".into(),
            issued_document_id: None,
            stage: "application".into(),
            added_at: micros(now()),
            added_by: Some(owner.clone()),
        },
    )
    .await
    .unwrap();
    Db::issue_document(
        &mut tx,
        &IssuedRow {
            id: new_id(),
            code: "R-1".into(),
            dossier_id: d.id.clone(),
            owner_id: Some(owner.clone()),
            holder_id_hash: None,
            kind: "giay-khai-sinh".into(),
            title: "Giấy khai sinh".into(),
            title_en: "Birth certificate".into(),
            payload: "{}".into(),
            signature: "sig".into(),
            key_id: "k".into(),
            issued_at: micros(now()),
            revoked_at: None,
        },
    )
    .await
    .unwrap();
    Db::insert_payment(
        &mut tx,
        &PaymentRow {
            id: "P1".into(),
            dossier_id: d.id.clone(),
            amount: 8000,
            provider: "sandbox".into(),
            status: "pending".into(),
            provider_ref: None,
            receipt_no: None,
            created_at: micros(now()),
            paid_at: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let (info, bytes) = blobs.get(&db, &hash).await.unwrap().unwrap();
    assert_eq!((info.size, bytes.as_slice()), (13, &b"%PDF-1.4 test"[..]));
    assert!(blobs.get(&db, "../../etc/passwd").await.unwrap().is_none());
    assert_eq!(
        db.files(&d.id).await.unwrap()[0].blob_hash.as_deref(),
        Some(hash.as_str())
    );
    assert_eq!(db.wallet(&owner).await.unwrap()[0].code, "R-1");
    assert_eq!(
        db.issued_by_code("R-1").await.unwrap().kind,
        "giay-khai-sinh"
    );

    let mut tx = db.begin().await.unwrap();
    assert!(Db::mark_paid(&mut tx, "P1", "TXN9", "BL-1", micros(now()))
        .await
        .unwrap());
    // A repeated callback changes nothing.
    assert!(!Db::mark_paid(&mut tx, "P1", "TXN9", "BL-1", micros(now()))
        .await
        .unwrap());
    tx.commit().await.unwrap();
    assert_eq!(db.payment("P1").await.unwrap().status, "paid");
});

both_engines!(file_blobs_survive_and_are_checked, |db: Db| async move {
    let dir = tempfile::tempdir().unwrap();
    let blobs = Blobs::new(BlobBackend::Files(dir.path().to_path_buf()));
    let mut tx = db.begin().await.unwrap();
    let hash = blobs
        .put(&mut tx, now(), b"\x89PNG\r\n\x1a\nxx", "image/png")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let (_, bytes) = blobs.get(&db, &hash).await.unwrap().unwrap();
    assert_eq!(bytes, b"\x89PNG\r\n\x1a\nxx");
    // A file changed on disk is reported, never served.
    std::fs::write(dir.path().join(&hash[..2]).join(&hash), b"evil").unwrap();
    assert!(blobs.get(&db, &hash).await.is_err());
});
