//! The online application form of a procedure (tờ khai điện tử): which fields a resident
//! fills in, and whether what they sent can be accepted.
//!
//! A procedure's form is catalog data, written in a small subset of JSON Schema (below).
//! This module owns that subset: [`FormSpec::parse`] turns it into a typed [`FormSpec`] at
//! import and refuses anything it does not understand, so a typo in the catalog fails the
//! import instead of silently dropping a rule. The web layer renders the spec as an
//! accessible HTML form and hands the submitted strings back to [`FormSpec::validate`],
//! which returns the cleaned, typed values, or every field's error at once as message keys
//! ([`MESSAGE_KEYS`]) for the translation catalog.
//!
//! The subset: a top-level `{"type": "object", "properties": {…}, "required": […]}`, with
//! properties in display order. Each property has `type` (`string`, `integer`, `number`),
//! `title` and `x-title-en` (both required, so the English form never shows Vietnamese
//! silently), and optionally `description` with `x-description-en` (help text, both or
//! neither). By kind:
//!
//! | kind        | schema                                   | extra keywords                  |
//! |-------------|------------------------------------------|---------------------------------|
//! | text        | `string`                                 | `maxLength`, `x-multiline`      |
//! | choice      | `string` with `enum`                     | `x-enum-titles: {vi: […], en: […]}` |
//! | integer     | `integer`                                | `minimum`, `maximum`            |
//! | number      | `number`                                 | `minimum`, `maximum`            |
//! | date        | `string`, `format: date`                 |                                 |
//! | national ID | `string`, `format: national-id`          |                                 |
//! | phone       | `string`, `format: phone`                |                                 |
//! | email       | `string`, `format: email`                |                                 |
//! | ward        | `string`, `format: ward`                 |                                 |
//! | file        | `string`, `format: file`                 | `x-document` (a document id)    |
//!
//! The annotations `$schema`, `$id`, `$comment`, `examples` and `default` are allowed
//! anywhere and ignored; every other keyword is refused.

use std::collections::{BTreeMap, HashSet};
use std::num::IntErrorKind;

use serde::Serialize;
use serde_json::{Map, Number, Value};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{Date, Month};

use crate::geo::WardCode;
use crate::identity::{Email, NationalId, PhoneNumber};

/// An application form: its fields in display order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FormSpec {
    pub fields: Vec<FieldSpec>,
}

/// One field of a form.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldSpec {
    /// The property key, also the HTML input name: `^[a-z][a-z0-9_]{0,63}$`.
    pub name: String,
    pub title_vi: String,
    pub title_en: String,
    pub help_vi: Option<String>,
    pub help_en: Option<String>,
    pub required: bool,
    pub kind: FieldKind,
}

/// What a field holds, with its kind's constraints.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FieldKind {
    /// Free text; at most `max_len` characters ([`DEFAULT_TEXT_MAX_LEN`] when unset).
    Text {
        max_len: Option<usize>,
        multiline: bool,
    },
    Integer {
        min: Option<i64>,
        max: Option<i64>,
    },
    Number {
        min: Option<f64>,
        max: Option<f64>,
    },
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// One of a fixed list of values.
    Select {
        options: Vec<SelectOption>,
    },
    /// A personal ID number (số định danh cá nhân / CCCD).
    NationalId,
    /// A Vietnamese mobile number.
    Phone,
    Email,
    /// A ward, commune or special zone, by its 5-digit code.
    Ward,
    /// An attached or reused document; `document` links it to a document type of the catalog.
    File {
        document: Option<String>,
    },
}

/// One choice of a [`FieldKind::Select`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SelectOption {
    pub value: String,
    pub title_vi: String,
    pub title_en: String,
}

/// Why a form schema was refused at import; `field` is the property at fault, or
/// [`WHOLE_FORM`] for the top level.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("form schema: {field}: {problem}")]
pub struct SchemaError {
    pub field: String,
    pub problem: String,
}

/// The `field` of a [`SchemaError`] about the schema's top level rather than one property.
pub const WHOLE_FORM: &str = "(form)";

/// What validation needs from outside core.
pub trait FormContext {
    /// Whether a ward with this 5-digit code exists (and is current).
    fn ward_exists(&self, code: &str) -> bool;
    /// Today's date in Vietnam.
    fn today(&self) -> Date;
}

/// Field name → message key in the translation catalog.
pub type FieldErrors = BTreeMap<String, &'static str>;

/// The most characters a text field takes when its schema sets no `maxLength`: generous for
/// any answer a form asks for, and a bound on what one field can store.
pub const DEFAULT_TEXT_MAX_LEN: usize = 2000;

/// A date field accepts dates from this many years before today…
pub const DATE_YEARS_BACK: i32 = 150;
/// …to this many years after it (expiry dates, planned events).
pub const DATE_YEARS_AHEAD: i32 = 10;

const REQUIRED: &str = "form-required";
const TOO_LONG: &str = "form-too-long";
const BAD_TEXT: &str = "form-bad-text";
const NOT_INTEGER: &str = "form-not-integer";
const NOT_NUMBER: &str = "form-not-number";
const OUT_OF_RANGE: &str = "form-out-of-range";
const BAD_DATE: &str = "form-bad-date";
const BAD_CHOICE: &str = "form-bad-choice";
const BAD_NATIONAL_ID: &str = "form-bad-national-id";
const BAD_PHONE: &str = "form-bad-phone";
const BAD_EMAIL: &str = "form-bad-email";
const BAD_WARD: &str = "form-bad-ward";

/// Every message key [`FormSpec::validate`] can return, so the web layer can check that
/// each has a text in every language.
pub const MESSAGE_KEYS: [&str; 12] = [
    REQUIRED,
    TOO_LONG,
    BAD_TEXT,
    NOT_INTEGER,
    NOT_NUMBER,
    OUT_OF_RANGE,
    BAD_DATE,
    BAD_CHOICE,
    BAD_NATIONAL_ID,
    BAD_PHONE,
    BAD_EMAIL,
    BAD_WARD,
];

/// Standard JSON Schema annotations: they change nothing about the form, so catalog data
/// may carry them.
const ANNOTATIONS: [&str; 5] = ["$schema", "$id", "$comment", "examples", "default"];

/// Keywords every property may have.
const COMMON_KEYWORDS: [&str; 6] = [
    "type",
    "format",
    "title",
    "x-title-en",
    "description",
    "x-description-en",
];

/// Keywords that belong to some kinds only, with where they belong (for the error).
const KIND_KEYWORDS: [(&str, &str); 7] = [
    ("maxLength", "text fields (type string, no format, no enum)"),
    (
        "x-multiline",
        "text fields (type string, no format, no enum)",
    ),
    ("minimum", "integer and number fields"),
    ("maximum", "integer and number fields"),
    ("enum", "string fields without a format"),
    ("x-enum-titles", "fields with an enum"),
    ("x-document", "file fields (format \"file\")"),
];

const YMD: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");

impl FormSpec {
    /// Reads a form schema from catalog data.
    pub fn parse(schema: &Value) -> Result<FormSpec, SchemaError> {
        let top = schema
            .as_object()
            .ok_or_else(|| schema_error(WHOLE_FORM, "the schema must be a JSON object"))?;
        for key in top.keys() {
            if !matches!(key.as_str(), "type" | "properties" | "required") && !is_annotation(key) {
                return Err(schema_error(WHOLE_FORM, format!("unknown keyword `{key}`")));
            }
        }
        if top.get("type").and_then(Value::as_str) != Some("object") {
            return Err(schema_error(WHOLE_FORM, "`type` must be \"object\""));
        }
        let empty = Map::new();
        let properties = match top.get("properties") {
            None => &empty,
            Some(Value::Object(properties)) => properties,
            Some(_) => {
                return Err(schema_error(
                    WHOLE_FORM,
                    "`properties` must be an object of fields",
                ))
            }
        };
        let required = match top.get("required") {
            None => Vec::new(),
            Some(Value::Array(names)) => names
                .iter()
                .map(|name| {
                    name.as_str().ok_or_else(|| {
                        schema_error(WHOLE_FORM, "`required` must list field names as strings")
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => {
                return Err(schema_error(
                    WHOLE_FORM,
                    "`required` must be a list of field names",
                ))
            }
        };
        if let Some(missing) = required
            .iter()
            .find(|name| !properties.contains_key(**name))
        {
            return Err(schema_error(
                missing,
                "listed in `required` but not among `properties`",
            ));
        }
        let fields = properties
            .iter()
            .map(|(name, property)| parse_field(name, property, required.contains(&name.as_str())))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(FormSpec { fields })
    }

    /// Validates submitted values (HTML form strings; absent = empty). File fields: the web
    /// layer puts a non-empty reference (a blob hash or `"wallet:<id>"`) in `input` when a file
    /// was attached or reused; validation only checks presence if required.
    ///
    /// Returns the cleaned values as typed JSON in form order (integer → number, number →
    /// number, date → "YYYY-MM-DD", national ID and phone in canonical form, email
    /// lowercased, select → value, text trimmed, file → its reference; empty optional
    /// fields omitted), or every field's error at once. Input keys that are not fields
    /// (the CSRF token, buttons) are ignored.
    pub fn validate(
        &self,
        input: &BTreeMap<String, String>,
        ctx: &dyn FormContext,
    ) -> Result<Map<String, Value>, FieldErrors> {
        let mut values = Map::new();
        let mut errors = FieldErrors::new();
        for field in &self.fields {
            let raw = input.get(&field.name).map(String::as_str).unwrap_or("");
            match field.clean(raw, ctx) {
                Ok(Some(value)) => {
                    values.insert(field.name.clone(), value);
                }
                Ok(None) => {}
                Err(key) => {
                    errors.insert(field.name.clone(), key);
                }
            }
        }
        if errors.is_empty() {
            Ok(values)
        } else {
            Err(errors)
        }
    }

    /// File fields (name, linked document id).
    pub fn file_fields(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.fields.iter().filter_map(|field| match &field.kind {
            FieldKind::File { document } => Some((field.name.as_str(), document.as_deref())),
            _ => None,
        })
    }

    pub fn field(&self, name: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|field| field.name == name)
    }
}

impl FieldSpec {
    pub fn title(&self, english: bool) -> &str {
        if english {
            &self.title_en
        } else {
            &self.title_vi
        }
    }

    pub fn help(&self, english: bool) -> Option<&str> {
        if english {
            self.help_en.as_deref()
        } else {
            self.help_vi.as_deref()
        }
    }

    /// The cleaned value of one submitted string: `None` when empty and optional.
    fn clean(&self, raw: &str, ctx: &dyn FormContext) -> Result<Option<Value>, &'static str> {
        let text = raw.trim();
        if text.is_empty() {
            return if self.required {
                Err(REQUIRED)
            } else {
                Ok(None)
            };
        }
        self.kind.clean(text, ctx).map(Some)
    }
}

impl SelectOption {
    pub fn title(&self, english: bool) -> &str {
        if english {
            &self.title_en
        } else {
            &self.title_vi
        }
    }
}

impl FieldKind {
    /// Checks and normalises a non-empty, trimmed value.
    fn clean(&self, text: &str, ctx: &dyn FormContext) -> Result<Value, &'static str> {
        match self {
            FieldKind::Text { max_len, multiline } => {
                clean_text(text, max_len.unwrap_or(DEFAULT_TEXT_MAX_LEN), *multiline)
                    .map(Value::String)
            }
            FieldKind::Integer { min, max } => {
                let n = text.parse::<i64>().map_err(|e| match e.kind() {
                    // Digits only, just too many of them: a number, but out of any range.
                    IntErrorKind::PosOverflow | IntErrorKind::NegOverflow => OUT_OF_RANGE,
                    _ => NOT_INTEGER,
                })?;
                if min.is_some_and(|min| n < min) || max.is_some_and(|max| n > max) {
                    return Err(OUT_OF_RANGE);
                }
                Ok(Value::from(n))
            }
            FieldKind::Number { min, max } => {
                let x = parse_decimal(text).ok_or(NOT_NUMBER)?;
                if min.is_some_and(|min| x < min) || max.is_some_and(|max| x > max) {
                    return Err(OUT_OF_RANGE);
                }
                Number::from_f64(x).map(Value::Number).ok_or(NOT_NUMBER)
            }
            FieldKind::Date => {
                let date = parse_ymd(text).ok_or(BAD_DATE)?;
                let today = ctx.today();
                if date < years_from(today, -DATE_YEARS_BACK)
                    || date > years_from(today, DATE_YEARS_AHEAD)
                {
                    return Err(BAD_DATE);
                }
                // parse_ymd only takes the zero-padded form, so the text is already canonical.
                Ok(Value::String(text.to_owned()))
            }
            FieldKind::Select { options } => options
                .iter()
                .find(|option| option.value == text)
                .map(|option| Value::String(option.value.clone()))
                .ok_or(BAD_CHOICE),
            FieldKind::NationalId => NationalId::parse(text)
                .map(|id| Value::String(id.as_str().to_owned()))
                .map_err(|_| BAD_NATIONAL_ID),
            FieldKind::Phone => PhoneNumber::parse(text)
                .map(|phone| Value::String(phone.as_str().to_owned()))
                .map_err(|_| BAD_PHONE),
            FieldKind::Email => Email::parse(text)
                .map(|email| Value::String(email.as_str().to_owned()))
                .map_err(|_| BAD_EMAIL),
            FieldKind::Ward => WardCode::parse(text)
                .ok()
                .filter(|ward| ctx.ward_exists(ward.as_str()))
                .map(|ward| Value::String(ward.as_str().to_owned()))
                .ok_or(BAD_WARD),
            // The web layer checked the upload itself; here only its presence matters.
            FieldKind::File { .. } => Ok(Value::String(text.to_owned())),
        }
    }
}

fn clean_text(text: &str, max_len: usize, multiline: bool) -> Result<String, &'static str> {
    let text = if multiline {
        // Browsers submit textarea line breaks as CRLF; store one kind of line break, and
        // count it as one character as the browser's own maxlength does.
        text.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        text.to_owned()
    };
    if text.chars().count() > max_len {
        return Err(TOO_LONG);
    }
    let allowed = |c: char| multiline && (c == '\n' || c == '\t');
    if text.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(BAD_TEXT);
    }
    Ok(text)
}

/// A plain decimal, with `.` or `,` (the Vietnamese habit) as the decimal separator. No
/// exponents, `inf` or `NaN`: Rust's float syntax is wider than what a person types.
fn parse_decimal(text: &str) -> Option<f64> {
    let plain = text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b','));
    if !plain || !text.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    let x: f64 = text.replace(',', ".").parse().ok()?;
    // `+ 0.0` turns "-0" into 0, so the stored value has one zero.
    x.is_finite().then_some(x + 0.0)
}

/// A date written exactly `YYYY-MM-DD`, as `<input type="date">` submits it.
fn parse_ymd(text: &str) -> Option<Date> {
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shaped {
        return None;
    }
    Date::parse(text, YMD).ok()
}

/// The same day `years` years away; 29 February becomes 28 February in a common year.
fn years_from(day: Date, years: i32) -> Date {
    let year = day.year() + years;
    day.replace_year(year)
        .or_else(|_| Date::from_calendar_date(year, Month::February, 28))
        // Only outside the years `time` can represent, nowhere near a real today.
        .unwrap_or(day)
}

fn schema_error(field: &str, problem: impl Into<String>) -> SchemaError {
    SchemaError {
        field: field.to_owned(),
        problem: problem.into(),
    }
}

fn is_annotation(key: &str) -> bool {
    ANNOTATIONS.contains(&key)
}

fn is_field_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (1..=64).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
}

/// The kind a property declares, before its constraints are read.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Text,
    Integer,
    Number,
    Date,
    Select,
    NationalId,
    Phone,
    Email,
    Ward,
    File,
}

impl Shape {
    fn of(name: &str, property: &Map<String, Value>) -> Result<Shape, SchemaError> {
        let ty = match property.get("type") {
            None => return Err(schema_error(name, "`type` is missing")),
            Some(ty) => ty
                .as_str()
                .ok_or_else(|| schema_error(name, "`type` must be a single type name"))?,
        };
        let format = match property.get("format") {
            None => None,
            Some(format) => Some(
                format
                    .as_str()
                    .ok_or_else(|| schema_error(name, "`format` must be a string"))?,
            ),
        };
        match (ty, format) {
            ("string", None) if property.contains_key("enum") => Ok(Shape::Select),
            ("string", None) => Ok(Shape::Text),
            ("string", Some("date")) => Ok(Shape::Date),
            ("string", Some("national-id")) => Ok(Shape::NationalId),
            ("string", Some("phone")) => Ok(Shape::Phone),
            ("string", Some("email")) => Ok(Shape::Email),
            ("string", Some("ward")) => Ok(Shape::Ward),
            ("string", Some("file")) => Ok(Shape::File),
            ("string", Some(other)) => Err(schema_error(
                name,
                format!(
                    "unknown format `{other}`: use date, national-id, phone, email, ward or file"
                ),
            )),
            ("integer" | "number", Some(_)) => Err(schema_error(
                name,
                format!("`format` does not apply to {ty} fields"),
            )),
            ("integer", None) => Ok(Shape::Integer),
            ("number", None) => Ok(Shape::Number),
            (other, _) => Err(schema_error(
                name,
                format!("unsupported type `{other}`: use string, integer or number"),
            )),
        }
    }

    fn keywords(self) -> &'static [&'static str] {
        match self {
            Shape::Text => &["maxLength", "x-multiline"],
            Shape::Integer | Shape::Number => &["minimum", "maximum"],
            Shape::Select => &["enum", "x-enum-titles"],
            Shape::File => &["x-document"],
            Shape::Date | Shape::NationalId | Shape::Phone | Shape::Email | Shape::Ward => &[],
        }
    }
}

fn parse_field(name: &str, property: &Value, required: bool) -> Result<FieldSpec, SchemaError> {
    if !is_field_name(name) {
        return Err(schema_error(
            name,
            "a field name is 1–64 characters of a–z, 0–9 and _, starting with a letter",
        ));
    }
    let property = property
        .as_object()
        .ok_or_else(|| schema_error(name, "a property must be a JSON object"))?;
    for key in property.keys() {
        let known = COMMON_KEYWORDS.contains(&key.as_str())
            || KIND_KEYWORDS.iter().any(|(keyword, _)| keyword == key)
            || is_annotation(key);
        if !known {
            return Err(schema_error(name, format!("unknown keyword `{key}`")));
        }
    }
    let shape = Shape::of(name, property)?;
    for (keyword, belongs_to) in KIND_KEYWORDS {
        if property.contains_key(keyword) && !shape.keywords().contains(&keyword) {
            return Err(schema_error(
                name,
                format!("`{keyword}` only applies to {belongs_to}"),
            ));
        }
    }

    let title_vi = text_keyword(name, property, "title")?
        .ok_or_else(|| schema_error(name, "`title` is missing"))?;
    let title_en = text_keyword(name, property, "x-title-en")?
        .ok_or_else(|| schema_error(name, "`x-title-en` is missing"))?;
    let help_vi = text_keyword(name, property, "description")?;
    let help_en = text_keyword(name, property, "x-description-en")?;
    if help_vi.is_some() != help_en.is_some() {
        return Err(schema_error(
            name,
            "`description` and `x-description-en` go together: give both or neither",
        ));
    }

    let kind = match shape {
        Shape::Text => FieldKind::Text {
            max_len: max_length(name, property)?,
            multiline: match property.get("x-multiline") {
                None => false,
                Some(Value::Bool(multiline)) => *multiline,
                Some(_) => return Err(schema_error(name, "`x-multiline` must be true or false")),
            },
        },
        Shape::Integer => {
            let min = integer_bound(name, property, "minimum")?;
            let max = integer_bound(name, property, "maximum")?;
            check_bounds(name, min, max)?;
            FieldKind::Integer { min, max }
        }
        Shape::Number => {
            let min = number_bound(name, property, "minimum")?;
            let max = number_bound(name, property, "maximum")?;
            check_bounds(name, min, max)?;
            FieldKind::Number { min, max }
        }
        Shape::Date => FieldKind::Date,
        Shape::Select => FieldKind::Select {
            options: select_options(name, property)?,
        },
        Shape::NationalId => FieldKind::NationalId,
        Shape::Phone => FieldKind::Phone,
        Shape::Email => FieldKind::Email,
        Shape::Ward => FieldKind::Ward,
        Shape::File => FieldKind::File {
            document: text_keyword(name, property, "x-document")?,
        },
    };

    Ok(FieldSpec {
        name: name.to_owned(),
        title_vi,
        title_en,
        help_vi,
        help_en,
        required,
        kind,
    })
}

/// A keyword whose value is non-blank text, trimmed; `None` when absent.
fn text_keyword(
    name: &str,
    property: &Map<String, Value>,
    keyword: &str,
) -> Result<Option<String>, SchemaError> {
    match property.get(keyword) {
        None => Ok(None),
        Some(Value::String(text)) if !text.trim().is_empty() => Ok(Some(text.trim().to_owned())),
        Some(_) => Err(schema_error(
            name,
            format!("`{keyword}` must be a non-empty string"),
        )),
    }
}

fn max_length(name: &str, property: &Map<String, Value>) -> Result<Option<usize>, SchemaError> {
    match property.get("maxLength") {
        None => Ok(None),
        Some(value) => value
            .as_u64()
            .filter(|n| *n >= 1)
            .and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| schema_error(name, "`maxLength` must be a whole number of at least 1")),
    }
}

fn integer_bound(
    name: &str,
    property: &Map<String, Value>,
    keyword: &str,
) -> Result<Option<i64>, SchemaError> {
    match property.get(keyword) {
        None => Ok(None),
        Some(value) => value.as_i64().map(Some).ok_or_else(|| {
            schema_error(
                name,
                format!("`{keyword}` of an integer field must be a whole number"),
            )
        }),
    }
}

fn number_bound(
    name: &str,
    property: &Map<String, Value>,
    keyword: &str,
) -> Result<Option<f64>, SchemaError> {
    match property.get(keyword) {
        None => Ok(None),
        Some(value) => value
            .as_f64()
            .map(Some)
            .ok_or_else(|| schema_error(name, format!("`{keyword}` must be a number"))),
    }
}

fn check_bounds<T: PartialOrd>(
    name: &str,
    min: Option<T>,
    max: Option<T>,
) -> Result<(), SchemaError> {
    match (min, max) {
        (Some(min), Some(max)) if min > max => {
            Err(schema_error(name, "`minimum` is greater than `maximum`"))
        }
        _ => Ok(()),
    }
}

fn select_options(
    name: &str,
    property: &Map<String, Value>,
) -> Result<Vec<SelectOption>, SchemaError> {
    let values = property
        .get("enum")
        .and_then(Value::as_array)
        .filter(|values| !values.is_empty())
        .ok_or_else(|| schema_error(name, "`enum` must be a non-empty list"))?;
    let mut seen = HashSet::new();
    let values = values
        .iter()
        .map(|value| match value.as_str() {
            // Submitted values are trimmed, so a value with spaces around it could never match.
            Some(value) if !value.is_empty() && value.trim() == value => {
                if seen.insert(value) {
                    Ok(value.to_owned())
                } else {
                    Err(schema_error(name, format!("`enum` lists `{value}` twice")))
                }
            }
            _ => Err(schema_error(
                name,
                "`enum` values must be non-empty strings without surrounding spaces",
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;

    let (titles_vi, titles_en) = match property.get("x-enum-titles") {
        None => (values.clone(), values.clone()),
        Some(Value::Object(titles)) => {
            if let Some(key) = titles.keys().find(|key| *key != "vi" && *key != "en") {
                return Err(schema_error(
                    name,
                    format!("unknown key `{key}` in `x-enum-titles`: use vi and en"),
                ));
            }
            (
                enum_titles(name, titles, "vi", values.len())?,
                enum_titles(name, titles, "en", values.len())?,
            )
        }
        Some(_) => {
            return Err(schema_error(
                name,
                "`x-enum-titles` must be an object with vi and en lists",
            ))
        }
    };

    Ok(values
        .into_iter()
        .zip(titles_vi)
        .zip(titles_en)
        .map(|((value, title_vi), title_en)| SelectOption {
            value,
            title_vi,
            title_en,
        })
        .collect())
}

fn enum_titles(
    name: &str,
    titles: &Map<String, Value>,
    language: &str,
    count: usize,
) -> Result<Vec<String>, SchemaError> {
    let wrong = || {
        schema_error(
            name,
            format!(
                "`x-enum-titles.{language}` must list {count} non-empty titles, one per `enum` value"
            ),
        )
    };
    let list = titles
        .get(language)
        .and_then(Value::as_array)
        .filter(|list| list.len() == count)
        .ok_or_else(wrong)?;
    list.iter()
        .map(|title| {
            title
                .as_str()
                .map(str::trim)
                .filter(|title| !title.is_empty())
                .map(str::to_owned)
                .ok_or_else(wrong)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::date;

    struct Ctx {
        today: Date,
    }

    impl FormContext for Ctx {
        fn ward_exists(&self, code: &str) -> bool {
            matches!(code, "26740" | "00004")
        }
        fn today(&self) -> Date {
            self.today
        }
    }

    const CTX: Ctx = Ctx {
        today: date!(2025 - 07 - 15),
    };

    /// The birth registration form of the catalog example, one field of every kind.
    fn birth_schema() -> Value {
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://example.invalid/forms/khai-sinh",
            "type": "object",
            "required": ["child_name", "birth_date", "birth_proof", "ward"],
            "properties": {
                "child_name": {"type": "string", "title": "Họ, chữ đệm và tên của trẻ",
                    "x-title-en": "Child's full name", "maxLength": 100,
                    "description": "Viết có dấu", "x-description-en": "With Vietnamese diacritics",
                    "examples": ["Nguyễn Văn An"]},
                "birth_date": {"type": "string", "format": "date", "title": "Ngày sinh",
                    "x-title-en": "Date of birth", "$comment": "no future births, but see DATE_YEARS_AHEAD"},
                "sex": {"type": "string", "enum": ["nam", "nu"],
                    "x-enum-titles": {"vi": ["Nam", "Nữ"], "en": ["Male", "Female"]},
                    "title": "Giới tính", "x-title-en": "Sex"},
                "copies": {"type": "integer", "minimum": 0, "maximum": 10,
                    "title": "Số bản sao", "x-title-en": "Number of copies", "default": 1},
                "area": {"type": "number", "minimum": 0, "title": "Diện tích (m²)", "x-title-en": "Area (m²)"},
                "mother_id": {"type": "string", "format": "national-id",
                    "title": "Số định danh của mẹ", "x-title-en": "Mother's ID number"},
                "phone": {"type": "string", "format": "phone", "title": "Số điện thoại", "x-title-en": "Phone"},
                "email": {"type": "string", "format": "email", "title": "Thư điện tử", "x-title-en": "Email"},
                "ward": {"type": "string", "format": "ward", "title": "Phường, xã nơi đăng ký",
                    "x-title-en": "Ward of registration"},
                "birth_proof": {"type": "string", "format": "file", "x-document": "giay-chung-sinh",
                    "title": "Giấy chứng sinh", "x-title-en": "Birth certificate from the hospital"},
                "note": {"type": "string", "maxLength": 1000, "x-multiline": true,
                    "title": "Ghi chú", "x-title-en": "Note"}
            }
        })
    }

    fn birth_form() -> FormSpec {
        FormSpec::parse(&birth_schema()).unwrap()
    }

    fn input(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// A complete, valid submission of the birth form.
    fn good_input() -> BTreeMap<String, String> {
        input(&[
            ("csrf_token", "abc123"),
            ("child_name", "  Nguyễn Văn An "),
            ("birth_date", "2025-07-01"),
            ("sex", "nu"),
            ("copies", " 2 "),
            ("area", "12,5"),
            ("mother_id", "079 190 000 001"),
            ("phone", "+84 912 345 678"),
            ("email", " An.Nguyen@Example.VN "),
            ("ward", "26740"),
            ("birth_proof", "sha256:0f1e2d"),
            ("note", "Dòng một\r\nDòng hai\tcó tab"),
        ])
    }

    /// A form of one field `f`, optional unless `required`.
    fn one_field(property: Value, required: bool) -> FormSpec {
        let required = if required { json!(["f"]) } else { json!([]) };
        FormSpec::parse(
            &json!({"type": "object", "required": required, "properties": {"f": property}}),
        )
        .unwrap()
    }

    /// Validates one value of a one-field form: the cleaned value, or the message key.
    fn check(form: &FormSpec, value: &str) -> Result<Option<Value>, &'static str> {
        form.validate(&input(&[("f", value)]), &CTX)
            .map(|mut values| values.remove("f"))
            .map_err(|errors| errors["f"])
    }

    fn titled(mut property: Value) -> Value {
        property["title"] = json!("Tiêu đề");
        property["x-title-en"] = json!("Title");
        property
    }

    // ---- parsing -------------------------------------------------------------------------

    #[test]
    fn serde_json_keeps_schema_order() {
        // Display order is the schema's property order; without serde_json's
        // `preserve_order` feature every form would come out in alphabetical order.
        let map: Map<String, Value> = serde_json::from_str(r#"{"b": 1, "a": 2}"#).unwrap();
        assert_eq!(
            map.keys().collect::<Vec<_>>(),
            ["b", "a"],
            "enable serde_json's preserve_order feature"
        );
    }

    #[test]
    fn fields_come_in_schema_order() {
        let form = birth_form();
        let names: Vec<&str> = form.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "child_name",
                "birth_date",
                "sex",
                "copies",
                "area",
                "mother_id",
                "phone",
                "email",
                "ward",
                "birth_proof",
                "note"
            ]
        );
    }

    #[test]
    fn every_kind_is_read_with_its_constraints() {
        let form = birth_form();
        let kind = |name: &str| form.field(name).unwrap().kind.clone();
        assert_eq!(
            kind("child_name"),
            FieldKind::Text {
                max_len: Some(100),
                multiline: false
            }
        );
        assert_eq!(kind("birth_date"), FieldKind::Date);
        assert_eq!(
            kind("sex"),
            FieldKind::Select {
                options: vec![
                    SelectOption {
                        value: "nam".into(),
                        title_vi: "Nam".into(),
                        title_en: "Male".into()
                    },
                    SelectOption {
                        value: "nu".into(),
                        title_vi: "Nữ".into(),
                        title_en: "Female".into()
                    },
                ]
            }
        );
        assert_eq!(
            kind("copies"),
            FieldKind::Integer {
                min: Some(0),
                max: Some(10)
            }
        );
        assert_eq!(
            kind("area"),
            FieldKind::Number {
                min: Some(0.0),
                max: None
            }
        );
        assert_eq!(kind("mother_id"), FieldKind::NationalId);
        assert_eq!(kind("phone"), FieldKind::Phone);
        assert_eq!(kind("email"), FieldKind::Email);
        assert_eq!(kind("ward"), FieldKind::Ward);
        assert_eq!(
            kind("birth_proof"),
            FieldKind::File {
                document: Some("giay-chung-sinh".into())
            }
        );
        assert_eq!(
            kind("note"),
            FieldKind::Text {
                max_len: Some(1000),
                multiline: true
            }
        );
        assert_eq!(
            one_field(titled(json!({"type": "string"})), false).fields[0].kind,
            FieldKind::Text {
                max_len: None,
                multiline: false
            }
        );
        assert_eq!(
            one_field(titled(json!({"type": "string", "format": "file"})), false).fields[0].kind,
            FieldKind::File { document: None }
        );
    }

    #[test]
    fn required_comes_from_the_required_list() {
        let form = birth_form();
        let required: Vec<&str> = form
            .fields
            .iter()
            .filter(|f| f.required)
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(
            required,
            ["child_name", "birth_date", "ward", "birth_proof"]
        );
        let no_list =
            json!({"type": "object", "properties": {"f": titled(json!({"type": "string"}))}});
        assert!(!FormSpec::parse(&no_list).unwrap().fields[0].required);
        assert_eq!(
            FormSpec::parse(&json!({"type": "object"})).unwrap(),
            FormSpec { fields: vec![] }
        );
    }

    #[test]
    fn titles_and_help_in_both_languages() {
        let form = birth_form();
        let name = form.field("child_name").unwrap();
        assert_eq!(name.title(false), "Họ, chữ đệm và tên của trẻ");
        assert_eq!(name.title(true), "Child's full name");
        assert_eq!(name.help(false), Some("Viết có dấu"));
        assert_eq!(name.help(true), Some("With Vietnamese diacritics"));
        assert_eq!(form.field("birth_date").unwrap().help(true), None);
        assert!(form.field("csrf_token").is_none());

        let FieldKind::Select { options } = &form.field("sex").unwrap().kind else {
            panic!("sex is a select");
        };
        assert_eq!(options[1].title(false), "Nữ");
        assert_eq!(options[1].title(true), "Female");

        // Without x-enum-titles, an option's title is its value.
        let plain = one_field(titled(json!({"type": "string", "enum": ["A", "B"]})), false);
        let FieldKind::Select { options } = &plain.fields[0].kind else {
            panic!("a select");
        };
        assert_eq!(
            (options[0].title(false), options[0].title(true)),
            ("A", "A")
        );
    }

    #[test]
    fn file_fields_list_their_documents() {
        let mut schema = birth_schema();
        schema["properties"]["photo"] = titled(json!({"type": "string", "format": "file"}));
        let form = FormSpec::parse(&schema).unwrap();
        assert_eq!(
            form.file_fields().collect::<Vec<_>>(),
            [("birth_proof", Some("giay-chung-sinh")), ("photo", None)]
        );
    }

    #[test]
    fn specs_serialize_with_a_kind_tag() {
        let form = birth_form();
        let json = serde_json::to_value(&form).unwrap();
        assert_eq!(
            json["fields"][0],
            json!({
                "name": "child_name", "title_vi": "Họ, chữ đệm và tên của trẻ",
                "title_en": "Child's full name", "help_vi": "Viết có dấu",
                "help_en": "With Vietnamese diacritics", "required": true,
                "kind": {"kind": "text", "max_len": 100, "multiline": false}
            })
        );
        assert_eq!(json["fields"][5]["kind"], json!({"kind": "national_id"}));
        assert_eq!(
            json["fields"][9]["kind"],
            json!({"kind": "file", "document": "giay-chung-sinh"})
        );
        assert_eq!(
            json["fields"][2]["kind"]["options"][0],
            json!({"value": "nam", "title_vi": "Nam", "title_en": "Male"})
        );
    }

    // ---- parse errors --------------------------------------------------------------------

    fn parse_error(schema: Value) -> SchemaError {
        FormSpec::parse(&schema).expect_err("the schema should be refused")
    }

    /// The error for a form whose one field `f` has this property.
    fn field_error(property: Value) -> SchemaError {
        parse_error(json!({"type": "object", "properties": {"f": property}}))
    }

    fn assert_refused(error: SchemaError, field: &str, problem_contains: &str) {
        assert_eq!(error.field, field, "{error}");
        assert!(
            error.problem.contains(problem_contains),
            "{error:?} should mention {problem_contains:?}"
        );
    }

    #[test]
    fn the_top_level_must_be_an_object_form() {
        assert_refused(parse_error(json!([])), WHOLE_FORM, "JSON object");
        assert_refused(parse_error(json!({"properties": {}})), WHOLE_FORM, "`type`");
        assert_refused(parse_error(json!({"type": "array"})), WHOLE_FORM, "`type`");
        assert_refused(
            parse_error(json!({"type": "object", "additionalProperties": false})),
            WHOLE_FORM,
            "unknown keyword `additionalProperties`",
        );
        assert_refused(
            parse_error(json!({"type": "object", "properties": []})),
            WHOLE_FORM,
            "`properties`",
        );
        assert_refused(
            parse_error(json!({"type": "object", "required": "f"})),
            WHOLE_FORM,
            "`required`",
        );
        assert_refused(
            parse_error(json!({"type": "object", "required": [1]})),
            WHOLE_FORM,
            "`required`",
        );
        assert_refused(
            parse_error(json!({"type": "object", "required": ["ghost"], "properties": {}})),
            "ghost",
            "not among `properties`",
        );
        // Annotations are fine anywhere.
        let annotated = json!({"type": "object", "$comment": "x", "default": {}, "examples": [],
            "properties": {"f": titled(json!({"type": "string", "$id": "f", "default": "a"}))}});
        assert!(FormSpec::parse(&annotated).is_ok());
    }

    #[test]
    fn field_names_are_checked() {
        for bad in ["Child", "1st", "_x", "a-b", "tên", ""] {
            let schema =
                json!({"type": "object", "properties": {bad: titled(json!({"type": "string"}))}});
            assert_refused(parse_error(schema), bad, "field name");
        }
        let longest = format!("a{}", "b".repeat(63));
        let too_long = format!("a{}", "b".repeat(64));
        let schema = |name: &str| json!({"type": "object", "properties": {name: titled(json!({"type": "string"}))}});
        assert!(FormSpec::parse(&schema(&longest)).is_ok());
        assert_refused(parse_error(schema(&too_long)), &too_long, "field name");
        assert!(FormSpec::parse(&schema("so_ban_sao_2")).is_ok());
    }

    #[test]
    fn titles_are_required_in_both_languages() {
        assert_refused(field_error(json!("string")), "f", "JSON object");
        assert_refused(
            field_error(json!({"type": "string", "x-title-en": "Name"})),
            "f",
            "`title` is missing",
        );
        assert_refused(
            field_error(json!({"type": "string", "title": "Tên"})),
            "f",
            "`x-title-en` is missing",
        );
        assert_refused(
            field_error(json!({"type": "string", "title": "  ", "x-title-en": "Name"})),
            "f",
            "`title` must be a non-empty string",
        );
        assert_refused(
            field_error(json!({"type": "string", "title": "Tên", "x-title-en": 1})),
            "f",
            "`x-title-en` must be a non-empty string",
        );
        assert_refused(
            field_error(titled(json!({"type": "string", "description": "Gợi ý"}))),
            "f",
            "give both or neither",
        );
        assert_refused(
            field_error(titled(
                json!({"type": "string", "x-description-en": "Hint"}),
            )),
            "f",
            "give both or neither",
        );
    }

    #[test]
    fn unknown_keywords_are_refused_by_name() {
        for (keyword, value) in [
            ("maxlength", json!(10)),
            ("minLength", json!(1)),
            ("pattern", json!("^a$")),
            ("x-title-fr", json!("Nom")),
            ("readOnly", json!(true)),
        ] {
            let mut property = titled(json!({"type": "string"}));
            property[keyword] = value;
            assert_refused(
                field_error(property),
                "f",
                &format!("unknown keyword `{keyword}`"),
            );
        }
        // The error names the property in the whole schema too.
        let mut schema = birth_schema();
        schema["properties"]["copies"]["exclusiveMaximum"] = json!(10);
        let error = parse_error(schema);
        assert_eq!(
            error.to_string(),
            "form schema: copies: unknown keyword `exclusiveMaximum`"
        );
    }

    #[test]
    fn types_and_formats_are_checked() {
        assert_refused(field_error(titled(json!({}))), "f", "`type` is missing");
        assert_refused(
            field_error(titled(json!({"type": ["string", "null"]}))),
            "f",
            "single type name",
        );
        for ty in ["boolean", "array", "object", "null"] {
            assert_refused(
                field_error(titled(json!({"type": ty}))),
                "f",
                &format!("unsupported type `{ty}`"),
            );
        }
        assert_refused(
            field_error(titled(json!({"type": "string", "format": "date-time"}))),
            "f",
            "unknown format `date-time`",
        );
        assert_refused(
            field_error(titled(json!({"type": "string", "format": 1}))),
            "f",
            "`format` must be a string",
        );
        assert_refused(
            field_error(titled(json!({"type": "integer", "format": "int32"}))),
            "f",
            "`format` does not apply to integer",
        );
    }

    #[test]
    fn kind_keywords_only_where_they_apply() {
        for (property, keyword) in [
            (json!({"type": "integer", "maxLength": 3}), "maxLength"),
            (
                json!({"type": "string", "format": "email", "maxLength": 3}),
                "maxLength",
            ),
            (
                json!({"type": "string", "format": "date", "x-multiline": true}),
                "x-multiline",
            ),
            (json!({"type": "string", "minimum": 0}), "minimum"),
            (
                json!({"type": "string", "format": "date", "maximum": 0}),
                "maximum",
            ),
            (
                json!({"type": "string", "enum": ["a"], "maxLength": 3}),
                "maxLength",
            ),
            (
                json!({"type": "string", "format": "ward", "enum": ["26740"]}),
                "enum",
            ),
            (json!({"type": "integer", "enum": [1, 2]}), "enum"),
            (
                json!({"type": "string", "x-enum-titles": {"vi": [], "en": []}}),
                "x-enum-titles",
            ),
            (
                json!({"type": "string", "x-document": "giay-chung-sinh"}),
                "x-document",
            ),
            (
                json!({"type": "string", "format": "national-id", "x-document": "cccd"}),
                "x-document",
            ),
        ] {
            assert_refused(
                field_error(titled(property)),
                "f",
                &format!("`{keyword}` only applies to"),
            );
        }
        assert_refused(
            field_error(titled(
                json!({"type": "string", "format": "date", "x-document": "a"}),
            )),
            "f",
            "file fields",
        );
    }

    #[test]
    fn constraint_values_are_checked() {
        for bad in [json!(0), json!(-1), json!(1.5), json!("10"), json!(null)] {
            assert_refused(
                field_error(titled(json!({"type": "string", "maxLength": bad}))),
                "f",
                "`maxLength`",
            );
        }
        assert_refused(
            field_error(titled(json!({"type": "string", "x-multiline": "yes"}))),
            "f",
            "`x-multiline` must be true or false",
        );
        assert_refused(
            field_error(titled(json!({"type": "integer", "minimum": 0.5}))),
            "f",
            "`minimum` of an integer field must be a whole number",
        );
        assert_refused(
            field_error(titled(json!({"type": "integer", "maximum": "10"}))),
            "f",
            "`maximum`",
        );
        assert_refused(
            field_error(titled(json!({"type": "number", "minimum": "0"}))),
            "f",
            "`minimum` must be a number",
        );
        assert_refused(
            field_error(titled(
                json!({"type": "integer", "minimum": 5, "maximum": 4}),
            )),
            "f",
            "`minimum` is greater than `maximum`",
        );
        assert_refused(
            field_error(titled(
                json!({"type": "number", "minimum": 0.5, "maximum": 0.25}),
            )),
            "f",
            "`minimum` is greater than `maximum`",
        );
        // Equal bounds are a single allowed value, not an error.
        assert!(FormSpec::parse(&json!({"type": "object", "properties": {
            "f": titled(json!({"type": "integer", "minimum": 3, "maximum": 3}))}}))
        .is_ok());
        assert_refused(
            field_error(titled(
                json!({"type": "string", "format": "file", "x-document": ""}),
            )),
            "f",
            "`x-document` must be a non-empty string",
        );
        assert_refused(
            field_error(titled(
                json!({"type": "string", "format": "file", "x-document": 7}),
            )),
            "f",
            "`x-document` must be a non-empty string",
        );
    }

    #[test]
    fn enums_and_their_titles_are_checked() {
        let select = |enum_: Value, titles: Option<Value>| {
            let mut property = titled(json!({"type": "string", "enum": enum_}));
            if let Some(titles) = titles {
                property["x-enum-titles"] = titles;
            }
            field_error(property)
        };
        assert_refused(select(json!([]), None), "f", "non-empty list");
        assert_refused(select(json!("nam"), None), "f", "non-empty list");
        assert_refused(select(json!(["nam", 1]), None), "f", "non-empty strings");
        assert_refused(select(json!(["nam", ""]), None), "f", "non-empty strings");
        assert_refused(
            select(json!(["nam", " nu"]), None),
            "f",
            "surrounding spaces",
        );
        assert_refused(
            select(json!(["nam", "nu", "nam"]), None),
            "f",
            "`nam` twice",
        );
        assert_refused(
            select(
                json!(["nam", "nu"]),
                Some(json!({"vi": ["Nam"], "en": ["Male", "Female"]})),
            ),
            "f",
            "`x-enum-titles.vi` must list 2",
        );
        assert_refused(
            select(json!(["nam", "nu"]), Some(json!({"vi": ["Nam", "Nữ"]}))),
            "f",
            "`x-enum-titles.en` must list 2",
        );
        assert_refused(
            select(
                json!(["nam", "nu"]),
                Some(json!({"vi": ["Nam", "Nữ"], "en": ["Male", 2]})),
            ),
            "f",
            "`x-enum-titles.en`",
        );
        assert_refused(
            select(
                json!(["nam", "nu"]),
                Some(json!({"vi": ["Nam", ""], "en": ["Male", "Female"]})),
            ),
            "f",
            "`x-enum-titles.vi`",
        );
        assert_refused(
            select(
                json!(["nam", "nu"]),
                Some(json!({"vi": ["Nam", "Nữ"], "en": ["Male", "Female"], "fr": ["M", "F"]})),
            ),
            "f",
            "unknown key `fr`",
        );
        assert_refused(
            select(json!(["nam", "nu"]), Some(json!([["Nam", "Nữ"]]))),
            "f",
            "`x-enum-titles` must be an object",
        );
    }

    // ---- validation ----------------------------------------------------------------------

    #[test]
    fn a_good_submission_comes_back_cleaned_and_typed() {
        let values = birth_form().validate(&good_input(), &CTX).unwrap();
        assert_eq!(
            Value::Object(values.clone()),
            json!({
                "child_name": "Nguyễn Văn An",
                "birth_date": "2025-07-01",
                "sex": "nu",
                "copies": 2,
                "area": 12.5,
                "mother_id": "079190000001",
                "phone": "0912345678",
                "email": "an.nguyen@example.vn",
                "ward": "26740",
                "birth_proof": "sha256:0f1e2d",
                "note": "Dòng một\nDòng hai\tcó tab"
            })
        );
        // In form order, and typed: integers stay integers, numbers are numbers.
        assert_eq!(
            values.keys().map(String::as_str).collect::<Vec<_>>(),
            [
                "child_name",
                "birth_date",
                "sex",
                "copies",
                "area",
                "mother_id",
                "phone",
                "email",
                "ward",
                "birth_proof",
                "note"
            ]
        );
        assert!(values["copies"].is_i64());
        assert!(values["area"].is_f64());
        assert!(!values.contains_key("csrf_token"));
    }

    #[test]
    fn empty_optional_fields_are_left_out() {
        let only_required = input(&[
            ("child_name", "Nguyễn Văn An"),
            ("birth_date", "2025-07-01"),
            ("ward", "26740"),
            ("birth_proof", "wallet:42"),
            ("sex", "   "),
            ("copies", ""),
            ("note", "\r\n"),
        ]);
        let values = birth_form().validate(&only_required, &CTX).unwrap();
        assert_eq!(
            values.keys().map(String::as_str).collect::<Vec<_>>(),
            ["child_name", "birth_date", "ward", "birth_proof"]
        );
        assert_eq!(values["birth_proof"], json!("wallet:42"));
    }

    #[test]
    fn required_fields_must_be_filled() {
        let errors = birth_form()
            .validate(&input(&[("child_name", " \t "), ("csrf_token", "x")]), &CTX)
            .unwrap_err();
        assert_eq!(
            errors,
            FieldErrors::from([
                ("child_name".to_string(), "form-required"),
                ("birth_date".to_string(), "form-required"),
                ("ward".to_string(), "form-required"),
                ("birth_proof".to_string(), "form-required"),
            ])
        );
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let mut bad = good_input();
        for (name, value) in [
            ("child_name", "x".repeat(101).as_str()),
            ("birth_date", "2025-02-30"),
            ("sex", "khac"),
            ("copies", "1.5"),
            ("area", "mười"),
            ("mother_id", "12345"),
            ("phone", "0212345678"),
            ("email", "an@"),
            ("ward", "99999"),
            ("birth_proof", ""),
            ("note", "chuông\u{7}"),
        ] {
            bad.insert(name.to_string(), value.to_string());
        }
        let errors = birth_form().validate(&bad, &CTX).unwrap_err();
        assert_eq!(
            errors,
            FieldErrors::from([
                ("child_name".to_string(), "form-too-long"),
                ("birth_date".to_string(), "form-bad-date"),
                ("sex".to_string(), "form-bad-choice"),
                ("copies".to_string(), "form-not-integer"),
                ("area".to_string(), "form-not-number"),
                ("mother_id".to_string(), "form-bad-national-id"),
                ("phone".to_string(), "form-bad-phone"),
                ("email".to_string(), "form-bad-email"),
                ("ward".to_string(), "form-bad-ward"),
                ("birth_proof".to_string(), "form-required"),
                ("note".to_string(), "form-bad-text"),
            ])
        );
        assert!(errors.values().all(|key| MESSAGE_KEYS.contains(key)));
    }

    #[test]
    fn text_is_trimmed_and_bounded_in_characters() {
        let form = one_field(titled(json!({"type": "string", "maxLength": 5})), true);
        assert_eq!(check(&form, "  Ngữ  "), Ok(Some(json!("Ngữ"))));
        // Characters, not bytes: five Vietnamese letters are 13 bytes.
        assert_eq!(check(&form, "Nguyễ"), Ok(Some(json!("Nguyễ"))));
        assert_eq!(check(&form, "Nguyễn"), Err(TOO_LONG));
        // The surrounding spaces do not count against the limit.
        assert_eq!(check(&form, "   abcde   "), Ok(Some(json!("abcde"))));

        let unbounded = one_field(titled(json!({"type": "string"})), true);
        let longest = "a".repeat(DEFAULT_TEXT_MAX_LEN);
        assert_eq!(check(&unbounded, &longest), Ok(Some(json!(longest))));
        assert_eq!(check(&unbounded, &format!("{longest}a")), Err(TOO_LONG));

        let roomy = one_field(titled(json!({"type": "string", "maxLength": 5000})), true);
        assert!(check(&roomy, &"a".repeat(4000)).is_ok());
    }

    #[test]
    fn single_line_text_takes_no_control_characters() {
        let form = one_field(titled(json!({"type": "string"})), false);
        for bad in [
            "dòng một\ndòng hai",
            "a\tb",
            "a\r\nb",
            "nul\0",
            "esc\u{1b}[31m",
            "c1\u{85}x",
        ] {
            assert_eq!(check(&form, bad), Err(BAD_TEXT), "{bad:?}");
        }
        assert_eq!(
            check(&form, "Số 12, đường Lê Lợi"),
            Ok(Some(json!("Số 12, đường Lê Lợi")))
        );
    }

    #[test]
    fn multiline_text_takes_line_breaks_and_tabs_only() {
        let form = one_field(
            titled(json!({"type": "string", "x-multiline": true, "maxLength": 7})),
            false,
        );
        assert_eq!(check(&form, "a\r\nb\rc\td"), Ok(Some(json!("a\nb\nc\td"))));
        // A CRLF counts as one character, as in the browser's maxlength.
        assert_eq!(
            check(&form, "a\r\nb\r\nc\r\nd"),
            Ok(Some(json!("a\nb\nc\nd")))
        );
        assert_eq!(check(&form, "a\r\nb\r\nc\r\nde"), Err(TOO_LONG));
        for bad in ["bell\u{7}", "nul\0", "\u{1b}x", "f\u{c}f"] {
            assert_eq!(check(&form, bad), Err(BAD_TEXT), "{bad:?}");
        }
    }

    #[test]
    fn integers() {
        let form = one_field(
            titled(json!({"type": "integer", "minimum": -5, "maximum": 10})),
            false,
        );
        for (text, n) in [
            (" 7 ", 7),
            ("0", 0),
            ("-5", -5),
            ("10", 10),
            ("+3", 3),
            ("007", 7),
        ] {
            assert_eq!(check(&form, text), Ok(Some(json!(n))), "{text:?}");
        }
        for bad in ["1.5", "1e3", "1,0", "1 000", "mười", "0x10", "-", "5-"] {
            assert_eq!(check(&form, bad), Err(NOT_INTEGER), "{bad:?}");
        }
        for far in ["11", "-6", "99999999999999999999", "-99999999999999999999"] {
            assert_eq!(check(&form, far), Err(OUT_OF_RANGE), "{far:?}");
        }
        let unbounded = one_field(titled(json!({"type": "integer"})), false);
        assert_eq!(
            check(&unbounded, "-9223372036854775808"),
            Ok(Some(json!(i64::MIN)))
        );
    }

    #[test]
    fn numbers() {
        let form = one_field(
            titled(json!({"type": "number", "minimum": 0, "maximum": 1000.5})),
            false,
        );
        for (text, x) in [
            ("12,5", 12.5),
            (" 3.25 ", 3.25),
            ("0", 0.0),
            ("-0", 0.0),
            ("1000.5", 1000.5),
            ("1000,5", 1000.5),
            (",5", 0.5),
            ("7", 7.0),
        ] {
            let value = check(&form, text).unwrap().unwrap();
            assert_eq!(value.as_f64(), Some(x), "{text:?}");
            assert!(value.is_f64(), "{text:?}");
        }
        assert_eq!(check(&form, "-0").unwrap().unwrap().to_string(), "0.0");
        for bad in [
            "NaN", "nan", "inf", "-inf", "infinity", "1e3", "1,000.5", "1.000,5", "1,2,3", "12 m²",
            ".", ",", "+", "--1", "1/2",
        ] {
            assert_eq!(check(&form, bad), Err(NOT_NUMBER), "{bad:?}");
        }
        let huge = format!("1{}", "0".repeat(400));
        assert_eq!(check(&form, &huge), Err(NOT_NUMBER));
        assert_eq!(check(&form, "1000,51"), Err(OUT_OF_RANGE));
        assert_eq!(check(&form, "-0,01"), Err(OUT_OF_RANGE));
    }

    #[test]
    fn dates_within_a_lifetime_and_a_decade() {
        let form = one_field(titled(json!({"type": "string", "format": "date"})), false);
        for ok in [
            "2025-07-15",
            "1875-07-15",
            "2035-07-15",
            "2024-02-29",
            " 2000-01-01 ",
        ] {
            assert_eq!(check(&form, ok), Ok(Some(json!(ok.trim()))), "{ok:?}");
        }
        for bad in [
            "1875-07-14", // a day more than 150 years back
            "2035-07-16", // a day more than 10 years ahead
            "2025-02-29",
            "2025-13-01",
            "2025-00-10",
            "2025-04-31",
            "15/07/2025",
            "2025-7-15",
            "25-07-15",
            "+2025-07-15",
            "2025-07-15T00:00",
            "20250715",
            "２０２５-07-15",
        ] {
            assert_eq!(check(&form, bad), Err(BAD_DATE), "{bad:?}");
        }
    }

    #[test]
    fn date_window_from_a_leap_day() {
        let form = one_field(titled(json!({"type": "string", "format": "date"})), false);
        let leap = Ctx {
            today: date!(2024 - 02 - 29),
        };
        let check_on = |text: &str| form.validate(&input(&[("f", text)]), &leap).map(|_| ());
        assert!(check_on("1874-02-28").is_ok());
        assert!(check_on("1874-02-27").is_err());
        assert!(check_on("2034-02-28").is_ok());
        assert!(check_on("2034-03-01").is_err());
        assert_eq!(years_from(date!(2024 - 02 - 29), 4), date!(2028 - 02 - 29));
    }

    #[test]
    fn choices_must_be_one_of_the_options() {
        let form = birth_form();
        let sex = |value: &str| {
            let mut submission = good_input();
            submission.insert("sex".into(), value.into());
            form.validate(&submission, &CTX)
                .map(|values| values["sex"].clone())
                .map_err(|errors| errors["sex"])
        };
        assert_eq!(sex(" nam "), Ok(json!("nam")));
        assert_eq!(sex("nu"), Ok(json!("nu")));
        // The value, not the title, and exactly.
        assert_eq!(sex("Nam"), Err(BAD_CHOICE));
        assert_eq!(sex("NAM"), Err(BAD_CHOICE));
        assert_eq!(sex("khac"), Err(BAD_CHOICE));
    }

    #[test]
    fn identity_fields_are_normalised() {
        let id = one_field(
            titled(json!({"type": "string", "format": "national-id"})),
            false,
        );
        assert_eq!(
            check(&id, " 079 090 000 001 "),
            Ok(Some(json!("079090000001")))
        );
        for bad in [
            "000090000001",
            "07909000000",
            "07909000000x",
            "079-090-000-001",
        ] {
            assert_eq!(check(&id, bad), Err(BAD_NATIONAL_ID), "{bad:?}");
        }

        let phone = one_field(titled(json!({"type": "string", "format": "phone"})), false);
        for ok in [
            "0912345678",
            "+84 912 345 678",
            "0912.345.678",
            "84912345678",
        ] {
            assert_eq!(check(&phone, ok), Ok(Some(json!("0912345678"))), "{ok:?}");
        }
        for bad in ["0212345678", "12345", "an@example.vn"] {
            assert_eq!(check(&phone, bad), Err(BAD_PHONE), "{bad:?}");
        }

        let email = one_field(titled(json!({"type": "string", "format": "email"})), false);
        assert_eq!(
            check(&email, " An@Example.VN "),
            Ok(Some(json!("an@example.vn")))
        );
        for bad in [
            "an",
            "an@vn",
            "an@@example.vn",
            "a n@example.vn",
            "@example.vn",
        ] {
            assert_eq!(check(&email, bad), Err(BAD_EMAIL), "{bad:?}");
        }
    }

    #[test]
    fn wards_must_exist() {
        let ward = one_field(titled(json!({"type": "string", "format": "ward"})), true);
        assert_eq!(check(&ward, " 26740 "), Ok(Some(json!("26740"))));
        assert_eq!(check(&ward, "00004"), Ok(Some(json!("00004"))));
        for bad in ["99999", "2674", "267400", "abcde", "Phường Bến Thành"] {
            assert_eq!(check(&ward, bad), Err(BAD_WARD), "{bad:?}");
        }
        assert_eq!(check(&ward, ""), Err(REQUIRED));
    }

    #[test]
    fn files_only_need_a_reference_when_required() {
        let required = one_field(
            titled(json!({"type": "string", "format": "file", "x-document": "giay-chung-sinh"})),
            true,
        );
        assert_eq!(check(&required, "wallet:17"), Ok(Some(json!("wallet:17"))));
        assert_eq!(
            check(&required, " sha256:ab "),
            Ok(Some(json!("sha256:ab")))
        );
        assert_eq!(check(&required, ""), Err(REQUIRED));
        let optional = one_field(titled(json!({"type": "string", "format": "file"})), false);
        assert_eq!(check(&optional, ""), Ok(None));
        assert_eq!(
            optional.validate(&BTreeMap::new(), &CTX),
            Ok(Map::new()),
            "absent is empty"
        );
    }

    #[test]
    fn message_keys_are_distinct_form_keys() {
        let distinct: HashSet<&str> = MESSAGE_KEYS.into_iter().collect();
        assert_eq!(distinct.len(), MESSAGE_KEYS.len());
        assert!(MESSAGE_KEYS.iter().all(|key| key.starts_with("form-")));
    }
}
