//! The assistant's evaluation set (`tests/assistant/questions.json`): residents'
//! questions, each with the procedure or feedback category a person would pick, or a
//! decline. The held-out split was frozen before any tuning; ranking and thresholds
//! were tuned on the development split only.
//!
//! The aim is held-out top-1 accuracy of at least 90% with no out-of-scope question
//! answered. Not reached yet: the test holds the level measured so far as a floor
//! ([`HELD_OUT_FLOOR`], [`HELD_OUT_ANSWERED_DECLINES`]) so that no change makes it worse,
//! and requires every out-of-scope question of the development split to be declined. Prints top-1/top-3 accuracy and latency;
//! `scripts/bench assistant` runs it in release mode for the figures in
//! `docs/benchmarks.md`. `ASSISTANT_EVAL_SHOW=dev` lists the development split's misses.

use std::time::Instant;

use cityhall_core::catalog::CatalogFile;
use cityhall_core::feedback::CategoriesFile;
use cityhall_web::assistant::{Context, Decision, Engine};
use serde::Deserialize;

/// Held-out top-1 accuracy measured when the set was frozen and the ranking tuned on
/// the development split: 80.1%. The aim is 0.90.
const HELD_OUT_FLOOR: f64 = 0.80;
/// Out-of-scope held-out questions answered at that point (aim: 0).
const HELD_OUT_ANSWERED_DECLINES: usize = 1;

#[derive(Deserialize)]
struct File {
    questions: Vec<Question>,
}

#[derive(Deserialize)]
struct Question {
    id: String,
    q: String,
    expect: Expect,
    split: String,
    #[serde(default)]
    style: String,
}

#[derive(Deserialize, Default)]
struct Expect {
    procedure: Option<String>,
    category: Option<String>,
    #[serde(default)]
    decline: bool,
}

impl Expect {
    fn key(&self) -> String {
        if let Some(p) = &self.procedure {
            p.clone()
        } else if let Some(c) = &self.category {
            format!("category:{c}")
        } else {
            "decline".into()
        }
    }
}

fn engine() -> Engine {
    let catalog = CatalogFile::parse(
        include_str!("../../../data/procedures-79.json"),
        &|_: &str| true,
    )
    .expect("shipped catalog");
    let categories = CategoriesFile::parse(
        include_str!("../../../data/feedback-categories.json"),
        |_| true,
    )
    .expect("shipped categories");
    let engine = Engine::new().expect("engine");
    engine
        .reindex(1, catalog.procedures.iter(), &catalog.fields, &categories)
        .expect("index");
    engine
}

fn answer_key(d: &Decision) -> String {
    match d {
        Decision::Procedure { code, .. } => code.clone(),
        Decision::Report { category } => format!("category:{category}"),
        Decision::OutOfScope => "decline".into(),
        other => format!("intent:{}", other.intent()),
    }
}

#[derive(Default)]
struct Score {
    n: usize,
    top1: usize,
    top3: usize,
    declines: usize,
    wrongly_answered_declines: usize,
}

#[test]
fn evaluation_set() {
    let file: File = serde_json::from_str(include_str!("../../../tests/assistant/questions.json"))
        .expect("questions.json");
    assert!(file.questions.len() >= 300, "at least 300 questions");
    let engine = engine();
    let show = std::env::var("ASSISTANT_EVAL_SHOW").unwrap_or_default();
    let mut scores: std::collections::BTreeMap<String, Score> = Default::default();
    let mut styles: std::collections::BTreeMap<(String, String), (usize, usize)> =
        Default::default();
    let mut latencies = Vec::new();
    let mut answered_out_of_scope = Vec::new();
    // Warm up (first query builds lazy tables).
    engine.decide("xin chào", &Context::default());
    for q in &file.questions {
        let started = Instant::now();
        let decision = engine.decide(&q.q, &Context::default());
        latencies.push(started.elapsed());
        let got = answer_key(&decision);
        let want = q.expect.key();
        let subject = cityhall_core::assistant::cues(&q.q).subject;
        let top3: Vec<String> = if got == "decline" {
            Vec::new()
        } else {
            engine
                .candidates(&subject, 3)
                .into_iter()
                .map(|a| a.id)
                .collect()
        };
        let s = scores.entry(q.split.clone()).or_default();
        s.n += 1;
        let ok = got == want;
        s.top1 += usize::from(ok);
        s.top3 += usize::from(ok || (want != "decline" && top3.contains(&want)));
        let st = styles
            .entry((q.split.clone(), q.style.clone()))
            .or_default();
        st.0 += 1;
        st.1 += usize::from(ok);
        if q.expect.decline {
            s.declines += 1;
            if got != "decline" {
                s.wrongly_answered_declines += 1;
                // Held-out questions are not shown, so that nobody tunes on them.
                answered_out_of_scope.push(if q.split == "dev" {
                    format!("{} (dev): {:?} -> {got}", q.id, q.q)
                } else {
                    format!("{} (held-out)", q.id)
                });
            }
        }
        if !ok && q.split == show && show == "dev" {
            let feats: Vec<String> = engine
                .candidates(&subject, 3)
                .iter()
                .map(|a| {
                    format!(
                        "{} c{:.2} t{:.2} a{:.2} r{:.2}",
                        a.id, a.coverage, a.title_coverage, a.anchor, a.rank
                    )
                })
                .collect();
            println!(
                "MISS {} [{}] {:?}\n     want {want}, got {got}; {feats:?}",
                q.id, q.style, q.q
            );
        }
    }
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
    println!("split      n   top-1    top-3   declines answered");
    for (split, s) in &scores {
        println!(
            "{split:<8} {:>3}  {:>5.1}%  {:>5.1}%   {}/{}",
            s.n,
            100.0 * s.top1 as f64 / s.n as f64,
            100.0 * s.top3 as f64 / s.n as f64,
            s.wrongly_answered_declines,
            s.declines
        );
    }
    for ((split, style), (n, ok)) in &styles {
        if split == "dev" {
            println!("  {split:<8} {style:<14} {ok}/{n}");
        }
    }
    println!(
        "latency per question: p50 {:?}, p95 {:?}, max {:?}",
        pct(0.5),
        pct(0.95),
        latencies.last().unwrap()
    );
    let held = scores.get("heldout").expect("a held-out split");
    let accuracy = held.top1 as f64 / held.n as f64;
    let dev_answered = scores.get("dev").map_or(0, |s| s.wrongly_answered_declines);
    assert!(
        dev_answered == 0 && held.wrongly_answered_declines <= HELD_OUT_ANSWERED_DECLINES,
        "out-of-scope questions answered: {answered_out_of_scope:#?}"
    );
    assert!(
        accuracy >= HELD_OUT_FLOOR,
        "held-out top-1 accuracy {:.1}% is below {:.0}%",
        100.0 * accuracy,
        100.0 * HELD_OUT_FLOOR
    );
}

/// Grid search of the ranking weights and decision thresholds on the development
/// split only:
/// `cargo test --release -p cityhall-web --test assistant_eval tune_on_dev -- --ignored --nocapture`.
#[test]
#[ignore]
fn tune_on_dev() {
    let file: File = serde_json::from_str(include_str!("../../../tests/assistant/questions.json"))
        .expect("questions.json");
    let dev: Vec<&Question> = file.questions.iter().filter(|q| q.split == "dev").collect();
    let mut engine = engine();
    let mut results = Vec::new();
    for wa in [0.1f32, 0.2, 0.4] {
        for wp in [0.25f32, 0.5, 1.0] {
            for ws in [0.5f32, 1.0] {
                engine.tuning.anchor = wa;
                engine.tuning.precision = wp;
                engine.tuning.score = ws;
                let prepared: Vec<_> = dev.iter().map(|q| engine.prepare(&q.q)).collect();
                for min_anchor in [0.5f32, 1.0, 1.5, 2.0, 2.5] {
                    for min_cov_a in [0.1f32, 0.15, 0.2, 0.3, 0.4] {
                        for min_cov in [0.5f32, 0.6, 0.7, 0.8, 0.9] {
                            for min_title in [0.3f32, 0.5, 0.7] {
                                let conf = cityhall_core::assistant::Confidence {
                                    min_anchor,
                                    min_coverage_anchored: min_cov_a,
                                    min_coverage: min_cov,
                                    min_title_coverage: min_title,
                                    min_margin: 0.0,
                                };
                                let mut ok = 0;
                                let mut bad = 0;
                                for (q, p) in dev.iter().zip(&prepared) {
                                    let got = answer_key(&engine.decide_prepared(
                                        p,
                                        &Context::default(),
                                        &conf,
                                    ));
                                    ok += usize::from(got == q.expect.key());
                                    bad += usize::from(q.expect.decline && got != "decline");
                                }
                                results.push((
                                    bad,
                                    ok,
                                    format!(
                                        "weights a{wa} p{wp} s{ws} thresholds {min_anchor} {min_cov_a} {min_cov} {min_title}"
                                    ),
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    results.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    for r in results.iter().take(20) {
        println!(
            "answered declines {} correct {}/{} {}",
            r.0,
            r.1,
            dev.len(),
            r.2
        );
    }
}
