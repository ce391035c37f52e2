//! Full-text search for cityhall: in-RAM tantivy indexes over procedures
//! (and later feedback categories and help articles), with a Vietnamese
//! analyzer that matches with or without diacritics, ranks whole words
//! ("khai sinh") above scattered syllables, and expands everyday phrasings
//! and abbreviations through a [`Synonyms`] table.
//!
//! The index is rebuilt from the database at start and kept current with
//! [`Index::upsert`], [`Index::remove`] and [`Index::replace_kind`]; it is not
//! a source of truth.

mod analysis;
mod ask;
mod index;
mod synonyms;

pub use analysis::syllables;
pub use ask::{AskTuning, Asked};
pub use index::Index;
pub use synonyms::Synonyms;

/// One searchable thing: a procedure now; feedback categories and help
/// articles later.
#[derive(Clone, Debug, Default)]
pub struct Doc {
    /// Unique key across all kinds, e.g. procedure code "1.001193".
    pub id: String,
    /// "procedure", "category", ...
    pub kind: String,
    pub title_vi: String,
    pub title_en: String,
    /// Everything else worth matching (documents, result, field name,
    /// steps), Vietnamese and English mixed.
    pub body: String,
    /// Extra terms (abbreviations etc.).
    pub keywords: Vec<String>,
    /// Exact-match filters, e.g. ("field","ho-tich"), ("level","commune").
    pub facets: Vec<(String, String)>,
}

/// A search request.
#[derive(Clone, Debug, Default)]
pub struct Query<'a> {
    /// User text. Blank text browses: every doc matching the filters,
    /// ordered by folded `title_vi`, then id.
    pub text: &'a str,
    /// Only docs of this kind.
    pub kind: Option<&'a str>,
    /// AND of facet equals.
    pub filters: Vec<(&'a str, &'a str)>,
    pub offset: usize,
    /// Page size; 0 only counts.
    pub limit: usize,
}

/// One result.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub id: String,
    /// Relevance; 0 when browsing.
    pub score: f32,
}

/// A page of results.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Hits {
    /// Number of all matching docs.
    pub total: usize,
    /// The requested page.
    pub hits: Vec<Hit>,
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("synonyms: {0}")]
    Synonyms(String),
    #[error("invalid document: {0}")]
    InvalidDoc(String),
}
