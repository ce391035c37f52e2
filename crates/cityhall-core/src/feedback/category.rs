//! Feedback categories as data (`data/feedback-categories.json`): two levels, each category
//! with its responsible agency, SLA, extra questions and whether anonymous reports are allowed.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::calendar::TimeLimit;
use crate::catalog::I18nText;
use crate::geo::{AgencyCode, WardCode};

/// The whole file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoriesFile {
    #[serde(default)]
    pub source: String,
    pub groups: Vec<Group>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub code: String,
    pub name: I18nText,
    pub categories: Vec<Category>,
}

/// A category: the stable Open311 `service_code`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub code: String,
    pub name: I18nText,
    pub description: I18nText,
    #[serde(default)]
    pub keywords: Vec<String>,
    pub agency: AgencyRule,
    pub sla: TimeLimit,
    pub anonymous: bool,
    #[serde(default)]
    pub attributes: Vec<Attribute>,
    /// Filled in by [`CategoriesFile::parse`]: the code of the group it belongs to.
    #[serde(skip_deserializing, default)]
    pub group: String,
}

/// Who is responsible for a category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgencyRule {
    /// The People's Committee of the ward where the problem is (`UBND-{ward}`).
    Ward,
    /// A city agency.
    City(AgencyCode),
}

impl AgencyRule {
    /// The unit for a problem in `ward`.
    pub fn unit(&self, ward: &WardCode) -> AgencyCode {
        match self {
            AgencyRule::Ward => AgencyCode::people_committee(ward),
            AgencyRule::City(a) => a.clone(),
        }
    }
}

impl Serialize for AgencyRule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            AgencyRule::Ward => s.serialize_str("ward"),
            AgencyRule::City(a) => s.serialize_str(a.as_str()),
        }
    }
}

impl<'de> Deserialize<'de> for AgencyRule {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s == "ward" {
            return Ok(AgencyRule::Ward);
        }
        AgencyCode::parse(&s)
            .map(AgencyRule::City)
            .map_err(serde::de::Error::custom)
    }
}

/// Open311's attribute datatypes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Datatype {
    String,
    Number,
    Datetime,
    Text,
    #[serde(rename = "singlevaluelist")]
    SingleValueList,
    #[serde(rename = "multivaluelist")]
    MultiValueList,
}

impl Datatype {
    pub fn as_str(self) -> &'static str {
        match self {
            Datatype::String => "string",
            Datatype::Number => "number",
            Datatype::Datetime => "datetime",
            Datatype::Text => "text",
            Datatype::SingleValueList => "singlevaluelist",
            Datatype::MultiValueList => "multivaluelist",
        }
    }
    pub fn is_list(self) -> bool {
        matches!(self, Datatype::SingleValueList | Datatype::MultiValueList)
    }
}

/// An extra question of a category.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attribute {
    pub code: String,
    pub datatype: Datatype,
    #[serde(default)]
    pub required: bool,
    pub description: I18nText,
    #[serde(default)]
    pub values: Vec<ListValue>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListValue {
    pub key: String,
    pub name: I18nText,
}

/// Why a categories file was refused: every problem, each with where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.join("; "))]
pub struct CategoryError(pub Vec<String>);

fn code_ok(s: &str) -> bool {
    (2..=40).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn text_ok(t: &I18nText) -> bool {
    !t.vi.trim().is_empty() && !t.en.trim().is_empty()
}

impl CategoriesFile {
    /// Parses and checks a file; `agency_known` says whether a city agency code exists.
    pub fn parse(
        json: &str,
        agency_known: impl Fn(&str) -> bool,
    ) -> Result<CategoriesFile, CategoryError> {
        let mut f: CategoriesFile =
            serde_json::from_str(json).map_err(|e| CategoryError(vec![e.to_string()]))?;
        let mut errs = Vec::new();
        let mut seen = HashSet::new();
        if f.groups.is_empty() {
            errs.push("no groups".to_string());
        }
        for g in &mut f.groups {
            if !code_ok(&g.code) || !seen.insert(g.code.clone()) {
                errs.push(format!("group {:?}: bad or repeated code", g.code));
            }
            if !text_ok(&g.name) {
                errs.push(format!("group {}: name needs vi and en", g.code));
            }
            if g.categories.is_empty() {
                errs.push(format!("group {}: no categories", g.code));
            }
            for c in &mut g.categories {
                c.group = g.code.clone();
                let at = format!("category {}", c.code);
                if !code_ok(&c.code) || !seen.insert(c.code.clone()) {
                    errs.push(format!("{at}: bad or repeated code"));
                }
                if !text_ok(&c.name) || !text_ok(&c.description) {
                    errs.push(format!("{at}: name and description need vi and en"));
                }
                if let AgencyRule::City(a) = &c.agency {
                    if !agency_known(a.as_str()) {
                        errs.push(format!("{at}: unknown agency {}", a.as_str()));
                    }
                }
                match c.sla {
                    TimeLimit::WorkingHours(h) if !(1..=200).contains(&h) => {
                        errs.push(format!("{at}: working_hours must be 1–200"))
                    }
                    TimeLimit::WorkingDays(d) if !(1..=60).contains(&d) => {
                        errs.push(format!("{at}: working_days must be 1–60"))
                    }
                    _ => {}
                }
                let mut codes = HashSet::new();
                for a in &c.attributes {
                    let ok = !a.code.is_empty()
                        && a.code.len() <= 40
                        && a.code
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
                    if !ok || !codes.insert(a.code.clone()) {
                        errs.push(format!("{at}: attribute {:?} bad or repeated", a.code));
                    }
                    if !text_ok(&a.description) {
                        errs.push(format!("{at}.{}: description needs vi and en", a.code));
                    }
                    if a.datatype.is_list() == a.values.is_empty() {
                        errs.push(format!(
                            "{at}.{}: values are required for lists and only for lists",
                            a.code
                        ));
                    }
                    let mut keys = HashSet::new();
                    for v in &a.values {
                        if v.key.is_empty() || !keys.insert(v.key.clone()) || !text_ok(&v.name) {
                            errs.push(format!("{at}.{}: value {:?} bad", a.code, v.key));
                        }
                    }
                }
            }
        }
        if errs.is_empty() {
            Ok(f)
        } else {
            Err(CategoryError(errs))
        }
    }

    /// Every category, in file order.
    pub fn categories(&self) -> impl Iterator<Item = &Category> {
        self.groups.iter().flat_map(|g| g.categories.iter())
    }

    pub fn category(&self, code: &str) -> Option<&Category> {
        self.categories().find(|c| c.code == code)
    }

    pub fn group(&self, code: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.code == code)
    }
}
