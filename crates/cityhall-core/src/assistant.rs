//! The virtual assistant's rules that need no index and no database: what a
//! question asks about (a fee, a time limit, the documents...), which tracking
//! codes it carries, whether it asks for a status, greets or thanks, and when
//! a retrieved candidate is good enough to answer from. Retrieval itself is in
//! `cityhall-search`; composing the answer from the catalog is in the web
//! crate.

use crate::dossier::TrackingCode;
use crate::text::fold;

/// What a question asks about a procedure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    Fee,
    TimeLimit,
    Documents,
    Where,
    Online,
}

impl Topic {
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Fee => "fee",
            Topic::TimeLimit => "time_limit",
            Topic::Documents => "documents",
            Topic::Where => "where",
            Topic::Online => "online",
        }
    }
}

/// Phrases (folded, whole words) that ask about each topic. Longer phrases
/// first: they are removed from the question before retrieval, so "mất mấy
/// ngày" leaves nothing behind, not "mất" (which would look like "mất nước").
const TOPIC_CUES: &[(Topic, &[&str])] = &[
    (
        Topic::Fee,
        &[
            "le phi bao nhieu",
            "phi bao nhieu",
            "het bao nhieu tien",
            "mat bao nhieu tien",
            "ton bao nhieu tien",
            "bao nhieu tien",
            "mat bao nhieu",
            "ton bao nhieu",
            "het bao nhieu",
            "mat tien khong",
            "co mat phi",
            "co mat tien",
            "co ton phi",
            "mien phi khong",
            "mien phi",
            "chi phi",
            "le phi",
            "phi",
            "how much",
            "fee",
            "fees",
            "cost",
        ],
    ),
    (
        Topic::TimeLimit,
        &[
            "mat may ngay",
            "mat bao lau",
            "het bao lau",
            "mat bao nhieu ngay",
            "bao nhieu ngay",
            "may ngay",
            "bao lau",
            "bao gio co ket qua",
            "khi nao co ket qua",
            "bao gio xong",
            "khi nao xong",
            "bao gio lay",
            "khi nao lay",
            "thoi han giai quyet",
            "thoi gian giai quyet",
            "thoi han",
            "thoi gian",
            "lau khong",
            "how long",
            "how many days",
        ],
    ),
    (
        Topic::Online,
        &[
            "nop online duoc khong",
            "nop truc tuyen duoc khong",
            "lam online duoc khong",
            "online duoc khong",
            "truc tuyen duoc khong",
            "nop online",
            "nop truc tuyen",
            "lam online",
            "lam truc tuyen",
            "nop qua mang",
            "lam qua mang",
            "tren mang",
            "qua mang",
            "dich vu cong truc tuyen",
            "truc tuyen",
            "online",
            "internet",
            "apply online",
        ],
    ),
    (
        Topic::Documents,
        &[
            "can nhung giay to gi",
            "can giay to gi",
            "giay to gi",
            "giay to can",
            "can nhung gi",
            "can mang theo",
            "mang theo gi",
            "mang theo",
            "chuan bi gi",
            "chuan bi nhung gi",
            "ho so gom",
            "ho so can",
            "thanh phan ho so",
            "giay to",
            "what documents",
            "documents",
            "papers",
        ],
    ),
    (
        Topic::Where,
        &[
            "nop o dau",
            "lam o dau",
            "xin o dau",
            "dang ky o dau",
            "o dau",
            "noi nao",
            "cho nao",
            "co quan nao",
            "where",
        ],
    ),
];

/// Greetings and thanks, when they are the whole message.
const GREETING: &[&str] = &[
    "xin chao",
    "chao",
    "chao ban",
    "chao ad",
    "chao admin",
    "hi",
    "hello",
    "alo",
    "a lo",
    "hey",
    "chao em",
    "chao anh",
    "chao chi",
    "good morning",
];
const THANKS: &[&str] = &[
    "cam on",
    "cam on ban",
    "cam on nhieu",
    "cam on nhe",
    "cam on a",
    "thank you",
    "thanks",
    "tks",
    "thank",
    "ok cam on",
    "da cam on",
];

/// Phrases that ask where a dossier or report has got to.
const STATUS_CUES: &[&str] = &[
    "den dau roi",
    "toi dau roi",
    "xu ly den dau",
    "giai quyet den dau",
    "xu ly chua",
    "giai quyet chua",
    "xong chua",
    "co ket qua chua",
    "tinh trang ho so",
    "trang thai ho so",
    "tinh trang phan anh",
    "trang thai phan anh",
    "tra cuu ho so",
    "tra cuu phan anh",
    "theo doi ho so",
    "status of my",
    "where is my",
    "track my",
];

/// Words that make a status question about the asker's own records.
const RECORD_WORDS: &[&str] = &[
    "ho so",
    "phan anh",
    "kien nghi",
    "don",
    "my application",
    "my report",
    "my dossier",
];

/// What the question's wording says, before any retrieval.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cues {
    /// Topics asked about, in the order they appear.
    pub topics: Vec<Topic>,
    /// The question without the topic phrases and codes: what retrieval gets.
    pub subject: String,
    /// Dossier tracking codes found.
    pub dossier_codes: Vec<String>,
    /// Report tracking codes found.
    pub report_codes: Vec<String>,
    /// Asks where a dossier or report has got to.
    pub status: bool,
    /// Nothing but a greeting.
    pub greeting: bool,
    /// Nothing but thanks.
    pub thanks: bool,
}

/// Reads the cues of `question`.
pub fn cues(question: &str) -> Cues {
    let mut out = Cues::default();
    // Codes first, so their digits do not reach retrieval.
    let mut rest: Vec<&str> = Vec::new();
    for raw in question.split_whitespace() {
        let token = raw.trim_matches(|c: char| !c.is_alphanumeric() && c != '-');
        let upper = token.to_ascii_uppercase();
        if crate::feedback::looks_like_code(&upper) {
            if !out.report_codes.contains(&upper) {
                out.report_codes.push(upper);
            }
        } else if upper.contains('-') && TrackingCode::parse(&upper).is_ok() {
            if !out.dossier_codes.contains(&upper) {
                out.dossier_codes.push(upper);
            }
        } else {
            rest.push(raw);
        }
    }
    let words = words(&rest.join(" "));
    let joined = words.join(" ");
    out.greeting = GREETING.contains(&joined.as_str());
    out.thanks = THANKS.contains(&joined.as_str());
    out.status = STATUS_CUES.iter().any(|c| has_phrase(&words, c))
        && (RECORD_WORDS.iter().any(|c| has_phrase(&words, c))
            || !out.dossier_codes.is_empty()
            || !out.report_codes.is_empty());

    // Topics: mark the words each cue covers, longest cues first per topic.
    let mut taken = vec![false; words.len()];
    let mut found: Vec<(usize, Topic)> = Vec::new();
    for (topic, phrases) in TOPIC_CUES {
        for phrase in *phrases {
            let p: Vec<&str> = phrase.split(' ').collect();
            if p.len() > words.len() {
                continue;
            }
            for start in 0..=words.len() - p.len() {
                let span = start..start + p.len();
                if taken[span.clone()].iter().any(|t| *t) {
                    continue;
                }
                if words[span.clone()].iter().zip(&p).all(|(w, q)| w == q) {
                    taken[span].iter_mut().for_each(|t| *t = true);
                    found.push((start, *topic));
                }
            }
        }
    }
    found.sort_by_key(|(at, _)| *at);
    for (_, topic) in found {
        if !out.topics.contains(&topic) {
            out.topics.push(topic);
        }
    }
    // The subject keeps the words as typed (diacritics help retrieval),
    // minus what the topic phrases took.
    let typed = typed_words(&rest.join(" "));
    out.subject = typed
        .iter()
        .zip(&taken)
        .filter(|(_, t)| !**t)
        .map(|(w, _)| w.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    out
}

/// Folded words (letters and digits).
fn words(text: &str) -> Vec<String> {
    typed_words(text)
        .iter()
        .map(|w| fold(w).chars().filter(|c| !is_mark(*c)).collect())
        .collect()
}

/// Words as typed, lower-cased, split like [`words`] so the two align.
fn typed_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric() && !is_mark(c))
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .map(str::to_lowercase)
        .collect()
}

fn is_mark(c: char) -> bool {
    // Combining diacritics (decomposed input) stay inside their word.
    ('\u{300}'..='\u{36f}').contains(&c)
}

/// Whether `text` contains `phrase` as whole words, ignoring case and diacritics.
pub fn mentions(text: &str, phrase: &str) -> bool {
    let w = words(text);
    let p = words(phrase).join(" ");
    !p.is_empty() && has_phrase(&w, &p)
}

fn has_phrase(words: &[String], phrase: &str) -> bool {
    let p: Vec<&str> = phrase.split(' ').collect();
    words.len() >= p.len()
        && words
            .windows(p.len())
            .any(|w| w.iter().zip(&p).all(|(a, b)| a == b))
}

/// What retrieval found for the best candidate, in the terms the decision
/// needs (see `cityhall_search::Asked`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evidence {
    /// Weighted share of the question's meaningful words the doc contains.
    pub coverage: f32,
    /// The same on titles and keywords only.
    pub title_coverage: f32,
    /// Rarity of the most distinctive word pair shared with its titles and
    /// keywords (0: none).
    pub anchor: f32,
    /// How far ahead of the runner-up it ranks (rank difference).
    pub margin: f32,
}

/// When a candidate is good enough to answer from; below, the assistant says
/// it does not know. Tuned on the development questions only.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Confidence {
    /// With a distinctive pair in common ("khai sinh", "ổ gà"): this much of
    /// the question must be explained...
    pub min_anchor: f32,
    pub min_coverage_anchored: f32,
    /// ...without one, this much, and this much by the title alone.
    pub min_coverage: f32,
    pub min_title_coverage: f32,
    /// The best must rank this far ahead of the runner-up.
    pub min_margin: f32,
}

impl Default for Confidence {
    fn default() -> Self {
        Confidence {
            min_anchor: 1.0,
            min_coverage_anchored: 0.2,
            min_coverage: 0.7,
            min_title_coverage: 0.5,
            min_margin: 0.0,
        }
    }
}

impl Confidence {
    /// Whether `e` is enough to answer.
    pub fn accepts(&self, e: &Evidence) -> bool {
        let anchored = e.anchor >= self.min_anchor && e.coverage >= self.min_coverage_anchored;
        let covered =
            e.coverage >= self.min_coverage && e.title_coverage >= self.min_title_coverage;
        (anchored || covered) && e.margin >= self.min_margin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_are_found_and_removed() {
        let c = cues("Lệ phí đăng ký kết hôn bao nhiêu, mất mấy ngày?");
        assert_eq!(c.topics, [Topic::Fee, Topic::TimeLimit]);
        assert_eq!(c.subject, "đăng ký kết hôn bao nhiêu");
        let c = cues("mat may ngay");
        assert_eq!(c.topics, [Topic::TimeLimit]);
        assert_eq!(c.subject, "");
        let c = cues("nộp online được không?");
        assert_eq!(c.topics, [Topic::Online]);
        assert_eq!(c.subject, "");
        let c = cues("lam cccd o dau");
        assert_eq!(c.topics, [Topic::Where]);
        assert_eq!(c.subject, "lam cccd");
    }

    #[test]
    fn codes_are_taken_out() {
        let c = cues("hồ sơ UBND-26740-261123-0007 đến đâu rồi?");
        assert_eq!(c.dossier_codes, ["UBND-26740-261123-0007"]);
        assert!(c.status);
        assert!(!c.subject.contains("26740"));
        let c = cues("phản ánh pa-261123-0012 xử lý chưa");
        assert_eq!(c.report_codes, ["PA-261123-0012"]);
        assert!(c.status);
        let c = cues("đăng ký khai sinh 1.001193");
        assert!(c.dossier_codes.is_empty() && c.report_codes.is_empty());
    }

    #[test]
    fn greetings_and_thanks_only_when_alone() {
        assert!(cues("Xin chào!").greeting);
        assert!(cues("cảm ơn nhiều").thanks);
        assert!(!cues("chào bạn, làm giấy khai sinh thế nào").greeting);
    }

    #[test]
    fn status_needs_a_record_word() {
        assert!(cues("hồ sơ của tôi đến đâu rồi").status);
        assert!(!cues("tình trạng hôn nhân").status);
    }

    #[test]
    fn decomposed_input_keeps_words_whole() {
        use crate::text::fold;
        let nfd = "le\u{302}\u{323} phi\u{301}";
        let c = cues(nfd);
        assert_eq!(c.topics, [Topic::Fee]);
        assert_eq!(fold("lệ"), "le");
    }

    #[test]
    fn mentions_whole_words_without_diacritics() {
        assert!(mentions("Sang tên xe ô tô cũ", "xe ô tô"));
        assert!(mentions("sang ten xe o to", "xe ô tô"));
        assert!(!mentions("xe ô tôi", "xe ô tô"));
        assert!(!mentions("anything", ""));
    }

    #[test]
    fn confidence() {
        let c = Confidence::default();
        let e = |coverage, title_coverage, anchor| Evidence {
            coverage,
            title_coverage,
            anchor,
            margin: 1.0,
        };
        assert!(c.accepts(&e(0.9, 0.8, 0.0)));
        assert!(!c.accepts(&e(0.5, 0.8, 0.0)));
        assert!(!c.accepts(&e(0.9, 0.1, 0.0)));
        assert!(c.accepts(&e(0.4, 0.1, 2.0)), "anchored");
        assert!(
            !c.accepts(&e(0.1, 0.1, 2.0)),
            "anchored but mostly unexplained"
        );
    }
}
