//! Tabular files read for the open-data datastore (kho dữ liệu): a publisher uploads a CSV or
//! XLSX file, [`Source::open`] decodes it and checks its header row, [`infer_types`] proposes a
//! type per column, and [`convert`] turns each [`Row`] into typed [`Cell`]s for the store.
//! [`sniff`] tells what an uploaded file is from its content, not its name.
//!
//! Everything takes bytes: no IO here. Errors are [`TableError`]s, shown to publishers through
//! translated messages ([`TableError::key`], [`TableError::args`]; the texts are in
//! the web edge's translation catalogues, `crates/cityhall-web/i18n/`).
//!
//! Row numbers ([`Row::number`] and every error's `row`) are spreadsheet row numbers, the row a
//! publisher sees when opening the file in a spreadsheet: the header is row 1 (when the file
//! starts with it), each CSV record is one row even when a quoted value spans several lines,
//! and blank lines count as the empty rows a spreadsheet shows for them. For XLSX they are the
//! sheet's own row numbers.
//!
//! Value rules, for inference and conversion alike (surrounding spaces are ignored for every
//! type but text, which is kept as written; a value that is empty or only spaces is null):
//! - int: an optional sign and ASCII digits that fit in 64 bits; no thousands separators, so
//!   "1.000" is not an int.
//! - numeric: decimal notation with a point and an optional exponent ("1.5", ".5", "2e3").
//!   Vietnamese decimal commas ("1.234,5", "1,5") stay text: "1.000" means one thousand to a
//!   Vietnamese reader and one to the parser, and no rule tells them apart reliably.
//! - bool: true/false, yes/no, có/không, đúng/sai (any case) and 1/0; inference prefers int for
//!   a column of only 1 and 0.
//! - date: YYYY-MM-DD or DD/MM/YYYY (day first, as written in Vietnam; day and month may have
//!   one digit), checked against the calendar and written YYYY-MM-DD.
//! - timestamp: a date, then `T` or a space, then HH:MM or HH:MM:SS; written
//!   YYYY-MM-DDTHH:MM:SS. A date alone is a timestamp at midnight when the column is one.
//!
//! Inference is stricter than conversion in one way: it never makes a number of a value whose
//! leading zero would be lost ("0123", phone numbers, ID numbers), and a column whose only
//! decimals look like thousands groups ("1.000", "12.500") stays text. When a publisher
//! chooses int or numeric for such a column themselves, [`convert`] accepts the leading zeros.

use std::borrow::Cow;
use std::fmt;
use std::io::Cursor;

use calamine::{Data, ExcelDateTime, Reader, SheetType, SheetVisible, Xlsx};

/// Most columns a table may have.
pub const MAX_COLUMNS: usize = 500;
/// Longest column name, in characters.
pub const MAX_HEADER_CHARS: usize = 63;

/// The format a publisher's file is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TabularFormat {
    /// Comma-, semicolon- or tab-separated text.
    Csv,
    /// An Office Open XML workbook; its first visible worksheet is read.
    Xlsx,
}

/// A text encoding a publisher may name for a CSV file (bảng mã).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8, the default.
    Utf8,
    /// Windows-1258, the legacy Vietnamese code page of older Windows software.
    Windows1258,
}

impl Encoding {
    /// Reads an encoding name: "utf-8", "utf8", "windows-1258", "cp1258" (any case).
    pub fn parse(name: &str) -> Option<Encoding> {
        match name.trim().to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Some(Encoding::Utf8),
            "windows-1258" | "windows1258" | "cp1258" => Some(Encoding::Windows1258),
            _ => None,
        }
    }

    /// The encoding's canonical name: "utf-8" or "windows-1258".
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Windows1258 => "windows-1258",
        }
    }
}

/// The type of a datastore column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// Any text.
    Text,
    /// A 64-bit integer.
    Int,
    /// A decimal number (stored as a 64-bit float).
    Numeric,
    /// True or false.
    Bool,
    /// A calendar date.
    Date,
    /// A date and time of day, without time zone.
    Timestamp,
}

impl ColumnType {
    /// The type's name in the datastore API: "text", "int", "numeric", "bool", "date",
    /// "timestamp".
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::Text => "text",
            ColumnType::Int => "int",
            ColumnType::Numeric => "numeric",
            ColumnType::Bool => "bool",
            ColumnType::Date => "date",
            ColumnType::Timestamp => "timestamp",
        }
    }

    /// Reads a type name: the names of [`ColumnType::as_str`] and the aliases CKAN clients
    /// send ("integer", "int4", "int8", "float", "float8", "double", "number", "datetime",
    /// "boolean", "string"), in any case.
    pub fn parse(name: &str) -> Option<ColumnType> {
        match name.trim().to_ascii_lowercase().as_str() {
            "text" | "string" => Some(ColumnType::Text),
            "int" | "integer" | "int4" | "int8" => Some(ColumnType::Int),
            "numeric" | "float" | "float8" | "double" | "number" => Some(ColumnType::Numeric),
            "bool" | "boolean" => Some(ColumnType::Bool),
            "date" => Some(ColumnType::Date),
            "timestamp" | "datetime" => Some(ColumnType::Timestamp),
            _ => None,
        }
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One typed value, ready for the datastore.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// No value (an empty cell).
    Null,
    /// Text, as written.
    Text(String),
    /// An integer.
    Int(i64),
    /// A decimal number (always finite).
    Numeric(f64),
    /// True or false.
    Bool(bool),
    /// A date, `YYYY-MM-DD`.
    Date(String),
    /// A date and time, `YYYY-MM-DDTHH:MM:SS`.
    Timestamp(String),
}

impl Cell {
    /// The value as it appears in datastore API records.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Cell::Null => Value::Null,
            Cell::Text(s) | Cell::Date(s) | Cell::Timestamp(s) => Value::String(s.clone()),
            Cell::Int(i) => Value::from(*i),
            Cell::Numeric(x) => serde_json::Number::from_f64(*x).map_or(Value::Null, Value::Number),
            Cell::Bool(b) => Value::Bool(*b),
        }
    }
}

/// One data row of a file, its values as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The spreadsheet row number (see the module documentation): for CSV the header is row 1
    /// and each record (or blank line) one more; for XLSX the sheet's row number.
    pub number: u64,
    /// The values, one per column, as written (XLSX values rendered as text: whole numbers
    /// without a decimal point, dates `YYYY-MM-DD`, date-times `YYYY-MM-DDTHH:MM:SS`,
    /// booleans `true`/`false`, formulas by their cached value, errors like `#DIV/0!`).
    pub cells: Vec<String>,
}

/// What an uploaded file is, judged by its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// Delimited text.
    Csv,
    /// A JSON object or array.
    Json,
    /// An XLSX workbook.
    Xlsx,
    /// A PDF document.
    Pdf,
}

/// What is wrong with a column name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderProblem {
    /// The name is empty or only spaces.
    Empty,
    /// The name is longer than [`MAX_HEADER_CHARS`] characters.
    TooLong,
    /// The name starts with `_`, kept for the datastore's own columns such as `_id`.
    Reserved,
    /// The name contains a control character.
    ControlCharacter,
}

/// Why an XLSX file cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XlsxProblem {
    /// The workbook is protected by a password (encrypted).
    Encrypted,
    /// An old binary Excel file (.xls) or another non-XLSX Office document.
    Legacy,
    /// The workbook has no worksheet (only chart sheets, say).
    NoWorksheet,
    /// The file is not a readable XLSX: damaged, truncated or not a workbook at all. Carries
    /// the reader's explanation, in English.
    Corrupt(String),
}

/// Why a tabular file cannot be loaded. Rows and columns are numbered from 1 as a publisher
/// sees them; [`TableError::key`] and [`TableError::args`] give the translated message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TableError {
    /// The file has no header row.
    #[error("the file is empty: there is no header row")]
    Empty,
    /// The file is not UTF-8; `row` holds the first bad byte, `likely` the encoding the bytes
    /// plausibly are.
    #[error("row {row}: the file is not UTF-8{}", likely.map(|e| format!(" (it looks like {})", e.as_str())).unwrap_or_default())]
    NotUtf8 {
        /// The row with the first byte that is not UTF-8.
        row: u64,
        /// An encoding the file decodes plausibly as, if any.
        likely: Option<Encoding>,
    },
    /// The file starts with a UTF-16 byte order mark but is not valid UTF-16.
    #[error("the file starts like UTF-16 but is not valid UTF-16")]
    BadUtf16,
    /// More than [`MAX_COLUMNS`] columns.
    #[error("the file has {found} columns; at most {max} are allowed")]
    TooManyColumns {
        /// Columns in the header.
        found: usize,
        /// The limit.
        max: usize,
    },
    /// A column name is not acceptable.
    #[error("column {column}: the name {name:?} {}", match problem {
        HeaderProblem::Empty => "is empty".to_string(),
        HeaderProblem::TooLong => format!("is longer than {MAX_HEADER_CHARS} characters"),
        HeaderProblem::Reserved => "starts with _, which is reserved".to_string(),
        HeaderProblem::ControlCharacter => "contains a control character".to_string(),
    })]
    BadHeader {
        /// The column's position, from 1.
        column: usize,
        /// The name as found (trimmed).
        name: String,
        /// What is wrong with it.
        problem: HeaderProblem,
    },
    /// Two columns have the same name, ignoring case.
    #[error("column {column}: the name {name:?} is used by an earlier column (ignoring case)")]
    DuplicateHeader {
        /// The position of the second column with the name, from 1.
        column: usize,
        /// The name, as written in that column.
        name: String,
    },
    /// A row has a different number of values than the header.
    #[error("row {row}: {found} columns, but the header has {expected}")]
    Ragged {
        /// The row.
        row: u64,
        /// Columns in the header.
        expected: usize,
        /// Values in the row.
        found: usize,
    },
    /// A value does not fit its column's type.
    #[error("row {row}, column {column:?}: {value:?} is not a valid {column_type}")]
    BadValue {
        /// The row.
        row: u64,
        /// The column's name.
        column: String,
        /// The value as written.
        value: String,
        /// The column's type.
        column_type: ColumnType,
    },
    /// The XLSX file cannot be read.
    #[error("{}", match .0 {
        XlsxProblem::Encrypted => "the Excel file is password-protected".to_string(),
        XlsxProblem::Legacy => "this is an old-format Excel file (.xls) or not an .xlsx file".to_string(),
        XlsxProblem::NoWorksheet => "the Excel file has no worksheet".to_string(),
        XlsxProblem::Corrupt(reason) => format!("the Excel file cannot be read: {reason}"),
    })]
    Xlsx(XlsxProblem),
    /// The CSV reader failed (not expected for in-memory text; kept so nothing panics).
    #[error("row {row}: the CSV file cannot be read: {reason}")]
    Csv {
        /// The row being read.
        row: u64,
        /// The reader's explanation, in English.
        reason: String,
    },
}

impl TableError {
    /// The id of the translated message for this error (in the web edge's translation catalogues).
    pub fn key(&self) -> &'static str {
        match self {
            TableError::Empty => "od-err-empty",
            TableError::NotUtf8 { likely: None, .. } => "od-err-not-utf8",
            TableError::NotUtf8 {
                likely: Some(Encoding::Windows1258),
                ..
            } => "od-err-not-utf8-windows-1258",
            // Not produced (a UTF-8 guess for bytes that are not UTF-8), but keep a message.
            TableError::NotUtf8 {
                likely: Some(Encoding::Utf8),
                ..
            } => "od-err-not-utf8",
            TableError::BadUtf16 => "od-err-bad-utf16",
            TableError::TooManyColumns { .. } => "od-err-too-many-columns",
            TableError::BadHeader { problem, .. } => match problem {
                HeaderProblem::Empty => "od-err-header-empty",
                HeaderProblem::TooLong => "od-err-header-too-long",
                HeaderProblem::Reserved => "od-err-header-reserved",
                HeaderProblem::ControlCharacter => "od-err-header-control",
            },
            TableError::DuplicateHeader { .. } => "od-err-header-duplicate",
            TableError::Ragged { .. } => "od-err-ragged",
            TableError::BadValue { .. } => "od-err-bad-value",
            TableError::Xlsx(problem) => match problem {
                XlsxProblem::Encrypted => "od-err-xlsx-encrypted",
                XlsxProblem::Legacy => "od-err-xlsx-legacy",
                XlsxProblem::NoWorksheet => "od-err-xlsx-no-sheet",
                XlsxProblem::Corrupt(_) => "od-err-xlsx-corrupt",
            },
            TableError::Csv { .. } => "od-err-csv",
        }
    }

    /// The message's arguments: `row`, `column`, `name`, `expected`, `found`, `max`, `value`
    /// (shortened to 80 characters), `type` (a [`ColumnType::as_str`] name, for the message to
    /// select a translated type name) and `reason`, as each error has them.
    pub fn args(&self) -> Vec<(&'static str, String)> {
        match self {
            TableError::Empty | TableError::BadUtf16 => vec![],
            TableError::NotUtf8 { row, .. } => vec![("row", row.to_string())],
            TableError::TooManyColumns { found, max } => {
                vec![("found", found.to_string()), ("max", max.to_string())]
            }
            TableError::BadHeader {
                column,
                name,
                problem,
            } => {
                let mut args = vec![("column", column.to_string()), ("name", shorten(name))];
                if *problem == HeaderProblem::TooLong {
                    args.push(("max", MAX_HEADER_CHARS.to_string()));
                }
                args
            }
            TableError::DuplicateHeader { column, name } => {
                vec![("column", column.to_string()), ("name", shorten(name))]
            }
            TableError::Ragged {
                row,
                expected,
                found,
            } => vec![
                ("row", row.to_string()),
                ("expected", expected.to_string()),
                ("found", found.to_string()),
            ],
            TableError::BadValue {
                row,
                column,
                value,
                column_type,
            } => vec![
                ("row", row.to_string()),
                ("column", column.clone()),
                ("value", shorten(value)),
                ("type", column_type.as_str().to_string()),
            ],
            TableError::Xlsx(XlsxProblem::Corrupt(reason)) => vec![("reason", reason.clone())],
            TableError::Xlsx(_) => vec![],
            TableError::Csv { row, reason } => {
                vec![("row", row.to_string()), ("reason", reason.clone())]
            }
        }
    }
}

/// A value cut to 80 characters for a message, so one huge cell does not flood the page.
fn shorten(value: &str) -> String {
    const LIMIT: usize = 80;
    match value.char_indices().nth(LIMIT) {
        Some((end, _)) => format!("{}…", &value[..end]),
        None => value.to_string(),
    }
}

/// A publisher's file, decoded, with its header row checked. Rows are read lazily by
/// [`Source::rows`].
pub struct Source {
    headers: Vec<String>,
    body: Body,
}

enum Body {
    /// The whole file as UTF-8 text (decoded, byte order mark removed), parsed on each pass.
    Csv { text: Vec<u8>, delimiter: u8 },
    /// The worksheet's cells; `header` is the header's index in `range`, `first_row` the sheet
    /// row number of the range's first row, `width` the number of columns kept.
    Xlsx {
        range: calamine::Range<Data>,
        header: usize,
        first_row: u64,
        width: usize,
    },
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let format = match self.body {
            Body::Csv { .. } => TabularFormat::Csv,
            Body::Xlsx { .. } => TabularFormat::Xlsx,
        };
        f.debug_struct("Source")
            .field("format", &format)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

impl Source {
    /// Decodes a file and checks its header row.
    ///
    /// CSV: a UTF-8 byte order mark is removed and UTF-16 with a byte order mark is decoded,
    /// whatever `encoding` says; otherwise the bytes are read as `encoding`, UTF-8 when `None`.
    /// Windows-1258 text is normalised to Unicode NFC (the code page writes most tone marks as
    /// separate combining characters). The delimiter (`,`, `;` or tab) is the one the header
    /// line uses most, outside quotes.
    ///
    /// XLSX: the first visible worksheet (the first worksheet if all are hidden); its first
    /// non-empty row is the header. Columns right of the last named one are dropped when they
    /// hold nothing (formatting alone stretches a sheet).
    pub fn open(
        bytes: &[u8],
        format: TabularFormat,
        encoding: Option<Encoding>,
    ) -> Result<Source, TableError> {
        match format {
            TabularFormat::Csv => open_csv(bytes, encoding),
            TabularFormat::Xlsx => open_xlsx(bytes),
        }
    }

    /// The column names, trimmed, in file order.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The data rows, read one at a time from the decoded file (a CSV file's rows are never
    /// all held as strings). Rows whose values are all empty are skipped; a row with the wrong
    /// number of values yields [`TableError::Ragged`] and reading goes on with the next.
    pub fn rows(&self) -> impl Iterator<Item = Result<Row, TableError>> + '_ {
        match &self.body {
            Body::Csv { text, delimiter } => {
                let mut records = CsvRecords::new(text, *delimiter);
                // The header was checked by `open`; skip it.
                let _ = records.next_record();
                Rows::Csv {
                    records,
                    expected: self.headers.len(),
                }
            }
            Body::Xlsx {
                range,
                header,
                first_row,
                width,
            } => Rows::Xlsx {
                rows: range.rows().enumerate().skip(header + 1),
                first_row: *first_row,
                width: *width,
            },
        }
    }
}

enum Rows<'a> {
    Csv {
        records: CsvRecords<'a>,
        expected: usize,
    },
    Xlsx {
        rows: std::iter::Skip<std::iter::Enumerate<calamine::Rows<'a, Data>>>,
        first_row: u64,
        width: usize,
    },
}

impl Iterator for Rows<'_> {
    type Item = Result<Row, TableError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Rows::Csv { records, expected } => loop {
                let number = match records.next_record()? {
                    Ok(number) => number,
                    Err(e) => return Some(Err(e)),
                };
                let record = &records.record;
                let blank = record.iter().all(|f| is_blank(&String::from_utf8_lossy(f)));
                if record.len() != *expected {
                    // A line of only spaces is a blank line, not a one-column record.
                    if record.len() == 1 && blank {
                        continue;
                    }
                    return Some(Err(TableError::Ragged {
                        row: number,
                        expected: *expected,
                        found: record.len(),
                    }));
                }
                if blank {
                    continue;
                }
                let cells = record
                    .iter()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect();
                return Some(Ok(Row { number, cells }));
            },
            Rows::Xlsx {
                rows,
                first_row,
                width,
            } => loop {
                let (index, cells) = rows.next()?;
                let cells: Vec<String> = cells.iter().take(*width).map(xlsx_text).collect();
                if cells.iter().all(|c| is_blank(c)) {
                    continue;
                }
                return Some(Ok(Row {
                    number: *first_row + index as u64,
                    cells,
                }));
            },
        }
    }
}

fn is_blank(value: &str) -> bool {
    value.trim().is_empty()
}

// ---------------------------------------------------------------------------------------------
// CSV

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

fn open_csv(bytes: &[u8], encoding: Option<Encoding>) -> Result<Source, TableError> {
    let text = decode_csv(bytes, encoding)?;
    let delimiter = detect_delimiter(&text);
    let mut records = CsvRecords::new(&text, delimiter);
    let raw: Vec<String> = match records.next_record() {
        None => return Err(TableError::Empty),
        Some(Err(e)) => return Err(e),
        Some(Ok(_)) => records
            .record
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect(),
    };
    if raw.iter().all(|h| is_blank(h)) {
        return Err(TableError::Empty);
    }
    let headers = check_headers(raw)?;
    Ok(Source {
        headers,
        body: Body::Csv { text, delimiter },
    })
}

/// The file's text as UTF-8 bytes.
fn decode_csv(bytes: &[u8], encoding: Option<Encoding>) -> Result<Vec<u8>, TableError> {
    if let Some(rest) = bytes.strip_prefix(UTF8_BOM) {
        return utf8_or_explain(rest);
    }
    if let Some(text) = decode_utf16(bytes) {
        return text.map(String::into_bytes);
    }
    match encoding {
        None | Some(Encoding::Utf8) => utf8_or_explain(bytes),
        Some(Encoding::Windows1258) => Ok(decode_windows_1258(bytes).into_bytes()),
    }
}

/// `None` when the bytes have no UTF-16 byte order mark.
fn decode_utf16(bytes: &[u8]) -> Option<Result<String, TableError>> {
    let (encoding, rest) = if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        (encoding_rs::UTF_16LE, rest)
    } else if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        (encoding_rs::UTF_16BE, rest)
    } else {
        return None;
    };
    Some(
        encoding
            .decode_without_bom_handling_and_without_replacement(rest)
            .map(Cow::into_owned)
            .ok_or(TableError::BadUtf16),
    )
}

fn utf8_or_explain(bytes: &[u8]) -> Result<Vec<u8>, TableError> {
    match std::str::from_utf8(bytes) {
        Ok(_) => Ok(bytes.to_vec()),
        Err(e) => {
            let row = first_non_utf8_row(bytes, e.valid_up_to());
            let likely = plausible_windows_1258(bytes).then_some(Encoding::Windows1258);
            Err(TableError::NotUtf8 { row, likely })
        }
    }
}

/// The row holding the first byte that is not UTF-8, counted as [`Source::rows`] counts.
fn first_non_utf8_row(bytes: &[u8], bad_at: usize) -> u64 {
    let mut records = CsvRecords::new(bytes, detect_delimiter(bytes));
    while let Some(Ok(row)) = records.next_record() {
        if records
            .record
            .iter()
            .any(|f| std::str::from_utf8(f).is_err())
        {
            return row;
        }
    }
    // Every non-UTF-8 byte is inside some record, so this is not reached; count lines then.
    1 + count_line_breaks(&bytes[..bad_at])
}

/// Windows-1258 decoded and composed to NFC.
fn decode_windows_1258(bytes: &[u8]) -> String {
    let (text, _) = encoding_rs::WINDOWS_1258.decode_without_bom_handling(bytes);
    nfc::compose(&text)
}

/// Whether bytes read as Windows-1258 look like text: no control characters but tab and line
/// breaks (the code page's unassigned bytes decode to C1 controls), and every combining tone
/// mark follows a letter, as Vietnamese typed in that code page does.
fn plausible_windows_1258(bytes: &[u8]) -> bool {
    let (text, _) = encoding_rs::WINDOWS_1258.decode_without_bom_handling(bytes);
    plausible_text(&text)
}

fn plausible_text(text: &str) -> bool {
    let mut previous_is_letter = false;
    for c in text.chars() {
        if c.is_control() && !matches!(c, '\t' | '\r' | '\n') {
            return false;
        }
        if nfc::is_tone_mark(c) {
            if !previous_is_letter {
                return false;
            }
        } else {
            previous_is_letter = c.is_alphabetic();
        }
    }
    true
}

/// The delimiter the first non-blank line uses most, outside quotes: `,` on a tie or when it
/// has none.
fn detect_delimiter(text: &[u8]) -> u8 {
    const CANDIDATES: [u8; 3] = [b',', b';', b'\t'];
    let mut counts = [0usize; 3];
    let mut in_quotes = false;
    let start = text.iter().position(|b| !matches!(b, b'\r' | b'\n'));
    for &b in &text[start.unwrap_or(text.len())..] {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\r' | b'\n' if !in_quotes => break,
            _ if !in_quotes => {
                if let Some(i) = CANDIDATES.iter().position(|&c| c == b) {
                    counts[i] += 1;
                }
            }
            _ => {}
        }
    }
    let mut best = 0;
    for i in 1..CANDIDATES.len() {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    CANDIDATES[best]
}

/// `\n`, `\r\n` and a lone `\r` each end one line.
fn count_line_breaks(bytes: &[u8]) -> u64 {
    let mut n = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
            n += 1;
        }
    }
    n
}

/// CSV records with their spreadsheet row numbers.
///
/// The csv reader skips blank lines and reports a record's position from before them, so the
/// row number is counted here: each record's row is the previous record's row plus the line
/// breaks between their starts, less the line breaks inside the previous record's quoted
/// values.
struct CsvRecords<'a> {
    text: &'a [u8],
    reader: csv::Reader<&'a [u8]>,
    record: csv::ByteRecord,
    /// Where the previous record starts.
    previous_start: usize,
    /// The previous record's row (1 before the first record: it starts the count).
    previous_row: u64,
    /// Line breaks inside the previous record's values.
    previous_inner_breaks: u64,
}

impl<'a> CsvRecords<'a> {
    fn new(text: &'a [u8], delimiter: u8) -> Self {
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(text);
        CsvRecords {
            text,
            reader,
            record: csv::ByteRecord::new(),
            previous_start: 0,
            previous_row: 1,
            previous_inner_breaks: 0,
        }
    }

    /// Reads the next record into `self.record` and returns its row number.
    fn next_record(&mut self) -> Option<Result<u64, TableError>> {
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => None,
            Err(e) => Some(Err(TableError::Csv {
                row: self.previous_row + 1,
                reason: e.to_string(),
            })),
            Ok(true) => {
                let reported = self
                    .record
                    .position()
                    .map_or(self.previous_start, |p| p.byte() as usize)
                    .clamp(self.previous_start, self.text.len());
                let start = reported
                    + self.text[reported..]
                        .iter()
                        .take_while(|b| matches!(b, b'\r' | b'\n'))
                        .count();
                let breaks = count_line_breaks(&self.text[self.previous_start..start]);
                let row = (self.previous_row + breaks).saturating_sub(self.previous_inner_breaks);
                self.previous_start = start;
                self.previous_row = row;
                self.previous_inner_breaks = self.record.iter().map(count_line_breaks).sum();
                Some(Ok(row))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Headers

fn check_headers(raw: Vec<String>) -> Result<Vec<String>, TableError> {
    if raw.len() > MAX_COLUMNS {
        return Err(TableError::TooManyColumns {
            found: raw.len(),
            max: MAX_COLUMNS,
        });
    }
    let mut headers = Vec::with_capacity(raw.len());
    let mut seen = std::collections::HashSet::with_capacity(raw.len());
    for (i, name) in raw.into_iter().enumerate() {
        let name = name.trim().to_string();
        let column = i + 1;
        let problem = if name.is_empty() {
            Some(HeaderProblem::Empty)
        } else if name.chars().any(char::is_control) {
            Some(HeaderProblem::ControlCharacter)
        } else if name.starts_with('_') {
            Some(HeaderProblem::Reserved)
        } else if name.chars().count() > MAX_HEADER_CHARS {
            Some(HeaderProblem::TooLong)
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(TableError::BadHeader {
                column,
                name,
                problem,
            });
        }
        if !seen.insert(name.to_lowercase()) {
            return Err(TableError::DuplicateHeader { column, name });
        }
        headers.push(name);
    }
    Ok(headers)
}

// ---------------------------------------------------------------------------------------------
// XLSX

/// The signature of an OLE compound file: old .xls files and encrypted OOXML files.
const COMPOUND_FILE_MAGIC: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";

/// An encrypted OOXML file is a compound file with an `EncryptedPackage` stream; the stream
/// name is stored in UTF-16LE in the file's directory.
fn is_encrypted_ooxml(bytes: &[u8]) -> bool {
    let name: Vec<u8> = "EncryptedPackage"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    bytes.starts_with(COMPOUND_FILE_MAGIC) && bytes.windows(name.len()).any(|w| w == name)
}

fn open_xlsx(bytes: &[u8]) -> Result<Source, TableError> {
    if bytes.starts_with(COMPOUND_FILE_MAGIC) {
        return Err(TableError::Xlsx(if is_encrypted_ooxml(bytes) {
            XlsxProblem::Encrypted
        } else {
            XlsxProblem::Legacy
        }));
    }
    let corrupt = |e: calamine::XlsxError| TableError::Xlsx(XlsxProblem::Corrupt(e.to_string()));
    let mut workbook = Xlsx::new(Cursor::new(bytes)).map_err(corrupt)?;
    let sheets = workbook.sheets_metadata();
    let worksheets = || sheets.iter().filter(|s| s.typ == SheetType::WorkSheet);
    let sheet = worksheets()
        .find(|s| s.visible == SheetVisible::Visible)
        .or_else(|| worksheets().next())
        .ok_or(TableError::Xlsx(XlsxProblem::NoWorksheet))?
        .name
        .clone();
    let range = workbook.worksheet_range(&sheet).map_err(corrupt)?;
    let Some((start_row, _)) = range.start() else {
        return Err(TableError::Empty);
    };
    let header = range
        .rows()
        .position(|row| row.iter().any(|c| !is_blank(&xlsx_text(c))))
        .ok_or(TableError::Empty)?;
    let header_cells: Vec<String> = range
        .rows()
        .nth(header)
        .map(|row| row.iter().map(xlsx_text).collect())
        .unwrap_or_default();
    let width = header_cells
        .iter()
        .rposition(|h| !is_blank(h))
        .map_or(0, |i| i + 1);
    // A column right of the last name that holds a value is a column without a name.
    for row in range.rows().skip(header + 1) {
        if let Some(i) = row
            .iter()
            .skip(width)
            .position(|c| !is_blank(&xlsx_text(c)))
        {
            return Err(TableError::BadHeader {
                column: width + i + 1,
                name: String::new(),
                problem: HeaderProblem::Empty,
            });
        }
    }
    let mut raw = header_cells;
    raw.truncate(width);
    let headers = check_headers(raw)?;
    Ok(Source {
        headers,
        body: Body::Xlsx {
            range,
            header,
            first_row: u64::from(start_row) + 1,
            width,
        },
    })
}

/// A worksheet value as text (see [`Row::cells`]).
fn xlsx_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(x) => float_text(*x),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => excel_datetime_text(dt),
        Data::DateTimeIso(s) => parse_timestamp(s)
            .map(|(date, time)| join_timestamp(&date, time))
            .or_else(|| parse_date(s))
            .unwrap_or_else(|| s.clone()),
        Data::DurationIso(s) => s.clone(),
        Data::Error(e) => e.to_string(),
    }
}

/// Whole numbers without a decimal point (Excel stores every number as a float); others in
/// the shortest form that reads back the same.
fn float_text(x: f64) -> String {
    // 2^53: beyond it not every whole number is a float, so the digits would be invented.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    if x.fract() == 0.0 && x.abs() < EXACT {
        format!("{}", x as i64)
    } else {
        format!("{x:?}")
    }
}

/// A date cell as `YYYY-MM-DD` when it has no time of day, else `YYYY-MM-DDTHH:MM:SS`
/// (rounded to the second: Excel's floating-point times are often a hair short); a time of
/// day alone or a duration as `HH:MM:SS`.
fn excel_datetime_text(dt: &ExcelDateTime) -> String {
    if dt.is_duration() || dt.as_f64() < 1.0 {
        let seconds = (dt.as_f64() * 86_400.0).round() as i64;
        let sign = if seconds < 0 { "-" } else { "" };
        let seconds = seconds.abs();
        return format!(
            "{sign}{:02}:{:02}:{:02}",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        );
    }
    let (y, mo, d, h, mi, s, ms) = dt.to_ymd_hms_milli();
    let mut parts = (i32::from(y), mo, d, h, mi, s);
    if ms >= 500 {
        let next = time::Month::try_from(mo)
            .ok()
            .and_then(|m| time::Date::from_calendar_date(i32::from(y), m, d).ok())
            .zip(time::Time::from_hms(h, mi, s).ok())
            .map(|(date, t)| time::PrimitiveDateTime::new(date, t) + time::Duration::SECOND);
        if let Some(n) = next {
            parts = (
                n.year(),
                n.month().into(),
                n.day(),
                n.hour(),
                n.minute(),
                n.second(),
            );
        }
    }
    let (y, mo, d, h, mi, s) = parts;
    let date = format!("{y:04}-{mo:02}-{d:02}");
    if (h, mi, s) == (0, 0, 0) {
        date
    } else {
        join_timestamp(&date, (h, mi, s))
    }
}

// ---------------------------------------------------------------------------------------------
// Values

/// An int: optional sign, ASCII digits, within 64 bits. With `keep_zeros`, a leading zero
/// ("0123") is refused, since the number would lose it.
fn parse_int(value: &str, keep_zeros: bool) -> Option<i64> {
    let digits = value.strip_prefix(['+', '-']).unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if keep_zeros && digits.len() > 1 && digits.starts_with('0') {
        return None;
    }
    value.parse().ok()
}

/// A decimal number: `[sign] digits [. digits] [e [sign] digits]` or `[sign] . digits [...]`,
/// finite. Digits alone must fit an int (a 20-digit account number is an identifier, not a
/// float). With `keep_zeros`, a leading zero before other integer digits is refused.
fn parse_numeric(value: &str, keep_zeros: bool) -> Option<f64> {
    let unsigned = value.strip_prefix(['+', '-']).unwrap_or(value);
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], Some(&unsigned[i + 1..])),
        None => (unsigned, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (mantissa, None),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || !fraction.is_none_or(all_digits) {
        return None;
    }
    if whole.is_empty() && fraction.is_none_or(str::is_empty) {
        return None;
    }
    if let Some(exponent) = exponent {
        let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
        if digits.is_empty() || !all_digits(digits) {
            return None;
        }
    }
    if keep_zeros && whole.len() > 1 && whole.starts_with('0') {
        return None;
    }
    if fraction.is_none() && exponent.is_none() && parse_int(value, false).is_none() {
        return None;
    }
    value.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// A decimal that a Vietnamese reader would take for a whole number with a thousands
/// separator: one to three digits, a point, three digits ("1.000", "-12.500").
fn looks_like_thousands(value: &str) -> bool {
    let unsigned = value.strip_prefix(['+', '-']).unwrap_or(value);
    match unsigned.split_once('.') {
        Some((whole, fraction)) => {
            (1..=3).contains(&whole.len())
                && !whole.starts_with('0')
                && fraction.len() == 3
                && whole
                    .bytes()
                    .chain(fraction.bytes())
                    .all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

/// true/false, yes/no, có/không, đúng/sai, 1/0, in any case.
fn parse_bool(value: &str) -> Option<bool> {
    match value.to_lowercase().as_str() {
        "true" | "yes" | "có" | "đúng" | "1" => Some(true),
        "false" | "no" | "không" | "sai" | "0" => Some(false),
        _ => None,
    }
}

/// `YYYY-MM-DD` or `D/M/YYYY` (day and month with one or two digits), a real calendar date
/// in years 1 to 9999, as `YYYY-MM-DD`.
fn parse_date(value: &str) -> Option<String> {
    let number = |s: &str, lengths: std::ops::RangeInclusive<usize>| -> Option<u32> {
        (lengths.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (year, month, day) = if value.len() == 10 && value.as_bytes()[4] == b'-' {
        let mut parts = value.split('-');
        let y = number(parts.next()?, 4..=4)?;
        let m = number(parts.next()?, 2..=2)?;
        let d = number(parts.next()?, 2..=2)?;
        (y, m, d)
    } else {
        let mut parts = value.split('/');
        let d = number(parts.next()?, 1..=2)?;
        let m = number(parts.next()?, 1..=2)?;
        let y = number(parts.next()?, 4..=4)?;
        if parts.next().is_some() {
            return None;
        }
        (y, m, d)
    };
    if year == 0 {
        return None;
    }
    let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
    time::Date::from_calendar_date(year as i32, month, u8::try_from(day).ok()?).ok()?;
    Some(format!("{year:04}-{:02}-{day:02}", u8::from(month)))
}

/// A date (as [`parse_date`]), then `T` or one space, then `H:MM` or `H:MM:SS` (hour with one
/// or two digits): the normalised date and the time.
fn parse_timestamp(value: &str) -> Option<(String, (u8, u8, u8))> {
    let (date, time) = value.split_once(['T', ' '])?;
    let date = parse_date(date)?;
    let mut parts = time.split(':');
    let field = |s: Option<&str>, lengths: std::ops::RangeInclusive<usize>, max: u8| {
        let s = s?;
        if !lengths.contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse::<u8>().ok().filter(|&n| n <= max)
    };
    let hour = field(parts.next(), 1..=2, 23)?;
    let minute = field(parts.next(), 2..=2, 59)?;
    let second = match parts.next() {
        None => 0,
        s => field(s, 2..=2, 59)?,
    };
    if parts.next().is_some() {
        return None;
    }
    Some((date, (hour, minute, second)))
}

fn join_timestamp(date: &str, (h, m, s): (u8, u8, u8)) -> String {
    format!("{date}T{h:02}:{m:02}:{s:02}")
}

/// A timestamp, or a date alone at midnight.
fn parse_timestamp_or_date(value: &str) -> Option<String> {
    match parse_timestamp(value) {
        Some((date, time)) => Some(join_timestamp(&date, time)),
        None => parse_date(value).map(|date| join_timestamp(&date, (0, 0, 0))),
    }
}

/// What a column may still be while its values are scanned.
#[derive(Clone, Copy)]
struct Candidates {
    int: bool,
    numeric: bool,
    bool: bool,
    date: bool,
    timestamp: bool,
    /// Some decimal in the column cannot be a thousands group ("2.5", "0.125").
    plain_decimal: bool,
    /// Some decimal in the column looks like a thousands group ("1.000").
    thousands_like: bool,
}

impl Candidates {
    const ALL: Candidates = Candidates {
        int: true,
        numeric: true,
        bool: true,
        date: true,
        timestamp: true,
        plain_decimal: false,
        thousands_like: false,
    };

    fn see(&mut self, value: &str) {
        if self.int && parse_int(value, true).is_none() {
            self.int = false;
        }
        if self.numeric {
            if parse_numeric(value, true).is_none() {
                self.numeric = false;
            } else if value.contains('.') {
                if looks_like_thousands(value) {
                    self.thousands_like = true;
                } else {
                    self.plain_decimal = true;
                }
            }
        }
        if self.bool && parse_bool(value).is_none() {
            self.bool = false;
        }
        if self.date && parse_date(value).is_none() {
            self.date = false;
        }
        if self.timestamp && parse_timestamp_or_date(value).is_none() {
            self.timestamp = false;
        }
    }

    fn choose(self) -> ColumnType {
        if self.int {
            ColumnType::Int
        } else if self.numeric && (self.plain_decimal || !self.thousands_like) {
            ColumnType::Numeric
        } else if self.bool {
            ColumnType::Bool
        } else if self.date {
            ColumnType::Date
        } else if self.timestamp {
            ColumnType::Timestamp
        } else {
            ColumnType::Text
        }
    }
}

/// Proposes a type per column from all its rows: the narrowest type every non-empty value
/// fits, in the order int, numeric, bool, date, timestamp, text (see the module documentation
/// for what fits each). A column with no values is text. Fails on the first unreadable row.
pub fn infer_types(src: &Source) -> Result<Vec<ColumnType>, TableError> {
    let mut columns = vec![Candidates::ALL; src.headers().len()];
    let mut seen = vec![false; columns.len()];
    for row in src.rows() {
        let row = row?;
        for ((value, column), seen) in row.cells.iter().zip(&mut columns).zip(&mut seen) {
            let value = value.trim();
            if !value.is_empty() {
                *seen = true;
                column.see(value);
            }
        }
    }
    Ok(columns
        .into_iter()
        .zip(seen)
        .map(|(c, seen)| if seen { c.choose() } else { ColumnType::Text })
        .collect())
}

/// Converts a row's values to `types` (one per column; `headers` name the columns in errors).
/// Empty values (or only spaces) are [`Cell::Null`]; text is kept as written, other values are
/// read without surrounding spaces. A value that does not fit is [`TableError::BadValue`]; a
/// row whose length is not the number of types is [`TableError::Ragged`].
pub fn convert(
    row: &Row,
    types: &[ColumnType],
    headers: &[String],
) -> Result<Vec<Cell>, TableError> {
    if row.cells.len() != types.len() {
        return Err(TableError::Ragged {
            row: row.number,
            expected: types.len(),
            found: row.cells.len(),
        });
    }
    row.cells
        .iter()
        .zip(types)
        .enumerate()
        .map(|(i, (raw, &column_type))| {
            let value = raw.trim();
            if value.is_empty() {
                return Ok(Cell::Null);
            }
            let cell = match column_type {
                ColumnType::Text => Some(Cell::Text(raw.clone())),
                ColumnType::Int => parse_int(value, false).map(Cell::Int),
                ColumnType::Numeric => parse_numeric(value, false).map(Cell::Numeric),
                ColumnType::Bool => parse_bool(value).map(Cell::Bool),
                ColumnType::Date => parse_date(value).map(Cell::Date),
                ColumnType::Timestamp => parse_timestamp_or_date(value).map(Cell::Timestamp),
            };
            cell.ok_or_else(|| TableError::BadValue {
                row: row.number,
                column: headers
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| (i + 1).to_string()),
                value: raw.clone(),
                column_type,
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Sniffing

/// What a file is, from its content: `%PDF-` at the start is a PDF; a zip that opens as an
/// XLSX workbook (it has `xl/workbook.xml`), or a password-protected (encrypted) XLSX, is
/// XLSX; a JSON object or array (after an optional UTF-8 byte order mark) is JSON, and text
/// starting like one but not valid JSON is nothing; otherwise text
/// (UTF-8, UTF-16 with a byte order mark, or plausible Windows-1258) whose first line has at
/// least two fields, and whose second record, if any, has as many, is CSV. Anything else
/// (images, executables, other archives, prose) is `None`.
pub fn sniff(bytes: &[u8]) -> Option<FileKind> {
    if bytes.starts_with(b"%PDF-") {
        return Some(FileKind::Pdf);
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return Xlsx::new(Cursor::new(bytes)).ok().map(|_| FileKind::Xlsx);
    }
    if is_encrypted_ooxml(bytes) {
        return Some(FileKind::Xlsx);
    }
    let unmarked = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    let first = unmarked.iter().find(|b| !b.is_ascii_whitespace());
    if matches!(first, Some(b'{' | b'[')) {
        // Broken JSON is not a CSV file either.
        return serde_json::from_slice::<serde::de::IgnoredAny>(unmarked)
            .ok()
            .map(|_| FileKind::Json);
    }
    let text: Cow<'_, [u8]> = match decode_utf16(bytes) {
        Some(Ok(text)) => Cow::Owned(text.into_bytes()),
        Some(Err(_)) => return None,
        None => match std::str::from_utf8(unmarked) {
            Ok(text) if plausible_text(text) => Cow::Borrowed(unmarked),
            Ok(_) => return None,
            Err(_) if plausible_windows_1258(bytes) => {
                Cow::Owned(decode_windows_1258(bytes).into_bytes())
            }
            Err(_) => return None,
        },
    };
    let mut records = CsvRecords::new(&text, detect_delimiter(&text));
    let fields = match records.next_record() {
        Some(Ok(_)) => records.record.len(),
        _ => return None,
    };
    if fields < 2 {
        return None;
    }
    match records.next_record() {
        None => Some(FileKind::Csv),
        Some(Ok(_)) if records.record.len() == fields => Some(FileKind::Csv),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Unicode NFC for Windows-1258 text

/// Canonical composition (Unicode NFC) for text decoded from Windows-1258.
///
/// The code page has precomposed letters (â, ê, ô, ơ, ư, ă, đ, À, É…) and five combining tone
/// marks (U+0300 grave, U+0301 acute, U+0303 tilde, U+0309 hook above, U+0323 dot below), so
/// "ờ" arrives as "ơ" + U+0300. This is the standard algorithm (decompose, order marks by
/// combining class, compose) with the data restricted to what such text can contain: every
/// canonical pair whose result decomposes to a code-page letter and the marks that occur in
/// the code page's letters (generated from Unicode's data with Python's `unicodedata`). It is
/// not a general normaliser: text with other combining marks is left as it is around them.
mod nfc {
    /// The combining marks Windows-1258 has as separate characters.
    pub(super) fn is_tone_mark(c: char) -> bool {
        matches!(
            c,
            '\u{0300}' | '\u{0301}' | '\u{0303}' | '\u{0309}' | '\u{0323}'
        )
    }

    /// Canonical combining class of the marks in [`PAIRS`]; 0 (a starter) for anything else.
    fn combining_class(c: char) -> u8 {
        match c {
            '\u{0327}' => 202,
            '\u{031B}' => 216,
            '\u{0323}' => 220,
            '\u{0300}'..='\u{0303}' | '\u{0306}' | '\u{0308}' | '\u{0309}' | '\u{030A}' => 230,
            _ => 0,
        }
    }

    /// Composes `text`; text without combining marks is returned as it is.
    pub(super) fn compose(text: &str) -> String {
        if !text.chars().any(|c| combining_class(c) != 0) {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut segment: Vec<char> = Vec::new();
        for c in text.chars() {
            if combining_class(c) == 0 && !segment.is_empty() {
                compose_segment(&mut segment, &mut out);
            }
            segment.push(c);
        }
        compose_segment(&mut segment, &mut out);
        out
    }

    /// A starter and the marks after it (or marks with no starter, at the start of the text),
    /// composed onto `out`.
    fn compose_segment(segment: &mut Vec<char>, out: &mut String) {
        if segment.len() == 1 {
            out.push(segment[0]);
            segment.clear();
            return;
        }
        let mut chars = Vec::with_capacity(segment.len() + 2);
        for &c in segment.iter() {
            decompose(c, &mut chars);
        }
        // Canonical order: marks sorted by class, stably (a starter, class 0, stays first).
        chars.sort_by_key(|&c| combining_class(c));
        let mut starter = 0;
        let mut composed: Vec<char> = Vec::with_capacity(chars.len());
        let mut last_class = 0;
        for c in chars {
            let class = combining_class(c);
            if let Some(&base) = composed.get(starter) {
                let adjacent = composed.len() == starter + 1;
                if adjacent || last_class < class {
                    if let Some(result) = compose_pair(base, c) {
                        composed[starter] = result;
                        continue;
                    }
                }
            }
            if class == 0 {
                starter = composed.len();
            }
            last_class = class;
            composed.push(c);
        }
        out.extend(composed);
        segment.clear();
    }

    fn decompose(c: char, into: &mut Vec<char>) {
        match PAIRS.iter().find(|&&(_, _, composite)| composite == c) {
            Some(&(first, second, _)) => {
                decompose(first, into);
                into.push(second);
            }
            None => into.push(c),
        }
    }

    fn compose_pair(first: char, second: char) -> Option<char> {
        PAIRS
            .binary_search_by(|&(a, b, _)| (a, b).cmp(&(first, second)))
            .ok()
            .map(|i| PAIRS[i].2)
    }

    /// (first, second, composite), sorted by (first, second).
    const PAIRS: &[(char, char, char)] = &[
        ('\u{0041}', '\u{0300}', '\u{00C0}'),
        ('\u{0041}', '\u{0301}', '\u{00C1}'),
        ('\u{0041}', '\u{0302}', '\u{00C2}'),
        ('\u{0041}', '\u{0303}', '\u{00C3}'),
        ('\u{0041}', '\u{0306}', '\u{0102}'),
        ('\u{0041}', '\u{0308}', '\u{00C4}'),
        ('\u{0041}', '\u{0309}', '\u{1EA2}'),
        ('\u{0041}', '\u{030A}', '\u{00C5}'),
        ('\u{0041}', '\u{0323}', '\u{1EA0}'),
        ('\u{0042}', '\u{0323}', '\u{1E04}'),
        ('\u{0043}', '\u{0301}', '\u{0106}'),
        ('\u{0043}', '\u{0302}', '\u{0108}'),
        ('\u{0043}', '\u{0327}', '\u{00C7}'),
        ('\u{0044}', '\u{0323}', '\u{1E0C}'),
        ('\u{0044}', '\u{0327}', '\u{1E10}'),
        ('\u{0045}', '\u{0300}', '\u{00C8}'),
        ('\u{0045}', '\u{0301}', '\u{00C9}'),
        ('\u{0045}', '\u{0302}', '\u{00CA}'),
        ('\u{0045}', '\u{0303}', '\u{1EBC}'),
        ('\u{0045}', '\u{0306}', '\u{0114}'),
        ('\u{0045}', '\u{0308}', '\u{00CB}'),
        ('\u{0045}', '\u{0309}', '\u{1EBA}'),
        ('\u{0045}', '\u{0323}', '\u{1EB8}'),
        ('\u{0045}', '\u{0327}', '\u{0228}'),
        ('\u{0047}', '\u{0301}', '\u{01F4}'),
        ('\u{0047}', '\u{0302}', '\u{011C}'),
        ('\u{0047}', '\u{0306}', '\u{011E}'),
        ('\u{0047}', '\u{0327}', '\u{0122}'),
        ('\u{0048}', '\u{0302}', '\u{0124}'),
        ('\u{0048}', '\u{0308}', '\u{1E26}'),
        ('\u{0048}', '\u{0323}', '\u{1E24}'),
        ('\u{0048}', '\u{0327}', '\u{1E28}'),
        ('\u{0049}', '\u{0300}', '\u{00CC}'),
        ('\u{0049}', '\u{0301}', '\u{00CD}'),
        ('\u{0049}', '\u{0302}', '\u{00CE}'),
        ('\u{0049}', '\u{0303}', '\u{0128}'),
        ('\u{0049}', '\u{0306}', '\u{012C}'),
        ('\u{0049}', '\u{0308}', '\u{00CF}'),
        ('\u{0049}', '\u{0309}', '\u{1EC8}'),
        ('\u{0049}', '\u{0323}', '\u{1ECA}'),
        ('\u{004A}', '\u{0302}', '\u{0134}'),
        ('\u{004B}', '\u{0301}', '\u{1E30}'),
        ('\u{004B}', '\u{0323}', '\u{1E32}'),
        ('\u{004B}', '\u{0327}', '\u{0136}'),
        ('\u{004C}', '\u{0301}', '\u{0139}'),
        ('\u{004C}', '\u{0323}', '\u{1E36}'),
        ('\u{004C}', '\u{0327}', '\u{013B}'),
        ('\u{004D}', '\u{0301}', '\u{1E3E}'),
        ('\u{004D}', '\u{0323}', '\u{1E42}'),
        ('\u{004E}', '\u{0300}', '\u{01F8}'),
        ('\u{004E}', '\u{0301}', '\u{0143}'),
        ('\u{004E}', '\u{0303}', '\u{00D1}'),
        ('\u{004E}', '\u{0323}', '\u{1E46}'),
        ('\u{004E}', '\u{0327}', '\u{0145}'),
        ('\u{004F}', '\u{0300}', '\u{00D2}'),
        ('\u{004F}', '\u{0301}', '\u{00D3}'),
        ('\u{004F}', '\u{0302}', '\u{00D4}'),
        ('\u{004F}', '\u{0303}', '\u{00D5}'),
        ('\u{004F}', '\u{0306}', '\u{014E}'),
        ('\u{004F}', '\u{0308}', '\u{00D6}'),
        ('\u{004F}', '\u{0309}', '\u{1ECE}'),
        ('\u{004F}', '\u{031B}', '\u{01A0}'),
        ('\u{004F}', '\u{0323}', '\u{1ECC}'),
        ('\u{0050}', '\u{0301}', '\u{1E54}'),
        ('\u{0052}', '\u{0301}', '\u{0154}'),
        ('\u{0052}', '\u{0323}', '\u{1E5A}'),
        ('\u{0052}', '\u{0327}', '\u{0156}'),
        ('\u{0053}', '\u{0301}', '\u{015A}'),
        ('\u{0053}', '\u{0302}', '\u{015C}'),
        ('\u{0053}', '\u{0323}', '\u{1E62}'),
        ('\u{0053}', '\u{0327}', '\u{015E}'),
        ('\u{0054}', '\u{0323}', '\u{1E6C}'),
        ('\u{0054}', '\u{0327}', '\u{0162}'),
        ('\u{0055}', '\u{0300}', '\u{00D9}'),
        ('\u{0055}', '\u{0301}', '\u{00DA}'),
        ('\u{0055}', '\u{0302}', '\u{00DB}'),
        ('\u{0055}', '\u{0303}', '\u{0168}'),
        ('\u{0055}', '\u{0306}', '\u{016C}'),
        ('\u{0055}', '\u{0308}', '\u{00DC}'),
        ('\u{0055}', '\u{0309}', '\u{1EE6}'),
        ('\u{0055}', '\u{030A}', '\u{016E}'),
        ('\u{0055}', '\u{031B}', '\u{01AF}'),
        ('\u{0055}', '\u{0323}', '\u{1EE4}'),
        ('\u{0056}', '\u{0303}', '\u{1E7C}'),
        ('\u{0056}', '\u{0323}', '\u{1E7E}'),
        ('\u{0057}', '\u{0300}', '\u{1E80}'),
        ('\u{0057}', '\u{0301}', '\u{1E82}'),
        ('\u{0057}', '\u{0302}', '\u{0174}'),
        ('\u{0057}', '\u{0308}', '\u{1E84}'),
        ('\u{0057}', '\u{0323}', '\u{1E88}'),
        ('\u{0058}', '\u{0308}', '\u{1E8C}'),
        ('\u{0059}', '\u{0300}', '\u{1EF2}'),
        ('\u{0059}', '\u{0301}', '\u{00DD}'),
        ('\u{0059}', '\u{0302}', '\u{0176}'),
        ('\u{0059}', '\u{0303}', '\u{1EF8}'),
        ('\u{0059}', '\u{0308}', '\u{0178}'),
        ('\u{0059}', '\u{0309}', '\u{1EF6}'),
        ('\u{0059}', '\u{0323}', '\u{1EF4}'),
        ('\u{005A}', '\u{0301}', '\u{0179}'),
        ('\u{005A}', '\u{0302}', '\u{1E90}'),
        ('\u{005A}', '\u{0323}', '\u{1E92}'),
        ('\u{0061}', '\u{0300}', '\u{00E0}'),
        ('\u{0061}', '\u{0301}', '\u{00E1}'),
        ('\u{0061}', '\u{0302}', '\u{00E2}'),
        ('\u{0061}', '\u{0303}', '\u{00E3}'),
        ('\u{0061}', '\u{0306}', '\u{0103}'),
        ('\u{0061}', '\u{0308}', '\u{00E4}'),
        ('\u{0061}', '\u{0309}', '\u{1EA3}'),
        ('\u{0061}', '\u{030A}', '\u{00E5}'),
        ('\u{0061}', '\u{0323}', '\u{1EA1}'),
        ('\u{0062}', '\u{0323}', '\u{1E05}'),
        ('\u{0063}', '\u{0301}', '\u{0107}'),
        ('\u{0063}', '\u{0302}', '\u{0109}'),
        ('\u{0063}', '\u{0327}', '\u{00E7}'),
        ('\u{0064}', '\u{0323}', '\u{1E0D}'),
        ('\u{0064}', '\u{0327}', '\u{1E11}'),
        ('\u{0065}', '\u{0300}', '\u{00E8}'),
        ('\u{0065}', '\u{0301}', '\u{00E9}'),
        ('\u{0065}', '\u{0302}', '\u{00EA}'),
        ('\u{0065}', '\u{0303}', '\u{1EBD}'),
        ('\u{0065}', '\u{0306}', '\u{0115}'),
        ('\u{0065}', '\u{0308}', '\u{00EB}'),
        ('\u{0065}', '\u{0309}', '\u{1EBB}'),
        ('\u{0065}', '\u{0323}', '\u{1EB9}'),
        ('\u{0065}', '\u{0327}', '\u{0229}'),
        ('\u{0067}', '\u{0301}', '\u{01F5}'),
        ('\u{0067}', '\u{0302}', '\u{011D}'),
        ('\u{0067}', '\u{0306}', '\u{011F}'),
        ('\u{0067}', '\u{0327}', '\u{0123}'),
        ('\u{0068}', '\u{0302}', '\u{0125}'),
        ('\u{0068}', '\u{0308}', '\u{1E27}'),
        ('\u{0068}', '\u{0323}', '\u{1E25}'),
        ('\u{0068}', '\u{0327}', '\u{1E29}'),
        ('\u{0069}', '\u{0300}', '\u{00EC}'),
        ('\u{0069}', '\u{0301}', '\u{00ED}'),
        ('\u{0069}', '\u{0302}', '\u{00EE}'),
        ('\u{0069}', '\u{0303}', '\u{0129}'),
        ('\u{0069}', '\u{0306}', '\u{012D}'),
        ('\u{0069}', '\u{0308}', '\u{00EF}'),
        ('\u{0069}', '\u{0309}', '\u{1EC9}'),
        ('\u{0069}', '\u{0323}', '\u{1ECB}'),
        ('\u{006A}', '\u{0302}', '\u{0135}'),
        ('\u{006B}', '\u{0301}', '\u{1E31}'),
        ('\u{006B}', '\u{0323}', '\u{1E33}'),
        ('\u{006B}', '\u{0327}', '\u{0137}'),
        ('\u{006C}', '\u{0301}', '\u{013A}'),
        ('\u{006C}', '\u{0323}', '\u{1E37}'),
        ('\u{006C}', '\u{0327}', '\u{013C}'),
        ('\u{006D}', '\u{0301}', '\u{1E3F}'),
        ('\u{006D}', '\u{0323}', '\u{1E43}'),
        ('\u{006E}', '\u{0300}', '\u{01F9}'),
        ('\u{006E}', '\u{0301}', '\u{0144}'),
        ('\u{006E}', '\u{0303}', '\u{00F1}'),
        ('\u{006E}', '\u{0323}', '\u{1E47}'),
        ('\u{006E}', '\u{0327}', '\u{0146}'),
        ('\u{006F}', '\u{0300}', '\u{00F2}'),
        ('\u{006F}', '\u{0301}', '\u{00F3}'),
        ('\u{006F}', '\u{0302}', '\u{00F4}'),
        ('\u{006F}', '\u{0303}', '\u{00F5}'),
        ('\u{006F}', '\u{0306}', '\u{014F}'),
        ('\u{006F}', '\u{0308}', '\u{00F6}'),
        ('\u{006F}', '\u{0309}', '\u{1ECF}'),
        ('\u{006F}', '\u{031B}', '\u{01A1}'),
        ('\u{006F}', '\u{0323}', '\u{1ECD}'),
        ('\u{0070}', '\u{0301}', '\u{1E55}'),
        ('\u{0072}', '\u{0301}', '\u{0155}'),
        ('\u{0072}', '\u{0323}', '\u{1E5B}'),
        ('\u{0072}', '\u{0327}', '\u{0157}'),
        ('\u{0073}', '\u{0301}', '\u{015B}'),
        ('\u{0073}', '\u{0302}', '\u{015D}'),
        ('\u{0073}', '\u{0323}', '\u{1E63}'),
        ('\u{0073}', '\u{0327}', '\u{015F}'),
        ('\u{0074}', '\u{0308}', '\u{1E97}'),
        ('\u{0074}', '\u{0323}', '\u{1E6D}'),
        ('\u{0074}', '\u{0327}', '\u{0163}'),
        ('\u{0075}', '\u{0300}', '\u{00F9}'),
        ('\u{0075}', '\u{0301}', '\u{00FA}'),
        ('\u{0075}', '\u{0302}', '\u{00FB}'),
        ('\u{0075}', '\u{0303}', '\u{0169}'),
        ('\u{0075}', '\u{0306}', '\u{016D}'),
        ('\u{0075}', '\u{0308}', '\u{00FC}'),
        ('\u{0075}', '\u{0309}', '\u{1EE7}'),
        ('\u{0075}', '\u{030A}', '\u{016F}'),
        ('\u{0075}', '\u{031B}', '\u{01B0}'),
        ('\u{0075}', '\u{0323}', '\u{1EE5}'),
        ('\u{0076}', '\u{0303}', '\u{1E7D}'),
        ('\u{0076}', '\u{0323}', '\u{1E7F}'),
        ('\u{0077}', '\u{0300}', '\u{1E81}'),
        ('\u{0077}', '\u{0301}', '\u{1E83}'),
        ('\u{0077}', '\u{0302}', '\u{0175}'),
        ('\u{0077}', '\u{0308}', '\u{1E85}'),
        ('\u{0077}', '\u{030A}', '\u{1E98}'),
        ('\u{0077}', '\u{0323}', '\u{1E89}'),
        ('\u{0078}', '\u{0308}', '\u{1E8D}'),
        ('\u{0079}', '\u{0300}', '\u{1EF3}'),
        ('\u{0079}', '\u{0301}', '\u{00FD}'),
        ('\u{0079}', '\u{0302}', '\u{0177}'),
        ('\u{0079}', '\u{0303}', '\u{1EF9}'),
        ('\u{0079}', '\u{0308}', '\u{00FF}'),
        ('\u{0079}', '\u{0309}', '\u{1EF7}'),
        ('\u{0079}', '\u{030A}', '\u{1E99}'),
        ('\u{0079}', '\u{0323}', '\u{1EF5}'),
        ('\u{007A}', '\u{0301}', '\u{017A}'),
        ('\u{007A}', '\u{0302}', '\u{1E91}'),
        ('\u{007A}', '\u{0323}', '\u{1E93}'),
        ('\u{00A8}', '\u{0300}', '\u{1FED}'),
        ('\u{00A8}', '\u{0301}', '\u{0385}'),
        ('\u{00C2}', '\u{0300}', '\u{1EA6}'),
        ('\u{00C2}', '\u{0301}', '\u{1EA4}'),
        ('\u{00C2}', '\u{0303}', '\u{1EAA}'),
        ('\u{00C2}', '\u{0309}', '\u{1EA8}'),
        ('\u{00C5}', '\u{0301}', '\u{01FA}'),
        ('\u{00C6}', '\u{0301}', '\u{01FC}'),
        ('\u{00C7}', '\u{0301}', '\u{1E08}'),
        ('\u{00CA}', '\u{0300}', '\u{1EC0}'),
        ('\u{00CA}', '\u{0301}', '\u{1EBE}'),
        ('\u{00CA}', '\u{0303}', '\u{1EC4}'),
        ('\u{00CA}', '\u{0309}', '\u{1EC2}'),
        ('\u{00CF}', '\u{0301}', '\u{1E2E}'),
        ('\u{00D4}', '\u{0300}', '\u{1ED2}'),
        ('\u{00D4}', '\u{0301}', '\u{1ED0}'),
        ('\u{00D4}', '\u{0303}', '\u{1ED6}'),
        ('\u{00D4}', '\u{0309}', '\u{1ED4}'),
        ('\u{00D5}', '\u{0301}', '\u{1E4C}'),
        ('\u{00D5}', '\u{0308}', '\u{1E4E}'),
        ('\u{00D8}', '\u{0301}', '\u{01FE}'),
        ('\u{00DC}', '\u{0300}', '\u{01DB}'),
        ('\u{00DC}', '\u{0301}', '\u{01D7}'),
        ('\u{00E2}', '\u{0300}', '\u{1EA7}'),
        ('\u{00E2}', '\u{0301}', '\u{1EA5}'),
        ('\u{00E2}', '\u{0303}', '\u{1EAB}'),
        ('\u{00E2}', '\u{0309}', '\u{1EA9}'),
        ('\u{00E5}', '\u{0301}', '\u{01FB}'),
        ('\u{00E6}', '\u{0301}', '\u{01FD}'),
        ('\u{00E7}', '\u{0301}', '\u{1E09}'),
        ('\u{00EA}', '\u{0300}', '\u{1EC1}'),
        ('\u{00EA}', '\u{0301}', '\u{1EBF}'),
        ('\u{00EA}', '\u{0303}', '\u{1EC5}'),
        ('\u{00EA}', '\u{0309}', '\u{1EC3}'),
        ('\u{00EF}', '\u{0301}', '\u{1E2F}'),
        ('\u{00F4}', '\u{0300}', '\u{1ED3}'),
        ('\u{00F4}', '\u{0301}', '\u{1ED1}'),
        ('\u{00F4}', '\u{0303}', '\u{1ED7}'),
        ('\u{00F4}', '\u{0309}', '\u{1ED5}'),
        ('\u{00F5}', '\u{0301}', '\u{1E4D}'),
        ('\u{00F5}', '\u{0308}', '\u{1E4F}'),
        ('\u{00F8}', '\u{0301}', '\u{01FF}'),
        ('\u{00FC}', '\u{0300}', '\u{01DC}'),
        ('\u{00FC}', '\u{0301}', '\u{01D8}'),
        ('\u{0102}', '\u{0300}', '\u{1EB0}'),
        ('\u{0102}', '\u{0301}', '\u{1EAE}'),
        ('\u{0102}', '\u{0303}', '\u{1EB4}'),
        ('\u{0102}', '\u{0309}', '\u{1EB2}'),
        ('\u{0103}', '\u{0300}', '\u{1EB1}'),
        ('\u{0103}', '\u{0301}', '\u{1EAF}'),
        ('\u{0103}', '\u{0303}', '\u{1EB5}'),
        ('\u{0103}', '\u{0309}', '\u{1EB3}'),
        ('\u{0168}', '\u{0301}', '\u{1E78}'),
        ('\u{0169}', '\u{0301}', '\u{1E79}'),
        ('\u{01A0}', '\u{0300}', '\u{1EDC}'),
        ('\u{01A0}', '\u{0301}', '\u{1EDA}'),
        ('\u{01A0}', '\u{0303}', '\u{1EE0}'),
        ('\u{01A0}', '\u{0309}', '\u{1EDE}'),
        ('\u{01A0}', '\u{0323}', '\u{1EE2}'),
        ('\u{01A1}', '\u{0300}', '\u{1EDD}'),
        ('\u{01A1}', '\u{0301}', '\u{1EDB}'),
        ('\u{01A1}', '\u{0303}', '\u{1EE1}'),
        ('\u{01A1}', '\u{0309}', '\u{1EDF}'),
        ('\u{01A1}', '\u{0323}', '\u{1EE3}'),
        ('\u{01AF}', '\u{0300}', '\u{1EEA}'),
        ('\u{01AF}', '\u{0301}', '\u{1EE8}'),
        ('\u{01AF}', '\u{0303}', '\u{1EEE}'),
        ('\u{01AF}', '\u{0309}', '\u{1EEC}'),
        ('\u{01AF}', '\u{0323}', '\u{1EF0}'),
        ('\u{01B0}', '\u{0300}', '\u{1EEB}'),
        ('\u{01B0}', '\u{0301}', '\u{1EE9}'),
        ('\u{01B0}', '\u{0303}', '\u{1EEF}'),
        ('\u{01B0}', '\u{0309}', '\u{1EED}'),
        ('\u{01B0}', '\u{0323}', '\u{1EF1}'),
        ('\u{0228}', '\u{0306}', '\u{1E1C}'),
        ('\u{0229}', '\u{0306}', '\u{1E1D}'),
        ('\u{1EA0}', '\u{0302}', '\u{1EAC}'),
        ('\u{1EA0}', '\u{0306}', '\u{1EB6}'),
        ('\u{1EA1}', '\u{0302}', '\u{1EAD}'),
        ('\u{1EA1}', '\u{0306}', '\u{1EB7}'),
        ('\u{1EB8}', '\u{0302}', '\u{1EC6}'),
        ('\u{1EB9}', '\u{0302}', '\u{1EC7}'),
        ('\u{1ECC}', '\u{0302}', '\u{1ED8}'),
        ('\u{1ECD}', '\u{0302}', '\u{1ED9}'),
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(text: &str) -> Result<Source, TableError> {
        Source::open(text.as_bytes(), TabularFormat::Csv, None)
    }

    fn rows(src: &Source) -> Vec<Row> {
        src.rows().collect::<Result<_, _>>().expect("rows")
    }

    fn numbers(src: &Source) -> Vec<u64> {
        rows(src).iter().map(|r| r.number).collect()
    }

    fn types_of(text: &str) -> Vec<ColumnType> {
        infer_types(&csv(text).expect("open")).expect("infer")
    }

    fn header_problem(text: &str) -> (usize, HeaderProblem) {
        match csv(text) {
            Err(TableError::BadHeader {
                column, problem, ..
            }) => (column, problem),
            other => panic!("expected a header error, got {other:?}"),
        }
    }

    /// "Phường Sài Gòn" as Windows-1258 keyboards type it: ư and ơ are code-page letters, the
    /// tone marks separate.
    const SAI_GON_1258: &str = "Phươ\u{300}ng Sa\u{300}i Go\u{300}n";

    fn windows_1258(text: &str) -> Vec<u8> {
        let (bytes, _, unmappable) = encoding_rs::WINDOWS_1258.encode(text);
        assert!(!unmappable, "{text:?} is not in Windows-1258 as written");
        bytes.into_owned()
    }

    // Names and parsing -----------------------------------------------------------------------

    #[test]
    fn encodings_and_types_parse_their_names_and_aliases() {
        for name in ["utf-8", "UTF8", " utf-8 "] {
            assert_eq!(Encoding::parse(name), Some(Encoding::Utf8));
        }
        for name in ["windows-1258", "cp1258", "Windows-1258"] {
            assert_eq!(Encoding::parse(name), Some(Encoding::Windows1258));
        }
        assert_eq!(Encoding::parse("latin1"), None);
        assert_eq!(Encoding::Windows1258.as_str(), "windows-1258");

        use ColumnType::*;
        for t in [Text, Int, Numeric, Bool, Date, Timestamp] {
            assert_eq!(ColumnType::parse(t.as_str()), Some(t));
        }
        for (alias, t) in [
            ("integer", Int),
            ("int4", Int),
            ("INT8", Int),
            ("float", Numeric),
            ("float8", Numeric),
            ("double", Numeric),
            ("number", Numeric),
            ("datetime", Timestamp),
            ("boolean", Bool),
            ("string", Text),
        ] {
            assert_eq!(ColumnType::parse(alias), Some(t), "{alias}");
        }
        assert_eq!(ColumnType::parse("json"), None);
    }

    // Encodings --------------------------------------------------------------------------------

    #[test]
    fn a_utf8_byte_order_mark_is_removed() {
        let src = csv("\u{feff}Mã,Tên\n26734,Phường Sài Gòn\n").unwrap();
        assert_eq!(src.headers(), ["Mã", "Tên"]);
        assert_eq!(rows(&src)[0].cells, ["26734", "Phường Sài Gòn"]);
    }

    #[test]
    fn utf16_with_a_byte_order_mark_is_decoded() {
        let text = "Mã;Tên\r\n26734;Phường Sài Gòn\r\n";
        let le: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        for bytes in [le, be] {
            let src = Source::open(&bytes, TabularFormat::Csv, None).unwrap();
            assert_eq!(src.headers(), ["Mã", "Tên"]);
            assert_eq!(rows(&src)[0].cells, ["26734", "Phường Sài Gòn"]);
        }
        let odd = [0xFF, 0xFE, b'a', 0x00, b','];
        assert_eq!(
            Source::open(&odd, TabularFormat::Csv, None).unwrap_err(),
            TableError::BadUtf16
        );
    }

    #[test]
    fn windows_1258_bytes_are_refused_as_utf8_naming_the_row_and_the_likely_encoding() {
        let mut bytes = b"ma,ten\n1,\"two\nlines\"\n26734,".to_vec();
        bytes.extend(windows_1258(SAI_GON_1258));
        bytes.push(b'\n');
        assert!(bytes.contains(&0xCC), "the grave accent is a separate byte");
        let err = Source::open(&bytes, TabularFormat::Csv, None).unwrap_err();
        assert_eq!(
            err,
            TableError::NotUtf8 {
                row: 3,
                likely: Some(Encoding::Windows1258)
            }
        );
        assert_eq!(err.key(), "od-err-not-utf8-windows-1258");
        // Naming UTF-8 explicitly changes nothing.
        assert_eq!(
            Source::open(&bytes, TabularFormat::Csv, Some(Encoding::Utf8)).unwrap_err(),
            err
        );
    }

    #[test]
    fn a_bad_byte_in_the_header_is_row_one() {
        let mut bytes = windows_1258("Ma\u{303},Tên\n");
        bytes.extend(b"1,2\n");
        let err = Source::open(&bytes, TabularFormat::Csv, None).unwrap_err();
        assert_eq!(
            err,
            TableError::NotUtf8 {
                row: 1,
                likely: Some(Encoding::Windows1258)
            }
        );
        assert_eq!(
            err.to_string(),
            "row 1: the file is not UTF-8 (it looks like windows-1258)"
        );
    }

    #[test]
    fn binary_bytes_are_refused_without_a_suggestion() {
        let err = Source::open(b"a,b\n1,\x81\x00\x02\n", TabularFormat::Csv, None).unwrap_err();
        assert_eq!(
            err,
            TableError::NotUtf8 {
                row: 2,
                likely: None
            }
        );
        assert_eq!(err.key(), "od-err-not-utf8");
        // A tone mark after a digit is not how Vietnamese is typed.
        let err = Source::open(b"a,b\n1,2\xCC\n", TabularFormat::Csv, None).unwrap_err();
        assert_eq!(
            err,
            TableError::NotUtf8 {
                row: 2,
                likely: None
            }
        );
    }

    #[test]
    fn windows_1258_is_decoded_and_composed_to_nfc() {
        let text = format!("Ma\u{303} phươ\u{300}ng;Tên\r\n26734;{SAI_GON_1258}\r\n");
        let bytes = windows_1258(&text);
        let src = Source::open(&bytes, TabularFormat::Csv, Some(Encoding::Windows1258)).unwrap();
        assert_eq!(src.headers(), ["Mã phường", "Tên"]);
        let cell = &rows(&src)[0].cells[1];
        assert_eq!(cell, "Phường Sài Gòn");
        assert!(cell.contains('\u{1EDD}'), "ờ is one precomposed character");
        assert!(!cell.chars().any(|c| ('\u{300}'..='\u{36F}').contains(&c)));
        // A byte order mark still wins over the named encoding.
        let utf8 = "\u{feff}a,b\n1,Sài Gòn\n";
        let src = Source::open(
            utf8.as_bytes(),
            TabularFormat::Csv,
            Some(Encoding::Windows1258),
        );
        assert_eq!(rows(&src.unwrap())[0].cells[1], "Sài Gòn");
    }

    #[test]
    fn nfc_agrees_with_unicode_for_every_windows_1258_letter_and_tone_marks() {
        // Generated with Python's unicodedata: each letter of the code page followed by one or
        // two of its combining marks, and the NFC of the decoded text.
        let fixture = include_str!("../../tests/fixtures/opendata/cp1258-nfc.tsv");
        let mut checked = 0;
        for line in fixture.lines() {
            let (hex, expected) = line.split_once('\t').unwrap();
            let bytes: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            assert_eq!(decode_windows_1258(&bytes), expected, "bytes {hex}");
            checked += 1;
        }
        assert_eq!(checked, 3480);
        // Marks in non-canonical order compose the same.
        assert_eq!(
            nfc::compose("a\u{301}\u{323}"),
            nfc::compose("a\u{323}\u{301}")
        );
        assert_eq!(nfc::compose("ă\u{323}"), "ặ");
        assert_eq!(nfc::compose("\u{301}a"), "\u{301}a");
    }

    // CSV structure ----------------------------------------------------------------------------

    #[test]
    fn the_delimiter_is_the_one_the_header_uses_most_outside_quotes() {
        assert_eq!(csv("a;b;c\n1;2,5;3\n").unwrap().headers(), ["a", "b", "c"]);
        assert_eq!(csv("a\tb\n1\t2\n").unwrap().headers(), ["a", "b"]);
        let src = csv("\"Tên; đơn vị\",Mã,Số\n\"x;y\",1,2\n").unwrap();
        assert_eq!(src.headers(), ["Tên; đơn vị", "Mã", "Số"]);
        assert_eq!(rows(&src)[0].cells, ["x;y", "1", "2"]);
        assert_eq!(csv("only\n1\n").unwrap().headers(), ["only"]);
    }

    #[test]
    fn quoted_values_may_span_lines_and_rows_are_numbered_as_a_spreadsheet_shows_them() {
        let src = csv("a,b\r\n1,\"x\r\ny\"\r\n2,\"say \"\"hi\"\"\"\r\n\r\n3,4\r\n").unwrap();
        let rows = rows(&src);
        assert_eq!(rows[0].cells, ["1", "x\r\ny"]);
        assert_eq!(rows[1].cells, ["2", "say \"hi\""]);
        assert_eq!(
            rows.iter().map(|r| r.number).collect::<Vec<_>>(),
            [2, 3, 5],
            "a record spanning two lines is one row; the blank line is row 4"
        );
        // Leading blank lines push the header down as in a spreadsheet; lone CR line ends too.
        assert_eq!(numbers(&csv("\n\na,b\n1,2\n").unwrap()), [4]);
        assert_eq!(numbers(&csv("a,b\r1,2\r\r3,4\r").unwrap()), [2, 4]);
        // A ragged row after a multi-line value names its own row.
        let src = csv("a,b\n1,\"x\ny\nz\"\n2,3,4\n").unwrap();
        let errors: Vec<_> = src.rows().filter_map(Result::err).collect();
        assert_eq!(
            errors,
            [TableError::Ragged {
                row: 3,
                expected: 2,
                found: 3
            }]
        );
    }

    #[test]
    fn a_row_with_another_number_of_values_is_ragged_and_reading_goes_on() {
        let src = csv("a,b,c\n1,2,3\n4,5\n6,7,8\n").unwrap();
        let results: Vec<_> = src.rows().collect();
        assert_eq!(results.len(), 3);
        assert_eq!(
            results[1],
            Err(TableError::Ragged {
                row: 3,
                expected: 3,
                found: 2
            })
        );
        assert_eq!(results[2].as_ref().unwrap().number, 4);
        let err = results[1].clone().unwrap_err();
        assert_eq!(err.key(), "od-err-ragged");
        assert_eq!(
            err.args(),
            [
                ("row", "3".to_string()),
                ("expected", "3".to_string()),
                ("found", "2".to_string())
            ]
        );
        assert_eq!(err.to_string(), "row 3: 2 columns, but the header has 3");
    }

    #[test]
    fn empty_lines_and_empty_rows_are_skipped() {
        assert_eq!(rows(&csv("a,b\n1,2\n").unwrap()).len(), 1);
        assert_eq!(rows(&csv("a,b\n1,2\n\n\n").unwrap()).len(), 1);
        assert_eq!(rows(&csv("a,b\n1,2\n   \n").unwrap()).len(), 1);
        assert_eq!(numbers(&csv("a,b\n,\n1,2\n").unwrap()), [3]);
    }

    #[test]
    fn a_header_alone_is_a_table_with_no_rows_and_an_empty_file_is_refused() {
        let src = csv("a,b\n").unwrap();
        assert_eq!(src.headers(), ["a", "b"]);
        assert_eq!(src.rows().count(), 0);
        assert_eq!(
            infer_types(&src).unwrap(),
            [ColumnType::Text, ColumnType::Text]
        );
        for empty in ["", "\u{feff}", "\n\r\n", "  \n", ",,\n"] {
            assert_eq!(csv(empty).unwrap_err(), TableError::Empty, "{empty:?}");
        }
        assert_eq!(TableError::Empty.key(), "od-err-empty");
    }

    // Headers ----------------------------------------------------------------------------------

    #[test]
    fn headers_are_trimmed_and_must_be_named_unique_short_and_not_reserved() {
        assert_eq!(
            csv(" Mã , Tên phường \n1,2\n").unwrap().headers(),
            ["Mã", "Tên phường"]
        );
        assert_eq!(header_problem("a,,c\n"), (2, HeaderProblem::Empty));
        assert_eq!(header_problem("a,  \n"), (2, HeaderProblem::Empty));
        assert_eq!(header_problem("_id,a\n"), (1, HeaderProblem::Reserved));
        assert_eq!(
            header_problem("a,b\u{1}c\n"),
            (2, HeaderProblem::ControlCharacter)
        );
        let long = "ư".repeat(MAX_HEADER_CHARS + 1);
        assert_eq!(
            header_problem(&format!("a,{long}\n")),
            (2, HeaderProblem::TooLong)
        );
        let fits = "ư".repeat(MAX_HEADER_CHARS);
        assert!(csv(&format!("a,{fits}\n")).is_ok());

        let err = csv("Mã,Tên,MÃ\n").unwrap_err();
        assert_eq!(
            err,
            TableError::DuplicateHeader {
                column: 3,
                name: "MÃ".into()
            }
        );
        assert_eq!(err.key(), "od-err-header-duplicate");
        assert!(matches!(
            csv("a, A \n"),
            Err(TableError::DuplicateHeader { column: 2, .. })
        ));

        let err = csv("a,_id\n").unwrap_err();
        assert_eq!(err.key(), "od-err-header-reserved");
        assert_eq!(
            err.args(),
            [("column", "2".to_string()), ("name", "_id".to_string())]
        );
    }

    #[test]
    fn at_most_500_columns() {
        let header = |n: usize| {
            (1..=n)
                .map(|i| format!("c{i}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        assert_eq!(csv(&header(500)).unwrap().headers().len(), 500);
        assert_eq!(
            csv(&header(501)).unwrap_err(),
            TableError::TooManyColumns {
                found: 501,
                max: 500
            }
        );
    }

    // Types ------------------------------------------------------------------------------------

    #[test]
    fn ints_keep_leading_zeros_as_text() {
        use ColumnType::*;
        let types = types_of(
            "ward,delta,phone,code,big,account\n\
             26734,-5,0903123456,0123,9223372036854775807,12345678901234567890\n\
             26740,+7,0283822,0,1,2\n",
        );
        assert_eq!(types, [Int, Int, Text, Text, Int, Text]);
        assert_eq!(types_of("zero\n0\n00\n"), [Text]);
    }

    #[test]
    fn numerics_use_a_decimal_point_and_vietnamese_thousands_stay_text() {
        use ColumnType::*;
        assert_eq!(
            types_of("a,b,c\n1.5,2e3,3\n.5,-1.25E-2,0.125\n4,7,1.000\n"),
            [Numeric, Numeric, Numeric]
        );
        // "1.000" alone reads as one thousand to a Vietnamese reader: not a number.
        assert_eq!(types_of("dan_so\n1.000\n12.500\n3\n"), [Text]);
        assert_eq!(types_of("x\n\"1.234,5\"\n"), [Text]);
        assert_eq!(types_of("x\n\"1,5\"\n"), [Text]);
        assert_eq!(types_of("x\n01.5\n"), [Text]);
        assert_eq!(types_of("x\ninf\n"), [Text]);
        assert_eq!(types_of("x\n1e999\n"), [Text]);
        assert_eq!(types_of("x\n1.000.000\n"), [Text]);
    }

    #[test]
    fn bools_accept_vietnamese_words_but_one_and_zero_are_ints() {
        use ColumnType::*;
        assert_eq!(
            types_of("a,b,c,d\ncó,true,1,1\nKhông,No,0,yes\nCÓ,YES,1,0\nđúng,,,\nSai,,,\n"),
            [Bool, Bool, Int, Bool]
        );
        let row = Row {
            number: 2,
            cells: vec!["1".into(), "không".into()],
        };
        let headers = ["a".to_string(), "b".to_string()];
        assert_eq!(
            convert(&row, &[Bool, Bool], &headers).unwrap(),
            [Cell::Bool(true), Cell::Bool(false)]
        );
    }

    #[test]
    fn dates_are_iso_or_day_first_and_must_exist() {
        use ColumnType::*;
        assert_eq!(
            types_of(
                "a,b,c,d\n2024-02-29,31/12/2024,5/3/2024,2023-02-29\n2025-07-01,01/07/2025,,x\n"
            ),
            [Date, Date, Date, Text]
        );
        for (value, expected) in [
            ("2024-02-29", Some("2024-02-29")),
            ("29/02/2024", Some("2024-02-29")),
            ("5/3/2024", Some("2024-03-05")),
            ("2023-02-29", None),
            ("31/04/2024", None),
            ("2024-13-01", None),
            ("0000-01-01", None),
            ("2024-1-5", None),
            ("12/31/2024", None),
            ("1/1/24", None),
        ] {
            assert_eq!(parse_date(value).as_deref(), expected, "{value}");
        }
    }

    #[test]
    fn timestamps_take_a_t_or_a_space_and_a_date_column_with_times_is_timestamps() {
        use ColumnType::*;
        for (value, expected) in [
            ("2024-01-05T08:30", Some("2024-01-05T08:30:00")),
            ("2024-01-05 08:30:15", Some("2024-01-05T08:30:15")),
            ("05/01/2024 8:30", Some("2024-01-05T08:30:00")),
            ("2024-01-05", Some("2024-01-05T00:00:00")),
            ("2024-01-05T24:00", None),
            ("2024-01-05T08:60", None),
            ("2024-01-05T08:30:00Z", None),
            ("2024-01-05  08:30", None),
        ] {
            assert_eq!(
                parse_timestamp_or_date(value).as_deref(),
                expected,
                "{value}"
            );
        }
        assert_eq!(
            types_of("a,b\n2024-01-05T08:30,2024-01-05\n2024-01-06,2024-01-06 17:00:00\n"),
            [Timestamp, Timestamp]
        );
    }

    #[test]
    fn an_empty_column_is_text_and_empty_values_are_null() {
        let src = csv("a,b,c\n1,, x \n2,  ,\n").unwrap();
        let types = infer_types(&src).unwrap();
        assert_eq!(types, [ColumnType::Int, ColumnType::Text, ColumnType::Text]);
        let cells: Vec<Vec<Cell>> = rows(&src)
            .iter()
            .map(|r| convert(r, &types, src.headers()).unwrap())
            .collect();
        assert_eq!(
            cells[0],
            [Cell::Int(1), Cell::Null, Cell::Text(" x ".into())]
        );
        assert_eq!(cells[1], [Cell::Int(2), Cell::Null, Cell::Null]);
    }

    #[test]
    fn convert_normalises_values_and_names_the_one_that_does_not_fit() {
        use ColumnType::*;
        let headers: Vec<String> = ["Số", "Tỷ lệ", "Ngày", "Lúc", "Mã"]
            .map(String::from)
            .into();
        let types = [Int, Numeric, Date, Timestamp, Int];
        let row = Row {
            number: 7,
            cells: ["-12", " 2.5e1 ", "01/07/2025", "2025-07-01 08:00", "0123"]
                .map(String::from)
                .into(),
        };
        assert_eq!(
            convert(&row, &types, &headers).unwrap(),
            [
                Cell::Int(-12),
                Cell::Numeric(25.0),
                Cell::Date("2025-07-01".into()),
                Cell::Timestamp("2025-07-01T08:00:00".into()),
                Cell::Int(123),
            ],
            "a publisher who chooses int for 0123 gets 123"
        );
        let row = Row {
            number: 9,
            cells: ["1.000", "x", "", "", ""].map(String::from).into(),
        };
        let err = convert(&row, &types, &headers).unwrap_err();
        assert_eq!(
            err,
            TableError::BadValue {
                row: 9,
                column: "Số".into(),
                value: "1.000".into(),
                column_type: Int
            }
        );
        assert_eq!(err.key(), "od-err-bad-value");
        assert_eq!(
            err.args(),
            [
                ("row", "9".to_string()),
                ("column", "Số".to_string()),
                ("value", "1.000".to_string()),
                ("type", "int".to_string())
            ]
        );
        assert_eq!(
            err.to_string(),
            "row 9, column \"Số\": \"1.000\" is not a valid int"
        );
        let short = Row {
            number: 3,
            cells: vec!["1".into()],
        };
        assert_eq!(
            convert(&short, &types, &headers).unwrap_err(),
            TableError::Ragged {
                row: 3,
                expected: 5,
                found: 1
            }
        );
    }

    #[test]
    fn cells_become_api_json() {
        use serde_json::json;
        let cells = [
            Cell::Null,
            Cell::Text("a".into()),
            Cell::Int(3),
            Cell::Numeric(2.5),
            Cell::Bool(true),
            Cell::Date("2025-07-01".into()),
        ];
        let values: Vec<_> = cells.iter().map(Cell::to_json).collect();
        assert_eq!(
            values,
            [
                json!(null),
                json!("a"),
                json!(3),
                json!(2.5),
                json!(true),
                json!("2025-07-01")
            ]
        );
    }

    // Large files ------------------------------------------------------------------------------

    fn generated(rows: usize) -> Vec<u8> {
        let mut text = String::from("id,ward,amount,day\n");
        for i in 0..rows {
            use std::fmt::Write;
            let _ = writeln!(
                text,
                "{i},Phường {},{}.5,2025-07-{:02}",
                i % 168,
                i % 1000,
                i % 28 + 1
            );
        }
        text.into_bytes()
    }

    fn read_generated(rows: usize) {
        let bytes = generated(rows);
        let src = Source::open(&bytes, TabularFormat::Csv, None).unwrap();
        let mut count = 0u64;
        let mut last = 0;
        for row in src.rows() {
            let row = row.unwrap();
            count += 1;
            last = row.number;
            assert_eq!(row.cells.len(), 4);
        }
        assert_eq!(count, rows as u64);
        assert_eq!(last, rows as u64 + 1);
    }

    #[test]
    fn twenty_thousand_rows_stream_and_infer() {
        read_generated(20_000);
        let bytes = generated(20_000);
        let src = Source::open(&bytes, TabularFormat::Csv, None).unwrap();
        use ColumnType::*;
        assert_eq!(infer_types(&src).unwrap(), [Int, Text, Numeric, Date]);
    }

    /// About a second in a debug build.
    #[test]
    fn a_million_rows_stream() {
        read_generated(1_000_000);
    }

    // XLSX -------------------------------------------------------------------------------------

    const BASIC: &[u8] = include_bytes!("../../tests/fixtures/opendata/basic.xlsx");
    const OFFSET: &[u8] = include_bytes!("../../tests/fixtures/opendata/offset.xlsx");
    const DUPLICATE: &[u8] = include_bytes!("../../tests/fixtures/opendata/duplicate-header.xlsx");
    const TRUNCATED: &[u8] = include_bytes!("../../tests/fixtures/opendata/truncated.xlsx");
    const ENCRYPTED: &[u8] = include_bytes!("../../tests/fixtures/opendata/encrypted.xlsx");

    fn xlsx(bytes: &[u8]) -> Result<Source, TableError> {
        Source::open(bytes, TabularFormat::Xlsx, None)
    }

    #[test]
    fn xlsx_values_become_text_the_way_a_csv_export_would_write_them() {
        let src = xlsx(BASIC).unwrap();
        assert_eq!(
            src.headers(),
            [
                "Mã phường",
                "Tên phường",
                "Dân số",
                "Diện tích",
                "Ngày thành lập",
                "Cập nhật",
                "Gấp đôi",
                "Điện thoại",
                "Hoạt động"
            ]
        );
        let rows = rows(&src);
        assert_eq!(
            rows.iter().map(|r| r.number).collect::<Vec<_>>(),
            [2, 3, 5],
            "sheet row numbers; the empty row 4 is skipped"
        );
        assert_eq!(
            rows[0].cells,
            [
                "26734",
                "Phường Sài Gòn",
                "47022",
                "1.5",
                "2025-07-01",
                "2025-07-01T08:30:00",
                "94044",
                "0903123456",
                "true"
            ],
            "whole numbers without a point, dates, a time rounded to the second, a formula's value"
        );
        assert_eq!(rows[1].cells[2], "53000", "a float that is whole is an int");
        assert_eq!(rows[2].cells[2], "", "an empty cell is empty");
        assert_eq!(rows[2].cells[5], "2025-07-03", "midnight is a date");
        use ColumnType::*;
        assert_eq!(
            infer_types(&src).unwrap(),
            [Int, Text, Int, Numeric, Date, Timestamp, Int, Text, Bool]
        );
    }

    #[test]
    fn xlsx_reads_the_first_visible_sheet_from_its_first_row_with_sheet_row_numbers() {
        let src = xlsx(OFFSET).unwrap();
        // The table starts at B3 on the second sheet (the first is hidden); the formatted but
        // empty column E is not a column.
        assert_eq!(src.headers(), ["Phường", "Dân số"]);
        let rows = rows(&src);
        assert_eq!(rows.iter().map(|r| r.number).collect::<Vec<_>>(), [4, 5]);
        assert_eq!(rows[0].cells, ["Sài Gòn", "47022"]);
    }

    #[test]
    fn xlsx_headers_are_checked_like_csv_headers() {
        assert_eq!(
            xlsx(DUPLICATE).unwrap_err(),
            TableError::DuplicateHeader {
                column: 2,
                name: "TÊN".into()
            }
        );
    }

    #[test]
    fn a_damaged_encrypted_or_old_excel_file_is_explained() {
        let err = xlsx(TRUNCATED).unwrap_err();
        assert!(
            matches!(err, TableError::Xlsx(XlsxProblem::Corrupt(_))),
            "{err:?}"
        );
        assert_eq!(err.key(), "od-err-xlsx-corrupt");
        assert!(err
            .to_string()
            .starts_with("the Excel file cannot be read: "));
        assert_eq!(
            xlsx(ENCRYPTED).unwrap_err(),
            TableError::Xlsx(XlsxProblem::Encrypted)
        );
        let mut xls = COMPOUND_FILE_MAGIC.to_vec();
        xls.resize(4096, 0);
        assert_eq!(
            xlsx(&xls).unwrap_err(),
            TableError::Xlsx(XlsxProblem::Legacy)
        );
        assert!(matches!(
            xlsx(b"a,b\n1,2\n"),
            Err(TableError::Xlsx(XlsxProblem::Corrupt(_)))
        ));
    }

    // Sniffing ---------------------------------------------------------------------------------

    #[test]
    fn sniff_judges_by_content() {
        assert_eq!(
            sniff(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj"),
            Some(FileKind::Pdf)
        );
        assert_eq!(sniff(BASIC), Some(FileKind::Xlsx));
        assert_eq!(sniff(ENCRYPTED), Some(FileKind::Xlsx));
        assert_eq!(sniff(TRUNCATED), None);
        assert_eq!(sniff(b"PK\x03\x04not really a zip"), None);
        assert_eq!(sniff(b"\xEF\xBB\xBF{\"a\": [1, 2]}"), Some(FileKind::Json));
        assert_eq!(sniff(b" [1, 2] "), Some(FileKind::Json));
        assert_eq!(sniff("Mã;Tên\n1;Sài Gòn\n".as_bytes()), Some(FileKind::Csv));
        assert_eq!(sniff(b"a,b"), Some(FileKind::Csv));
        let legacy = windows_1258(&format!("ma,ten\n1,{SAI_GON_1258}\n"));
        assert_eq!(sniff(&legacy), Some(FileKind::Csv));
        assert_eq!(sniff(b"{\"a\": 1, broken"), None);
        assert_eq!(sniff(b"Just a sentence of prose.\nAnother one.\n"), None);
        assert_eq!(sniff(b"a,b,c\n1,2\n"), None);
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), None);
        assert_eq!(sniff(b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00"), None);
        assert_eq!(sniff(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00,\x00"), None);
        assert_eq!(sniff(b""), None);
    }

    // Messages ---------------------------------------------------------------------------------

    #[test]
    fn every_error_has_a_message_in_both_languages_using_only_its_arguments() {
        // The web edge's translation catalogues hold the messages.
        let vi = include_str!("../../../cityhall-web/i18n/vi.ftl");
        let en = include_str!("../../../cityhall-web/i18n/en.ftl");
        let errors = [
            TableError::Empty,
            TableError::NotUtf8 {
                row: 3,
                likely: None,
            },
            TableError::NotUtf8 {
                row: 3,
                likely: Some(Encoding::Windows1258),
            },
            TableError::BadUtf16,
            TableError::TooManyColumns {
                found: 501,
                max: 500,
            },
            TableError::BadHeader {
                column: 1,
                name: "".into(),
                problem: HeaderProblem::Empty,
            },
            TableError::BadHeader {
                column: 1,
                name: "x".into(),
                problem: HeaderProblem::TooLong,
            },
            TableError::BadHeader {
                column: 1,
                name: "_id".into(),
                problem: HeaderProblem::Reserved,
            },
            TableError::BadHeader {
                column: 1,
                name: "a\u{1}".into(),
                problem: HeaderProblem::ControlCharacter,
            },
            TableError::DuplicateHeader {
                column: 2,
                name: "a".into(),
            },
            TableError::Ragged {
                row: 2,
                expected: 3,
                found: 2,
            },
            TableError::BadValue {
                row: 2,
                column: "a".into(),
                value: "x".into(),
                column_type: ColumnType::Int,
            },
            TableError::Xlsx(XlsxProblem::Encrypted),
            TableError::Xlsx(XlsxProblem::Legacy),
            TableError::Xlsx(XlsxProblem::NoWorksheet),
            TableError::Xlsx(XlsxProblem::Corrupt("invalid zip".into())),
            TableError::Csv {
                row: 2,
                reason: "x".into(),
            },
        ];
        for err in &errors {
            let key = err.key();
            let args: Vec<&str> = err.args().iter().map(|(name, _)| *name).collect();
            for (language, section) in [("vi", vi), ("en", en)] {
                let message = message(section, key)
                    .unwrap_or_else(|| panic!("{key} has no {language} message"));
                for variable in variables(&message) {
                    assert!(
                        args.contains(&variable.as_str()),
                        "{language} {key} uses ${variable}, not among {args:?}"
                    );
                }
            }
            assert!(!err.to_string().is_empty());
        }
    }

    /// A Fluent message's text: its line and the indented lines after it.
    fn message(section: &str, key: &str) -> Option<String> {
        let mut lines = section
            .lines()
            .skip_while(|l| !l.starts_with(&format!("{key} =")));
        let first = lines.next()?;
        let rest: Vec<&str> = lines.take_while(|l| l.starts_with(' ')).collect();
        Some(
            std::iter::once(first)
                .chain(rest)
                .collect::<Vec<_>>()
                .join("\n"),
        )
    }

    fn variables(message: &str) -> Vec<String> {
        message
            .split('$')
            .skip(1)
            .map(|s| {
                s.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '-')
                    .collect()
            })
            .collect()
    }
}
