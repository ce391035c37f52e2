//! The themes every installation starts with, and the demo's datasets: real reference data
//! the platform ships (wards, procedures, feedback categories, the ward desks) and two
//! clearly marked sample tables (bus routes, flood-prone streets), across four agencies.

use cityhall_core::opendata::table::ColumnType;
use cityhall_db::opendata::GroupRow;
use cityhall_db::{new_id, GeoStore, OpenDataStore, SystemStore};
use time::OffsetDateTime;

use super::service::{csv_bytes, publish_table, Actor, DatasetInput, TableFile};
use crate::AppState;

/// The themes (CKAN groups): name, Vietnamese and English titles.
pub const THEMES: &[(&str, &str, &str)] = &[
    (
        "hanh-chinh-cong",
        "Hành chính công",
        "Public administration",
    ),
    (
        "dan-cu-dia-gioi",
        "Dân cư và địa giới",
        "Population and boundaries",
    ),
    ("giao-thong", "Giao thông", "Transport"),
    (
        "moi-truong",
        "Môi trường và thiên tai",
        "Environment and hazards",
    ),
    ("kinh-te", "Kinh tế", "Economy"),
    ("y-te-giao-duc", "Y tế và giáo dục", "Health and education"),
];

/// Creates the themes that are missing (kept as admins left them otherwise).
pub async fn ensure_themes(state: &AppState) -> anyhow::Result<()> {
    let have = state.db.od_groups().await?;
    let now = OffsetDateTime::now_utc();
    let missing: Vec<_> = THEMES
        .iter()
        .filter(|(n, _, _)| !have.iter().any(|g| g.name == *n))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut tx = state.db.begin().await?;
    for (name, vi, en) in missing {
        cityhall_db::Db::od_put_group(
            &mut tx,
            now,
            &GroupRow {
                id: new_id(),
                name: (*name).into(),
                title_vi: (*vi).into(),
                title_en: (*en).into(),
                ..Default::default()
            },
        )
        .await?;
    }
    cityhall_db::Db::od_bump(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

const SAMPLE_VI: &str = "Dữ liệu mẫu để trình diễn, không phải số liệu chính thức.";
const SAMPLE_EN: &str = "Sample data for demonstration, not official figures.";

struct DemoSet {
    name: &'static str,
    org: &'static str,
    title: (&'static str, &'static str),
    notes: (String, String),
    tags: &'static [&'static str],
    group: &'static str,
    frequency: &'static str,
    resource: &'static str,
    header: &'static [&'static str],
    types: Vec<ColumnType>,
    rows: Vec<Vec<String>>,
}

fn s(v: &str) -> String {
    v.to_string()
}

/// Loads the demo datasets once (a flag remembers it).
pub async fn load(state: &AppState) -> anyhow::Result<()> {
    ensure_themes(state).await?;
    if state.db.flag("demo_opendata_loaded").await?.is_some() {
        return Ok(());
    }
    use ColumnType::{Int, Numeric, Text};
    let units = state.db.units().await?;
    let agencies = state.db.agencies().await?;
    let catalog = state.catalog.snapshot();
    let categories: Vec<_> = state
        .feedback
        .categories
        .groups
        .iter()
        .flat_map(|g| g.categories.iter())
        .collect();
    let mut sets = vec![
        DemoSet {
            name: "danh-sach-phuong-xa",
            org: "SONOIVU",
            title: ("Danh sách phường, xã, đặc khu", "Wards, communes and special zones"),
            notes: (
                "Các đơn vị hành chính cấp xã của Thành phố sau sắp xếp năm 2025, với mã đơn \
                 vị và tọa độ điểm trung tâm."
                    .into(),
                "The city's commune-level administrative units after the 2025 reorganisation, \
                 with their codes and centre points."
                    .into(),
            ),
            tags: &["phường", "xã", "địa giới", "hành chính"],
            group: "dan-cu-dia-gioi",
            frequency: "irregular",
            resource: "phuong-xa",
            header: &["ma", "ten", "ten_tieng_anh", "loai", "vi_do", "kinh_do"],
            types: vec![Text, Text, Text, Text, Numeric, Numeric],
            rows: units
                .iter()
                .map(|u| {
                    vec![
                        u.code.clone(),
                        u.name.clone(),
                        u.name_en.clone(),
                        u.kind.clone(),
                        u.lat.to_string(),
                        u.lon.to_string(),
                    ]
                })
                .collect(),
        },
        DemoSet {
            name: "diem-tiep-nhan-ho-so",
            org: "TTPVHCC",
            title: ("Điểm tiếp nhận hồ sơ và giờ làm việc", "Public service desks and opening hours"),
            notes: (
                format!(
                    "Bộ phận một cửa của Ủy ban nhân dân các phường, xã và giờ tiếp nhận hồ sơ. \
                     Giờ làm việc là giờ thông thường; {}",
                    SAMPLE_VI.to_lowercase()
                ),
                format!(
                    "The one-stop desks of the ward People's Committees and their opening hours. \
                     The hours are the usual ones; {}",
                    SAMPLE_EN.to_lowercase()
                ),
            ),
            tags: &["một cửa", "hành chính công", "giờ làm việc"],
            group: "hanh-chinh-cong",
            frequency: "monthly",
            resource: "diem-tiep-nhan",
            header: &["ma_co_quan", "ten", "ma_phuong", "thu_hai_thu_sau", "thu_bay"],
            types: vec![Text, Text, Text, Text, Text],
            rows: agencies
                .iter()
                .filter(|a| a.code.starts_with("UBND-"))
                .map(|a| {
                    vec![
                        a.code.clone(),
                        a.name.clone(),
                        a.ward_code.clone().unwrap_or_default(),
                        s("07:30–11:30, 13:00–17:00"),
                        s("07:30–11:30"),
                    ]
                })
                .collect(),
        },
        DemoSet {
            name: "thu-tuc-hanh-chinh",
            org: "TTPVHCC",
            title: ("Danh mục thủ tục hành chính", "Administrative procedures"),
            notes: (
                "Các thủ tục hành chính đang áp dụng: mã, tên, cơ quan giải quyết, cấp và mức \
                 dịch vụ trực tuyến."
                    .into(),
                "The administrative procedures in force: code, name, handling agency, level and \
                 online service level."
                    .into(),
            ),
            tags: &["thủ tục hành chính", "dịch vụ công"],
            group: "hanh-chinh-cong",
            frequency: "weekly",
            resource: "thu-tuc",
            header: &["ma", "ten", "co_quan", "cap", "truc_tuyen"],
            types: vec![Text, Text, Text, Text, Text],
            rows: catalog
                .procedures
                .iter()
                .map(|v| {
                    let p = &v.procedure;
                    vec![
                        p.code.as_str().to_string(),
                        p.name.vi.clone(),
                        p.agency.clone(),
                        p.level.as_str().to_string(),
                        if p.online().is_some() { s("có") } else { s("không") },
                    ]
                })
                .collect(),
        },
        DemoSet {
            name: "linh-vuc-phan-anh",
            org: "VPUBND",
            title: ("Lĩnh vực phản ánh, kiến nghị", "Feedback categories"),
            notes: (
                "Các lĩnh vực người dân có thể phản ánh qua 1022 và thời hạn xử lý.".into(),
                "What residents can report through 1022, and the time allowed to handle it."
                    .into(),
            ),
            tags: &["1022", "phản ánh"],
            group: "hanh-chinh-cong",
            frequency: "irregular",
            resource: "linh-vuc",
            header: &["ma", "ten", "ten_tieng_anh"],
            types: vec![Text, Text, Text],
            rows: categories
                .iter()
                .map(|c| vec![c.code.clone(), c.name.vi.clone(), c.name.en.clone()])
                .collect(),
        },
        DemoSet {
            name: "tuyen-xe-buyt-mau",
            org: "SOXAYDUNG",
            title: ("Tuyến xe buýt (mẫu)", "Bus routes (sample)"),
            notes: (format!("Một số tuyến xe buýt với giờ chạy và giãn cách. {SAMPLE_VI}"), format!("A few bus routes with their hours and headways. {SAMPLE_EN}")),
            tags: &["xe buýt", "giao thông công cộng", "dữ liệu mẫu"],
            group: "giao-thong",
            frequency: "monthly",
            resource: "tuyen-xe-buyt",
            header: &["so_tuyen", "diem_dau", "diem_cuoi", "gio_bat_dau", "gio_ket_thuc", "gian_cach_phut", "gia_ve_dong"],
            types: vec![Text, Text, Text, Text, Text, Int, Int],
            rows: [
                ("01", "Bến Thành", "Bến xe Chợ Lớn", "05:00", "20:15", 12, 5000),
                ("03", "Bến Thành", "Thạnh Lộc", "04:00", "20:45", 10, 6000),
                ("08", "Bến xe Quận 8", "Đại học Quốc gia", "04:40", "20:30", 6, 7000),
                ("19", "Bến Thành", "Khu chế xuất Linh Trung", "05:00", "19:00", 10, 7000),
                ("33", "Bến xe An Sương", "Đại học Quốc gia", "05:00", "19:00", 10, 7000),
                ("36", "Bến Thành", "Thới An", "05:00", "19:30", 15, 6000),
                ("52", "Bến Thành", "Đại học Quốc gia", "05:00", "19:00", 12, 7000),
                ("56", "Bến xe Chợ Lớn", "Đại học Giao thông Vận tải", "05:00", "20:00", 10, 6000),
                ("88", "Bến Thành", "Chợ Long Phước", "05:00", "19:00", 20, 7000),
                ("152", "Khu dân cư Trung Sơn", "Sân bay Tân Sơn Nhất", "05:15", "19:00", 12, 5000),
            ]
            .iter()
            .map(|(a, b, c, d, e, f, g)| vec![s(a), s(b), s(c), s(d), s(e), f.to_string(), g.to_string()])
            .collect(),
        },
        DemoSet {
            name: "diem-ngap-mau",
            org: "SOXAYDUNG",
            title: ("Tuyến đường thường ngập (mẫu)", "Flood-prone streets (sample)"),
            notes: (format!("Các đoạn đường hay ngập khi mưa lớn hoặc triều cường, với độ sâu thường gặp. {SAMPLE_VI}"), format!("Street sections that flood in heavy rain or at high tide, with the usual depth. {SAMPLE_EN}")),
            tags: &["ngập", "triều cường", "thoát nước", "dữ liệu mẫu"],
            group: "moi-truong",
            frequency: "monthly",
            resource: "diem-ngap",
            header: &["duong", "doan", "nguyen_nhan", "do_sau_cm"],
            types: vec![Text, Text, Text, Int],
            rows: [
                ("Nguyễn Hữu Cảnh", "Cầu Sài Gòn – Tôn Đức Thắng", "mưa lớn", 40),
                ("Huỳnh Tấn Phát", "Cầu Tân Thuận – Nguyễn Văn Linh", "triều cường", 30),
                ("Trần Xuân Soạn", "Lê Văn Lương – Huỳnh Tấn Phát", "triều cường", 35),
                ("Kinh Dương Vương", "Vòng xoay An Lạc", "mưa lớn", 25),
                ("Phan Anh", "Tân Hòa Đông – Thoại Ngọc Hầu", "mưa lớn", 30),
                ("Quốc lộ 13", "Cầu Bình Triệu – Hiệp Bình", "mưa lớn", 30),
                ("Đặng Văn Bi", "Võ Văn Ngân – Quốc lộ 1", "mưa lớn", 35),
                ("Lê Đức Thọ", "Nguyễn Văn Lượng – Phan Văn Trị", "mưa lớn", 20),
            ]
            .iter()
            .map(|(a, b, c, d)| vec![s(a), s(b), s(c), d.to_string()])
            .collect(),
        },
    ];
    let actor = Actor::System("demo");
    for set in sets.drain(..) {
        publish_table(
            state,
            &actor,
            &DatasetInput {
                name: Some(set.name.into()),
                title_vi: Some(set.title.0.into()),
                title_en: Some(set.title.1.into()),
                notes_vi: Some(set.notes.0),
                notes_en: Some(set.notes.1),
                owner_org: Some(set.org.into()),
                license_id: Some("cc-by-4.0".into()),
                tags: Some(set.tags.iter().map(|t| t.to_string()).collect()),
                groups: Some(vec![set.group.into()]),
                frequency: Some(set.frequency.into()),
                spatial: Some("Thành phố Hồ Chí Minh".into()),
                contact_name: Some("Bộ phận dữ liệu mở".into()),
                contact_email: Some("dulieumo@example.invalid".into()),
                state: Some("active".into()),
                ..Default::default()
            },
            "demo",
            TableFile {
                name: set.resource.into(),
                description: set.title.0.into(),
                csv: csv_bytes(set.header, &set.rows),
                types: set.types,
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("demo dataset {}: {e:?}", set.name))?;
    }
    let mut tx = state.db.begin().await?;
    cityhall_db::Db::set_flag_once(
        &mut tx,
        "demo_opendata_loaded",
        "1",
        OffsetDateTime::now_utc(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Synthetic data for benchmarks: `datasets` small datasets spread over the departments and
/// themes (written in batches, one search reload at the end), and one dataset whose table has
/// `rows` rows. Names start with `bench-`; running it again adds nothing that exists.
pub async fn generate(
    state: &AppState,
    datasets: usize,
    rows: usize,
    progress: impl Fn(&str),
) -> anyhow::Result<()> {
    use cityhall_db::opendata::{DatasetRow, ResourceRow};
    use cityhall_db::{micros, Db};
    ensure_themes(state).await?;
    let groups = state.db.od_groups().await?;
    let orgs: Vec<String> = state
        .db
        .agencies()
        .await?
        .into_iter()
        .filter(|a| !a.code.starts_with("UBND-"))
        .map(|a| a.code)
        .collect();
    let words = [
        "dân số",
        "giao thông",
        "ngập nước",
        "trường học",
        "bệnh viện",
        "chợ",
        "công viên",
        "xe buýt",
        "thuế",
        "doanh nghiệp",
        "đất đai",
        "xây dựng",
        "môi trường",
        "du lịch",
        "điện",
        "nước sạch",
        "rác thải",
        "an toàn thực phẩm",
        "văn hóa",
        "thể thao",
    ];
    let formats = ["CSV", "JSON", "XLSX", "PDF"];
    let now = OffsetDateTime::now_utc();
    let existing: std::collections::HashSet<String> =
        state.db.od_names("bench-").await?.into_iter().collect();
    let mut done = 0usize;
    while done < datasets {
        let batch = (datasets - done).min(500);
        let mut tx = state.db.begin().await?;
        for i in done..done + batch {
            let name = format!("bench-{i:06}");
            if existing.contains(&name) {
                continue;
            }
            let (a, b) = (
                words[i % words.len()],
                words[(i / words.len() + 3) % words.len()],
            );
            let d = DatasetRow {
                id: new_id(),
                name,
                org_code: orgs[i % orgs.len()].clone(),
                title_vi: format!("Số liệu {a} và {b} số {i}"),
                title_en: format!("Figures {i}"),
                notes_vi: format!("Bộ dữ liệu tổng hợp để đo hiệu năng: {a}, {b}."),
                license_id: "cc-by-4.0".into(),
                state: "active".into(),
                private: i % 50 == 0,
                source: "bench".into(),
                created_at: micros(now) - i as i64 * 1_000_000,
                modified_at: micros(now) - i as i64 * 1_000_000,
                row_version: 1,
                ..Default::default()
            };
            Db::od_insert_dataset(&mut tx, &d).await?;
            Db::od_set_tags(&mut tx, &d.id, &[a.to_string(), b.to_string()]).await?;
            Db::od_set_groups(&mut tx, &d.id, &[groups[i % groups.len()].id.clone()]).await?;
            Db::od_insert_resource(
                &mut tx,
                &ResourceRow {
                    id: new_id(),
                    dataset_id: d.id.clone(),
                    name: format!("Tệp {i}"),
                    format: formats[i % formats.len()].into(),
                    url: Some(format!("https://example.invalid/bench/{i}")),
                    created_at: d.created_at,
                    modified_at: d.modified_at,
                    ..Default::default()
                },
            )
            .await?;
        }
        Db::od_bump(&mut tx).await?;
        tx.commit().await?;
        done += batch;
        progress(&format!("datasets {done}/{datasets}"));
    }
    if rows > 0 {
        let name = format!("bench-bang-{rows}-dong");
        if state.db.od_dataset(&name).await?.is_none() {
            progress(&format!("writing a {rows}-row table"));
            let units = state.db.units().await?;
            let mut csv = String::from("ma_phuong,ngay,loai,so_luong,gia_tri,ghi_chu\n");
            for i in 0..rows {
                let u = &units[i % units.len()];
                let _ = std::fmt::Write::write_fmt(
                    &mut csv,
                    format_args!(
                        "{},2025-{:02}-{:02},{},{},{}.{},{} {}\n",
                        u.code,
                        i % 12 + 1,
                        i % 28 + 1,
                        words[i % words.len()],
                        i % 1000,
                        i % 97,
                        i % 10,
                        u.name,
                        i
                    ),
                );
            }
            let started = std::time::Instant::now();
            let actor = Actor::System("bench");
            publish_table(
                state,
                &actor,
                &DatasetInput {
                    name: Some(name.clone()),
                    title_vi: Some(format!("Bảng {rows} dòng để đo hiệu năng")),
                    owner_org: Some("SOXAYDUNG".into()),
                    state: Some("active".into()),
                    ..Default::default()
                },
                "bench",
                TableFile {
                    name: "bang-lon".into(),
                    description: "".into(),
                    csv: csv.into_bytes(),
                    types: {
                        use ColumnType::{Date, Int, Numeric, Text};
                        vec![Text, Date, Text, Int, Numeric, Text]
                    },
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            progress(&format!(
                "loaded {rows} rows in {:.1} s",
                started.elapsed().as_secs_f64()
            ));
        }
    }
    state.opendata.current(&state.db, true).await?;
    Ok(())
}
