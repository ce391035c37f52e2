//! The assistant through its API and pages, on both engines: a conversation with a
//! follow-up, facts checked against the procedure records, tracking codes (full to the
//! owner, public otherwise), reporting a problem, declining, bad input, and the hotline.

mod common;

use base64::Engine as _;
use cityhall_core::catalog::CatalogFile;
use cityhall_core::identity::Role;
use common::*;
use serde_json::{json, Value};

async fn ask(
    http: &reqwest::Client,
    s: &TestServer,
    body: Value,
    token: Option<&str>,
) -> (u16, Value) {
    let mut r = http.post(s.url("/api/v1/assistant/ask")).json(&body);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.unwrap();
    let st = r.status().as_u16();
    (st, r.json().await.unwrap_or(Value::Null))
}

async fn token(s: &TestServer, username: &str) -> String {
    let r = reqwest::Client::new()
        .post(s.url("/api/v1/auth/token"))
        .json(&json!({"username": username, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string()
}

web_test!(conversation_codes_and_bad_input, |engine| async move {
    let Some(s) = start(engine, |_| {}).await else {
        return;
    };
    let http = reqwest::Client::new();

    // Without diacritics: the procedure, its documents and the online link.
    let (st, a) = ask(
        &http,
        &s,
        json!({"question": "con toi moi sinh can lam giay gi"}),
        None,
    )
    .await;
    assert_eq!(st, 200, "{a}");
    assert_eq!(a["intent"], "procedure");
    assert_eq!(a["cards"][0]["kind"], "procedure");
    assert_eq!(a["cards"][0]["code"], "1.001193");
    assert_eq!(a["cards"][0]["apply_url"], "/procedures/1.001193/apply");
    assert_eq!(a["citations"][0]["source"], "catalog");
    assert_eq!(a["citations"][0]["url"], "/procedures/1.001193");
    assert!(
        a["answer"].as_str().unwrap().contains("Giấy chứng sinh"),
        "{a}"
    );
    let session = a["session"].as_str().unwrap().to_string();

    // A follow-up about the fee refers to that procedure.
    let (_, f) = ask(
        &http,
        &s,
        json!({"question": "lệ phí bao nhiêu?", "session": session}),
        None,
    )
    .await;
    assert_eq!(f["intent"], "follow_up", "{f}");
    assert_eq!(f["cards"][0]["code"], "1.001193");
    assert!(
        f["facts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["topic"] == "fee"),
        "{f}"
    );
    assert!(f["answer"].as_str().unwrap().contains("Miễn"), "{f}");
    // The same question without a conversation is not guessed.
    let (_, g) = ask(&http, &s, json!({"question": "lệ phí bao nhiêu?"}), None).await;
    assert_eq!(g["intent"], "out_of_scope", "{g}");
    // A forged session is a new conversation, not an error.
    let (st, g) = ask(
        &http,
        &s,
        json!({"question": "mất mấy ngày?", "session": "v1.e30.AAAA"}),
        None,
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(g["intent"], "out_of_scope", "{g}");

    // A problem on the street: the category, with a link that starts the report.
    let (_, r) = ask(
        &http,
        &s,
        json!({"question": "đèn đường hỏng trước nhà"}),
        None,
    )
    .await;
    assert_eq!(r["intent"], "report_problem", "{r}");
    assert_eq!(r["cards"][0]["kind"], "category");
    assert_eq!(r["cards"][0]["code"], "street-light");
    let url = r["cards"][0]["url"].as_str().unwrap();
    assert!(
        url.starts_with("/feedback/new?category=street-light&description="),
        "{url}"
    );
    let c = Client::new(&s);
    let (st, page) = c.text(url).await;
    assert_eq!(st, 200);
    assert!(
        page.contains("đèn đường hỏng trước nhà") || page.contains("street-light"),
        "prefilled"
    );

    // Out of scope: declined, never guessed.
    for q in [
        "giá vàng hôm nay bao nhiêu",
        "sang tên xe ô tô ở đâu",
        "thành lập công ty TNHH cần gì",
    ] {
        let (_, d) = ask(&http, &s, json!({"question": q}), None).await;
        assert_eq!(d["intent"], "out_of_scope", "{q}: {d}");
        assert!(d["cards"].as_array().unwrap().is_empty());
    }

    // Bad input: a clear error beside the field, in the asker's language.
    let (st, e) = ask(&http, &s, json!({"question": "   "}), None).await;
    assert_eq!(st, 422);
    assert_eq!(e["error"]["code"], "invalid_question");
    assert!(e["error"]["fields"]["question"].is_string(), "{e}");
    let (st, _) = ask(&http, &s, json!({"question": "x".repeat(501)}), None).await;
    assert_eq!(st, 422);
    let r = http
        .post(s.url("/api/v1/assistant/ask"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = http
        .post(s.url("/api/v1/assistant/ask"))
        .json(&json!({"question": 12}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);

    // A dossier by its code: the owner gets the next step, others the public status.
    s.user("an", Role::Citizen, None).await;
    s.user("binh", Role::Citizen, None).await;
    let an = token(&s, "an").await;
    let binh = token(&s, "binh").await;
    let pdf =
        base64::engine::general_purpose::STANDARD.encode(b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n");
    let d: Value = http
        .post(s.url("/api/v1/dossiers"))
        .bearer_auth(&an)
        .json(&json!({"procedure": "1.001193",
            "form": {"child_name": "Nguyễn Văn Bé", "birth_date": "2026-11-01", "sex": "nam", "ward": "26740"},
            "delivery": "online",
            "attachments": [{"field": "birth_proof", "filename": "cs.pdf", "content_base64": pdf}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = d["code"].as_str().expect("dossier code").to_string();
    let q = json!({"question": format!("hồ sơ {code} đến đâu rồi?")});
    let (_, mine) = ask(&http, &s, q.clone(), Some(&an)).await;
    assert_eq!(mine["intent"], "dossier_status", "{mine}");
    assert_eq!(mine["cards"][0]["url"], format!("/dossiers/{code}"));
    let (_, theirs) = ask(&http, &s, q.clone(), Some(&binh)).await;
    assert_eq!(theirs["cards"][0]["url"], format!("/status?code={code}"));
    assert_ne!(
        mine["answer"], theirs["answer"],
        "the owner sees the next step"
    );
    let (_, anon) = ask(&http, &s, q, None).await;
    assert_eq!(anon["cards"][0]["url"], format!("/status?code={code}"));
    let (_, none) = ask(
        &http,
        &s,
        json!({"question": "UBND-26740-261123-9999 xong chưa"}),
        None,
    )
    .await;
    assert_eq!(none["intent"], "dossier_status");
    assert!(none["cards"].as_array().unwrap().is_empty(), "{none}");
    // "Where is my dossier?" lists the asker's own, and asks others for a code.
    let (_, list) = ask(
        &http,
        &s,
        json!({"question": "hồ sơ của tôi đến đâu rồi"}),
        Some(&an),
    )
    .await;
    assert_eq!(list["intent"], "my_records");
    assert_eq!(list["cards"][0]["code"], code.as_str());
    let (_, list) = ask(
        &http,
        &s,
        json!({"question": "hồ sơ của tôi đến đâu rồi"}),
        None,
    )
    .await;
    assert!(list["cards"].as_array().unwrap().is_empty());

    // English (as everywhere: `?lang=en` or the language cookie).
    let r = http
        .post(s.url("/api/v1/assistant/ask?lang=en"))
        .json(&json!({"question": "birth registration fee"}))
        .send()
        .await
        .unwrap();
    let en: Value = r.json().await.unwrap();
    assert_eq!(en["cards"][0]["code"], "1.001193", "{en}");
    assert!(en["answer"].as_str().unwrap().contains("Fee"), "{en}");

    // The page works without JavaScript and carries the conversation.
    let (st, page) = c
        .text("/assistant?q=dang+ky+tam+tru+cho+nguoi+thue+tro")
        .await;
    assert_eq!(st, 200);
    assert!(
        page.contains("Đăng ký tạm trú") && page.contains("name=\"session\" value=\"v1."),
        "page"
    );
    let (st, page) = c.text(&format!("/assistant?q={}", "x".repeat(600))).await;
    assert_eq!(st, 422);
    assert!(page.contains("500"), "the limit is said");

    // The hotline console shows the answer beside the report form; residents cannot open it.
    s.user("tongdai", Role::Operator, None).await;
    let op = s.signed_in("tongdai").await;
    let (st, page) = op
        .text("/hotline?ask=ngap+nuoc+duong+Nguyen+Huu+Canh")
        .await;
    assert_eq!(st, 200);
    assert!(
        page.contains("/hotline?category=flooding"),
        "category link for the operator"
    );
    let citizen = s.signed_in("an").await;
    let (st, _) = citizen.text("/hotline?ask=x").await;
    assert_eq!(st, 403);
});

web_test!(every_answer_quotes_the_record, |engine| async move {
    let Some(s) = start(engine, |_| {}).await else {
        return;
    };
    let http = reqwest::Client::new();
    let catalog = CatalogFile::parse(
        include_str!("../../../data/procedures-79.json"),
        &|_: &str| true,
    )
    .unwrap();
    for p in &catalog.procedures {
        let q = format!(
            "{} cần giấy tờ gì, lệ phí bao nhiêu, mất mấy ngày",
            p.name.vi
        );
        let (st, a) = ask(&http, &s, json!({ "question": q }), None).await;
        assert_eq!(st, 200);
        let code = p.code.as_str();
        assert_eq!(a["cards"][0]["code"], code, "{q}: {a}");
        let facts = a["facts"].as_array().unwrap();
        for ch in &p.channels {
            let kind = ch.kind.as_str();
            let fee = facts
                .iter()
                .find(|f| f["topic"] == "fee" && f["channel"] == kind)
                .unwrap_or_else(|| panic!("{code}: fee for {kind}"));
            let want_fee = if p.is_unverified("fee") {
                Value::Null
            } else {
                json!(ch.fee)
            };
            assert_eq!(fee["value"], want_fee, "{code} fee {kind}");
            let limit = facts
                .iter()
                .find(|f| f["topic"] == "time_limit" && f["channel"] == kind)
                .unwrap_or_else(|| panic!("{code}: time limit for {kind}"));
            let want_limit = if p.is_unverified("time_limit") {
                Value::Null
            } else {
                serde_json::to_value(ch.time_limit).unwrap()
            };
            assert_eq!(limit["value"], want_limit, "{code} time limit {kind}");
        }
        let docs: Vec<(&str, bool)> = facts
            .iter()
            .filter(|f| f["topic"] == "documents")
            .map(|f| {
                (
                    f["value"].as_str().unwrap(),
                    f["required"].as_bool().unwrap(),
                )
            })
            .collect();
        let want: Vec<(&str, bool)> = p
            .documents
            .iter()
            .map(|d| (d.id.as_str(), d.required))
            .collect();
        assert_eq!(docs, want, "{code} documents");
        for f in facts {
            assert_eq!(f["citation"], 0);
        }
        assert_eq!(a["citations"][0]["code"], code);
    }
});
