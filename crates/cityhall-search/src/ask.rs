//! Retrieval for questions ([`Index::ask`]): unlike the search box, a question
//! is long and loose ("vợ em mới sinh bé, giờ cần làm giấy gì ạ"), so no word
//! is required; every candidate is then measured by how much of the question
//! it explains (coverage), which is what lets the assistant say "I do not
//! know" instead of guessing.

use std::collections::HashSet;

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur};
use tantivy::schema::Value;
use tantivy::{Searcher, TantivyDocument, Term};

use crate::analysis::{analyze, Syllable};
use crate::index::{
    is_filler, syllable_clause, term, truncate, Fields, BIGRAM_WEIGHT, MAX_QUERY_BYTES,
    MAX_QUERY_SYLLABLES,
};
use crate::{Index, SearchError};

/// Words of a question that carry no subject: greetings, particles,
/// pronouns, question words and chat spellings ("ko", "dc", "j"). Typed
/// without diacritics they match their folded form.
const QUESTION_FILLER: &[&str] = &[
    "ạ", "à", "ơi", "nhé", "nha", "nhá", "vậy", "vay", "thế", "ha", "hả", "hở", "ah", "uh", "dạ",
    "vâng", "chào", "xin", "cảm", "ơn", "cám", "hi", "hello", "alo", "ad", "admin", "shop", "em",
    "anh", "chị", "mình", "tôi", "tui", "tớ", "mk", "mik", "mị", "bạn", "ông", "bà", "cô", "chú",
    "họ", "nó", "cho", "hỏi", "muốn", "cần", "phải", "nên", "làm", "sao", "nào", "thế", "như",
    "gì", "j", "đâu", "ở", "o", "tại", "về", "của", "và", "với", "là", "thì", "mà", "có", "ko",
    "k", "không", "hông", "hok", "khg", "kg", "được", "đc", "dc", "đươc", "bị", "rồi", "r", "chưa",
    "này", "đó", "kia", "khi", "nếu", "để", "vì", "nên", "lúc", "giờ", "bây", "hiện", "nay",
    "đang", "sẽ", "đã", "vừa", "cũng", "vẫn", "còn", "lại", "ra", "vào", "lên", "đi", "đến", "tới",
    "từ", "trong", "ngoài", "các", "những", "mọi", "một", "hai", "ai", "bao", "nhiêu", "mấy", "bn",
    "bnhieu", "hết", "gấp", "giúp", "dùm", "giùm", "hộ", "với", "thủ", "tục", "cách", "hướng",
    "dẫn", "thông", "tin", "biết", "thắc", "mắc", "the", "a", "an", "of", "for", "how", "and",
    "get", "what", "do", "i", "my", "to", "is", "can", "need", "where", "please", "want",
];

/// How candidates are ranked and measured; the defaults are what the
/// development questions were tuned with.
#[derive(Clone, Copy, Debug)]
pub struct AskTuning {
    /// Weight of the tantivy score (relative to the best candidate's).
    pub score: f32,
    /// Weight of coverage by the whole doc.
    pub coverage: f32,
    /// Weight of coverage by the titles and keywords alone.
    pub title_coverage: f32,
    /// Weight of the anchor (see [`Asked::anchor`]).
    pub anchor: f32,
    /// Weight of title precision (see [`Asked::precision`]).
    pub precision: f32,
    /// Candidates measured per question.
    pub candidates: usize,
}

impl Default for AskTuning {
    fn default() -> Self {
        AskTuning {
            score: 0.5,
            coverage: 1.0,
            title_coverage: 1.0,
            anchor: 0.1,
            precision: 0.25,
            candidates: 12,
        }
    }
}

/// One candidate answer to a question.
#[derive(Clone, Debug, PartialEq)]
pub struct Asked {
    pub id: String,
    pub kind: String,
    /// The tantivy score.
    pub score: f32,
    /// Share (0–1, weighted by rarity) of the question's meaningful words
    /// the doc contains anywhere.
    pub coverage: f32,
    /// The same share counted on titles and keywords only.
    pub title_coverage: f32,
    /// How distinctive the best word pair shared with the doc's titles and
    /// keywords is (its rarity among them; 0: none shared). "khai sinh" in
    /// a question is strong evidence for "Đăng ký khai sinh"; "đăng ký" is not.
    pub anchor: f32,
    /// Share (0–1, weighted by rarity) of the doc's Vietnamese title the
    /// question contains: "Cấp điều chỉnh giấy phép xây dựng" loses to "Cấp
    /// giấy phép xây dựng mới" when nobody asked to "điều chỉnh".
    pub precision: f32,
    /// What the candidates are ordered by.
    pub rank: f32,
}

/// A unit of meaning in the question: one content syllable, or a catalog
/// phrase a synonym stands for.
struct Unit {
    sylls: Vec<Syllable>,
}

/// The distinct folded syllables of `text`, space-separated (stored per doc).
pub(crate) fn term_set(text: &str) -> String {
    let mut seen = HashSet::new();
    let mut out = String::new();
    for s in analyze(text) {
        if seen.insert(s.folded.clone()) {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&s.folded);
        }
    }
    out
}

/// The distinct adjacent-syllable pairs of `phrases`, space-separated (stored per doc).
pub(crate) fn bigram_set<'a>(phrases: impl IntoIterator<Item = &'a String>) -> String {
    let mut seen = HashSet::new();
    let mut out = String::new();
    for phrase in phrases {
        let sylls = analyze(phrase);
        for w in sylls.windows(2).filter(|w| w[1].joined) {
            let b = w[0].bigram(&w[1]);
            if seen.insert(b.clone()) {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(&b);
            }
        }
    }
    out
}

fn is_question_filler(s: &Syllable) -> bool {
    use std::sync::LazyLock;
    static WORDS: LazyLock<Vec<Syllable>> =
        LazyLock::new(|| QUESTION_FILLER.iter().flat_map(|f| analyze(f)).collect());
    is_filler(s)
        || WORDS
            .iter()
            .any(|f| s.exact == f.exact || (!s.has_diacritics() && s.folded == f.folded))
}

impl Index {
    /// The docs that best answer `text`, best first, at most `limit`, each
    /// with how much of the question it explains. Empty when the question has
    /// no meaningful word ("cho em hỏi với ạ").
    pub fn ask(
        &self,
        text: &str,
        tuning: &AskTuning,
        limit: usize,
    ) -> Result<Vec<Asked>, SearchError> {
        let fields = &self.inner.fields;
        let text = truncate(text.trim(), MAX_QUERY_BYTES);
        let typed = analyze(text);
        let units = self.units(&typed);
        if units.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let searcher = self.inner.reader.searcher();
        let pairs = query_pairs(&typed, &units);
        let query = build_query(fields, &units, &pairs);
        let top = searcher.search(
            &query,
            &TopDocs::with_limit(tuning.candidates.max(limit)).order_by_score(),
        )?;
        let Some(best) = top.first().map(|(s, _)| *s).filter(|s| *s > 0.0) else {
            return Ok(Vec::new());
        };
        let weights = unit_weights(&searcher, fields, &units)?;
        let pair_weights = pair_weights(&searcher, fields, &pairs)?;
        let mut out = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr)?;
            let text_of = |f| {
                doc.get_first(f)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            let title: HashSet<String> = text_of(fields.title_terms)
                .split(' ')
                .map(str::to_string)
                .collect();
            let all: HashSet<String> = text_of(fields.all_terms)
                .split(' ')
                .map(str::to_string)
                .collect();
            let coverage = covered(&units, &weights, &all);
            let title_coverage = covered(&units, &weights, &title);
            let precision = self.precision(&searcher, &units, &text_of(fields.name_terms))?;
            let doc_pairs = text_of(fields.title_bigrams);
            let doc_pairs: HashSet<&str> = doc_pairs.split(' ').collect();
            let anchor = pairs
                .iter()
                .zip(&pair_weights)
                .filter(|(p, _)| doc_pairs.contains(String::as_str(p)))
                .map(|(_, w)| *w)
                .fold(0.0, f32::max);
            out.push(Asked {
                id: text_of(fields.id),
                kind: text_of(fields.kind),
                score,
                coverage,
                title_coverage,
                anchor,
                precision,
                rank: tuning.precision * precision
                    + tuning.score * score / best
                    + tuning.coverage * coverage
                    + tuning.title_coverage * title_coverage
                    + tuning.anchor * anchor,
            });
        }
        out.sort_by(|a, b| b.rank.total_cmp(&a.rank).then_with(|| a.id.cmp(&b.id)));
        out.truncate(limit);
        Ok(out)
    }

    /// The idf-weighted share of `name`'s syllables (fillers aside) found among
    /// the units' syllables.
    fn precision(
        &self,
        searcher: &Searcher,
        units: &[Unit],
        name: &str,
    ) -> Result<f32, SearchError> {
        let fields = &self.inner.fields;
        let asked: HashSet<&str> = units
            .iter()
            .flat_map(|u| &u.sylls)
            .map(|s| s.folded.as_str())
            .collect();
        let n = searcher.num_docs() as f32;
        let (mut total, mut hit) = (0.0f32, 0.0f32);
        for term in name.split(' ').filter(|t| !t.is_empty()) {
            if analyze(term).first().is_some_and(is_question_filler) {
                continue;
            }
            let df = searcher.doc_freq(&Term::from_field_text(fields.all, term))? as f32;
            let w = idf(n, df);
            total += w;
            if asked.contains(term) {
                hit += w;
            }
        }
        Ok(if total > 0.0 { hit / total } else { 0.0 })
    }

    /// The question's units: each synonym phrase found, then each other
    /// content syllable once.
    fn units(&self, typed: &[Syllable]) -> Vec<Unit> {
        let found = self.inner.synonyms.found(typed);
        let mut consumed = vec![false; typed.len()];
        let mut units = Vec::new();
        for f in &found {
            for &i in &f.consumed {
                consumed[i] = true;
            }
            units.push(Unit {
                sylls: f.to.to_vec(),
            });
        }
        let mut seen: Vec<&str> = Vec::new();
        for (i, s) in typed.iter().enumerate() {
            if consumed[i] || is_question_filler(s) || seen.contains(&s.folded.as_str()) {
                continue;
            }
            seen.push(&s.folded);
            units.push(Unit {
                sylls: vec![s.clone()],
            });
        }
        units.truncate(MAX_QUERY_SYLLABLES);
        units
    }
}

/// Any unit syllable in any text field; the question's word pairs (see
/// [`query_pairs`]) add to the score.
fn build_query(fields: &Fields, units: &[Unit], pairs: &[String]) -> BooleanQuery {
    let mut clauses: Vec<(Occur, Box<dyn tantivy::query::Query>)> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for s in units.iter().flat_map(|u| &u.sylls) {
        if !seen.contains(&s.folded) {
            seen.push(s.folded.clone());
            clauses.push((Occur::Should, syllable_clause(fields, s)));
        }
    }
    for bigram in pairs.iter().take(MAX_QUERY_SYLLABLES) {
        let per_field = fields
            .text()
            .iter()
            .map(|tf| {
                term(
                    Term::from_field_text(tf.bigram, bigram),
                    tf.weight * BIGRAM_WEIGHT,
                )
            })
            .collect();
        clauses.push((Occur::Should, Box::new(BooleanQuery::union(per_field))));
    }
    BooleanQuery::new(clauses)
}

/// BM25's inverse document frequency: rare terms weigh more, and a term no doc
/// has weighs most.
fn idf(n: f32, df: f32) -> f32 {
    (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
}

/// The question's word pairs: adjacent typed syllables (not both filler) and the
/// pairs inside each synonym's phrase.
fn query_pairs(typed: &[Syllable], units: &[Unit]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let typed_pairs = typed
        .windows(2)
        .filter(|w| w[1].joined && !(is_question_filler(&w[0]) && is_question_filler(&w[1])));
    for w in typed_pairs.chain(units.iter().flat_map(|u| u.sylls.windows(2))) {
        let b = w[0].bigram(&w[1]);
        if !out.contains(&b) {
            out.push(b);
        }
    }
    out
}

/// Rarity of each pair among titles and keywords (BM25's idf form).
fn pair_weights(
    searcher: &Searcher,
    fields: &Fields,
    pairs: &[String],
) -> Result<Vec<f32>, SearchError> {
    let n = searcher.num_docs() as f32;
    pairs
        .iter()
        .map(|p| {
            // Pairs common in the text of many docs ("thành phố", "hồ sơ") are
            // weak evidence even where one title happens to hold them.
            let titles = searcher.doc_freq(&Term::from_field_text(fields.title.bigram, p))?
                + searcher.doc_freq(&Term::from_field_text(fields.keywords.bigram, p))?;
            let bodies = searcher.doc_freq(&Term::from_field_text(fields.body.bigram, p))?;
            let df = (titles.max(bodies) as f32).min(n);
            Ok(idf(n, df))
        })
        .collect()
}

/// Inverse document frequency of each unit syllable (BM25's form): rare
/// words weigh more, and a word no doc has weighs most.
fn unit_weights(
    searcher: &Searcher,
    fields: &Fields,
    units: &[Unit],
) -> Result<Vec<Vec<f32>>, SearchError> {
    let n = searcher.num_docs() as f32;
    units
        .iter()
        .map(|u| {
            u.sylls
                .iter()
                .map(|s| {
                    let df =
                        searcher.doc_freq(&Term::from_field_text(fields.all, &s.folded))? as f32;
                    Ok(idf(n, df))
                })
                .collect()
        })
        .collect()
}

/// The weighted share of the units found in `terms`; a phrase counts in
/// proportion to its syllables found.
fn covered(units: &[Unit], weights: &[Vec<f32>], terms: &HashSet<String>) -> f32 {
    let mut total = 0.0;
    let mut hit = 0.0;
    for (u, w) in units.iter().zip(weights) {
        for (s, w) in u.sylls.iter().zip(w) {
            total += w;
            if terms.contains(&s.folded) {
                hit += w;
            }
        }
    }
    if total > 0.0 {
        hit / total
    } else {
        0.0
    }
}
