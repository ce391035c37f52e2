//! Vietnamese working days and deadlines.
//!
//! This module owns the answer to "is this a working day?" and "when is this due?" for
//! every other module (dossier time limits, feedback SLAs, the dashboard's on-time rate),
//! so that they all agree to the second. It knows:
//!
//! - the weekly rest days (Saturday and Sunday);
//! - the public holidays of the Labour Code 2019, art. 112, including the lunar ones
//!   (Tết Nguyên Đán, Giỗ Tổ Hùng Vương) computed on the Vietnamese meridian by
//!   [`lunar`], the day next to Quốc khánh, and Vietnamese Culture Day (24/11) from 2026;
//! - substitute days (nghỉ bù) for holidays that fall on a weekend;
//! - the swaps the Ministry of Home Affairs publishes each year, read from configuration
//!   ([`CalendarConfig`]);
//! - working hours, 08:00–12:00 and 13:00–17:00 in Asia/Ho_Chi_Minh (a fixed UTC+7), and
//!   deadline arithmetic on them ([`Calendar::due`]): the 15:00 rule for same-day results,
//!   limits in working days or working hours, and the clock stopped while the office waits
//!   for the resident.
//!
//! There is no clock here: every instant is passed in, and the answers are the same on
//! every replica.

pub mod lunar;
pub(crate) mod serde_date;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use time::macros::time;
use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset, Weekday};

pub use lunar::{lunar_to_solar, solar_to_lunar, LunarDate, VIETNAM_TZ};

/// Asia/Ho_Chi_Minh: UTC+7 all year (Vietnam has no daylight saving time), so a fixed
/// offset is exact and needs no time zone database.
pub const VN_OFFSET: UtcOffset = match UtcOffset::from_hms(7, 0, 0) {
    Ok(offset) => offset,
    Err(_) => panic!("UTC+7 is a valid offset"),
};

/// The two working periods of a working day, local time: morning and afternoon, with the
/// lunch break between them. 8 working hours a day.
pub const WORKING_PERIODS: [(Time, Time); 2] =
    [(time!(08:00), time!(12:00)), (time!(13:00), time!(17:00))];

/// Same-day results: a dossier received at or after this local time on a working day is
/// due the next working day instead.
pub const SAME_DAY_CUTOFF: Time = time!(15:00);

/// Working seconds in one working day (8 h).
pub const WORKING_DAY_SECONDS: i64 = 8 * 3600;

/// End of the working day, local time; deadlines counted in days fall here.
const END_OF_DAY: Time = time!(17:00);

/// First year with the second Quốc khánh day (Labour Code 2019, in force 2021-01-01).
const NATIONAL_DAY_EXTRA_FROM: i32 = 2021;

/// First year with Vietnamese Culture Day (24/11) as a public holiday (from 1 Jul 2026).
const CULTURE_DAY_FROM: i32 = 2026;

/// Whether a day off is a public holiday itself or a substitute for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HolidayKind {
    /// A public holiday, or a day off the government added for that year.
    Holiday,
    /// A working day given off because a holiday fell on a weekend (nghỉ bù).
    Substitute,
}

/// One day off in a year's list, named in Vietnamese and English for display.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holiday {
    /// The local date of the day off.
    #[serde(with = "serde_date::ymd")]
    pub date: Date,
    /// Vietnamese name, e.g. "Tết Nguyên Đán (mùng 1)" or "Nghỉ bù Quốc khánh".
    pub name_vi: String,
    /// English name, e.g. "Lunar New Year (day 1)" or "Substitute day for National Day".
    pub name_en: String,
    /// Holiday or substitute.
    pub kind: HolidayKind,
}

/// A named date in the configuration (an extra day off).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedDay {
    /// The date, written `"YYYY-MM-DD"`.
    #[serde(with = "serde_date::ymd")]
    pub date: Date,
    /// Vietnamese name.
    pub name_vi: String,
    /// English name.
    pub name_en: String,
}

/// What the government decided for one year, on top of the law's defaults.
///
/// Every date must lie in the year it is filed under ([`CalendarConfig::validate`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct YearOverride {
    /// The day next to Quốc khánh chosen this year: 1/9 or 3/9. Default: see
    /// [`default_national_day_extra`].
    #[serde(
        with = "serde_date::ymd_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub national_day_extra: Option<Date>,
    /// Extra days off (e.g. a bridge day between a holiday and a weekend). Listed as
    /// holidays; they earn no substitute day.
    pub extra_days_off: Vec<NamedDay>,
    /// Weekend days worked to make up for an extra day off. They win over every rule.
    #[serde(with = "serde_date::ymd_vec")]
    pub extra_working_days: Vec<Date>,
    /// The statutory Tết days, replacing the default (last day of the lunar year and
    /// days 1–4). A Tết day on a weekend still earns a substitute day; bridge days belong
    /// in `extra_days_off`.
    #[serde(
        with = "serde_date::ymd_vec_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub tet_days: Option<Vec<Date>>,
}

/// Per-year overrides, typically the `[calendar]` section of the configuration file:
///
/// ```toml
/// [years.2025]
/// national_day_extra = "2025-09-01"
/// extra_working_days = []
/// extra_days_off = [
///   { date = "2025-01-27", name_vi = "Nghỉ Tết (hoán đổi)", name_en = "Tết bridge day" },
/// ]
/// ```
///
/// Dates are written `"YYYY-MM-DD"` (a bare TOML date works too).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CalendarConfig {
    /// Overrides by Gregorian year.
    #[serde(with = "serde_date::years")]
    pub years: BTreeMap<i32, YearOverride>,
}

/// A configuration that cannot be right, reported before it is used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarConfigError {
    /// A date filed under the wrong year (usually a typo in the year).
    #[error("calendar override for {year}: {field} contains {date}, which is not in {year}")]
    WrongYear {
        /// The year the override is filed under.
        year: i32,
        /// The field holding the date.
        field: &'static str,
        /// The offending date.
        date: Date,
    },
    /// `national_day_extra` is neither 1/9 nor 3/9.
    #[error("calendar override for {year}: national_day_extra must be {year}-09-01 or {year}-09-03, not {date}")]
    NationalDayExtra {
        /// The year.
        year: i32,
        /// The offending date.
        date: Date,
    },
    /// `tet_days` given but empty.
    #[error(
        "calendar override for {year}: tet_days is empty; leave it out to use the default Tết days"
    )]
    EmptyTetDays {
        /// The year.
        year: i32,
    },
    /// The same date is both an extra day off and an extra working day.
    #[error(
        "calendar override for {year}: {date} is both an extra day off and an extra working day"
    )]
    Conflict {
        /// The year.
        year: i32,
        /// The offending date.
        date: Date,
    },
}

impl CalendarConfig {
    /// Checks the overrides for mistakes that would silently shift deadlines: dates filed
    /// under the wrong year, a Quốc khánh day that is not next to 2/9, an empty Tết list,
    /// a date both off and worked.
    pub fn validate(&self) -> Result<(), CalendarConfigError> {
        for (&year, ov) in &self.years {
            let check = |field: &'static str, date: Date| {
                if date.year() == year {
                    Ok(())
                } else {
                    Err(CalendarConfigError::WrongYear { year, field, date })
                }
            };
            if let Some(date) = ov.national_day_extra {
                check("national_day_extra", date)?;
                let day = (date.month(), date.day());
                if day != (Month::September, 1) && day != (Month::September, 3) {
                    return Err(CalendarConfigError::NationalDayExtra { year, date });
                }
            }
            for day in &ov.extra_days_off {
                check("extra_days_off", day.date)?;
            }
            for &date in &ov.extra_working_days {
                check("extra_working_days", date)?;
                if ov.extra_days_off.iter().any(|d| d.date == date) {
                    return Err(CalendarConfigError::Conflict { year, date });
                }
            }
            if let Some(days) = &ov.tet_days {
                if days.is_empty() {
                    return Err(CalendarConfigError::EmptyTetDays { year });
                }
                for &date in days {
                    check("tet_days", date)?;
                }
            }
        }
        Ok(())
    }
}

/// A time limit for handling something, as written in a procedure or an SLA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeLimit {
    /// N working days: due at 17:00 local on the Nth working day after the day of receipt.
    WorkingDays(u32),
    /// N working hours, counted from the moment of receipt through working time only.
    WorkingHours(u32),
    /// Within the day: 17:00 the same working day if received before 15:00, else 17:00
    /// the next working day.
    SameDay,
}

/// The working-day calendar: the law's rules plus the configured overrides.
///
/// Cheap to clone and to share; it computes holidays on demand (a few microseconds a
/// year) rather than keeping a table that could go stale.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    config: CalendarConfig,
}

impl Calendar {
    /// A calendar with these overrides. Call [`CalendarConfig::validate`] (or use
    /// [`Calendar::try_new`]) on configuration read from a file.
    pub fn new(config: CalendarConfig) -> Self {
        Self { config }
    }

    /// A calendar with validated overrides.
    pub fn try_new(config: CalendarConfig) -> Result<Self, CalendarConfigError> {
        config.validate()?;
        Ok(Self { config })
    }

    /// The overrides this calendar applies.
    pub fn config(&self) -> &CalendarConfig {
        &self.config
    }

    /// The days off of `year` besides ordinary weekends, sorted by date: public holidays
    /// (also those falling on a weekend), their substitute days, and configured extra
    /// days off. One entry per date.
    ///
    /// Substitutes: each holiday on a Saturday or Sunday, in date order, gets the first
    /// weekday after it that is not already off.
    pub fn holidays(&self, year: i32) -> Vec<Holiday> {
        let ov = self.config.years.get(&year);
        let statutory = statutory_holidays(year, ov);

        let mut off: BTreeSet<Date> = statutory.iter().map(|h| h.date).collect();
        let mut all = statutory.clone();
        for extra in ov.map(|o| o.extra_days_off.as_slice()).unwrap_or_default() {
            if off.insert(extra.date) {
                all.push(Holiday {
                    date: extra.date,
                    name_vi: extra.name_vi.clone(),
                    name_en: extra.name_en.clone(),
                    kind: HolidayKind::Holiday,
                });
            }
        }

        for holiday in statutory.iter().filter(|h| is_weekend(h.date)) {
            let mut candidate = holiday.date.next_day();
            while let Some(day) = candidate {
                if !is_weekend(day) && !off.contains(&day) {
                    break;
                }
                candidate = day.next_day();
            }
            if let Some(day) = candidate {
                off.insert(day);
                all.push(Holiday {
                    date: day,
                    name_vi: format!("Nghỉ bù {}", holiday.name_vi),
                    name_en: format!("Substitute day for {}", holiday.name_en),
                    kind: HolidayKind::Substitute,
                });
            }
        }

        all.sort_by_key(|h| (h.date, h.kind));
        all
    }

    /// Whether `date` is a working day: not a weekend, holiday, substitute or extra day
    /// off — unless the configuration makes it an extra working day.
    pub fn is_working_day(&self, date: Date) -> bool {
        DayOracle::new(self).is_working(date)
    }

    /// The first working day strictly after `date`.
    pub fn next_working_day(&self, date: Date) -> Date {
        DayOracle::new(self).next_working(date)
    }

    /// Working time between `a` and `b` in whole seconds: the part of `[a, b)` inside
    /// working periods of working days. Negative when `b` is before `a`.
    pub fn working_seconds_between(&self, a: OffsetDateTime, b: OffsetDateTime) -> i64 {
        DayOracle::new(self).working_time(a, b).whole_seconds()
    }

    /// The earliest instant at which `secs` working seconds have passed since `t`, in
    /// local time. A result at the end of a working period stays there (17:00, not
    /// 08:00 the next morning). `t` itself is returned for zero.
    pub fn add_working_seconds(&self, t: OffsetDateTime, secs: u64) -> OffsetDateTime {
        let secs = i64::try_from(secs).unwrap_or(i64::MAX);
        DayOracle::new(self).add_working_time(t, Duration::seconds(secs))
    }

    /// When something received at `received` with time limit `limit` is due, in local
    /// time, given the intervals `[start, end)` during which the clock was stopped
    /// (waiting for the resident's supplement).
    ///
    /// Counting (the reference's wording: "time limits count working days from receipt of
    /// a complete dossier"; "results due within the day are due next working day if
    /// received after 15:00"):
    ///
    /// - [`TimeLimit::WorkingDays`]`(n)`: the day of receipt is not counted, as the Civil
    ///   Code (art. 147) does for limits in days; day 1 is the first working day after the
    ///   local date of receipt, whatever the hour, and the deadline is 17:00 on day `n`.
    ///   Received Monday 10:00 with 3 working days: due Thursday 17:00. Received on
    ///   Saturday: day 1 is Monday. `WorkingDays(0)` is the end of the receipt day if
    ///   received on a working day before 17:00, else of the next working day.
    /// - [`TimeLimit::WorkingHours`]`(n)`: counted from the moment of receipt (or the next
    ///   working moment) through working time: Friday 16:00 + 2 h is Monday 09:00.
    /// - [`TimeLimit::SameDay`]: the 15:00 rule, see [`SAME_DAY_CUTOFF`].
    ///
    /// Pauses: the deadline moves later by exactly the working time the pauses covered
    /// between receipt and the (moved) deadline; overlapping pauses count once, and a
    /// pause that starts after the deadline does not count. So a result can be due at
    /// e.g. 10:00 after a two-hour pause. A pause still open must be passed closed — with
    /// `now` as its end, the answer is "the deadline if the resident answered now"; an
    /// end far in the future gives a deadline far in the future.
    pub fn due(
        &self,
        received: OffsetDateTime,
        limit: TimeLimit,
        pauses: &[(OffsetDateTime, OffsetDateTime)],
    ) -> OffsetDateTime {
        let mut oracle = DayOracle::new(self);
        let received = received.to_offset(VN_OFFSET);
        let receipt_day = received.date();
        let base = match limit {
            TimeLimit::WorkingDays(0) => {
                let day = if oracle.is_working(receipt_day) && received.time() < END_OF_DAY {
                    receipt_day
                } else {
                    oracle.next_working(receipt_day)
                };
                local_at(day, END_OF_DAY)
            }
            TimeLimit::WorkingDays(n) => {
                let mut day = receipt_day;
                for _ in 0..n {
                    day = oracle.next_working(day);
                }
                local_at(day, END_OF_DAY)
            }
            TimeLimit::WorkingHours(n) => {
                oracle.add_working_time(received, Duration::hours(i64::from(n)))
            }
            TimeLimit::SameDay => {
                let day = if oracle.is_working(receipt_day) && received.time() < SAME_DAY_CUTOFF {
                    receipt_day
                } else {
                    oracle.next_working(receipt_day)
                };
                local_at(day, END_OF_DAY)
            }
        };
        oracle.extend_for_pauses(received, base, pauses)
    }
}

/// The day next to Quốc khánh when the configuration does not name it.
///
/// Rule: the neighbour of 2/9 that is a weekday and makes the two-day block touch a
/// weekend; when neither does (2/9 on a Wednesday), 3/9. By weekday of 2/9:
/// Monday → 3/9, Tuesday → 1/9, Wednesday → 3/9, Thursday → 3/9, Friday → 1/9,
/// Saturday → 1/9, Sunday → 3/9. This reproduces the government's choices of 2021–2025
/// (2021 3/9, 2022 1/9, 2023 1/9, 2024 3/9, 2025 1/9). Where the other neighbour would
/// also join a weekend it would be a weekend day itself and only move the substitute, so
/// the days off come out the same either way.
pub fn default_national_day_extra(year: i32) -> Option<Date> {
    let national_day = Date::from_calendar_date(year, Month::September, 2).ok()?;
    match national_day.weekday() {
        Weekday::Tuesday | Weekday::Friday | Weekday::Saturday => national_day.previous_day(),
        Weekday::Monday | Weekday::Wednesday | Weekday::Thursday | Weekday::Sunday => {
            national_day.next_day()
        }
    }
}

/// The default Tết days of `year`: the last day of the lunar year that ends in `year` and
/// days 1–4 of the lunar year that starts in it.
pub fn default_tet_days(year: i32) -> Vec<Date> {
    let first = LunarDate {
        day: 1,
        month: 1,
        year,
        leap: false,
    };
    let Some(tet) = lunar_to_solar(first, VIETNAM_TZ) else {
        return Vec::new();
    };
    (-1..=3)
        .filter_map(|offset| tet.checked_add(Duration::days(offset)))
        .collect()
}

fn is_weekend(date: Date) -> bool {
    matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
}

fn local_at(date: Date, time: Time) -> OffsetDateTime {
    PrimitiveDateTime::new(date, time).assume_offset(VN_OFFSET)
}

fn holiday(date: Date, name_vi: &str, name_en: &str) -> Holiday {
    Holiday {
        date,
        name_vi: name_vi.to_owned(),
        name_en: name_en.to_owned(),
        kind: HolidayKind::Holiday,
    }
}

/// Names a Tết day by its lunar date: "30 tháng Chạp", "mùng 1", ...
fn tet_holiday(date: Date) -> Holiday {
    let lunar = solar_to_lunar(date, VIETNAM_TZ);
    let (vi, en) = match (lunar.month, lunar.day) {
        (12, day) => (
            format!("{day} tháng Chạp"),
            format!("{} day of the 12th lunar month", ordinal(day)),
        ),
        (1, day @ 1..=10) => (format!("mùng {day}"), format!("day {day}")),
        (month, day) => (
            format!("{day}/{month} âm lịch"),
            format!("lunar {day}/{month}"),
        ),
    };
    Holiday {
        date,
        name_vi: format!("Tết Nguyên Đán ({vi})"),
        name_en: format!("Lunar New Year ({en})"),
        kind: HolidayKind::Holiday,
    }
}

fn ordinal(n: u8) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// The law's holidays of `year` (Labour Code 2019 art. 112), with the Tết days and the
/// Quốc khánh day taken from the override when given. Sorted, one entry per date.
fn statutory_holidays(year: i32, ov: Option<&YearOverride>) -> Vec<Holiday> {
    let solar = |month: Month, day: u8| Date::from_calendar_date(year, month, day).ok();
    let mut list = Vec::new();

    if let Some(date) = solar(Month::January, 1) {
        list.push(holiday(date, "Tết Dương lịch", "New Year's Day"));
    }

    let tet_days = match ov.and_then(|o| o.tet_days.clone()) {
        Some(days) => days,
        None => default_tet_days(year),
    };
    list.extend(tet_days.into_iter().map(tet_holiday));

    let hung_kings = LunarDate {
        day: 10,
        month: 3,
        year,
        leap: false,
    };
    if let Some(date) = lunar_to_solar(hung_kings, VIETNAM_TZ) {
        list.push(holiday(
            date,
            "Giỗ Tổ Hùng Vương",
            "Hùng Kings' Commemoration Day",
        ));
    }

    if let Some(date) = solar(Month::April, 30) {
        list.push(holiday(date, "Ngày Chiến thắng", "Reunification Day"));
    }
    if let Some(date) = solar(Month::May, 1) {
        list.push(holiday(
            date,
            "Ngày Quốc tế Lao động",
            "International Labour Day",
        ));
    }
    if let Some(date) = solar(Month::September, 2) {
        list.push(holiday(date, "Quốc khánh", "National Day"));
    }
    if year >= NATIONAL_DAY_EXTRA_FROM {
        let extra = ov
            .and_then(|o| o.national_day_extra)
            .or_else(|| default_national_day_extra(year));
        if let Some(date) = extra {
            list.push(holiday(
                date,
                "Quốc khánh (ngày liền kề)",
                "National Day (adjacent day)",
            ));
        }
    }
    if year >= CULTURE_DAY_FROM {
        if let Some(date) = solar(Month::November, 24) {
            list.push(holiday(
                date,
                "Ngày Văn hóa Việt Nam",
                "Vietnamese Culture Day",
            ));
        }
    }

    list.sort_by_key(|h| h.date);
    list.dedup_by_key(|h| h.date);
    list
}

/// Answers "is this a working day?" for one computation, remembering each year's days off
/// so that walking across many days computes each year's holidays once.
struct DayOracle<'a> {
    calendar: &'a Calendar,
    off: BTreeMap<i32, BTreeSet<Date>>,
}

impl<'a> DayOracle<'a> {
    fn new(calendar: &'a Calendar) -> Self {
        Self {
            calendar,
            off: BTreeMap::new(),
        }
    }

    fn is_off_in(&mut self, year: i32, date: Date) -> bool {
        let calendar = self.calendar;
        self.off
            .entry(year)
            .or_insert_with(|| {
                calendar
                    .holidays(year)
                    .into_iter()
                    .map(|h| h.date)
                    .collect()
            })
            .contains(&date)
    }

    fn is_working(&mut self, date: Date) -> bool {
        let year = date.year();
        let extra_working = self
            .calendar
            .config
            .years
            .get(&year)
            .is_some_and(|o| o.extra_working_days.contains(&date));
        if extra_working {
            return true;
        }
        if is_weekend(date) {
            return false;
        }
        // A substitute could in principle spill into January from the year before (none
        // does under the current law, whose last holiday is 24/11).
        let spill = date.month() == Month::January && self.is_off_in(year - 1, date);
        !(spill || self.is_off_in(year, date))
    }

    /// The first working day strictly after `date` (or `date` itself at the end of
    /// time, where there is nothing after it).
    fn next_working(&mut self, date: Date) -> Date {
        let mut day = date;
        while let Some(next) = day.next_day() {
            day = next;
            if self.is_working(day) {
                return day;
            }
        }
        day
    }

    fn working_time(&mut self, a: OffsetDateTime, b: OffsetDateTime) -> Duration {
        if b < a {
            return -self.working_time(b, a);
        }
        let (a, b) = (a.to_offset(VN_OFFSET), b.to_offset(VN_OFFSET));
        let mut total = Duration::ZERO;
        let mut day = a.date();
        loop {
            if self.is_working(day) {
                for (start, end) in WORKING_PERIODS {
                    let from = local_at(day, start).max(a);
                    let to = local_at(day, end).min(b);
                    if to > from {
                        total += to - from;
                    }
                }
            }
            match day.next_day() {
                Some(next) if next <= b.date() => day = next,
                _ => return total,
            }
        }
    }

    fn add_working_time(&mut self, t: OffsetDateTime, amount: Duration) -> OffsetDateTime {
        let t = t.to_offset(VN_OFFSET);
        if amount <= Duration::ZERO {
            return t;
        }
        let mut remaining = amount;
        let mut day = t.date();
        loop {
            if self.is_working(day) {
                for (start, end) in WORKING_PERIODS {
                    let from = local_at(day, start).max(t);
                    let to = local_at(day, end);
                    if to > from {
                        let available = to - from;
                        if available >= remaining {
                            return from + remaining;
                        }
                        remaining -= available;
                    }
                }
            }
            match day.next_day() {
                Some(next) => day = next,
                // The end of representable time: nothing later to return.
                None => return local_at(day, Time::MIDNIGHT) + Duration::hours(23),
            }
        }
    }

    /// Moves `base` (due date without pauses, counted from `received`) later by the
    /// working time the pauses cover before the moved deadline.
    ///
    /// Equivalent to the fixed point `due = base + paused(received, due)`, computed by one
    /// sweep: spend the working-time budget `working_time(received, base)` on the gaps
    /// between pauses.
    fn extend_for_pauses(
        &mut self,
        received: OffsetDateTime,
        base: OffsetDateTime,
        pauses: &[(OffsetDateTime, OffsetDateTime)],
    ) -> OffsetDateTime {
        let mut intervals: Vec<(OffsetDateTime, OffsetDateTime)> = pauses
            .iter()
            .map(|&(start, end)| (start.max(received), end))
            .filter(|(start, end)| end > start)
            .collect();
        if intervals.is_empty() {
            return base;
        }
        intervals.sort();
        let mut merged: Vec<(OffsetDateTime, OffsetDateTime)> = Vec::new();
        for (start, end) in intervals {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }

        let mut budget = self.working_time(received, base);
        let mut cursor = received;
        for (start, end) in merged {
            let candidate = self.add_working_time(cursor, budget);
            if candidate <= start {
                return candidate;
            }
            budget -= self.working_time(cursor, start);
            cursor = end;
        }
        self.add_working_time(cursor, budget)
    }
}
