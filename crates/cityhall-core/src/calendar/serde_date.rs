//! Serde helpers for the calendar configuration: dates are written `"YYYY-MM-DD"` and years
//! are map keys.
//!
//! TOML and JSON both give map keys as strings, and the `toml` crate cannot turn a key
//! into an integer by itself, so `years` reads its keys from strings or integers. A bare
//! TOML date (`2026-09-01` without quotes) is accepted as well as a quoted one.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::Date;

use super::YearOverride;

const YMD: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");

/// The private key under which the `toml` crate hands out its date values.
const TOML_DATETIME_KEY: &str = "$__toml_private_datetime";

/// Formats a date as `YYYY-MM-DD`.
pub(crate) fn format_ymd(date: Date) -> String {
    // Formatting a plain date with this description cannot fail for years 0–9999; fall
    // back to the Debug-free components anyway rather than panic.
    date.format(YMD).unwrap_or_else(|_| {
        format!(
            "{}-{:02}-{:02}",
            date.year(),
            u8::from(date.month()),
            date.day()
        )
    })
}

fn parse_ymd<E: de::Error>(text: &str) -> Result<Date, E> {
    Date::parse(text, YMD).map_err(|_| {
        E::custom(format!(
            "invalid date {text:?}: expected a date written YYYY-MM-DD"
        ))
    })
}

/// A date read from `"YYYY-MM-DD"`.
struct Ymd(Date);

impl<'de> Deserialize<'de> for Ymd {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct YmdVisitor;

        impl<'de> Visitor<'de> for YmdVisitor {
            type Value = Ymd;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a date written YYYY-MM-DD")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Ymd, E> {
                parse_ymd(v).map(Ymd)
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ymd, A::Error> {
                match map.next_key::<String>()? {
                    Some(key) if key == TOML_DATETIME_KEY => {
                        let text: String = map.next_value()?;
                        parse_ymd(&text).map(Ymd)
                    }
                    _ => Err(de::Error::invalid_type(de::Unexpected::Map, &self)),
                }
            }
        }

        // `any`, not `str`: a bare TOML date arrives as a map, and configuration formats
        // are all self-describing.
        deserializer.deserialize_any(YmdVisitor)
    }
}

struct YmdRef(Date);

impl Serialize for YmdRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format_ymd(self.0))
    }
}

/// `Date` ⇄ `"YYYY-MM-DD"`.
pub(crate) mod ymd {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(date: &Date, serializer: S) -> Result<S::Ok, S::Error> {
        YmdRef(*date).serialize(serializer)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Date, D::Error> {
        Ymd::deserialize(deserializer).map(|d| d.0)
    }
}

/// `Option<Date>` ⇄ `"YYYY-MM-DD"` or absent/null.
pub(crate) mod ymd_option {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        date: &Option<Date>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match date {
            Some(date) => serializer.serialize_some(&YmdRef(*date)),
            None => serializer.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Date>, D::Error> {
        Ok(Option::<Ymd>::deserialize(deserializer)?.map(|d| d.0))
    }
}

/// `Vec<Date>` ⇄ a list of `"YYYY-MM-DD"`.
pub(crate) mod ymd_vec {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        dates: &[Date],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(dates.len()))?;
        for date in dates {
            seq.serialize_element(&YmdRef(*date))?;
        }
        seq.end()
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<Date>, D::Error> {
        Ok(Vec::<Ymd>::deserialize(deserializer)?
            .into_iter()
            .map(|d| d.0)
            .collect())
    }
}

/// `Option<Vec<Date>>` ⇄ a list of `"YYYY-MM-DD"` or absent/null.
pub(crate) mod ymd_vec_option {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        dates: &Option<Vec<Date>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match dates {
            Some(dates) => {
                let dates: Vec<YmdRef> = dates.iter().map(|d| YmdRef(*d)).collect();
                serializer.serialize_some(&dates)
            }
            None => serializer.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Vec<Date>>, D::Error> {
        Ok(Option::<Vec<Ymd>>::deserialize(deserializer)?
            .map(|dates| dates.into_iter().map(|d| d.0).collect()))
    }
}

/// `BTreeMap<i32, YearOverride>` with the year keys written as strings (`"2026"`), read
/// from strings or integers.
pub(crate) mod years {
    use super::*;

    struct YearKey(i32);

    impl<'de> Deserialize<'de> for YearKey {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct YearKeyVisitor;

            impl Visitor<'_> for YearKeyVisitor {
                type Value = YearKey;

                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a year such as \"2026\"")
                }

                fn visit_i64<E: de::Error>(self, v: i64) -> Result<YearKey, E> {
                    i32::try_from(v)
                        .map(YearKey)
                        .map_err(|_| E::custom(format!("year {v} is out of range")))
                }

                fn visit_u64<E: de::Error>(self, v: u64) -> Result<YearKey, E> {
                    i32::try_from(v)
                        .map(YearKey)
                        .map_err(|_| E::custom(format!("year {v} is out of range")))
                }

                fn visit_str<E: de::Error>(self, v: &str) -> Result<YearKey, E> {
                    v.trim().parse::<i32>().map(YearKey).map_err(|_| {
                        E::custom(format!(
                            "invalid year {v:?}: expected a year such as \"2026\""
                        ))
                    })
                }
            }

            deserializer.deserialize_any(YearKeyVisitor)
        }
    }

    pub(crate) fn serialize<S: Serializer>(
        years: &BTreeMap<i32, YearOverride>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(years.len()))?;
        for (year, value) in years {
            map.serialize_entry(&year.to_string(), value)?;
        }
        map.end()
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<i32, YearOverride>, D::Error> {
        struct YearsVisitor;

        impl<'de> Visitor<'de> for YearsVisitor {
            type Value = BTreeMap<i32, YearOverride>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map from year to that year's overrides")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut years = BTreeMap::new();
                while let Some((YearKey(year), value)) =
                    map.next_entry::<YearKey, YearOverride>()?
                {
                    if years.insert(year, value).is_some() {
                        return Err(de::Error::custom(format!("year {year} is given twice")));
                    }
                }
                Ok(years)
            }
        }

        deserializer.deserialize_map(YearsVisitor)
    }
}
