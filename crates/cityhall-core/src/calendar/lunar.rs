//! The Vietnamese lunisolar calendar (âm lịch), computed astronomically.
//!
//! Vietnam and China use the same rules for the lunisolar calendar, but compute them for
//! different meridians: Vietnam uses local time UTC+7 (since 1968), China UTC+8. When a new
//! moon or a solar term falls between 16:00 and 17:00 UTC the two calendars disagree by a
//! day or even a month, so Vietnamese dates (Tết, Giỗ Tổ Hùng Vương) cannot be taken from a
//! Chinese calendar table. This module implements the method published by Hồ Ngọc Đức
//! ("Âm lịch Việt Nam", based on the formulas of Jean Meeus, *Astronomical Algorithms*):
//!
//! - a lunar month starts on the civil day (in the chosen time zone) holding the new moon;
//! - month 11 is the month that contains the winter solstice;
//! - a year between two months 11 with 13 new moons has a leap month, the first month
//!   after month 11 that contains no major solar term (trung khí); it repeats the number
//!   of the month before it.
//!
//! Civil dates are proleptic Gregorian throughout (like [`time::Date`]); Hồ Ngọc Đức's
//! reference switches to the Julian calendar before 15 Oct 1582, which no city hall needs.
//! The astronomy is accurate to a few minutes for the years 1800–2199, which is what the
//! method is documented for.

use std::f64::consts::PI;

use serde::{Deserialize, Serialize};
use time::{Date, Month};

/// The time zone (hours east of UTC) of the Vietnamese calendar meridian, 105°E.
pub const VIETNAM_TZ: f64 = 7.0;

/// Mean length of a synodic month in days.
const SYNODIC_MONTH: f64 = 29.530_588_853;

/// Julian day of the new moon of 1900-01-01 13:52 UTC (new moon number 0 of the series).
const NEW_MOON_EPOCH: f64 = 2_415_021.076_998_695;

/// A date of the lunisolar calendar.
///
/// `year` is the Gregorian year in which the lunar year starts (Tết); `leap` marks the
/// repeated (nhuận) month of a leap year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LunarDate {
    /// Day of the lunar month, 1–30.
    pub day: u8,
    /// Lunar month, 1–12 (12 is tháng Chạp, 1 is tháng Giêng).
    pub month: u8,
    /// Lunar year, numbered as the Gregorian year it starts in.
    pub year: i32,
    /// Whether this is the leap (repeated) month.
    pub leap: bool,
}

/// Converts a civil (Gregorian) date to the lunar date in time zone `tz` (hours east of
/// UTC; [`VIETNAM_TZ`] for Vietnam, 8.0 for China).
pub fn solar_to_lunar(date: Date, tz: f64) -> LunarDate {
    let day_number = jd_from_date(
        i64::from(date.day()),
        i64::from(u8::from(date.month())),
        i64::from(date.year()),
    );
    // The mean lunation gives a first guess; the true new moon can be most of a day away
    // from the mean one, so step back until the month starts on or before the date (the
    // published version steps back once, which yields a day 0 for e.g. 2054-05-07).
    let mut k = ((day_number as f64 - NEW_MOON_EPOCH) / SYNODIC_MONTH).floor() as i64 + 1;
    let mut month_start = new_moon_day(k, tz);
    while month_start > day_number {
        k -= 1;
        month_start = new_moon_day(k, tz);
    }

    // The months 11 before and after the date bracket its lunar year (counted 11 → 11).
    let year = date.year();
    let mut a11 = lunar_month_11(year, tz);
    let b11;
    let mut lunar_year;
    if a11 >= month_start {
        lunar_year = year;
        b11 = a11;
        a11 = lunar_month_11(year - 1, tz);
    } else {
        lunar_year = year + 1;
        b11 = lunar_month_11(year + 1, tz);
    }

    let day = day_number - month_start + 1;
    // Months elapsed since month 11; dividing by 29 (not 29.53) cannot overshoot.
    let diff = (month_start - a11).div_euclid(29);
    let mut leap = false;
    let mut month = diff + 11;
    if b11 - a11 > 365 {
        let leap_offset = leap_month_offset(a11, tz);
        if diff >= leap_offset {
            month = diff + 10;
            leap = diff == leap_offset;
        }
    }
    if month > 12 {
        month -= 12;
    }
    if month >= 11 && diff < 4 {
        lunar_year -= 1;
    }

    LunarDate {
        day: u8::try_from(day).unwrap_or(0),
        month: u8::try_from(month).unwrap_or(0),
        year: lunar_year,
        leap,
    }
}

/// Converts a lunar date in time zone `tz` to the civil date.
///
/// Returns `None` when the lunar date does not exist: a month outside 1–12, a day outside
/// the month (29 or 30 days), a leap month that the year does not have, or a result
/// outside the range of [`time::Date`].
pub fn lunar_to_solar(lunar: LunarDate, tz: f64) -> Option<Date> {
    if !(1..=12).contains(&lunar.month) || !(1..=30).contains(&lunar.day) {
        return None;
    }
    let month = i64::from(lunar.month);
    let (a11, b11) = if month < 11 {
        (
            lunar_month_11(lunar.year - 1, tz),
            lunar_month_11(lunar.year, tz),
        )
    } else {
        (
            lunar_month_11(lunar.year, tz),
            lunar_month_11(lunar.year + 1, tz),
        )
    };
    let k = (0.5 + (a11 as f64 - NEW_MOON_EPOCH) / SYNODIC_MONTH).floor() as i64;
    let mut off = (month - 11).rem_euclid(12);
    if b11 - a11 > 365 {
        let leap_offset = leap_month_offset(a11, tz);
        let leap_month = (leap_offset - 2).rem_euclid(12);
        if lunar.leap && month != leap_month {
            return None;
        }
        if lunar.leap || off >= leap_offset {
            off += 1;
        }
    } else if lunar.leap {
        return None;
    }
    let month_start = new_moon_day(k + off, tz);
    let month_length = new_moon_day(k + off + 1, tz) - month_start;
    if i64::from(lunar.day) > month_length {
        return None;
    }
    let jd = month_start + i64::from(lunar.day) - 1;
    date_from_jd(jd)
}

/// Julian day number of a proleptic-Gregorian civil date (Hồ Ngọc Đức's `jdFromDate`).
fn jd_from_date(day: i64, month: i64, year: i64) -> i64 {
    let a = (14 - month).div_euclid(12);
    let y = year + 4800 - a;
    let m = month + 12 * a - 3;
    day + (153 * m + 2).div_euclid(5) + 365 * y + y.div_euclid(4) - y.div_euclid(100)
        + y.div_euclid(400)
        - 32045
}

/// Civil date `(year, month, day)` of a Julian day number (Hồ Ngọc Đức's `jdToDate`).
fn jd_to_date(jd: i64) -> (i64, i64, i64) {
    let a = jd + 32044;
    let b = (4 * a + 3).div_euclid(146_097);
    let c = a - (146_097 * b).div_euclid(4);
    let d = (4 * c + 3).div_euclid(1461);
    let e = c - (1461 * d).div_euclid(4);
    let m = (5 * e + 2).div_euclid(153);
    let day = e - (153 * m + 2).div_euclid(5) + 1;
    let month = m + 3 - 12 * m.div_euclid(10);
    let year = b * 100 + d - 4800 + m.div_euclid(10);
    (year, month, day)
}

fn date_from_jd(jd: i64) -> Option<Date> {
    let (year, month, day) = jd_to_date(jd);
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    Date::from_calendar_date(i32::try_from(year).ok()?, month, u8::try_from(day).ok()?).ok()
}

/// Julian date (UT, fractional) of the `k`-th new moon after 1900-01-01 (Meeus, ch. 49,
/// abridged as in Hồ Ngọc Đức's `NewMoon`).
fn new_moon(k: i64) -> f64 {
    let k = k as f64;
    let t = k / 1236.85; // Julian centuries since 1900-01-01 12:00
    let t2 = t * t;
    let t3 = t2 * t;
    let dr = PI / 180.0;
    let mut jd1 = 2_415_020.759_33 + 29.530_588_68 * k + 0.000_117_8 * t2 - 0.000_000_155 * t3;
    jd1 += 0.000_33 * ((166.56 + 132.87 * t - 0.009_173 * t2) * dr).sin();
    // Sun's mean anomaly, Moon's mean anomaly, Moon's argument of latitude (degrees).
    let m = 359.224_2 + 29.105_356_08 * k - 0.000_033_3 * t2 - 0.000_003_47 * t3;
    let mpr = 306.025_3 + 385.816_918_06 * k + 0.010_730_6 * t2 + 0.000_012_36 * t3;
    let f = 21.296_4 + 390.670_506_46 * k - 0.001_652_8 * t2 - 0.000_002_39 * t3;
    let s = |deg: f64| (deg * dr).sin();
    let c1 = (0.173_4 - 0.000_393 * t) * s(m) + 0.002_1 * s(2.0 * m) - 0.406_8 * s(mpr)
        + 0.016_1 * s(2.0 * mpr)
        - 0.000_4 * s(3.0 * mpr)
        + 0.010_4 * s(2.0 * f)
        - 0.005_1 * s(m + mpr)
        - 0.007_4 * s(m - mpr)
        + 0.000_4 * s(2.0 * f + m)
        - 0.000_4 * s(2.0 * f - m)
        - 0.000_6 * s(2.0 * f + mpr)
        + 0.001_0 * s(2.0 * f - mpr)
        + 0.000_5 * s(2.0 * mpr + m);
    // ΔT (TT − UT) in days, polynomial fits.
    let delta_t = if t < -11.0 {
        0.001 + 0.000_839 * t + 0.000_226_1 * t2 - 0.000_008_45 * t3 - 0.000_000_081 * t * t3
    } else {
        -0.000_278 + 0.000_265 * t + 0.000_262 * t2
    };
    jd1 + c1 - delta_t
}

/// Julian day number of the civil day (in time zone `tz`) holding the `k`-th new moon.
fn new_moon_day(k: i64, tz: f64) -> i64 {
    (new_moon(k) + 0.5 + tz / 24.0).floor() as i64
}

/// Apparent longitude of the sun, in radians within [0, 2π), at Julian date `jd` (UT).
fn sun_longitude(jd: f64) -> f64 {
    let t = (jd - 2_451_545.0) / 36_525.0; // Julian centuries since J2000.0
    let t2 = t * t;
    let dr = PI / 180.0;
    let m = 357.529_10 + 35_999.050_30 * t - 0.000_155_9 * t2 - 0.000_000_48 * t * t2;
    let l0 = 280.466_45 + 36_000.769_83 * t + 0.000_303_2 * t2;
    let dl = (1.914_600 - 0.004_817 * t - 0.000_014 * t2) * (dr * m).sin()
        + (0.019_993 - 0.000_101 * t) * (dr * 2.0 * m).sin()
        + 0.000_290 * (dr * 3.0 * m).sin();
    let l = (l0 + dl) * dr;
    l.rem_euclid(2.0 * PI)
}

/// Which 30° sector (0–11) the sun is in at the start of civil day `day_number` in time
/// zone `tz`. Sector 9 starts at the winter solstice (270°).
fn sun_sector(day_number: i64, tz: f64) -> i64 {
    (sun_longitude(day_number as f64 - 0.5 - tz / 24.0) / PI * 6.0).floor() as i64
}

/// Julian day number of the first day of lunar month 11 that contains the winter solstice
/// of Gregorian year `year`.
fn lunar_month_11(year: i32, tz: f64) -> i64 {
    let off = jd_from_date(31, 12, i64::from(year)) - 2_415_021;
    let k = (off as f64 / SYNODIC_MONTH).floor() as i64;
    let new_moon = new_moon_day(k, tz);
    // If the sun has already passed 270° when this month starts, the solstice lies in the
    // previous month.
    if sun_sector(new_moon, tz) >= 9 {
        new_moon_day(k - 1, tz)
    } else {
        new_moon
    }
}

/// In a leap year starting at month 11 on day `a11`, how many months after month 11 the
/// leap month comes: the first month during which the sun stays in one sector (no major
/// solar term begins).
fn leap_month_offset(a11: i64, tz: f64) -> i64 {
    let k = ((a11 as f64 - NEW_MOON_EPOCH) / SYNODIC_MONTH + 0.5).floor() as i64;
    let mut i = 1;
    let mut arc = sun_sector(new_moon_day(k + i, tz), tz);
    loop {
        let last = arc;
        i += 1;
        arc = sun_sector(new_moon_day(k + i, tz), tz);
        if arc == last || i >= 14 {
            break;
        }
    }
    i - 1
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    const CHINA_TZ: f64 = 8.0;

    fn tet(year: i32, tz: f64) -> Option<Date> {
        lunar_to_solar(
            LunarDate {
                day: 1,
                month: 1,
                year,
                leap: false,
            },
            tz,
        )
    }

    fn ld(day: u8, month: u8, year: i32, leap: bool) -> LunarDate {
        LunarDate {
            day,
            month,
            year,
            leap,
        }
    }

    #[test]
    fn julian_day_matches_time_crate() {
        for jd in (-1_000_000_i64..4_000_000).step_by(997) {
            let (y, m, d) = jd_to_date(jd);
            assert_eq!(jd_from_date(d, m, y), jd);
            let date = date_from_jd(jd).expect("in range");
            assert_eq!(i64::from(date.to_julian_day()), jd);
        }
        assert_eq!(jd_from_date(1, 1, 2000), 2_451_545);
    }

    #[test]
    fn tet_in_vietnam() {
        for (year, expected) in [
            (2007, date!(2007 - 02 - 17)),
            (2024, date!(2024 - 02 - 10)),
            (2025, date!(2025 - 01 - 29)),
            (2026, date!(2026 - 02 - 17)),
            (2027, date!(2027 - 02 - 06)),
            (2028, date!(2028 - 01 - 26)),
            (2030, date!(2030 - 02 - 02)),
        ] {
            assert_eq!(tet(year, VIETNAM_TZ), Some(expected), "Tết {year}");
            assert_eq!(solar_to_lunar(expected, VIETNAM_TZ), ld(1, 1, year, false));
        }
    }

    #[test]
    fn vietnam_and_china_differ() {
        assert_eq!(tet(2007, CHINA_TZ), Some(date!(2007 - 02 - 18)));
        assert_eq!(tet(2030, CHINA_TZ), Some(date!(2030 - 02 - 03)));
        // Same Tết where the meridians agree.
        assert_eq!(tet(2026, CHINA_TZ), Some(date!(2026 - 02 - 17)));

        let hung_kings = ld(10, 3, 2038, false);
        let vn = lunar_to_solar(hung_kings, VIETNAM_TZ).expect("exists");
        let cn = lunar_to_solar(hung_kings, CHINA_TZ).expect("exists");
        assert_ne!(vn, cn, "Hùng Kings day 2038 depends on the meridian");
    }

    #[test]
    fn leap_months() {
        // 2023 had a leap 2nd month (tháng 2 nhuận) starting 2023-03-22.
        assert_eq!(
            solar_to_lunar(date!(2023 - 03 - 22), VIETNAM_TZ),
            ld(1, 2, 2023, true)
        );
        assert_eq!(
            solar_to_lunar(date!(2023 - 02 - 20), VIETNAM_TZ),
            ld(1, 2, 2023, false)
        );
        assert_eq!(
            lunar_to_solar(ld(1, 2, 2023, true), VIETNAM_TZ),
            Some(date!(2023 - 03 - 22))
        );
        // 2025 had a leap 6th month starting 2025-07-25.
        assert_eq!(
            lunar_to_solar(ld(1, 6, 2025, true), VIETNAM_TZ),
            Some(date!(2025 - 07 - 25))
        );
        // A leap month the year does not have, and a year without leap month.
        assert_eq!(lunar_to_solar(ld(1, 3, 2023, true), VIETNAM_TZ), None);
        assert_eq!(lunar_to_solar(ld(1, 3, 2024, true), VIETNAM_TZ), None);
    }

    #[test]
    fn invalid_lunar_dates() {
        assert_eq!(lunar_to_solar(ld(0, 1, 2026, false), VIETNAM_TZ), None);
        assert_eq!(lunar_to_solar(ld(1, 13, 2026, false), VIETNAM_TZ), None);
        assert_eq!(lunar_to_solar(ld(31, 1, 2026, false), VIETNAM_TZ), None);
        // Day 30 exists only in long months: exactly one of two consecutive months in a
        // pair may be short, so check that a 30th that does not exist is refused.
        let tet_2030 = tet(2030, VIETNAM_TZ).expect("exists");
        let last = solar_to_lunar(tet_2030.previous_day().expect("in range"), VIETNAM_TZ);
        assert_eq!(last.month, 12);
        if last.day == 29 {
            assert_eq!(lunar_to_solar(ld(30, 12, 2029, false), VIETNAM_TZ), None);
        }
    }

    #[test]
    fn true_new_moon_far_from_the_mean() {
        // The mean lunation puts a new moon on this day; the true one is the next day, so
        // this is the last day of lunar month 3, not "day 0" of month 4.
        let lunar = solar_to_lunar(date!(2054 - 05 - 07), VIETNAM_TZ);
        assert_eq!((lunar.month, lunar.leap), (3, false));
        assert!(lunar.day == 29 || lunar.day == 30, "{lunar:?}");
        let next = solar_to_lunar(date!(2054 - 05 - 08), VIETNAM_TZ);
        assert_eq!((next.day, next.month), (1, 4));
    }

    #[test]
    fn round_trip_every_day() {
        let mut day = date!(1900 - 01 - 01);
        let end = date!(2100 - 12 - 31);
        let mut previous = solar_to_lunar(day, VIETNAM_TZ);
        while day < end {
            day = day.next_day().expect("in range");
            let lunar = solar_to_lunar(day, VIETNAM_TZ);
            assert_eq!(
                lunar_to_solar(lunar, VIETNAM_TZ),
                Some(day),
                "{day} {lunar:?}"
            );
            // Days advance by one within a month, and a new month starts after 29 or 30.
            if lunar.day == 1 {
                assert!(
                    previous.day == 29 || previous.day == 30,
                    "{day} {previous:?}"
                );
            } else {
                assert_eq!(lunar.day, previous.day + 1, "{day}");
                assert_eq!(
                    (lunar.month, lunar.year, lunar.leap),
                    (previous.month, previous.year, previous.leap)
                );
            }
            previous = lunar;
        }
    }
}
