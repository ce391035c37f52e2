//! The procedure catalog (danh mục thủ tục hành chính): what a procedure record holds, as the
//! national procedure database publishes it, and the file format the importer reads.
//!
//! A record is versioned by the store: importing a changed record creates a new version and
//! dossiers keep the version they were filed under. Facts that could not be confirmed are left
//! empty and named in `unverified`, so nobody (least of all the assistant) quotes a guess.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use time::Date;

use crate::calendar::TimeLimit;
use crate::geo::{AgencyCode, WardCode};

pub mod form;

pub use form::{FieldKind, FieldSpec, FormContext, FormSpec};

/// Text in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct I18nText {
    pub vi: String,
    pub en: String,
}

impl I18nText {
    pub fn get(&self, english: bool) -> &str {
        if english && !self.en.is_empty() {
            &self.en
        } else {
            &self.vi
        }
    }
}

/// A national procedure code such as `1.001193` (mã thủ tục).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProcedureCode(String);

impl ProcedureCode {
    pub fn parse(s: &str) -> Result<Self, CatalogError> {
        let s = s.trim();
        let b = s.as_bytes();
        let ok = b.len() == 8
            && b[0].is_ascii_digit()
            && b[1] == b'.'
            && b[2..].iter().all(u8::is_ascii_digit);
        if ok {
            Ok(ProcedureCode(s.to_string()))
        } else {
            Err(CatalogError::new(
                s,
                "code",
                "a procedure code looks like 1.001193",
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ProcedureCode {
    type Error = CatalogError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        ProcedureCode::parse(&s)
    }
}
impl From<ProcedureCode> for String {
    fn from(c: ProcedureCode) -> String {
        c.0
    }
}
impl std::fmt::Display for ProcedureCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who handles a procedure: a city body, or a ward's (phường, xã) own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    City,
    Commune,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::City => "city",
            Level::Commune => "commune",
        }
    }
    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "city" => Some(Level::City),
            "commune" => Some(Level::Commune),
            _ => None,
        }
    }
}

/// How a dossier reaches the agency (national channel codes 1, 2, 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    InPerson,
    Online,
    Postal,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::InPerson => "in_person",
            ChannelKind::Online => "online",
            ChannelKind::Postal => "postal",
        }
    }
    pub fn parse(s: &str) -> Option<ChannelKind> {
        match s {
            "in_person" => Some(ChannelKind::InPerson),
            "online" => Some(ChannelKind::Online),
            "postal" => Some(ChannelKind::Postal),
            _ => None,
        }
    }
    /// The national code used when syncing to the national portal.
    pub fn national_code(self) -> i16 {
        match self {
            ChannelKind::InPerson => 1,
            ChannelKind::Online => 2,
            ChannelKind::Postal => 3,
        }
    }
}

/// One way of applying, with its own time limit and fee.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Channel {
    pub kind: ChannelKind,
    /// `None` when the time limit could not be confirmed.
    pub time_limit: Option<TimeLimit>,
    #[serde(default)]
    pub time_note: Option<I18nText>,
    /// In đồng; `Some(0)` is free, `None` unconfirmed.
    pub fee: Option<i64>,
    #[serde(default)]
    pub fee_note: Option<I18nText>,
}

/// Where a required document can come from instead of an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reuse {
    /// A result another procedure issues, kept in the resident's document wallet.
    Wallet(String),
    /// Data a base registry holds (e.g. the population database).
    Registry(String),
}

impl Reuse {
    pub fn parse(s: &str) -> Option<Reuse> {
        let (kind, name) = s.split_once(':')?;
        if name.is_empty() {
            return None;
        }
        match kind {
            "wallet" => Some(Reuse::Wallet(name.to_string())),
            "registry" => Some(Reuse::Registry(name.to_string())),
            _ => None,
        }
    }
}

impl Serialize for Reuse {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Reuse::Wallet(k) => s.serialize_str(&format!("wallet:{k}")),
            Reuse::Registry(k) => s.serialize_str(&format!("registry:{k}")),
        }
    }
}
impl<'de> Deserialize<'de> for Reuse {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Reuse::parse(&s).ok_or_else(|| {
            serde::de::Error::custom("reuse is \"wallet:<result kind>\" or \"registry:<name>\"")
        })
    }
}

/// A required document (thành phần hồ sơ).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequiredDocument {
    pub id: String,
    pub name: I18nText,
    #[serde(default)]
    pub template: Option<String>,
    #[serde(default)]
    pub originals: u32,
    #[serde(default)]
    pub copies: u32,
    #[serde(default = "yes")]
    pub required: bool,
    #[serde(default)]
    pub reuse: Option<Reuse>,
}

fn yes() -> bool {
    true
}

/// How much of a procedure can be done online (Decree 42/2022).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnlineLevel {
    /// Toàn trình: the whole process online, the result online or by post.
    Full,
    /// Một phần: anything less.
    Partial,
}

impl OnlineLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            OnlineLevel::Full => "full",
            OnlineLevel::Partial => "partial",
        }
    }
}

/// One procedure as published (one version of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Procedure {
    pub code: ProcedureCode,
    #[serde(default)]
    pub local_code: Option<String>,
    pub name: I18nText,
    pub field: String,
    pub level: Level,
    /// A city agency code, or `UBND-{ward}` / `CA-{ward}` for a ward's own bodies.
    pub agency: String,
    #[serde(default)]
    pub applicants: Option<I18nText>,
    #[serde(default)]
    pub steps: Vec<I18nText>,
    pub channels: Vec<Channel>,
    #[serde(default)]
    pub documents: Vec<RequiredDocument>,
    #[serde(default)]
    pub result: Option<I18nText>,
    #[serde(default)]
    pub result_kind: Option<String>,
    #[serde(default)]
    pub legal_basis: Vec<String>,
    #[serde(default)]
    pub conditions: Option<I18nText>,
    pub online_level: OnlineLevel,
    #[serde(with = "crate::calendar::serde_date::ymd")]
    pub effective_from: Date,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub unverified: Vec<String>,
    pub form: serde_json::Value,
}

/// A field of activity (lĩnh vực).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    pub code: String,
    pub name: I18nText,
}

/// The importer's file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CatalogFile {
    #[serde(default)]
    pub source: Option<String>,
    pub fields: Vec<Field>,
    pub procedures: Vec<Procedure>,
}

/// A problem in catalog data, naming the procedure and the part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("procedure {procedure}: {part}: {problem}")]
pub struct CatalogError {
    pub procedure: String,
    pub part: String,
    pub problem: String,
}

impl CatalogError {
    fn new(procedure: &str, part: &str, problem: impl Into<String>) -> Self {
        CatalogError {
            procedure: procedure.to_string(),
            part: part.to_string(),
            problem: problem.into(),
        }
    }
}

impl CatalogFile {
    /// Parses and checks a whole file: every procedure valid, codes unique, fields known.
    pub fn parse(json: &str, known_agencies: &dyn Fn(&str) -> bool) -> Result<Self, CatalogError> {
        let file: CatalogFile = serde_json::from_str(json)
            .map_err(|e| CatalogError::new("-", "file", e.to_string()))?;
        let fields: BTreeSet<&str> = file.fields.iter().map(|f| f.code.as_str()).collect();
        let mut seen = BTreeSet::new();
        for p in &file.procedures {
            if !seen.insert(p.code.as_str()) {
                return Err(CatalogError::new(p.code.as_str(), "code", "appears twice"));
            }
            if !fields.contains(p.field.as_str()) {
                return Err(CatalogError::new(p.code.as_str(), "field", "unknown field"));
            }
            p.check(known_agencies)?;
        }
        Ok(file)
    }
}

impl Procedure {
    /// Checks what serde cannot: the agency exists, the form parses and its file fields
    /// name documents, commune procedures ask for the ward, the channels make sense.
    pub fn check(&self, known_agencies: &dyn Fn(&str) -> bool) -> Result<FormSpec, CatalogError> {
        let code = self.code.as_str();
        let err = |part: &str, problem: &str| CatalogError::new(code, part, problem);
        if self.name.vi.trim().is_empty() || self.name.en.trim().is_empty() {
            return Err(err("name", "needs a Vietnamese and an English name"));
        }
        match (self.level, self.agency.as_str()) {
            (Level::Commune, "UBND-{ward}" | "CA-{ward}") => {}
            (Level::Commune, _) => {
                return Err(err(
                    "agency",
                    "a commune procedure is handled by UBND-{ward} or CA-{ward}",
                ))
            }
            (Level::City, a) if known_agencies(a) => {}
            (Level::City, _) => return Err(err("agency", "unknown city agency")),
        }
        if self.channels.is_empty() {
            return Err(err("channels", "at least one channel"));
        }
        let mut kinds = BTreeSet::new();
        for c in &self.channels {
            if !kinds.insert(c.kind.as_str()) {
                return Err(err("channels", "a channel appears twice"));
            }
            if c.fee.is_some_and(|f| f < 0) {
                return Err(err("channels", "a fee cannot be negative"));
            }
        }
        let mut ids = BTreeSet::new();
        for d in &self.documents {
            if !ids.insert(d.id.as_str()) {
                return Err(err("documents", "a document id appears twice"));
            }
        }
        let form = FormSpec::parse(&self.form)
            .map_err(|e| CatalogError::new(code, "form", e.to_string()))?;
        for (name, doc) in form.file_fields() {
            if let Some(doc) = doc {
                if !ids.contains(doc) {
                    return Err(CatalogError::new(
                        code,
                        "form",
                        format!("{name}: x-document names no document of this procedure"),
                    ));
                }
            }
        }
        if self.level == Level::Commune
            && !form
                .fields
                .iter()
                .any(|f| f.name == "ward" && matches!(f.kind, FieldKind::Ward) && f.required)
        {
            return Err(err(
                "form",
                "a commune procedure's form asks for the ward (required)",
            ));
        }
        Ok(form)
    }

    /// The form, which [`Procedure::check`] has validated at import.
    pub fn form_spec(&self) -> Result<FormSpec, CatalogError> {
        FormSpec::parse(&self.form)
            .map_err(|e| CatalogError::new(self.code.as_str(), "form", e.to_string()))
    }

    pub fn channel(&self, kind: ChannelKind) -> Option<&Channel> {
        self.channels.iter().find(|c| c.kind == kind)
    }

    pub fn online(&self) -> Option<&Channel> {
        self.channel(ChannelKind::Online)
    }

    /// The agency competent for a dossier concerning `ward`: the ward's own body for
    /// commune procedures, wherever the dossier was filed ("no administrative boundary").
    pub fn competent_agency(&self, ward: Option<&WardCode>) -> Option<AgencyCode> {
        match self.level {
            Level::City => AgencyCode::parse(&self.agency).ok(),
            Level::Commune => {
                let ward = ward?;
                match self.agency.as_str() {
                    "CA-{ward}" => Some(AgencyCode::ward_police(ward)),
                    _ => Some(AgencyCode::people_committee(ward)),
                }
            }
        }
    }

    /// Whether `part` (e.g. "fee") was flagged as unconfirmed.
    pub fn is_unverified(&self, part: &str) -> bool {
        self.unverified.iter().any(|u| {
            u == part || u.starts_with(&format!("{part}.")) || u.ends_with(&format!(".{part}"))
        })
    }

    /// Text the search index matches besides the name.
    pub fn search_body(&self) -> String {
        let mut out = Vec::new();
        for d in &self.documents {
            out.push(d.name.vi.as_str());
            out.push(d.name.en.as_str());
        }
        if let Some(r) = &self.result {
            out.push(&r.vi);
            out.push(&r.en);
        }
        for s in &self.steps {
            out.push(&s.vi);
        }
        out.join(" \n ")
    }

    /// A stable hash of the record's content; an import that changes nothing makes no
    /// new version.
    pub fn content_hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let json = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(Sha256::digest(json))
    }
}

#[cfg(test)]
mod tests;
