//! Administrative units (đơn vị hành chính: province → ward/commune since the 2025 reform,
//! no districts) and agencies (cơ quan) with their jurisdiction.

use serde::{Deserialize, Serialize};

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidCode(pub &'static str);

/// The official 5-digit code of a ward, commune or special zone (mã đơn vị hành chính cấp xã).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WardCode(String);

impl WardCode {
    pub fn parse(s: &str) -> Result<Self, InvalidCode> {
        let s = s.trim();
        if s.len() == 5 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(WardCode(s.to_string()))
        } else {
            Err(InvalidCode("a ward code is 5 digits"))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for WardCode {
    type Error = InvalidCode;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        WardCode::parse(&s)
    }
}
impl From<WardCode> for String {
    fn from(c: WardCode) -> String {
        c.0
    }
}
impl std::fmt::Display for WardCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An agency code (mã cơ quan), also its hub member code: uppercase ASCII `[A-Z0-9-]`,
/// e.g. `SOTUPHAP`, `UBND-26740`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AgencyCode(String);

impl AgencyCode {
    pub fn parse(s: &str) -> Result<Self, InvalidCode> {
        let s = s.trim();
        if !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-')
        {
            Ok(AgencyCode(s.to_string()))
        } else {
            Err(InvalidCode(
                "an agency code is 1–64 characters of A–Z, 0–9 and '-'",
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The People's Committee (Ủy ban nhân dân) of a ward.
    pub fn people_committee(ward: &WardCode) -> AgencyCode {
        AgencyCode(format!("UBND-{ward}"))
    }
    /// The police (Công an phường/xã) of a ward, which handles residence registration.
    pub fn ward_police(ward: &WardCode) -> AgencyCode {
        AgencyCode(format!("CA-{ward}"))
    }
}

impl TryFrom<String> for AgencyCode {
    type Error = InvalidCode;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        AgencyCode::parse(&s)
    }
}
impl From<AgencyCode> for String {
    fn from(c: AgencyCode) -> String {
        c.0
    }
}
impl std::fmt::Display for AgencyCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The kind of a commune-level unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    /// Phường (urban ward).
    Phuong,
    /// Xã (rural commune).
    Xa,
    /// Đặc khu (special zone, e.g. Côn Đảo).
    DacKhu,
}

impl UnitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::Phuong => "phuong",
            UnitKind::Xa => "xa",
            UnitKind::DacKhu => "dac_khu",
        }
    }
}

/// A commune-level unit as shipped in `data/units-*.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Unit {
    pub code: WardCode,
    pub name: String,
    pub name_en: String,
    pub kind: UnitKind,
    pub lat: f64,
    pub lon: f64,
}

/// The province a deployment serves, and its units.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UnitsFile {
    #[serde(default)]
    pub source: String,
    pub province: Province,
    pub units: Vec<Unit>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Province {
    pub code: String,
    pub name: String,
    pub name_en: String,
}

/// A city-level agency as shipped in `data/agencies-*.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AgencySpec {
    pub code: AgencyCode,
    pub name: String,
    pub name_en: String,
    pub kind: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AgenciesFile {
    pub agencies: Vec<AgencySpec>,
}

/// Every agency the reference data defines: the city's own, then for each ward its
/// People's Committee and its police, with jurisdiction over that ward.
pub fn all_agencies(units: &UnitsFile, city: &AgenciesFile) -> Vec<(AgencySpec, Option<WardCode>)> {
    let mut out: Vec<(AgencySpec, Option<WardCode>)> =
        city.agencies.iter().cloned().map(|a| (a, None)).collect();
    for u in &units.units {
        out.push((
            AgencySpec {
                code: AgencyCode::people_committee(&u.code),
                name: format!("Ủy ban nhân dân {}", u.name),
                name_en: format!("People's Committee of {}", u.name_en),
                kind: "people_committee".into(),
            },
            Some(u.code.clone()),
        ));
        out.push((
            AgencySpec {
                code: AgencyCode::ward_police(&u.code),
                name: format!("Công an {}", u.name),
                name_en: format!("{} Police", u.name_en),
                kind: "ward_police".into(),
            },
            Some(u.code.clone()),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_parsed_at_the_edge() {
        assert!(WardCode::parse("26740").is_ok());
        assert!(WardCode::parse("2674").is_err());
        assert!(WardCode::parse("2674a").is_err());
        assert!(AgencyCode::parse("SOTUPHAP").is_ok());
        assert!(AgencyCode::parse("UBND-26740").is_ok());
        assert!(AgencyCode::parse("sotuphap").is_err());
        assert!(AgencyCode::parse("SỞ").is_err());
        assert!(AgencyCode::parse("-X").is_err());
        let w = WardCode::parse("26740").unwrap();
        assert_eq!(AgencyCode::people_committee(&w).as_str(), "UBND-26740");
        assert_eq!(AgencyCode::ward_police(&w).as_str(), "CA-26740");
    }
}
