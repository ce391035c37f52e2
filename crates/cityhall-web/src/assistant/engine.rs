//! What a question is about, decided from its wording (`cityhall_core::assistant`) and
//! from retrieval over the procedures and the feedback categories (`cityhall_search`).
//! No database: the evaluation set runs against this alone.

use std::sync::RwLock;

use cityhall_core::assistant::{cues, mentions, Confidence, Evidence, Topic};
use cityhall_core::catalog::{Field, Procedure};
use cityhall_core::feedback::CategoriesFile;
use cityhall_search::{AskTuning, Asked, Doc, Index, Synonyms};

/// The catalog's synonym list, shared with the procedure search.
const CATALOG_SYNONYMS: &str = include_str!("../../../../data/synonyms-vi.json");
/// The assistant's own phrasings: life situations and everyday words.
const ASSISTANT_SYNONYMS: &str = include_str!("../../../../data/assistant-vi.json");

/// What the conversation is about so far (kept in the session).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    /// The procedure last answered about.
    pub procedure: Option<String>,
}

/// What to answer.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// Describe a procedure; `topics` say what was asked (empty: everything);
    /// `follow_up` when the procedure came from the conversation, not the question.
    Procedure {
        code: String,
        topics: Vec<Topic>,
        follow_up: bool,
    },
    /// Start a report in this feedback category.
    Report {
        category: String,
    },
    DossierStatus {
        code: String,
    },
    ReportStatus {
        code: String,
    },
    /// "Where is my dossier?" without a code.
    MyRecords,
    Greeting,
    Thanks,
    /// Not something the assistant can answer from its data.
    OutOfScope,
}

impl Decision {
    /// The stable intent name of the API.
    pub fn intent(&self) -> &'static str {
        match self {
            Decision::Procedure {
                follow_up: true, ..
            } => "follow_up",
            Decision::Procedure { .. } => "procedure",
            Decision::Report { .. } => "report_problem",
            Decision::DossierStatus { .. } => "dossier_status",
            Decision::ReportStatus { .. } => "report_status",
            Decision::MyRecords => "my_records",
            Decision::Greeting => "greeting",
            Decision::Thanks => "thanks",
            Decision::OutOfScope => "out_of_scope",
        }
    }
}

/// Subjects of procedures the catalog does not hold (see `data/assistant-vi.json`).
#[derive(serde::Deserialize, Clone, Debug)]
struct NotInCatalog {
    phrases: Vec<String>,
    #[serde(default)]
    unless: Vec<String>,
}

#[derive(serde::Deserialize)]
struct PhraseFile {
    #[serde(default)]
    not_in_catalog: Vec<NotInCatalog>,
    #[serde(default)]
    containers: Vec<String>,
}

/// A question read and retrieved, before the thresholds decide.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub cues: cityhall_core::assistant::Cues,
    pub hits: Vec<Asked>,
    pub absent_subject: bool,
}

/// The assistant's index and its tuning.
pub struct Engine {
    index: Index,
    not_in_catalog: Vec<NotInCatalog>,
    /// Procedures about any paper (copies, signatures): their phrases lift the above.
    containers: Vec<String>,
    pub tuning: AskTuning,
    pub confidence: Confidence,
    /// The catalog stamp the index was built from.
    stamp: RwLock<Option<i64>>,
}

impl Engine {
    pub fn new() -> anyhow::Result<Engine> {
        let synonyms =
            Synonyms::from_json(CATALOG_SYNONYMS)?.merge(Synonyms::from_json(ASSISTANT_SYNONYMS)?);
        let phrases: PhraseFile = serde_json::from_str(ASSISTANT_SYNONYMS)?;
        Ok(Engine {
            index: Index::new(synonyms)?,
            not_in_catalog: phrases.not_in_catalog,
            containers: phrases.containers,
            tuning: AskTuning::default(),
            confidence: Confidence::default(),
            stamp: RwLock::new(None),
        })
    }

    /// Rebuilds the index from the procedures in force and the categories, unless it
    /// was already built from catalog `stamp`.
    pub fn reindex<'a>(
        &self,
        stamp: i64,
        procedures: impl IntoIterator<Item = &'a Procedure>,
        fields: &[Field],
        categories: &CategoriesFile,
    ) -> anyhow::Result<()> {
        if self.stamp.read().is_ok_and(|s| *s == Some(stamp)) {
            return Ok(());
        }
        let mut docs: Vec<Doc> = procedures
            .into_iter()
            .map(|p| procedure_doc(p, fields))
            .collect();
        docs.extend(categories.groups.iter().flat_map(|g| {
            g.categories.iter().map(move |c| Doc {
                id: format!("category:{}", c.code),
                kind: "category".into(),
                title_vi: c.name.vi.clone(),
                title_en: c.name.en.clone(),
                body: format!(
                    "{} \n {} \n {} \n {}",
                    c.description.vi, c.description.en, g.name.vi, g.name.en
                ),
                keywords: c.keywords.clone(),
                facets: Vec::new(),
            })
        }));
        self.index.replace_all(docs)?;
        if let Ok(mut s) = self.stamp.write() {
            *s = Some(stamp);
        }
        Ok(())
    }

    /// The ranked candidates for a question's subject (for evaluation and tuning).
    pub fn candidates(&self, subject: &str, limit: usize) -> Vec<Asked> {
        self.index
            .ask(subject, &self.tuning, limit)
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "assistant retrieval");
                Vec::new()
            })
    }

    /// Decides what `question` asks, in the conversation `context`.
    pub fn decide(&self, question: &str, context: &Context) -> Decision {
        self.decide_prepared(&self.prepare(question), context, &self.confidence)
    }

    /// The part of a decision that does not depend on the thresholds: the cues, the
    /// two best candidates, and whether the question names an absent subject.
    pub fn prepare(&self, question: &str) -> Prepared {
        let cues = cues(question);
        let retrieve = cues.dossier_codes.is_empty()
            && cues.report_codes.is_empty()
            && !cues.greeting
            && !cues.thanks
            && !cues.status;
        let hits = if retrieve {
            self.candidates(&cues.subject, 2)
        } else {
            Vec::new()
        };
        Prepared {
            absent_subject: self.names_absent_subject(question),
            cues,
            hits,
        }
    }

    /// Decides from a prepared question with the given thresholds.
    pub fn decide_prepared(
        &self,
        prepared: &Prepared,
        context: &Context,
        confidence: &Confidence,
    ) -> Decision {
        let c = &prepared.cues;
        if let Some(code) = c.dossier_codes.first() {
            return Decision::DossierStatus { code: code.clone() };
        }
        if let Some(code) = c.report_codes.first() {
            return Decision::ReportStatus { code: code.clone() };
        }
        if c.greeting {
            return Decision::Greeting;
        }
        if c.thanks {
            return Decision::Thanks;
        }
        if c.status {
            return Decision::MyRecords;
        }
        let hits = &prepared.hits;
        let best = hits.first().filter(|b| {
            confidence.accepts(&Evidence {
                coverage: b.coverage,
                title_coverage: b.title_coverage,
                anchor: b.anchor,
                margin: b.rank - hits.get(1).map_or(0.0, |r| r.rank),
            })
        });
        if let (false, Some(current)) = (c.topics.is_empty(), &context.procedure) {
            // "Lệ phí bao nhiêu?" after a procedure: about that one, unless the question
            // clearly names another.
            let names_another = best.is_some_and(|b| b.kind == "procedure" && &b.id != current);
            if !names_another {
                return Decision::Procedure {
                    code: current.clone(),
                    topics: c.topics.clone(),
                    follow_up: true,
                };
            }
        }
        match best {
            Some(b) if b.kind == "procedure" && prepared.absent_subject => Decision::OutOfScope,
            Some(b) if b.kind == "procedure" => Decision::Procedure {
                code: b.id.clone(),
                topics: c.topics.clone(),
                follow_up: false,
            },
            Some(b) => Decision::Report {
                category: b.id.trim_start_matches("category:").to_string(),
            },
            None => Decision::OutOfScope,
        }
    }
}

impl Engine {
    /// Whether the question names a subject the catalog has no procedure for (a car's
    /// registration, a limited company...): then a near procedure would be a guess.
    fn names_absent_subject(&self, question: &str) -> bool {
        if self.containers.iter().any(|c| mentions(question, c)) {
            return false;
        }
        self.not_in_catalog.iter().any(|n| {
            n.phrases.iter().any(|p| mentions(question, p))
                && !n.unless.iter().any(|u| mentions(question, u))
        })
    }
}

fn procedure_doc(p: &Procedure, fields: &[Field]) -> Doc {
    let mut body = p.search_body();
    for t in [&p.applicants, &p.conditions].into_iter().flatten() {
        body.push_str(" \n ");
        body.push_str(&t.vi);
    }
    if let Some(f) = fields.iter().find(|f| f.code == p.field) {
        body.push_str(&format!(" \n {} {}", f.name.vi, f.name.en));
    }
    Doc {
        id: p.code.as_str().to_string(),
        kind: "procedure".into(),
        title_vi: p.name.vi.clone(),
        title_en: p.name.en.clone(),
        body,
        keywords: Vec::new(),
        facets: Vec::new(),
    }
}
