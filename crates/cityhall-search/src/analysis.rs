//! The Vietnamese analyzer: Unicode NFC, lower-case, split into syllables on
//! anything that is not a letter or digit, plus the diacritics-folded form and
//! adjacent-syllable bigrams. Indexing (through tantivy tokenizers) and query
//! building both go through [`analyze`], so the two always agree.

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Longer "syllables" are codes, URLs or junk; dropping them keeps terms small.
const MAX_SYLLABLE_CHARS: usize = 64;

/// One syllable of input text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Syllable {
    /// NFC, lower-case, diacritics kept.
    pub exact: String,
    /// `exact` without diacritics (đ → d).
    pub folded: String,
    /// Byte range in the original text.
    pub start: usize,
    pub end: usize,
    /// Only whitespace separates it from the previous syllable, so the two
    /// form a bigram; punctuation or a dropped token breaks the chain.
    pub joined: bool,
}

impl Syllable {
    /// Whether the syllable carries any diacritic (including đ).
    pub fn has_diacritics(&self) -> bool {
        self.exact != self.folded
    }

    /// Whether `self` (as typed) can stand for `other`: same letters once
    /// folded, and where both carry a mark it is the same mark. "cuoi" and
    /// "cưới" agree, "cuối" and "cưới" do not, "đang" and "đăng" do.
    pub fn compatible(&self, other: &Syllable) -> bool {
        if self.folded != other.folded {
            return false;
        }
        if self.exact == other.exact || !self.has_diacritics() || !other.has_diacritics() {
            return true;
        }
        let (a, b): (Vec<char>, Vec<char>) =
            (self.exact.chars().collect(), other.exact.chars().collect());
        a.len() == b.len()
            && a.iter()
                .zip(&b)
                .all(|(x, y)| x == y || is_plain(*x) || is_plain(*y))
    }

    /// The bigram term for `self` followed by `next`.
    pub fn bigram(&self, next: &Syllable) -> String {
        format!("{}_{}", self.folded, next.folded)
    }
}

fn is_plain(c: char) -> bool {
    let mut buf = [0; 4];
    let s: &str = c.encode_utf8(&mut buf);
    fold_syllable(s) == s
}

fn is_word_char(c: char) -> bool {
    // Combining marks count so that decomposed (NFD) input stays in one piece
    // until NFC recomposes it.
    c.is_alphanumeric() || is_combining_mark(c)
}

fn fold_syllable(exact: &str) -> String {
    // `fold` maps precomposed Vietnamese letters; marks left over from letters
    // that have no precomposed form are dropped here.
    cityhall_core::text::fold(exact)
        .chars()
        .filter(|c| !is_combining_mark(*c))
        .collect()
}

/// The whole of `text` folded (NFC first, then as in [`Syllable::folded`]),
/// punctuation and spacing kept: for sort keys.
pub(crate) fn fold_text(text: &str) -> String {
    fold_syllable(&text.nfc().collect::<String>())
}

/// Splits `text` into syllables (see the module docs).
pub(crate) fn analyze(text: &str) -> Vec<Syllable> {
    let mut out = Vec::new();
    let mut run_start: Option<usize> = None;
    let mut prev_end: Option<usize> = None;
    let mut push = |start: usize, end: usize, prev_end: &mut Option<usize>| {
        let exact: String = text[start..end].nfc().collect::<String>().to_lowercase();
        let keep =
            exact.chars().any(char::is_alphanumeric) && exact.chars().count() <= MAX_SYLLABLE_CHARS;
        if !keep {
            *prev_end = None;
            return;
        }
        let joined = prev_end.is_some_and(|p| text[p..start].chars().all(char::is_whitespace));
        let folded = fold_syllable(&exact);
        out.push(Syllable {
            exact,
            folded,
            start,
            end,
            joined,
        });
        *prev_end = Some(end);
    };
    for (i, c) in text.char_indices() {
        match (is_word_char(c), run_start) {
            (true, None) => run_start = Some(i),
            (false, Some(s)) => {
                push(s, i, &mut prev_end);
                run_start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = run_start {
        push(s, text.len(), &mut prev_end);
    }
    out
}

/// The analyzer itself, for other indexes and tests: NFC, lower-case, split
/// into syllables. Diacritics are kept; see `cityhall_core::text::fold` for
/// the folded form.
pub fn syllables(text: &str) -> Vec<String> {
    analyze(text).into_iter().map(|s| s.exact).collect()
}

/// Which terms a [`VietnameseTokenizer`] emits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Syllables with diacritics.
    Exact,
    /// Syllables without diacritics.
    Folded,
    /// Adjacent folded syllable pairs, "khai_sinh".
    Bigram,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Exact, Mode::Folded, Mode::Bigram];

    /// Name under which the tokenizer is registered with tantivy.
    pub fn tokenizer_name(self) -> &'static str {
        match self {
            Mode::Exact => "vi_exact",
            Mode::Folded => "vi_folded",
            Mode::Bigram => "vi_bigram",
        }
    }
}

/// The analyzer as a tantivy tokenizer.
#[derive(Clone, Debug)]
pub(crate) struct VietnameseTokenizer(pub Mode);

impl Tokenizer for VietnameseTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let sylls = analyze(text);
        let tokens: Vec<Token> = match self.0 {
            Mode::Exact | Mode::Folded => sylls
                .into_iter()
                .enumerate()
                .map(|(position, s)| Token {
                    offset_from: s.start,
                    offset_to: s.end,
                    position,
                    text: if self.0 == Mode::Exact {
                        s.exact
                    } else {
                        s.folded
                    },
                    position_length: 1,
                })
                .collect(),
            Mode::Bigram => sylls
                .windows(2)
                .filter(|w| w[1].joined)
                .enumerate()
                .map(|(position, w)| Token {
                    offset_from: w[0].start,
                    offset_to: w[1].end,
                    position,
                    text: w[0].bigram(&w[1]),
                    position_length: 1,
                })
                .collect(),
        };
        VecTokenStream {
            tokens: tokens.into_iter(),
            current: Token::default(),
        }
    }
}

/// Tokens computed up front; Vietnamese fields are short.
pub(crate) struct VecTokenStream {
    tokens: std::vec::IntoIter<Token>,
    current: Token,
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        match self.tokens.next() {
            Some(t) => {
                self.current = t;
                true
            }
            None => false,
        }
    }

    fn token(&self) -> &Token {
        &self.current
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(mode: Mode, text: &str) -> Vec<String> {
        let mut tok = VietnameseTokenizer(mode);
        let mut stream = tok.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    }

    #[test]
    fn splits_lowercases_and_keeps_diacritics() {
        assert_eq!(
            syllables("Đăng ký KHAI SINH (lần đầu), 1.001193"),
            ["đăng", "ký", "khai", "sinh", "lần", "đầu", "1", "001193"]
        );
    }

    #[test]
    fn decomposed_input_is_recomposed() {
        let nfd: String = "Đăng ký khai sinh".nfd().collect();
        assert_ne!(nfd, "Đăng ký khai sinh");
        assert_eq!(syllables(&nfd), syllables("Đăng ký khai sinh"));
        assert_eq!(terms(Mode::Folded, &nfd), ["dang", "ky", "khai", "sinh"]);
        assert_eq!(fold_text(&nfd), "dang ky khai sinh");
    }

    #[test]
    fn bigrams_follow_whitespace_only() {
        assert_eq!(
            terms(Mode::Bigram, "Đăng ký khai sinh, kết hôn"),
            ["dang_ky", "ky_khai", "khai_sinh", "ket_hon"]
        );
    }

    #[test]
    fn junk_makes_no_tokens() {
        for s in ["", "(((", "*", "  -- ", "\u{301}\u{301}", "🙂🙂"] {
            assert!(syllables(s).is_empty(), "{s:?}");
        }
        let long = "a".repeat(MAX_SYLLABLE_CHARS + 1);
        assert_eq!(syllables(&format!("x {long} y")), ["x", "y"]);
        assert!(terms(Mode::Bigram, &format!("x {long} y")).is_empty());
    }

    #[test]
    fn compatibility_respects_typed_marks() {
        let one = |s: &str| analyze(s).remove(0);
        assert!(one("cuoi").compatible(&one("cưới")));
        assert!(!one("cuối").compatible(&one("cưới")));
        assert!(one("đang").compatible(&one("đăng")));
        assert!(one("đkkd").compatible(&one("dkkd")));
        assert!(one("dang").compatible(&one("đăng")));
        assert!(!one("khai").compatible(&one("sinh")));
    }
}
