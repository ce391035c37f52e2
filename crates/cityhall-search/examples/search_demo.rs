//! Indexes a few procedures and prints what some everyday queries find.
//! Times are printed for information only.
//!
//! `cargo run -p cityhall-search --example search_demo [query ...]`

use std::time::Instant;

use cityhall_search::{Doc, Index, Query, Synonyms};

const SYNONYMS: &str = include_str!("../../../data/synonyms-vi.json");

const CATALOG: &[(&str, &str, &str, &str)] = &[
    (
        "1.001193",
        "Đăng ký khai sinh",
        "Birth registration",
        "Tờ khai đăng ký khai sinh; giấy chứng sinh. Kết quả: Giấy khai sinh.",
    ),
    (
        "1.000894",
        "Đăng ký kết hôn",
        "Marriage registration",
        "Tờ khai đăng ký kết hôn; giấy xác nhận tình trạng hôn nhân.",
    ),
    (
        "1.000656",
        "Đăng ký khai tử",
        "Death registration",
        "Tờ khai đăng ký khai tử; giấy báo tử.",
    ),
    (
        "1.004873",
        "Cấp bản sao trích lục hộ tịch",
        "Copies of civil status extracts",
        "Khai sinh, kết hôn, khai tử.",
    ),
    (
        "1.009794",
        "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ",
        "Construction permit for individual houses",
        "Đơn đề nghị cấp giấy phép xây dựng.",
    ),
    (
        "1.001612",
        "Đăng ký thường trú",
        "Permanent residence registration",
        "Tờ khai thay đổi thông tin cư trú.",
    ),
    (
        "1.001610",
        "Đăng ký tạm trú",
        "Temporary residence registration",
        "Tờ khai thay đổi thông tin cư trú.",
    ),
    (
        "2.000986",
        "Đăng ký thành lập hộ kinh doanh",
        "Household business registration",
        "Giấy đề nghị đăng ký hộ kinh doanh.",
    ),
    (
        "2.001610",
        "Đăng ký thành lập doanh nghiệp tư nhân",
        "Sole proprietorship registration",
        "Giấy đề nghị đăng ký doanh nghiệp.",
    ),
    (
        "2.000815",
        "Cấp Phiếu lý lịch tư pháp",
        "Criminal record certificate",
        "Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp.",
    ),
    (
        "2.000908",
        "Chứng thực bản sao từ bản chính",
        "Certifying copies from originals",
        "Bản chính giấy tờ để chứng thực bản sao.",
    ),
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let index = Index::new(Synonyms::from_json(SYNONYMS)?)?;
    index.replace_all(CATALOG.iter().map(|(id, vi, en, body)| Doc {
        id: (*id).into(),
        kind: "procedure".into(),
        title_vi: (*vi).into(),
        title_en: (*en).into(),
        body: (*body).into(),
        ..Doc::default()
    }))?;
    println!("indexed {} docs in {:?}", index.len(), start.elapsed());

    let args: Vec<String> = std::env::args().skip(1).collect();
    let queries: Vec<&str> = if args.is_empty() {
        vec![
            "dang ky khai sinh",
            "đăng ký kết hôn",
            "lam giay khai sinh",
            "GPXD",
            "nhap ho khau",
            "mở công ty",
            "tôi muốn đăng ký tạm trú",
            "dang ky ket hon con gai",
            "(((",
        ]
    } else {
        args.iter().map(String::as_str).collect()
    };
    for text in queries {
        let start = Instant::now();
        let hits = index.search(&Query {
            text,
            limit: 5,
            ..Query::default()
        })?;
        println!("\n{text:?}: {} found in {:?}", hits.total, start.elapsed());
        for hit in hits.hits {
            let title = CATALOG.iter().find(|c| c.0 == hit.id).map_or("", |c| c.1);
            println!("  {:>7.2}  {}  {}", hit.score, hit.id, title);
        }
    }
    Ok(())
}
