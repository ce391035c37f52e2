//! The in-RAM tantivy index: schema, writes (each one committed and made
//! visible before it returns) and query building. User text never goes
//! through tantivy's query parser, so no input can cause a parse error.

use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use tantivy::collector::{Count, TopDocs};
use tantivy::query::{AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, Occur, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, STORED, STRING,
};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{
    DocAddress, IndexReader, IndexWriter, Order, ReloadPolicy, Searcher, TantivyDocument, Term,
};

use crate::analysis::{analyze, fold_text, Mode, Syllable, VietnameseTokenizer};
use crate::{Doc, Hit, Hits, Query, SearchError, Synonyms};

/// Relative weight of a match in each text field.
const TITLE_WEIGHT: f32 = 3.0;
const KEYWORDS_WEIGHT: f32 = 2.0;
const BODY_WEIGHT: f32 = 1.0;
/// Extra weight, on top of the folded match, when the diacritics typed agree.
const EXACT_BONUS: f32 = 0.5;
/// Weight of an adjacent-syllable match relative to a single syllable.
pub(crate) const BIGRAM_WEIGHT: f32 = 1.5;
/// A typed procedure code outranks any text match.
const ID_WEIGHT: f32 = 50.0;

/// Query text beyond this is ignored; a search box needs far less.
pub(crate) const MAX_QUERY_BYTES: usize = 1000;
/// Distinct syllables per query alternative beyond this are ignored.
pub(crate) const MAX_QUERY_SYLLABLES: usize = 24;

/// Filler words in questions ("tôi muốn làm ... thế nào"): they still add to
/// the score, but are not required to match.
const FILLER: &[&str] = &[
    "tôi", "em", "mình", "chúng", "ta", "bạn", "anh", "chị", "muốn", "cần", "phải", "làm", "thế",
    "nào", "sao", "như", "ở", "tại", "đâu", "gì", "cho", "của", "và", "với", "là", "thì", "có",
    "không", "được", "bị", "ạ", "nhé", "nhỉ", "ơi", "xin", "hỏi", "mà", "này", "đó", "khi", "nếu",
    "để", "thủ", "tục", "cách", "hướng", "dẫn", "giúp", "the", "of", "for", "how", "and", "get",
    "what",
];

/// Writer memory per indexing thread; tantivy's minimum is 15 MB.
const WRITER_MEMORY: usize = 32_000_000;

#[derive(Clone, Copy)]
pub(crate) struct TextFields {
    pub(crate) exact: Field,
    pub(crate) folded: Field,
    pub(crate) bigram: Field,
    pub(crate) weight: f32,
}

impl TextFields {
    fn add(schema: &mut tantivy::schema::SchemaBuilder, name: &str, weight: f32) -> TextFields {
        let mut field = |mode: Mode| {
            let indexing = TextFieldIndexing::default()
                .set_tokenizer(mode.tokenizer_name())
                .set_index_option(IndexRecordOption::WithFreqs);
            let suffix = match mode {
                Mode::Exact => "exact",
                Mode::Folded => "folded",
                Mode::Bigram => "bigram",
            };
            schema.add_text_field(
                &format!("{name}_{suffix}"),
                TextOptions::default().set_indexing_options(indexing),
            )
        };
        TextFields {
            exact: field(Mode::Exact),
            folded: field(Mode::Folded),
            bigram: field(Mode::Bigram),
            weight,
        }
    }

    fn add_value(&self, doc: &mut TantivyDocument, text: &str) {
        for f in [self.exact, self.folded, self.bigram] {
            doc.add_text(f, text);
        }
    }
}

#[derive(Clone, Copy)]
pub(crate) struct Fields {
    pub(crate) id: Field,
    pub(crate) kind: Field,
    /// "key=value" per facet.
    pub(crate) facet: Field,
    /// Folded title, then id: the browse order.
    pub(crate) sort: Field,
    pub(crate) title: TextFields,
    pub(crate) keywords: TextFields,
    pub(crate) body: TextFields,
    /// Every folded syllable of the doc, indexed: document frequencies for
    /// [`Index::ask`].
    pub(crate) all: Field,
    /// Stored, space-separated folded syllables of the titles and keywords,
    /// and of everything: what [`Index::ask`] measures coverage against.
    pub(crate) title_terms: Field,
    pub(crate) all_terms: Field,
    /// Stored adjacent-syllable pairs of the titles and keywords ("khai_sinh").
    pub(crate) title_bigrams: Field,
    /// Stored folded syllables of the Vietnamese title alone.
    pub(crate) name_terms: Field,
}

impl Fields {
    pub(crate) fn text(&self) -> [TextFields; 3] {
        [self.title, self.keywords, self.body]
    }
}

pub(crate) struct Inner {
    pub(crate) reader: IndexReader,
    writer: Mutex<IndexWriter<TantivyDocument>>,
    pub(crate) fields: Fields,
    pub(crate) synonyms: Synonyms,
}

/// An in-RAM index, rebuilt from the database at start; cheap to clone (Arc
/// inside); Send + Sync. Writes are serialized; each one is committed and
/// visible to searches when it returns.
#[derive(Clone)]
pub struct Index {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index").field("len", &self.len()).finish()
    }
}

impl Index {
    /// An empty index whose queries are expanded with `synonyms`.
    pub fn new(synonyms: Synonyms) -> Result<Index, SearchError> {
        let mut schema = Schema::builder();
        let fields = Fields {
            id: schema.add_text_field("id", STRING | STORED),
            kind: schema.add_text_field("kind", STRING | STORED),
            facet: schema.add_text_field("facet", STRING),
            sort: schema.add_text_field("sort", TextOptions::default().set_fast("raw")),
            title: TextFields::add(&mut schema, "title", TITLE_WEIGHT),
            keywords: TextFields::add(&mut schema, "keywords", KEYWORDS_WEIGHT),
            body: TextFields::add(&mut schema, "body", BODY_WEIGHT),
            all: schema.add_text_field(
                "all",
                TextOptions::default().set_indexing_options(
                    TextFieldIndexing::default()
                        .set_tokenizer(Mode::Folded.tokenizer_name())
                        .set_index_option(IndexRecordOption::Basic),
                ),
            ),
            title_terms: schema.add_text_field("title_terms", STORED),
            all_terms: schema.add_text_field("all_terms", STORED),
            title_bigrams: schema.add_text_field("title_bigrams", STORED),
            name_terms: schema.add_text_field("name_terms", STORED),
        };
        let index = tantivy::Index::create_in_ram(schema.build());
        for mode in Mode::ALL {
            index.tokenizers().register(
                mode.tokenizer_name(),
                TextAnalyzer::from(VietnameseTokenizer(mode)),
            );
        }
        let writer = index.writer_with_options(
            tantivy::indexer::IndexWriterOptions::builder()
                .num_worker_threads(1)
                .num_merge_threads(1)
                .memory_budget_per_thread(WRITER_MEMORY)
                .build(),
        )?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Index {
            inner: Arc::new(Inner {
                reader,
                writer: Mutex::new(writer),
                fields,
                synonyms,
            }),
        })
    }

    /// Replaces the whole content with `docs`, in one commit: searches see
    /// either the old content or the new one.
    pub fn replace_all(&self, docs: impl IntoIterator<Item = Doc>) -> Result<(), SearchError> {
        let fields = self.inner.fields;
        let docs = docs
            .into_iter()
            .map(|d| to_tantivy(&fields, d))
            .collect::<Result<Vec<_>, _>>()?;
        self.write(|w| {
            w.delete_all_documents()?;
            for (id, doc) in docs {
                // Later duplicates win, as with upsert.
                w.delete_term(Term::from_field_text(fields.id, &id));
                w.add_document(doc)?;
            }
            Ok(())
        })
    }

    /// Replaces the docs of `kind` with `docs`, in one commit; other kinds are
    /// kept. A doc with an empty kind gets `kind`; another kind is an error.
    pub fn replace_kind(
        &self,
        kind: &str,
        docs: impl IntoIterator<Item = Doc>,
    ) -> Result<(), SearchError> {
        let fields = self.inner.fields;
        let docs = docs
            .into_iter()
            .map(|mut d| {
                if d.kind.is_empty() {
                    d.kind = kind.to_string();
                } else if d.kind != kind {
                    return Err(SearchError::InvalidDoc(format!(
                        "{}: kind {:?} in a replacement of kind {kind:?}",
                        d.id, d.kind
                    )));
                }
                to_tantivy(&fields, d)
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.write(|w| {
            w.delete_term(Term::from_field_text(fields.kind, kind));
            for (id, doc) in docs {
                // Ids are unique across kinds: the new doc replaces any other.
                w.delete_term(Term::from_field_text(fields.id, &id));
                w.add_document(doc)?;
            }
            Ok(())
        })
    }

    /// Adds `doc`, replacing any doc with the same id.
    pub fn upsert(&self, doc: Doc) -> Result<(), SearchError> {
        let fields = self.inner.fields;
        let (id, doc) = to_tantivy(&fields, doc)?;
        self.write(|w| {
            w.delete_term(Term::from_field_text(fields.id, &id));
            w.add_document(doc)?;
            Ok(())
        })
    }

    /// Removes the doc with this id, if any.
    pub fn remove(&self, id: &str) -> Result<(), SearchError> {
        let fields = self.inner.fields;
        self.write(|w| {
            w.delete_term(Term::from_field_text(fields.id, id));
            Ok(())
        })
    }

    /// Number of docs.
    pub fn len(&self) -> usize {
        usize::try_from(self.inner.reader.searcher().num_docs()).unwrap_or(usize::MAX)
    }

    /// Whether the index has no docs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs `q`: `total` counts every matching doc, `hits` is the page
    /// `offset..offset + limit`, best first (or in title order when browsing).
    pub fn search(&self, q: &Query) -> Result<Hits, SearchError> {
        let fields = &self.inner.fields;
        let searcher = self.inner.reader.searcher();
        let filters = || {
            let mut must: Vec<Box<dyn tantivy::query::Query>> = Vec::new();
            if let Some(kind) = q.kind {
                must.push(filter(Term::from_field_text(fields.kind, kind)));
            }
            for (key, value) in &q.filters {
                must.push(filter(Term::from_field_text(
                    fields.facet,
                    &facet_value(key, value),
                )));
            }
            must
        };

        let text = truncate(q.text.trim(), MAX_QUERY_BYTES);
        if text.is_empty() {
            let must = filters();
            let query: Box<dyn tantivy::query::Query> = if must.is_empty() {
                Box::new(AllQuery)
            } else {
                Box::new(BooleanQuery::intersection(must))
            };
            return self.browse(&searcher, query.as_ref(), q);
        }

        // Every content syllable first; only if that finds nothing, a share.
        let mut hits = Hits::default();
        for strictness in [Strictness::All, Strictness::Share] {
            let Some((matcher, relaxable)) = self.text_query(text, strictness) else {
                break;
            };
            let mut must = filters();
            must.push(matcher);
            hits = self.ranked(&searcher, &BooleanQuery::intersection(must), q)?;
            if hits.total > 0 || !relaxable {
                break;
            }
        }
        Ok(hits)
    }

    fn ranked(
        &self,
        searcher: &Searcher,
        query: &dyn tantivy::query::Query,
        q: &Query,
    ) -> Result<Hits, SearchError> {
        let Some(range) = page(searcher, q) else {
            let total = searcher.search(query, &Count)?;
            return Ok(Hits {
                total,
                hits: Vec::new(),
            });
        };
        let (total, top) = searcher.search(
            query,
            &(Count, TopDocs::for_doc_range(range).order_by_score()),
        )?;
        let hits = top
            .into_iter()
            .map(|(score, addr)| {
                Ok(Hit {
                    id: self.id_of(searcher, addr)?,
                    score,
                })
            })
            .collect::<Result<_, SearchError>>()?;
        Ok(Hits { total, hits })
    }

    fn browse(
        &self,
        searcher: &Searcher,
        query: &dyn tantivy::query::Query,
        q: &Query,
    ) -> Result<Hits, SearchError> {
        let Some(range) = page(searcher, q) else {
            let total = searcher.search(query, &Count)?;
            return Ok(Hits {
                total,
                hits: Vec::new(),
            });
        };
        let (total, top) = searcher.search(
            query,
            &(
                Count,
                TopDocs::for_doc_range(range).order_by_string_fast_field("sort", Order::Asc),
            ),
        )?;
        let hits = top
            .into_iter()
            .map(|(_, addr)| {
                Ok(Hit {
                    id: self.id_of(searcher, addr)?,
                    score: 0.0,
                })
            })
            .collect::<Result<_, SearchError>>()?;
        Ok(Hits { total, hits })
    }

    fn id_of(&self, searcher: &Searcher, addr: DocAddress) -> Result<String, SearchError> {
        let doc: TantivyDocument = searcher.doc(addr)?;
        Ok(doc
            .get_first(self.inner.fields.id)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string())
    }

    /// The text part of a search: the text as typed OR any synonym expansion
    /// (each with its own required syllables, so an expansion does not
    /// dilute the original), OR the text as a doc id. Also tells whether
    /// [`Strictness::Share`] would require less than `strictness` does.
    fn text_query(
        &self,
        text: &str,
        strictness: Strictness,
    ) -> Option<(Box<dyn tantivy::query::Query>, bool)> {
        let fields = &self.inner.fields;
        let typed = analyze(text);
        if typed.is_empty() {
            // No word at all ("(((", "*", emoji): nothing to match.
            return None;
        }
        let mut alternatives: Vec<Box<dyn tantivy::query::Query>> = Vec::new();
        if !text.contains(char::is_whitespace) {
            alternatives.push(Box::new(BoostQuery::new(
                Box::new(TermQuery::new(
                    Term::from_field_text(fields.id, text),
                    IndexRecordOption::Basic,
                )),
                ID_WEIGHT,
            )));
        }
        let mut relaxable = false;
        let expansions = self.inner.synonyms.expansions(text);
        let expanded = expansions.iter().map(|alt| analyze(alt));
        for sylls in std::iter::once(typed.clone()).chain(expanded) {
            if let Some((query, r)) = syllables_query(fields, &sylls, strictness) {
                alternatives.push(query);
                relaxable |= r;
            }
        }
        Some((Box::new(BooleanQuery::union(alternatives)), relaxable))
    }

    /// Runs `f` on the writer, then commits and reloads the reader; on error
    /// nothing of `f` is kept.
    fn write(
        &self,
        f: impl FnOnce(&IndexWriter<TantivyDocument>) -> Result<(), SearchError>,
    ) -> Result<(), SearchError> {
        let mut w = self.lock_writer()?;
        let result = f(&w).and_then(|()| w.commit().map(drop).map_err(SearchError::from));
        if let Err(e) = result {
            w.rollback()?;
            return Err(e);
        }
        self.inner.reader.reload()?;
        Ok(())
    }

    fn lock_writer(&self) -> Result<MutexGuard<'_, IndexWriter<TantivyDocument>>, SearchError> {
        match self.inner.writer.lock() {
            Ok(w) => Ok(w),
            Err(poisoned) => {
                // A write panicked half-way: drop what it left uncommitted.
                let mut w = poisoned.into_inner();
                w.rollback()?;
                self.inner.writer.clear_poison();
                Ok(w)
            }
        }
    }
}

fn to_tantivy(fields: &Fields, d: Doc) -> Result<(String, TantivyDocument), SearchError> {
    let id = d.id.trim();
    if id.is_empty() {
        return Err(SearchError::InvalidDoc(format!(
            "empty id (title {:?})",
            d.title_vi
        )));
    }
    let mut doc = TantivyDocument::new();
    doc.add_text(fields.id, id);
    doc.add_text(fields.kind, &d.kind);
    for (key, value) in &d.facets {
        doc.add_text(fields.facet, facet_value(key, value));
    }
    // "\u{1f}" sorts below any printable character, so "An" < "An Giang".
    let sort_key = format!("{}\u{1f}{id}", fold_text(d.title_vi.trim()));
    doc.add_text(fields.sort, sort_key);
    for title in [&d.title_vi, &d.title_en] {
        if !title.trim().is_empty() {
            fields.title.add_value(&mut doc, title);
        }
    }
    for keyword in &d.keywords {
        fields.keywords.add_value(&mut doc, keyword);
    }
    fields.body.add_value(&mut doc, &d.body);
    let mut title_text = format!("{} \n {}", d.title_vi, d.title_en);
    for keyword in &d.keywords {
        title_text.push_str(" \n ");
        title_text.push_str(keyword);
    }
    let all_text = format!("{title_text} \n {}", d.body);
    doc.add_text(fields.all, &all_text);
    doc.add_text(fields.title_terms, crate::ask::term_set(&title_text));
    doc.add_text(fields.all_terms, crate::ask::term_set(&all_text));
    let phrases = [&d.title_vi, &d.title_en].into_iter().chain(&d.keywords);
    doc.add_text(fields.title_bigrams, crate::ask::bigram_set(phrases));
    doc.add_text(fields.name_terms, crate::ask::term_set(&d.title_vi));
    Ok((id.to_string(), doc))
}

fn facet_value(key: &str, value: &str) -> String {
    format!("{key}={value}")
}

/// A filter clause: restricts, never changes the score.
fn filter(term: Term) -> Box<dyn tantivy::query::Query> {
    Box::new(ConstScoreQuery::new(
        Box::new(TermQuery::new(term, IndexRecordOption::Basic)),
        0.0,
    ))
}

/// The doc range to collect, clamped to the index size (tantivy allocates
/// for the whole range); `None` when the page is empty.
fn page(searcher: &Searcher, q: &Query) -> Option<std::ops::Range<usize>> {
    let num_docs = usize::try_from(searcher.num_docs()).unwrap_or(usize::MAX);
    let end = q.offset.saturating_add(q.limit).min(num_docs);
    (q.offset < end).then_some(q.offset..end)
}

pub(crate) fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// How many of a query's content syllables must match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Strictness {
    /// All of them: "đăng ký khai sinh" must not match every doc that says
    /// "đăng ký" and "tờ khai".
    All,
    /// The share given by [`required`], for when `All` finds nothing (a typo,
    /// an extra word).
    Share,
}

/// How many of `n` content syllables must match under [`Strictness::Share`]:
/// all of one or two, then all but one, then three in five.
fn required(n: usize) -> usize {
    match n {
        0..=2 => n,
        3 | 4 => n - 1,
        _ => (n * 3).div_ceil(5),
    }
}

pub(crate) fn is_filler(s: &Syllable) -> bool {
    static FILLER_SYLLABLES: LazyLock<Vec<Syllable>> =
        LazyLock::new(|| FILLER.iter().flat_map(|f| analyze(f)).collect());
    // One way only: typed "anh" may be the filler "anh", but typed "ảnh"
    // (photo) is not.
    FILLER_SYLLABLES
        .iter()
        .any(|f| s.exact == f.exact || (!s.has_diacritics() && s.folded == f.folded))
}

/// Query for one alternative: its content syllables must match (all or a
/// share, in any text field, folded); fillers, exact diacritics and adjacent
/// pairs add to the score. Also tells whether the share is less than all.
fn syllables_query(
    fields: &Fields,
    sylls: &[Syllable],
    strictness: Strictness,
) -> Option<(Box<dyn tantivy::query::Query>, bool)> {
    let mut unique: Vec<&Syllable> = Vec::new();
    for s in sylls {
        if !unique.iter().any(|u| u.folded == s.folded) {
            unique.push(s);
        }
    }
    unique.truncate(MAX_QUERY_SYLLABLES);
    if unique.is_empty() {
        return None;
    }
    let all_filler = unique.iter().all(|s| is_filler(s));
    let mut content: Vec<Box<dyn tantivy::query::Query>> = Vec::new();
    let mut optional: Vec<(Occur, Box<dyn tantivy::query::Query>)> = Vec::new();
    for s in &unique {
        let clause = syllable_clause(fields, s);
        if !all_filler && is_filler(s) {
            optional.push((Occur::Should, clause));
        } else {
            content.push(clause);
        }
    }
    let mut seen_bigrams: Vec<String> = Vec::new();
    for w in sylls.windows(2).filter(|w| w[1].joined) {
        let bigram = w[0].bigram(&w[1]);
        if seen_bigrams.contains(&bigram) || seen_bigrams.len() >= MAX_QUERY_SYLLABLES {
            continue;
        }
        let clauses = fields
            .text()
            .iter()
            .map(|tf| {
                term(
                    Term::from_field_text(tf.bigram, &bigram),
                    tf.weight * BIGRAM_WEIGHT,
                )
            })
            .collect();
        optional.push((Occur::Should, Box::new(BooleanQuery::union(clauses))));
        seen_bigrams.push(bigram);
    }
    let share = required(content.len());
    let need = match strictness {
        Strictness::All => content.len(),
        Strictness::Share => share,
    };
    let relaxable = share < content.len();
    let mut clauses = vec![(
        Occur::Must,
        Box::new(BooleanQuery::union_with_minimum_required_clauses(
            content, need,
        )) as Box<dyn tantivy::query::Query>,
    )];
    clauses.extend(optional);
    Some((
        Box::new(BooleanQuery::with_minimum_required_clauses(clauses, 0)),
        relaxable,
    ))
}

/// One syllable in any text field; the exact form only counts when the user
/// typed diacritics (otherwise it would favour docs written without them).
pub(crate) fn syllable_clause(fields: &Fields, s: &Syllable) -> Box<dyn tantivy::query::Query> {
    let mut clauses = Vec::new();
    for tf in fields.text() {
        clauses.push(term(Term::from_field_text(tf.folded, &s.folded), tf.weight));
        if s.has_diacritics() {
            clauses.push(term(
                Term::from_field_text(tf.exact, &s.exact),
                tf.weight * EXACT_BONUS,
            ));
        }
    }
    Box::new(BooleanQuery::union(clauses))
}

pub(crate) fn term(t: Term, boost: f32) -> Box<dyn tantivy::query::Query> {
    Box::new(BoostQuery::new(
        Box::new(TermQuery::new(t, IndexRecordOption::WithFreqs)),
        boost,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_share() {
        assert_eq!(
            (0..=10).map(required).collect::<Vec<_>>(),
            [0, 1, 2, 2, 3, 3, 4, 5, 5, 6, 6]
        );
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("đăng", 2), "đ");
        assert_eq!(truncate("đăng", 1), "");
        assert_eq!(truncate("abc", 10), "abc");
    }

    #[test]
    fn index_is_send_sync() {
        fn check<T: Send + Sync + Clone>() {}
        check::<Index>();
    }
}
