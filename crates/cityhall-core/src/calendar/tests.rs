use time::macros::{date, datetime};

use super::*;

fn dates_of(list: &[Holiday], kind: HolidayKind) -> Vec<Date> {
    list.iter()
        .filter(|h| h.kind == kind)
        .map(|h| h.date)
        .collect()
}

fn find(list: &[Holiday], date: Date) -> &Holiday {
    list.iter()
        .find(|h| h.date == date)
        .unwrap_or_else(|| panic!("{date} is not in the list"))
}

// ---------------------------------------------------------------- holidays

#[test]
fn holidays_2026() {
    let list = Calendar::default().holidays(2026);
    assert_eq!(
        dates_of(&list, HolidayKind::Holiday),
        vec![
            date!(2026 - 01 - 01),
            // Tết: Ất Tỵ's month 12 has 29 days, so its last day is the 29th.
            date!(2026 - 02 - 16),
            date!(2026 - 02 - 17),
            date!(2026 - 02 - 18),
            date!(2026 - 02 - 19),
            date!(2026 - 02 - 20),
            date!(2026 - 04 - 26), // Hùng Kings, a Sunday
            date!(2026 - 04 - 30),
            date!(2026 - 05 - 01),
            date!(2026 - 09 - 02), // a Wednesday: neither neighbour joins a weekend → 3/9
            date!(2026 - 09 - 03),
            date!(2026 - 11 - 24),
        ]
    );
    assert_eq!(
        dates_of(&list, HolidayKind::Substitute),
        vec![date!(2026 - 04 - 27)]
    );
    let eve = find(&list, date!(2026 - 02 - 16));
    assert_eq!(eve.name_vi, "Tết Nguyên Đán (29 tháng Chạp)");
    assert_eq!(
        eve.name_en,
        "Lunar New Year (29th day of the 12th lunar month)"
    );
    assert_eq!(
        find(&list, date!(2026 - 02 - 17)).name_vi,
        "Tết Nguyên Đán (mùng 1)"
    );
    let substitute = find(&list, date!(2026 - 04 - 27));
    assert_eq!(substitute.name_vi, "Nghỉ bù Giỗ Tổ Hùng Vương");
    assert_eq!(
        substitute.name_en,
        "Substitute day for Hùng Kings' Commemoration Day"
    );
    assert_eq!(
        find(&list, date!(2026 - 11 - 24)).name_en,
        "Vietnamese Culture Day"
    );
}

#[test]
fn holidays_2030() {
    let list = Calendar::default().holidays(2030);
    // Tết 2030 is Saturday 2 February. The lunar year before ends on 1 February, which
    // the algorithm makes the 29th of month 12 (a short month): the name must agree.
    let last_day = solar_to_lunar(date!(2030 - 02 - 01), VIETNAM_TZ);
    assert_eq!((last_day.month, last_day.day), (12, 29));
    assert_eq!(
        lunar_to_solar(
            LunarDate {
                day: 30,
                month: 12,
                year: 2029,
                leap: false
            },
            VIETNAM_TZ
        ),
        None
    );
    assert_eq!(
        find(&list, date!(2030 - 02 - 01)).name_vi,
        "Tết Nguyên Đán (29 tháng Chạp)"
    );
    let tet: Vec<Date> = list
        .iter()
        .filter(|h| h.kind == HolidayKind::Holiday && h.name_vi.starts_with("Tết Nguyên Đán"))
        .map(|h| h.date)
        .collect();
    assert_eq!(
        tet,
        vec![
            date!(2030 - 02 - 01),
            date!(2030 - 02 - 02),
            date!(2030 - 02 - 03),
            date!(2030 - 02 - 04),
            date!(2030 - 02 - 05),
        ]
    );
    // Mùng 1 and mùng 2 fall on the weekend: substitutes on the first free weekdays,
    // after the Tết block.
    assert_eq!(
        dates_of(&list, HolidayKind::Substitute),
        vec![
            date!(2030 - 02 - 06),
            date!(2030 - 02 - 07),
            date!(2030 - 11 - 25), // Culture Day on a Sunday
        ]
    );
    assert_eq!(
        find(&list, date!(2030 - 02 - 06)).name_vi,
        "Nghỉ bù Tết Nguyên Đán (mùng 1)"
    );
    // 2/9/2030 is a Monday: the extra day is Tuesday 3/9.
    assert!(list.iter().any(|h| h.date == date!(2030 - 09 - 03)));
    assert!(!list.iter().any(|h| h.date == date!(2030 - 09 - 01)));
}

#[test]
fn substitute_days() {
    let cal = Calendar::default();
    let list = cal.holidays(2028);
    // New Year's Day on a Saturday.
    let new_year = find(&list, date!(2028 - 01 - 03));
    assert_eq!(new_year.kind, HolidayKind::Substitute);
    assert_eq!(new_year.name_vi, "Nghỉ bù Tết Dương lịch");
    assert_eq!(new_year.name_en, "Substitute day for New Year's Day");
    // Mùng 4 on Saturday 29 Jan → Monday 31 Jan.
    assert_eq!(
        find(&list, date!(2028 - 01 - 31)).kind,
        HolidayKind::Substitute
    );
    // 30/4 on a Sunday, 1/5 on Monday is itself a holiday → Tuesday 2/5.
    assert_eq!(
        find(&list, date!(2028 - 05 - 02)).name_vi,
        "Nghỉ bù Ngày Chiến thắng"
    );
    // 2/9 on a Saturday: the extra day is Friday 1/9, the substitute Monday 4/9.
    assert_eq!(
        find(&list, date!(2028 - 09 - 01)).kind,
        HolidayKind::Holiday
    );
    assert_eq!(
        find(&list, date!(2028 - 09 - 04)).name_en,
        "Substitute day for National Day"
    );

    // 2/9/2029 is a Sunday: the extra day is Monday 3/9, the substitute Tuesday 4/9.
    let list = cal.holidays(2029);
    assert_eq!(
        find(&list, date!(2029 - 09 - 03)).kind,
        HolidayKind::Holiday
    );
    assert_eq!(
        find(&list, date!(2029 - 09 - 04)).kind,
        HolidayKind::Substitute
    );
    assert_eq!(
        find(&list, date!(2029 - 11 - 26)).kind,
        HolidayKind::Substitute
    );
}

#[test]
fn culture_day_from_2026_and_national_day_extra_from_2021() {
    let cal = Calendar::default();
    let has = |year: i32, date: Date| cal.holidays(year).iter().any(|h| h.date == date);
    assert!(has(2026, date!(2026 - 11 - 24)));
    assert!(!has(2025, date!(2025 - 11 - 24)));
    assert!(has(2021, date!(2021 - 09 - 03)));
    // Before the Labour Code 2019 took effect, 2/9 was a single day (a Thursday in 2020).
    assert!(!has(2020, date!(2020 - 09 - 03)));
    assert!(!has(2020, date!(2020 - 09 - 01)));
}

#[test]
fn default_national_day_extra_matches_recent_decisions() {
    assert_eq!(
        default_national_day_extra(2021),
        Some(date!(2021 - 09 - 03))
    );
    assert_eq!(
        default_national_day_extra(2022),
        Some(date!(2022 - 09 - 01))
    );
    assert_eq!(
        default_national_day_extra(2023),
        Some(date!(2023 - 09 - 01))
    );
    assert_eq!(
        default_national_day_extra(2024),
        Some(date!(2024 - 09 - 03))
    );
    assert_eq!(
        default_national_day_extra(2025),
        Some(date!(2025 - 09 - 01))
    );
    // Every choice is a weekday.
    for year in 2021..2100 {
        let extra = default_national_day_extra(year).expect("valid year");
        assert!(!is_weekend(extra), "{year}: {extra}");
    }
}

#[test]
fn holiday_lists_are_well_formed() {
    let cal = Calendar::default();
    for year in 2021..=2100 {
        let list = cal.holidays(year);
        for pair in list.windows(2) {
            assert!(pair[0].date < pair[1].date, "{year}: sorted, one per day");
        }
        let statutory = if year >= CULTURE_DAY_FROM { 12 } else { 11 };
        assert_eq!(
            dates_of(&list, HolidayKind::Holiday).len(),
            statutory,
            "{year}"
        );
        for h in &list {
            assert_eq!(h.date.year(), year);
            if h.kind == HolidayKind::Substitute {
                assert!(!is_weekend(h.date));
            }
        }
        // As many substitutes as holidays on a weekend.
        let on_weekend = list
            .iter()
            .filter(|h| h.kind == HolidayKind::Holiday && is_weekend(h.date))
            .count();
        assert_eq!(dates_of(&list, HolidayKind::Substitute).len(), on_weekend);
        // Tết days are named by their lunar date: the last day of the year is 29 or 30.
        let eve = list
            .iter()
            .find(|h| h.name_vi.starts_with("Tết Nguyên Đán"))
            .expect("Tết is listed");
        let lunar = solar_to_lunar(eve.date, VIETNAM_TZ);
        assert_eq!(lunar.month, 12);
        assert_eq!(
            eve.name_vi,
            format!("Tết Nguyên Đán ({} tháng Chạp)", lunar.day)
        );
    }
}

#[test]
fn hung_kings_day_uses_the_vietnamese_meridian() {
    let list = Calendar::default().holidays(2038);
    let hung = list
        .iter()
        .find(|h| h.name_vi == "Giỗ Tổ Hùng Vương")
        .expect("present");
    let china = lunar_to_solar(
        LunarDate {
            day: 10,
            month: 3,
            year: 2038,
            leap: false,
        },
        8.0,
    )
    .expect("exists");
    assert_eq!(hung.date, date!(2038 - 04 - 13));
    assert_ne!(hung.date, china);
}

// ---------------------------------------------------------------- working days

#[test]
fn working_days() {
    let cal = Calendar::default();
    assert!(cal.is_working_day(date!(2026 - 03 - 02))); // Monday
    assert!(!cal.is_working_day(date!(2026 - 03 - 07))); // Saturday
    assert!(!cal.is_working_day(date!(2026 - 03 - 08))); // Sunday
    assert!(!cal.is_working_day(date!(2026 - 02 - 17))); // Tết
    assert!(!cal.is_working_day(date!(2026 - 04 - 27))); // substitute
    assert_eq!(
        cal.next_working_day(date!(2026 - 02 - 13)),
        date!(2026 - 02 - 23)
    );
    assert_eq!(
        cal.next_working_day(date!(2026 - 03 - 02)),
        date!(2026 - 03 - 03)
    );
    assert_eq!(
        cal.next_working_day(date!(2026 - 03 - 06)),
        date!(2026 - 03 - 09)
    );
}

// ---------------------------------------------------------------- configuration

fn config_2026() -> CalendarConfig {
    serde_json::from_value(serde_json::json!({
        "years": {
            "2026": {
                "national_day_extra": "2026-09-01",
                "extra_days_off": [
                    {"date": "2026-09-04", "name_vi": "Nghỉ hoán đổi", "name_en": "Swapped day off"}
                ],
                "extra_working_days": ["2026-09-12"],
                "tet_days": ["2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20", "2026-02-23"]
            }
        }
    }))
    .expect("valid configuration")
}

#[test]
fn config_deserializes() {
    let config = config_2026();
    let ov = &config.years[&2026];
    assert_eq!(ov.national_day_extra, Some(date!(2026 - 09 - 01)));
    assert_eq!(ov.extra_days_off[0].date, date!(2026 - 09 - 04));
    assert_eq!(ov.extra_working_days, vec![date!(2026 - 09 - 12)]);
    assert_eq!(ov.tet_days.as_ref().map(Vec::len), Some(5));
    assert_eq!(config.validate(), Ok(()));

    // Round trip through the serialized form.
    let text = serde_json::to_string(&config).expect("serializes");
    assert!(text.contains("\"2026\"") && text.contains("\"2026-09-01\""));
    let back: CalendarConfig = serde_json::from_str(&text).expect("deserializes");
    assert_eq!(back, config);

    // Everything is optional; an empty document is the default.
    let empty: CalendarConfig = serde_json::from_str("{}").expect("empty is fine");
    assert_eq!(empty, CalendarConfig::default());
    let sparse: CalendarConfig =
        serde_json::from_str(r#"{"years": {"2027": {"extra_working_days": ["2027-02-13"]}}}"#)
            .expect("sparse is fine");
    assert_eq!(sparse.years[&2027].national_day_extra, None);

    // The form in which the `toml` crate hands out a bare TOML date.
    let toml_like: CalendarConfig = serde_json::from_value(serde_json::json!({
        "years": {"2026": {"national_day_extra": {"$__toml_private_datetime": "2026-09-01"}}}
    }))
    .expect("bare TOML date");
    assert_eq!(
        toml_like.years[&2026].national_day_extra,
        Some(date!(2026 - 09 - 01))
    );
}

#[test]
fn config_errors_are_specific() {
    let err = serde_json::from_str::<CalendarConfig>(
        r#"{"years": {"2026": {"extra_working_days": ["2026-9-12"]}}}"#,
    )
    .expect_err("bad date")
    .to_string();
    assert!(err.contains("invalid date \"2026-9-12\""), "{err}");

    let err = serde_json::from_str::<CalendarConfig>(
        r#"{"years": {"2026": {"extra_workday": ["2026-09-12"]}}}"#,
    )
    .expect_err("typo in a field name")
    .to_string();
    assert!(err.contains("extra_workday"), "{err}");

    let err = serde_json::from_str::<CalendarConfig>(r#"{"years": {"next": {}}}"#)
        .expect_err("bad year")
        .to_string();
    assert!(err.contains("invalid year \"next\""), "{err}");

    let mut config = config_2026();
    config
        .years
        .get_mut(&2026)
        .expect("present")
        .national_day_extra = Some(date!(2026 - 09 - 05));
    assert_eq!(
        config.validate(),
        Err(CalendarConfigError::NationalDayExtra {
            year: 2026,
            date: date!(2026 - 09 - 05)
        })
    );
    assert!(Calendar::try_new(config).is_err());

    let mut config = config_2026();
    config
        .years
        .get_mut(&2026)
        .expect("present")
        .extra_working_days
        .push(date!(2025 - 09 - 13));
    let err = config.validate().expect_err("wrong year");
    assert_eq!(
        err.to_string(),
        "calendar override for 2026: extra_working_days contains 2025-09-13, which is not in 2026"
    );

    let mut config = config_2026();
    config.years.get_mut(&2026).expect("present").tet_days = Some(Vec::new());
    assert_eq!(
        config.validate(),
        Err(CalendarConfigError::EmptyTetDays { year: 2026 })
    );

    let mut config = config_2026();
    config
        .years
        .get_mut(&2026)
        .expect("present")
        .extra_working_days
        .push(date!(2026 - 09 - 04));
    assert!(matches!(
        config.validate(),
        Err(CalendarConfigError::Conflict { .. })
    ));
}

#[test]
fn overrides_apply() {
    let cal = Calendar::try_new(config_2026()).expect("valid");
    let list = cal.holidays(2026);
    // National Day extra moved to 1/9; 3/9 is a working day again.
    assert_eq!(
        find(&list, date!(2026 - 09 - 01)).kind,
        HolidayKind::Holiday
    );
    assert!(cal.is_working_day(date!(2026 - 09 - 03)));
    // Extra day off, listed with its configured names.
    let extra = find(&list, date!(2026 - 09 - 04));
    assert_eq!(
        (extra.name_vi.as_str(), extra.kind),
        ("Nghỉ hoán đổi", HolidayKind::Holiday)
    );
    assert!(!cal.is_working_day(date!(2026 - 09 - 04)));
    // The Saturday worked in exchange.
    assert!(cal.is_working_day(date!(2026 - 09 - 12)));
    assert!(!cal.is_working_day(date!(2026 - 09 - 19)));
    // Tết days replaced: 16/2 is a working day, 23/2 is off and named by its lunar date.
    assert!(cal.is_working_day(date!(2026 - 02 - 16)));
    assert_eq!(
        find(&list, date!(2026 - 02 - 23)).name_vi,
        "Tết Nguyên Đán (mùng 7)"
    );
    // Other years are untouched.
    assert_eq!(cal.holidays(2027), Calendar::default().holidays(2027));
}

#[test]
fn extra_working_day_counts_in_deadlines() {
    let cal = Calendar::new(config_2026());
    // Friday 11/9 10:00 + 1 working day: Saturday 12/9 is worked.
    assert_eq!(
        cal.due(
            datetime!(2026-09-11 10:00 +7),
            TimeLimit::WorkingDays(1),
            &[]
        ),
        datetime!(2026-09-12 17:00 +7)
    );
}

// ---------------------------------------------------------------- deadlines

const NO_PAUSES: &[(OffsetDateTime, OffsetDateTime)] = &[];

#[test]
fn same_day_rule() {
    let cal = Calendar::default();
    // Monday 2 March 2026.
    assert_eq!(
        cal.due(
            datetime!(2026-03-02 14:59 +7),
            TimeLimit::SameDay,
            NO_PAUSES
        ),
        datetime!(2026-03-02 17:00 +7)
    );
    assert_eq!(
        cal.due(
            datetime!(2026-03-02 07:30 +7),
            TimeLimit::SameDay,
            NO_PAUSES
        ),
        datetime!(2026-03-02 17:00 +7)
    );
    assert_eq!(
        cal.due(
            datetime!(2026-03-02 15:00 +7),
            TimeLimit::SameDay,
            NO_PAUSES
        ),
        datetime!(2026-03-03 17:00 +7)
    );
    // Friday after 15:00 → Monday.
    assert_eq!(
        cal.due(
            datetime!(2026-03-06 15:30 +7),
            TimeLimit::SameDay,
            NO_PAUSES
        ),
        datetime!(2026-03-09 17:00 +7)
    );
    // Saturday → Monday.
    assert_eq!(
        cal.due(
            datetime!(2026-03-07 09:00 +7),
            TimeLimit::SameDay,
            NO_PAUSES
        ),
        datetime!(2026-03-09 17:00 +7)
    );
    // The instant is read in local time whatever offset it carries: 07:59 UTC is
    // 14:59 in Hanoi, 08:00 UTC is 15:00.
    assert_eq!(
        cal.due(
            datetime!(2026-03-02 07:59 UTC),
            TimeLimit::SameDay,
            NO_PAUSES
        ),
        datetime!(2026-03-02 17:00 +7)
    );
    assert_eq!(
        cal.due(
            datetime!(2026-03-02 08:00 UTC),
            TimeLimit::SameDay,
            NO_PAUSES
        ),
        datetime!(2026-03-03 17:00 +7)
    );
    let due = cal.due(
        datetime!(2026-03-02 08:00 UTC),
        TimeLimit::SameDay,
        NO_PAUSES,
    );
    assert_eq!(due.offset(), VN_OFFSET);
}

#[test]
fn working_days_start_the_day_after_receipt() {
    let cal = Calendar::default();
    let due = |received| cal.due(received, TimeLimit::WorkingDays(3), NO_PAUSES);
    // Monday 10:00 → Thursday 17:00.
    assert_eq!(
        due(datetime!(2026-03-02 10:00 +7)),
        datetime!(2026-03-05 17:00 +7)
    );
    // Before opening, or after closing, on Monday: still Thursday.
    assert_eq!(
        due(datetime!(2026-03-02 07:00 +7)),
        datetime!(2026-03-05 17:00 +7)
    );
    assert_eq!(
        due(datetime!(2026-03-02 18:00 +7)),
        datetime!(2026-03-05 17:00 +7)
    );
    // Saturday: Monday is day 1.
    assert_eq!(
        due(datetime!(2026-03-07 10:00 +7)),
        datetime!(2026-03-11 17:00 +7)
    );
    // Thursday: Friday, Monday, Tuesday.
    assert_eq!(
        due(datetime!(2026-03-05 10:00 +7)),
        datetime!(2026-03-10 17:00 +7)
    );
    // Zero days: the end of the receipt day.
    assert_eq!(
        cal.due(
            datetime!(2026-03-02 16:00 +7),
            TimeLimit::WorkingDays(0),
            NO_PAUSES
        ),
        datetime!(2026-03-02 17:00 +7)
    );
    assert_eq!(
        cal.due(
            datetime!(2026-03-02 17:00 +7),
            TimeLimit::WorkingDays(0),
            NO_PAUSES
        ),
        datetime!(2026-03-03 17:00 +7)
    );
}

#[test]
fn working_days_cross_tet() {
    let cal = Calendar::default();
    // Tết 2026: Monday 16 – Friday 20 February off. Friday 13th + 3 working days.
    assert_eq!(
        cal.due(
            datetime!(2026-02-13 10:00 +7),
            TimeLimit::WorkingDays(3),
            NO_PAUSES
        ),
        datetime!(2026-02-25 17:00 +7)
    );
    // Thursday 12th + 2: Friday 13th, then Monday 23rd.
    assert_eq!(
        cal.due(
            datetime!(2026-02-12 09:00 +7),
            TimeLimit::WorkingDays(2),
            NO_PAUSES
        ),
        datetime!(2026-02-23 17:00 +7)
    );
    // Seven working days (thường trú) from the Wednesday before Tết 2030.
    // Off: Fri 1 – Thu 7 Feb (Tết and two substitutes). Days: Thu 31 Jan, Fri 8, Mon 11,
    // Tue 12, Wed 13, Thu 14, Fri 15 Feb.
    assert_eq!(
        cal.due(
            datetime!(2030-01-30 10:00 +7),
            TimeLimit::WorkingDays(7),
            NO_PAUSES
        ),
        datetime!(2030-02-15 17:00 +7)
    );
}

#[test]
fn working_hours() {
    let cal = Calendar::default();
    let due = |received, hours| cal.due(received, TimeLimit::WorkingHours(hours), NO_PAUSES);
    // Friday 16:00 + 2 h: one hour on Friday, one on Monday.
    assert_eq!(
        due(datetime!(2026-03-06 16:00 +7), 2),
        datetime!(2026-03-09 09:00 +7)
    );
    // Across lunch.
    assert_eq!(
        due(datetime!(2026-03-02 11:00 +7), 2),
        datetime!(2026-03-02 14:00 +7)
    );
    // Across the weekend and then lunch: 0.5 h Friday, 4 h Monday morning, 0.5 h after.
    assert_eq!(
        due(datetime!(2026-03-06 16:30 +7), 5),
        datetime!(2026-03-09 13:30 +7)
    );
    // Received during lunch or at night: the clock starts at the next working moment.
    assert_eq!(
        due(datetime!(2026-03-02 12:30 +7), 1),
        datetime!(2026-03-02 14:00 +7)
    );
    assert_eq!(
        due(datetime!(2026-03-02 20:00 +7), 8),
        datetime!(2026-03-03 17:00 +7)
    );
    // Ending exactly at the close stays at the close.
    assert_eq!(
        due(datetime!(2026-03-02 16:00 +7), 1),
        datetime!(2026-03-02 17:00 +7)
    );
    // Across Tết 2026.
    assert_eq!(
        due(datetime!(2026-02-13 15:00 +7), 4),
        datetime!(2026-02-23 10:00 +7)
    );
}

#[test]
fn working_seconds() {
    let cal = Calendar::default();
    let between = |a, b| cal.working_seconds_between(a, b);
    assert_eq!(
        between(
            datetime!(2026-03-06 16:00 +7),
            datetime!(2026-03-09 09:00 +7)
        ),
        7200
    );
    assert_eq!(
        between(
            datetime!(2026-03-09 09:00 +7),
            datetime!(2026-03-06 16:00 +7)
        ),
        -7200
    );
    assert_eq!(
        between(
            datetime!(2026-03-02 11:00 +7),
            datetime!(2026-03-02 14:00 +7)
        ),
        7200
    );
    // A whole week: five days of eight hours.
    assert_eq!(
        between(
            datetime!(2026-03-02 00:00 +7),
            datetime!(2026-03-09 00:00 +7)
        ),
        5 * WORKING_DAY_SECONDS
    );
    // Tết week 2026: nothing.
    assert_eq!(
        between(
            datetime!(2026-02-14 00:00 +7),
            datetime!(2026-02-22 23:00 +7)
        ),
        0
    );
    // Offsets do not matter: 01:00 UTC is 08:00 local.
    assert_eq!(
        between(
            datetime!(2026-03-02 01:00 UTC),
            datetime!(2026-03-02 12:00 +7)
        ),
        4 * 3600
    );

    let t = datetime!(2026-03-02 16:00 +7);
    assert_eq!(cal.add_working_seconds(t, 0), t);
    assert_eq!(
        cal.add_working_seconds(t, 3600),
        datetime!(2026-03-02 17:00 +7)
    );
    assert_eq!(
        cal.add_working_seconds(t, 3601),
        datetime!(2026-03-03 08:00:01 +7)
    );
}

#[test]
fn pauses_extend_the_deadline() {
    let cal = Calendar::default();
    let received = datetime!(2026-03-02 10:00 +7); // Monday; 3 days → Thursday 17:00
    let due = |pauses: &[(OffsetDateTime, OffsetDateTime)]| {
        cal.due(received, TimeLimit::WorkingDays(3), pauses)
    };
    assert_eq!(due(&[]), datetime!(2026-03-05 17:00 +7));

    // Two working hours of waiting → Friday 10:00.
    assert_eq!(
        due(&[(
            datetime!(2026-03-03 08:00 +7),
            datetime!(2026-03-03 10:00 +7)
        )]),
        datetime!(2026-03-06 10:00 +7)
    );
    // Monday 11:00 → Tuesday 11:00 is one working day (lunch and night excluded).
    assert_eq!(
        due(&[(
            datetime!(2026-03-02 11:00 +7),
            datetime!(2026-03-03 11:00 +7)
        )]),
        datetime!(2026-03-06 17:00 +7)
    );
    // Overlapping pauses count once.
    assert_eq!(
        due(&[
            (
                datetime!(2026-03-03 08:00 +7),
                datetime!(2026-03-03 10:00 +7)
            ),
            (
                datetime!(2026-03-03 09:00 +7),
                datetime!(2026-03-03 11:00 +7)
            ),
        ]),
        datetime!(2026-03-06 11:00 +7)
    );
    // Waiting over a weekend costs only its working time: received Thursday (due Tuesday
    // 17:00), waiting Friday 16:00 → Monday 09:00 is 2 h → Wednesday 10:00.
    assert_eq!(
        cal.due(
            datetime!(2026-03-05 10:00 +7),
            TimeLimit::WorkingDays(3),
            &[(
                datetime!(2026-03-06 16:00 +7),
                datetime!(2026-03-09 09:00 +7)
            )]
        ),
        datetime!(2026-03-11 10:00 +7)
    );
    // A pause after the deadline does not count.
    assert_eq!(
        due(&[(
            datetime!(2026-03-06 16:00 +7),
            datetime!(2026-03-09 09:00 +7)
        )]),
        datetime!(2026-03-05 17:00 +7)
    );
    // Before receipt: ignored; straddling receipt: only the part after it.
    assert_eq!(
        due(&[(
            datetime!(2026-02-27 08:00 +7),
            datetime!(2026-03-02 11:00 +7)
        )]),
        datetime!(2026-03-06 09:00 +7)
    );
    // A pause that starts after the original deadline but before the extended one counts:
    // the first pause moves the deadline into the second.
    // Budget Mon 10:00 → Thu 17:00 = 30 h; pause 1 covers Thu 16:00–17:00 (1 h) → Fri
    // 09:00; pause 2 covers Fri 08:30–10:00 (1.5 h) → Fri 10:30.
    assert_eq!(
        due(&[
            (
                datetime!(2026-03-06 08:30 +7),
                datetime!(2026-03-06 10:00 +7)
            ),
            (
                datetime!(2026-03-05 16:00 +7),
                datetime!(2026-03-06 08:00 +7)
            ),
        ]),
        datetime!(2026-03-06 10:30 +7)
    );
    // Empty and reversed intervals are ignored.
    assert_eq!(
        due(&[(
            datetime!(2026-03-03 10:00 +7),
            datetime!(2026-03-03 08:00 +7)
        )]),
        datetime!(2026-03-05 17:00 +7)
    );
}

#[test]
fn pauses_match_the_fixed_point_definition() {
    // due = base + (working time paused between receipt and due), checked directly.
    let cal = Calendar::default();
    let received = datetime!(2026-02-11 14:00 +7);
    let pauses = [
        (
            datetime!(2026-02-12 09:00 +7),
            datetime!(2026-02-24 11:00 +7),
        ),
        (
            datetime!(2026-02-26 13:30 +7),
            datetime!(2026-02-27 08:00 +7),
        ),
    ];
    for limit in [
        TimeLimit::SameDay,
        TimeLimit::WorkingHours(3),
        TimeLimit::WorkingDays(2),
        TimeLimit::WorkingDays(7),
    ] {
        let base = cal.due(received, limit, &[]);
        let due = cal.due(received, limit, &pauses);
        let paused: i64 = pauses
            .iter()
            .map(|&(s, e)| {
                cal.working_seconds_between(s.max(received), e.min(due))
                    .max(0)
            })
            .sum();
        assert_eq!(
            cal.working_seconds_between(base, due),
            paused,
            "{limit:?}: base {base}, due {due}"
        );
    }
}

#[test]
fn time_limit_serde() {
    assert_eq!(
        serde_json::to_string(&TimeLimit::WorkingDays(3)).expect("serializes"),
        r#"{"working_days":3}"#
    );
    assert_eq!(
        serde_json::from_str::<TimeLimit>(r#""same_day""#).expect("deserializes"),
        TimeLimit::SameDay
    );
    let holiday = &Calendar::default().holidays(2026)[0];
    let json = serde_json::to_value(holiday).expect("serializes");
    assert_eq!(json["date"], "2026-01-01");
    assert_eq!(json["kind"], "holiday");
}
