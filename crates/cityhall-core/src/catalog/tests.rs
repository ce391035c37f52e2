use super::*;

fn known(a: &str) -> bool {
    matches!(a, "SOTUPHAP" | "CATP")
}

fn birth() -> serde_json::Value {
    serde_json::json!({
        "code": "1.001193",
        "local_code": null,
        "name": {"vi": "Đăng ký khai sinh", "en": "Birth registration"},
        "field": "ho-tich",
        "level": "commune",
        "agency": "UBND-{ward}",
        "channels": [
            {"kind": "in_person", "time_limit": "same_day", "fee": 0},
            {"kind": "online", "time_limit": {"working_days": 1}, "fee": null}
        ],
        "documents": [{"id": "giay-chung-sinh", "name": {"vi": "Giấy chứng sinh", "en": "Birth certificate"},
                       "originals": 1, "copies": 0, "required": true, "reuse": null}],
        "result_kind": "giay-khai-sinh",
        "online_level": "full",
        "effective_from": "2025-07-01",
        "unverified": ["channels.fee"],
        "form": {"type": "object", "required": ["ward", "proof"], "properties": {
            "ward": {"type": "string", "format": "ward", "title": "Phường", "x-title-en": "Ward"},
            "proof": {"type": "string", "format": "file", "x-document": "giay-chung-sinh", "title": "Giấy chứng sinh", "x-title-en": "Birth certificate"}
        }}
    })
}

fn parse(v: serde_json::Value) -> Result<Procedure, CatalogError> {
    let p: Procedure =
        serde_json::from_value(v).map_err(|e| CatalogError::new("-", "json", e.to_string()))?;
    p.check(&known)?;
    Ok(p)
}

#[test]
fn a_procedure_parses_and_routes_to_the_ward() {
    let p = parse(birth()).unwrap();
    assert_eq!(
        p.channel(ChannelKind::InPerson).unwrap().time_limit,
        Some(TimeLimit::SameDay)
    );
    assert_eq!(
        p.online().unwrap().time_limit,
        Some(TimeLimit::WorkingDays(1))
    );
    assert!(p.is_unverified("fee"));
    assert!(!p.is_unverified("documents"));
    let ward = WardCode::parse("27004").unwrap();
    assert_eq!(
        p.competent_agency(Some(&ward)).unwrap().as_str(),
        "UBND-27004"
    );
    assert_eq!(p.competent_agency(None), None);
}

#[test]
fn bad_records_name_the_problem() {
    let mut v = birth();
    v["code"] = "1001193".into();
    assert!(parse(v).unwrap_err().problem.contains("1.001193"));

    let mut v = birth();
    v["agency"] = "SOTUPHAP".into();
    assert_eq!(parse(v).unwrap_err().part, "agency");

    let mut v = birth();
    v["form"]["properties"]["proof"]["x-document"] = "nope".into();
    assert_eq!(parse(v).unwrap_err().part, "form");

    let mut v = birth();
    v["form"]["required"] = serde_json::json!(["proof"]);
    assert!(parse(v).unwrap_err().problem.contains("ward"));

    let mut v = birth();
    v["level"] = "city".into();
    v["agency"] = "SOXAYDUNG".into();
    assert_eq!(parse(v).unwrap_err().part, "agency");

    let mut v = birth();
    v["channels"][1]["kind"] = "in_person".into();
    assert_eq!(parse(v).unwrap_err().part, "channels");

    let mut v = birth();
    v["surprise"] = 1.into();
    assert!(parse(v).is_err());
}

#[test]
fn content_hash_changes_with_content_only() {
    let a = parse(birth()).unwrap();
    let b = parse(birth()).unwrap();
    assert_eq!(a.content_hash(), b.content_hash());
    let mut v = birth();
    v["channels"][0]["fee"] = 8000.into();
    assert_ne!(parse(v).unwrap().content_hash(), a.content_hash());
}

#[test]
fn the_shipped_catalog_is_valid() {
    let agencies: serde_json::Value =
        serde_json::from_str(include_str!("../../../../data/agencies-79.json")).unwrap();
    let codes: Vec<String> = agencies["agencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["code"].as_str().unwrap().to_string())
        .collect();
    let file = CatalogFile::parse(include_str!("../../../../data/procedures-79.json"), &|a| {
        codes.iter().any(|c| c == a)
    })
    .unwrap();
    assert!(file.procedures.len() >= 30, "{}", file.procedures.len());
    for code in ["1.001193", "1.000894", "1.004222", "2.000635"] {
        assert!(
            file.procedures.iter().any(|p| p.code.as_str() == code),
            "{code}"
        );
    }
    // Every unconfirmed fact is flagged rather than guessed.
    for p in &file.procedures {
        for c in &p.channels {
            if c.fee.is_none() || c.time_limit.is_none() {
                assert!(
                    !p.unverified.is_empty(),
                    "{} has an empty fact not flagged",
                    p.code
                );
            }
        }
    }
}
