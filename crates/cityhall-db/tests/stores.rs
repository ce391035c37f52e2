//! Store behaviour on both engines.

use cityhall_core::geo::{all_agencies, AgenciesFile, UnitsFile};
use cityhall_core::identity::Role;
use cityhall_db::audit::{record_alone, NewEntry};
use cityhall_db::identity::{NewUser, Throttle};
use cityhall_db::notify::{Channel, NewMessage};
use cityhall_db::{both_engines, tx, AuditStore, Db, GeoStore, IdentityStore, NotifyStore};
use ed25519_dalek::SigningKey;
use time::OffsetDateTime;

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

fn user<'a>(name: &'a str) -> NewUser<'a> {
    NewUser {
        username: name,
        full_name: "Nguyễn Văn An",
        email: None,
        phone: None,
        password_hash: "h",
        national_id_hash: None,
        national_id_hint: None,
        assurance: "none",
        ward_code: None,
        roles: vec![(Role::Citizen, None)],
    }
}

async fn write_entries(db: &Db, n: usize) {
    for i in 0..n {
        record_alone(
            db,
            now(),
            NewEntry {
                actor: "tester",
                action: "test.write",
                object_type: "thing",
                object_id: &i.to_string(),
                subject_user_id: None,
                detail: serde_json::json!({"i": i}),
            },
        )
        .await
        .unwrap();
    }
}

async fn exec(db: &Db, sql: &str) {
    let mut tx = db.begin().await.unwrap();
    tx!(&mut tx, |c| sqlx::query(sql).execute(c).await.map(|_| ())).unwrap();
    tx.commit().await.unwrap();
}

async fn problem(db: &Db) -> Option<String> {
    db.verify(&key().verifying_key(), now())
        .await
        .unwrap()
        .problem
}

both_engines!(audit_chain_is_intact_and_signed, |db: Db| async move {
    write_entries(&db, 25).await;
    assert_eq!(db.seal(&key(), 10).await.unwrap(), 25);
    assert_eq!(
        db.seal(&key(), 10).await.unwrap(),
        0,
        "nothing left to seal"
    );
    let r = db.verify(&key().verifying_key(), now()).await.unwrap();
    assert_eq!(r.problem, None);
    assert_eq!(r.sealed, 25);
    assert_eq!(r.checkpoints, 2);
    assert_eq!(r.pending, 0);
    // Entries written later extend the same chain.
    write_entries(&db, 3).await;
    let r = db.verify(&key().verifying_key(), now()).await.unwrap();
    assert_eq!(r.pending, 3);
    db.seal(&key(), 10).await.unwrap();
    assert_eq!(problem(&db).await, None);
    // Another key does not verify the checkpoints.
    let other = SigningKey::from_bytes(&[9u8; 32]).verifying_key();
    let r = db.verify(&other, now()).await.unwrap();
    assert!(
        r.problem.unwrap().contains("key"),
        "another key is named as the cause"
    );
});

both_engines!(audit_catches_an_edited_entry, |db: Db| async move {
    write_entries(&db, 12).await;
    db.seal(&key(), 100).await.unwrap();
    exec(&db, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 5").await;
    let p = problem(&db).await.expect("tampering found");
    assert!(p.contains("#5"), "{p}");
});

both_engines!(audit_catches_an_edited_detail, |db: Db| async move {
    write_entries(&db, 6).await;
    db.seal(&key(), 100).await.unwrap();
    exec(
        &db,
        "UPDATE audit_log SET detail = '{\"i\":99}' WHERE seq = 3",
    )
    .await;
    let p = problem(&db).await.expect("tampering found");
    assert!(p.contains("#3") && p.contains("detail"), "{p}");
});

both_engines!(audit_catches_a_deleted_entry, |db: Db| async move {
    write_entries(&db, 8).await;
    db.seal(&key(), 100).await.unwrap();
    exec(&db, "DELETE FROM audit_log WHERE seq = 4").await;
    let p = problem(&db).await.expect("tampering found");
    assert!(p.contains("#5") && p.contains("expected entry #4"), "{p}");
});

both_engines!(audit_catches_a_deleted_tail, |db: Db| async move {
    write_entries(&db, 8).await;
    db.seal(&key(), 100).await.unwrap();
    exec(&db, "DELETE FROM audit_log WHERE seq >= 7").await;
    let p = problem(&db).await.expect("tampering found");
    assert!(p.contains("#6") && p.contains("#8"), "{p}");
});

both_engines!(audit_catches_an_inserted_entry, |db: Db| async move {
    write_entries(&db, 6).await;
    db.seal(&key(), 100).await.unwrap();
    // Make room after #3 and slip in a forged entry that copies its neighbour's links.
    exec(&db, "UPDATE audit_log SET seq = seq + 1000 WHERE seq > 3").await;
    exec(&db, "UPDATE audit_log SET seq = seq - 999 WHERE seq > 1000").await;
    exec(
        &db,
        "INSERT INTO audit_log (id, seq, at, actor, action, object_type, object_id, detail, digest, prev_hash, hash) \
         SELECT 'forged', 4, at, 'mallory', 'test.write', 'thing', 'x', detail, digest, hash, hash \
         FROM audit_log WHERE seq = 3",
    )
    .await;
    let p = problem(&db).await.expect("tampering found");
    assert!(p.contains("#4"), "{p}");
});

both_engines!(audit_catches_reordered_entries, |db: Db| async move {
    write_entries(&db, 6).await;
    db.seal(&key(), 100).await.unwrap();
    exec(&db, "UPDATE audit_log SET seq = -1 WHERE seq = 2").await;
    exec(&db, "UPDATE audit_log SET seq = 2 WHERE seq = 3").await;
    exec(&db, "UPDATE audit_log SET seq = 3 WHERE seq = -1").await;
    let p = problem(&db).await.expect("tampering found");
    assert!(p.contains("#2"), "{p}");
});

both_engines!(
    reference_import_is_idempotent_and_keeps_ids,
    |db: Db| async move {
        let units: UnitsFile =
            serde_json::from_str(include_str!("../../../data/units-79.json")).unwrap();
        let city: AgenciesFile =
            serde_json::from_str(include_str!("../../../data/agencies-79.json")).unwrap();
        let agencies = all_agencies(&units, &city);
        let c = db.import_reference(now(), &units, &agencies).await.unwrap();
        assert_eq!(c.units, 168);
        assert_eq!(c.agencies, city.agencies.len() + 2 * 168);
        let before = db.agency("UBND-26740").await.unwrap().unwrap();
        assert_eq!(before.ward_code.as_deref(), Some("26740"));
        assert_eq!(before.name, "Ủy ban nhân dân Phường Sài Gòn");
        // A second import changes nothing; a renamed unit keeps its agencies' ids.
        let c = db.import_reference(now(), &units, &agencies).await.unwrap();
        assert_eq!((c.units, c.agencies), (0, 0));
        let mut renamed = units.clone();
        renamed
            .units
            .iter_mut()
            .find(|u| u.code.as_str() == "26740")
            .unwrap()
            .name = "Phường Sài Gòn Mới".into();
        let agencies2 = all_agencies(&renamed, &city);
        let c = db
            .import_reference(now(), &renamed, &agencies2)
            .await
            .unwrap();
        assert_eq!((c.units, c.agencies), (1, 2));
        let after = db.agency("UBND-26740").await.unwrap().unwrap();
        assert_eq!(after.id, before.id);
        assert_eq!(after.name, "Ủy ban nhân dân Phường Sài Gòn Mới");
        assert_eq!(db.units().await.unwrap().len(), 168);
    }
);

both_engines!(accounts_roles_and_sessions, |db: Db| async move {
    let id = db.create_user(now(), "admin", user("an")).await.unwrap();
    let dup = db.create_user(now(), "admin", user("an")).await;
    assert!(
        matches!(dup, Err(cityhall_db::StoreError::Conflict(_))),
        "{dup:?}"
    );
    assert!(db
        .grant_role(now(), "admin", &id, Role::Officer, Some("SOTUPHAP"))
        .await
        .unwrap());
    assert!(!db
        .grant_role(now(), "admin", &id, Role::Officer, Some("SOTUPHAP"))
        .await
        .unwrap());
    let roles = db.roles_of(&id).await.unwrap();
    assert_eq!(roles.len(), 2);
    db.create_session(now(), "tokhash", &id, 3600, false)
        .await
        .unwrap();
    let s = db.session(now(), "tokhash").await.unwrap().unwrap();
    assert_eq!(s.user.username, "an");
    assert!(
        db.session(now() + time::Duration::hours(2), "tokhash")
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    db.set_password(now(), "an", &id, "h2").await.unwrap();
    assert!(
        db.session(now(), "tokhash").await.unwrap().is_none(),
        "password change ends sessions"
    );
    db.create_session(now(), "tok2", &id, 3600, false)
        .await
        .unwrap();
    db.set_disabled(now(), "admin", &id, true).await.unwrap();
    assert!(db.session(now(), "tok2").await.unwrap().is_none());
    let trail = db.entries_for_subject(&id, 50).await.unwrap();
    assert!(trail.iter().any(|e| e.action == "user.create"));
    assert!(trail.iter().any(|e| e.action == "user.role.grant"));
    assert!(trail.iter().any(|e| e.action == "user.disable"));
});

both_engines!(
    login_throttle_locks_after_five_failures,
    |db: Db| async move {
        let t = now();
        for i in 1..5 {
            assert_eq!(
                db.throttle_failure(t, "an").await.unwrap(),
                Throttle::Open { failures: i }
            );
        }
        assert!(matches!(
            db.throttle_failure(t, "an").await.unwrap(),
            Throttle::Locked { .. }
        ));
        assert!(matches!(
            db.throttle_state(t, "an").await.unwrap(),
            Throttle::Locked { .. }
        ));
        let later = t + time::Duration::minutes(16);
        assert_eq!(
            db.throttle_state(later, "an").await.unwrap(),
            Throttle::Open { failures: 0 }
        );
        assert_eq!(
            db.throttle_state(t, "other").await.unwrap(),
            Throttle::Open { failures: 0 }
        );
    }
);

both_engines!(outbox_claims_once_and_retries, |db: Db| async move {
    let t = now();
    let mut tx = db.begin().await.unwrap();
    for i in 0..3 {
        Db::enqueue(
            &mut tx,
            t,
            NewMessage {
                channel: Channel::Email,
                recipient: "a@b.vn",
                subject: "s",
                body: &i.to_string(),
            },
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    // A message queued in a rolled-back transaction never exists.
    let mut tx = db.begin().await.unwrap();
    Db::enqueue(
        &mut tx,
        t,
        NewMessage {
            channel: Channel::Sms,
            recipient: "0912345678",
            subject: "",
            body: "x",
        },
    )
    .await
    .unwrap();
    drop(tx);
    let first = db.claim(t, 10, 60).await.unwrap();
    assert_eq!(first.len(), 3);
    assert!(
        db.claim(t, 10, 60).await.unwrap().is_empty(),
        "leased messages are not claimed twice"
    );
    db.mark_sent(t, &first[0].id).await.unwrap();
    db.mark_failed(t, &first[1].id, "smtp down").await.unwrap();
    // The lease of the third runs out (a crashed worker); the failed one waits for its backoff.
    let later = t + time::Duration::seconds(61);
    let again = db.claim(later, 10, 60).await.unwrap();
    let ids: Vec<_> = again.iter().map(|m| m.id.clone()).collect();
    assert!(
        ids.contains(&first[1].id) && ids.contains(&first[2].id),
        "{ids:?}"
    );
    let stats = db.outbox_stats().await.unwrap();
    assert_eq!((stats.queued, stats.sent), (2, 1));
});

both_engines!(
    audit_catches_a_rewritten_tail_before_any_checkpoint,
    |db: Db| async move {
        write_entries(&db, 5).await;
        db.seal(&key(), 1000).await.unwrap();
        assert_eq!(problem(&db).await, None);
        // A forger rewrites the newest entry and recomputes its hash and the head, but cannot sign.
        let mut tx = db.begin().await.unwrap();
        let e: cityhall_db::audit::Entry = tx!(&mut tx, |c| sqlx::query_as(
        "SELECT id, seq, at, actor, action, object_type, object_id, subject_user_id, detail, digest, prev_hash, hash FROM audit_log WHERE seq = 5"
    )
    .fetch_one(c)
    .await)
    .unwrap();
        let forged = cityhall_core::audit::ChainEntry {
            seq: 5,
            id: &e.id,
            at_micros: e.at,
            actor: "mallory",
            action: &e.action,
            object_type: &e.object_type,
            object_id: &e.object_id,
            subject_user_id: None,
            digest: &e.digest,
        }
        .hash(e.prev_hash.as_deref().unwrap());
        tx!(&mut tx, |c| sqlx::query(
            "UPDATE audit_log SET actor = 'mallory', hash = $1 WHERE seq = 5"
        )
        .bind(&forged)
        .execute(c)
        .await
        .map(|_| ()))
        .unwrap();
        tx!(&mut tx, |c| sqlx::query("UPDATE audit_head SET hash = $1")
            .bind(&forged)
            .execute(c)
            .await
            .map(|_| ()))
        .unwrap();
        tx.commit().await.unwrap();
        let p = problem(&db).await.expect("tampering found");
        assert!(p.contains("head"), "{p}");
    }
);

both_engines!(
    two_workers_never_claim_the_same_message,
    |db: Db| async move {
        let t = now();
        let mut tx = db.begin().await.unwrap();
        for i in 0..40 {
            Db::enqueue(
                &mut tx,
                t,
                NewMessage {
                    channel: Channel::Email,
                    recipient: "a@b.vn",
                    subject: "s",
                    body: &i.to_string(),
                },
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        // Two replicas' workers claim at the same moment, in small batches, until nothing is left.
        let worker = |db: Db| async move {
            let mut mine = vec![];
            loop {
                let batch = db.claim(t, 3, 60).await.unwrap();
                if batch.is_empty() {
                    return mine;
                }
                mine.extend(batch.into_iter().map(|m| m.id));
            }
        };
        let (a, b) = tokio::join!(
            tokio::spawn(worker(db.clone())),
            tokio::spawn(worker(db.clone()))
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        let mut all: Vec<_> = a.iter().chain(b.iter()).cloned().collect();
        all.sort();
        let before = all.len();
        all.dedup();
        assert_eq!(before, all.len(), "a message was claimed twice");
        assert_eq!(all.len(), 40);
    }
);

both_engines!(
    audit_catches_an_entry_appended_past_the_head,
    |db: Db| async move {
        write_entries(&db, 3).await;
        db.seal(&key(), 100).await.unwrap();
        exec(
        &db,
        "INSERT INTO audit_log (id, seq, at, actor, action, object_type, object_id, detail, digest, prev_hash, hash) \
         SELECT 'appended', 4, at, 'mallory', 'test.write', 'thing', 'x', detail, digest, hash, hash \
         FROM audit_log WHERE seq = 3",
    )
    .await;
        let p = problem(&db).await.expect("tampering found");
        assert!(p.contains("#4") && p.contains("beyond the head"), "{p}");
    }
);

both_engines!(
    verifying_while_the_sealer_runs_finds_no_false_tampering,
    |db: Db| async move {
        let writer = {
            let db = db.clone();
            tokio::spawn(async move {
                for _ in 0..30 {
                    write_entries(&db, 2).await;
                    db.seal(&key(), 5).await.unwrap();
                }
            })
        };
        while !writer.is_finished() {
            assert_eq!(problem(&db).await, None);
        }
        writer.await.unwrap();
        assert_eq!(problem(&db).await, None);
    }
);
