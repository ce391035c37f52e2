//! What the feedback pages show: reports, their history and photos, the categories as form
//! questions, and a small map of the city drawn from the ward centres (no tile server needed).

use cityhall_core::feedback::{Category, Datatype, Point, Status};
use cityhall_db::feedback::{PhotoRow, ReportEventRow, ReportRow};
use cityhall_db::geo::UnitRow;
use cityhall_db::micros;
use time::OffsetDateTime;

use crate::dossier::local_when;
use crate::pages::PageCtx;
use crate::AppState;

/// One report as a row of a list.
pub struct RowView {
    pub code: String,
    pub href: String,
    pub category: String,
    pub ward: String,
    pub status: String,
    pub status_code: String,
    pub created: String,
    pub due: String,
    pub late: bool,
    pub escalation: i32,
}

/// A report's page.
pub struct ReportView {
    pub code: String,
    pub category: String,
    pub group: String,
    pub status: String,
    pub status_code: String,
    pub ward: String,
    pub unit: String,
    pub address: String,
    pub description: String,
    pub answers: Vec<(String, String)>,
    pub created: String,
    pub due: String,
    pub late: bool,
    pub channel: String,
    pub reporter: String,
    pub public_note: String,
    pub rating: Option<i32>,
    pub rating_comment: String,
    pub duplicate_of: String,
    pub escalation: i32,
    pub row_version: i32,
    pub photos: Vec<PhotoView>,
    pub resolution_photos: Vec<PhotoView>,
    pub events: Vec<EventView>,
    pub lat: String,
    pub lon: String,
}

pub struct PhotoView {
    pub url: String,
    pub alt: String,
}

pub struct EventView {
    pub at: String,
    pub what: String,
    pub status: String,
    pub note: String,
    pub internal: bool,
    pub detail: String,
}

pub fn status_label(p: &PageCtx, s: &str) -> String {
    p.t(&format!("fb-status-{s}"))
}

pub fn category_name(state: &AppState, p: &PageCtx, code: &str) -> String {
    let en = p.tr.lang == crate::i18n::Lang::En;
    state
        .feedback
        .category(code)
        .map(|c| c.name.get(en).to_string())
        .unwrap_or_else(|| code.to_string())
}

pub fn unit_name(units: &[UnitRow], p: &PageCtx, code: &str) -> String {
    let en = p.tr.lang == crate::i18n::Lang::En;
    units
        .iter()
        .find(|u| u.code == code)
        .map(|u| {
            if en && !u.name_en.is_empty() {
                u.name_en.clone()
            } else {
                u.name.clone()
            }
        })
        .unwrap_or_else(|| code.to_string())
}

/// Agency names by code, in the page's language, read once per page.
pub struct AgencyNames(std::collections::HashMap<String, String>);

impl AgencyNames {
    pub async fn load(state: &AppState, p: &PageCtx) -> crate::error::AppResult<AgencyNames> {
        use cityhall_db::GeoStore;
        let en = p.tr.lang == crate::i18n::Lang::En;
        Ok(AgencyNames(
            state
                .db
                .agencies()
                .await?
                .into_iter()
                .map(|a| {
                    let n = if en && !a.name_en.is_empty() {
                        a.name_en
                    } else {
                        a.name
                    };
                    (a.code, n)
                })
                .collect(),
        ))
    }

    /// The name, or the code itself for an agency that no longer exists.
    pub fn get(&self, code: &str) -> String {
        self.0
            .get(code)
            .cloned()
            .unwrap_or_else(|| code.to_string())
    }
}

fn is_late(r: &ReportRow, now: OffsetDateTime) -> bool {
    let pending = Status::parse(&r.status).is_some_and(Status::is_pending);
    match r.due_at {
        Some(d) if pending => d < micros(now),
        Some(d) => r.resolved_at.or(r.closed_at).is_some_and(|t| t > d),
        None => false,
    }
}

pub fn row_view(
    state: &AppState,
    p: &PageCtx,
    units: &[UnitRow],
    r: &ReportRow,
    href: String,
) -> RowView {
    let now = OffsetDateTime::now_utc();
    RowView {
        code: r.code.clone(),
        href,
        category: category_name(state, p, &r.category_code),
        ward: unit_name(units, p, &r.ward_code),
        status: status_label(p, &r.status),
        status_code: r.status.clone(),
        created: local_when(r.created_at),
        due: r.due_at.map(local_when).unwrap_or_default(),
        late: is_late(r, now),
        escalation: r.escalation_level,
    }
}

/// Everything about one report; `staff` adds internal notes and the reporter's contact.
#[allow(clippy::too_many_arguments)]
pub fn report_view(
    state: &AppState,
    p: &PageCtx,
    names: &AgencyNames,
    units: &[UnitRow],
    r: &ReportRow,
    events: &[ReportEventRow],
    photos: &[PhotoRow],
    staff: bool,
) -> ReportView {
    let en = p.tr.lang == crate::i18n::Lang::En;
    let cat = state.feedback.category(&r.category_code);
    let group = cat
        .and_then(|c| state.feedback.categories.group(&c.group))
        .map(|g| g.name.get(en).to_string())
        .unwrap_or_default();
    let answers = cat
        .map(|c| answer_list(c, &r.answers, en))
        .unwrap_or_default();
    let reporter = if staff {
        [
            r.reporter_name.clone(),
            r.reporter_phone.clone(),
            r.reporter_email.clone(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ")
    } else if r.hide_name {
        p.t("fb-name-hidden")
    } else {
        r.reporter_name
            .clone()
            .unwrap_or_else(|| p.t("fb-name-none"))
    };
    let photo = |ph: &PhotoRow, n: usize| PhotoView {
        url: format!("/feedback/{}/photos/{}", r.code, ph.id),
        alt: p.t1("fb-photo-alt", "n", &n.to_string()),
    };
    let photos_report: Vec<PhotoView> = photos
        .iter()
        .filter(|x| x.stage == "report")
        .enumerate()
        .map(|(i, x)| photo(x, i + 1))
        .collect();
    let photos_resolution: Vec<PhotoView> = photos
        .iter()
        .filter(|x| x.stage == "resolution")
        .enumerate()
        .map(|(i, x)| photo(x, i + 1))
        .collect();
    let mut ev = Vec::new();
    for e in events.iter().filter(|e| staff || !e.internal) {
        let data: serde_json::Value = e
            .data
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
            .unwrap_or_default();
        let mut detail = Vec::new();
        if let Some(u) = data.get("to_unit").and_then(|v| v.as_str()) {
            detail.push(format!("→ {}", names.get(u)));
        }
        if let Some(u) = data.get("unit").and_then(|v| v.as_str()) {
            detail.push(names.get(u));
        }
        if let Some(l) = data.get("level").and_then(|v| v.as_i64()) {
            detail.push(p.t1("fb-escalation-level", "n", &l.to_string()));
        }
        if let Some(o) = data.get("of").and_then(|v| v.as_str()) {
            detail.push(o.to_string());
        }
        if staff {
            if let Some(a) = data.get("assignee").and_then(|v| v.as_str()) {
                detail.push(a.to_string());
            }
        }
        ev.push(EventView {
            at: local_when(e.at),
            what: p.t(&format!("fb-ev-{}", e.action)),
            status: status_label(p, &e.to_status),
            note: e.note.clone().unwrap_or_default(),
            internal: e.internal,
            detail: detail.join(" · "),
        });
    }
    ReportView {
        code: r.code.clone(),
        category: category_name(state, p, &r.category_code),
        group,
        status: status_label(p, &r.status),
        status_code: r.status.clone(),
        ward: unit_name(units, p, &r.ward_code),
        unit: names.get(&r.agency_code),
        address: r.address.clone().unwrap_or_default(),
        description: r.description.clone(),
        answers,
        created: local_when(r.created_at),
        due: r.due_at.map(local_when).unwrap_or_default(),
        late: is_late(r, OffsetDateTime::now_utc()),
        channel: p.t(&format!("fb-channel-{}", r.channel)),
        reporter,
        public_note: r.public_note.clone().unwrap_or_default(),
        rating: r.rating,
        rating_comment: r.rating_comment.clone().unwrap_or_default(),
        duplicate_of: r.duplicate_of.clone().unwrap_or_default(),
        escalation: r.escalation_level,
        row_version: r.row_version,
        photos: photos_report,
        resolution_photos: photos_resolution,
        events: ev,
        lat: r.lat.map(|v| format!("{v:.6}")).unwrap_or_default(),
        lon: r.lon.map(|v| format!("{v:.6}")).unwrap_or_default(),
    }
}

/// The stored answers as (question, answer) in the page's language.
fn answer_list(c: &Category, stored: &str, en: bool) -> Vec<(String, String)> {
    let v: serde_json::Value = serde_json::from_str(stored).unwrap_or_default();
    let mut out = Vec::new();
    for a in &c.attributes {
        let Some(x) = v.get(&a.code) else { continue };
        let name_of = |k: &str| {
            a.values
                .iter()
                .find(|v| v.key == k)
                .map(|v| v.name.get(en).to_string())
                .unwrap_or_else(|| k.to_string())
        };
        let text = match x {
            serde_json::Value::Array(items) => items
                .iter()
                .filter_map(|i| i.as_str())
                .map(name_of)
                .collect::<Vec<_>>()
                .join(", "),
            serde_json::Value::String(s) if !a.values.is_empty() => name_of(s),
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        out.push((a.description.get(en).to_string(), text));
    }
    out
}

/// A category's extra question as a form field.
pub struct AttrField {
    pub code: String,
    /// `text`, `number`, `datetime`, `textarea`, `select` or `checks`.
    pub kind: &'static str,
    pub name: String,
    pub label: String,
    pub required: bool,
    pub value: String,
    pub values: Vec<(String, String, bool)>,
}

pub fn attr_fields(c: &Category, en: bool, given: &[(String, String)]) -> Vec<AttrField> {
    c.attributes
        .iter()
        .map(|a| {
            let base = format!("attribute[{}]", a.code);
            let multi = a.datatype == Datatype::MultiValueList;
            let name = if multi { format!("{base}[]") } else { base };
            let mine: Vec<&str> = given
                .iter()
                .filter(|(k, _)| *k == name)
                .map(|(_, v)| v.as_str())
                .collect();
            AttrField {
                code: a.code.clone(),
                kind: match a.datatype {
                    Datatype::String => "text",
                    Datatype::Number => "number",
                    Datatype::Datetime => "datetime",
                    Datatype::Text => "textarea",
                    Datatype::SingleValueList => "select",
                    Datatype::MultiValueList => "checks",
                },
                name,
                label: a.description.get(en).to_string(),
                required: a.required,
                value: mine.first().map(|s| s.to_string()).unwrap_or_default(),
                values: a
                    .values
                    .iter()
                    .map(|v| {
                        (
                            v.key.clone(),
                            v.name.get(en).to_string(),
                            mine.contains(&v.key.as_str()),
                        )
                    })
                    .collect(),
            }
        })
        .collect()
}

/// The categories grouped for a `<select>` with `<optgroup>`s.
pub fn category_groups(state: &AppState, en: bool) -> Vec<(String, Vec<(String, String)>)> {
    state
        .feedback
        .categories
        .groups
        .iter()
        .map(|g| {
            (
                g.name.get(en).to_string(),
                g.categories
                    .iter()
                    .map(|c| (c.code.clone(), c.name.get(en).to_string()))
                    .collect(),
            )
        })
        .collect()
}

/// A map of the city drawn from the ward centres: an equirectangular projection of their
/// bounding box, with the reports (or the chosen point) as pins.
pub struct MapView {
    pub w: u32,
    pub h: u32,
    pub lat0: f64,
    pub lat1: f64,
    pub lon0: f64,
    pub lon1: f64,
    pub wards: Vec<(f64, f64, String)>,
    pub pins: Vec<Pin>,
    pub marker: Option<(f64, f64)>,
}

pub struct Pin {
    pub x: f64,
    pub y: f64,
    pub href: String,
    pub label: String,
    pub open: bool,
}

impl MapView {
    pub fn new(units: &[UnitRow], en: bool) -> MapView {
        let (mut lat0, mut lat1, mut lon0, mut lon1) = (90.0f64, -90.0f64, 180.0f64, -180.0f64);
        for u in units {
            lat0 = lat0.min(u.lat);
            lat1 = lat1.max(u.lat);
            lon0 = lon0.min(u.lon);
            lon1 = lon1.max(u.lon);
        }
        if units.is_empty() {
            (lat0, lat1, lon0, lon1) = (10.3, 11.2, 106.3, 107.1);
        }
        let (plat, plon) = ((lat1 - lat0) * 0.04 + 0.005, (lon1 - lon0) * 0.04 + 0.005);
        (lat0, lat1, lon0, lon1) = (lat0 - plat, lat1 + plat, lon0 - plon, lon1 + plon);
        let w = 640u32;
        let ratio = (lat1 - lat0) / ((lon1 - lon0) * ((lat0 + lat1) / 2.0).to_radians().cos());
        let h = ((f64::from(w) * ratio).round() as u32).clamp(200, 900);
        let mut m = MapView {
            w,
            h,
            lat0,
            lat1,
            lon0,
            lon1,
            wards: Vec::new(),
            pins: Vec::new(),
            marker: None,
        };
        m.wards = units
            .iter()
            .map(|u| {
                let (x, y) = m.xy(Point {
                    lat: u.lat,
                    lon: u.lon,
                });
                let name = if en && !u.name_en.is_empty() {
                    &u.name_en
                } else {
                    &u.name
                };
                (x, y, name.clone())
            })
            .collect();
        m
    }

    pub fn xy(&self, p: Point) -> (f64, f64) {
        let x = (p.lon - self.lon0) / (self.lon1 - self.lon0) * f64::from(self.w);
        let y = (self.lat1 - p.lat) / (self.lat1 - self.lat0) * f64::from(self.h);
        ((x * 10.0).round() / 10.0, (y * 10.0).round() / 10.0)
    }

    pub fn pin(&mut self, p: Point, href: String, label: String, open: bool) {
        let (x, y) = self.xy(p);
        self.pins.push(Pin {
            x,
            y,
            href,
            label,
            open,
        });
    }
}
