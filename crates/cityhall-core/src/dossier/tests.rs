use time::macros::{date, datetime};

use super::*;

#[test]
fn shipped_workflow_maps_every_national_status() {
    let wf = Workflow::one_stop();
    let mut codes: Vec<i16> = wf.states.iter().map(|s| s.status).collect();
    codes.sort();
    assert_eq!(codes, (1..=10).collect::<Vec<_>>());
    assert_eq!(wf.initial().id, "new");
    assert_eq!(wf.state("supplement").unwrap().clock, ClockRule::Paused);
}

#[test]
fn happy_path_and_refusals() {
    let wf = Workflow::one_stop();
    let to = |s: &str, a: &str, by: Actor, given: &[Need]| {
        wf.decide(s, a, by, given).map(|s| s.id.clone())
    };
    assert_eq!(
        to("new", "accept", Actor::Officer, &[]).unwrap(),
        "accepted"
    );
    assert_eq!(
        to(
            "accepted",
            "request_supplement",
            Actor::Officer,
            &[Need::Reason]
        )
        .unwrap(),
        "supplement"
    );
    assert_eq!(
        to("supplement", "supplement", Actor::Applicant, &[]).unwrap(),
        "processing"
    );
    assert_eq!(
        to("processing", "approve", Actor::Officer, &[]).unwrap(),
        "done"
    );
    assert_eq!(
        to("done", "return", Actor::Officer, &[]).unwrap(),
        "returned"
    );
    // The apology letter keeps the state.
    assert_eq!(
        to(
            "processing",
            "apologize",
            Actor::Officer,
            &[Need::Reason, Need::NewDate]
        )
        .unwrap(),
        "processing"
    );

    assert_eq!(
        to("new", "approve", Actor::Officer, &[]),
        Err(TransitionError::WrongState)
    );
    assert_eq!(
        to("new", "accept", Actor::Applicant, &[]),
        Err(TransitionError::WrongActor)
    );
    assert_eq!(
        to("new", "refuse", Actor::Officer, &[]),
        Err(TransitionError::Missing(Need::Reason))
    );
    assert_eq!(
        to("returned", "withdraw", Actor::Applicant, &[]),
        Err(TransitionError::WrongState)
    );
    assert_eq!(
        to("new", "fly", Actor::Officer, &[]),
        Err(TransitionError::UnknownAction)
    );
}

#[test]
fn allowed_lists_only_what_the_actor_may_do_now() {
    let wf = Workflow::one_stop();
    let ids = |s: &str, by: Actor| -> Vec<String> {
        wf.allowed(s, by)
            .into_iter()
            .map(|a| a.id.clone())
            .collect()
    };
    assert_eq!(ids("new", Actor::Officer), ["accept", "refuse"]);
    assert_eq!(ids("new", Actor::Applicant), ["withdraw"]);
    assert_eq!(ids("done", Actor::Officer), ["return"]);
    assert!(ids("returned", Actor::Officer).is_empty());
}

#[test]
fn a_broken_workflow_is_refused() {
    let bad = r#"{"name":"x","states":[{"id":"a","status":1,"clock":"before","name":{"vi":"a","en":"a"}}],
        "actions":[{"id":"go","from":["a"],"to":"b","by":"officer","name":{"vi":"g","en":"g"}}]}"#;
    assert!(Workflow::parse(bad)
        .unwrap_err()
        .contains("unknown state b"));
}

#[test]
fn tracking_codes() {
    let agency = AgencyCode::parse("UBND-27004").unwrap();
    let code = TrackingCode::new(&agency, date!(2026 - 11 - 23), 7);
    assert_eq!(code.as_str(), "UBND-27004-261123-0007");
    assert_eq!(code.agency(), "UBND-27004");
    assert_eq!(
        TrackingCode::new(&agency, date!(2026 - 11 - 23), 123456).as_str(),
        "UBND-27004-261123-123456"
    );
    assert_eq!(
        TrackingCode::parse(" ubnd-27004-261123-0007 ").unwrap(),
        code
    );
    assert_eq!(
        TrackingCode::parse("SOTUPHAP-261123-0001")
            .unwrap()
            .agency(),
        "SOTUPHAP"
    );
    for bad in [
        "",
        "UBND-27004-261123-007",
        "UBND-27004-2611-0007",
        "-261123-0001",
        "x y-261123-0001",
        "UBND-27004-261123-00a1",
    ] {
        assert!(TrackingCode::parse(bad).is_err(), "{bad}");
    }
    // The day is the local (UTC+7) date: 20:00 UTC on the 23rd is the 24th in the city.
    assert_eq!(
        local_day(datetime!(2026-11-23 20:00 UTC)),
        date!(2026 - 11 - 24)
    );
}

#[test]
fn on_time_follows_decision_766() {
    let due = datetime!(2026-11-26 17:00 +7);
    assert!(on_time(due, Some(datetime!(2026-11-26 16:59 +7)), due, 0));
    assert!(on_time(due, Some(due), due, 1));
    assert!(!on_time(due, Some(datetime!(2026-11-26 17:01 +7)), due, 0));
    // More than one supplement request is late whatever the dates.
    assert!(!on_time(due, Some(datetime!(2026-11-25 9:00 +7)), due, 2));
    // Still open: judged at `now`.
    assert!(on_time(due, None, datetime!(2026-11-25 9:00 +7), 0));
    assert!(!on_time(due, None, datetime!(2026-11-27 9:00 +7), 0));
}

#[test]
fn money_is_written_the_vietnamese_way() {
    assert_eq!(format_dong(0), "0 ₫");
    assert_eq!(format_dong(8000), "8.000 ₫");
    assert_eq!(format_dong(200000), "200.000 ₫");
    assert_eq!(format_dong(1234567), "1.234.567 ₫");
}
