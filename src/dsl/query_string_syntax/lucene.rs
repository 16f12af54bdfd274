//! The `query_string` parser: a hand-written copy of the grammar rules and
//! parser actions of Lucene's classic `QueryParser.jj` (JavaCC), with its
//! error texts (the token rules live in `lexer.rs`); see
//! <https://github.com/apache/lucene/blob/main/lucene/queryparser/src/java/org/apache/lucene/queryparser/classic/QueryParser.jj>.
//! Elasticsearch's additions (`QueryStringQueryParser`) are applied where
//! Lucene would call `getFieldQuery` / `getWildcardQuery`.

use super::lexer::{K, Tok, add_escapes, tokenize};
use super::{DefaultOperator, MAX_DEPTH, Occur, QsNode};

/// Decodes Lucene escapes like `discardEscapeChar`: `\x` is `x`, `\uXXXX` a
/// UTF-16 unit. Each char comes with a flag telling whether it was escaped.
fn unescape(s: &str) -> Result<Vec<(char, bool)>, String> {
    let mut out = Vec::new();
    let mut units: Vec<u16> = Vec::new();
    let flush = |units: &mut Vec<u16>, out: &mut Vec<(char, bool)>| {
        out.extend(char::decode_utf16(units.drain(..)).map(|c| (c.unwrap_or('\u{fffd}'), true)));
    };
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            flush(&mut units, &mut out);
            out.push((c, false));
            continue;
        }
        match it.next() {
            None => return Err("Term can not end with escape character.".into()),
            Some('u') => {
                let mut v = 0u32;
                for _ in 0..4 {
                    let h = it.next().ok_or("Truncated unicode escape sequence.")?;
                    let d = h
                        .to_digit(16)
                        .ok_or_else(|| format!("Non-hex character in Unicode escape sequence: {h}"))?;
                    v = v * 16 + d;
                }
                units.push(v as u16);
            }
            Some(x) => {
                flush(&mut units, &mut out);
                out.push((x, true));
            }
        }
    }
    flush(&mut units, &mut out);
    Ok(out)
}

fn discard_escapes(s: &str) -> Result<String, String> {
    Ok(unescape(s)?.into_iter().map(|(c, _)| c).collect())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Conj {
    None,
    And,
    Or,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mods {
    None,
    Req,
    Not,
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    op: DefaultOperator,
}

/// Parses a non-blank query string; errors are the text after
/// `Cannot parse '<input>': `.
pub(super) fn parse(input: &str, op: DefaultOperator) -> Result<QsNode, String> {
    let toks = tokenize(input);
    let mut p = Parser { toks, pos: 0, op };
    let q = p.query(None, 0)?;
    p.expect(K::Eof)?;
    Ok(q)
}

impl Parser {
    /// Returns the kind of the `k`-th next token, raising a lexical error
    /// when the lexer failed there (JavaCC lexes lazily on lookahead).
    fn kind(&self, k: usize) -> Result<K, String> {
        let t = &self.toks[(self.pos + k).min(self.toks.len() - 1)];
        if t.kind == K::Lex {
            Err(t.image.clone())
        } else {
            Ok(t.kind)
        }
    }

    fn next(&mut self) -> Tok {
        let t = self.toks[self.pos.min(self.toks.len() - 1)].clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    /// Builds JavaCC's `ParseException` text for the next token.
    fn unexpected(&self) -> String {
        let t = &self.toks[self.pos.min(self.toks.len() - 1)];
        match t.kind {
            K::Lex => t.image.clone(),
            K::Eof => format!("Encountered \"<EOF>\" at line 1, column {}.", t.col),
            k => format!(
                "Encountered \" {} \"{} \"\" at line 1, column {}.",
                k.image(),
                add_escapes(&t.image),
                t.col
            ),
        }
    }

    fn expect(&mut self, kind: K) -> Result<Tok, String> {
        if self.kind(0)? == kind {
            Ok(self.next())
        } else {
            Err(self.unexpected())
        }
    }

    /// `[ <CARAT> <NUMBER> ]`; an unparsable number means boost 1 in Lucene.
    fn opt_boost(&mut self) -> Result<Option<f32>, String> {
        if self.kind(0)? != K::Carat {
            return Ok(None);
        }
        self.next();
        Ok(Some(self.expect(K::Number)?.image.parse().unwrap_or(1.0)))
    }

    /// `Query`: a clause list, each clause given its occur by `add_clause`.
    fn query(&mut self, field: Option<&str>, depth: usize) -> Result<QsNode, String> {
        let mut clauses = Vec::new();
        let mods = self.modifiers()?;
        let q = self.clause(field, depth)?;
        self.add_clause(&mut clauses, Conj::None, mods, q);
        let first_plain = mods == Mods::None;
        // The clause loop goes on while the next token can start a clause.
        // The loop goes on while the next token can start a clause (in the
        // DEFAULT lexical state, every token but these can).
        while !matches!(self.kind(0)?, K::Eof | K::RParen | K::Colon | K::Carat | K::FuzzySlop) {
            let conj = match self.kind(0)? {
                K::And => Conj::And,
                K::Or => Conj::Or,
                _ => Conj::None,
            };
            if conj != Conj::None {
                self.next();
            }
            let mods = self.modifiers()?;
            let q = self.clause(field, depth)?;
            self.add_clause(&mut clauses, conj, mods, q);
        }
        // A single unmodified clause is returned bare (Lucene's `firstQuery`).
        if first_plain
            && clauses.len() == 1
            && let Some((_, q)) = clauses.pop()
        {
            return Ok(q);
        }
        Ok(QsNode::Bool { clauses, boost: None })
    }

    fn modifiers(&mut self) -> Result<Mods, String> {
        let m = match self.kind(0)? {
            K::Plus => Mods::Req,
            K::Minus | K::Not => Mods::Not,
            _ => return Ok(Mods::None),
        };
        self.next();
        Ok(m)
    }

    /// Lucene's `QueryParserBase.addClause`: `AND` turns the previous clause
    /// into MUST, and (default AND only) `OR` turns it into SHOULD, unless it
    /// is MUST_NOT; then the new clause gets its own occur.
    fn add_clause(&self, clauses: &mut Vec<(Occur, QsNode)>, conj: Conj, mods: Mods, q: QsNode) {
        let and_op = self.op == DefaultOperator::And;
        if let Some(last) = clauses.last_mut().filter(|l| l.0 != Occur::MustNot) {
            if conj == Conj::And {
                last.0 = Occur::Must;
            }
            if and_op && conj == Conj::Or {
                last.0 = Occur::Should;
            }
        }
        let prohibited = mods == Mods::Not;
        let required = if and_op {
            !prohibited && conj != Conj::Or
        } else {
            mods == Mods::Req || (conj == Conj::And && !prohibited)
        };
        let occur = match (prohibited, required) {
            (true, _) => Occur::MustNot,
            (false, true) => Occur::Must,
            (false, false) => Occur::Should,
        };
        clauses.push((occur, q));
    }

    /// `Clause`: `[field:] (Term | "(" Query ")" [^boost])`.
    fn clause(&mut self, field: Option<&str>, depth: usize) -> Result<QsNode, String> {
        let mut own = None;
        // Lucene only takes <TERM> or "*" as a field name; a PREFIXTERM or
        // WILDTERM such as `city.*` is accepted too (Lucene would need
        // `city.\*`), as field patterns are common in Elasticsearch.
        if matches!(self.kind(0)?, K::Term | K::Star | K::PrefixTerm | K::WildTerm) && self.kind(1)? == K::Colon {
            let t = self.next();
            self.next();
            own = Some(if t.kind == K::Star {
                "*".to_string()
            } else {
                discard_escapes(&t.image)?
            });
        }
        let field = own.as_deref().or(field);
        if self.kind(0)? != K::LParen {
            return self.term(field);
        }
        self.next();
        if depth >= MAX_DEPTH {
            return Err(format!("too many nested parentheses (limit {MAX_DEPTH})."));
        }
        let q = self.query(field, depth + 1)?;
        self.expect(K::RParen)?;
        Ok(with_boost(q, self.opt_boost()?))
    }

    /// `Term`: a bare token, a range or a quoted phrase, each with optional
    /// boost and `~` slop in either order.
    fn term(&mut self, field: Option<&str>) -> Result<QsNode, String> {
        let kind = self.kind(0)?;
        let q = match kind {
            K::Term | K::Star | K::PrefixTerm | K::WildTerm | K::RegexpTerm | K::Number | K::BareOper | K::Quoted => {
                let t = self.next();
                let (mut boost, mut slop) = (self.opt_boost()?, None);
                if self.kind(0)? == K::FuzzySlop {
                    slop = Some(self.next().image);
                    if boost.is_none() {
                        boost = self.opt_boost()?;
                    }
                }
                let q = if kind == K::Quoted {
                    quoted(field, &t.image, slop)?
                } else {
                    bare(field, &t, slop)?
                };
                return Ok(with_boost(q, boost));
            }
            K::RangeInStart | K::RangeExStart => self.range(field, kind == K::RangeInStart)?,
            _ => return Err(self.unexpected()),
        };
        Ok(q)
    }

    /// `[a TO b]`, `{a TO b}` and mixed brackets; `*` is an open bound
    /// unless quoted.
    fn range(&mut self, field: Option<&str>, include_lower: bool) -> Result<QsNode, String> {
        self.next();
        let lo = self.goop()?;
        self.expect(K::RangeTo)?;
        let hi = self.goop()?;
        let include_upper = match self.kind(0)? {
            K::RangeInEnd => true,
            K::RangeExEnd => false,
            _ => return Err(self.unexpected()),
        };
        self.next();
        let boost = self.opt_boost()?;
        Ok(QsNode::Range {
            field: field.map(str::to_string),
            lower: bound(&lo)?,
            upper: bound(&hi)?,
            include_lower,
            include_upper,
            boost,
        })
    }

    fn goop(&mut self) -> Result<Tok, String> {
        match self.kind(0)? {
            K::RangeGoop | K::RangeQuoted | K::RangeTo => Ok(self.next()),
            _ => Err(self.unexpected()),
        }
    }
}

fn bound(t: &Tok) -> Result<Option<String>, String> {
    if t.kind == K::RangeQuoted {
        return discard_escapes(inner(&t.image, '"')).map(Some);
    }
    if t.image == "*" {
        Ok(None)
    } else {
        discard_escapes(&t.image).map(Some)
    }
}

fn with_boost(q: QsNode, boost: Option<f32>) -> QsNode {
    match boost {
        Some(b) => q.boosted(b),
        None => q,
    }
}

/// Returns the image without its delimiters (quotes or slashes).
fn inner(image: &str, delim: char) -> &str {
    image
        .strip_prefix(delim)
        .and_then(|s| s.strip_suffix(delim))
        .unwrap_or(image)
}

fn owned(field: Option<&str>) -> Option<String> {
    field.map(str::to_string)
}

/// Lucene's `handleBareTokenQuery` (wildcard, then prefix, then regexp, then
/// fuzzy, then a plain field query).
fn bare(field: Option<&str>, t: &Tok, slop: Option<String>) -> Result<QsNode, String> {
    // Lucene unescapes the image first whatever the token kind, so a bad
    // `\u` escape fails even inside a regexp.
    let text = discard_escapes(&t.image)?;
    Ok(match t.kind {
        K::Star | K::WildTerm => wildcard(field, &t.image)?,
        K::PrefixTerm => {
            let raw = t.image.strip_suffix('*').unwrap_or(&t.image);
            QsNode::Prefix {
                field: owned(field),
                prefix: discard_escapes(raw)?,
                boost: None,
            }
        }
        K::RegexpTerm => QsNode::Regex {
            field: owned(field),
            pattern: inner(&t.image, '/').to_string(),
            boost: None,
        },
        _ => {
            let text = if t.kind == K::BareOper {
                text.chars().take(1).collect()
            } else {
                text
            };
            match slop {
                Some(s) => fuzzy(field, text, &s)?,
                None => field_query(field, text),
            }
        }
    })
}

/// Lucene's `handleBareFuzzy`: `~` alone is the default distance, `~N` an
/// edit distance (Elasticsearch truncates `~0.5` to 0), fractions >= 1 fail.
fn fuzzy(field: Option<&str>, text: String, slop: &str) -> Result<QsNode, String> {
    let distance = match slop.get(1..).and_then(|s| s.parse::<f32>().ok()) {
        None => None,
        Some(f) if f < 0.0 => {
            return Err("Minimum similarity for a FuzzyQuery has to be between 0.0f and 1.0f !".into());
        }
        Some(f) if f >= 1.0 && f.fract() != 0.0 => {
            return Err("Fractional edit distances are not allowed!".into());
        }
        Some(f) => Some(f as u8),
    };
    Ok(QsNode::Fuzzy {
        field: owned(field),
        text,
        distance,
        boost: None,
    })
}

/// Lucene's `handleQuotedTerm`: the slop is `(int)` of the `~` number.
fn quoted(field: Option<&str>, image: &str, slop: Option<String>) -> Result<QsNode, String> {
    let text = discard_escapes(inner(image, '"'))?;
    let slop = slop
        .and_then(|s| s.get(1..).and_then(|n| n.parse::<f32>().ok()))
        .map_or(0, |f| f as u32);
    if field == Some("_exists_") {
        return Ok(QsNode::Exists { field: text });
    }
    Ok(QsNode::Phrase {
        field: owned(field),
        text,
        slop,
        boost: None,
    })
}

/// Elasticsearch's `getWildcardQuery`: `*` on `*` (or the default field) is
/// match-all, `field:*` is an exists query.
fn wildcard(field: Option<&str>, raw: &str) -> Result<QsNode, String> {
    if raw == "*" {
        return Ok(match field {
            None | Some("*") => QsNode::MatchAll,
            Some(f) => QsNode::Exists { field: f.to_string() },
        });
    }
    let mut pattern = String::new();
    for (c, escaped) in unescape(raw)? {
        if escaped && matches!(c, '*' | '?' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    Ok(QsNode::Wildcard {
        field: owned(field),
        pattern,
        boost: None,
    })
}

/// Elasticsearch's `getFieldQuery` for unquoted text: `_exists_:f`, then
/// one-sided ranges `>x`, `>=x`, `<x`, `<=x`, then a plain term.
/// Elasticsearch skips the range detection when the query has an explicit
/// multi-field `fields` list (no single default field); here it applies to
/// the default field too.
fn field_query(field: Option<&str>, text: String) -> QsNode {
    if field == Some("_exists_") {
        return QsNode::Exists { field: text };
    }
    let f = owned(field);
    let n = text.chars().count();
    if n > 1 && text.starts_with(['>', '<']) {
        let inclusive = n > 2 && text[1..].starts_with('=');
        let bound = Some(text[if inclusive { 2 } else { 1 }..].to_string());
        let (lower, upper, include_lower, include_upper) = match text.starts_with('>') {
            true => (bound, None, inclusive, true),
            false => (None, bound, true, inclusive),
        };
        let boost = None;
        return QsNode::Range {
            field: f,
            lower,
            upper,
            include_lower,
            include_upper,
            boost,
        };
    }
    QsNode::Term {
        field: f,
        text,
        boost: None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{DefaultOperator, Occur, QsNode, QsNode::*, parse_query_string};
    use Occur::{Must as M, MustNot as N, Should as S};

    fn q(s: &str) -> QsNode {
        parse_query_string(s, DefaultOperator::Or).unwrap()
    }
    fn qa(s: &str) -> QsNode {
        parse_query_string(s, DefaultOperator::And).unwrap()
    }
    fn err(s: &str) -> String {
        let e = parse_query_string(s, DefaultOperator::Or).unwrap_err();
        assert_eq!(e.reason(), format!("Failed to parse query [{s}]"));
        let cause = e.cause();
        let prefix = format!("Cannot parse '{s}': ");
        assert!(cause.starts_with(&prefix), "{cause}");
        cause[prefix.len()..].to_string()
    }
    fn f(field: Option<&str>) -> Option<String> {
        field.map(str::to_string)
    }
    fn t(x: &str) -> QsNode {
        tf(None, x)
    }
    fn tf(field: Option<&str>, x: &str) -> QsNode {
        Term {
            field: f(field),
            text: x.into(),
            boost: None,
        }
    }
    fn b(clauses: Vec<(Occur, QsNode)>) -> QsNode {
        Bool { clauses, boost: None }
    }
    fn ph(field: Option<&str>, text: &str, slop: u32) -> QsNode {
        Phrase {
            field: f(field),
            text: text.into(),
            slop,
            boost: None,
        }
    }
    fn pre(field: Option<&str>, p: &str) -> QsNode {
        Prefix {
            field: f(field),
            prefix: p.into(),
            boost: None,
        }
    }
    fn wc(field: Option<&str>, p: &str) -> QsNode {
        Wildcard {
            field: f(field),
            pattern: p.into(),
            boost: None,
        }
    }
    fn fz(text: &str, distance: Option<u8>) -> QsNode {
        Fuzzy {
            field: None,
            text: text.into(),
            distance,
            boost: None,
        }
    }
    fn rg(field: Option<&str>, lo: Option<&str>, hi: Option<&str>, il: bool, iu: bool) -> QsNode {
        Range {
            field: f(field),
            lower: lo.map(str::to_string),
            upper: hi.map(str::to_string),
            include_lower: il,
            include_upper: iu,
            boost: None,
        }
    }
    fn ex(field: &str) -> QsNode {
        Exists { field: field.into() }
    }

    #[test]
    fn single_terms() {
        assert_eq!(q("quick"), t("quick"));
        assert_eq!(q("  quick \t"), t("quick"));
        assert_eq!(qa("quick"), t("quick"));
        assert_eq!(q("a-b"), t("a-b"), "- and + are term chars after the first char");
        assert_eq!(q("a+b!c"), b(vec![(S, t("a+b")), (N, t("c"))]), "! is not a term char");
        assert_eq!(q("x=y&z|w>v<u"), t("x=y&z|w>v<u"));
        assert_eq!(q("123.5"), t("123.5"));
    }

    #[test]
    fn default_operator_sets_bare_occur() {
        assert_eq!(q("a b"), b(vec![(S, t("a")), (S, t("b"))]));
        assert_eq!(qa("a b"), b(vec![(M, t("a")), (M, t("b"))]));
    }

    #[test]
    fn es_docs_plus_minus_example() {
        let expected = |o| b(vec![(o, t("quick")), (o, t("brown")), (M, t("fox")), (N, t("news"))]);
        assert_eq!(q("quick brown +fox -news"), expected(S));
        assert_eq!(qa("quick brown +fox -news"), expected(M));
    }

    #[test]
    fn conjunctions_apply_pairwise() {
        assert_eq!(q("a AND b OR c"), b(vec![(M, t("a")), (M, t("b")), (S, t("c"))]));
        assert_eq!(qa("a AND b OR c"), b(vec![(M, t("a")), (S, t("b")), (S, t("c"))]));
        assert_eq!(q("a OR b AND c"), b(vec![(S, t("a")), (M, t("b")), (M, t("c"))]));
        assert_eq!(qa("a OR b AND c"), b(vec![(S, t("a")), (M, t("b")), (M, t("c"))]));
        assert_eq!(q("a OR b"), b(vec![(S, t("a")), (S, t("b"))]));
        assert_eq!(qa("a OR b"), b(vec![(S, t("a")), (S, t("b"))]));
        assert_eq!(q("a && b || !c"), b(vec![(M, t("a")), (M, t("b")), (N, t("c"))]));
        assert_eq!(q("a AND NOT b"), b(vec![(M, t("a")), (N, t("b"))]));
        assert_eq!(q("a NOT b"), b(vec![(S, t("a")), (N, t("b"))]));
    }

    #[test]
    fn prohibited_clauses_are_never_flipped() {
        assert_eq!(q("-a AND b"), b(vec![(N, t("a")), (M, t("b"))]));
        assert_eq!(qa("-a OR b"), b(vec![(N, t("a")), (S, t("b"))]));
    }

    #[test]
    fn and_default_ignores_plus_after_or() {
        // Lucene quirk: under AND, a clause introduced by OR is SHOULD even with `+`.
        assert_eq!(qa("a OR +b"), b(vec![(S, t("a")), (S, t("b"))]));
        assert_eq!(q("a OR +b"), b(vec![(S, t("a")), (M, t("b"))]));
    }

    #[test]
    fn modifiers_alone_keep_a_bool() {
        assert_eq!(q("+a"), b(vec![(M, t("a"))]));
        assert_eq!(q("-a"), b(vec![(N, t("a"))]));
        assert_eq!(q("NOT a"), b(vec![(N, t("a"))]));
        assert_eq!(q("!a"), b(vec![(N, t("a"))]));
        assert_eq!(q("(+a)"), b(vec![(M, t("a"))]));
    }

    #[test]
    fn groups_nest() {
        let inner = b(vec![(S, t("quick")), (S, t("brown"))]);
        assert_eq!(q("(quick OR brown) AND fox"), b(vec![(M, inner), (M, t("fox"))]));
        assert_eq!(q("((a))"), t("a"));
        assert_eq!(
            qa("(a b) c"),
            b(vec![(M, b(vec![(M, t("a")), (M, t("b"))])), (M, t("c"))])
        );
        assert_eq!(q("-(a b)"), b(vec![(N, b(vec![(S, t("a")), (S, t("b"))]))]));
    }

    #[test]
    fn keywords_are_upper_case_only() {
        assert_eq!(q("a and b"), b(vec![(S, t("a")), (S, t("and")), (S, t("b"))]));
        assert_eq!(
            q("ANDY ORB NOTE"),
            b(vec![(S, t("ANDY")), (S, t("ORB")), (S, t("NOTE"))])
        );
        assert_eq!(q("a &&& b"), b(vec![(S, t("a")), (S, t("&&&")), (S, t("b"))]));
    }

    #[test]
    fn operator_followed_by_space_is_a_term() {
        // BAREOPER: "+ ", "- ", "! " are terms (analysis drops them later).
        assert_eq!(q("a + b"), b(vec![(S, t("a")), (S, t("+")), (S, t("b"))]));
        assert_eq!(q("a - b"), b(vec![(S, t("a")), (S, t("-")), (S, t("b"))]));
        assert_eq!(q("! b"), b(vec![(S, t("!")), (S, t("b"))]));
    }

    #[test]
    fn phrases_and_proximity() {
        assert_eq!(q("\"quick brown\""), ph(None, "quick brown", 0));
        assert_eq!(q("\"fox quick\"~5"), ph(None, "fox quick", 5));
        assert_eq!(q("\"a b\"~"), ph(None, "a b", 0));
        assert_eq!(q("\"a b\"~1.7"), ph(None, "a b", 1));
        assert_eq!(q("\"a b\"^2"), ph(None, "a b", 0).boosted(2.0));
        assert_eq!(q("\"a b\"~2^3"), ph(None, "a b", 2).boosted(3.0));
        assert_eq!(q("\"a b\"^3~2"), ph(None, "a b", 2).boosted(3.0));
        assert_eq!(q(r#""a \" b""#), ph(None, "a \" b", 0));
        assert_eq!(q(r#""a:(b) AND c""#), ph(None, "a:(b) AND c", 0));
        assert_eq!(q(r#""""#), ph(None, "", 0));
    }

    #[test]
    fn fields() {
        assert_eq!(q("status:active"), tf(Some("status"), "active"));
        assert_eq!(q("title:\"quick brown\""), ph(Some("title"), "quick brown", 0));
        assert_eq!(
            q("title:(quick OR brown)"),
            b(vec![(S, tf(Some("title"), "quick")), (S, tf(Some("title"), "brown"))])
        );
        assert_eq!(
            q("title:(a body:b)"),
            b(vec![(S, tf(Some("title"), "a")), (S, tf(Some("body"), "b"))])
        );
        assert_eq!(q("author.first_name:x"), tf(Some("author.first_name"), "x"));
        assert_eq!(q(r"book.\*:quick"), tf(Some("book.*"), "quick"));
        assert_eq!(q("city.*:x"), tf(Some("city.*"), "x"));
        assert_eq!(q("c?ty:x"), tf(Some("c?ty"), "x"));
        assert_eq!(q(r"first\ name:x"), tf(Some("first name"), "x"));
        assert_eq!(q("*:foo"), tf(Some("*"), "foo"));
        assert_eq!(q("title : x"), tf(Some("title"), "x"));
        assert_eq!(q("a:b c"), b(vec![(S, tf(Some("a"), "b")), (S, t("c"))]));
    }

    #[test]
    fn match_all_and_exists() {
        assert_eq!(q("*"), MatchAll);
        assert_eq!(q("*:*"), MatchAll);
        assert_eq!(q("title:*"), ex("title"));
        assert_eq!(q("book.*:*"), ex("book.*"));
        assert_eq!(q("_exists_:title"), ex("title"));
        assert_eq!(q("_exists_:\"title\""), ex("title"));
        assert_eq!(q("NOT _exists_:title"), b(vec![(N, ex("title"))]));
        assert_eq!(q("_exists_:(a b)"), b(vec![(S, ex("a")), (S, ex("b"))]));
    }

    #[test]
    fn wildcards_and_prefixes() {
        assert_eq!(q("qu?ck"), wc(None, "qu?ck"));
        assert_eq!(q("bro*"), pre(None, "bro"));
        assert_eq!(q("name:bro*"), pre(Some("name"), "bro"));
        assert_eq!(q("*ing"), wc(None, "*ing"));
        assert_eq!(q("b*o*"), wc(None, "b*o*"));
        assert_eq!(q("**"), wc(None, "**"));
        assert_eq!(q("?"), wc(None, "?"));
        assert_eq!(q(r"a\*b"), t("a*b"));
        assert_eq!(q(r"a\*b*"), pre(None, "a*b"));
        assert_eq!(q(r"a\*b?"), wc(None, r"a\*b?"));
        assert_eq!(q(r"a\:b*c\\"), wc(None, r"a:b*c\\"));
        assert_eq!(q("bro*~2"), pre(None, "bro"), "Lucene ignores ~ on prefixes");
        assert_eq!(q("qu?ck^2"), wc(None, "qu?ck").boosted(2.0));
        assert_eq!(q("qu?ck bro*"), b(vec![(S, wc(None, "qu?ck")), (S, pre(None, "bro"))]));
    }

    #[test]
    fn regexes() {
        let re = |field: Option<&str>, p: &str| Regex {
            field: f(field),
            pattern: p.into(),
            boost: None,
        };
        assert_eq!(q("/joh?n(ath[oa]n)/"), re(None, "joh?n(ath[oa]n)"));
        assert_eq!(q("name:/joh?n/^2"), re(Some("name"), "joh?n").boosted(2.0));
        assert_eq!(q(r"/a\/b/"), re(None, r"a\/b"));
        assert_eq!(q("/a b/ c"), b(vec![(S, re(None, "a b")), (S, t("c"))]));
        assert_eq!(
            q(r"/a\/b"),
            b(vec![(S, re(None, r"a\")), (S, t("b"))]),
            "longest match quirk"
        );
    }

    #[test]
    fn fuzzy_terms() {
        assert_eq!(q("quikc~"), fz("quikc", None));
        assert_eq!(q("quikc~1"), fz("quikc", Some(1)));
        assert_eq!(q("quikc~0"), fz("quikc", Some(0)));
        assert_eq!(q("quikc~0.5"), fz("quikc", Some(0)));
        assert_eq!(q("quikc~abc"), fz("quikc", None));
        assert_eq!(q("quikc~2^3"), fz("quikc", Some(2)).boosted(3.0));
        assert_eq!(q("quikc^3~1"), fz("quikc", Some(1)).boosted(3.0));
        assert_eq!(q("a~ b"), b(vec![(S, fz("a", None)), (S, t("b"))]));
        assert_eq!(err("quikc~1.5"), "Fractional edit distances are not allowed!");
        assert_eq!(
            err("quikc~-1"),
            "Minimum similarity for a FuzzyQuery has to be between 0.0f and 1.0f !"
        );
    }

    #[test]
    fn bracket_ranges() {
        let d = Some("date");
        assert_eq!(
            q("date:[2012-01-01 TO 2012-12-31]"),
            rg(d, Some("2012-01-01"), Some("2012-12-31"), true, true)
        );
        assert_eq!(q("count:[1 TO 5]"), rg(Some("count"), Some("1"), Some("5"), true, true));
        assert_eq!(
            q("tag:{alpha TO omega}"),
            rg(Some("tag"), Some("alpha"), Some("omega"), false, false)
        );
        assert_eq!(q("count:[10 TO *]"), rg(Some("count"), Some("10"), None, true, true));
        assert_eq!(
            q("date:{* TO 2012-01-01}"),
            rg(d, None, Some("2012-01-01"), false, false)
        );
        assert_eq!(
            q("count:[1 TO 5}"),
            rg(Some("count"), Some("1"), Some("5"), true, false)
        );
        assert_eq!(q("[* TO 100]"), rg(None, None, Some("100"), true, true));
        assert_eq!(q("[  1   TO 5 ]"), rg(None, Some("1"), Some("5"), true, true));
        // RANGE_GOOP only stops at a space, `]` or `}`: a tab is part of it.
        assert_eq!(
            err("[1 TO\t5]"),
            "Encountered \" <RANGE_GOOP> \"TO\\t5 \"\" at line 1, column 3."
        );
        assert_eq!(q(r#"["a b" TO "*"]"#), rg(None, Some("a b"), Some("*"), true, true));
        assert_eq!(q(r"[a\:b TO c]"), rg(None, Some("a:b"), Some("c"), true, true));
        assert_eq!(q("[1 TO 5]^2"), rg(None, Some("1"), Some("5"), true, true).boosted(2.0));
        assert_eq!(
            q("x:[1 TO 5] AND y"),
            b(vec![(M, rg(Some("x"), Some("1"), Some("5"), true, true)), (M, t("y"))])
        );
    }

    #[test]
    fn one_sided_ranges() {
        let a = Some("age");
        assert_eq!(q("age:>10"), rg(a, Some("10"), None, false, true));
        assert_eq!(q("age:>=10"), rg(a, Some("10"), None, true, true));
        assert_eq!(q("age:<10"), rg(a, None, Some("10"), true, false));
        assert_eq!(q("age:<=10"), rg(a, None, Some("10"), true, true));
        assert_eq!(q(">=10"), rg(None, Some("10"), None, true, true));
        assert_eq!(
            q("age:(>=10 AND <20)"),
            b(vec![
                (M, rg(a, Some("10"), None, true, true)),
                (M, rg(a, None, Some("20"), true, false))
            ])
        );
        assert_eq!(q("age:>"), tf(a, ">"));
        assert_eq!(q("age:\">10\""), ph(a, ">10", 0));
        assert_eq!(q("age:>10^2"), rg(a, Some("10"), None, false, true).boosted(2.0));
    }

    #[test]
    fn boosts() {
        assert_eq!(
            q("quick^2"),
            Term {
                field: None,
                text: "quick".into(),
                boost: Some(2.0)
            }
        );
        assert_eq!(q("quick^0.5"), t("quick").boosted(0.5));
        assert_eq!(
            q("(a b)^3"),
            Bool {
                clauses: vec![(S, t("a")), (S, t("b"))],
                boost: Some(3.0)
            }
        );
        assert_eq!(q("(a)^3"), t("a").boosted(3.0));
        assert_eq!(q("(a^2)^3"), t("a").boosted(6.0));
        assert_eq!(
            q("_exists_:f^2"),
            Bool {
                clauses: vec![(M, ex("f"))],
                boost: Some(2.0)
            }
        );
        assert_eq!(q("a^2 b"), b(vec![(S, t("a").boosted(2.0)), (S, t("b"))]));
        assert_eq!(q("a^2.5.x"), b(vec![(S, t("a").boosted(2.5)), (S, t(".x"))]));
    }

    #[test]
    fn escapes() {
        assert_eq!(q(r"\(1\+1\)\=2"), t("(1+1)=2"));
        assert_eq!(q(r"foo\:bar"), t("foo:bar"));
        assert_eq!(q(r"a\ b"), t("a b"));
        assert_eq!(q(r"\-a"), t("-a"));
        assert_eq!(q(r"\*"), t("*"));
        assert_eq!(q(r"\u0041bc"), t("Abc"));
        assert_eq!(q(r"\uD83D\uDE00"), t("\u{1F600}"));
        assert_eq!(q(r"\uD83Dx"), t("\u{FFFD}x"));
        assert_eq!(
            q(r#"\+\-\=\&\&\|\|\>\<\!\(\)\{\}\[\]\^\"\~\*\?\:\\\/"#),
            t(r#"+-=&&||><!(){}[]^"~*?:\/"#)
        );
        assert_eq!(q(r"\AND"), t("AND"));
        assert_eq!(err(r"\u00"), "Truncated unicode escape sequence.");
        assert_eq!(err(r"\u00zz"), "Non-hex character in Unicode escape sequence: z");
        assert_eq!(err(r"[a\ TO b]"), "Term can not end with escape character.");
    }

    #[test]
    fn lucene_whitespace_only() {
        assert_eq!(
            q("a\tb\nc\r\u{3000}d"),
            b(vec![(S, t("a")), (S, t("b")), (S, t("c")), (S, t("d"))])
        );
        assert_eq!(q("a\u{a0}b"), t("a\u{a0}b"), "NBSP is not Lucene whitespace");
    }

    #[test]
    fn parse_errors_mirror_javacc() {
        assert_eq!(err("foo AND"), "Encountered \"<EOF>\" at line 1, column 7.");
        assert_eq!(err("foo AND "), "Encountered \"<EOF>\" at line 1, column 8.");
        assert_eq!(err("(foo"), "Encountered \"<EOF>\" at line 1, column 4.");
        assert_eq!(err("foo)"), "Encountered \" \")\" \") \"\" at line 1, column 3.");
        assert_eq!(err("()"), "Encountered \" \")\" \") \"\" at line 1, column 1.");
        assert_eq!(err("[1 TO"), "Encountered \"<EOF>\" at line 1, column 5.");
        assert_eq!(
            err("[1 5]"),
            "Encountered \" <RANGE_GOOP> \"5 \"\" at line 1, column 3."
        );
        assert_eq!(err("foo:"), "Encountered \"<EOF>\" at line 1, column 4.");
        assert_eq!(err("AND"), "Encountered \" <AND> \"AND \"\" at line 1, column 0.");
        assert_eq!(err("a OR OR b"), "Encountered \" <OR> \"OR \"\" at line 1, column 5.");
        assert_eq!(err("a:b:c"), "Encountered \" \":\" \": \"\" at line 1, column 3.");
        assert_eq!(err("--a"), "Encountered \" \"-\" \"- \"\" at line 1, column 1.");
        assert_eq!(
            err("~2 a"),
            "Encountered \" <FUZZY_SLOP> \"~2 \"\" at line 1, column 0."
        );
        assert_eq!(
            err("(a)~2"),
            "Encountered \" <FUZZY_SLOP> \"~2 \"\" at line 1, column 3."
        );
        assert_eq!(err("a^"), "Encountered \"<EOF>\" at line 1, column 2.");
        assert_eq!(err("é AND"), "Encountered \"<EOF>\" at line 1, column 5.");
        assert_eq!(err("a\n)"), "Encountered \" \")\" \") \"\" at line 1, column 2.");
    }

    #[test]
    fn lexical_errors_mirror_javacc() {
        assert_eq!(
            err("\"foo"),
            "Lexical error at line 1, column 4.  Encountered: <EOF> after : \"\\\"foo\""
        );
        assert_eq!(
            err("a^b"),
            "Lexical error at line 1, column 3.  Encountered: \"b\" (98), after : \"\""
        );
        assert_eq!(
            err("a^ 2"),
            "Lexical error at line 1, column 3.  Encountered: \" \" (32), after : \"\""
        );
        assert_eq!(
            err("a]"),
            "Lexical error at line 1, column 2.  Encountered: \"]\" (93), after : \"\""
        );
        assert_eq!(
            err("foo\\"),
            "Lexical error at line 1, column 4.  Encountered: <EOF> after : \"\\\\\""
        );
        assert!(err("/abc").starts_with("Lexical error at line 1, column 4.  Encountered: <EOF>"));
        assert!(
            err("a/b").starts_with("Lexical error"),
            "a lone / starts a regexp in Lucene"
        );
        // JavaCC lexes lazily: the parse error at `)` comes first.
        assert_eq!(err(") \"foo"), "Encountered \" \")\" \") \"\" at line 1, column 0.");
    }

    #[test]
    fn nesting_is_limited() {
        let deep = |n: usize| format!("{}a{}", "(".repeat(n), ")".repeat(n));
        assert_eq!(q(&deep(super::MAX_DEPTH)), t("a"));
        assert!(err(&deep(super::MAX_DEPTH + 1)).starts_with("too many nested parentheses"));
        assert!(err(&"(".repeat(100_000)).starts_with("too many nested parentheses"));
    }
}
