//! Open311 GeoReport v2 against the real server, on both engines: discovery, services and
//! their definitions, filing with an app's key (form and multipart, `attribute[x]` and
//! `attribute[x][]`), every kind of bad input refused in the specification's error format
//! with nothing stored, the token path through the reporter's confirmation, the 90-day
//! window and the 1000 cap, and the admin page that issues and revokes keys.

mod common;

use cityhall_core::feedback::Actor;
use cityhall_core::identity::Role;
use cityhall_db::feedback::{Open311KeyRow, ReportFilter, ReportRow};
use cityhall_db::{micros, new_id, AuditStore, Db, FeedbackStore};
use cityhall_web::auth::hash_token;
use cityhall_web::feedback::service::{act, ReportAction, Who};
use common::*;
use serde_json::Value;
use time::{Duration, OffsetDateTime};

const KEY: &str = "test-open311-key";
const V2: &str = "/open311/v2";

/// A point near Bến Thành market, in Phường Sài Gòn / Bến Thành.
const LAT: &str = "10.7725";
const LONG: &str = "106.698";

async fn with_key(s: &TestServer, key: &str, name: &str) -> String {
    let id = new_id();
    let mut tx = s.db.begin().await.unwrap();
    Db::insert_open311_key(
        &mut tx,
        &Open311KeyRow {
            id: id.clone(),
            name: name.into(),
            created_at: micros(OffsetDateTime::now_utc()),
            created_by: Some("test".into()),
            revoked_at: None,
        },
        &hash_token(key),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

struct Got {
    status: u16,
    content_type: String,
    body: String,
}

impl Got {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

async fn got(r: reqwest::RequestBuilder) -> Got {
    let r = r.send().await.unwrap();
    Got {
        status: r.status().as_u16(),
        content_type: r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default(),
        body: r.text().await.unwrap(),
    }
}

async fn get(s: &TestServer, path: &str) -> Got {
    got(http().get(s.url(path))).await
}

async fn post(s: &TestServer, fmt: &str, fields: &[(&str, &str)]) -> Got {
    got(http()
        .post(s.url(&format!("{V2}/requests.{fmt}")))
        .form(fields))
    .await
}

/// Form fields, some built at run time.
type Fields = Vec<(&'static str, String)>;

async fn count(s: &TestServer) -> i64 {
    s.db.reports(&ReportFilter::default()).await.unwrap().1
}

/// The (code, description) pairs of an error list in either format.
fn errors(g: &Got) -> Vec<(u16, String)> {
    if g.content_type.starts_with("application/json") {
        g.json()
            .as_array()
            .expect("a bare array")
            .iter()
            .map(|e| {
                (
                    u16::try_from(e["code"].as_u64().unwrap()).unwrap(),
                    e["description"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    } else {
        assert!(g.content_type.starts_with("text/xml"), "{}", g.content_type);
        assert!(g
            .body
            .starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<errors>"));
        g.body
            .split("<error>")
            .skip(1)
            .map(|e| {
                (
                    extract(e, "<code>", "</code>").unwrap().parse().unwrap(),
                    extract(e, "<description>", "</description>").unwrap(),
                )
            })
            .collect()
    }
}

fn jpeg() -> Vec<u8> {
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

fn multipart(fields: &[(&str, &str)], photos: Vec<Vec<u8>>) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    for (i, p) in photos.into_iter().enumerate() {
        form = form.part(
            "media",
            reqwest::multipart::Part::bytes(p)
                .file_name(format!("photo{i}.jpg"))
                .mime_str("image/jpeg")
                .unwrap(),
        );
    }
    form
}

web_test!(discovery_services_and_definitions, |engine| async move {
    let Some(s) = start(engine, |_| {}).await else {
        return;
    };
    // Discovery, both formats; the endpoint is where the client found it.
    let d = get(&s, &format!("{V2}/discovery.json")).await;
    assert_eq!(
        (d.status, d.content_type.as_str()),
        (200, "application/json; charset=utf-8")
    );
    let dj = d.json();
    assert_eq!(dj["endpoints"][0]["url"], format!("{}/open311/v2", s.base));
    assert_eq!(
        dj["endpoints"][0]["formats"],
        serde_json::json!(["text/xml", "application/json"])
    );
    let dx = get(&s, &format!("{V2}/discovery.xml")).await;
    assert_eq!(dx.content_type, "text/xml; charset=utf-8");
    assert!(dx.body.contains("<discovery><changeset>"), "{}", dx.body);
    assert!(dx
        .body
        .contains("<formats><format>text/xml</format><format>application/json</format></formats>"));

    // Services: a bare array, Vietnamese by default, English when the client prefers it.
    let sv = get(&s, &format!("{V2}/services.json")).await;
    assert_eq!(sv.status, 200);
    let list = sv.json();
    let list = list.as_array().expect("a bare array");
    assert_eq!(list.len(), s.state.feedback.categories.categories().count());
    let road = list
        .iter()
        .find(|x| x["service_code"] == "road-damage")
        .unwrap();
    assert_eq!(road["service_name"], "Hư hỏng mặt đường, ổ gà");
    assert_eq!(road["metadata"], true);
    assert_eq!(road["type"], "realtime");
    assert_eq!(road["group"], "Hạ tầng đô thị");
    assert!(road["keywords"].as_str().unwrap().contains("ổ gà, "));
    let plain = list
        .iter()
        .find(|x| x["service_code"] == "sidewalk-damage")
        .unwrap();
    assert_eq!(plain["metadata"], false);
    let en = got(http()
        .get(s.url(&format!("{V2}/services.json")))
        .header("accept-language", "en-GB,en;q=0.9,vi;q=0.5"))
    .await
    .json();
    assert_eq!(en[0]["service_name"], "Damaged road surface, potholes");
    let sx = get(&s, &format!("{V2}/services.xml")).await;
    assert!(sx
        .body
        .contains("<services><service><service_code>road-damage</service_code><service_name>Hư hỏng mặt đường, ổ gà</service_name>"));

    // A definition: attributes in order, list values with key and name.
    let def = get(&s, &format!("{V2}/services/bus-service.json")).await;
    assert_eq!(def.status, 200);
    let def = def.json();
    assert_eq!(def["service_code"], "bus-service");
    let attrs = def["attributes"].as_array().unwrap();
    assert_eq!(attrs[0]["code"], "route");
    assert_eq!(attrs[0]["required"], true);
    assert_eq!(attrs[0]["variable"], true);
    assert_eq!(attrs[0]["order"], 1);
    assert_eq!(attrs[2]["datatype"], "multivaluelist");
    assert_eq!(attrs[2]["order"], 3);
    assert_eq!(attrs[2]["values"][0]["key"], "late");
    let defx = get(&s, &format!("{V2}/services/road-damage.xml")).await;
    assert!(defx.body.contains("<service_definition><service_code>road-damage</service_code><attributes><attribute><variable>true</variable><code>size</code><datatype>singlevaluelist</datatype><required>false</required><datatype_description/><order>1</order>"), "{}", defx.body);
    assert!(defx
        .body
        .contains("<values><value><key>small</key><name>Nhỏ (dưới 1 m)</name></value>"));

    // Not found: an unknown service, an unknown format, another jurisdiction.
    for (path, fmt) in [
        ("/services/no-such.json", "json"),
        ("/services/no-such.xml", "xml"),
        ("/services.csv", "json"),
        ("/services/road-damage.csv", "json"),
        ("/requests/PA-000000-0000.xml", "xml"),
        ("/services.json?jurisdiction_id=hanoi.gov.vn", "json"),
        ("/nothing/here.xml", "xml"),
    ] {
        let g = get(&s, &format!("{V2}{path}")).await;
        assert_eq!(g.status, 404, "{path}");
        let e = errors(&g);
        assert_eq!(e.len(), 1, "{path}");
        assert_eq!(e[0].0, 404, "{path}");
        assert!(
            g.content_type
                .contains(if fmt == "json" { "json" } else { "xml" }),
            "{path}"
        );
    }
    let ok = get(
        &s,
        &format!("{V2}/services.json?jurisdiction_id=hochiminhcity.gov.vn"),
    )
    .await;
    assert_eq!(ok.status, 200);
    // A method the resource does not take.
    let del = got(http().delete(s.url(&format!("{V2}/services.xml")))).await;
    assert_eq!(del.status, 405);
    assert_eq!(errors(&del)[0].0, 405);
});

web_test!(filing_and_reading, |engine| async move {
    let Some(s) = start(engine, |_| {}).await else {
        return;
    };
    let key_id = with_key(&s, KEY, "Ứng dụng thử").await;
    let description = "Ổ gà sâu <30cm> & nước đọng trước số 12 \"Lê Lợi\"";

    // Anonymous, with a point: filed at once; the id comes back.
    let r = post(
        &s,
        "json",
        &[
            ("api_key", KEY),
            ("service_code", "road-damage"),
            ("lat", LAT),
            ("long", LONG),
            ("address_string", "12 Lê Lợi"),
            ("description", description),
            ("attribute[size]", "large"),
            ("first_name", "An"),
            ("last_name", "Nguyễn"),
            ("device_id", "abc"),
        ],
    )
    .await;
    assert_eq!(
        (r.status, r.content_type.as_str()),
        (200, "application/json; charset=utf-8"),
        "{}",
        r.body
    );
    let out = r.json();
    let id = out[0]["service_request_id"].as_str().unwrap().to_string();
    assert!(id.starts_with("PA-"), "{id}");
    assert!(out[0].get("token").is_none());
    assert_eq!(out[0]["service_notice"], "Thời hạn xử lý: 3 ngày làm việc.");
    let row = s.db.report_by_code(&id).await.unwrap();
    assert_eq!(row.filed_by.as_deref(), Some(key_id.as_str()));
    assert_eq!(row.channel, "open311");
    assert_eq!(row.status, "open");
    assert_eq!(row.reporter_name.as_deref(), Some("Nguyễn An"));
    assert!(row.hide_name);
    assert_eq!(row.description, description);
    assert_eq!(row.answers, r#"{"size":"large"}"#);

    // In XML, with a list answer given twice as attribute[x][] and a photo (multipart).
    let mp = multipart(
        &[
            ("api_key", KEY),
            ("service_code", "sidewalk-encroachment"),
            ("address_id", "26740"),
            ("address_string", "Chợ Bến Thành, cửa Nam"),
            (
                "description",
                "Bày bán lấn chiếm vỉa hè, người đi bộ phải xuống lòng đường",
            ),
            ("attribute[kind][]", "vendors"),
            ("attribute[kind][]", "goods"),
            ("attribute[time_of_day][]", "morning"),
        ],
        vec![jpeg()],
    );
    let x = got(http()
        .post(s.url(&format!("{V2}/requests.xml")))
        .multipart(mp))
    .await;
    assert_eq!(x.status, 200, "{}", x.body);
    assert_eq!(x.content_type, "text/xml; charset=utf-8");
    let id2 = extract(&x.body, "<service_request_id>", "</service_request_id>").unwrap();
    assert!(x.body.starts_with(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<service_requests><request><service_request_id>"
    ));
    assert!(x.body.contains("<account_id/>"));
    let row2 = s.db.report_by_code(&id2).await.unwrap();
    assert_eq!(
        row2.answers,
        r#"{"kind":["vendors","goods"],"time_of_day":["morning"]}"#
    );
    let photos = s.db.photos(&row2.id).await.unwrap();
    assert_eq!(photos.len(), 1);

    // One request, both formats: a one-element list, nothing about the reporter.
    let one = get(&s, &format!("{V2}/requests/{id}.json")).await;
    assert_eq!(one.status, 200);
    let one = one.json();
    assert_eq!(one.as_array().unwrap().len(), 1);
    let item = &one[0];
    assert_eq!(item["service_request_id"], id.as_str());
    assert_eq!(item["status"], "open");
    assert_eq!(item["service_code"], "road-damage");
    assert_eq!(item["service_name"], "Hư hỏng mặt đường, ổ gà");
    assert_eq!(item["description"], description);
    assert_eq!(item["address"], "12 Lê Lợi");
    assert_eq!(item["address_id"], row.ward_code.as_str());
    assert_eq!(item["lat"], 10.7725);
    assert_eq!(item["long"], 106.698);
    assert!(item["agency_responsible"]
        .as_str()
        .unwrap()
        .starts_with("Ủy ban nhân dân"));
    assert!(item["requested_datetime"]
        .as_str()
        .unwrap()
        .ends_with("+07:00"));
    assert!(item["expected_datetime"]
        .as_str()
        .unwrap()
        .ends_with("+07:00"));
    assert!(item["media_url"].is_null());
    let text = one.to_string();
    assert!(
        !text.contains("Nguyễn An") && !text.contains("\"An\""),
        "{text}"
    );
    let one_x = get(&s, &format!("{V2}/requests/{id}.xml")).await;
    assert!(
        one_x.body.contains(
            "<description>Ổ gà sâu &lt;30cm&gt; &amp; nước đọng trước số 12 &quot;Lê Lợi&quot;</description>"
        ),
        "{}",
        one_x.body
    );
    assert!(one_x.body.contains("<zipcode/>"));
    let two = get(&s, &format!("{V2}/requests/{id2}.json")).await.json();
    assert_eq!(
        two[0]["media_url"],
        format!("{}/feedback/{id2}/photos/{}", s.base, photos[0].id)
    );
    assert!(two[0]["lat"].is_null());
    // English names for an English client.
    let en = got(http()
        .get(s.url(&format!("{V2}/requests/{id}.json")))
        .header("accept-language", "en"))
    .await
    .json();
    assert_eq!(en[0]["service_name"], "Damaged road surface, potholes");
    assert_eq!(en[0]["service_notice"], "Target time: 3 working days.");

    // The list, newest first, and its filters.
    let all = get(&s, &format!("{V2}/requests.json")).await.json();
    let ids: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["service_request_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![id2.as_str(), id.as_str()]);
    let by_code = get(&s, &format!("{V2}/requests.json?service_code=road-damage")).await;
    assert_eq!(by_code.json().as_array().unwrap().len(), 1);
    let both = get(
        &s,
        &format!("{V2}/requests.json?service_code=road-damage,sidewalk-encroachment"),
    )
    .await;
    assert_eq!(both.json().as_array().unwrap().len(), 2);
    let closed = get(&s, &format!("{V2}/requests.xml?status=closed")).await;
    assert_eq!(closed.status, 200);
    assert!(closed
        .body
        .ends_with("<service_requests></service_requests>\n"));
    let open = get(&s, &format!("{V2}/requests.json?status=open")).await;
    assert_eq!(open.json().as_array().unwrap().len(), 2);
    let ids_q = get(
        &s,
        &format!("{V2}/requests.json?service_request_id={id},PA-000101-0001&status=closed"),
    )
    .await;
    assert_eq!(
        ids_q.json().as_array().unwrap().len(),
        1,
        "ids override status"
    );
    for bad in [
        "status=pending",
        "service_code=no-such",
        "start_date=yesterday",
        "start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z",
        "start_date=2026-02-01T00:00:00Z&end_date=2026-01-01T00:00:00Z",
    ] {
        let g = get(&s, &format!("{V2}/requests.json?{bad}")).await;
        assert_eq!(g.status, 400, "{bad}");
        assert_eq!(errors(&g)[0].0, 400, "{bad}");
    }

    // The same Idempotency-Key gives the same report, not a second one.
    let before = count(&s).await;
    let fields = [
        ("api_key", KEY),
        ("service_code", "street-light"),
        ("lat", LAT),
        ("long", LONG),
        ("description", "Đèn đường tắt cả đoạn"),
    ];
    let mut first = None;
    for _ in 0..2 {
        let g = got(http()
            .post(s.url(&format!("{V2}/requests.json")))
            .header("idempotency-key", "app-42")
            .form(&fields))
        .await;
        assert_eq!(g.status, 200, "{}", g.body);
        let id = g.json()[0]["service_request_id"].clone();
        assert!(first.get_or_insert(id.clone()) == &id);
    }
    assert_eq!(count(&s).await, before + 1);
});

web_test!(bad_input_refused_nothing_stored, |engine| async move {
    let Some(s) = start(engine, |_| {}).await else {
        return;
    };
    with_key(&s, KEY, "app").await;
    let revoked = with_key(&s, "revoked-key", "old app").await;
    let mut tx = s.db.begin().await.unwrap();
    Db::revoke_open311_key(&mut tx, &revoked, 1).await.unwrap();
    tx.commit().await.unwrap();
    let before = count(&s).await;
    let ok = [
        ("service_code", "road-damage"),
        ("lat", LAT),
        ("long", LONG),
        ("description", "Ổ gà lớn"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut v: Fields = vec![("api_key", KEY.to_string())];
        for (k, x) in ok.iter().chain(extra) {
            v.retain(|(n, _)| n != k);
            v.push((k, x.to_string()));
        }
        v
    };
    let long = "đ".repeat(4001);
    let cases: Vec<(&str, Fields, u16, &str)> = vec![
        (
            "no key",
            ok.iter().map(|(k, v)| (*k, v.to_string())).collect(),
            403,
            "api_key",
        ),
        ("wrong key", with(&[("api_key", "nope")]), 403, "api_key"),
        (
            "revoked key",
            with(&[("api_key", "revoked-key")]),
            403,
            "api_key",
        ),
        (
            "unknown service",
            with(&[("service_code", "no-such")]),
            400,
            "service_code: ",
        ),
        (
            "outside the city",
            with(&[("lat", "21.0285"), ("long", "105.8542")]),
            400,
            "lat, long: ",
        ),
        ("half a point", with(&[("lat", "")]), 400, "lat, long: "),
        (
            "description too long",
            {
                let mut v = with(&[]);
                v.retain(|(k, _)| *k != "description");
                v.push(("description", long.clone()));
                v
            },
            400,
            "description: ",
        ),
        (
            "required attribute",
            with(&[("service_code", "bus-service")]),
            400,
            "attribute[route]: ",
        ),
        (
            "wrong choice",
            with(&[("attribute[size]", "huge")]),
            400,
            "attribute[size]: ",
        ),
        (
            "unknown ward",
            {
                let mut v = with(&[("address_id", "99999")]);
                v.retain(|(k, _)| *k != "lat" && *k != "long");
                v
            },
            400,
            "address_id: ",
        ),
        (
            "no place",
            {
                let mut v = with(&[("address_string", "somewhere")]);
                v.retain(|(k, _)| *k != "lat" && *k != "long");
                v
            },
            400,
            "lat, long: ",
        ),
        (
            "bad email",
            with(&[("email", "not-an-email")]),
            400,
            "email: ",
        ),
        (
            "other jurisdiction",
            with(&[("jurisdiction_id", "hanoi.gov.vn")]),
            404,
            "",
        ),
    ];
    for fmt in ["json", "xml"] {
        for (what, fields, status, prefix) in &cases {
            let g = got(http()
                .post(s.url(&format!("{V2}/requests.{fmt}")))
                .form(fields))
            .await;
            assert_eq!(g.status, *status, "{what} ({fmt}): {}", g.body);
            let e = errors(&g);
            assert!(!e.is_empty(), "{what}");
            assert!(e.iter().all(|(c, _)| c == status), "{what}: {e:?}");
            assert!(
                e.iter().any(|(_, d)| d.contains(prefix)),
                "{what} ({fmt}): {e:?}"
            );
        }
    }
    // Photos: a fake one, and too many.
    let fields = with(&[]);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    for (what, photos, key) in [
        (
            "fake image",
            vec![b"GIF89a this is not a picture".to_vec()],
            "media: ",
        ),
        ("too many photos", vec![jpeg(); 6], "media: "),
    ] {
        let g = got(http()
            .post(s.url(&format!("{V2}/requests.xml")))
            .multipart(multipart(&fields, photos)))
        .await;
        assert_eq!(g.status, 400, "{what}: {}", g.body);
        assert!(errors(&g).iter().any(|(_, d)| d.starts_with(key)), "{what}");
    }
    // Every problem at once, each with its own message; in English when asked.
    let g = got(http()
        .post(s.url(&format!("{V2}/requests.json")))
        .header("accept-language", "en")
        .form(&[
            ("api_key", KEY),
            ("service_code", "bus-service"),
            ("address_id", "99999"),
            ("description", ""),
        ]))
    .await;
    let e: Vec<String> = errors(&g).into_iter().map(|(_, d)| d).collect();
    assert_eq!(
        e,
        vec![
            "description: Describe the problem.",
            "attribute[route]: This question is required.",
            "address_id: This ward is not in the city's list.",
        ]
    );
    // Not a form at all.
    let j = got(http()
        .post(s.url(&format!("{V2}/requests.json")))
        .json(&serde_json::json!({"api_key": KEY})))
    .await;
    assert_eq!(j.status, 400);
    assert_eq!(count(&s).await, before, "nothing stored");
});

web_test!(token_until_confirmed, |engine| async move {
    let Some(s) = start(engine, |_| {}).await else {
        return;
    };
    let key_id = with_key(&s, KEY, "app").await;
    // With an e-mail the app cannot vouch for: the report waits, a token comes back.
    let r = post(
        &s,
        "xml",
        &[
            ("api_key", KEY),
            ("service_code", "noise"),
            ("address_id", "26740"),
            ("description", "Karaoke ồn ào sau 22 giờ"),
            ("email", "nguoidan@example.com"),
            ("first_name", "Bình"),
            ("last_name", "Trần"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token = extract(&r.body, "<token>", "</token>").unwrap();
    assert!(!r.body.contains("<service_request_id>"));
    let row = s.db.report_by_token(&token).await.unwrap();
    assert_eq!(row.status, "unconfirmed");
    // Not public yet: not in lists, not by id; the token knows no id yet.
    let t = get(&s, &format!("{V2}/tokens/{token}.json")).await;
    assert_eq!(t.status, 200);
    let tj = t.json();
    assert_eq!(tj[0]["token"], token.as_str());
    assert!(tj[0]["service_request_id"].is_null());
    assert_eq!(
        get(&s, &format!("{V2}/requests.json")).await.json(),
        serde_json::json!([])
    );
    assert_eq!(
        get(&s, &format!("{V2}/requests/{}.json", row.code))
            .await
            .status,
        404
    );
    assert_eq!(
        get(&s, &format!("{V2}/tokens/no-such-token.xml"))
            .await
            .status,
        404
    );
    // The reporter confirms with the link e-mailed to them.
    let bodies = outbox(&s).await;
    let secret = bodies
        .iter()
        .find_map(|b| extract(b, "confirm?token=", "\n"))
        .expect("a confirmation e-mail");
    let reporter = Who {
        user_id: "anonymous".into(),
        actor: Actor::Reporter,
        agencies: vec![],
    };
    let confirm = ReportAction {
        action: "confirm".into(),
        secret: Some(secret),
        ..Default::default()
    };
    act(
        &s.state,
        OffsetDateTime::now_utc(),
        &reporter,
        &row.code,
        &confirm,
    )
    .await
    .unwrap();
    let tx = get(&s, &format!("{V2}/tokens/{token}.xml")).await;
    assert!(
        tx.body.contains(&format!(
            "<request><service_request_id>{}</service_request_id><token>{token}</token></request>",
            row.code
        )),
        "{}",
        tx.body
    );
    let listed = get(&s, &format!("{V2}/requests.json")).await.json();
    assert_eq!(listed[0]["service_request_id"], row.code.as_str());
    assert!(!listed.to_string().contains("nguoidan@example.com"));
    assert!(!listed.to_string().contains("Trần"));

    // Once the key is revoked the app can file nothing more.
    let mut t = s.db.begin().await.unwrap();
    Db::revoke_open311_key(&mut t, &key_id, 1).await.unwrap();
    t.commit().await.unwrap();
    let again = post(
        &s,
        "json",
        &[
            ("api_key", KEY),
            ("service_code", "noise"),
            ("address_id", "26740"),
            ("description", "Vẫn ồn"),
        ],
    )
    .await;
    assert_eq!(again.status, 403);
});

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

web_test!(ninety_days_and_a_thousand, |engine| async move {
    let Some(s) = start(engine, |_| {}).await else {
        return;
    };
    let now = OffsetDateTime::now_utc();
    let seed = |i: i64, at: OffsetDateTime| ReportRow {
        id: new_id(),
        code: format!("PA-000000-{i:04}"),
        category_code: "road-damage".into(),
        status: if i % 2 == 0 { "open" } else { "closed" }.into(),
        channel: "web".into(),
        description: format!("Báo cáo số {i}"),
        answers: "{}".into(),
        ward_code: "26740".into(),
        agency_code: "UBND-26740".into(),
        created_at: micros(at),
        updated_at: micros(at),
        row_version: 1,
        ..Default::default()
    };
    let mut tx = s.db.begin().await.unwrap();
    for i in 1..=1005 {
        Db::insert_report(&mut tx, &seed(i, now - Duration::minutes(i)))
            .await
            .unwrap();
    }
    // One from 100 days ago, and one not confirmed.
    Db::insert_report(&mut tx, &seed(5000, now - Duration::days(100)))
        .await
        .unwrap();
    let mut hidden = seed(6000, now);
    hidden.status = "unconfirmed".into();
    Db::insert_report(&mut tx, &hidden).await.unwrap();
    tx.commit().await.unwrap();

    let t0 = std::time::Instant::now();
    let all = get(&s, &format!("{V2}/requests.json")).await;
    eprintln!("1000 reports in {:?}", t0.elapsed());
    let all = all.json();
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 1000);
    assert_eq!(all[0]["service_request_id"], "PA-000000-0001");
    assert_eq!(all[999]["service_request_id"], "PA-000000-1000");
    let text = serde_json::to_string(all).unwrap();
    assert!(!text.contains("PA-000000-5000") && !text.contains("PA-000000-6000"));
    // The statuses split in two.
    let open = get(&s, &format!("{V2}/requests.json?status=open"))
        .await
        .json();
    assert_eq!(open.as_array().unwrap().len(), 502);
    // The old one is found with dates around it, or by its id.
    // Two days either side: the server reads dates in local time (UTC+7), `now` is UTC.
    let start_date = (now - Duration::days(102)).date();
    let end_date = (now - Duration::days(98)).date();
    let old = get(
        &s,
        &format!("{V2}/requests.xml?start_date={start_date}&end_date={end_date}"),
    )
    .await;
    assert_eq!(old.status, 200, "{}", old.body);
    assert_eq!(old.body.matches("<request>").count(), 1, "{}", old.body);
    assert!(old.body.contains("PA-000000-5000"));
    let by_id = get(
        &s,
        &format!("{V2}/requests.json?service_request_id=PA-000000-5000,PA-000000-6000"),
    )
    .await
    .json();
    assert_eq!(by_id.as_array().unwrap().len(), 1);
    // Only an end: the 90 days before it (with its '+' offset sent encoded).
    let end = now - Duration::days(120);
    let empty = got(http().get(s.url(&format!("{V2}/requests.json"))).query(&[(
        "end_date",
        end.format(&time::format_description::well_known::Rfc3339)
            .unwrap(),
    )]))
    .await;
    assert_eq!(empty.json(), serde_json::json!([]));
});

web_test!(admin_issues_and_revokes_keys, |engine| async move {
    let Some(s) = start(engine, |_| {}).await else {
        return;
    };
    s.user("thanhpho", Role::CityAdmin, None).await;
    s.user("dan", Role::Citizen, None).await;
    // Anonymous: to the sign-in page; anyone but the city admin: refused.
    let anon = Client::new(&s);
    let r = anon.get("/admin/open311").await;
    assert_eq!(r.status(), 303);
    assert!(location(&r).starts_with("/login?next="));
    let citizen = s.signed_in("dan").await;
    assert_eq!(citizen.get("/admin/open311").await.status(), 403);
    let r = citizen
        .post_form("/admin/open311", &[("name", "Ứng dụng lạ")])
        .await;
    assert_eq!(r.status(), 403);

    let admin = s.signed_in("thanhpho").await;
    let (status, page) = admin.text("/admin/open311").await;
    assert_eq!(status, 200);
    assert!(page.contains("Khóa API Open311"));
    // Without the CSRF token nothing happens.
    let r = admin
        .http
        .post(s.url("/admin/open311"))
        .form(&[("name", "Không token")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // A name is needed.
    let r = admin.post_form("/admin/open311", &[("name", "  ")]).await;
    assert_eq!(r.status(), 422);
    // Issued: shown once, stored hashed, audited.
    let r = admin
        .post_form("/admin/open311", &[("name", "Ứng dụng Phường <Sài Gòn>")])
        .await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    let key = extract(&page, "<p><code>", "</code></p>").expect("the new key");
    assert!(page.contains("Ứng dụng Phường &#60;Sài Gòn&#62;") || page.contains("&lt;Sài Gòn&gt;"));
    let (_, again) = admin.text("/admin/open311").await;
    assert!(!again.contains(&key));
    let keys = s.db.open311_keys().await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].created_by.as_deref(), Some("thanhpho"));
    let filed = post(
        &s,
        "json",
        &[
            ("api_key", key.as_str()),
            ("service_code", "road-damage"),
            ("lat", LAT),
            ("long", LONG),
            ("description", "Ổ gà"),
        ],
    )
    .await;
    assert_eq!(filed.status, 200, "{}", filed.body);
    // Revoked: the key stops working; revoking twice is harmless.
    let path = format!("/admin/open311/{}/revoke", keys[0].id);
    let r = admin.post_form(&path, &[]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/admin/open311?notice=revoked");
    assert_eq!(admin.post_form(&path, &[]).await.status(), 303);
    assert_eq!(
        admin
            .post_form("/admin/open311/no-such/revoke", &[])
            .await
            .status(),
        404
    );
    let (_, page) = admin.text("/admin/open311?notice=revoked").await;
    assert!(page.contains("Đã thu hồi khóa."));
    let refused = post(
        &s,
        "json",
        &[
            ("api_key", key.as_str()),
            ("service_code", "road-damage"),
            ("lat", LAT),
            ("long", LONG),
            ("description", "Ổ gà"),
        ],
    )
    .await;
    assert_eq!(refused.status, 403);
    let mut tx = s.db.begin().await.unwrap();
    let actions: Vec<String> = cityhall_db::tx!(&mut tx, |c| sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE object_type = 'open311_key' ORDER BY at"
    )
    .fetch_all(c)
    .await)
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(actions, vec!["open311_key.create", "open311_key.revoke"]);
    let audit =
        s.db.verify(
            &s.state.config.audit_key.verifying_key(),
            OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    assert_eq!(audit.problem, None);
});
