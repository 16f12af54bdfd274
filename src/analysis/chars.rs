//! Character classes and per-character mappings that mirror
//! `java.lang.Character` and Lucene's tables, so that Rust's Unicode
//! handling does not drift from what Elasticsearch does.

/// True for segments the standard tokenizer keeps: ones holding a letter,
/// an ideograph or a decimal digit, and emoji sequences.
pub(super) fn is_word_segment(segment: &str) -> bool {
    let wordy = |c: char| c.is_alphabetic() || (c.is_numeric() && !in_ranges(c, OTHER_NUMBERS));
    segment.chars().any(wordy) || is_emoji(segment)
}

/// True when `c` lies in one of the inclusive `[start, end]` pairs of `ranges`.
fn in_ranges(c: char, ranges: &[u32]) -> bool {
    let c = u32::from(c);
    ranges.chunks_exact(2).any(|r| r[0] <= c && c <= r[1])
}

/// Numeric characters that are not decimal digits (superscripts, vulgar
/// fractions, circled numbers...). UAX#29 gives them no word-break class, so
/// Lucene never emits them as tokens on their own.
const OTHER_NUMBERS: &[u32] = &[
    0xB2, 0xB3, 0xB9, 0xB9, 0xBC, 0xBE, 0x2070, 0x209F, 0x2150, 0x218F, 0x2460, 0x24FF, 0x2776, 0x2793, 0x3192, 0x3195,
    0x3220, 0x3229, 0x3248, 0x325F, 0x3280, 0x3289, 0x32B1, 0x32BF, 0x1F100, 0x1F10C,
];

/// Letters of the scripts whose words Lucene keeps together
/// (Line_Break=Complex_Context: Thai, Lao, Myanmar, Khmer, Tai scripts,
/// Ahom); digits are excluded separately.
const COMPLEX_CONTEXT: &[u32] = &[
    0x0E01, 0x0E3A, 0x0E40, 0x0E4E, 0x0E81, 0x0ECF, 0x0EDC, 0x0EDF, 0x1000, 0x103F, 0x1050, 0x108F, 0x109A, 0x109F,
    0x1780, 0x17D3, 0x17D7, 0x17D7, 0x17DC, 0x17DD, 0x1950, 0x1974, 0x1980, 0x19CF, 0x1A20, 0x1A7F, 0x1AA0, 0x1AAD,
    0xA9E0, 0xA9EF, 0xA9FA, 0xA9FE, 0xAA60, 0xAAC2, 0xAADB, 0xAADF, 0x11700, 0x1172F,
];

/// Characters with Emoji_Presentation=Yes (slightly over-inclusive in the
/// U+1F300 block, which also holds a few text-style pictographs).
const EMOJI_PRESENTATION: &[u32] = &[
    0x231A, 0x231B, 0x23E9, 0x23EC, 0x23F0, 0x23F0, 0x23F3, 0x23F3, 0x25FD, 0x25FE, 0x2614, 0x2615, 0x2648, 0x2653,
    0x267F, 0x267F, 0x2693, 0x2693, 0x26A1, 0x26A1, 0x26AA, 0x26AB, 0x26BD, 0x26BE, 0x26C4, 0x26C5, 0x26CE, 0x26CE,
    0x26D4, 0x26D4, 0x26EA, 0x26EA, 0x26F2, 0x26F3, 0x26F5, 0x26F5, 0x26FA, 0x26FA, 0x26FD, 0x26FD, 0x2705, 0x2705,
    0x270A, 0x270B, 0x2728, 0x2728, 0x274C, 0x274C, 0x274E, 0x274E, 0x2753, 0x2755, 0x2757, 0x2757, 0x2795, 0x2797,
    0x27B0, 0x27B0, 0x27BF, 0x27BF, 0x2B1B, 0x2B1C, 0x2B50, 0x2B50, 0x2B55, 0x2B55, 0x1F004, 0x1F004, 0x1F0CF, 0x1F0CF,
    0x1F18E, 0x1F18E, 0x1F191, 0x1F19A, 0x1F201, 0x1F201, 0x1F21A, 0x1F21A, 0x1F22F, 0x1F22F, 0x1F232, 0x1F236,
    0x1F238, 0x1F23A, 0x1F250, 0x1F251, 0x1F300, 0x1F64F, 0x1F680, 0x1F6FF, 0x1F7E0, 0x1F7FF, 0x1F90C, 0x1F9FF,
    0x1FA70, 0x1FAFF,
];

/// Pictographs that become emoji when followed by U+FE0F (©️, ☀️, ❤️...).
const PICTOGRAPHS: &[u32] = &[
    0xA9, 0xA9, 0xAE, 0xAE, 0x203C, 0x203C, 0x2049, 0x2049, 0x2122, 0x2122, 0x2139, 0x2139, 0x2194, 0x21AA, 0x2300,
    0x23FF, 0x24C2, 0x24C2, 0x25AA, 0x25FE, 0x2600, 0x27BF, 0x2934, 0x2935, 0x2B05, 0x2B55, 0x3030, 0x3030, 0x303D,
    0x303D, 0x3297, 0x3297, 0x3299, 0x3299, 0x1F000, 0x1FAFF,
];

/// Regional indicator symbols; two of them form a flag.
const REGIONAL_INDICATORS: &[u32] = &[0x1F1E6, 0x1F1FF];

/// True when a segment starts with a letter of a Complex_Context script.
pub(super) fn is_complex_context(segment: &str) -> bool {
    segment
        .chars()
        .next()
        .is_some_and(|c| in_ranges(c, COMPLEX_CONTEXT) && !c.is_numeric())
}

/// Approximates Lucene's emoji rule (UTS#51 sequences): a segment is an
/// emoji token when it starts with an Emoji_Presentation character, is a
/// flag (a pair of regional indicators), a keycap, or a pictograph made
/// emoji by U+FE0F. A lone regional indicator is not a token.
fn is_emoji(segment: &str) -> bool {
    let mut chars = segment.chars();
    let (Some(first), second) = (chars.next(), chars.next()) else {
        return false;
    };
    if in_ranges(first, REGIONAL_INDICATORS) {
        return second.is_some_and(|c| in_ranges(c, REGIONAL_INDICATORS));
    }
    in_ranges(first, EMOJI_PRESENTATION)
        || (in_ranges(first, PICTOGRAPHS) && second == Some('\u{FE0F}'))
        || segment.contains('\u{20E3}')
}

// ---------------------------------------------------------------------------
// Character helpers mirroring java.lang.Character
// ---------------------------------------------------------------------------

/// Lowercases per code point like Lucene's `LowerCaseFilter`: no context
/// rules (a final capital sigma becomes σ, not ς) and İ becomes a plain i.
pub(super) fn java_lowercase(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c == '\u{130}' {
                'i'
            } else {
                single_mapping(c, c.to_lowercase())
            }
        })
        .collect()
}

/// Uppercases one code point; characters whose uppercase form takes several
/// characters (ß, ligatures) stay unchanged, as with `Character.toUpperCase`.
pub(super) fn java_upper(c: char) -> char {
    single_mapping(c, c.to_uppercase())
}

fn single_mapping(c: char, mut mapped: impl Iterator<Item = char>) -> char {
    match (mapped.next(), mapped.next()) {
        (Some(m), None) => m,
        _ => c,
    }
}

/// Java's `Character.isWhitespace`: space separators other than the
/// non-breaking ones, line/paragraph separators and the ASCII controls
/// U+0009–U+000D and U+001C–U+001F (unlike Rust, not U+0085 or U+00A0).
pub(super) fn java_is_whitespace(c: char) -> bool {
    in_ranges(c, JAVA_WHITESPACE)
}

const JAVA_WHITESPACE: &[u32] = &[
    0x09, 0x0D, 0x1C, 0x20, 0x1680, 0x1680, 0x2000, 0x2006, 0x2008, 0x200A, 0x2028, 0x2029, 0x205F, 0x205F, 0x3000,
    0x3000,
];

// ---------------------------------------------------------------------------
// ASCII folding
// ---------------------------------------------------------------------------

/// Foldings to more or other than one letter, as "<char><replacement>" words.
const MULTI_FOLDINGS: &str = "ÆAE ÞTH ßss æae þth ĲIJ ĳij ŉ'n ŒOE œoe ﬀff ﬁfi ﬂfl ﬃffi ﬄffl ﬅst ﬆst \
    ƠO ơo ƯU ưu ȘS șs ȚT țt ‘' ’' ‚' ‛' ′' ‵' “\" ”\" „\" ‟\" ″\" ‶\" «\" »\" ‐- ‑- ‒- –- —- ⁻- ₋- ﹣- …...";

/// Tables of single-letter foldings: first code point and one ASCII letter
/// per code point from there on; `*` keeps the character (× and ÷) or defers
/// to `MULTI_FOLDINGS`. They cover Latin-1, Latin Extended-A and the
/// Vietnamese letters of Latin Extended Additional.
const FOLD_TABLES: &[(u32, &str)] = &[
    (0xC0, "AAAAAA*CEEEEIIIIDNOOOOO*OUUUUY**aaaaaa*ceeeeiiiidnooooo*ouuuuy*y"),
    (
        0x100,
        "AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIi**JjKkqLlLlLlLlLlNnNnNn*NnOoOoOo**\
         RrRrRrSsSsSsSsTtTtTtUuUuUuUuUuUuWwYyYZzZzZzs",
    ),
    (
        0x1EA0,
        "AaAaAaAaAaAaAaAaAaAaAaAaEeEeEeEeEeEeEeEeIiIiOoOoOoOoOoOoOoOoOoOoOoOoUuUuUuUuUuUuUuYyYyYyYy",
    ),
];

/// Folds a term like Lucene's `ASCIIFoldingFilter` (for the characters the
/// tables above cover; others are kept).
pub(super) fn ascii_fold(term: &str) -> String {
    let mut out = String::with_capacity(term.len());
    for c in term.chars() {
        let code = u32::from(c);
        let single = || {
            FOLD_TABLES.iter().find_map(|(start, table)| {
                let i = usize::try_from(code.checked_sub(*start)?).ok()?;
                table.get(i..i + 1).filter(|letter| *letter != "*")
            })
        };
        if c.is_ascii() {
            out.push(c);
        } else if let Some(folded) = MULTI_FOLDINGS.split(' ').find_map(|w| w.strip_prefix(c)) {
            out.push_str(folded);
        } else if let Some(folded) = single() {
            out.push_str(folded);
        } else if (0xFF01..=0xFF5E).contains(&code) {
            // Fullwidth forms sit 0xFEE0 above their ASCII counterparts.
            out.extend(char::from_u32(code - 0xFEE0));
        } else {
            out.push(c);
        }
    }
    out
}
