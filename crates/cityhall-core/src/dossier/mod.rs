//! Dossiers (hồ sơ): the one-stop workflow as data, tracking codes, and the rules that
//! decide a transition. The store applies a decided transition in one transaction.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::calendar::{TimeLimit, VN_OFFSET};
use crate::catalog::I18nText;
use crate::geo::AgencyCode;

pub mod payment;

/// What the clock does while a dossier is in a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockRule {
    /// Not yet accepted: the time limit has not started.
    Before,
    Running,
    /// Waiting for the resident: time does not count against the agency.
    Paused,
    /// The result exists; the handling time is over.
    Finished,
    /// Nothing more happens.
    Final,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StateDef {
    pub id: String,
    /// National dossier status code (1 new … 10 result returned).
    pub status: i16,
    pub clock: ClockRule,
    /// How long a dossier should stay in this state.
    #[serde(default)]
    pub sla: Option<TimeLimit>,
    pub name: I18nText,
}

/// Who may take an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// The resident who filed the dossier.
    Applicant,
    /// Staff of the competent agency.
    Officer,
    /// The platform itself (e.g. a payment callback).
    System,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Need {
    Reason,
    Assignee,
    Amount,
    NewDate,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActionDef {
    pub id: String,
    pub from: Vec<String>,
    /// `None`: the state does not change (e.g. an apology letter).
    pub to: Option<String>,
    pub by: Actor,
    #[serde(default)]
    pub needs: Vec<Need>,
    pub name: I18nText,
}

/// A workflow: states and the actions between them, with who may act.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Workflow {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub states: Vec<StateDef>,
    pub actions: Vec<ActionDef>,
}

/// Why a transition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("unknown action")]
    UnknownAction,
    #[error("not allowed in this state")]
    WrongState,
    #[error("not allowed for this person")]
    WrongActor,
    #[error("missing {0:?}")]
    Missing(Need),
}

impl Workflow {
    /// The one-stop workflow shipped in `data/workflows/one-stop.json`.
    pub fn one_stop() -> &'static Workflow {
        static WF: OnceLock<Workflow> = OnceLock::new();
        WF.get_or_init(|| {
            Workflow::parse(include_str!("../../../../data/workflows/one-stop.json"))
                .expect("the shipped workflow is valid (tested)")
        })
    }

    /// Parses and checks a workflow: every state an action names exists, ids unique.
    pub fn parse(json: &str) -> Result<Workflow, String> {
        let wf: Workflow = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let mut ids = std::collections::BTreeSet::new();
        for s in &wf.states {
            if !ids.insert(s.id.as_str()) {
                return Err(format!("state {} appears twice", s.id));
            }
        }
        let mut actions = std::collections::BTreeSet::new();
        for a in &wf.actions {
            if !actions.insert(a.id.as_str()) {
                return Err(format!("action {} appears twice", a.id));
            }
            for s in a.from.iter().chain(a.to.iter()) {
                if !ids.contains(s.as_str()) {
                    return Err(format!("action {} names unknown state {s}", a.id));
                }
            }
        }
        if wf.states.first().map(|s| s.clock) != Some(ClockRule::Before) {
            return Err("the first state is where dossiers start (clock: before)".into());
        }
        Ok(wf)
    }

    pub fn initial(&self) -> &StateDef {
        &self.states[0]
    }

    pub fn state(&self, id: &str) -> Option<&StateDef> {
        self.states.iter().find(|s| s.id == id)
    }

    pub fn action(&self, id: &str) -> Option<&ActionDef> {
        self.actions.iter().find(|a| a.id == id)
    }

    /// The actions `actor` may take in `state`, in the workflow's order.
    pub fn allowed(&self, state: &str, actor: Actor) -> Vec<&ActionDef> {
        self.actions
            .iter()
            .filter(|a| a.by == actor && a.from.iter().any(|f| f == state))
            .collect()
    }

    /// Decides a transition: the state after `action`, or why it is refused.
    pub fn decide(
        &self,
        state: &str,
        action: &str,
        actor: Actor,
        given: &[Need],
    ) -> Result<&StateDef, TransitionError> {
        let a = self.action(action).ok_or(TransitionError::UnknownAction)?;
        if a.by != actor {
            return Err(TransitionError::WrongActor);
        }
        if !a.from.iter().any(|f| f == state) {
            return Err(TransitionError::WrongState);
        }
        if let Some(need) = a.needs.iter().find(|n| !given.contains(n)) {
            return Err(TransitionError::Missing(*need));
        }
        let to = a.to.as_deref().unwrap_or(state);
        self.state(to).ok_or(TransitionError::WrongState)
    }
}

/// A dossier's tracking code: `{competent agency}-{yymmdd}-{sequence}`, the sequence at least
/// four digits and counted per agency and day (mã hồ sơ).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TrackingCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a tracking code looks like UBND-27004-261123-0001")]
pub struct BadTrackingCode;

impl TrackingCode {
    pub fn new(agency: &AgencyCode, day: Date, seq: u64) -> TrackingCode {
        TrackingCode(format!(
            "{agency}-{:02}{:02}{:02}-{seq:04}",
            day.year().rem_euclid(100),
            u8::from(day.month()),
            day.day()
        ))
    }

    pub fn parse(s: &str) -> Result<TrackingCode, BadTrackingCode> {
        let s = s.trim().to_ascii_uppercase();
        let mut parts = s.rsplitn(3, '-');
        let seq = parts.next().ok_or(BadTrackingCode)?;
        let day = parts.next().ok_or(BadTrackingCode)?;
        let agency = parts.next().ok_or(BadTrackingCode)?;
        let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if seq.len() < 4 || seq.len() > 12 || !digits(seq) || day.len() != 6 || !digits(day) {
            return Err(BadTrackingCode);
        }
        AgencyCode::parse(agency).map_err(|_| BadTrackingCode)?;
        Ok(TrackingCode(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The agency part.
    pub fn agency(&self) -> &str {
        self.0.rsplitn(3, '-').nth(2).unwrap_or("")
    }
}

impl TryFrom<String> for TrackingCode {
    type Error = BadTrackingCode;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        TrackingCode::parse(&s)
    }
}
impl From<TrackingCode> for String {
    fn from(c: TrackingCode) -> String {
        c.0
    }
}
impl std::fmt::Display for TrackingCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The local date (Asia/Ho_Chi_Minh) a tracking code's day part uses.
/// The key of a day's tracking sequence (`yymmdd`), for dossiers and reports alike.
pub fn sequence_day(day: Date) -> String {
    format!(
        "{:02}{:02}{:02}",
        day.year().rem_euclid(100),
        u8::from(day.month()),
        day.day()
    )
}

pub fn local_day(t: OffsetDateTime) -> Date {
    t.to_offset(VN_OFFSET).date()
}

/// How the resident wants the result (hình thức nhận kết quả).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    Online,
    Postal,
    Desk,
}

impl Delivery {
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Online => "online",
            Delivery::Postal => "postal",
            Delivery::Desk => "desk",
        }
    }
    pub fn parse(s: &str) -> Option<Delivery> {
        match s {
            "online" => Some(Delivery::Online),
            "postal" => Some(Delivery::Postal),
            "desk" => Some(Delivery::Desk),
            _ => None,
        }
    }
}

/// The outcome of handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Approved,
    Rejected,
}

/// Whether a finished or running dossier is on time, as Decision 766/QĐ-TTg counts it:
/// finished (or, if still open, `now`) no later than the appointment date, where the
/// appointment already excludes the time waiting for a supplement; more than one supplement
/// request makes it late whatever the dates. `due` is the original appointment, not a date
/// given later in an apology letter.
pub fn on_time(
    due: OffsetDateTime,
    finished: Option<OffsetDateTime>,
    now: OffsetDateTime,
    supplements: u32,
) -> bool {
    supplements <= 1 && finished.unwrap_or(now) <= due
}

/// The canonical bytes a signed result's signature covers: a domain prefix and the compact
/// JSON of the payload with keys in the order the issuer wrote them.
pub fn result_message(payload_json: &str) -> Vec<u8> {
    let mut m = b"cityhall-result-v1\n".to_vec();
    m.extend_from_slice(payload_json.as_bytes());
    m
}

/// Money in đồng, written the Vietnamese way: 200.000 ₫.
pub fn format_dong(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    if amount < 0 {
        out.insert(0, '-');
    }
    out + " ₫"
}

#[cfg(test)]
mod tests;
