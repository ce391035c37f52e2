use super::*;
use crate::calendar::{Calendar, TimeLimit};
use crate::geo::{UnitKind, WardCode};

const SHIPPED: &str = include_str!("../../../../data/feedback-categories.json");
const AGENCIES: &str = include_str!("../../../../data/agencies-79.json");

fn known(code: &str) -> bool {
    AGENCIES.contains(&format!("\"code\": \"{code}\""))
}

#[test]
fn the_shipped_categories_are_valid_and_cover_the_city() {
    let f = CategoriesFile::parse(SHIPPED, known).unwrap();
    assert!(f.groups.len() >= 6);
    assert!(f.categories().count() >= 25);
    for code in [
        "flooding",
        "street-light",
        "sidewalk-encroachment",
        "noise",
        "bus-service",
    ] {
        assert!(f.category(code).is_some(), "{code}");
    }
    // Sidewalk encroachment is the ward's; buses are the city's.
    let ward = WardCode::parse("26740").unwrap();
    let c = f.category("sidewalk-encroachment").unwrap();
    assert_eq!(c.agency.unit(&ward).as_str(), "UBND-26740");
    assert_eq!(c.group, "trat-tu-do-thi");
    assert_eq!(
        f.category("bus-service")
            .unwrap()
            .agency
            .unit(&ward)
            .as_str(),
        "SOXAYDUNG"
    );
}

#[test]
fn a_bad_categories_file_lists_every_problem() {
    let bad = r#"{"groups": [{"code": "g", "name": {"vi": "x", "en": ""}, "categories": [
      {"code": "Bad Code", "name": {"vi": "a", "en": "a"}, "description": {"vi": "a", "en": "a"},
       "agency": "NOWHERE", "sla": {"working_days": 99}, "anonymous": true,
       "attributes": [{"code": "x", "datatype": "string", "description": {"vi": "a", "en": "a"},
                       "values": [{"key": "k", "name": {"vi": "a", "en": "a"}}]}]}]}]}"#;
    let e = CategoriesFile::parse(bad, known).unwrap_err();
    let all = e.to_string();
    for part in [
        "group \"g\"",
        "name needs vi and en",
        "bad or repeated code",
        "unknown agency NOWHERE",
        "working_days must be 1–60",
        "values are required for lists and only for lists",
    ] {
        assert!(all.contains(part), "{part} not in {all}");
    }
    assert!(CategoriesFile::parse(r#"{"groups": [], "extra": 1}"#, known).is_err());
}

#[test]
fn who_may_do_what() {
    use Action::*;
    use Status::*;
    assert_eq!(
        decide(Unconfirmed, Confirm, Actor::Reporter, true),
        Ok(Open)
    );
    assert_eq!(decide(Open, Assign, Actor::Unit, true), Ok(InProgress));
    assert_eq!(
        decide(Open, Assign, Actor::Reporter, true),
        Err(Refusal::WrongActor)
    );
    assert_eq!(decide(InProgress, Resolve, Actor::Unit, true), Ok(Resolved));
    assert_eq!(
        decide(Resolved, Resolve, Actor::Unit, true),
        Err(Refusal::WrongState)
    );
    assert_eq!(decide(Resolved, Reopen, Actor::Reporter, true), Ok(Open));
    assert_eq!(
        decide(Resolved, Reopen, Actor::Reporter, false),
        Err(Refusal::WindowPassed)
    );
    assert_eq!(decide(Resolved, Accept, Actor::Reporter, true), Ok(Closed));
    assert_eq!(decide(Closed, Rate, Actor::Reporter, false), Ok(Closed));
    assert_eq!(
        decide(Open, Rate, Actor::Reporter, false),
        Err(Refusal::WrongState)
    );
    assert_eq!(decide(Open, Transfer, Actor::Unit, true), Ok(Open));
    assert_eq!(decide(InProgress, Reject, Actor::Unit, true), Ok(Rejected));
    assert_eq!(
        decide(Open, MarkDuplicate, Actor::Unit, true),
        Ok(Duplicate)
    );
    assert_eq!(decide(Rejected, Note, Actor::Unit, true), Ok(Rejected));
    assert_eq!(
        decide(Unconfirmed, Note, Actor::Unit, true),
        Err(Refusal::WrongState)
    );
    assert_eq!(decide(Open, Escalate, Actor::System, true), Ok(Open));
    assert_eq!(
        decide(Resolved, Escalate, Actor::System, true),
        Err(Refusal::WrongState)
    );
    assert_eq!(
        decide(Resolved, Close, Actor::System, true),
        Err(Refusal::WrongState)
    );
    assert_eq!(decide(Resolved, Close, Actor::System, false), Ok(Closed));
    for s in Status::ALL {
        assert_eq!(Status::parse(s.as_str()), Some(s));
    }
    for a in Action::ALL {
        assert_eq!(Action::parse(a.as_str()), Some(a));
    }
    assert_eq!(InProgress.open311(), "open");
    assert_eq!(Duplicate.open311(), "closed");
    assert!(!Unconfirmed.is_public());
}

fn unit(code: &str, lat: f64, lon: f64) -> crate::geo::Unit {
    crate::geo::Unit {
        code: WardCode::parse(code).unwrap(),
        name: code.into(),
        name_en: code.into(),
        kind: UnitKind::Phuong,
        lat,
        lon,
    }
}

#[test]
fn a_point_finds_the_nearest_ward_or_is_outside() {
    let units = vec![
        unit("26740", 10.7769, 106.7009),
        unit("26743", 10.7722, 106.6980),
    ];
    let centre = |u: &crate::geo::Unit| Point::new(u.lat, u.lon).unwrap();
    let (u, d) = locate(
        &units,
        Point::new(10.7765, 106.7010).unwrap(),
        15_000.0,
        centre,
    )
    .unwrap();
    assert_eq!(u.code.as_str(), "26740");
    assert!(d < 100.0, "{d}");
    // Hà Nội is far from every ward of the city.
    assert!(locate(
        &units,
        Point::new(21.0285, 105.8542).unwrap(),
        15_000.0,
        centre
    )
    .is_none());
    // One degree of latitude is about 111 km.
    let d = Point::new(10.0, 106.0)
        .unwrap()
        .distance_m(Point::new(11.0, 106.0).unwrap());
    assert!((d - 111_195.0).abs() < 200.0, "{d}");
    assert!(Point::parse("91", "106").is_none());
    assert!(Point::parse("abc", "106").is_none());
    assert!(Point::parse("NaN", "106").is_none());
    let (a, b, c, e) = Point::new(10.77, 106.70).unwrap().bounds(500.0);
    assert!(a < 10.77 && b > 10.77 && c < 106.70 && e > 106.70);
}

fn category_with_questions() -> Category {
    let json = r#"{"groups": [{"code": "g1", "name": {"vi": "Nhóm", "en": "Group"}, "categories": [
      {"code": "flood", "name": {"vi": "Ngập", "en": "Flood"}, "description": {"vi": "a", "en": "a"},
       "agency": "ward", "sla": {"working_hours": 8}, "anonymous": true,
       "attributes": [
         {"code": "depth", "datatype": "number", "required": true, "description": {"vi": "Sâu", "en": "Depth"}},
         {"code": "blocked", "datatype": "singlevaluelist", "description": {"vi": "Tắc", "en": "Blocked"},
          "values": [{"key": "yes", "name": {"vi": "Có", "en": "Yes"}}, {"key": "no", "name": {"vi": "Không", "en": "No"}}]},
         {"code": "kinds", "datatype": "multivaluelist", "description": {"vi": "Loại", "en": "Kinds"},
          "values": [{"key": "car", "name": {"vi": "Ô tô", "en": "Car"}}, {"key": "bike", "name": {"vi": "Xe máy", "en": "Bike"}}]},
         {"code": "since", "datatype": "datetime", "description": {"vi": "Từ", "en": "Since"}}
       ]}]}]}"#;
    let f = CategoriesFile::parse(json, |_| true).unwrap();
    f.category("flood").unwrap().clone()
}

#[test]
fn answers_are_typed_and_every_problem_is_named() {
    let c = category_with_questions();
    let mut raw = RawAnswers::new();
    raw.insert("depth".into(), vec!["30,5".into()]);
    raw.insert("blocked".into(), vec!["yes".into()]);
    raw.insert("kinds".into(), vec!["car".into(), "bike".into()]);
    raw.insert("since".into(), vec!["2026-11-23T08:30".into()]);
    raw.insert("unknown".into(), vec!["ignored".into()]);
    let ok = check_answers(&c, &raw).unwrap();
    assert_eq!(ok["depth"], serde_json::json!(30.5));
    assert_eq!(ok["kinds"], serde_json::json!(["car", "bike"]));
    assert!(!ok.contains_key("unknown"));

    let mut bad = RawAnswers::new();
    bad.insert("blocked".into(), vec!["maybe".into()]);
    bad.insert("kinds".into(), vec!["boat".into()]);
    bad.insert("since".into(), vec!["yesterday".into()]);
    let errs = check_answers(&c, &bad).unwrap_err();
    let keys: Vec<(&str, &str)> = errs.iter().map(|e| (e.code.as_str(), e.key)).collect();
    assert_eq!(
        keys,
        vec![
            ("depth", "err-attr-required"),
            ("blocked", "err-attr-choice"),
            ("kinds", "err-attr-choice"),
            ("since", "err-attr-datetime"),
        ]
    );
    let mut nan = RawAnswers::new();
    nan.insert("depth".into(), vec!["sâu lắm".into()]);
    assert_eq!(
        check_answers(&c, &nan).unwrap_err()[0].key,
        "err-attr-number"
    );
}

#[test]
fn overdue_reports_escalate_in_working_time() {
    use time::macros::datetime;
    let cal = Calendar::default();
    let e = Escalation::default();
    // Due Monday 23/11/2026 12:00 local.
    let due = datetime!(2026-11-23 12:00 +7);
    assert_eq!(e.level(&cal, due, datetime!(2026-11-23 11:00 +7)), 0);
    assert_eq!(e.level(&cal, due, datetime!(2026-11-23 13:30 +7)), 1);
    // 24/11/2026 is a public holiday in the default calendar? Either way, 8 working
    // hours after due is reached only on a later working day.
    let due8 = cal.add_working_seconds(due, 8 * 3600);
    assert_eq!(e.level(&cal, due, due8), 2);
    assert_eq!(e.level(&cal, due, due8 - time::Duration::minutes(1)), 1);
    let _ = TimeLimit::WorkingHours(8);
}

#[test]
fn tracking_codes_and_phones() {
    let day = time::macros::date!(2026 - 11 - 23);
    assert_eq!(tracking_code(day, 7), "PA-261123-0007");
    assert_eq!(tracking_code(day, 12345), "PA-261123-12345");
    assert!(looks_like_code("PA-261123-0007"));
    assert!(!looks_like_code("UBND-26740-261123-0007"));
    assert_eq!(
        normalize_phone("+84 912 345 678").as_deref(),
        Some("0912345678")
    );
    assert_eq!(
        normalize_phone("0912.345.678").as_deref(),
        Some("0912345678")
    );
    assert_eq!(normalize_phone("12345"), None);
    assert_eq!(normalize_phone("09123456ab"), None);
}

/// A tiny but well-formed JPEG: SOI, JFIF, an EXIF segment with a GPS tag, a comment, a
/// quantisation table, SOS with two bytes of scan data, EOI.
fn jpeg_with_exif() -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8];
    let seg = |v: &mut Vec<u8>, marker: u8, body: &[u8]| {
        v.extend([0xFF, marker]);
        v.extend(u16::try_from(body.len() + 2).unwrap().to_be_bytes());
        v.extend(body);
    };
    seg(&mut v, 0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    seg(&mut v, 0xE1, b"Exif\0\0GPSLatitude=10.7769 Camera=PhoneX");
    seg(&mut v, 0xFE, b"taken by Nguyen Van A");
    seg(&mut v, 0xDB, &[0u8; 65]);
    seg(&mut v, 0xDA, &[1, 1, 0, 0, 0x3F, 0]);
    v.extend([0x12, 0x34, 0xFF, 0xD9]);
    v
}

#[test]
fn photos_lose_their_metadata_and_keep_the_picture() {
    let input = jpeg_with_exif();
    let (out, kind) = photo::strip(&input).unwrap();
    assert_eq!(kind, crate::blob::FileType::Jpeg);
    let s = String::from_utf8_lossy(&out);
    assert!(!s.contains("GPSLatitude") && !s.contains("Camera") && !s.contains("Nguyen"));
    assert!(s.contains("JFIF"));
    assert!(out.ends_with(&[0x12, 0x34, 0xFF, 0xD9]));
    assert_eq!(
        photo::strip(b"%PDF-1.4 not a photo"),
        Err(photo::PhotoError::NotAPhoto)
    );
    assert_eq!(photo::strip(b"GIF89a"), Err(photo::PhotoError::NotAPhoto));
    assert_eq!(
        photo::strip(&[0xFF, 0xD8, 0xFF, 0xE1, 0x00]),
        Err(photo::PhotoError::Damaged)
    );
}

#[test]
fn png_text_chunks_go() {
    fn chunk(v: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        v.extend(u32::try_from(data.len()).unwrap().to_be_bytes());
        v.extend(kind);
        v.extend(data);
        v.extend(crc32(&[&kind[..], data].concat()).to_be_bytes());
    }
    fn crc32(bytes: &[u8]) -> u32 {
        let mut c = 0xFFFF_FFFFu32;
        for b in bytes {
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
    let mut v = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    chunk(&mut v, b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
    chunk(&mut v, b"tEXt", b"Author\0Nguyen Van A");
    chunk(&mut v, b"eXIf", b"MM\0*GPS");
    chunk(&mut v, b"IDAT", &[0x78, 0x9C, 0x63, 0, 0, 0, 2, 0, 1]);
    chunk(&mut v, b"IEND", &[]);
    let (out, _) = photo::strip(&v).unwrap();
    let s = String::from_utf8_lossy(&out);
    assert!(!s.contains("Nguyen") && !s.contains("GPS"));
    assert!(s.contains("IDAT"));
}
