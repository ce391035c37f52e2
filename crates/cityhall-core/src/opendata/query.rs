//! Parameters of the CKAN Action API (`package_search`, `datastore_search`), parsed at the
//! edge: CKAN's loose booleans and integers, list parameters that arrive as JSON, as JSON in a
//! string or as a bare name, the Solr-like `q`/`fq` syntax that CKAN users write, and the sort
//! orders. The server does its own matching on what comes out of here; this module only says
//! what was asked, or exactly what is wrong with the asking.

use serde_json::Value;

/// A parameter that cannot be understood. CKAN returns the message as a "Search Query Error"
/// (for `q`, `fq`, `sort`) or as the field's entry in a "Validation Error".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct QueryError {
    /// The parameter at fault: `q`, `fq`, `sort`, `filters`, `records_format`, …
    pub field: &'static str,
    /// What is wrong and where, in English.
    pub message: String,
}

impl QueryError {
    /// An error about parameter `field`.
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        QueryError {
            field,
            message: message.into(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Scalars and lists
// ---------------------------------------------------------------------------------------------

/// A boolean as CKAN's `asbool` reads it: JSON `true`/`false`, the numbers 1 and 0, and the
/// strings true/false, yes/no, on/off, y/n, t/f, 1/0 in any case. Anything else is `None`.
pub fn parse_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_i64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "y" | "t" | "1" => Some(true),
            "false" | "no" | "off" | "n" | "f" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// An integer: a JSON integer (or a float with no fractional part, as some clients send
/// `10.0`), or a string holding a decimal integer with an optional sign.
pub fn parse_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            let f = n.as_f64()?;
            // The range check keeps the cast exact.
            (f.fract() == 0.0 && (-9.0e15..=9.0e15).contains(&f)).then_some(f as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A list of names, for `facet.field` and `fields`: a JSON list of strings, a string holding a
/// JSON list (`'["tags","organization"]'`), a comma-separated string (`"a,b"`) or a bare name
/// (`tags`, which is how ckanapi's GET mode sends a one-item list). An empty string is an empty
/// list; anything else (a number, a list holding a non-string, broken JSON) is `None`.
pub fn parse_str_list(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(|s| s.trim().to_string()))
            .collect(),
        Value::String(s) => {
            let s = s.trim();
            if s.starts_with('[') {
                let parsed: Value = serde_json::from_str(s).ok()?;
                match parsed {
                    Value::Array(_) => parse_str_list(&parsed),
                    _ => None,
                }
            } else {
                Some(
                    s.split(',')
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .map(str::to_string)
                        .collect(),
                )
            }
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// package_search: q and fq
// ---------------------------------------------------------------------------------------------

/// A field of the dataset index that `q` and `fq` clauses may name (CKAN's Solr schema).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SearchField {
    /// `organization`: the owning organization's name.
    Organization,
    /// `owner_org`: the owning organization's id.
    OwnerOrg,
    /// `groups`: names of the groups the dataset belongs to.
    Groups,
    /// `tags`: tag names.
    Tags,
    /// `res_format`: formats of the dataset's resources.
    ResFormat,
    /// `license_id`.
    LicenseId,
    /// `name`: the dataset's URL name.
    Name,
    /// `id`: the dataset's id.
    Id,
    /// `title`.
    Title,
    /// `notes`: the description.
    Notes,
    /// `text`: all the dataset's text (what free text searches).
    Text,
    /// `state`: active, draft or deleted.
    State,
    /// `dataset_type` (also written `type`): `dataset` for ordinary datasets.
    DatasetType,
    /// `capacity`: `public` or `private`.
    Capacity,
    /// `metadata_modified`: a date, matched exactly or by range.
    MetadataModified,
    /// `metadata_created`: a date, matched exactly or by range.
    MetadataCreated,
    /// `num_resources`: an integer, matched exactly or by range.
    NumResources,
    /// `num_tags`: an integer, matched exactly or by range.
    NumTags,
}

impl SearchField {
    /// Every field, in the order the error message lists them.
    pub const ALL: [SearchField; 18] = [
        SearchField::Organization,
        SearchField::OwnerOrg,
        SearchField::Groups,
        SearchField::Tags,
        SearchField::ResFormat,
        SearchField::LicenseId,
        SearchField::Name,
        SearchField::Id,
        SearchField::Title,
        SearchField::Notes,
        SearchField::Text,
        SearchField::State,
        SearchField::DatasetType,
        SearchField::Capacity,
        SearchField::MetadataModified,
        SearchField::MetadataCreated,
        SearchField::NumResources,
        SearchField::NumTags,
    ];

    /// The field's name in the index.
    pub fn as_str(self) -> &'static str {
        match self {
            SearchField::Organization => "organization",
            SearchField::OwnerOrg => "owner_org",
            SearchField::Groups => "groups",
            SearchField::Tags => "tags",
            SearchField::ResFormat => "res_format",
            SearchField::LicenseId => "license_id",
            SearchField::Name => "name",
            SearchField::Id => "id",
            SearchField::Title => "title",
            SearchField::Notes => "notes",
            SearchField::Text => "text",
            SearchField::State => "state",
            SearchField::DatasetType => "dataset_type",
            SearchField::Capacity => "capacity",
            SearchField::MetadataModified => "metadata_modified",
            SearchField::MetadataCreated => "metadata_created",
            SearchField::NumResources => "num_resources",
            SearchField::NumTags => "num_tags",
        }
    }

    /// The field with this name (`type` is accepted for `dataset_type`).
    pub fn parse(name: &str) -> Option<SearchField> {
        if name == "type" {
            return Some(SearchField::DatasetType);
        }
        SearchField::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// What a range on this field compares, if the field takes ranges.
    fn range_kind(self) -> Option<RangeKind> {
        match self {
            SearchField::MetadataModified | SearchField::MetadataCreated => Some(RangeKind::Date),
            SearchField::NumResources | SearchField::NumTags => Some(RangeKind::Integer),
            _ => None,
        }
    }

    fn known_list() -> String {
        SearchField::ALL.map(SearchField::as_str).join(", ")
    }
}

impl std::fmt::Display for SearchField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeKind {
    Date,
    Integer,
}

/// A range `[from TO to]` (inclusive) or `{from TO to}` (exclusive); `*` leaves a side open.
/// Dates stay as written (`2024-01-01T00:00:00Z`, `2024-01-01`, or Solr date math such as
/// `NOW-7DAYS`, which the server resolves against its clock); integers are checked to be integers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    /// The lower bound, `None` for `*`.
    pub from: Option<String>,
    /// The upper bound, `None` for `*`.
    pub to: Option<String>,
    /// `[` (true) or `{` (false).
    pub from_inclusive: bool,
    /// `]` (true) or `}` (false).
    pub to_inclusive: bool,
}

/// What a clause asks of its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Values {
    /// Any of these values (one for `tags:a`, several for `tags:(a OR b)`), unescaped. A
    /// value is matched as written: `*` or `?` inside it are not wildcards.
    AnyOf(Vec<String>),
    /// A range (`metadata_modified:[2024-01-01T00:00:00Z TO *]`).
    Range(Range),
    /// `field:*`: the field has some value.
    Exists,
}

/// One condition on one field; all clauses of a search must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// The field.
    pub field: SearchField,
    /// What the field must (or, negated, must not) match.
    pub values: Values,
    /// `-field:v`, `!field:v` or `NOT field:v`.
    pub negate: bool,
}

/// A `package_search` query: the free text of `q` and the clauses of `q` and `fq`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchSpec {
    /// The free text left in `q` after its field clauses (and `AND`s) are taken out, as
    /// written, words separated by one space; `""` for `*:*` or an empty `q`. Phrases keep
    /// their quotes, and `OR`, `NOT` and `-` between free words are kept for the matcher.
    pub text: String,
    /// Field clauses from `q`, then from `fq`. A bare word or phrase in `fq` is a clause on
    /// [`SearchField::Text`], as Solr reads it.
    pub clauses: Vec<Clause>,
}

/// Parses `q` (default `*:*`) and `fq` (may be absent or empty) of `package_search`.
///
/// Supported: `*:*`; `field:value`, `field:"quoted value"`, `field:(a OR b)`,
/// `field:("a b" OR c)`, `field:*`, ranges `field:[from TO to]`/`{from TO to}`; `+`, `-`, `!`
/// and `NOT` before a clause; clauses joined by spaces, `AND`/`&&`, or `OR`/`||` between
/// alternatives of the same field (`tags:a OR tags:b`); backslash escapes (`tags:a\:b`).
/// Not supported, each with a precise error: parentheses around whole clauses, `AND` or
/// negation inside `field:(…)`, `OR` between different fields.
pub fn parse_search(q: Option<&str>, fq: Option<&str>) -> Result<SearchSpec, QueryError> {
    let q = Parsed::parse(q.unwrap_or("*:*"), "q")?;
    let fq = Parsed::parse(fq.unwrap_or(""), "fq")?;
    let mut clauses = q.clauses;
    clauses.extend(fq.clauses);
    Ok(SearchSpec {
        text: q.text,
        clauses,
    })
}

/// One unit of a query before `OR`s are resolved.
#[derive(Debug)]
enum Item {
    /// `*:*`.
    MatchAll,
    /// Free text as written (q) — in fq it is turned into a clause right away.
    Text(String),
    Clause(Clause),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conn {
    Implicit,
    And,
    Or,
}

struct Parsed {
    text: String,
    clauses: Vec<Clause>,
}

impl Parsed {
    fn parse(input: &str, param: &'static str) -> Result<Parsed, QueryError> {
        let mut p = SyntaxParser {
            chars: input.chars().collect(),
            pos: 0,
            param,
        };
        let items = p.items()?;
        // Group the items joined by OR; each group becomes text, one clause, or nothing.
        let mut groups: Vec<Vec<(Item, usize)>> = Vec::new();
        for (conn, item, at) in items {
            match (conn, groups.last_mut()) {
                (Conn::Or, Some(group)) => group.push((item, at)),
                _ => groups.push(vec![(item, at)]),
            }
        }
        let mut text: Vec<String> = Vec::new();
        let mut clauses = Vec::new();
        for group in groups {
            if group.iter().any(|(i, _)| matches!(i, Item::MatchAll)) {
                continue; // anything OR everything is everything
            }
            if group.len() == 1 {
                match group.into_iter().next().map(|(i, _)| i) {
                    Some(Item::Text(t)) => text.push(t),
                    Some(Item::Clause(c)) => clauses.push(c),
                    _ => {}
                }
                continue;
            }
            if group.iter().all(|(i, _)| matches!(i, Item::Text(_))) {
                let words: Vec<String> = group
                    .into_iter()
                    .filter_map(|(i, _)| match i {
                        Item::Text(t) => Some(t),
                        _ => None,
                    })
                    .collect();
                text.push(words.join(" OR "));
                continue;
            }
            clauses.push(p.merge_or(group)?);
        }
        Ok(Parsed {
            text: text.join(" "),
            clauses,
        })
    }
}

/// A recursive-descent reader of the Solr-like syntax over characters (positions in error
/// messages count characters from 1, so they are right for Vietnamese text too).
struct SyntaxParser {
    chars: Vec<char>,
    pos: usize,
    param: &'static str,
}

impl SyntaxParser {
    fn err_at(&self, at: usize, message: impl std::fmt::Display) -> QueryError {
        QueryError::new(
            self.param,
            format!("{message} at character {} of {}", at + 1, self.param),
        )
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// Whether a keyword (`AND`, `OR`, `NOT`, `&&`, `||`) starts here and ends at a boundary.
    fn at_keyword(&self, kw: &str) -> bool {
        let n = kw.chars().count();
        if self.pos + n > self.chars.len() {
            return false;
        }
        if !self.chars[self.pos..self.pos + n]
            .iter()
            .copied()
            .eq(kw.chars())
        {
            return false;
        }
        match self.chars.get(self.pos + n) {
            None => true,
            Some(c) => c.is_whitespace() || matches!(c, '(' | ')' | '"'),
        }
    }

    fn connector(&self) -> Option<(Conn, &'static str, usize)> {
        for (kw, conn) in [
            ("AND", Conn::And),
            ("&&", Conn::And),
            ("OR", Conn::Or),
            ("||", Conn::Or),
        ] {
            if self.at_keyword(kw) {
                return Some((conn, kw, kw.len()));
            }
        }
        None
    }

    /// The whole input: units joined by connectors.
    fn items(&mut self) -> Result<Vec<(Conn, Item, usize)>, QueryError> {
        let mut items = Vec::new();
        let mut pending: Option<(Conn, &'static str, usize)> = None;
        loop {
            self.skip_ws();
            if self.at_end() {
                break;
            }
            if let Some((conn, kw, len)) = self.connector() {
                if items.is_empty() || pending.is_some() {
                    return Err(self.err_at(self.pos, format!("dangling {kw}")));
                }
                pending = Some((conn, kw, self.pos));
                self.pos += len;
                continue;
            }
            let start = self.pos;
            let item = self.unit()?;
            let conn = pending.take().map_or(Conn::Implicit, |(c, _, _)| c);
            items.push((conn, item, start));
        }
        if let Some((_, kw, at)) = pending {
            return Err(self.err_at(at, format!("dangling {kw} (nothing follows it)")));
        }
        Ok(items)
    }

    /// One clause or free word, with its prefix.
    fn unit(&mut self) -> Result<Item, QueryError> {
        let start = self.pos;
        let mut negate = false;
        if self.at_keyword("NOT") {
            negate = true;
            self.pos += 3;
            self.skip_ws();
            if self.at_end() || self.connector().is_some() {
                return Err(self.err_at(start, "NOT with nothing after it"));
            }
        } else if let Some(c @ ('-' | '!' | '+')) = self.peek() {
            negate = c != '+';
            self.pos += 1;
            if self.peek().is_none_or(char::is_whitespace) {
                return Err(self.err_at(start, format!("'{c}' with nothing after it")));
            }
        }
        let item = match self.peek() {
            Some('(') => {
                return Err(self.err_at(
                    self.pos,
                    "parentheses are only supported after a field name, as in tags:(a OR b)",
                ))
            }
            Some(')') => return Err(self.err_at(self.pos, "unbalanced parenthesis")),
            Some('"') => {
                let (value, _) = self.phrase()?;
                self.text_item(start, value, negate)?
            }
            _ => self.word_or_clause(start, negate)?,
        };
        self.expect_boundary()?;
        Ok(item)
    }

    /// After a unit: whitespace or the end.
    fn expect_boundary(&self) -> Result<(), QueryError> {
        match self.peek() {
            None => Ok(()),
            Some(c) if c.is_whitespace() => Ok(()),
            Some(')') => Err(self.err_at(self.pos, "unbalanced parenthesis")),
            Some(c) => Err(self.err_at(
                self.pos,
                format!("unexpected '{c}' (put a space before it, or escape it as \\{c})"),
            )),
        }
    }

    /// Free text: kept as written in q, a `text` clause in fq.
    fn text_item(&self, start: usize, value: String, negate: bool) -> Result<Item, QueryError> {
        if self.param == "fq" {
            if value.is_empty() {
                return Err(self.err_at(start, "empty phrase"));
            }
            Ok(Item::Clause(Clause {
                field: SearchField::Text,
                values: Values::AnyOf(vec![value]),
                negate,
            }))
        } else {
            Ok(Item::Text(self.chars[start..self.pos].iter().collect()))
        }
    }

    /// A quoted phrase starting at the current `"`; returns its unescaped content and start.
    fn phrase(&mut self) -> Result<(String, usize), QueryError> {
        let open = self.pos;
        self.pos += 1;
        let mut value = String::new();
        loop {
            match self.peek() {
                None => return Err(self.err_at(open, "unbalanced quote")),
                Some('"') => {
                    self.pos += 1;
                    return Ok((value, open));
                }
                Some('\\') => {
                    let Some(&c) = self.chars.get(self.pos + 1) else {
                        return Err(self.err_at(self.pos, "dangling escape '\\'"));
                    };
                    value.push(c);
                    self.pos += 2;
                }
                Some(c) => {
                    value.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// A bare word, unescaped, up to whitespace or one of `stops` (unescaped).
    fn bare(&mut self, stops: &[char]) -> Result<String, QueryError> {
        let mut value = String::new();
        while let Some(c) = self.peek() {
            if c.is_whitespace() || stops.contains(&c) {
                break;
            }
            if c == '\\' {
                let Some(&e) = self.chars.get(self.pos + 1) else {
                    return Err(self.err_at(self.pos, "dangling escape '\\'"));
                };
                value.push(e);
                self.pos += 2;
            } else {
                value.push(c);
                self.pos += 1;
            }
        }
        Ok(value)
    }

    fn word_or_clause(&mut self, start: usize, negate: bool) -> Result<Item, QueryError> {
        let name_at = self.pos;
        let name = self.bare(&[':', '(', ')', '"'])?;
        if self.peek() != Some(':') {
            if name.is_empty() {
                return Err(self.err_at(self.pos, "expected a word or field:value"));
            }
            if let Some(c @ ('"' | '(')) = self.peek() {
                return Err(self.err_at(
                    self.pos,
                    format!("unexpected '{c}' inside a word (escape it as \\{c})"),
                ));
            }
            if name == "*" {
                if negate {
                    return Err(self.err_at(start, "negated * matches nothing"));
                }
                return Ok(Item::MatchAll);
            }
            return self.text_item(start, name, negate);
        }
        self.pos += 1; // the colon
        if name == "*" && self.peek() == Some('*') {
            self.pos += 1;
            if negate {
                return Err(self.err_at(start, "negated *:* matches nothing"));
            }
            return Ok(Item::MatchAll);
        }
        if name.is_empty() {
            return Err(self.err_at(name_at, "missing field name before ':'"));
        }
        let Some(field) = SearchField::parse(&name) else {
            return Err(QueryError::new(
                self.param,
                format!(
                    "unknown field \"{name}\" at character {} of {}; known fields: {}; to \
                     search for a colon, escape it as \\:",
                    name_at + 1,
                    self.param,
                    SearchField::known_list()
                ),
            ));
        };
        let value_at = self.pos;
        let values = match self.peek() {
            None => return Err(self.err_at(value_at, format!("empty value for field {field}"))),
            Some(c) if c.is_whitespace() || c == ')' => {
                return Err(self.err_at(value_at, format!("empty value for field {field}")))
            }
            Some('"') => {
                let (v, open) = self.phrase()?;
                if v.is_empty() {
                    return Err(self.err_at(open, format!("empty value for field {field}")));
                }
                Values::AnyOf(vec![v])
            }
            Some('(') => self.group(field)?,
            Some('[' | '{') => self.range(field)?,
            Some(_) => {
                let v = self.bare(&['(', ')', '"'])?;
                if let Some(c @ ('"' | '(')) = self.peek() {
                    return Err(self.err_at(
                        self.pos,
                        format!("unexpected '{c}' inside a value (escape it as \\{c})"),
                    ));
                }
                if v == "*" {
                    Values::Exists
                } else {
                    Values::AnyOf(vec![v])
                }
            }
        };
        if let Values::AnyOf(vs) = &values {
            self.check_terms(field, vs, value_at)?;
        }
        Ok(Item::Clause(Clause {
            field,
            values,
            negate,
        }))
    }

    /// `(a OR "b c" d)` after a field: alternatives.
    fn group(&mut self, field: SearchField) -> Result<Values, QueryError> {
        let open = self.pos;
        self.pos += 1;
        let mut values = Vec::new();
        let mut pending_or: Option<usize> = None;
        loop {
            self.skip_ws();
            match self.peek() {
                None => return Err(self.err_at(open, "unbalanced parenthesis")),
                Some(')') => {
                    if let Some(at) = pending_or {
                        return Err(self.err_at(at, "dangling OR"));
                    }
                    self.pos += 1;
                    break;
                }
                Some('(') => {
                    return Err(self.err_at(self.pos, "nested parentheses are not supported"))
                }
                Some('"') => {
                    let (v, at) = self.phrase()?;
                    if v.is_empty() {
                        return Err(self.err_at(at, format!("empty value for field {field}")));
                    }
                    values.push(v);
                    pending_or = None;
                }
                Some(_) => {
                    if let Some((conn, kw, len)) = self.connector() {
                        if conn == Conn::And {
                            return Err(self.err_at(
                                self.pos,
                                format!(
                                    "{kw} inside {field}:(…) is not supported; write separate \
                                     clauses {field}:a {field}:b"
                                ),
                            ));
                        }
                        if values.is_empty() || pending_or.is_some() {
                            return Err(self.err_at(self.pos, format!("dangling {kw}")));
                        }
                        pending_or = Some(self.pos);
                        self.pos += len;
                        continue;
                    }
                    if self.at_keyword("NOT") || matches!(self.peek(), Some('-' | '!')) {
                        return Err(self.err_at(
                            self.pos,
                            format!(
                                "negation inside {field}:(…) is not supported; write \
                                 -{field}:value"
                            ),
                        ));
                    }
                    let at = self.pos;
                    let v = self.bare(&['(', ')', '"'])?;
                    if v.is_empty() {
                        return Err(self.err_at(at, "expected a value"));
                    }
                    values.push(v);
                    pending_or = None;
                }
            }
        }
        if values.is_empty() {
            return Err(self.err_at(open, format!("empty value for field {field}")));
        }
        Ok(Values::AnyOf(values))
    }

    /// `[from TO to]` / `{from TO to}` after a field.
    fn range(&mut self, field: SearchField) -> Result<Values, QueryError> {
        let open = self.pos;
        let from_inclusive = self.chars[open] == '[';
        let Some(kind) = field.range_kind() else {
            return Err(self.err_at(
                open,
                format!(
                    "field {field} does not take a range; ranges work on metadata_modified, \
                     metadata_created, num_resources and num_tags"
                ),
            ));
        };
        let Some(len) = self.chars[open + 1..]
            .iter()
            .position(|c| *c == ']' || *c == '}')
        else {
            return Err(self.err_at(open, "unbalanced bracket"));
        };
        let close = open + 1 + len;
        let to_inclusive = self.chars[close] == ']';
        let inner: String = self.chars[open + 1..close].iter().collect();
        self.pos = close + 1;
        let parts: Vec<&str> = inner.split_whitespace().collect();
        let [from, "TO", to] = parts[..] else {
            return Err(self.err_at(
                open,
                format!(
                    "a range is written [from TO to], e.g. {field}:[2024-01-01T00:00:00Z TO *]"
                ),
            ));
        };
        let bound = |s: &str| -> Result<Option<String>, QueryError> {
            if s == "*" {
                return Ok(None);
            }
            let ok = match kind {
                RangeKind::Date => is_solr_date(s),
                RangeKind::Integer => s.parse::<i64>().is_ok(),
            };
            if ok {
                Ok(Some(s.to_string()))
            } else {
                let hint = match kind {
                    RangeKind::Date => "a date such as 2024-01-01T00:00:00Z, NOW-7DAYS or *",
                    RangeKind::Integer => "an integer or *",
                };
                Err(self.err_at(
                    open,
                    format!("invalid bound \"{s}\" in the range on {field}; expected {hint}"),
                ))
            }
        };
        Ok(Values::Range(Range {
            from: bound(from)?,
            to: bound(to)?,
            from_inclusive,
            to_inclusive,
        }))
    }

    /// Checks single values where the field has a closed set or a type.
    fn check_terms(&self, field: SearchField, vs: &[String], at: usize) -> Result<(), QueryError> {
        for v in vs {
            let ok = match field {
                SearchField::Capacity => v == "public" || v == "private",
                SearchField::NumResources | SearchField::NumTags => v.parse::<i64>().is_ok(),
                SearchField::MetadataModified | SearchField::MetadataCreated => is_solr_date(v),
                _ => true,
            };
            if !ok {
                let expected = match field {
                    SearchField::Capacity => "public or private",
                    SearchField::NumResources | SearchField::NumTags => "an integer",
                    _ => "a date such as 2024-01-01T00:00:00Z",
                };
                return Err(self.err_at(
                    at,
                    format!("invalid value \"{v}\" for field {field}; expected {expected}"),
                ));
            }
        }
        Ok(())
    }

    /// Resolves `a OR b OR …` of clauses into one clause, or says why it cannot.
    fn merge_or(&self, group: Vec<(Item, usize)>) -> Result<Clause, QueryError> {
        let second_at = group.get(1).map_or(0, |(_, at)| *at);
        let describe = |i: &Item| match i {
            Item::Clause(c) => format!("{}{}:…", if c.negate { "-" } else { "" }, c.field),
            Item::Text(_) => "free text".to_string(),
            Item::MatchAll => "*:*".to_string(),
        };
        let first_desc = describe(&group[0].0);
        let mut merged: Option<(SearchField, Vec<String>)> = None;
        for (item, at) in &group {
            let fail = || {
                self.err_at(
                    *at,
                    format!(
                        "OR between {first_desc} and {} is not supported; OR works between \
                         values of one field, as in tags:(a OR b) or tags:a OR tags:b",
                        describe(item)
                    ),
                )
            };
            let Item::Clause(Clause {
                field,
                values: Values::AnyOf(vs),
                negate: false,
            }) = item
            else {
                return Err(fail());
            };
            match &mut merged {
                None => merged = Some((*field, vs.clone())),
                Some((f, all)) if f == field => all.extend(vs.iter().cloned()),
                Some(_) => return Err(fail()),
            }
        }
        let (field, values) =
            merged.ok_or_else(|| self.err_at(second_at, "OR with nothing to join"))?;
        Ok(Clause {
            field,
            values: Values::AnyOf(values),
            negate: false,
        })
    }
}

/// A Solr date as CKAN users write it: `2024-01-01`, `2024-01-01T00:00:00Z` (fraction and
/// `Z` optional), or date math from `NOW` (`NOW-7DAYS`, `NOW/DAY+1DAY`).
fn is_solr_date(s: &str) -> bool {
    if let Some(math) = s.strip_prefix("NOW") {
        return math
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || "+-/".contains(c));
    }
    // Only ASCII can be a date, which also makes the byte slicing below safe.
    if !s.is_ascii() {
        return false;
    }
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() < 10 || !digits(0..4) || b[4] != b'-' || !digits(5..7) || b[7] != b'-' {
        return false;
    }
    if !digits(8..10) {
        return false;
    }
    if b.len() == 10 {
        return true;
    }
    let rest = s[10..].strip_suffix('Z').unwrap_or(&s[10..]);
    let rb = rest.as_bytes();
    if rb.len() < 9 || rb[0] != b'T' || rb[3] != b':' || rb[6] != b':' {
        return false;
    }
    let time_digits = [1, 2, 4, 5, 7, 8].iter().all(|i| rb[*i].is_ascii_digit());
    let fraction = &rest[9..];
    time_digits
        && (fraction.is_empty()
            || (fraction.len() > 1
                && fraction.starts_with('.')
                && fraction[1..].bytes().all(|c| c.is_ascii_digit())))
}

// ---------------------------------------------------------------------------------------------
// package_search: sort
// ---------------------------------------------------------------------------------------------

/// A key `package_search` can sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortKey {
    /// Relevance to the free text.
    Score,
    /// Last change of the metadata.
    MetadataModified,
    /// Creation of the dataset.
    MetadataCreated,
    /// The URL name.
    Name,
    /// The title (`title_string`, also written `title`).
    TitleString,
    /// The number of resources.
    NumResources,
    /// The number of tags.
    NumTags,
}

impl SortKey {
    const NAMES: [(&'static str, SortKey); 8] = [
        ("score", SortKey::Score),
        ("metadata_modified", SortKey::MetadataModified),
        ("metadata_created", SortKey::MetadataCreated),
        ("name", SortKey::Name),
        ("title_string", SortKey::TitleString),
        ("title", SortKey::TitleString),
        ("num_resources", SortKey::NumResources),
        ("num_tags", SortKey::NumTags),
    ];

    /// The key's name in CKAN (`title_string` for the title).
    pub fn as_str(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("score", |(n, _)| n)
    }
}

/// CKAN's default order: `score desc, metadata_modified desc`.
pub const DEFAULT_SORT: [(SortKey, bool); 2] =
    [(SortKey::Score, true), (SortKey::MetadataModified, true)];

/// Parses `sort` of `package_search`: comma-separated `key asc|desc` (direction required, as
/// Solr requires it; any case). `None` or blank gives [`DEFAULT_SORT`]. The bool is
/// `true` for descending.
pub fn parse_sort(s: Option<&str>) -> Result<Vec<(SortKey, bool)>, QueryError> {
    let s = s.unwrap_or("").trim();
    if s.is_empty() {
        return Ok(DEFAULT_SORT.to_vec());
    }
    let err = |m: String| QueryError::new("sort", m);
    let mut out = Vec::new();
    for (n, part) in s.split(',').enumerate() {
        let words: Vec<&str> = part.split_whitespace().collect();
        let (key, dir) = match words[..] {
            [] => {
                return Err(err(format!(
                    "sort item {} is empty (check the commas)",
                    n + 1
                )))
            }
            [key] => {
                return Err(err(format!(
                    "sort \"{key}\" has no direction; write \"{key} asc\" or \"{key} desc\""
                )))
            }
            [key, dir] => (key, dir),
            _ => {
                return Err(err(format!(
                    "sort item \"{}\" should be a key and a direction, like \"name asc\"",
                    part.trim()
                )))
            }
        };
        let Some(&(_, k)) = SortKey::NAMES.iter().find(|(name, _)| *name == key) else {
            return Err(err(format!(
                "cannot sort by \"{key}\"; known keys: {}",
                SortKey::NAMES.map(|(n, _)| n).join(", ")
            )));
        };
        let desc = match dir.to_ascii_lowercase().as_str() {
            "asc" => false,
            "desc" => true,
            _ => {
                return Err(err(format!(
                    "unknown sort direction \"{dir}\" for {key}; use asc or desc"
                )))
            }
        };
        out.push((k, desc));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// datastore_search
// ---------------------------------------------------------------------------------------------

/// Parses `filters` of `datastore_search`: an object (or a string holding one) from column
/// name to a value or a list of values (any of which matches). Values are scalars: strings,
/// numbers, booleans or null. `null` itself means no filters. Order is kept.
pub fn parse_filters(v: &Value) -> Result<Vec<(String, Vec<Value>)>, QueryError> {
    let err = |m: String| QueryError::new("filters", m);
    let parsed;
    let obj = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Object(o) => o,
        Value::String(s) if s.trim().is_empty() => return Ok(Vec::new()),
        Value::String(s) => {
            parsed = serde_json::from_str::<Value>(s)
                .map_err(|e| err(format!("filters is not valid JSON: {e}")))?;
            match &parsed {
                Value::Object(o) => o,
                _ => return Err(err("filters must be a JSON object".into())),
            }
        }
        _ => return Err(err("filters must be a JSON object".into())),
    };
    let scalar = |x: &Value| !matches!(x, Value::Array(_) | Value::Object(_));
    let mut out = Vec::with_capacity(obj.len());
    for (column, value) in obj {
        if column.trim().is_empty() {
            return Err(err("filters has an empty column name".into()));
        }
        let values = match value {
            Value::Array(items) => {
                if items.is_empty() {
                    return Err(err(format!(
                        "filter on \"{column}\" is an empty list; give at least one value"
                    )));
                }
                if !items.iter().all(scalar) {
                    return Err(err(format!(
                        "filter on \"{column}\" must list plain values, not lists or objects"
                    )));
                }
                items.clone()
            }
            Value::Object(_) => {
                return Err(err(format!(
                    "filter on \"{column}\" must be a value or a list of values, not an object"
                )))
            }
            other => vec![other.clone()],
        };
        out.push((column.clone(), values));
    }
    Ok(out)
}

/// Parses `sort` of `datastore_search`: comma-separated columns, each optionally followed by
/// `asc` or `desc` (default ascending); a column name may be double-quoted (`"Dân số" desc`,
/// with `""` for a quote inside). The bool is `true` for descending.
pub fn parse_ds_sort(s: &str) -> Result<Vec<(String, bool)>, QueryError> {
    let err = |m: String| QueryError::new("sort", m);
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while chars.get(*i).is_some_and(|c| c.is_whitespace()) {
            *i += 1;
        }
    };
    skip_ws(&mut i);
    if i >= chars.len() {
        return Ok(out);
    }
    loop {
        skip_ws(&mut i);
        let start = i;
        let column = if chars.get(i) == Some(&'"') {
            let mut name = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => {
                        return Err(err(format!(
                            "unbalanced quote at character {} of sort",
                            start + 1
                        )))
                    }
                    Some('"') if chars.get(i + 1) == Some(&'"') => {
                        name.push('"');
                        i += 2;
                    }
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some(c) => {
                        name.push(*c);
                        i += 1;
                    }
                }
            }
            name
        } else {
            let mut name = String::new();
            while let Some(&c) = chars.get(i) {
                if c.is_whitespace() || c == ',' {
                    break;
                }
                name.push(c);
                i += 1;
            }
            name
        };
        if column.is_empty() {
            return Err(err(format!(
                "missing column name at character {} of sort",
                start + 1
            )));
        }
        skip_ws(&mut i);
        let dir_start = i;
        let mut dir = String::new();
        while let Some(&c) = chars.get(i) {
            if c.is_whitespace() || c == ',' {
                break;
            }
            dir.push(c);
            i += 1;
        }
        let desc = match dir.to_ascii_lowercase().as_str() {
            "" | "asc" => false,
            "desc" => true,
            _ => {
                return Err(err(format!(
                    "unknown sort direction \"{dir}\" for column \"{column}\" at character {} \
                     of sort; use asc or desc",
                    dir_start + 1
                )))
            }
        };
        out.push((column, desc));
        skip_ws(&mut i);
        match chars.get(i) {
            None => return Ok(out),
            Some(',') => i += 1,
            Some(c) => {
                return Err(err(format!(
                    "unexpected '{c}' at character {} of sort; separate columns with commas",
                    i + 1
                )))
            }
        }
    }
}

/// Parses `sort` of `datastore_search` given as a string or a list of such strings.
pub fn parse_ds_sort_value(v: &Value) -> Result<Vec<(String, bool)>, QueryError> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => parse_ds_sort(s),
        Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                match item {
                    Value::String(s) => out.extend(parse_ds_sort(s)?),
                    _ => {
                        return Err(QueryError::new(
                            "sort",
                            "sort must be a string or a list of strings",
                        ))
                    }
                }
            }
            Ok(out)
        }
        _ => Err(QueryError::new(
            "sort",
            "sort must be a string or a list of strings",
        )),
    }
}

/// How `datastore_search` returns records (`records_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecordsFormat {
    /// A list of objects, column name → value (the default).
    #[default]
    Objects,
    /// A list of lists, in the order of `fields`.
    Lists,
    /// One CSV string.
    Csv,
    /// One tab-separated string.
    Tsv,
}

impl RecordsFormat {
    /// Parses `objects`, `lists`, `csv` or `tsv`.
    pub fn parse(s: &str) -> Result<RecordsFormat, QueryError> {
        match s.trim() {
            "objects" => Ok(RecordsFormat::Objects),
            "lists" => Ok(RecordsFormat::Lists),
            "csv" => Ok(RecordsFormat::Csv),
            "tsv" => Ok(RecordsFormat::Tsv),
            other => Err(QueryError::new(
                "records_format",
                format!("unknown records_format \"{other}\"; use objects, lists, csv or tsv"),
            )),
        }
    }

    /// The name CKAN uses.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordsFormat::Objects => "objects",
            RecordsFormat::Lists => "lists",
            RecordsFormat::Csv => "csv",
            RecordsFormat::Tsv => "tsv",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn terms(field: SearchField, vs: &[&str]) -> Clause {
        Clause {
            field,
            values: Values::AnyOf(vs.iter().map(|s| s.to_string()).collect()),
            negate: false,
        }
    }

    fn not(mut c: Clause) -> Clause {
        c.negate = true;
        c
    }

    fn q(s: &str) -> SearchSpec {
        parse_search(Some(s), None).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn fq(s: &str) -> Vec<Clause> {
        parse_search(None, Some(s))
            .unwrap_or_else(|e| panic!("{s}: {e}"))
            .clauses
    }

    fn q_err(s: &str) -> QueryError {
        parse_search(Some(s), None).expect_err(s)
    }

    fn fq_err(s: &str) -> QueryError {
        parse_search(None, Some(s)).expect_err(s)
    }

    #[test]
    fn booleans_as_ckan_asbool_reads_them() {
        for t in [
            json!(true),
            json!("true"),
            json!("True"),
            json!("TRUE"),
            json!("1"),
            json!("yes"),
            json!(" on "),
            json!(1),
        ] {
            assert_eq!(parse_bool(&t), Some(true), "{t}");
        }
        for f in [
            json!(false),
            json!("false"),
            json!("False"),
            json!("0"),
            json!("no"),
            json!("off"),
            json!(0),
        ] {
            assert_eq!(parse_bool(&f), Some(false), "{f}");
        }
        for bad in [json!("maybe"), json!(2), json!(null), json!([]), json!(1.5)] {
            assert_eq!(parse_bool(&bad), None, "{bad}");
        }
    }

    #[test]
    fn integers_from_numbers_and_strings() {
        assert_eq!(parse_int(&json!(10)), Some(10));
        assert_eq!(parse_int(&json!(-3)), Some(-3));
        assert_eq!(parse_int(&json!(10.0)), Some(10));
        assert_eq!(parse_int(&json!("1000")), Some(1000));
        assert_eq!(parse_int(&json!(" +5 ")), Some(5));
        assert_eq!(parse_int(&json!("-7")), Some(-7));
        assert_eq!(parse_int(&json!(1.5)), None);
        assert_eq!(parse_int(&json!("1.5")), None);
        assert_eq!(parse_int(&json!("ten")), None);
        assert_eq!(parse_int(&json!("")), None);
        assert_eq!(parse_int(&json!(true)), None);
        assert_eq!(parse_int(&json!(null)), None);
    }

    #[test]
    fn string_lists_in_every_shape_clients_send() {
        let tags_org = Some(vec!["tags".to_string(), "organization".to_string()]);
        assert_eq!(parse_str_list(&json!(["tags", "organization"])), tags_org);
        assert_eq!(
            parse_str_list(&json!("[\"tags\",\"organization\"]")),
            tags_org
        );
        assert_eq!(parse_str_list(&json!("tags, organization")), tags_org);
        assert_eq!(parse_str_list(&json!("tags")), Some(vec!["tags".into()]));
        assert_eq!(parse_str_list(&json!("")), Some(vec![]));
        assert_eq!(parse_str_list(&json!([])), Some(vec![]));
        assert_eq!(parse_str_list(&json!("[\"tags\"")), None);
        assert_eq!(parse_str_list(&json!("[1]")), None);
        assert_eq!(parse_str_list(&json!(["tags", 1])), None);
        assert_eq!(parse_str_list(&json!(3)), None);
        assert_eq!(parse_str_list(&json!(null)), None);
    }

    #[test]
    fn match_all_and_empty() {
        assert_eq!(q("*:*"), SearchSpec::default());
        assert_eq!(q(""), SearchSpec::default());
        assert_eq!(q("   "), SearchSpec::default());
        assert_eq!(q("*"), SearchSpec::default());
        assert_eq!(
            parse_search(None, None).unwrap(),
            SearchSpec::default(),
            "q defaults to *:*"
        );
        assert_eq!(parse_search(None, Some("")).unwrap(), SearchSpec::default());
        assert_eq!(fq("*:*"), vec![]);
    }

    #[test]
    fn field_clauses_and_free_text_in_q() {
        let s = q("giao thông tags:roads xe buýt");
        assert_eq!(s.text, "giao thông xe buýt");
        assert_eq!(s.clauses, vec![terms(SearchField::Tags, &["roads"])]);

        let s = q("tags:roads AND organization:so-gtvt");
        assert_eq!(s.text, "");
        assert_eq!(
            s.clauses,
            vec![
                terms(SearchField::Tags, &["roads"]),
                terms(SearchField::Organization, &["so-gtvt"])
            ]
        );
        let s = q("dân số && res_format:CSV");
        assert_eq!(s.text, "dân số");
        assert_eq!(s.clauses, vec![terms(SearchField::ResFormat, &["CSV"])]);
    }

    #[test]
    fn quoted_values_and_phrases() {
        assert_eq!(
            fq("title:\"Dân số \\\"2024\\\"\""),
            vec![terms(SearchField::Title, &["Dân số \"2024\""])]
        );
        assert_eq!(
            fq("organization:\"so giao thong\" tags:x"),
            vec![
                terms(SearchField::Organization, &["so giao thong"]),
                terms(SearchField::Tags, &["x"])
            ]
        );
        // A phrase in q is free text kept with its quotes; in fq it is a text clause.
        let s = q("\"chất lượng không khí\" tags:air");
        assert_eq!(s.text, "\"chất lượng không khí\"");
        assert_eq!(
            fq("\"chất lượng\""),
            vec![terms(SearchField::Text, &["chất lượng"])]
        );
        assert_eq!(fq("nước"), vec![terms(SearchField::Text, &["nước"])]);
    }

    #[test]
    fn required_and_negated_clauses() {
        assert_eq!(
            fq("+tags:a -tags:b !groups:c NOT license_id:cc-by"),
            vec![
                terms(SearchField::Tags, &["a"]),
                not(terms(SearchField::Tags, &["b"])),
                not(terms(SearchField::Groups, &["c"])),
                not(terms(SearchField::LicenseId, &["cc-by"])),
            ]
        );
        assert_eq!(
            fq("tags:a AND NOT tags:b"),
            vec![
                terms(SearchField::Tags, &["a"]),
                not(terms(SearchField::Tags, &["b"]))
            ]
        );
        // Negated free words stay in the text, as written.
        assert_eq!(q("bus -tram NOT metro").text, "bus -tram NOT metro");
    }

    #[test]
    fn alternatives_in_parentheses_and_with_or() {
        assert_eq!(
            fq("tags:(a OR b)"),
            vec![terms(SearchField::Tags, &["a", "b"])]
        );
        assert_eq!(
            fq("tags:(\"a b\" OR c || d e)"),
            vec![terms(SearchField::Tags, &["a b", "c", "d", "e"])]
        );
        assert_eq!(
            fq("-res_format:(CSV OR XLSX)"),
            vec![not(terms(SearchField::ResFormat, &["CSV", "XLSX"]))]
        );
        assert_eq!(
            fq("tags:a OR tags:b groups:g"),
            vec![
                terms(SearchField::Tags, &["a", "b"]),
                terms(SearchField::Groups, &["g"])
            ]
        );
        assert_eq!(q("bus OR tram").text, "bus OR tram");
        assert_eq!(q("*:* OR tags:x"), SearchSpec::default());
    }

    #[test]
    fn escapes() {
        assert_eq!(
            fq("name:a\\:b tags:c\\ d title:\\(x\\)"),
            vec![
                terms(SearchField::Name, &["a:b"]),
                terms(SearchField::Tags, &["c d"]),
                terms(SearchField::Title, &["(x)"]),
            ]
        );
        // An escaped colon makes a free word, not a field.
        assert_eq!(q("http\\://example.vn").text, "http\\://example.vn");
        assert_eq!(fq("a\\:b"), vec![terms(SearchField::Text, &["a:b"])]);
        // Colons after the first belong to the value.
        assert_eq!(
            fq("metadata_modified:2024-01-01T00:00:00Z"),
            vec![terms(
                SearchField::MetadataModified,
                &["2024-01-01T00:00:00Z"]
            )]
        );
    }

    #[test]
    fn every_field_and_the_type_alias() {
        for f in SearchField::ALL {
            let value = match f {
                SearchField::Capacity => "public",
                SearchField::NumResources | SearchField::NumTags => "3",
                SearchField::MetadataModified | SearchField::MetadataCreated => "2024-01-01",
                _ => "x",
            };
            let c = fq(&format!("{}:{value}", f.as_str()));
            assert_eq!(c, vec![terms(f, &[value])]);
        }
        assert_eq!(
            fq("type:dataset"),
            vec![terms(SearchField::DatasetType, &["dataset"])]
        );
        assert_eq!(
            fq("dataset_type:dataset capacity:private"),
            vec![
                terms(SearchField::DatasetType, &["dataset"]),
                terms(SearchField::Capacity, &["private"])
            ]
        );
        assert_eq!(
            fq("res_format:*"),
            vec![Clause {
                field: SearchField::ResFormat,
                values: Values::Exists,
                negate: false
            }]
        );
    }

    #[test]
    fn ranges() {
        let c = fq("metadata_modified:[2024-01-01T00:00:00Z TO *]");
        assert_eq!(
            c,
            vec![Clause {
                field: SearchField::MetadataModified,
                values: Values::Range(Range {
                    from: Some("2024-01-01T00:00:00Z".into()),
                    to: None,
                    from_inclusive: true,
                    to_inclusive: true,
                }),
                negate: false,
            }]
        );
        let c = fq("metadata_created:{NOW-7DAYS TO NOW/DAY]  num_resources:[1 TO *]");
        assert_eq!(
            c[0].values,
            Values::Range(Range {
                from: Some("NOW-7DAYS".into()),
                to: Some("NOW/DAY".into()),
                from_inclusive: false,
                to_inclusive: true,
            })
        );
        assert_eq!(
            c[1].values,
            Values::Range(Range {
                from: Some("1".into()),
                to: None,
                from_inclusive: true,
                to_inclusive: true,
            })
        );
        let s = q("tags:x metadata_modified:[* TO 2024-05-01T10:20:30.5Z} báo cáo");
        assert_eq!(s.text, "báo cáo");
        assert_eq!(s.clauses.len(), 2);
        // Multi-byte characters where a date has its separators do not panic.
        for bad in ["2024-01-01T00:00:0é", "2024-01-0đ", "aaaéxy-01-01"] {
            let e = fq_err(&format!("metadata_modified:{bad}"));
            assert!(e.message.starts_with("invalid value"), "{}", e.message);
        }
    }

    #[test]
    fn errors_say_what_and_where() {
        let e = fq_err("tag:roads");
        assert_eq!(e.field, "fq");
        assert!(
            e.message.starts_with(
                "unknown field \"tag\" at character 1 of fq; known fields: organization, \
                 owner_org,"
            ),
            "{}",
            e.message
        );
        assert!(
            e.message
                .ends_with("num_tags; to search for a colon, escape it as \\:"),
            "{}",
            e.message
        );

        let e = q_err("tags:roads url:http://x");
        assert_eq!(e.field, "q");
        assert!(e.message.contains("unknown field \"url\" at character 12"));

        let cases: &[(&str, &str)] = &[
            (
                "title:\"road works",
                "unbalanced quote at character 7 of fq",
            ),
            ("abc \"def", "unbalanced quote at character 5 of fq"),
            (
                "tags:(a OR b",
                "unbalanced parenthesis at character 6 of fq",
            ),
            ("tags:a)", "unbalanced parenthesis at character 7 of fq"),
            (
                "metadata_modified:[2024-01-01 TO *",
                "unbalanced bracket at character 19 of fq",
            ),
            (
                "tags:a AND",
                "dangling AND (nothing follows it) at character 8 of fq",
            ),
            ("AND tags:a", "dangling AND at character 1 of fq"),
            (
                "tags:a AND AND tags:b",
                "dangling AND at character 12 of fq",
            ),
            (
                "tags:a OR",
                "dangling OR (nothing follows it) at character 8 of fq",
            ),
            ("tags:(a OR)", "dangling OR at character 9 of fq"),
            ("tags:(OR a)", "dangling OR at character 7 of fq"),
            ("tags:", "empty value for field tags at character 6 of fq"),
            (
                "tags: roads",
                "empty value for field tags at character 6 of fq",
            ),
            (
                "tags:\"\"",
                "empty value for field tags at character 6 of fq",
            ),
            ("tags:()", "empty value for field tags at character 6 of fq"),
            (":x", "missing field name before ':' at character 1 of fq"),
            ("NOT", "NOT with nothing after it at character 1 of fq"),
            ("tags:a -", "'-' with nothing after it at character 8 of fq"),
            ("tags:x\\", "dangling escape '\\' at character 7 of fq"),
            (
                "(tags:a OR tags:b)",
                "parentheses are only supported after a field name, as in tags:(a OR b) at \
                 character 1 of fq",
            ),
            (
                "tags:(a AND b)",
                "AND inside tags:(…) is not supported; write separate clauses tags:a tags:b at \
                 character 9 of fq",
            ),
            (
                "tags:(a -b)",
                "negation inside tags:(…) is not supported; write -tags:value at character 9 of fq",
            ),
            (
                "tags:((a))",
                "nested parentheses are not supported at character 7 of fq",
            ),
            (
                "tags:a OR groups:b",
                "OR between tags:… and groups:… is not supported; OR works between values of \
                 one field, as in tags:(a OR b) or tags:a OR tags:b at character 11 of fq",
            ),
            (
                "tags:a OR -tags:b",
                "OR between tags:… and -tags:… is not supported; OR works between values of \
                 one field, as in tags:(a OR b) or tags:a OR tags:b at character 11 of fq",
            ),
            (
                "tags:[a TO b]",
                "field tags does not take a range; ranges work on metadata_modified, \
                 metadata_created, num_resources and num_tags at character 6 of fq",
            ),
            (
                "metadata_modified:[2024-01-01]",
                "a range is written [from TO to], e.g. \
                 metadata_modified:[2024-01-01T00:00:00Z TO *] at character 19 of fq",
            ),
            (
                "metadata_modified:[yesterday TO *]",
                "invalid bound \"yesterday\" in the range on metadata_modified; expected a date \
                 such as 2024-01-01T00:00:00Z, NOW-7DAYS or * at character 19 of fq",
            ),
            (
                "num_tags:[one TO 3]",
                "invalid bound \"one\" in the range on num_tags; expected an integer or * at \
                 character 10 of fq",
            ),
            (
                "capacity:secret",
                "invalid value \"secret\" for field capacity; expected public or private at \
                 character 10 of fq",
            ),
            (
                "metadata_modified:may",
                "invalid value \"may\" for field metadata_modified; expected a date such as \
                 2024-01-01T00:00:00Z at character 19 of fq",
            ),
            (
                "tags:\"a\"b",
                "unexpected 'b' (put a space before it, or escape it as \\b) at character 9 of fq",
            ),
            (
                "tags:a\"b\"",
                "unexpected '\"' inside a value (escape it as \\\") at character 7 of fq",
            ),
            ("-*:*", "negated *:* matches nothing at character 1 of fq"),
        ];
        for (input, message) in cases {
            let e = fq_err(input);
            assert_eq!(e.field, "fq", "{input}");
            assert_eq!(&e.message, message, "{input}");
        }
    }

    #[test]
    fn error_positions_count_characters_not_bytes() {
        // "đường " is 6 characters but 9 bytes.
        let e = q_err("đường \"x");
        assert_eq!(e.message, "unbalanced quote at character 7 of q");
        assert_eq!(e.to_string(), e.message);
    }

    #[test]
    fn sort_orders() {
        assert_eq!(parse_sort(None).unwrap(), DEFAULT_SORT.to_vec());
        assert_eq!(parse_sort(Some("  ")).unwrap(), DEFAULT_SORT.to_vec());
        assert_eq!(
            parse_sort(Some("score desc, metadata_modified desc")).unwrap(),
            DEFAULT_SORT.to_vec()
        );
        assert_eq!(
            parse_sort(Some("title asc,name DESC, num_resources desc,num_tags asc")).unwrap(),
            vec![
                (SortKey::TitleString, false),
                (SortKey::Name, true),
                (SortKey::NumResources, true),
                (SortKey::NumTags, false)
            ]
        );
        assert_eq!(
            parse_sort(Some("title_string asc, metadata_created desc")).unwrap(),
            vec![
                (SortKey::TitleString, false),
                (SortKey::MetadataCreated, true)
            ]
        );
        assert_eq!(SortKey::TitleString.as_str(), "title_string");

        let err = |s: &str| parse_sort(Some(s)).unwrap_err();
        assert_eq!(err("views desc").field, "sort");
        assert!(err("views desc")
            .message
            .starts_with("cannot sort by \"views\"; known keys: score, metadata_modified"));
        assert_eq!(
            err("name up").message,
            "unknown sort direction \"up\" for name; use asc or desc"
        );
        assert_eq!(
            err("name").message,
            "sort \"name\" has no direction; write \"name asc\" or \"name desc\""
        );
        assert_eq!(
            err("name asc,").message,
            "sort item 2 is empty (check the commas)"
        );
        assert_eq!(
            err("name asc desc").message,
            "sort item \"name asc desc\" should be a key and a direction, like \"name asc\""
        );
    }

    #[test]
    fn datastore_filters() {
        let want = vec![
            ("phường".to_string(), vec![json!("Bến Nghé")]),
            ("năm".to_string(), vec![json!(2023), json!(2024)]),
            ("ghi chú".to_string(), vec![json!(null)]),
        ];
        let obj = json!({"phường": "Bến Nghé", "năm": [2023, 2024], "ghi chú": null});
        assert_eq!(parse_filters(&obj).unwrap(), want);
        assert_eq!(parse_filters(&json!(obj.to_string())).unwrap(), want);
        assert_eq!(parse_filters(&json!(null)).unwrap(), vec![]);
        assert_eq!(parse_filters(&json!("")).unwrap(), vec![]);
        assert_eq!(parse_filters(&json!({})).unwrap(), vec![]);

        let err = |v: Value| parse_filters(&v).unwrap_err();
        assert_eq!(err(json!([1])).field, "filters");
        assert_eq!(err(json!([1])).message, "filters must be a JSON object");
        assert_eq!(err(json!("[1]")).message, "filters must be a JSON object");
        assert!(err(json!("{\"a\":"))
            .message
            .starts_with("filters is not valid JSON: "));
        assert_eq!(
            err(json!({"a": []})).message,
            "filter on \"a\" is an empty list; give at least one value"
        );
        assert_eq!(
            err(json!({"a": [[1]]})).message,
            "filter on \"a\" must list plain values, not lists or objects"
        );
        assert_eq!(
            err(json!({"a": {"b": 1}})).message,
            "filter on \"a\" must be a value or a list of values, not an object"
        );
        assert_eq!(
            err(json!({" ": 1})).message,
            "filters has an empty column name"
        );
    }

    #[test]
    fn datastore_sort() {
        assert_eq!(parse_ds_sort("").unwrap(), vec![]);
        assert_eq!(
            parse_ds_sort("col desc, other").unwrap(),
            vec![("col".into(), true), ("other".into(), false)]
        );
        assert_eq!(
            parse_ds_sort("\"Dân số\" desc,\"say \"\"hi\"\"\" ASC , năm").unwrap(),
            vec![
                ("Dân số".into(), true),
                ("say \"hi\"".into(), false),
                ("năm".into(), false)
            ]
        );
        assert_eq!(
            parse_ds_sort_value(&json!(["a desc", "b"])).unwrap(),
            vec![("a".into(), true), ("b".into(), false)]
        );
        assert_eq!(parse_ds_sort_value(&json!(null)).unwrap(), vec![]);

        let err = |s: &str| parse_ds_sort(s).unwrap_err().message;
        assert_eq!(
            err("\"Dân số desc"),
            "unbalanced quote at character 1 of sort"
        );
        assert_eq!(
            err("a sideways"),
            "unknown sort direction \"sideways\" for column \"a\" at character 3 of sort; use \
             asc or desc"
        );
        assert_eq!(err("a, , b"), "missing column name at character 4 of sort");
        assert_eq!(
            err("a desc b"),
            "unexpected 'b' at character 8 of sort; separate columns with commas"
        );
        assert_eq!(
            parse_ds_sort_value(&json!(3)).unwrap_err().message,
            "sort must be a string or a list of strings"
        );
    }

    #[test]
    fn records_formats() {
        for f in [
            RecordsFormat::Objects,
            RecordsFormat::Lists,
            RecordsFormat::Csv,
            RecordsFormat::Tsv,
        ] {
            assert_eq!(RecordsFormat::parse(f.as_str()), Ok(f));
        }
        assert_eq!(RecordsFormat::default(), RecordsFormat::Objects);
        let e = RecordsFormat::parse("xml").unwrap_err();
        assert_eq!(e.field, "records_format");
        assert_eq!(
            e.message,
            "unknown records_format \"xml\"; use objects, lists, csv or tsv"
        );
    }
}
