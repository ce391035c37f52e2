//! Feedback pages over HTTP on both engines: the resident's two-step form with its errors
//! beside the fields and nothing stored, SMS confirmation, the public page without personal
//! data, the unit's queue and actions with stale-form conflicts, the hotline console, the
//! routing rules, and who may open what.

mod common;

use cityhall_core::identity::Role;
use cityhall_db::FeedbackStore;
use common::*;

fn png() -> Vec<u8> {
    // A 1×1 PNG with a text chunk (removed before storing).
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    let chunk = |v: &mut Vec<u8>, kind: &[u8], data: &[u8]| {
        v.extend(u32::try_from(data.len()).unwrap().to_be_bytes());
        let mut c = kind.to_vec();
        c.extend(data);
        v.extend(&c);
        v.extend(crc32(&c).to_be_bytes());
    };
    chunk(&mut v, b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]);
    chunk(&mut v, b"tEXt", b"Comment\0taken at 10.7769,106.7009");
    chunk(
        &mut v,
        b"IDAT",
        &[
            0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0x00, 0x00, 0x03, 0x01, 0x01, 0x00,
        ],
    );
    chunk(&mut v, b"IEND", &[]);
    v
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for b in data {
        c ^= u32::from(*b);
        for _ in 0..8 {
            c = if c & 1 == 1 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// The report form's multipart body, with the page's CSRF token and idempotency key.
async fn report_form(
    c: &Client,
    query: &str,
    fields: &[(&str, &str)],
    photos: Vec<Vec<u8>>,
) -> reqwest::multipart::Form {
    let (status, page) = c.text(&format!("/feedback/new?{query}")).await;
    assert_eq!(status, 200);
    let csrf = extract(&page, "name=\"csrf_token\" value=\"", "\"").unwrap();
    let idem = extract(&page, "name=\"idem\" value=\"", "\"").expect("step two");
    let mut form = reqwest::multipart::Form::new()
        .text("csrf_token", csrf)
        .text("idem", idem);
    for h in ["category", "lat", "lon", "address"] {
        if let Some(v) = extract(&page, &format!("name=\"{h}\" value=\""), "\"") {
            form = form.text(h, v);
        }
    }
    // The ward select of step two, with the ward found preselected.
    if !fields.iter().any(|(k, _)| *k == "ward") {
        let select = extract(&page, "<select id=\"ward\" name=\"ward\"", "</select>").unwrap();
        let i = select.find(" selected>").expect("a ward preselected");
        let start = select[..i].rfind("value=\"").unwrap() + 7;
        form = form.text("ward", select[start..i - 1].to_string());
    }
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    for p in photos {
        form = form.part(
            "photos",
            reqwest::multipart::Part::bytes(p).file_name("anh.png"),
        );
    }
    form
}

async fn post_multipart(
    c: &Client,
    path: &str,
    form: reqwest::multipart::Form,
) -> reqwest::Response {
    c.http
        .post(format!("{}{}", c.base, path))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn count_reports(s: &TestServer) -> i64 {
    s.db.reports(&cityhall_db::feedback::ReportFilter {
        limit: 1,
        ..Default::default()
    })
    .await
    .unwrap()
    .1
}

async fn outbox(s: &TestServer) -> Vec<String> {
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

web_test!(
    resident_form_confirmation_and_public_page,
    |engine| async move {
        let Some(s) = start(engine, |_| {}).await else {
            return;
        };
        let c = Client::new(&s);
        // Step one refuses a point outside the city, beside the field.
        let (st, page) = c
            .text("/feedback/new?category=road-damage&lat=21.03&lon=105.85")
            .await;
        assert_eq!(st, 200);
        assert!(page.contains("id=\"location-err\""), "{page}");
        assert!(page.contains("ngoài Thành phố Hồ Chí Minh"));
        // An unknown ward and a bad coordinate are each named.
        let (_, page) = c
            .text("/feedback/new?category=road-damage&ward=99999")
            .await;
        assert!(page.contains("id=\"ward-err\""));
        let (_, page) = c
            .text("/feedback/new?category=road-damage&lat=abc&lon=106.7")
            .await;
        assert!(page.contains("Tọa độ không hợp lệ"));

        // Step two: the ward comes from the point (Sài Gòn ward's centre area).
        let q = "category=road-damage&lat=10.7769&lon=106.7009&address=12+L%C3%AA+L%E1%BB%A3i";
        let (_, page) = c.text(&format!("/feedback/new?{q}")).await;
        assert!(page.contains("Phường Sài Gòn"), "ward found from the point");

        // A fake image, a long description and a bad phone: every problem at once, nothing kept.
        let long = "x".repeat(4001);
        let form = report_form(
            &c,
            q,
            &[("description", long.as_str()), ("phone", "12345")],
            vec![b"GIF89a not really".to_vec()],
        )
        .await;
        let before = count_reports(&s).await;
        let res = post_multipart(&c, "/feedback/new", form).await;
        assert_eq!(res.status(), 422);
        let body = res.text().await.unwrap();
        for id in ["description-err", "photos-err", "phone-err"] {
            assert!(body.contains(&format!("id=\"{id}\"")), "{id} in {body}");
        }
        assert!(
            body.contains("chọn lại ảnh"),
            "says photos must be chosen again"
        );
        assert_eq!(count_reports(&s).await, before);

        // Six photos are too many.
        let form = report_form(
            &c,
            q,
            &[("description", "Ổ gà lớn"), ("phone", "0912345678")],
            vec![png(); 6],
        )
        .await;
        let res = post_multipart(&c, "/feedback/new", form).await;
        assert_eq!(res.status(), 422);
        assert!(res.text().await.unwrap().contains("Tối đa 5 ảnh"));
        assert_eq!(count_reports(&s).await, before);

        // A good report without an account waits for the SMS code.
        let form = report_form(
            &c,
            q,
            &[
                ("description", "Ổ gà lớn giữa đường, xe máy dễ té"),
                ("phone", "0912 345 678"),
                ("name", "Nguyễn Văn Dân"),
                ("hide_name", "1"),
            ],
            vec![png()],
        )
        .await;
        let res = post_multipart(&c, "/feedback/new", form).await;
        assert_eq!(res.status(), 303);
        let to = location(&res);
        assert!(to.ends_with("/confirm"), "{to}");
        let code = to
            .trim_start_matches("/feedback/")
            .trim_end_matches("/confirm")
            .to_string();
        // Nothing but the code and the state is public before confirmation.
        let (st, page) = c.text(&format!("/feedback/{code}")).await;
        assert_eq!(st, 200);
        assert!(!page.contains("Ổ gà lớn"));
        let sms = outbox(&s).await;
        let secret = sms
            .iter()
            .find_map(|b| b.rsplit(": ").next().filter(|c| c.len() == 6))
            .expect("an SMS with the code")
            .to_string();
        let wrong = if secret == "000000" {
            "111111"
        } else {
            "000000"
        };
        let res = c
            .post_form(&format!("/feedback/{code}/confirm"), &[("secret", wrong)])
            .await;
        assert_eq!(res.status(), 422);
        assert!(res.text().await.unwrap().contains("secret-err"));
        let res = c
            .post_form(&format!("/feedback/{code}/confirm"), &[("secret", &secret)])
            .await;
        assert_eq!(res.status(), 303);
        let (_, page) = c.text(&format!("/feedback/{code}?confirmed=1")).await;
        assert!(page.contains("Ổ gà lớn giữa đường"));
        assert!(page.contains("ẩn danh theo yêu cầu"), "name hidden");
        assert!(!page.contains("Nguyễn Văn Dân") && !page.contains("0912345678"));
        // The photo is served without its text chunk.
        let url = extract(&page, "<img src=\"", "\"").expect("a photo");
        let res = c.get(&url).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "image/png");
        let bytes = res.bytes().await.unwrap();
        assert!(!bytes.windows(7).any(|w| w == b"10.7769"));

        // The public list finds it by category and ward, not by another category.
        let (_, list) = c.text("/feedback?category=road-damage&ward=26734").await;
        let (_, list_all) = c.text("/feedback?category=road-damage").await;
        assert!(list_all.contains(&code));
        let _ = list;
        let (_, none) = c.text("/feedback?category=noise").await;
        assert!(!none.contains(&code));
        let (_, bad) = c.text("/feedback?from=23-11-2026").await;
        assert!(bad.contains("năm-tháng-ngày"));

        // A second resident nearby is shown the open report before filing.
        let (_, page) = c.text(&format!("/feedback/new?{q}")).await;
        assert!(page.contains("data-testid=\"nearby\""));
        assert!(page.contains(&code));
        let (_, page) = c
            .text("/feedback/new?category=street-light&lat=10.7769&lon=106.7009")
            .await;
        assert!(!page.contains(&code), "another category is not a duplicate");
    }
);

web_test!(unit_queue_actions_and_reporter, |engine| async move {
    let Some(s) = start(engine, |_| {}).await else {
        return;
    };
    s.user("dan", Role::Citizen, None).await;
    s.user("can.bo", Role::Officer, Some("UBND-26740")).await;
    s.user("can.bo.khac", Role::Officer, Some("UBND-26743"))
        .await;
    let resident = s.signed_in("dan").await;
    let form = report_form(
        &resident,
        "category=sidewalk-encroachment&ward=26740",
        &[("description", "Quán ăn lấn hết vỉa hè")],
        vec![],
    )
    .await;
    let res = post_multipart(&resident, "/feedback/new", form).await;
    assert_eq!(res.status(), 303);
    let to = location(&res);
    assert!(to.contains("?filed=1"), "signed in: filed at once ({to})");
    let code = to
        .trim_start_matches("/feedback/")
        .split('?')
        .next()
        .unwrap()
        .to_string();

    // Who may open the staff pages.
    let anon = Client::new(&s);
    let res = anon.get("/desk/feedback").await;
    assert_eq!(res.status(), 303, "anonymous: to sign-in");
    assert_eq!(resident.get("/desk/feedback").await.status(), 403);
    assert_eq!(resident.get("/hotline").await.status(), 403);
    assert_eq!(resident.get("/admin/feedback/routes").await.status(), 403);
    let other = s.signed_in("can.bo.khac").await;
    assert_eq!(
        other.get(&format!("/desk/feedback/{code}")).await.status(),
        403
    );
    let (_, q) = other.text("/desk/feedback").await;
    assert!(!q.contains(&code), "not in another unit's queue");

    let officer = s.signed_in("can.bo").await;
    let (st, q) = officer.text("/desk/feedback").await;
    assert_eq!(st, 200);
    assert!(q.contains(&code));
    let (_, page) = officer.text(&format!("/desk/feedback/{code}")).await;
    let version = extract(&page, "name=\"row_version\" value=\"", "\"").unwrap();
    let csrf = extract(&page, "name=\"csrf_token\" value=\"", "\"").unwrap();
    let act = |fields: Vec<(&'static str, String)>| {
        let mut f = reqwest::multipart::Form::new().text("csrf_token", csrf.clone());
        for (k, v) in fields {
            f = f.text(k, v);
        }
        f
    };
    let res = post_multipart(
        &officer,
        &format!("/desk/feedback/{code}/act"),
        act(vec![
            ("action", "assign".into()),
            ("row_version", version.clone()),
        ]),
    )
    .await;
    assert_eq!(res.status(), 303);
    // An internal note needs no version; then a form read before it is stale.
    let res = post_multipart(
        &officer,
        &format!("/desk/feedback/{code}/act"),
        act(vec![("action", "note".into()), ("note", "ghi chú".into())]),
    )
    .await;
    assert_eq!(res.status(), 303, "a note does not carry the version");
    let res = post_multipart(
        &officer,
        &format!("/desk/feedback/{code}/act"),
        act(vec![
            ("action", "resolve".into()),
            ("note", "Đã nhắc nhở, vỉa hè thông thoáng".into()),
            ("row_version", version.clone()),
        ]),
    )
    .await;
    assert_eq!(res.status(), 409);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Người khác vừa cập nhật"));
    // Resolving without a public note is refused beside the field.
    let (_, page) = officer.text(&format!("/desk/feedback/{code}")).await;
    let version = extract(&page, "name=\"row_version\" value=\"", "\"").unwrap();
    let res = post_multipart(
        &officer,
        &format!("/desk/feedback/{code}/act"),
        act(vec![
            ("action", "resolve".into()),
            ("row_version", version.clone()),
        ]),
    )
    .await;
    assert_eq!(res.status(), 422);
    let form = act(vec![
        ("action", "resolve".into()),
        ("note", "Đã nhắc nhở, vỉa hè thông thoáng".into()),
        ("row_version", version),
    ])
    .part(
        "photos",
        reqwest::multipart::Part::bytes(png()).file_name("sau.png"),
    );
    let res = post_multipart(&officer, &format!("/desk/feedback/{code}/act"), form).await;
    assert_eq!(res.status(), 303);

    // The public page shows the outcome, not the internal note.
    let (_, page) = resident.text(&format!("/feedback/{code}")).await;
    assert!(page.contains("vỉa hè thông thoáng"));
    assert!(!page.contains("ghi chú"));
    assert!(page.contains("data-testid=\"rate\""));
    // Another resident cannot act for the reporter.
    s.user("khac", Role::Citizen, None).await;
    let stranger = s.signed_in("khac").await;
    let res = stranger
        .post_form(
            &format!("/feedback/{code}/reporter"),
            &[("action", "rate"), ("rating", "1")],
        )
        .await;
    assert_eq!(res.status(), 403);
    let res = resident
        .post_form(
            &format!("/feedback/{code}/reporter"),
            &[("action", "rate"), ("rating", "9")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let res = resident
        .post_form(
            &format!("/feedback/{code}/reporter"),
            &[("action", "rate"), ("rating", "5"), ("note", "Cảm ơn")],
        )
        .await;
    assert_eq!(res.status(), 303);
    let row = s.db.report_by_code(&code).await.unwrap();
    assert_eq!(row.rating, Some(5));
    assert_eq!(s.db.photos(&row.id).await.unwrap().len(), 1);
    // Rating twice is a conflict.
    let res = resident
        .post_form(
            &format!("/feedback/{code}/reporter"),
            &[("action", "rate"), ("rating", "4")],
        )
        .await;
    assert_eq!(res.status(), 409);
});

web_test!(hotline_console_and_routing_rules, |engine| async move {
    let Some(s) = start(engine, |_| {}).await else {
        return;
    };
    s.user("tongdai", Role::Operator, None).await;
    s.user("quantri", Role::CityAdmin, None).await;
    let admin = s.signed_in("quantri").await;
    // A rule: noise in ward 26740 goes to the city police.
    let (st, page) = admin.text("/admin/feedback/routes").await;
    assert_eq!(st, 200);
    assert!(page.contains("sidewalk-encroachment"));
    let res = admin
        .post_form(
            "/admin/feedback/routes",
            &[("category", "noise"), ("ward", "26740"), ("agency", "NOPE")],
        )
        .await;
    assert_eq!(res.status(), 422);
    let res = admin
        .post_form(
            "/admin/feedback/routes",
            &[("category", "noise"), ("ward", "26740"), ("agency", "CATP")],
        )
        .await;
    assert_eq!(res.status(), 303);

    let op = s.signed_in("tongdai").await;
    let (st, _) = op.text("/hotline").await;
    assert_eq!(st, 200);
    let (_, page) = op.text("/hotline?category=noise&ward=26740").await;
    let csrf = extract(&page, "name=\"csrf_token\" value=\"", "\"").unwrap();
    let idem = extract(&page, "name=\"idem\" value=\"", "\"").unwrap();
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", csrf)
        .text("idem", idem)
        .text("category", "noise")
        .text("ward", "26740")
        .text("description", "Karaoke ồn sau 22 giờ")
        .text("name", "Trần Thị Gọi")
        .text("phone", "0987654321");
    let res = post_multipart(&op, "/hotline", form).await;
    assert_eq!(res.status(), 303);
    let to = location(&res);
    let code = to.split("filed=").nth(1).unwrap().to_string();
    let row = s.db.report_by_code(&code).await.unwrap();
    assert_eq!(row.channel, "hotline");
    assert_eq!(
        row.status, "open",
        "an operator's report needs no confirmation"
    );
    assert_eq!(row.agency_code, "CATP", "the admin's rule routed it");
    // Look up by phone (any spelling) and by code.
    let (_, page) = op.text("/hotline?lookup=098+765+4321").await;
    assert!(page.contains(&code), "found by phone");
    let res = op.get(&format!("/hotline?lookup={code}")).await;
    assert_eq!(location(&res), format!("/desk/feedback/{code}"));
    let (st, page) = op.text(&format!("/desk/feedback/{code}")).await;
    assert_eq!(st, 200, "the operator reads the report");
    assert!(page.contains("0987654321"));
    assert!(!page.contains("do-resolve"), "but does not act on it");
    let (_, page) = op.text("/hotline?lookup=abc").await;
    assert!(page.contains("lookup-err"));
    // Reading the caller's details and looking up a phone are in the audit log.
    let mut tx = s.db.begin().await.unwrap();
    let actions: Vec<String> = cityhall_db::tx!(&mut tx, |c| sqlx::query_scalar(
        "SELECT action FROM audit_log ORDER BY seq"
    )
    .fetch_all(c)
    .await)
    .unwrap();
    tx.commit().await.unwrap();
    for a in [
        "feedback.route.set",
        "report.create",
        "report.lookup",
        "report.read",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
    // Deleting the rule sends the next one back to the ward.
    let res = admin
        .post_form(
            "/admin/feedback/routes/delete",
            &[("category", "noise"), ("ward", "26740")],
        )
        .await;
    assert_eq!(res.status(), 303);
    assert!(s.db.route_for("noise", "26740").await.unwrap().is_none());
});

async fn bearer(s: &TestServer, user: &str) -> String {
    let res = reqwest::Client::new()
        .post(s.url("/api/v1/auth/token"))
        .json(&serde_json::json!({"username": user, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    res.json::<serde_json::Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string()
}

web_test!(report_api_with_bearer_tokens, |engine| async move {
    let Some(s) = start(engine, |_| {}).await else {
        return;
    };
    s.user("dan", Role::Citizen, None).await;
    s.user("khac", Role::Citizen, None).await;
    s.user("can.bo", Role::Officer, Some("UBND-26740")).await;
    let resident = s.signed_in("dan").await;
    let form = report_form(
        &resident,
        "category=waste-collection&ward=26740",
        &[
            ("description", "Rác không được thu gom ba ngày"),
            ("phone", "0911222333"),
        ],
        vec![],
    )
    .await;
    let res = post_multipart(&resident, "/feedback/new", form).await;
    let code = location(&res)
        .trim_start_matches("/feedback/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let http = reqwest::Client::new();
    let read = http
        .get(s.url(&format!("/api/v1/reports/{code}")))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let body: serde_json::Value = read.json().await.unwrap();
    assert_eq!(body["status"], "open");
    assert!(!body.to_string().contains("0911222333"), "no personal data");
    let v = body["row_version"].as_i64().unwrap();
    let act = |tok: String, body: serde_json::Value| {
        let http = http.clone();
        let url = s.url(&format!("/api/v1/reports/{code}/actions"));
        async move {
            http.post(url)
                .bearer_auth(tok)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let stranger = bearer(&s, "khac").await;
    let officer = bearer(&s, "can.bo").await;
    let r = act(stranger, serde_json::json!({"action": "assign"})).await;
    assert_eq!(r.status(), 403);
    let r = act(
        officer.clone(),
        serde_json::json!({"action": "assign", "row_version": v}),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["status"],
        "in_progress"
    );
    let r = act(
        officer.clone(),
        serde_json::json!({"action": "resolve", "row_version": v, "note": "Đã thu gom"}),
    )
    .await;
    assert_eq!(r.status(), 409, "stale version");
    let r = act(officer.clone(), serde_json::json!({"action": "fly"})).await;
    assert_eq!(r.status(), 400);
    let r = act(
        officer,
        serde_json::json!({"action": "resolve", "note": "Đã thu gom"}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let r = act(
        bearer(&s, "dan").await,
        serde_json::json!({"action": "rate", "rating": 4}),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["rating"], 4);
    let nf = http
        .get(s.url("/api/v1/reports/PA-991231-9999"))
        .send()
        .await
        .unwrap();
    assert_eq!(nf.status(), 404);
    // Both APIs are in the OpenAPI document.
    let doc: serde_json::Value = http
        .get(s.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["paths"]["/api/v1/reports/{code}/actions"].is_object());
    assert!(doc["paths"]["/api/v1/dossiers"].is_object());
});
