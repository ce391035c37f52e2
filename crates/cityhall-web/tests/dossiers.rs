//! The dossier journey through the API and pages, on both engines.

mod common;

use base64::Engine as _;
use cityhall_core::identity::Role;
use cityhall_db::DossierStore;
use common::*;
use serde_json::{json, Value};

async fn token(s: &TestServer, username: &str) -> String {
    let r = reqwest::Client::new()
        .post(s.url("/api/v1/auth/token"))
        .json(&json!({"username": username, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "token for {username}");
    r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string()
}

fn pdf() -> String {
    base64::engine::general_purpose::STANDARD.encode(b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n")
}

fn birth(ward: &str, file: &str) -> Value {
    json!({"procedure": "1.001193",
           "form": {"child_name": "Nguyễn Văn Bé", "birth_date": "2026-11-01", "sex": "nam", "ward": ward},
           "delivery": "online",
           "attachments": [{"field": "birth_proof", "filename": "chung-sinh.pdf", "content_base64": file}]})
}

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    tok: &str,
    body: Option<Value>,
    key: Option<&str>,
) -> (u16, Value) {
    let mut r = http.request(method, url).bearer_auth(tok);
    if let Some(b) = body {
        r = r.json(&b);
    }
    if let Some(k) = key {
        r = r.header("Idempotency-Key", k);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

web_test!(
    api_journey_routing_conflicts_and_signed_result,
    |engine| async move {
        let Some(s) = start(engine, |_| {}).await else {
            return;
        };
        s.user("an", Role::Citizen, None).await;
        s.user("can.saigon", Role::Officer, Some("UBND-26740"))
            .await;
        s.user("can.khac", Role::Officer, Some("UBND-27004")).await;
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        let an = token(&s, "an").await;
        let officer = token(&s, "can.saigon").await;
        let other = token(&s, "can.khac").await;
        use reqwest::Method as M;

        // A file that is not what it claims is refused beside its field; nothing is stored.
        let fake = base64::engine::general_purpose::STANDARD.encode(b"MZ not a pdf");
        let (st, body) = call(
            &http,
            M::POST,
            s.url("/api/v1/dossiers"),
            &an,
            Some(birth("26740", &fake)),
            None,
        )
        .await;
        assert_eq!(st, 422, "{body}");
        assert!(body["error"]["fields"]["birth_proof"].is_string(), "{body}");
        let (st, body) = call(
            &http,
            M::POST,
            s.url("/api/v1/dossiers"),
            &an,
            Some(json!({"procedure": "1.001193", "form": {}})),
            None,
        )
        .await;
        assert_eq!(st, 422);
        assert!(
            body["error"]["fields"]["child_name"].is_string()
                && body["error"]["fields"]["ward"].is_string(),
            "{body}"
        );

        // Submitting twice with the same key makes one dossier.
        let (st, first) = call(
            &http,
            M::POST,
            s.url("/api/v1/dossiers"),
            &an,
            Some(birth("26740", &pdf())),
            Some("k-1"),
        )
        .await;
        assert_eq!(st, 201, "{first}");
        let (st, again) = call(
            &http,
            M::POST,
            s.url("/api/v1/dossiers"),
            &an,
            Some(birth("26740", &pdf())),
            Some("k-1"),
        )
        .await;
        assert_eq!(st, 200);
        assert_eq!(first["code"], again["code"]);
        let code = first["code"].as_str().unwrap().to_string();
        assert!(code.starts_with("UBND-26740-"), "{code}");
        assert_eq!(first["status"], 1);

        // Public status: no personal data.
        let (st, pubst) = call(
            &http,
            M::GET,
            s.url(&format!("/api/v1/dossiers/{code}/status")),
            "",
            None,
            None,
        )
        .await;
        assert_eq!(st, 200);
        assert_eq!(pubst["procedure_name"], "Đăng ký khai sinh");
        assert!(!pubst.to_string().contains("Người Thử") && !pubst.to_string().contains("Bé"));

        // Another ward's officer neither sees nor acts.
        let (st, _) = call(
            &http,
            M::GET,
            s.url(&format!("/api/v1/dossiers/{code}")),
            &other,
            None,
            None,
        )
        .await;
        assert_eq!(st, 404);
        let (st, _) = call(
            &http,
            M::POST,
            s.url(&format!("/api/v1/dossiers/{code}/actions")),
            &other,
            Some(json!({"action": "accept"})),
            None,
        )
        .await;
        assert_eq!(st, 404);
        // A resident cannot act as staff.
        let (st, _) = call(
            &http,
            M::POST,
            s.url(&format!("/api/v1/dossiers/{code}/actions")),
            &an,
            Some(json!({"action": "accept"})),
            None,
        )
        .await;
        assert_eq!(st, 403);

        let act = |body: Value| {
            let http = http.clone();
            let url = s.url(&format!("/api/v1/dossiers/{code}/actions"));
            let officer = officer.clone();
            async move { call(&http, M::POST, url, &officer, Some(body), None).await }
        };
        let (st, acc) = act(json!({"action": "accept"})).await;
        assert_eq!(st, 200, "{acc}");
        assert_eq!(acc["status"], 2);
        assert!(
            acc["due_at"].as_str().unwrap().contains("T17:00:00+07:00"),
            "{acc}"
        );
        let v = acc["record"]["row_version"].as_i64().unwrap();

        // Two officers act on what they both saw: one wins, the other gets a conflict.
        let (a, b) = tokio::join!(
            act(json!({"action": "request_supplement", "reason": "Ảnh mờ", "row_version": v})),
            act(json!({"action": "approve", "row_version": v}))
        );
        let mut statuses = [a.0, b.0];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "{a:?} {b:?}");
        let (_, rec) = call(
            &http,
            M::GET,
            s.url(&format!("/api/v1/dossiers/{code}")),
            &an,
            None,
            None,
        )
        .await;
        let state = rec["state"].as_str().unwrap().to_string();
        if state == "supplement" {
            assert_eq!(rec["record"]["supplement_count"], 1);
            // The resident sends the supplement through the page (multipart, CSRF).
            let c = s.signed_in("an").await;
            let csrf = c.csrf(&format!("/dossiers/{code}")).await;
            let form = reqwest::multipart::Form::new()
                .text("csrf_token", csrf)
                .text("note", "Ảnh rõ hơn")
                .part(
                    "files",
                    reqwest::multipart::Part::bytes(b"%PDF-1.4 supplement".to_vec())
                        .file_name("bo-sung.pdf"),
                );
            let r = c
                .http
                .post(format!("{}/dossiers/{code}/supplement", c.base))
                .multipart(form)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 303);
            let (_, rec) = call(
                &http,
                M::GET,
                s.url(&format!("/api/v1/dossiers/{code}")),
                &an,
                None,
                None,
            )
            .await;
            assert_eq!(rec["state"], "processing");
            assert!(rec["record"]["files"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["stage"] == "supplement"));
            let (st, _) = act(json!({"action": "approve"})).await;
            assert_eq!(st, 200);
        } else {
            assert_eq!(state, "done");
        }
        // Missing facts are named.
        let (st, e) = act(json!({"action": "reject"})).await;
        assert_eq!(st, 409, "{e}");
        let (st, ret) = act(json!({"action": "return"})).await;
        assert_eq!(st, 200);
        assert_eq!(ret["status"], 10);

        // The signed result verifies; a changed payload does not.
        let (_, rec) = call(
            &http,
            M::GET,
            s.url(&format!("/api/v1/dossiers/{code}")),
            &an,
            None,
            None,
        )
        .await;
        let rcode = rec["record"]["results"][0]["code"]
            .as_str()
            .unwrap()
            .to_string();
        let v: Value = http
            .get(s.url(&format!("/verify/{rcode}?format=json")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["valid"], true, "{v}");
        assert_eq!(v["payload"]["holder"]["name"], "Người Thử");
        let mut tx = s.db.begin().await.unwrap();
        cityhall_db::tx!(&mut tx, |c| sqlx::query(
            "UPDATE issued_documents SET payload = REPLACE(payload, 'Bé', 'Lớn')"
        )
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
        .unwrap();
        tx.commit().await.unwrap();
        let v: Value = http
            .get(s.url(&format!("/verify/{rcode}?format=json")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["valid"], false);

        // The timeline and the indicator facts.
        let rec = &rec["record"];
        let actions: Vec<&str> = rec["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions.first(), Some(&"submit"));
        assert_eq!(actions.last(), Some(&"return"));
        assert_eq!(rec["e_result"], true);
        assert_eq!(rec["inputs_digitised"], true);
        assert_eq!(rec["channel"], "online");
        assert!(
            rec["finished_at"].is_i64()
                && rec["returned_at"].is_i64()
                && rec["accepted_at"].is_i64()
        );
    }
);

web_test!(pages_apply_wallet_reuse_and_payment, |engine| async move {
    let Some(s) = start(engine, |_| {}).await else {
        return;
    };
    s.user("binh", Role::Citizen, None).await;
    s.user("can.saigon", Role::Officer, Some("UBND-26740"))
        .await;
    s.user("can.catp", Role::Officer, Some("CATP")).await;
    let c = s.signed_in("binh").await;

    // Search without diacritics finds the procedure.
    let (st, page) = c.text("/procedures?q=dang+ky+khai+sinh").await;
    assert_eq!(st, 200);
    let first = extract(&page, "<a href=\"/procedures/", "\"").unwrap();
    assert_eq!(first, "1.001193");

    // A form with problems comes back with each problem beside its field and what was typed.
    let csrf = c.csrf("/procedures/1.001193/apply").await;
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", csrf.clone())
        .text("idem_key", "p-1")
        .text("f_child_name", "Trần Thị Hoa")
        .text("f_birth_date", "01/11/2026")
        .text("f_ward", "26740")
        .text("delivery", "online");
    let r = c
        .http
        .post(format!("{}/procedures/1.001193/apply", c.base))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("Trần Thị Hoa"));
    assert!(
        body.contains("f_birth_date-err")
            && body.contains("f_birth_proof-err")
            && body.contains("f_sex-err")
    );

    let submit = |key: &'static str| {
        let csrf = csrf.clone();
        let c = &c;
        async move {
            let form = reqwest::multipart::Form::new()
                .text("csrf_token", csrf)
                .text("idem_key", key)
                .text("intent", "submit")
                .text("f_child_name", "Trần Thị Hoa")
                .text("f_birth_date", "2026-11-01")
                .text("f_sex", "nu")
                .text("f_ward", "26740")
                .text("delivery", "online")
                .text("rep_kind", "person")
                .text("rep_name", "Trần Thị Hoa")
                .text("rep_relation", "con")
                .part(
                    "f_birth_proof",
                    reqwest::multipart::Part::bytes(b"\x89PNG\r\n\x1a\nxxxx".to_vec())
                        .file_name("cs.png"),
                );
            c.http
                .post(format!("{}/procedures/1.001193/apply", c.base))
                .multipart(form)
                .send()
                .await
                .unwrap()
        }
    };
    // A double-clicked submit creates one dossier.
    let (r1, r2) = tokio::join!(submit("p-2"), submit("p-2"));
    assert_eq!((r1.status().as_u16(), r2.status().as_u16()), (303, 303));
    assert_eq!(location(&r1), location(&r2));
    let code = location(&r1)
        .trim_start_matches("/dossiers/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let (_, mine) = c.text("/dossiers").await;
    assert_eq!(
        mine.matches(&format!("href=\"/dossiers/{code}\"")).count(),
        1
    );
    assert_eq!(mine.matches("<th scope=\"row\">").count(), 1);

    // The officer accepts, requests payment; the resident pays through the sandbox.
    let o = s.signed_in("can.saigon").await;
    let act = |action: &'static str, extra: Vec<(&'static str, &'static str)>| {
        let o = &o;
        let code = code.clone();
        async move {
            let (_, page) = o.text(&format!("/dossiers/{code}")).await;
            let v = extract(&page, "name=\"row_version\" value=\"", "\"").unwrap();
            let mut fields = vec![("action", action), ("row_version", v.as_str())];
            fields.extend(extra);
            let r = o.post_form(&format!("/dossiers/{code}/act"), &fields).await;
            r.status().as_u16()
        }
    };
    assert_eq!(act("accept", vec![]).await, 303);
    assert_eq!(act("request_payment", vec![("amount", "8.000")]).await, 303);
    let r = c.post_form(&format!("/dossiers/{code}/pay"), &[]).await;
    assert_eq!(r.status(), 303);
    let to_provider = location(&r);
    assert!(to_provider.starts_with("/pay/sandbox?"), "{to_provider}");
    // A tampered amount is refused by the provider page.
    let (st, _) = c
        .text(&to_provider.replace("vnp_Amount=800000", "vnp_Amount=100"))
        .await;
    assert_eq!(st, 400);
    let (_, sandbox) = c.text(&to_provider).await;
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut rest = sandbox.as_str();
    while let Some(i) = rest.find("<input type=\"hidden\" name=\"vnp_") {
        rest = &rest[i + 27..];
        let name = rest[..rest.find('"').unwrap()].to_string();
        let vstart = rest.find("value=\"").unwrap() + 7;
        let value = rest[vstart..vstart + rest[vstart..].find('"').unwrap()]
            .replace("&#43;", "+")
            .replace("&amp;", "&")
            .replace("&#x2f;", "/");
        fields.push((name, value));
    }
    let mut f: Vec<(&str, &str)> = fields
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    f.push(("choice", "pay"));
    let r = c.post_form("/pay/sandbox", &f).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let back = location(&r);
    assert!(back.starts_with("/pay/return?"));
    let r = c.get(&back).await;
    assert_eq!(location(&r), format!("/dossiers/{code}?paid=1"));
    // The return link replayed changes nothing more.
    let r = c.get(&back).await;
    assert_eq!(location(&r), format!("/dossiers/{code}?paid=1"));
    let d = s.db.dossier_by_code(&code).await.unwrap();
    assert!(d.fee_paid_online);
    assert_eq!((d.state.as_str(), d.fee_due), ("processing", 8000));
    let events = s.db.events(&d.id).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.action == "pay").count(), 1);
    // A payment recorded while the dossier stayed waiting (as an older version could leave
    // it after a crash between the two): the provider's retried confirmation repairs it.
    let mut tx = s.db.begin().await.unwrap();
    cityhall_db::tx!(&mut tx, |c| {
        sqlx::query(
        "UPDATE dossiers SET state = 'payment', status = 6, fee_paid_online = FALSE WHERE code = $1"
    )
    .bind(&code)
    .execute(c)
    .await
    .map(|r| r.rows_affected())
    })
    .unwrap();
    tx.commit().await.unwrap();
    let r = c.get(&back).await;
    assert_eq!(location(&r), format!("/dossiers/{code}?paid=1"));
    let d = s.db.dossier_by_code(&code).await.unwrap();
    assert!(d.fee_paid_online);
    assert_eq!(d.state, "processing");
    // A forged confirmation is refused.
    let (st, body) = c
        .text("/pay/ipn?vnp_TxnRef=x&vnp_Amount=1&vnp_ResponseCode=00&vnp_SecureHash=00")
        .await;
    assert_eq!(st, 200);
    assert!(body.contains("\"97\""));

    assert_eq!(act("approve", vec![]).await, 303);
    assert_eq!(act("return", vec![]).await, 303);
    let (_, wallet) = c.text("/wallet").await;
    let doc_code = extract(&wallet, "<a href=\"/verify/", "\"").unwrap();
    let issued = s.db.issued_by_code(&doc_code).await.unwrap();
    assert_eq!(issued.kind, "giay-khai-sinh");
    assert!(issued.payload.contains("Trần Thị Hoa"));

    // The passport form offers the birth certificate from the wallet; reusing it is recorded.
    let (_, apply) = c.text("/procedures/1.001456/apply").await;
    assert!(apply.contains(&format!("value=\"{}\"", issued.id)));
    let csrf = c.csrf("/procedures/1.001456/apply").await;
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", csrf)
        .text("idem_key", "pp-1")
        .text("f_passport_type", "gan-chip")
        .text("w_representative_proof", issued.id.clone())
        .text("delivery", "online")
        .part(
            "f_photo",
            reqwest::multipart::Part::bytes(vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2])
                .file_name("anh.jpg"),
        );
    let r = c
        .http
        .post(format!("{}/procedures/1.001456/apply", c.base))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let code2 = location(&r)
        .trim_start_matches("/dossiers/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    assert!(code2.starts_with("CATP-"), "{code2}");
    let d2 = s.db.dossier_by_code(&code2).await.unwrap();
    assert_eq!(d2.reused_count, 1);
    let files = s.db.files(&d2.id).await.unwrap();
    assert!(files.iter().any(
        |f| f.source == "wallet" && f.issued_document_id.as_deref() == Some(issued.id.as_str())
    ));
    // The ward officer cannot open the city police's dossier.
    let (st, _) = o.text(&format!("/dossiers/{code2}")).await;
    assert_eq!(st, 404);
});
