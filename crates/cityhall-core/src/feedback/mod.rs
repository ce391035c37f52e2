//! Citizen feedback (phản ánh, kiến nghị — the 1022 hotline): categories and their routing
//! rule, the report's states and who may move it, locating a point in a ward, the answers to
//! a category's extra questions, and when an overdue report escalates.

mod category;
pub mod photo;
#[cfg(test)]
mod tests;

pub use category::{
    AgencyRule, Attribute, CategoriesFile, Category, CategoryError, Datatype, Group, ListValue,
};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::calendar::Calendar;

/// The longest description a report may carry (Open311's limit).
pub const MAX_DESCRIPTION: usize = 4000;
/// Photos a report (or a resolution) may carry.
pub const MAX_PHOTOS: usize = 5;

/// Where a report is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Filed without an account; waits for the e-mailed link or the SMS code. Not public.
    Unconfirmed,
    /// Received and routed to a unit.
    Open,
    /// An officer of the unit is on it.
    InProgress,
    /// The unit says it is fixed; the reporter may confirm or reopen within the window.
    Resolved,
    /// Confirmed by the reporter, or the reopen window passed.
    Closed,
    /// Not for the city, or not a real problem; the reason says who to turn to.
    Rejected,
    /// The same problem as an earlier report, which the followers now follow.
    Duplicate,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Unconfirmed,
        Status::Open,
        Status::InProgress,
        Status::Resolved,
        Status::Closed,
        Status::Rejected,
        Status::Duplicate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unconfirmed => "unconfirmed",
            Status::Open => "open",
            Status::InProgress => "in_progress",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
            Status::Rejected => "rejected",
            Status::Duplicate => "duplicate",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Open311's two-valued status: `open` while the city still has work to do.
    pub fn open311(self) -> &'static str {
        match self {
            Status::Unconfirmed | Status::Open | Status::InProgress => "open",
            _ => "closed",
        }
    }

    /// The unit still has to act (counts in the queue and for escalation).
    pub fn is_pending(self) -> bool {
        matches!(self, Status::Open | Status::InProgress)
    }

    /// Seen by the public (a list, a map, Open311).
    pub fn is_public(self) -> bool {
        self != Status::Unconfirmed
    }
}

/// Who acts on a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// Officer or supervisor of the unit the report is routed to.
    Unit,
    /// The person who filed it (signed in, or holding the confirmation).
    Reporter,
    /// The escalation and closing jobs.
    System,
}

/// What can be done to a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Confirm,
    Assign,
    Transfer,
    Reject,
    MarkDuplicate,
    Note,
    Resolve,
    Accept,
    Reopen,
    Rate,
    Escalate,
    Close,
}

impl Action {
    pub const ALL: [Action; 12] = [
        Action::Confirm,
        Action::Assign,
        Action::Transfer,
        Action::Reject,
        Action::MarkDuplicate,
        Action::Note,
        Action::Resolve,
        Action::Accept,
        Action::Reopen,
        Action::Rate,
        Action::Escalate,
        Action::Close,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Confirm => "confirm",
            Action::Assign => "assign",
            Action::Transfer => "transfer",
            Action::Reject => "reject",
            Action::MarkDuplicate => "duplicate",
            Action::Note => "note",
            Action::Resolve => "resolve",
            Action::Accept => "accept",
            Action::Reopen => "reopen",
            Action::Rate => "rate",
            Action::Escalate => "escalate",
            Action::Close => "close",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// The actions a unit's officer chooses from on the report page.
    pub const UNIT: [Action; 6] = [
        Action::Assign,
        Action::Resolve,
        Action::Transfer,
        Action::Reject,
        Action::MarkDuplicate,
        Action::Note,
    ];

    /// Only staff see the event (an internal note).
    pub fn is_internal(self) -> bool {
        self == Action::Note
    }
}

/// Why an action was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("not in this state")]
    WrongState,
    #[error("not for this actor")]
    WrongActor,
    #[error("the reopen window has passed")]
    WindowPassed,
}

/// Decides an action: the state it leads to, or why not. `within_window`: the reporter is
/// still within the reopen window after the resolution.
pub fn decide(
    status: Status,
    action: Action,
    actor: Actor,
    within_window: bool,
) -> Result<Status, Refusal> {
    use Status::*;
    let by = |a: Actor| {
        if a == actor {
            Ok(())
        } else {
            Err(Refusal::WrongActor)
        }
    };
    let pending = status.is_pending();
    match action {
        Action::Confirm => {
            by(Actor::Reporter)?;
            (status == Unconfirmed)
                .then_some(Open)
                .ok_or(Refusal::WrongState)
        }
        Action::Assign => {
            by(Actor::Unit)?;
            pending.then_some(InProgress).ok_or(Refusal::WrongState)
        }
        Action::Transfer => {
            by(Actor::Unit)?;
            pending.then_some(Open).ok_or(Refusal::WrongState)
        }
        Action::Reject => {
            by(Actor::Unit)?;
            pending.then_some(Rejected).ok_or(Refusal::WrongState)
        }
        Action::MarkDuplicate => {
            by(Actor::Unit)?;
            pending.then_some(Duplicate).ok_or(Refusal::WrongState)
        }
        Action::Note => {
            by(Actor::Unit)?;
            (status != Unconfirmed)
                .then_some(status)
                .ok_or(Refusal::WrongState)
        }
        Action::Resolve => {
            by(Actor::Unit)?;
            pending.then_some(Resolved).ok_or(Refusal::WrongState)
        }
        Action::Accept => {
            by(Actor::Reporter)?;
            (status == Resolved)
                .then_some(Closed)
                .ok_or(Refusal::WrongState)
        }
        Action::Reopen => {
            by(Actor::Reporter)?;
            if status != Resolved {
                return Err(Refusal::WrongState);
            }
            if !within_window {
                return Err(Refusal::WindowPassed);
            }
            Ok(Open)
        }
        Action::Rate => {
            by(Actor::Reporter)?;
            matches!(status, Resolved | Closed)
                .then_some(status)
                .ok_or(Refusal::WrongState)
        }
        Action::Escalate => {
            by(Actor::System)?;
            pending.then_some(status).ok_or(Refusal::WrongState)
        }
        Action::Close => {
            by(Actor::System)?;
            (status == Resolved && !within_window)
                .then_some(Closed)
                .ok_or(Refusal::WrongState)
        }
    }
}

/// How a report reached the city (the 1022 channels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Web,
    Api,
    Open311,
    Hotline,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::Api => "api",
            Channel::Open311 => "open311",
            Channel::Hotline => "hotline",
        }
    }
}

/// A WGS 84 point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub lat: f64,
    pub lon: f64,
}

impl Point {
    /// A point from user input; `None` when out of range or not a number.
    pub fn parse(lat: &str, lon: &str) -> Option<Point> {
        let lat: f64 = lat.trim().parse().ok()?;
        let lon: f64 = lon.trim().parse().ok()?;
        Point::new(lat, lon)
    }

    pub fn new(lat: f64, lon: f64) -> Option<Point> {
        (lat.is_finite() && lon.is_finite() && (-90.0..=90.0).contains(&lat))
            .then_some(())
            .filter(|_| (-180.0..=180.0).contains(&lon))
            .map(|_| Point { lat, lon })
    }

    /// Great-circle distance in metres (haversine, mean Earth radius).
    pub fn distance_m(self, other: Point) -> f64 {
        const R: f64 = 6_371_008.8;
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * R * a.sqrt().asin()
    }

    /// A box around the point, `radius_m` each way: (min_lat, max_lat, min_lon, max_lon). A
    /// cheap pre-filter for an index before the exact distance.
    pub fn bounds(self, radius_m: f64) -> (f64, f64, f64, f64) {
        let dlat = radius_m / 111_195.0;
        let dlon = dlat / self.lat.to_radians().cos().max(0.01);
        (
            self.lat - dlat,
            self.lat + dlat,
            self.lon - dlon,
            self.lon + dlon,
        )
    }
}

/// The ward a point belongs to: the item (a unit) whose centre is nearest, with its distance
/// in metres, if within `max_m`; `None` means outside the city. There are no boundaries in
/// the data, so nearest-centre is an approximation near a boundary — which is why the
/// resident confirms the ward on the form.
pub fn locate<T>(
    items: &[T],
    p: Point,
    max_m: f64,
    centre: impl Fn(&T) -> Point,
) -> Option<(&T, f64)> {
    items
        .iter()
        .map(|u| (u, p.distance_m(centre(u))))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .filter(|(_, d)| *d <= max_m)
}

/// The escalation policy: after the due instant passes, the unit's supervisors are
/// alerted; `city_after_hours` working hours later the report goes to the city desk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalation {
    /// Working hours after the due instant before level 1 (the unit's supervisor).
    pub supervisor_after_hours: u32,
    /// Working hours after the due instant before level 2 (the city desk).
    pub city_after_hours: u32,
    /// The agency that takes level-2 escalations and reports no rule routes.
    pub city_desk: String,
}

impl Default for Escalation {
    fn default() -> Self {
        Escalation {
            supervisor_after_hours: 0,
            city_after_hours: 8,
            city_desk: "VPUBND".into(),
        }
    }
}

impl Escalation {
    /// The level a pending report due at `due` should be at `now` (0: not overdue).
    pub fn level(&self, cal: &Calendar, due: OffsetDateTime, now: OffsetDateTime) -> u8 {
        if now <= due {
            return 0;
        }
        let late = cal.working_seconds_between(due, now).max(0);
        let hours = |h: u32| i64::from(h) * 3600;
        if late >= hours(self.city_after_hours)
            && self.city_after_hours > self.supervisor_after_hours
        {
            2
        } else if late >= hours(self.supervisor_after_hours) {
            1
        } else {
            0
        }
    }
}

/// Answers to a category's extra questions, as received (a list answer may repeat).
pub type RawAnswers = std::collections::BTreeMap<String, Vec<String>>;

/// A problem with one answer: the attribute code and a message key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerError {
    pub code: String,
    pub key: &'static str,
}

/// Checks answers against the category's attributes; returns them typed as JSON (numbers as
/// numbers, lists as arrays), or every problem at once. Unknown codes are ignored, as
/// Open311 clients send what they have.
pub fn check_answers(
    c: &Category,
    raw: &RawAnswers,
) -> Result<serde_json::Map<String, serde_json::Value>, Vec<AnswerError>> {
    use serde_json::Value;
    let mut out = serde_json::Map::new();
    let mut errors = Vec::new();
    for a in &c.attributes {
        let given: Vec<&str> = raw
            .get(&a.code)
            .map(|v| {
                v.iter()
                    .map(|s| s.trim())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let err = |key| AnswerError {
            code: a.code.clone(),
            key,
        };
        if given.is_empty() {
            if a.required {
                errors.push(err("err-attr-required"));
            }
            continue;
        }
        if given.iter().any(|s| s.chars().count() > 1000) {
            errors.push(err("err-attr-too-long"));
            continue;
        }
        let value = match a.datatype {
            Datatype::String | Datatype::Text => Value::String(given[0].to_string()),
            Datatype::Number => match given[0].replace(',', ".").parse::<f64>() {
                Ok(n) if n.is_finite() => serde_json::Number::from_f64(n)
                    .map(Value::Number)
                    .unwrap_or(Value::Null),
                _ => {
                    errors.push(err("err-attr-number"));
                    continue;
                }
            },
            Datatype::Datetime => {
                let s = given[0];
                let ok = OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                    .is_ok()
                    || time::PrimitiveDateTime::parse(
                        s,
                        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]"),
                    )
                    .is_ok()
                    || time::Date::parse(
                        s,
                        time::macros::format_description!("[year]-[month]-[day]"),
                    )
                    .is_ok();
                if !ok {
                    errors.push(err("err-attr-datetime"));
                    continue;
                }
                Value::String(s.to_string())
            }
            Datatype::SingleValueList => {
                if given.len() > 1 || !a.values.iter().any(|v| v.key == given[0]) {
                    errors.push(err("err-attr-choice"));
                    continue;
                }
                Value::String(given[0].to_string())
            }
            Datatype::MultiValueList => {
                if !given.iter().all(|g| a.values.iter().any(|v| v.key == *g)) {
                    errors.push(err("err-attr-choice"));
                    continue;
                }
                let mut keys: Vec<&str> = given.clone();
                keys.dedup();
                Value::Array(keys.into_iter().map(|k| Value::String(k.into())).collect())
            }
        };
        out.insert(a.code.clone(), value);
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// A report's tracking code: `PA-{yymmdd}-{sequence, 4+ digits}` (PA: phản ánh), the day in
/// local time. Also its Open311 `service_request_id`.
pub fn tracking_code(day: time::Date, seq: i64) -> String {
    format!(
        "PA-{:02}{:02}{:02}-{:04}",
        day.year() % 100,
        u8::from(day.month()),
        day.day(),
        seq
    )
}

/// Whether a string has the shape of a report's tracking code.
pub fn looks_like_code(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 14
        && s.starts_with("PA-")
        && b[3..9].iter().all(u8::is_ascii_digit)
        && b[9] == b'-'
        && b[10..].iter().all(u8::is_ascii_digit)
}

/// How a phone number is stored and looked up: digits only, a leading +84 as 0.
pub fn normalize_phone(s: &str) -> Option<String> {
    let t = s.trim();
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    let d = if t.starts_with("+84") || (digits.starts_with("84") && digits.len() == 11) {
        format!("0{}", &digits[2..])
    } else {
        digits
    };
    (d.len() == 10
        && d.starts_with('0')
        && t.chars()
            .all(|c| c.is_ascii_digit() || " +-.()".contains(c)))
    .then_some(d)
}
