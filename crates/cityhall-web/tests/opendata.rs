//! Open data against the real server, on both engines: a publisher's writes through the CKAN
//! Action API (JSON and multipart), the datastore's queries, search with facets and
//! visibility, DCAT, the pages; every kind of bad input refused in CKAN's error format with
//! nothing written; and the published statistics with their small-count rule.

mod common;

use cityhall_core::identity::Role;
use cityhall_db::opendata::{DossierFact, ReportFact};
use cityhall_db::{micros, OpenDataStore};
use cityhall_web::opendata::stats::{dossier_rows, report_rows};
use common::*;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

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

struct Ckan<'a> {
    s: &'a TestServer,
    key: Option<String>,
    http: reqwest::Client,
}

impl Ckan<'_> {
    /// POSTs a JSON body the way ckanapi does (`Authorization: KEY`, no Bearer).
    async fn post(&self, action: &str, body: Value) -> (u16, Value) {
        let mut r = self
            .http
            .post(self.s.url(&format!("/api/action/{action}")))
            .json(&body);
        if let Some(k) = &self.key {
            r = r.header("Authorization", k.as_str());
        }
        let res = r.send().await.unwrap();
        (res.status().as_u16(), res.json().await.unwrap())
    }
    async fn get(&self, action: &str, query: &[(&str, &str)]) -> (u16, Value) {
        let mut r = self
            .http
            .get(self.s.url(&format!("/api/3/action/{action}")))
            .query(query);
        if let Some(k) = &self.key {
            r = r.header("X-CKAN-API-Key", k.as_str());
        }
        let res = r.send().await.unwrap();
        (res.status().as_u16(), res.json().await.unwrap())
    }
    async fn upload(&self, dataset: &str, file: Vec<u8>, extra: &[(&str, &str)]) -> (u16, Value) {
        let mut form = reqwest::multipart::Form::new()
            .text("package_id", dataset.to_string())
            .part(
                "upload",
                reqwest::multipart::Part::bytes(file).file_name("data.csv"),
            );
        for (k, v) in extra {
            form = form.text(k.to_string(), v.to_string());
        }
        let mut r = self
            .http
            .post(self.s.url("/api/action/resource_create"))
            .multipart(form);
        if let Some(k) = &self.key {
            r = r.header("Authorization", k.as_str());
        }
        let res = r.send().await.unwrap();
        (res.status().as_u16(), res.json().await.unwrap())
    }
}

fn ok(r: &(u16, Value)) -> &Value {
    assert_eq!(r.0, 200, "{}", r.1);
    assert_eq!(r.1["success"], true, "{}", r.1);
    &r.1["result"]
}

fn error_type(r: &(u16, Value)) -> String {
    assert_eq!(r.1["success"], false, "{}", r.1);
    r.1["error"]["__type"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

const CSV: &str = "quan_huyen,ten,dan_so,dien_tich,ngay\n\
    26734,Phường Sài Gòn,47000,1.78,2025-07-01\n\
    26740,Phường Bến Thành,52000,2.05,2025-07-01\n\
    26743,Phường Tân Định,41000,1.5,01/07/2025\n";

web_test!(publisher_writes_and_everyone_reads, |engine| async move {
    let Some(s) = start(engine, |_| {}).await else {
        return;
    };
    s.user("pub.xd", Role::Publisher, Some("SOXAYDUNG")).await;
    let anon = Ckan {
        s: &s,
        key: None,
        http: reqwest::Client::new(),
    };
    let publisher = Ckan {
        s: &s,
        key: Some(token(&s, "pub.xd").await),
        http: reqwest::Client::new(),
    };

    // Create with tags, a theme, extras; the name is the address.
    let r = publisher
        .post(
            "package_create",
            json!({"name": "dan-so-phuong", "title": "Dân số các phường",
                   "title_translated": {"en": "Ward population"},
                   "notes": "Số dân và diện tích.", "owner_org": "soxaydung",
                   "tags": [{"name": "dân số"}, {"name": "phường"}],
                   "groups": [{"name": "dan-cu-dia-gioi"}],
                   "extras": [{"key": "frequency", "value": "annual"}],
                   "license_id": "cc-by-4.0"}),
        )
        .await;
    let pkg = ok(&r).clone();
    assert_eq!(pkg["organization"]["name"], "soxaydung");
    assert_eq!(pkg["title_translated"]["en"], "Ward population");
    assert_eq!(pkg["num_tags"], 2);
    let id = pkg["id"].as_str().unwrap().to_string();

    // An upload is checked by content and loaded into the datastore with inferred types.
    let r = publisher
        .upload(&id, CSV.as_bytes().to_vec(), &[("name", "Dân số 2025")])
        .await;
    let res = ok(&r).clone();
    assert_eq!(res["format"], "CSV");
    assert_eq!(res["datastore_active"], true);
    let rid = res["id"].as_str().unwrap().to_string();
    let r = anon
        .post(
            "datastore_search",
            json!({"resource_id": rid, "filters": {"quan_huyen": "26740"}}),
        )
        .await;
    let found = ok(&r);
    assert_eq!(found["total"], 1);
    assert_eq!(found["records"][0]["ten"], "Phường Bến Thành");
    assert_eq!(
        found["records"][0]["dan_so"], 52000,
        "an int column gives numbers"
    );
    let types: Vec<(String, String)> = found["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap().into(),
                f["type"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        types,
        [
            ("_id", "int"),
            ("quan_huyen", "int"),
            ("ten", "text"),
            ("dan_so", "int"),
            ("dien_tich", "numeric"),
            ("ngay", "date")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    // The Vietnamese date was normalised.
    let r = anon
        .get(
            "datastore_search",
            &[
                ("resource_id", &rid),
                ("q", "tan dinh"),
                ("fields", "ten,ngay"),
                ("sort", "dan_so desc"),
            ],
        )
        .await;
    let found = ok(&r);
    assert_eq!(found["total"], 1, "full text without diacritics");
    assert_eq!(found["records"][0]["ngay"], "2025-07-01");
    assert_eq!(found["records"][0].as_object().unwrap().len(), 2);
    let r = anon
        .get(
            "datastore_search",
            &[
                ("resource_id", &rid),
                ("sort", "dan_so desc"),
                ("limit", "2"),
                ("offset", "1"),
                ("records_format", "lists"),
            ],
        )
        .await;
    let found = ok(&r);
    assert_eq!(found["total"], 3);
    assert_eq!(
        found["records"][0][2], "Phường Sài Gòn",
        "second by population"
    );
    assert!(found["_links"]["next"]
        .as_str()
        .unwrap()
        .contains("offset=3"));
    let r = anon
        .get(
            "datastore_search",
            &[
                ("resource_id", &rid),
                ("records_format", "csv"),
                ("fields", "ten"),
            ],
        )
        .await;
    assert_eq!(
        ok(&r)["records"],
        "Phường Sài Gòn\nPhường Bến Thành\nPhường Tân Định\n"
    );

    // Search: without diacritics, filters, facets, paging past the end.
    let r = anon
        .get(
            "package_search",
            &[
                ("q", "dan so phuong"),
                ("fq", "organization:soxaydung tags:\"dân số\""),
                ("facet.field", "[\"tags\",\"res_format\",\"organization\"]"),
            ],
        )
        .await;
    let found = ok(&r);
    assert_eq!(found["count"], 1);
    assert_eq!(found["results"][0]["name"], "dan-so-phuong");
    assert_eq!(found["facets"]["res_format"]["CSV"], 1);
    assert_eq!(
        found["search_facets"]["organization"]["items"][0]["display_name"],
        "Sở Xây dựng"
    );
    let r = anon
        .get("package_search", &[("q", "dân số"), ("start", "50")])
        .await;
    assert_eq!(ok(&r)["count"], 1);
    assert_eq!(ok(&r)["results"], json!([]));

    // Patch keeps what it does not name; update replaces.
    let r = publisher
        .post(
            "package_patch",
            json!({"id": "dan-so-phuong", "notes": "Cập nhật."}),
        )
        .await;
    assert_eq!(ok(&r)["num_tags"], 2);
    assert_eq!(ok(&r)["notes"], "Cập nhật.");
    let r = publisher
        .post(
            "package_update",
            json!({"id": id, "title": "Dân số phường", "private": "True"}),
        )
        .await;
    assert_eq!(ok(&r)["num_tags"], 0);
    assert_eq!(ok(&r)["private"], true);
    assert_eq!(ok(&r)["num_resources"], 1, "resources survive an update");

    // Private: gone for the public, kept for its organisation.
    let r = anon.get("package_show", &[("id", "dan-so-phuong")]).await;
    assert_eq!(r.0, 403);
    assert_eq!(error_type(&r), "Authorization Error");
    let r = anon.get("package_search", &[("q", "dân số")]).await;
    assert_eq!(ok(&r)["count"], 0);
    let r = anon
        .post("datastore_search", json!({"resource_id": rid}))
        .await;
    assert_eq!(r.0, 404);
    let r = publisher
        .get(
            "package_search",
            &[("q", "dân số"), ("include_private", "True")],
        )
        .await;
    assert_eq!(ok(&r)["count"], 1);
    let c = Client::new(&s);
    let (status, _) = c.text("/dataset/dan-so-phuong").await;
    assert_eq!(
        status, 404,
        "a private dataset's page is not shown to the public"
    );
    let r = publisher
        .post("package_patch", json!({"id": id, "private": false}))
        .await;
    ok(&r);

    // Every change is audited.
    let audited: i64 = sqlx_count(
        &s,
        "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'opendata.%'",
    )
    .await;
    assert!(audited >= 5, "{audited} audit entries");

    // Lists and shows.
    let r = anon.get("organization_show", &[("id", "soxaydung")]).await;
    assert_eq!(ok(&r)["package_count"], 1);
    let r = anon.get("group_list", &[("all_fields", "true")]).await;
    assert!(ok(&r)
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["name"] == "dan-cu-dia-gioi"));
    let r = anon.get("tag_list", &[("query", "dan")]).await;
    assert_eq!(ok(&r), &json!([]), "update removed the tags");
    let r = anon.get("license_list", &[]).await;
    assert!(ok(&r)
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["id"] == "cc-by-4.0"));
    let r = anon.get("resource_show", &[("id", &rid)]).await;
    assert!(ok(&r)["url"].as_str().unwrap().contains("/download/"));
    let r = anon.get("status_show", &[]).await;
    assert_eq!(ok(&r)["locale_default"], "vi");

    // DCAT and the pages.
    let jsonld: Value = reqwest::get(s.url(&format!("/dataset/{id}.jsonld")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(jsonld.to_string().contains("Dân số phường"));
    let ttl = reqwest::get(s.url("/catalog.ttl"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(ttl.contains("dcat:Catalog") && ttl.contains(&id));
    for path in [
        "/dataset?q=dan+so".to_string(),
        "/dataset/dan-so-phuong".to_string(),
        format!("/dataset/dan-so-phuong/resource/{rid}"),
        "/organization".to_string(),
        "/organization/soxaydung".to_string(),
    ] {
        let (status, body) = c.text(&path).await;
        assert_eq!(status, 200, "{path}");
        let expected = if path == "/organization" {
            "Sở Xây dựng"
        } else {
            "Dân số phường"
        };
        assert!(body.contains(expected), "{path}");
    }
    let res = c
        .get(&format!("/dataset/dan-so-phuong/resource/{rid}/download"))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), CSV);
});

async fn sqlx_count(s: &TestServer, sql: &str) -> i64 {
    match &s.db {
        cityhall_db::Db::Sqlite { reader, .. } => {
            sqlx::query_scalar(sql).fetch_one(reader).await.unwrap()
        }
        cityhall_db::Db::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
    }
}

/// "ma,ten\n26734,Phường Sài Gòn\n26740,Phường Bến Thành\n" as Windows-1258 writes it: base
/// letters (ư, ơ, ê) and combining tone marks (0xCC grave, 0xEC acute).
fn windows_1258_file() -> Vec<u8> {
    let mut b = b"ma,ten\n26734,Ph\xFD\xF5\xCCng Sa\xCCi Go\xCCn\n".to_vec();
    b.extend_from_slice(b"26740,Ph\xFD\xF5\xCCng B\xEA\xECn Tha\xCCnh\n");
    b
}

web_test!(
    bad_input_is_refused_and_changes_nothing,
    |engine| async move {
        let Some(s) = start(engine, |_| {}).await else {
            return;
        };
        s.user("pub.xd2", Role::Publisher, Some("SOXAYDUNG")).await;
        let anon = Ckan {
            s: &s,
            key: None,
            http: reqwest::Client::new(),
        };
        let p = Ckan {
            s: &s,
            key: Some(token(&s, "pub.xd2").await),
            http: reqwest::Client::new(),
        };
        let r = p
            .post(
                "package_create",
                json!({"name": "thu-nghiem", "title": "Thử nghiệm", "owner_org": "SOXAYDUNG"}),
            )
            .await;
        let id = ok(&r)["id"].as_str().unwrap().to_string();
        let stamp = s.db.od_stamp().await.unwrap();

        // Malformed JSON, unknown action, bad query syntax, unknown things.
        let res = reqwest::Client::new()
            .post(s.url("/api/action/package_search"))
            .header("content-type", "application/json")
            .body("{\"q\": ")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        let body: Value = res.json().await.unwrap();
        assert!(body["error"]["message"].as_str().unwrap().contains("JSON"));
        let res = reqwest::get(s.url("/api/3/action/no_such_action"))
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        assert!(res.json::<Value>().await.unwrap().is_string());
        let r = anon.get("package_search", &[("fq", "tags:\"oops")]).await;
        assert_eq!((r.0, error_type(&r).as_str()), (400, "Search Query Error"));
        assert!(r.1["error"]["message"].as_str().unwrap().contains("quote"));
        let r = anon.get("package_search", &[("sort", "nonsense up")]).await;
        assert_eq!((r.0, error_type(&r).as_str()), (400, "Search Query Error"));
        let r = anon.get("package_search", &[("rows", "5000")]).await;
        assert_eq!((r.0, error_type(&r).as_str()), (409, "Validation Error"));
        let r = anon.get("package_show", &[("id", "khong-co")]).await;
        assert_eq!((r.0, error_type(&r).as_str()), (404, "Not Found Error"));
        let r = anon
            .get("datastore_search", &[("resource_id", "khong-co")])
            .await;
        assert_eq!((r.0, error_type(&r).as_str()), (404, "Not Found Error"));
        let r = anon.get("datastore_search", &[]).await;
        assert_eq!(error_type(&r), "Validation Error");
        assert!(r.1["error"]["resource_id"].is_array());

        // Writes without a key, to another agency, with bad fields, with a taken name.
        let r = anon
            .post(
                "package_create",
                json!({"name": "x-moi", "title": "X", "owner_org": "soxaydung"}),
            )
            .await;
        assert_eq!((r.0, error_type(&r).as_str()), (403, "Authorization Error"));
        let r = p
            .post(
                "package_create",
                json!({"name": "cua-so-khac", "title": "X", "owner_org": "sonoivu"}),
            )
            .await;
        assert_eq!((r.0, error_type(&r).as_str()), (403, "Authorization Error"));
        let r = p
        .post(
            "package_create",
            json!({"name": "Tên Sai!", "title": "", "owner_org": "soxaydung", "license_id": "nope"}),
        )
        .await;
        assert_eq!((r.0, error_type(&r).as_str()), (409, "Validation Error"));
        for field in ["name", "title", "license_id"] {
            assert!(r.1["error"][field].is_array(), "{field}: {}", r.1);
        }
        let r = p
            .post(
                "package_create",
                json!({"name": "thu-nghiem", "title": "Lần hai", "owner_org": "soxaydung"}),
            )
            .await;
        assert_eq!(error_type(&r), "Validation Error");
        assert!(r.1["error"]["name"].is_array());

        // Files: a ragged row, a picture, a legacy encoding; nothing is added by a refusal.
        let ragged = "a,b\n1,2\n3\n".as_bytes().to_vec();
        let r = p.upload(&id, ragged, &[]).await;
        assert_eq!((r.0, error_type(&r).as_str()), (409, "Validation Error"));
        let msg = r.1["error"]["upload"][0].as_str().unwrap().to_string();
        assert!(msg.contains('3'), "names the row: {msg}");
        let png =
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89"
                .to_vec();
        let r = p.upload(&id, png, &[]).await;
        assert_eq!(error_type(&r), "Validation Error");
        let legacy = windows_1258_file();
        let r = p.upload(&id, legacy.clone(), &[]).await;
        assert_eq!(error_type(&r), "Validation Error");
        assert!(r.1["error"]["upload"][0].as_str().unwrap().contains("1258"));
        assert_eq!(
            s.db.od_stamp().await.unwrap(),
            stamp,
            "refusals wrote nothing"
        );
        let full = s.db.od_dataset(&id).await.unwrap().unwrap();
        assert!(full.resources.is_empty());
        let tables = sqlx_count(
            &s,
            match engine {
                cityhall_db::Engine::Sqlite => {
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name LIKE 'ods_%'"
                }
                cityhall_db::Engine::Postgres => {
                    "SELECT COUNT(*) FROM information_schema.tables WHERE table_name LIKE 'ods_%'"
                }
            },
        )
        .await;
        assert_eq!(tables, 0, "no half-loaded table is left behind");

        // The same legacy file with its encoding named loads, in NFC.
        let r = p.upload(&id, legacy, &[("encoding", "windows-1258")]).await;
        let rid = ok(&r)["id"].as_str().unwrap().to_string();
        let r = anon
            .post(
                "datastore_search",
                json!({"resource_id": rid, "filters": {"ten": "Phường Sài Gòn"}}),
            )
            .await;
        assert_eq!(ok(&r)["total"], 1);

        // Datastore queries on columns that do not exist, values of the wrong type.
        for bad in [
            json!({"resource_id": rid, "filters": {"khong_co": 1}}),
            json!({"resource_id": rid, "filters": {"ma": "abc"}}),
            json!({"resource_id": rid, "sort": "khong_co desc"}),
            json!({"resource_id": rid, "fields": ["ma", "khong_co"]}),
            json!({"resource_id": rid, "limit": 40000}),
            json!({"resource_id": rid, "records_format": "xml"}),
        ] {
            let r = anon.post("datastore_search", bad.clone()).await;
            assert_eq!(
                (r.0, error_type(&r).as_str()),
                (409, "Validation Error"),
                "{bad}"
            );
        }

        // Choosing a type the values do not fit keeps the table as it was.
        let c = s.signed_in("pub.xd2").await;
        let before =
            s.db.od_resource(&rid)
                .await
                .unwrap()
                .unwrap()
                .datastore_table;
        let res = c
            .post_form(
                &format!("/dataset/thu-nghiem/resource/{rid}/types"),
                &[("type_1", "int"), ("type_2", "int")],
            )
            .await;
        assert_eq!(res.status(), 422);
        let page = res.text().await.unwrap();
        assert!(
            page.contains("Phường Sài Gòn"),
            "the message quotes the value"
        );
        let after =
            s.db.od_resource(&rid)
                .await
                .unwrap()
                .unwrap()
                .datastore_table;
        assert_eq!(before, after);
        let res = c
            .post_form(
                &format!("/dataset/thu-nghiem/resource/{rid}/types"),
                &[("type_1", "text"), ("type_2", "text")],
            )
            .await;
        assert_eq!(res.status(), 303);
        let fields = s.db.od_fields(&rid).await.unwrap();
        assert_eq!(fields[0].kind, "text");
        // Another agency's publisher may not touch it.
        s.user("pub.nv", Role::Publisher, Some("SONOIVU")).await;
        let other = s.signed_in("pub.nv").await;
        let res = other
            .post_form(&format!("/dataset/thu-nghiem/resource/{rid}/delete"), &[])
            .await;
        assert_eq!(res.status(), 403);
        assert!(s.db.od_resource(&rid).await.unwrap().is_some());
    }
);

web_test!(statistics_are_published, |engine| async move {
    let Some(s) = start(engine, |_| {}).await else {
        return;
    };
    cityhall_web::opendata::stats::publish(&s.state)
        .await
        .unwrap();
    let anon = Ckan {
        s: &s,
        key: None,
        http: reqwest::Client::new(),
    };
    for name in [
        "thong-ke-ho-so-thu-tuc-hanh-chinh",
        "thong-ke-phan-anh-kien-nghi",
    ] {
        let r = anon.get("package_show", &[("id", name)]).await;
        let pkg = ok(&r);
        assert!(pkg["notes"].as_str().unwrap().contains("từ 1 đến 4"));
        assert_eq!(pkg["resources"][0]["datastore_active"], true);
    }
    // Publishing the same figures again writes nothing.
    let stamp = s.db.od_stamp().await.unwrap();
    cityhall_web::opendata::stats::publish(&s.state)
        .await
        .unwrap();
    assert_eq!(s.db.od_stamp().await.unwrap(), stamp);
});

#[test]
fn small_counts_are_blank_and_shares_follow() {
    let now = OffsetDateTime::now_utc();
    let at = |days: i64| micros(now - Duration::days(days));
    let mut facts = Vec::new();
    // Twelve dossiers of one procedure: 9 on time, 3 late, 6 online.
    for i in 0..12 {
        facts.push(DossierFact {
            procedure_code: "P1".into(),
            agency_code: "A".into(),
            channel: if i < 6 { "online" } else { "in_person" }.into(),
            submitted_at: at(40),
            due_at: Some(at(30)),
            finished_at: Some(if i < 9 { at(35) } else { at(20) }),
        });
    }
    // Two of another: too few to publish.
    for _ in 0..2 {
        facts.push(DossierFact {
            procedure_code: "P2".into(),
            agency_code: "A".into(),
            channel: "online".into(),
            submitted_at: at(40),
            due_at: Some(at(1)),
            finished_at: None,
        });
    }
    let rows = dossier_rows(&facts, now);
    let p1 = rows.iter().find(|r| r[1] == "P1").unwrap();
    assert_eq!(&p1[3..], ["12", "12", "9", "", "50.0"], "3 late is blank");
    let p2 = rows.iter().find(|r| r[1] == "P2").unwrap();
    assert_eq!(&p2[3..], ["", "0", "0", "", ""], "2 late is blank too");

    let mut reports = Vec::new();
    for i in 0..6 {
        reports.push(ReportFact {
            category_code: "road-damage".into(),
            ward_code: "26734".into(),
            created_at: at(3),
            due_at: Some(at(1)),
            resolved_at: Some(at(2)),
            rating: Some(if i % 2 == 0 { 5 } else { 4 }),
        });
    }
    let rows = report_rows(&reports);
    assert_eq!(&rows[0][3..], ["6", "6", "100.0", "4.50"]);
    let rows = report_rows(&reports[..4]);
    assert_eq!(&rows[0][3..], ["", "", "", ""]);
}
