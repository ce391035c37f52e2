//! DCAT (the W3C Data Catalog Vocabulary) from CKAN package dicts, mapped the way
//! ckanext-dcat's DCAT-AP profile maps them, rendered as Turtle and as JSON-LD.
//!
//! Both renderings come from one small in-memory graph, so a JSON-LD processor and a Turtle
//! parser read the same triples from them. Distributions, publishers, themes and licences have
//! IRIs; contact points, periods and places are blank nodes, as in ckanext-dcat.

use serde_json::{json, Map, Value};

/// What the catalog says about itself (`dcat:Catalog`). Empty strings are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogInfo {
    /// `dct:title`: the portal's name.
    pub title: String,
    /// `dct:description`.
    pub description: String,
    /// `foaf:homepage`: the portal's home page (an absolute URL).
    pub homepage: String,
    /// `dct:language`: a language code such as `vi`, or a language IRI.
    pub language: String,
    /// `dct:publisher`'s `foaf:name`: the government body that runs the portal.
    pub publisher_name: String,
    /// `dct:modified`: when any dataset last changed (CKAN or ISO 8601 format, UTC).
    pub modified: Option<String>,
}

/// One page of the catalog, for the Hydra paging terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// The page shown, from 1.
    pub number: u64,
    /// Datasets per page (ckanext-dcat shows 100).
    pub per_page: u64,
    /// Datasets in the whole catalog.
    pub total: u64,
}

impl Page {
    /// The number of the last page (1 for an empty catalog).
    pub fn last(&self) -> u64 {
        self.total.div_ceil(self.per_page.max(1)).max(1)
    }
}

/// The dataset as JSON-LD: `@context` with the prefixes, `@graph` with the dataset, its
/// distributions, publisher, themes and licence. `base` is the site URL (no trailing slash
/// needed).
pub fn dataset_jsonld(pkg: &Value, base: &str) -> Value {
    let mut g = Graph::default();
    dataset_graph(pkg, &Base::new(base), &mut g);
    g.jsonld()
}

/// The dataset as Turtle 1.1.
pub fn dataset_turtle(pkg: &Value, base: &str) -> String {
    let mut g = Graph::default();
    dataset_graph(pkg, &Base::new(base), &mut g);
    g.turtle()
}

/// One page of the catalog as JSON-LD: the catalog, its Hydra `PagedCollection` (links to
/// `{base}/catalog.jsonld?page=N`), and the page's datasets with their distributions.
pub fn catalog_jsonld(catalog: &CatalogInfo, pkgs: &[Value], page: &Page, base: &str) -> Value {
    catalog_graph(catalog, pkgs, page, &Base::new(base), "jsonld").jsonld()
}

/// One page of the catalog as Turtle 1.1, with paging links to `{base}/catalog.ttl?page=N`.
pub fn catalog_turtle(catalog: &CatalogInfo, pkgs: &[Value], page: &Page, base: &str) -> String {
    catalog_graph(catalog, pkgs, page, &Base::new(base), "ttl").turtle()
}

// ---------------------------------------------------------------------------------------------
// The mapping
// ---------------------------------------------------------------------------------------------

/// The site URL, escaped for use in IRIs, without a trailing slash.
struct Base(String);

impl Base {
    fn new(base: &str) -> Base {
        Base(iri_escape(base.trim().trim_end_matches('/')))
    }
    /// `{base}/{a}/{b}/…` with each part percent-encoded as a path segment.
    fn path(&self, segments: &[&str]) -> String {
        let mut out = self.0.clone();
        for s in segments {
            out.push('/');
            out.push_str(&segment(s));
        }
        out
    }
}

fn catalog_graph(info: &CatalogInfo, pkgs: &[Value], page: &Page, base: &Base, ext: &str) -> Graph {
    let mut g = Graph::default();
    let mut catalog = Node::named(base.0.clone(), "dcat:Catalog");
    catalog.lit("dct:title", &info.title);
    catalog.lit("dct:description", &info.description);
    if let Some(home) = absolute_iri(&info.homepage) {
        catalog.add("foaf:homepage", Obj::Iri(home));
    }
    if let Some(lang) = iri_or_literal(&info.language) {
        catalog.add("dct:language", lang);
    }
    if let Some(modified) = info.modified.as_deref().and_then(date_obj) {
        catalog.add("dct:modified", modified);
    }
    if !info.publisher_name.trim().is_empty() {
        let mut publisher = Node::blank("foaf:Organization");
        publisher.types.push("foaf:Agent");
        publisher.lit("foaf:name", &info.publisher_name);
        catalog.add("dct:publisher", Obj::Blank(publisher));
    }
    let catalog_index = g.nodes.len();
    g.push(catalog);

    let page_iri = |n: u64| format!("{}/catalog.{ext}?page={n}", base.0);
    let last = page.last();
    let mut paging = Node::named(page_iri(page.number), "hydra:PagedCollection");
    paging.add("hydra:totalItems", Obj::Int(page.total));
    paging.add("hydra:itemsPerPage", Obj::Int(page.per_page));
    // ckanext-dcat writes both the current Hydra terms and the deprecated *Page ones, which
    // older harvesters still read.
    let mut link = |terms: [&'static str; 2], n: u64| {
        for t in terms {
            paging.add(t, Obj::Iri(page_iri(n)));
        }
    };
    link(["hydra:first", "hydra:firstPage"], 1);
    link(["hydra:last", "hydra:lastPage"], last);
    if page.number < last {
        link(["hydra:next", "hydra:nextPage"], page.number + 1);
    }
    if page.number > 1 {
        link(
            ["hydra:previous", "hydra:previousPage"],
            (page.number - 1).min(last),
        );
    }
    g.push(paging);

    for pkg in pkgs {
        let ds = dataset_graph(pkg, base, &mut g);
        g.nodes[catalog_index].add("dcat:dataset", Obj::Iri(ds));
    }
    g
}

/// Adds the dataset and the nodes it points to; returns the dataset's IRI.
fn dataset_graph(pkg: &Value, base: &Base, g: &mut Graph) -> String {
    let id = text(pkg, "id").or_else(|| text(pkg, "name")).unwrap_or("");
    let name = text(pkg, "name").unwrap_or(id);
    let ds_iri = base.path(&["dataset", id]);
    let mut ds = Node::named(ds_iri.clone(), "dcat:Dataset");
    // Publisher, themes and licence: written after the dataset and its distributions.
    let mut linked = Vec::new();

    translated(&mut ds, "dct:title", pkg, "title_translated", "title");
    translated(&mut ds, "dct:description", pkg, "notes_translated", "notes");
    for tag in pkg
        .get("tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let tag = tag.get("name").unwrap_or(tag);
        if let Some(t) = tag.as_str() {
            ds.lit("dcat:keyword", t);
        }
    }
    if let Some(id) = text(pkg, "id") {
        ds.lit("dct:identifier", id);
    }
    if let Some(d) = extra(pkg, "issued")
        .or_else(|| text(pkg, "metadata_created"))
        .and_then(date_obj)
    {
        ds.add("dct:issued", d);
    }
    if let Some(d) = extra(pkg, "modified")
        .or_else(|| text(pkg, "metadata_modified"))
        .and_then(date_obj)
    {
        ds.add("dct:modified", d);
    }
    if !name.is_empty() {
        ds.add("dcat:landingPage", Obj::Iri(base.path(&["dataset", name])));
    }
    if let Some(v) = text(pkg, "version") {
        ds.lit("owl:versionInfo", v);
    }
    // CKAN's "source" URL; the landing page is our own dataset page.
    if let Some(url) = text(pkg, "url").and_then(absolute_iri) {
        ds.add("foaf:page", Obj::Iri(url));
    }

    // Publisher: the owning organization.
    if let Some(org) = pkg.get("organization").filter(|o| o.is_object()) {
        if let Some(org_name) = text(org, "name").or_else(|| text(org, "id")) {
            let iri = base.path(&["organization", org_name]);
            let mut publisher = Node::named(iri.clone(), "foaf:Organization");
            publisher.types.push("foaf:Agent");
            publisher.lit("foaf:name", text(org, "title").unwrap_or(org_name));
            linked.push(publisher);
            ds.add("dct:publisher", Obj::Iri(iri));
        }
    }

    // Contact point: the maintainer, else the author.
    let contact_name = text(pkg, "maintainer").or_else(|| text(pkg, "author"));
    let contact_email = text(pkg, "maintainer_email").or_else(|| text(pkg, "author_email"));
    if contact_name.is_some() || contact_email.is_some() {
        let mut contact = Node::blank("vcard:Organization");
        if let Some(n) = contact_name {
            contact.lit("vcard:fn", n);
        }
        if let Some(e) = contact_email {
            let mailto = if e.starts_with("mailto:") {
                iri_escape(e)
            } else {
                format!("mailto:{}", iri_escape(e))
            };
            contact.add("vcard:hasEmail", Obj::Iri(mailto));
        }
        ds.add("dcat:contactPoint", Obj::Blank(contact));
    }

    if let Some(f) = extra(pkg, "frequency").and_then(iri_or_literal) {
        ds.add("dct:accrualPeriodicity", f);
    }

    let start = extra(pkg, "temporal_start").and_then(date_obj);
    let end = extra(pkg, "temporal_end").and_then(date_obj);
    if start.is_some() || end.is_some() {
        let mut period = Node::blank("dct:PeriodOfTime");
        // DCAT 2 terms, and schema.org's which DCAT-AP 1 harvesters read.
        if let Some(s) = start {
            period.add("dcat:startDate", s.clone());
            period.add("schema:startDate", s);
        }
        if let Some(e) = end {
            period.add("dcat:endDate", e.clone());
            period.add("schema:endDate", e);
        }
        ds.add("dct:temporal", Obj::Blank(period));
    }

    if let Some(place) = extra(pkg, "spatial_text") {
        let mut location = Node::blank("dct:Location");
        location.lit("skos:prefLabel", place);
        ds.add("dct:spatial", Obj::Blank(location));
    }

    for lang in extra(pkg, "language").map(list_values).unwrap_or_default() {
        if let Some(l) = iri_or_literal(&lang) {
            ds.add("dct:language", l);
        }
    }

    for group in pkg
        .get("groups")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(group_name) = text(group, "name").or_else(|| text(group, "id")) else {
            continue;
        };
        let iri = base.path(&["group", group_name]);
        let mut theme = Node::named(iri.clone(), "skos:Concept");
        theme.lit("skos:prefLabel", text(group, "title").unwrap_or(group_name));
        linked.push(theme);
        ds.add("dcat:theme", Obj::Iri(iri));
    }

    let license = text(pkg, "license_url").and_then(absolute_iri);
    if let Some(l) = &license {
        let mut doc = Node::named(l.clone(), "dct:LicenseDocument");
        if let Some(t) = text(pkg, "license_title") {
            doc.lit("dct:title", t);
        }
        linked.push(doc);
    }

    let mut distributions = Vec::new();
    for res in pkg
        .get("resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        // A distribution without an id would have no stable IRI; package_show always has one.
        let Some(rid) = text(res, "id") else { continue };
        let iri = base.path(&["dataset", id, "resource", rid]);
        ds.add("dcat:distribution", Obj::Iri(iri.clone()));
        let mut dist = Node::named(iri, "dcat:Distribution");
        if let Some(t) = text(res, "name") {
            dist.lit("dct:title", t);
        }
        if let Some(d) = text(res, "description") {
            dist.lit("dct:description", d);
        }
        if !name.is_empty() {
            dist.add(
                "dcat:accessURL",
                Obj::Iri(base.path(&["dataset", name, "resource", rid])),
            );
        }
        if let Some(url) = text(res, "url").and_then(absolute_iri) {
            dist.add("dcat:downloadURL", Obj::Iri(url));
        }
        // As ckanext-dcat: a format that is a media type ("text/csv") is a dcat:mediaType.
        let mut format = text(res, "format");
        let mut media = text(res, "mimetype");
        if let Some(f) = format {
            if media.is_none() || media == Some(f) {
                if f.contains('/') && !f.starts_with("http") {
                    media = Some(f);
                    format = None;
                } else {
                    media = None;
                }
            }
        }
        if let Some(f) = format {
            dist.lit("dct:format", f);
        }
        if let Some(m) = media {
            dist.lit("dcat:mediaType", m);
        }
        if let Some(size) = res.get("size").and_then(byte_size) {
            dist.add("dcat:byteSize", Obj::Typed(size, "xsd:decimal"));
        }
        if let Some(l) = &license {
            dist.add("dct:license", Obj::Iri(l.clone()));
        }
        if let Some(d) = text(res, "created").and_then(date_obj) {
            dist.add("dct:issued", d);
        }
        if let Some(d) = text(res, "last_modified").and_then(date_obj) {
            dist.add("dct:modified", d);
        }
        distributions.push(dist);
    }

    g.push(ds);
    for n in distributions.into_iter().chain(linked) {
        g.push(n);
    }
    ds_iri
}

/// A non-blank string at `key`.
fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// A value from `extras` (or a top-level key of that name, where ckanext-scheming puts it).
fn extra<'a>(pkg: &'a Value, key: &str) -> Option<&'a str> {
    text(pkg, key).or_else(|| {
        pkg.get("extras")?
            .as_array()?
            .iter()
            .find(|e| e.get("key").and_then(Value::as_str) == Some(key))
            .and_then(|e| text(e, "value"))
    })
}

/// A list written as a JSON list (`["vi","en"]`), comma-separated (`vi,en`) or alone (`vi`).
fn list_values(s: &str) -> Vec<String> {
    if s.starts_with('[') {
        if let Ok(Value::Array(items)) = serde_json::from_str::<Value>(s) {
            return items
                .iter()
                .filter_map(Value::as_str)
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
        }
    }
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Language-tagged values from `{vi: …, en: …}`, else the plain value of `plain`.
fn translated(node: &mut Node, pred: &'static str, pkg: &Value, key: &str, plain: &str) {
    let mut any = false;
    if let Some(map) = pkg.get(key).and_then(Value::as_object) {
        for (lang, value) in map {
            let Some(value) = value.as_str().filter(|v| !v.trim().is_empty()) else {
                continue;
            };
            if let Some(tag) = LANGS.iter().find(|l| l.eq_ignore_ascii_case(lang)) {
                node.add(pred, Obj::Lang(value.to_string(), tag));
                any = true;
            }
        }
    }
    if !any {
        if let Some(v) = pkg.get(plain).and_then(Value::as_str) {
            node.lit(pred, v);
        }
    }
}

/// The languages translations are kept in (the language tags written on literals).
const LANGS: [&str; 2] = ["vi", "en"];

/// `dcat:byteSize` as ckanext-dcat writes it: a non-negative decimal.
fn byte_size(v: &Value) -> Option<String> {
    let s = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_string(),
        _ => return None,
    };
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let ok = match s.split_once('.') {
        Some((int, frac)) => digits(int) && digits(frac),
        None => digits(&s),
    };
    ok.then_some(s)
}

/// An http(s) IRI as an IRI, anything else as a plain literal (ckanext-dcat's
/// `URIRefOrLiteral`).
fn iri_or_literal(s: &str) -> Option<Obj> {
    let s = s.trim();
    if s.is_empty() {
        None
    } else if s.starts_with("http://") || s.starts_with("https://") {
        absolute_iri(s).map(Obj::Iri)
    } else {
        Some(Obj::Lit(s.to_string()))
    }
}

/// An absolute IRI with a scheme we link to, escaped; `None` for anything else (a relative
/// path, or a scheme a JSON-LD processor could mistake for one of our prefixes).
fn absolute_iri(s: &str) -> Option<String> {
    let s = s.trim();
    let (scheme, rest) = s.split_once(':')?;
    let known = ["http", "https", "ftp", "ftps", "sftp", "mailto", "urn"];
    (known.iter().any(|k| k.eq_ignore_ascii_case(scheme)) && !rest.is_empty())
        .then(|| iri_escape(s))
}

/// Percent-encodes what an IRI may not contain: controls, space and `<>"{}|^\``.
/// Other characters, Vietnamese letters included, stay as they are.
fn iri_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c <= ' ' || c == '\u{7f}' || "<>\"{}|^`\\".contains(c) {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Percent-encodes everything but RFC 3986's unreserved characters, for one path segment.
fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A date as a typed literal: date-times (CKAN's zone-less `2024-05-01T10:20:30.123456` is
/// UTC, so it gets a `Z`) as `xsd:dateTime`, `2024-05-01` as `xsd:date`, `2024-05` as
/// `xsd:gYearMonth`, `2024` as `xsd:gYear`; anything else stays a plain literal, as in
/// ckanext-dcat. Blank is `None`.
fn date_obj(s: &str) -> Option<Obj> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let valid_date = |y: &str, m: &str, d: &str| -> bool {
        let (Ok(y), Ok(m), Ok(d)) = (y.parse::<i32>(), m.parse::<u8>(), d.parse::<u8>()) else {
            return false;
        };
        time::Month::try_from(m)
            .ok()
            .is_some_and(|m| time::Date::from_calendar_date(y, m, d).is_ok())
    };
    let digits = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit());
    // Only ASCII can be a date, which also makes the byte slicing below safe.
    if !s.is_ascii() {
        return Some(Obj::Lit(s.to_string()));
    }
    let b = s.as_bytes();
    let year = digits(s.get(..4).unwrap_or(""), 4);
    if s.len() == 4 && year {
        return Some(Obj::Typed(s.into(), "xsd:gYear"));
    }
    if s.len() == 7 && year && b[4] == b'-' && valid_date(&s[..4], &s[5..], "01") {
        return Some(Obj::Typed(s.into(), "xsd:gYearMonth"));
    }
    let date = s.len() >= 10
        && year
        && b[4] == b'-'
        && b[7] == b'-'
        && valid_date(&s[..4], &s[5..7], &s[8..10]);
    if date && s.len() == 10 {
        return Some(Obj::Typed(s.into(), "xsd:date"));
    }
    if date && s.len() >= 16 && (b[10] == b'T' || b[10] == b' ') {
        if let Some(t) = normalise_time(&s[11..]) {
            return Some(Obj::Typed(format!("{}T{t}", &s[..10]), "xsd:dateTime"));
        }
    }
    Some(Obj::Lit(s.to_string()))
}

/// `HH:MM[:SS[.ffffff]][Z|±HH:MM]` → `HH:MM:SS[.ffffff](Z|±HH:MM)`, UTC when no zone is given.
fn normalise_time(t: &str) -> Option<String> {
    let (clock, zone) = if let Some(c) = t.strip_suffix('Z') {
        (c, "Z".to_string())
    } else if t.len() > 6
        && (t.as_bytes()[t.len() - 6] == b'+' || t.as_bytes()[t.len() - 6] == b'-')
    {
        let z = &t[t.len() - 6..];
        let zb = z.as_bytes();
        let ok = zb[3] == b':' && [1, 2, 4, 5].iter().all(|i| zb[*i].is_ascii_digit());
        if !ok {
            return None;
        }
        (&t[..t.len() - 6], z.to_string())
    } else {
        (t, "Z".to_string())
    };
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    if !frac.bytes().all(|b| b.is_ascii_digit()) || (clock.contains('.') && frac.is_empty()) {
        return None;
    }
    let parts: Vec<&str> = hms.split(':').collect();
    let num = |p: &str, max: u8| p.len() == 2 && p.parse::<u8>().is_ok_and(|n| n <= max);
    let hms = match parts[..] {
        [h, m] if num(h, 23) && num(m, 59) && frac.is_empty() => format!("{h}:{m}:00"),
        [h, m, s] if num(h, 23) && num(m, 59) && num(s, 60) => format!("{h}:{m}:{s}"),
        _ => return None,
    };
    let frac = if frac.is_empty() {
        String::new()
    } else {
        format!(".{frac}")
    };
    Some(format!("{hms}{frac}{zone}"))
}

// ---------------------------------------------------------------------------------------------
// A tiny graph and its two renderings
// ---------------------------------------------------------------------------------------------

const PREFIXES: [(&str, &str); 10] = [
    ("dcat", "http://www.w3.org/ns/dcat#"),
    ("dct", "http://purl.org/dc/terms/"),
    ("foaf", "http://xmlns.com/foaf/0.1/"),
    ("vcard", "http://www.w3.org/2006/vcard/ns#"),
    ("xsd", "http://www.w3.org/2001/XMLSchema#"),
    ("hydra", "http://www.w3.org/ns/hydra/core#"),
    ("adms", "http://www.w3.org/ns/adms#"),
    ("schema", "http://schema.org/"),
    ("skos", "http://www.w3.org/2004/02/skos/core#"),
    ("owl", "http://www.w3.org/2002/07/owl#"),
];

/// An object of a triple. IRIs are stored escaped; names (`dct:title`) use [`PREFIXES`].
#[derive(Debug, Clone, PartialEq)]
enum Obj {
    Iri(String),
    /// A plain (xsd:string) literal.
    Lit(String),
    Lang(String, &'static str),
    Typed(String, &'static str),
    /// An xsd:integer, written bare in Turtle and as a JSON number in JSON-LD.
    Int(u64),
    Blank(Node),
}

/// A subject with its types and properties; `id: None` is a blank node (only ever nested).
#[derive(Debug, Clone, PartialEq)]
struct Node {
    id: Option<String>,
    types: Vec<&'static str>,
    props: Vec<(&'static str, Obj)>,
}

impl Node {
    fn named(id: String, ty: &'static str) -> Node {
        Node {
            id: Some(id),
            types: vec![ty],
            props: Vec::new(),
        }
    }
    fn blank(ty: &'static str) -> Node {
        Node {
            id: None,
            types: vec![ty],
            props: Vec::new(),
        }
    }
    fn add(&mut self, pred: &'static str, obj: Obj) {
        if !self.props.iter().any(|(p, o)| *p == pred && *o == obj) {
            self.props.push((pred, obj));
        }
    }
    /// A plain literal, unless blank.
    fn lit(&mut self, pred: &'static str, value: &str) {
        if !value.trim().is_empty() {
            self.add(pred, Obj::Lit(value.to_string()));
        }
    }
    /// Properties grouped by predicate, in order of first appearance.
    fn grouped(&self) -> Vec<(&'static str, Vec<&Obj>)> {
        let mut out: Vec<(&'static str, Vec<&Obj>)> = Vec::new();
        for (p, o) in &self.props {
            match out.iter_mut().find(|(q, _)| q == p) {
                Some((_, objs)) => objs.push(o),
                None => out.push((p, vec![o])),
            }
        }
        out
    }
    fn names<'a>(&'a self, acc: &mut Vec<&'a str>) {
        acc.extend(self.types.iter().copied());
        for (p, o) in &self.props {
            acc.push(p);
            match o {
                Obj::Typed(_, dt) => acc.push(dt),
                Obj::Blank(n) => n.names(acc),
                _ => {}
            }
        }
    }
}

#[derive(Default)]
struct Graph {
    nodes: Vec<Node>,
}

impl Graph {
    /// Adds a node, merging it into an earlier one with the same IRI (the same publisher on
    /// several datasets of a catalog page).
    fn push(&mut self, node: Node) {
        if let Some(existing) = self.nodes.iter_mut().find(|n| n.id == node.id) {
            for t in node.types {
                if !existing.types.contains(&t) {
                    existing.types.push(t);
                }
            }
            for (p, o) in node.props {
                existing.add(p, o);
            }
        } else {
            self.nodes.push(node);
        }
    }

    /// The prefixes the graph uses, in [`PREFIXES`] order.
    fn prefixes(&self) -> Vec<(&'static str, &'static str)> {
        let mut names = Vec::new();
        for n in &self.nodes {
            n.names(&mut names);
        }
        PREFIXES
            .iter()
            .copied()
            .filter(|(p, _)| {
                names
                    .iter()
                    .any(|n| n.split_once(':').is_some_and(|(q, _)| q == *p))
            })
            .collect()
    }

    fn turtle(&self) -> String {
        let mut out = String::new();
        for (p, ns) in self.prefixes() {
            out.push_str(&format!("@prefix {p}: <{ns}> .\n"));
        }
        for n in &self.nodes {
            if n.types.is_empty() && n.props.is_empty() {
                continue;
            }
            out.push('\n');
            out.push('<');
            out.push_str(n.id.as_deref().unwrap_or_default());
            out.push_str(">\n    ");
            out.push_str(&turtle_body(n, 1));
            out.push_str(" .\n");
        }
        out
    }

    fn jsonld(&self) -> Value {
        let context: Map<String, Value> = self
            .prefixes()
            .into_iter()
            .map(|(p, ns)| (p.to_string(), Value::String(ns.to_string())))
            .collect();
        let graph: Vec<Value> = self
            .nodes
            .iter()
            .filter(|n| !(n.types.is_empty() && n.props.is_empty()))
            .map(jsonld_node)
            .collect();
        json!({ "@context": context, "@graph": graph })
    }
}

/// `a T ;\n pred obj, obj ; …` at an indent level (four spaces each).
fn turtle_body(n: &Node, level: usize) -> String {
    let pad = "    ".repeat(level);
    let mut lines = Vec::new();
    if !n.types.is_empty() {
        lines.push(format!("a {}", n.types.join(", ")));
    }
    for (p, objs) in n.grouped() {
        let objs: Vec<String> = objs.iter().map(|o| turtle_obj(o, level)).collect();
        lines.push(format!("{p} {}", objs.join(", ")));
    }
    lines.join(&format!(" ;\n{pad}"))
}

fn turtle_obj(o: &Obj, level: usize) -> String {
    match o {
        Obj::Iri(i) => format!("<{i}>"),
        Obj::Lit(s) => turtle_string(s),
        Obj::Lang(s, l) => format!("{}@{l}", turtle_string(s)),
        Obj::Typed(s, dt) => format!("{}^^{dt}", turtle_string(s)),
        Obj::Int(n) => n.to_string(),
        Obj::Blank(n) => format!(
            "[\n{}{}\n{}]",
            "    ".repeat(level + 1),
            turtle_body(n, level + 1),
            "    ".repeat(level)
        ),
    }
}

/// A Turtle `"…"` string: quotes, backslashes and line breaks escaped, other control
/// characters as `\u00XX`; everything else (Vietnamese included) as UTF-8.
fn turtle_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' || c == '\u{7f}' => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn jsonld_node(n: &Node) -> Value {
    let mut m = Map::new();
    if let Some(id) = &n.id {
        m.insert("@id".into(), Value::String(id.clone()));
    }
    if !n.types.is_empty() {
        m.insert("@type".into(), json!(n.types));
    }
    for (p, objs) in n.grouped() {
        let mut values: Vec<Value> = objs.into_iter().map(jsonld_obj).collect();
        let v = if values.len() == 1 {
            values.remove(0)
        } else {
            Value::Array(values)
        };
        m.insert(p.to_string(), v);
    }
    Value::Object(m)
}

fn jsonld_obj(o: &Obj) -> Value {
    match o {
        Obj::Iri(i) => json!({ "@id": i }),
        Obj::Lit(s) => json!({ "@value": s }),
        Obj::Lang(s, l) => json!({ "@value": s, "@language": l }),
        Obj::Typed(s, dt) => json!({ "@value": s, "@type": dt }),
        Obj::Int(n) => json!(n),
        Obj::Blank(n) => jsonld_node(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://data.tphcm.gov.vn/";

    fn sample() -> Value {
        json!({
            "id": "7d1c2a9e-0000-4000-8000-000000000001",
            "name": "chat-luong-khong-khi",
            "title": "Chất lượng không khí",
            "title_translated": {"vi": "Chất lượng không khí", "en": "Air quality"},
            "notes": "Chỉ số AQI theo giờ.",
            "notes_translated": {"vi": "Chỉ số AQI theo giờ.", "en": "Hourly AQI."},
            "url": "https://moitruong.tphcm.gov.vn/aqi",
            "version": "2.1",
            "license_id": "cc-by",
            "license_title": "Creative Commons Attribution",
            "license_url": "http://www.opendefinition.org/licenses/cc-by",
            "maintainer": "Sở Tài nguyên và Môi trường",
            "maintainer_email": "stnmt@tphcm.gov.vn",
            "author": "",
            "author_email": null,
            "metadata_created": "2024-05-01T10:20:30.123456",
            "metadata_modified": "2024-06-02T08:00:00.000001",
            "organization": {"name": "so-tnmt", "title": "Sở Tài nguyên và Môi trường"},
            "tags": [{"name": "không khí"}, {"name": "AQI"}],
            "groups": [{"name": "moi-truong", "title": "Môi trường"}],
            "extras": [
                {"key": "issued", "value": "2024-04-30"},
                {"key": "frequency", "value": "http://purl.org/cld/freq/daily"},
                {"key": "temporal_start", "value": "2023-01-01"},
                {"key": "temporal_end", "value": "2023-12-31T23:59:59"},
                {"key": "spatial_text", "value": "Thành phố Hồ Chí Minh"},
                {"key": "language", "value": "[\"vi\", \"en\"]"}
            ],
            "resources": [{
                "id": "r-1",
                "name": "AQI 2023",
                "description": "Số liệu theo giờ",
                "url": "https://data.tphcm.gov.vn/dataset/x/resource/r-1/download/aqi 2023.csv",
                "format": "CSV",
                "mimetype": "text/csv",
                "size": 10240,
                "created": "2024-05-01T10:20:31.000000",
                "last_modified": "2024-06-01T00:00:00"
            }, {
                "id": "r-2",
                "name": "",
                "url": "data/relative.json",
                "format": "application/json",
                "size": "not a number"
            }]
        })
    }

    #[test]
    fn dataset_triples_are_there() {
        let ttl = dataset_turtle(&sample(), BASE);
        let ds = "<https://data.tphcm.gov.vn/dataset/7d1c2a9e-0000-4000-8000-000000000001>";
        for want in [
            "@prefix dcat: <http://www.w3.org/ns/dcat#> .",
            "@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .",
            &format!("{ds}\n    a dcat:Dataset ;"),
            "dct:title \"Chất lượng không khí\"@vi, \"Air quality\"@en ;",
            "dct:description \"Chỉ số AQI theo giờ.\"@vi, \"Hourly AQI.\"@en ;",
            "dcat:keyword \"không khí\", \"AQI\" ;",
            "dct:identifier \"7d1c2a9e-0000-4000-8000-000000000001\" ;",
            "dct:issued \"2024-04-30\"^^xsd:date ;",
            "dct:modified \"2024-06-02T08:00:00.000001Z\"^^xsd:dateTime ;",
            "dcat:landingPage <https://data.tphcm.gov.vn/dataset/chat-luong-khong-khi> ;",
            "owl:versionInfo \"2.1\" ;",
            "foaf:page <https://moitruong.tphcm.gov.vn/aqi> ;",
            "dct:publisher <https://data.tphcm.gov.vn/organization/so-tnmt> ;",
            "dcat:contactPoint [\n        a vcard:Organization ;\n        vcard:fn \"Sở Tài nguyên và Môi trường\" ;\n        vcard:hasEmail <mailto:stnmt@tphcm.gov.vn>\n    ] ;",
            "dct:accrualPeriodicity <http://purl.org/cld/freq/daily> ;",
            "dcat:startDate \"2023-01-01\"^^xsd:date ;",
            "schema:endDate \"2023-12-31T23:59:59Z\"^^xsd:dateTime",
            "dct:spatial [\n        a dct:Location ;\n        skos:prefLabel \"Thành phố Hồ Chí Minh\"\n    ] ;",
            "dct:language \"vi\", \"en\" ;",
            "dcat:theme <https://data.tphcm.gov.vn/group/moi-truong> ;",
            "dcat:distribution <https://data.tphcm.gov.vn/dataset/7d1c2a9e-0000-4000-8000-000000000001/resource/r-1>, <https://data.tphcm.gov.vn/dataset/7d1c2a9e-0000-4000-8000-000000000001/resource/r-2> .",
            "<https://data.tphcm.gov.vn/organization/so-tnmt>\n    a foaf:Organization, foaf:Agent ;\n    foaf:name \"Sở Tài nguyên và Môi trường\" .",
            "<https://data.tphcm.gov.vn/group/moi-truong>\n    a skos:Concept ;\n    skos:prefLabel \"Môi trường\" .",
            "<http://www.opendefinition.org/licenses/cc-by>\n    a dct:LicenseDocument ;\n    dct:title \"Creative Commons Attribution\" .",
            "a dcat:Distribution ;\n    dct:title \"AQI 2023\" ;\n    dct:description \"Số liệu theo giờ\" ;",
            "dcat:accessURL <https://data.tphcm.gov.vn/dataset/chat-luong-khong-khi/resource/r-1> ;",
            // The space in the file name is percent-encoded.
            "dcat:downloadURL <https://data.tphcm.gov.vn/dataset/x/resource/r-1/download/aqi%202023.csv> ;",
            "dct:format \"CSV\" ;\n    dcat:mediaType \"text/csv\" ;",
            "dcat:byteSize \"10240\"^^xsd:decimal ;",
            "dct:license <http://www.opendefinition.org/licenses/cc-by> ;",
            "dct:issued \"2024-05-01T10:20:31.000000Z\"^^xsd:dateTime ;",
            "dct:modified \"2024-06-01T00:00:00Z\"^^xsd:dateTime .",
        ] {
            assert!(ttl.contains(want), "missing {want}\nin\n{ttl}");
        }
        // Prefixes the graph does not use are not declared.
        assert!(!ttl.contains("@prefix hydra:"), "{ttl}");
        assert!(!ttl.contains("@prefix adms:"), "{ttl}");
        // The second resource: relative URL, empty name and a non-numeric size are left out;
        // its format is a media type, so it becomes dcat:mediaType.
        let r2 = ttl.split("/resource/r-2>\n").nth(1).expect("r-2 node");
        let r2 = r2.split("\n\n").next().unwrap_or_default();
        assert!(r2.contains("dcat:mediaType \"application/json\""), "{r2}");
        for absent in [
            "dct:title",
            "dcat:downloadURL",
            "dcat:byteSize",
            "dct:format",
        ] {
            assert!(!r2.contains(absent), "{absent} in {r2}");
        }
    }

    #[test]
    fn jsonld_has_context_and_graph() {
        let doc = dataset_jsonld(&sample(), BASE);
        assert_eq!(doc["@context"]["dct"], "http://purl.org/dc/terms/");
        assert_eq!(doc["@context"]["xsd"], "http://www.w3.org/2001/XMLSchema#");
        let graph = doc["@graph"].as_array().unwrap();
        let ds = graph
            .iter()
            .find(|n| n["@type"] == json!(["dcat:Dataset"]))
            .unwrap();
        assert_eq!(
            ds["@id"],
            "https://data.tphcm.gov.vn/dataset/7d1c2a9e-0000-4000-8000-000000000001"
        );
        assert_eq!(
            ds["dct:title"],
            json!([
                {"@value": "Chất lượng không khí", "@language": "vi"},
                {"@value": "Air quality", "@language": "en"}
            ])
        );
        assert_eq!(
            ds["dct:modified"],
            json!({"@value": "2024-06-02T08:00:00.000001Z", "@type": "xsd:dateTime"})
        );
        assert_eq!(
            ds["dcat:contactPoint"],
            json!({
                "@type": ["vcard:Organization"],
                "vcard:fn": {"@value": "Sở Tài nguyên và Môi trường"},
                "vcard:hasEmail": {"@id": "mailto:stnmt@tphcm.gov.vn"}
            })
        );
        let dists: Vec<_> = graph
            .iter()
            .filter(|n| n["@type"] == json!(["dcat:Distribution"]))
            .collect();
        assert_eq!(dists.len(), 2);
        assert_eq!(
            dists[0]["dcat:byteSize"],
            json!({"@value": "10240", "@type": "xsd:decimal"})
        );
    }

    #[test]
    fn hostile_text_is_escaped() {
        let pkg = json!({
            "id": "a b/c",
            "name": "x",
            "title": "Say \"hi\" \"\"\" then \\ back\nslash\r\ttab\u{1}bell",
            "notes": "ends with a quote\"",
            "url": "https://example.vn/a>b\"c{d}|e^f`g\\h i",
            "maintainer_email": "a b@example.vn",
            "tags": [{"name": "\"\"\""}],
        });
        let ttl = dataset_turtle(&pkg, "https://data.example.vn");
        assert!(ttl.contains(
            "dct:title \"Say \\\"hi\\\" \\\"\\\"\\\" then \\\\ back\\nslash\\r\\ttab\\u0001bell\" ;"
        ), "{ttl}");
        assert!(
            ttl.contains("dct:description \"ends with a quote\\\"\" ;"),
            "{ttl}"
        );
        assert!(ttl.contains("dcat:keyword \"\\\"\\\"\\\"\" ;"), "{ttl}");
        assert!(
            ttl.contains("<https://example.vn/a%3Eb%22c%7Bd%7D%7Ce%5Ef%60g%5Ch%20i>"),
            "{ttl}"
        );
        assert!(ttl.contains("<mailto:a%20b@example.vn>"), "{ttl}");
        // The id is a path segment: its space and slash are encoded.
        assert!(
            ttl.contains("<https://data.example.vn/dataset/a%20b%2Fc>"),
            "{ttl}"
        );
        // No raw newline inside any literal: every line is a prefix, a subject or a property.
        for line in ttl.lines() {
            assert!(!line.starts_with("slash"), "{ttl}");
        }
        // JSON-LD carries the same text unescaped in its own way.
        let doc = dataset_jsonld(&pkg, "https://data.example.vn");
        assert_eq!(
            doc["@graph"][0]["dct:title"]["@value"],
            "Say \"hi\" \"\"\" then \\ back\nslash\r\ttab\u{1}bell"
        );
    }

    #[test]
    fn missing_fields_leave_no_empty_triples() {
        let pkg = json!({
            "id": "only-id",
            "name": "only-id",
            "title": "",
            "notes": null,
            "tags": [],
            "extras": [{"key": "temporal_start", "value": ""}, {"key": "language", "value": " "}],
            "organization": null,
            "resources": [{"id": "r", "url": "", "size": null, "format": ""}],
            "title_translated": {"vi": "", "en": ""}
        });
        let ttl = dataset_turtle(&pkg, BASE);
        assert!(!ttl.contains("\"\""), "an empty literal in\n{ttl}");
        for absent in [
            "dct:title",
            "dct:description",
            "dcat:keyword",
            "dct:temporal",
            "dct:language",
            "dct:publisher",
            "dcat:contactPoint",
            "dct:issued",
            "dct:modified",
            "dcat:downloadURL",
            "dcat:byteSize",
            "dct:format",
            "dct:license",
            "foaf:",
            "vcard:",
            "schema:",
        ] {
            assert!(!ttl.contains(absent), "{absent} in\n{ttl}");
        }
        assert!(ttl.contains("dct:identifier \"only-id\""), "{ttl}");
        let doc = dataset_jsonld(&pkg, BASE);
        assert!(!doc.to_string().contains("\"\""), "{doc}");
    }

    #[test]
    fn dates() {
        let typed = |s: &str| match date_obj(s) {
            Some(Obj::Typed(v, dt)) => format!("{v} {dt}"),
            other => format!("{other:?}"),
        };
        assert_eq!(
            typed("2024-05-01T10:20:30.123456"),
            "2024-05-01T10:20:30.123456Z xsd:dateTime"
        );
        assert_eq!(
            typed("2024-05-01 10:20"),
            "2024-05-01T10:20:00Z xsd:dateTime"
        );
        assert_eq!(
            typed("2024-05-01T10:20:30+07:00"),
            "2024-05-01T10:20:30+07:00 xsd:dateTime"
        );
        assert_eq!(typed("2024-05-01"), "2024-05-01 xsd:date");
        assert_eq!(typed("2024-05"), "2024-05 xsd:gYearMonth");
        assert_eq!(typed("2024"), "2024 xsd:gYear");
        assert_eq!(typed("2024-02-30"), "Some(Lit(\"2024-02-30\"))");
        assert_eq!(
            typed("2024-05-01T25:00:00"),
            "Some(Lit(\"2024-05-01T25:00:00\"))"
        );
        assert_eq!(typed("hàng năm"), "Some(Lit(\"hàng năm\"))");
        // Multi-byte characters where a date has its separators do not panic.
        for s in [
            "aaaéxy",
            "2024-0é",
            "2024-01-01T00:00:0é",
            "2024-01-01Tđ0:00:00",
        ] {
            assert_eq!(typed(s), format!("Some(Lit({s:?}))"));
        }
        assert_eq!(typed("  "), "None");
    }

    fn catalog() -> CatalogInfo {
        CatalogInfo {
            title: "Cổng dữ liệu mở TP.HCM".into(),
            description: "Dữ liệu mở của Thành phố".into(),
            homepage: "https://data.tphcm.gov.vn".into(),
            language: "vi".into(),
            publisher_name: "UBND TP.HCM".into(),
            modified: Some("2024-06-02T08:00:00.000001".into()),
        }
    }

    #[test]
    fn catalog_lists_its_datasets() {
        let page = Page {
            number: 1,
            per_page: 100,
            total: 1,
        };
        let ttl = catalog_turtle(&catalog(), &[sample()], &page, BASE);
        for want in [
            "<https://data.tphcm.gov.vn>\n    a dcat:Catalog ;\n    dct:title \"Cổng dữ liệu mở TP.HCM\" ;",
            "foaf:homepage <https://data.tphcm.gov.vn> ;",
            "dct:language \"vi\" ;",
            "dct:modified \"2024-06-02T08:00:00.000001Z\"^^xsd:dateTime ;",
            "dct:publisher [\n        a foaf:Organization, foaf:Agent ;\n        foaf:name \"UBND TP.HCM\"\n    ] ;",
            "dcat:dataset <https://data.tphcm.gov.vn/dataset/7d1c2a9e-0000-4000-8000-000000000001> .",
            "a dcat:Dataset ;",
            "a dcat:Distribution ;",
        ] {
            assert!(ttl.contains(want), "missing {want}\nin\n{ttl}");
        }
        let doc = catalog_jsonld(&catalog(), &[sample(), sample()], &page, BASE);
        let graph = doc["@graph"].as_array().unwrap();
        assert_eq!(graph[0]["@type"], json!(["dcat:Catalog"]));
        // The same dataset twice is one node, listed once.
        assert_eq!(
            graph[0]["dcat:dataset"],
            json!({"@id": "https://data.tphcm.gov.vn/dataset/7d1c2a9e-0000-4000-8000-000000000001"})
        );
        let publishers = graph
            .iter()
            .filter(|n| n["@id"] == "https://data.tphcm.gov.vn/organization/so-tnmt")
            .count();
        assert_eq!(publishers, 1);
    }

    fn paging(number: u64, ext: &str) -> Value {
        let page = Page {
            number,
            per_page: 100,
            total: 250,
        };
        let doc = catalog_jsonld(&catalog(), &[], &page, BASE);
        let node = doc["@graph"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["@type"] == json!(["hydra:PagedCollection"]))
            .unwrap()
            .clone();
        assert_eq!(
            node["@id"],
            format!("https://data.tphcm.gov.vn/catalog.{ext}?page={number}")
        );
        node
    }

    fn link(n: u64) -> Value {
        json!({"@id": format!("https://data.tphcm.gov.vn/catalog.jsonld?page={n}")})
    }

    #[test]
    fn paging_links_on_first_middle_and_last_page() {
        let first = paging(1, "jsonld");
        assert_eq!(first["hydra:totalItems"], 250);
        assert_eq!(first["hydra:itemsPerPage"], 100);
        assert_eq!(first["hydra:first"], link(1));
        assert_eq!(first["hydra:firstPage"], link(1));
        assert_eq!(first["hydra:last"], link(3));
        assert_eq!(first["hydra:lastPage"], link(3));
        assert_eq!(first["hydra:next"], link(2));
        assert_eq!(first["hydra:nextPage"], link(2));
        assert!(first.get("hydra:previous").is_none());
        assert!(first.get("hydra:previousPage").is_none());

        let middle = paging(2, "jsonld");
        assert_eq!(middle["hydra:next"], link(3));
        assert_eq!(middle["hydra:previous"], link(1));
        assert_eq!(middle["hydra:previousPage"], link(1));

        let last = paging(3, "jsonld");
        assert!(last.get("hydra:next").is_none());
        assert!(last.get("hydra:nextPage").is_none());
        assert_eq!(last["hydra:previous"], link(2));
        assert_eq!(last["hydra:last"], link(3));

        // Past the end: no next, and previous points back to the last real page.
        let beyond = paging(9, "jsonld");
        assert!(beyond.get("hydra:next").is_none());
        assert_eq!(beyond["hydra:previous"], link(3));

        let page = Page {
            number: 2,
            per_page: 100,
            total: 250,
        };
        let ttl = catalog_turtle(&catalog(), &[], &page, BASE);
        assert!(ttl.contains("@prefix hydra: <http://www.w3.org/ns/hydra/core#> ."));
        for want in [
            "<https://data.tphcm.gov.vn/catalog.ttl?page=2>\n    a hydra:PagedCollection ;",
            "hydra:totalItems 250 ;",
            "hydra:itemsPerPage 100 ;",
            "hydra:first <https://data.tphcm.gov.vn/catalog.ttl?page=1> ;",
            "hydra:last <https://data.tphcm.gov.vn/catalog.ttl?page=3> ;",
            "hydra:next <https://data.tphcm.gov.vn/catalog.ttl?page=3> ;",
            "hydra:previous <https://data.tphcm.gov.vn/catalog.ttl?page=1> ;",
        ] {
            assert!(ttl.contains(want), "missing {want}\nin\n{ttl}");
        }

        // An empty catalog is one page.
        let empty = Page {
            number: 1,
            per_page: 100,
            total: 0,
        };
        assert_eq!(empty.last(), 1);
        let doc = catalog_jsonld(&CatalogInfo::default(), &[], &empty, BASE);
        let node = &doc["@graph"][1];
        assert_eq!(node["hydra:totalItems"], 0);
        assert_eq!(node["hydra:last"], link(1));
        assert!(node.get("hydra:next").is_none());
    }

    #[test]
    fn iri_escaping() {
        assert_eq!(iri_escape("https://x.vn/a b"), "https://x.vn/a%20b");
        assert_eq!(iri_escape("https://x.vn/đường"), "https://x.vn/đường");
        assert_eq!(
            iri_escape("a<>\"{}|^`\\\u{7f}\n"),
            "a%3C%3E%22%7B%7D%7C%5E%60%5C%7F%0A"
        );
        assert_eq!(segment("dân số/2024"), "d%C3%A2n%20s%E1%BB%91%2F2024");
        assert_eq!(absolute_iri("files/a.csv"), None);
        assert_eq!(absolute_iri("dct:title"), None);
        assert_eq!(absolute_iri("javascript:alert(1)"), None);
        assert_eq!(absolute_iri(" https://x.vn "), Some("https://x.vn".into()));
    }
}
