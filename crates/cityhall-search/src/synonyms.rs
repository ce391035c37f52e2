//! Synonyms and abbreviations as data: phrases people type ("cccd", "làm
//! giấy khai sinh") mapped to the phrase the catalog uses. Matching is on
//! whole syllables and ignores missing diacritics, so "lam giay khai sinh"
//! finds the same entry as "làm giấy khai sinh".

use serde::Deserialize;

use crate::analysis::{analyze, Syllable};
use crate::SearchError;

#[derive(Deserialize)]
struct File {
    entries: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    from: Vec<String>,
    to: String,
}

#[derive(Clone, Debug)]
struct Rule {
    from: Vec<Vec<Syllable>>,
    to: String,
    to_syllables: Vec<Syllable>,
}

/// Synonyms and abbreviations as data: each entry maps a phrase people type
/// to the phrase used in the catalog.
#[derive(Clone, Debug, Default)]
pub struct Synonyms {
    rules: Vec<Rule>,
}

impl Synonyms {
    /// Parses `{"entries":[{"from":["cccd","căn cước công dân"],"to":"căn cước"}, ...]}`.
    /// Other top-level keys are ignored, so the file can carry a note.
    pub fn from_json(s: &str) -> Result<Synonyms, SearchError> {
        let file: File = serde_json::from_str(s)
            .map_err(|e| SearchError::Synonyms(format!("invalid JSON: {e}")))?;
        let mut rules = Vec::with_capacity(file.entries.len());
        for (i, entry) in file.entries.into_iter().enumerate() {
            let to_syllables = analyze(&entry.to);
            if to_syllables.is_empty() {
                return Err(SearchError::Synonyms(format!(
                    "entry {i}: \"to\" has no words"
                )));
            }
            if entry.from.is_empty() {
                return Err(SearchError::Synonyms(format!(
                    "entry {i} ({}): \"from\" is empty",
                    entry.to
                )));
            }
            let mut from = Vec::with_capacity(entry.from.len());
            for phrase in &entry.from {
                let sylls = analyze(phrase);
                if sylls.is_empty() {
                    return Err(SearchError::Synonyms(format!(
                        "entry {i} ({}): phrase {phrase:?} has no words",
                        entry.to
                    )));
                }
                from.push(sylls);
            }
            rules.push(Rule {
                from,
                to: entry.to.trim().to_string(),
                to_syllables,
            });
        }
        Ok(Synonyms { rules })
    }

    /// These entries followed by `other`'s (e.g. the catalog's list, then the
    /// assistant's own).
    pub fn merge(mut self, other: Synonyms) -> Synonyms {
        self.rules.extend(other.rules);
        self
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Returns the text plus the expansions of any phrase found (matched on
    /// folded text, whole words), separated by spaces.
    pub fn expand(&self, text: &str) -> String {
        let mut out = text.to_string();
        for e in self.expansions(text) {
            out.push(' ');
            out.push_str(e);
        }
        out
    }

    /// The catalog phrases for the phrases found in `text`, each once, in
    /// entry order. A phrase already in `text`, diacritics and all, is not
    /// repeated.
    pub(crate) fn expansions(&self, text: &str) -> Vec<&str> {
        let sylls = analyze(text);
        let mut out: Vec<&str> = Vec::new();
        for rule in &self.rules {
            // Skip phrases already typed as such; "can cuoc" still gains "căn cước".
            let present = sylls.windows(rule.to_syllables.len()).any(|w| {
                w.iter()
                    .zip(&rule.to_syllables)
                    .all(|(t, p)| t.exact == p.exact)
            });
            if present || out.contains(&rule.to.as_str()) {
                continue;
            }
            if rule.from.iter().any(|phrase| contains(&sylls, phrase)) {
                out.push(&rule.to);
            }
        }
        out
    }
}

/// A synonym found in a text: the catalog phrase, and which of the text's
/// syllables it stands for.
#[derive(Clone, Debug)]
pub(crate) struct Found<'a> {
    pub to: &'a [Syllable],
    pub consumed: Vec<usize>,
}

impl Synonyms {
    /// Every entry whose phrase occurs in `sylls`, with the syllables it
    /// covers (all occurrences of all its phrases); entries whose catalog
    /// phrase is already typed as such count too, covering that phrase.
    pub(crate) fn found<'a>(&'a self, sylls: &[Syllable]) -> Vec<Found<'a>> {
        let mut out: Vec<Found<'a>> = Vec::new();
        for rule in &self.rules {
            let mut consumed = Vec::new();
            for phrase in rule.from.iter().chain(std::iter::once(&rule.to_syllables)) {
                if phrase.is_empty() || phrase.len() > sylls.len() {
                    continue;
                }
                for start in 0..=sylls.len() - phrase.len() {
                    let w = &sylls[start..start + phrase.len()];
                    if w.iter().zip(phrase).all(|(t, p)| t.compatible(p)) {
                        consumed.extend(start..start + phrase.len());
                    }
                }
            }
            if consumed.is_empty() {
                continue;
            }
            consumed.sort_unstable();
            consumed.dedup();
            if let Some(same) = out
                .iter_mut()
                .find(|f| same_phrase(f.to, &rule.to_syllables))
            {
                same.consumed.extend(consumed);
                same.consumed.sort_unstable();
                same.consumed.dedup();
            } else {
                out.push(Found {
                    to: &rule.to_syllables,
                    consumed,
                });
            }
        }
        out
    }
}

fn same_phrase(a: &[Syllable], b: &[Syllable]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.exact == y.exact)
}

/// Whether `phrase` occurs in `text` as consecutive whole syllables.
fn contains(text: &[Syllable], phrase: &[Syllable]) -> bool {
    !phrase.is_empty()
        && text
            .windows(phrase.len())
            .any(|w| w.iter().zip(phrase).all(|(t, p)| t.compatible(p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Synonyms {
        Synonyms::from_json(
            r#"{"entries":[
                {"from":["cccd","căn cước công dân"],"to":"căn cước"},
                {"from":["làm giấy khai sinh","giấy khai sinh"],"to":"đăng ký khai sinh"},
                {"from":["cưới"],"to":"đăng ký kết hôn"}
            ]}"#,
        )
        .unwrap()
    }

    #[test]
    fn expands_with_or_without_diacritics() {
        let s = sample();
        assert_eq!(s.expand("CCCD"), "CCCD căn cước");
        assert_eq!(s.expand("can cuoc cong dan"), "can cuoc cong dan căn cước");
        assert_eq!(
            s.expand("lam giay khai sinh cho con"),
            "lam giay khai sinh cho con đăng ký khai sinh"
        );
        assert_eq!(
            s.expand("Làm GIẤY khai sinh"),
            "Làm GIẤY khai sinh đăng ký khai sinh"
        );
    }

    #[test]
    fn whole_words_only() {
        let s = sample();
        assert_eq!(s.expand("cccdx"), "cccdx");
        assert_eq!(s.expand("khai sinh"), "khai sinh");
    }

    #[test]
    fn typed_marks_must_agree() {
        let s = sample();
        assert_eq!(s.expand("cuoi"), "cuoi đăng ký kết hôn");
        assert_eq!(s.expand("cưới"), "cưới đăng ký kết hôn");
        // "cuối" (last) is a different word from "cưới" (to marry).
        assert_eq!(s.expand("cuối năm"), "cuối năm");
    }

    #[test]
    fn no_repeat_of_present_phrase() {
        let s = sample();
        assert_eq!(s.expand("căn cước công dân"), "căn cước công dân");
    }

    #[test]
    fn rejects_bad_files() {
        for bad in [
            "",
            "[]",
            r#"{"entries":[{"from":[],"to":"x"}]}"#,
            r#"{"entries":[{"from":["a"],"to":"  "}]}"#,
            r#"{"entries":[{"from":["((("],"to":"x"}]}"#,
        ] {
            assert!(Synonyms::from_json(bad).is_err(), "{bad:?}");
        }
        assert!(Synonyms::from_json(r#"{"note":"x","entries":[]}"#)
            .unwrap()
            .is_empty());
    }
}
