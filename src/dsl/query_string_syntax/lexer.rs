//! The lexer of Lucene's classic `QueryParser.jj`: its token rules (longest
//! match, ties to the earlier declaration), its three lexical states and its
//! `TokenMgrError` texts; see
//! <https://github.com/apache/lucene/blob/main/lucene/queryparser/src/java/org/apache/lucene/queryparser/classic/QueryParser.jj>.

/// Declares the token kinds with JavaCC's `tokenImage` entry for each, which
/// the "Encountered" messages quote.
macro_rules! kinds {
    ($($kind:ident = $image:literal),* $(,)?) => {
        /// Token kinds of `QueryParser.jj`; `Lex` carries a lexical error.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(super) enum K { $($kind),* }
        impl K {
            pub(super) fn image(self) -> &'static str {
                match self { $(K::$kind => $image),* }
            }
        }
    };
}

kinds! {
    Eof = "<EOF>", And = "<AND>", Or = "<OR>", Not = "<NOT>", Plus = "\"+\"", Minus = "\"-\"",
    BareOper = "<BAREOPER>", LParen = "\"(\"", RParen = "\")\"", Colon = "\":\"", Star = "\"*\"",
    Carat = "\"^\"", Quoted = "<QUOTED>", Term = "<TERM>", FuzzySlop = "<FUZZY_SLOP>",
    PrefixTerm = "<PREFIXTERM>", WildTerm = "<WILDTERM>", RegexpTerm = "<REGEXPTERM>",
    RangeInStart = "\"[\"", RangeExStart = "\"{\"", Number = "<NUMBER>", RangeTo = "\"TO\"",
    RangeInEnd = "\"]\"", RangeExEnd = "\"}\"", RangeQuoted = "<RANGE_QUOTED>",
    RangeGoop = "<RANGE_GOOP>", Lex = "<LEXICAL_ERROR>",
}

#[derive(Debug, Clone)]
pub(super) struct Tok {
    pub(super) kind: K,
    /// The matched text, or the message of a lexical error.
    pub(super) image: String,
    /// Begin column as Lucene's `FastCharStream` reports it: the 0-based
    /// UTF-16 offset (and the input length for `<EOF>`).
    pub(super) col: usize,
}

/// JavaCC lexical states: `^` switches to `Boost`, `[`/`{` to `Range`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Default,
    Boost,
    Range,
}

fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{3000}')
}

/// `_TERM_START_CHAR` without the escaped-char alternative.
fn is_term_start(c: char) -> bool {
    !is_ws(c) && !"+-!():^[]\"{}~*?\\/".contains(c)
}

/// Returns the end of the longest match of `open (~[close] | "\\" close)* close`
/// from `i` (REGEXPTERM with `/`, RANGE_QUOTED with `"` and `min` 1): a
/// closing char preceded by a backslash may close the token or go on.
fn closing(s: &[char], i: usize, close: char, min: usize) -> Option<usize> {
    let mut last = None;
    for j in i + 1..s.len() {
        if s[j] == close {
            if j > i + min {
                last = Some(j + 1);
            }
            if j - 1 == i || s[j - 1] != '\\' {
                break;
            }
        }
    }
    last
}

/// Returns the end of the longest run of `_TERM_CHAR`s (plus `*`/`?` when
/// `wild`) starting at `i`; `\x` counts as one escaped char.
fn term_run(s: &[char], mut i: usize, wild: bool) -> usize {
    while i < s.len() {
        let c = s[i];
        if c == '\\' {
            if i + 1 >= s.len() {
                break;
            }
            i += 2;
        } else if is_term_start(c) || c == '-' || c == '+' || (wild && (c == '*' || c == '?')) {
            i += 1;
        } else {
            break;
        }
    }
    i
}

/// Escapes a string the way JavaCC's `addEscapes` does.
pub(super) fn add_escapes(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '"' => out.push_str("\\\""),
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for u in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

struct Lexer<'a> {
    s: &'a [char],
    /// UTF-16 offset of each char index (length `s.len() + 1`).
    cols: Vec<usize>,
}

impl Lexer<'_> {
    /// Builds JavaCC's `TokenMgrError` text for a token starting at `start`
    /// that cannot go on at `bad` (`bad == len` means end of input).
    fn lex_error(&self, start: usize, bad: usize) -> String {
        let after: String = self.s[start..bad.min(self.s.len())].iter().collect();
        let (col, seen) = match self.s.get(bad) {
            None => (self.cols[self.s.len()], "<EOF> ".to_string()),
            Some(&c) => (
                self.cols[bad] + 1,
                format!("\"{}\" ({}), ", add_escapes(&c.to_string()), c as u32),
            ),
        };
        format!(
            "Lexical error at line 1, column {col}.  Encountered: {seen}after : \"{}\"",
            add_escapes(&after)
        )
    }

    fn default_token(&self, i: usize) -> Result<(K, usize), usize> {
        let s = self.s;
        let n = s.len();
        let next_ws = i + 1 < n && is_ws(s[i + 1]);
        Ok(match s[i] {
            // BAREOPER: an operator char followed by whitespace is a term.
            '+' | '-' | '!' if next_ws => (K::BareOper, i + 2),
            '+' => (K::Plus, i + 1),
            '-' => (K::Minus, i + 1),
            '!' => (K::Not, i + 1),
            '(' => (K::LParen, i + 1),
            ')' => (K::RParen, i + 1),
            ':' => (K::Colon, i + 1),
            '^' => (K::Carat, i + 1),
            '[' => (K::RangeInStart, i + 1),
            '{' => (K::RangeExStart, i + 1),
            ']' | '}' => return Err(i),
            '~' => (K::FuzzySlop, term_run(s, i + 1, false)),
            '"' => {
                let mut j = i + 1;
                loop {
                    match s.get(j) {
                        None => return Err(n),
                        Some('"') => break (K::Quoted, j + 1),
                        Some('\\') if j + 1 >= n => return Err(n),
                        Some('\\') => j += 2,
                        Some(_) => j += 1,
                    }
                }
            }
            '/' => (K::RegexpTerm, closing(s, i, '/', 0).ok_or(n)?),
            '\\' if i + 1 >= n => return Err(n),
            _ => self.word(i),
        })
    }

    /// Classifies a word like JavaCC's longest match with declaration order:
    /// AND/OR/NOT beat TERM, TERM beats the wildcard forms, STAR beats
    /// PREFIXTERM (`x*`, one trailing star) which beats WILDTERM.
    fn word(&self, i: usize) -> (K, usize) {
        let s = self.s;
        let end = term_run(s, i, true);
        let mut wild = Vec::new();
        let mut j = i;
        while j < end {
            if s[j] == '\\' {
                j += 2;
                continue;
            }
            if s[j] == '*' || s[j] == '?' {
                wild.push(j);
            }
            j += 1;
        }
        let image: String = s[i..end].iter().collect();
        let kind = match (wild.as_slice(), image.as_str()) {
            ([], "AND" | "&&") => K::And,
            ([], "OR" | "||") => K::Or,
            ([], "NOT") => K::Not,
            ([], _) => K::Term,
            (_, "*") => K::Star,
            ([w], _) if *w == end - 1 && *w != i && s[*w] == '*' => K::PrefixTerm,
            _ => K::WildTerm,
        };
        (kind, end)
    }

    fn boost_token(&self, i: usize) -> Result<(K, usize), usize> {
        let s = self.s;
        let digits = |mut j: usize| {
            while j < s.len() && s[j].is_ascii_digit() {
                j += 1;
            }
            j
        };
        let mut j = digits(i);
        if j == i {
            return Err(i);
        }
        if j + 1 < s.len() && s[j] == '.' && s[j + 1].is_ascii_digit() {
            j = digits(j + 1);
        }
        Ok((K::Number, j))
    }

    fn range_token(&self, i: usize) -> (K, usize) {
        let s = self.s;
        match s[i] {
            ']' => return (K::RangeInEnd, i + 1),
            '}' => return (K::RangeExEnd, i + 1),
            _ => {}
        }
        let mut goop = i;
        while goop < s.len() && !matches!(s[goop], ' ' | ']' | '}') {
            goop += 1;
        }
        // RANGE_QUOTED wins ties with RANGE_GOOP.
        if s[i] == '"'
            && let Some(end) = closing(s, i, '"', 1).filter(|&e| e >= goop)
        {
            return (K::RangeQuoted, end);
        }
        if goop == i + 2 && s[i] == 'T' && s[i + 1] == 'O' {
            (K::RangeTo, goop)
        } else {
            (K::RangeGoop, goop)
        }
    }

    /// Tokenizes the whole input; the list ends with `Eof` or a `Lex` error.
    fn tokens(&self) -> Vec<Tok> {
        let s = self.s;
        let mut out = Vec::new();
        let mut mode = Mode::Default;
        let mut i = 0;
        loop {
            // Whitespace is skipped in DEFAULT and Range but not in Boost.
            while mode != Mode::Boost && i < s.len() && is_ws(s[i]) {
                i += 1;
            }
            if i >= s.len() {
                let col = self.cols[s.len()];
                out.push(Tok {
                    kind: K::Eof,
                    image: String::new(),
                    col,
                });
                return out;
            }
            let res = match mode {
                Mode::Default => self.default_token(i),
                Mode::Boost => self.boost_token(i),
                Mode::Range => Ok(self.range_token(i)),
            };
            match res {
                Ok((kind, end)) => {
                    mode = match kind {
                        K::Carat => Mode::Boost,
                        K::RangeInStart | K::RangeExStart => Mode::Range,
                        K::Number | K::RangeInEnd | K::RangeExEnd => Mode::Default,
                        _ => mode,
                    };
                    let image = s[i..end].iter().collect();
                    out.push(Tok {
                        kind,
                        image,
                        col: self.cols[i],
                    });
                    i = end;
                }
                Err(bad) => {
                    let image = self.lex_error(i, bad);
                    out.push(Tok {
                        kind: K::Lex,
                        image,
                        col: self.cols[i],
                    });
                    return out;
                }
            }
        }
    }
}

/// Tokenizes the whole input; the list ends with `Eof` or a `Lex` error.
pub(super) fn tokenize(input: &str) -> Vec<Tok> {
    let chars: Vec<char> = input.chars().collect();
    let mut cols = Vec::with_capacity(chars.len() + 1);
    let mut col = 0;
    for c in &chars {
        cols.push(col);
        col += c.len_utf16();
    }
    cols.push(col);
    Lexer { s: &chars, cols }.tokens()
}

#[cfg(test)]
mod tests {
    use super::{K, tokenize};

    fn kinds(s: &str) -> Vec<(K, String)> {
        tokenize(s).into_iter().map(|t| (t.kind, t.image)).collect()
    }

    #[test]
    fn words_are_classified_by_longest_match() {
        let got = kinds("AND && ANDY a&&b || NOT ! x* *x x*y ? * \\* a\\*b*");
        let expected = [
            (K::And, "AND"),
            (K::And, "&&"),
            (K::Term, "ANDY"),
            (K::Term, "a&&b"),
            (K::Or, "||"),
            (K::Not, "NOT"),
            (K::BareOper, "! "),
            (K::PrefixTerm, "x*"),
            (K::WildTerm, "*x"),
            (K::WildTerm, "x*y"),
            (K::WildTerm, "?"),
            (K::Star, "*"),
            (K::Term, "\\*"),
            (K::PrefixTerm, "a\\*b*"),
            (K::Eof, ""),
        ];
        let expected: Vec<(K, String)> = expected.iter().map(|(k, s)| (*k, s.to_string())).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn lexical_states_switch_on_carat_and_brackets() {
        let got = kinds("a^2.5~1 [x TO \"y z\"} /r\\/e/ \"q\"");
        let expected = [
            (K::Term, "a"),
            (K::Carat, "^"),
            (K::Number, "2.5"),
            (K::FuzzySlop, "~1"),
            (K::RangeInStart, "["),
            (K::RangeGoop, "x"),
            (K::RangeTo, "TO"),
            (K::RangeQuoted, "\"y z\""),
            (K::RangeExEnd, "}"),
            (K::RegexpTerm, "/r\\/e/"),
            (K::Quoted, "\"q\""),
            (K::Eof, ""),
        ];
        let expected: Vec<(K, String)> = expected.iter().map(|(k, s)| (*k, s.to_string())).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn columns_are_utf16_offsets() {
        let toks = tokenize("\u{1F600} b");
        assert_eq!(toks.iter().map(|t| t.col).collect::<Vec<_>>(), [0, 3, 4]);
    }
}
