//! Statistics the platform publishes about its own work, as open datasets with datastore
//! tables, refreshed by a job: dossiers by procedure, agency and month, and feedback reports
//! by category, ward and month. No row identifies a person: every count from 1 to 4 is left
//! blank, and so is any share or mean built on such a count (the rule is in each dataset's
//! description).

use std::collections::BTreeMap;
use std::time::Duration;

use cityhall_core::calendar::VN_OFFSET;
use cityhall_core::opendata::table::ColumnType;
use cityhall_db::opendata::{DossierFact, ReportFact};
use cityhall_db::{from_micros, micros, OpenDataStore};
use time::OffsetDateTime;

use super::service::{csv_bytes, publish_table, Actor, DatasetInput, TableFile};
use crate::AppState;

/// Counts below this are not published.
pub const MIN_COUNT: i64 = 5;
/// The agency that publishes the platform's statistics.
pub const PUBLISHER: &str = "VPUBND";
pub const DOSSIER_DATASET: &str = "thong-ke-ho-so-thu-tuc-hanh-chinh";
pub const FEEDBACK_DATASET: &str = "thong-ke-phan-anh-kien-nghi";

fn month(us: i64) -> String {
    let t = from_micros(us).to_offset(VN_OFFSET);
    format!("{:04}-{:02}", t.year(), u8::from(t.month()))
}

/// A count as published: blank from 1 to 4.
fn count_cell(n: i64) -> String {
    if n > 0 && n < MIN_COUNT {
        String::new()
    } else {
        n.to_string()
    }
}

/// A percentage as published: blank when either count is suppressed or the base is empty.
fn share_cell(part: i64, whole: i64) -> String {
    if whole < MIN_COUNT
        || (part > 0 && part < MIN_COUNT)
        || (whole - part > 0 && whole - part < MIN_COUNT)
    {
        String::new()
    } else {
        format!("{:.1}", part as f64 * 100.0 / whole as f64)
    }
}

#[derive(Default)]
struct DossierRow {
    received: i64,
    finished: i64,
    on_time: i64,
    late: i64,
    online: i64,
}

/// Rows of the dossier table: month, procedure, agency, received, finished, on time, late,
/// online share (%).
pub fn dossier_rows(facts: &[DossierFact], now: OffsetDateTime) -> Vec<Vec<String>> {
    let now = micros(now);
    let mut by: BTreeMap<(String, String, String), DossierRow> = BTreeMap::new();
    for f in facts {
        let row = by
            .entry((
                month(f.submitted_at),
                f.procedure_code.clone(),
                f.agency_code.clone(),
            ))
            .or_default();
        row.received += 1;
        if f.channel == "online" {
            row.online += 1;
        }
        match (f.finished_at, f.due_at) {
            (Some(done), Some(due)) if done <= due => {
                row.finished += 1;
                row.on_time += 1;
            }
            (Some(_), Some(_)) => {
                row.finished += 1;
                row.late += 1;
            }
            (Some(_), None) => {
                row.finished += 1;
                row.on_time += 1;
            }
            (None, Some(due)) if due < now => row.late += 1,
            (None, _) => {}
        }
    }
    by.into_iter()
        .map(|((m, p, a), r)| {
            vec![
                m,
                p,
                a,
                count_cell(r.received),
                count_cell(r.finished),
                count_cell(r.on_time),
                count_cell(r.late),
                share_cell(r.online, r.received),
            ]
        })
        .collect()
}

#[derive(Default)]
struct ReportRow {
    received: i64,
    resolved: i64,
    resolved_on_time: i64,
    ratings: i64,
    rating_sum: i64,
}

/// Rows of the feedback table: month, category, ward, received, resolved, on-time share of
/// the resolved (%), mean rating (1–5).
pub fn report_rows(facts: &[ReportFact]) -> Vec<Vec<String>> {
    let mut by: BTreeMap<(String, String, String), ReportRow> = BTreeMap::new();
    for f in facts {
        let row = by
            .entry((
                month(f.created_at),
                f.category_code.clone(),
                f.ward_code.clone(),
            ))
            .or_default();
        row.received += 1;
        if let Some(done) = f.resolved_at {
            row.resolved += 1;
            if f.due_at.is_none_or(|due| done <= due) {
                row.resolved_on_time += 1;
            }
        }
        if let Some(r) = f.rating {
            row.ratings += 1;
            row.rating_sum += i64::from(r);
        }
    }
    by.into_iter()
        .map(|((m, c, w), r)| {
            vec![
                m,
                c,
                w,
                count_cell(r.received),
                count_cell(r.resolved),
                share_cell(r.resolved_on_time, r.resolved),
                if r.ratings >= MIN_COUNT {
                    format!("{:.2}", r.rating_sum as f64 / r.ratings as f64)
                } else {
                    String::new()
                },
            ]
        })
        .collect()
}

const RULE_VI: &str = "Không dòng nào cho phép nhận ra một người: mọi số đếm từ 1 đến 4 \
    được để trống, cùng với tỷ lệ hoặc trung bình tính từ số đếm đó.";
const RULE_EN: &str = "No row identifies a person: every count from 1 to 4 is left blank, and \
    so is any share or mean built on such a count.";

/// Recomputes both tables and publishes what changed.
pub async fn publish(state: &AppState) -> anyhow::Result<()> {
    super::demo::ensure_themes(state).await?;
    let now = OffsetDateTime::now_utc();
    let actor = Actor::System("statistics");
    let dossiers = state.db.stats_dossiers().await?;
    let rows = dossier_rows(&dossiers, now);
    let header = [
        "month",
        "procedure_code",
        "agency_code",
        "received",
        "finished",
        "on_time",
        "late",
        "online_share_pct",
    ];
    use ColumnType::{Int, Numeric, Text};
    publish_table(
        state,
        &actor,
        &DatasetInput {
            name: Some(DOSSIER_DATASET.into()),
            title_vi: Some("Thống kê hồ sơ thủ tục hành chính theo tháng".into()),
            title_en: Some("Administrative procedure dossiers by month".into()),
            notes_vi: Some(format!(
                "Số hồ sơ tiếp nhận, đã giải quyết, đúng hạn, trễ hạn và tỷ lệ nộp trực tuyến, \
                 theo tháng (giờ Việt Nam), thủ tục và cơ quan giải quyết; do nền tảng tự tính \
                 và cập nhật. {RULE_VI}"
            )),
            notes_en: Some(format!(
                "Dossiers received, finished, on time, late and the share filed online, by \
                 month (Vietnam time), procedure and handling agency; computed and refreshed \
                 by the platform. {RULE_EN}"
            )),
            owner_org: Some(PUBLISHER.into()),
            license_id: Some("cc-by-4.0".into()),
            tags: Some(vec![
                "thống kê".into(),
                "hồ sơ".into(),
                "dịch vụ công".into(),
            ]),
            groups: Some(vec!["hanh-chinh-cong".into()]),
            frequency: Some("daily".into()),
            state: Some("active".into()),
            ..Default::default()
        },
        "stats:dossiers",
        TableFile {
            name: "ho-so-theo-thang".into(),
            description:
                "Hồ sơ theo tháng, thủ tục và cơ quan / Dossiers by month, procedure and agency"
                    .into(),
            csv: csv_bytes(&header, &rows),
            types: vec![Text, Text, Text, Int, Int, Int, Int, Numeric],
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("dossier statistics: {e:?}"))?;

    let reports = state.db.stats_reports().await?;
    let rows = report_rows(&reports);
    let header = [
        "month",
        "category_code",
        "ward_code",
        "received",
        "resolved",
        "on_time_share_pct",
        "mean_rating",
    ];
    publish_table(
        state,
        &actor,
        &DatasetInput {
            name: Some(FEEDBACK_DATASET.into()),
            title_vi: Some("Thống kê phản ánh, kiến nghị theo tháng".into()),
            title_en: Some("Citizen feedback reports by month".into()),
            notes_vi: Some(format!(
                "Số phản ánh tiếp nhận, đã xử lý, tỷ lệ xử lý đúng hạn và điểm hài lòng trung \
                 bình, theo tháng (giờ Việt Nam), lĩnh vực và phường, xã; do nền tảng tự tính \
                 và cập nhật. {RULE_VI}"
            )),
            notes_en: Some(format!(
                "Feedback reports received, resolved, the share resolved on time and the mean \
                 rating, by month (Vietnam time), category and ward; computed and refreshed by \
                 the platform. {RULE_EN}"
            )),
            owner_org: Some(PUBLISHER.into()),
            license_id: Some("cc-by-4.0".into()),
            tags: Some(vec!["thống kê".into(), "phản ánh".into(), "1022".into()]),
            groups: Some(vec!["hanh-chinh-cong".into()]),
            frequency: Some("daily".into()),
            state: Some("active".into()),
            ..Default::default()
        },
        "stats:feedback",
        TableFile {
            name: "phan-anh-theo-thang".into(),
            description:
                "Phản ánh theo tháng, lĩnh vực và phường / Reports by month, category and ward"
                    .into(),
            csv: csv_bytes(&header, &rows),
            types: vec![Text, Text, Text, Int, Int, Numeric, Numeric],
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("feedback statistics: {e:?}"))?;
    Ok(())
}

/// Publishes soon after start and then every `every`, until `stop` changes.
pub async fn run(state: AppState, every: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut wait = Duration::from_secs(5);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        if let Err(e) = publish(&state).await {
            tracing::warn!(error = %e, "open data statistics");
        }
        wait = every;
    }
}
