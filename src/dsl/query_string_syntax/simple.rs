//! The `simple_query_string` parser: a copy of Lucene's `SimpleQueryParser`
//! state machine, see
//! <https://github.com/apache/lucene/blob/main/lucene/queryparser/src/java/org/apache/lucene/queryparser/simple/SimpleQueryParser.java>.
//!
//! There is no precedence between `+` and `|`: clauses are combined left to
//! right, and whenever the operator changes, the tree built so far becomes
//! the first clause of a new boolean node (`a +b | c` is
//! `((+a +b) c)`). A clause without an operator uses the default operator.
//! Negation (`-x`) wraps the clause as `Bool(MustNot x, Should MatchAll)`,
//! exactly like Lucene, and two `-` cancel out. Operators that have nothing
//! to apply to, unbalanced `(` or `"`, empty groups and stray `)` are
//! ignored.

use super::{DefaultOperator, MAX_DEPTH, Occur, QsNode, SimpleFlags as F};

/// Per-group parse state (Lucene's `State`).
#[derive(Default)]
struct State {
    top: Option<QsNode>,
    /// Nesting depth of `top`.
    depth: usize,
    current: Option<Occur>,
    previous: Option<Occur>,
    not: u32,
    /// Set when the depth limit is reached; the rest of the group is dropped.
    full: bool,
}

struct Parser<'a> {
    s: &'a [char],
    flags: F,
    default: Occur,
}

pub(super) fn parse(input: &str, op: DefaultOperator, flags: F) -> QsNode {
    if input.trim_matches(|c| c <= ' ') == "*" {
        return QsNode::MatchAll;
    }
    let chars: Vec<char> = input.chars().collect();
    let default = match op {
        DefaultOperator::Or => Occur::Should,
        DefaultOperator::And => Occur::Must,
    };
    let p = Parser {
        s: &chars,
        flags,
        default,
    };
    let (top, _) = p.group(0, chars.len(), 0);
    top.unwrap_or(QsNode::Bool {
        clauses: Vec::new(),
        boost: None,
    })
}

impl Parser<'_> {
    fn on(&self, flag: F) -> bool {
        self.flags.contains(flag)
    }

    /// Lucene's `tokenFinished`: characters that end a term.
    fn finishes(&self, c: char) -> bool {
        (c == '"' && self.on(F::PHRASE))
            || (c == '|' && self.on(F::OR))
            || (c == '+' && self.on(F::AND))
            || ((c == '(' || c == ')') && self.on(F::PRECEDENCE))
            || (matches!(c, ' ' | '\t' | '\n' | '\r') && self.on(F::WHITESPACE))
    }

    /// Parses `s[i..end]` (Lucene's `parseSubQuery`); returns the tree and
    /// its depth.
    fn group(&self, mut i: usize, end: usize, depth: usize) -> (Option<QsNode>, usize) {
        let mut st = State::default();
        while i < end && !st.full {
            let c = self.s[i];
            if (c == '(') && self.on(F::PRECEDENCE) {
                i = self.subquery(&mut st, i, end, depth);
            } else if c == ')' && self.on(F::PRECEDENCE) {
                i += 1; // extraneous
            } else if c == '"' && self.on(F::PHRASE) {
                i = self.phrase(&mut st, i, end);
            } else if (c == '+' && self.on(F::AND)) || (c == '|' && self.on(F::OR)) {
                // Only taken when there is a left-hand side and no operator yet.
                if st.current.is_none() && st.top.is_some() {
                    st.current = Some(if c == '+' { Occur::Must } else { Occur::Should });
                }
                i += 1;
            } else if c == '-' && self.on(F::NOT) {
                st.not += 1;
                i += 1;
                continue; // keeps the count: `-` binds only to what follows at once
            } else if matches!(c, ' ' | '\t' | '\n' | '\r') && self.on(F::WHITESPACE) {
                i += 1;
            } else {
                // Every char that `finishes` a token is handled above, so a
                // token is never empty; `max` guards progress anyway.
                i = self.token(&mut st, i, end).max(i + 1);
            }
            st.not = 0;
        }
        (st.top, st.depth)
    }

    /// Lucene's `consumeSubQuery`: finds the matching `)` (escapes honoured,
    /// quotes not) and parses the inside as its own group.
    fn subquery(&self, st: &mut State, i: usize, end: usize, depth: usize) -> usize {
        let start = i + 1;
        let mut j = start;
        let mut level = 1;
        let mut escaped = false;
        while j < end {
            if !escaped {
                match self.s[j] {
                    '\\' if self.on(F::ESCAPE) => {
                        escaped = true;
                        j += 1;
                        continue;
                    }
                    '(' => level += 1,
                    ')' => {
                        level -= 1;
                        if level == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
            }
            escaped = false;
            j += 1;
        }
        if j >= end || depth >= MAX_DEPTH {
            return start; // no closing parenthesis (or too deep): `(` ignored
        }
        if j == start {
            st.current = None; // `()` drops the operator meant for it
            return j + 1;
        }
        let (sub, sub_depth) = self.group(start, j, depth + 1);
        self.build(st, sub, sub_depth);
        j + 1
    }

    /// Lucene's `consumePhrase`, including its `"..."~N` slop handling.
    fn phrase(&self, st: &mut State, i: usize, end: usize) -> usize {
        let start = i + 1;
        let mut j = start;
        let mut text = String::new();
        let mut escaped = false;
        let mut has_slop = false;
        while j < end {
            if !escaped {
                if self.s[j] == '\\' && self.on(F::ESCAPE) {
                    escaped = true;
                    j += 1;
                    continue;
                }
                if self.s[j] == '"' {
                    if j + 1 < end && self.s[j + 1] == '~' && self.on(F::NEAR) {
                        j += 1;
                        has_slop = j + 1 < end;
                    }
                    break;
                }
            }
            escaped = false;
            text.push(self.s[j]);
            j += 1;
        }
        if j >= end {
            return start; // no closing quote: the `"` is ignored
        }
        if j == start {
            st.current = None; // `""` drops the operator meant for it
            return j + 1;
        }
        let slop = if has_slop {
            let (n, next) = self.fuzziness(j, end);
            j = next;
            n
        } else {
            0
        };
        // Lucene skips the char after the slop, whatever it is (quirk).
        // An empty phrase analyzes to nothing and adds no clause.
        if !text.is_empty() {
            self.build(
                st,
                Some(QsNode::Phrase {
                    field: None,
                    text,
                    slop,
                    boost: None,
                }),
                0,
            );
        }
        j + 1
    }

    /// Lucene's `consumeToken`: a word, a `word*` prefix or a `word~N` fuzzy term.
    fn token(&self, st: &mut State, i: usize, end: usize) -> usize {
        let mut j = i;
        let mut text: Vec<char> = Vec::new();
        let (mut escaped, mut prefix, mut fuzzy) = (false, false, false);
        while j < end {
            let c = self.s[j];
            if !escaped {
                if c == '\\' && self.on(F::ESCAPE) {
                    escaped = true;
                    prefix = false;
                    j += 1;
                    continue;
                }
                if self.finishes(c) {
                    break;
                }
                if !text.is_empty() && c == '~' && self.on(F::FUZZY) {
                    fuzzy = true;
                    break;
                }
                prefix = !text.is_empty() && c == '*' && self.on(F::PREFIX);
            }
            escaped = false;
            text.push(c);
            j += 1;
        }
        if text.is_empty() {
            return j;
        }
        let node = if fuzzy {
            let (n, next) = self.fuzziness(j, end);
            j = next;
            // Lucene caps the distance at LevenshteinAutomata's maximum, 2;
            // `~0` or an unparsable number gives a plain term.
            match n.min(2) {
                0 => QsNode::Term {
                    field: None,
                    text: text.into_iter().collect(),
                    boost: None,
                },
                d => QsNode::Fuzzy {
                    field: None,
                    text: text.into_iter().collect(),
                    distance: Some(d as u8),
                    boost: None,
                },
            }
        } else if prefix {
            text.pop();
            QsNode::Prefix {
                field: None,
                prefix: text.into_iter().collect(),
                boost: None,
            }
        } else {
            QsNode::Term {
                field: None,
                text: text.into_iter().collect(),
                boost: None,
            }
        };
        self.build(st, Some(node), 0);
        j
    }

    /// Lucene's `parseFuzziness` with `s[i] == '~'`: reads up to the end of
    /// the token; empty means 2, anything unparsable 0. Returns the number
    /// and the index of the char that ended it.
    fn fuzziness(&self, mut i: usize, end: usize) -> (u32, usize) {
        let mut text = String::new();
        while i < end {
            i += 1;
            if i < end {
                if self.finishes(self.s[i]) {
                    break;
                }
                text.push(self.s[i]);
            }
        }
        let n = if text.is_empty() {
            2
        } else {
            text.parse::<i32>().unwrap_or(0).max(0) as u32
        };
        (n, i)
    }

    /// Lucene's `buildQueryTree`: adds a clause with the pending operator
    /// (or the default one), opening a new parent when the operator changes.
    fn build(&self, st: &mut State, branch: Option<QsNode>, branch_depth: usize) {
        let Some(mut branch) = branch else { return };
        let mut branch_depth = branch_depth;
        if st.not % 2 == 1 {
            branch = QsNode::Bool {
                clauses: vec![(Occur::MustNot, branch), (Occur::Should, QsNode::MatchAll)],
                boost: None,
            };
            branch_depth += 1;
        }
        if branch_depth > MAX_DEPTH {
            st.full = true; // too deep to be safe: the rest of the group is ignored
            return;
        }
        let Some(top) = st.top.take() else {
            st.top = Some(branch);
            st.depth = branch_depth;
            st.current = None;
            return;
        };
        let occur = st.current.unwrap_or(self.default);
        let wrap = st.previous != Some(occur);
        let depth = (st.depth + usize::from(wrap)).max(branch_depth + 1);
        if depth > MAX_DEPTH {
            // Too deep to be safe: keep what we have and ignore the rest.
            st.top = Some(top);
            st.full = true;
            return;
        }
        let mut clauses = match top {
            // `previous` is only set once `top` is a Bool of our making.
            QsNode::Bool { clauses, .. } if !wrap => clauses,
            other => vec![(occur, other)],
        };
        clauses.push((occur, branch));
        let top = QsNode::Bool { clauses, boost: None };
        st.top = Some(top);
        st.depth = depth;
        st.previous = Some(occur);
        st.current = None;
    }
}

#[cfg(test)]
mod tests {
    use super::super::{
        DefaultOperator, MAX_DEPTH, Occur, QsNode, QsNode::*, SimpleFlags as F, parse_simple_query_string,
    };
    use Occur::{Must as M, MustNot as N, Should as S};

    fn s(input: &str) -> QsNode {
        parse_simple_query_string(input, DefaultOperator::Or, F::ALL)
    }
    fn sa(input: &str) -> QsNode {
        parse_simple_query_string(input, DefaultOperator::And, F::ALL)
    }
    fn sf(input: &str, flags: F) -> QsNode {
        parse_simple_query_string(input, DefaultOperator::Or, flags)
    }
    fn t(x: &str) -> QsNode {
        Term {
            field: None,
            text: x.into(),
            boost: None,
        }
    }
    fn b(clauses: Vec<(Occur, QsNode)>) -> QsNode {
        Bool { clauses, boost: None }
    }
    fn neg(n: QsNode) -> QsNode {
        b(vec![(N, n), (S, MatchAll)])
    }
    fn ph(text: &str, slop: u32) -> QsNode {
        Phrase {
            field: None,
            text: text.into(),
            slop,
            boost: None,
        }
    }
    fn fz(text: &str, d: u8) -> QsNode {
        Fuzzy {
            field: None,
            text: text.into(),
            distance: Some(d),
            boost: None,
        }
    }
    fn pre(p: &str) -> QsNode {
        Prefix {
            field: None,
            prefix: p.into(),
            boost: None,
        }
    }
    fn empty() -> QsNode {
        b(vec![])
    }
    fn depth(n: &QsNode) -> usize {
        match n {
            Bool { clauses, .. } => 1 + clauses.iter().map(|(_, c)| depth(c)).max().unwrap_or(0),
            _ => 0,
        }
    }

    #[test]
    fn terms_and_default_operator() {
        assert_eq!(s("a"), t("a"));
        assert_eq!(s("a b c"), b(vec![(S, t("a")), (S, t("b")), (S, t("c"))]));
        assert_eq!(sa("a b"), b(vec![(M, t("a")), (M, t("b"))]));
        assert_eq!(s("a-b:c"), t("a-b:c"));
    }

    #[test]
    fn explicit_operators_build_left_to_right() {
        assert_eq!(s("a +b"), b(vec![(M, t("a")), (M, t("b"))]));
        assert_eq!(sa("a | b"), b(vec![(S, t("a")), (S, t("b"))]));
        assert_eq!(s("a+b"), b(vec![(M, t("a")), (M, t("b"))]));
        assert_eq!(
            s("a +b | c"),
            b(vec![(S, b(vec![(M, t("a")), (M, t("b"))])), (S, t("c"))])
        );
        assert_eq!(
            s("a b +c"),
            b(vec![(M, b(vec![(S, t("a")), (S, t("b"))])), (M, t("c"))])
        );
        assert_eq!(s("a + + | b"), b(vec![(M, t("a")), (M, t("b"))]), "first operator wins");
        assert_eq!(s("+a"), t("a"), "an operator without left-hand side is ignored");
        assert_eq!(s("| a |"), t("a"));
    }

    #[test]
    fn negation_wraps_with_match_all() {
        assert_eq!(s("-a"), neg(t("a")));
        assert_eq!(s("a -b"), b(vec![(S, t("a")), (S, neg(t("b")))]));
        assert_eq!(sa("a -b"), b(vec![(M, t("a")), (M, neg(t("b")))]));
        assert_eq!(s("--a"), t("a"));
        assert_eq!(s("---a"), neg(t("a")));
        assert_eq!(s("- a"), t("a"), "whitespace resets the negation");
        assert_eq!(s("-"), empty());
    }

    #[test]
    fn es_docs_example() {
        let left = b(vec![
            (M, ph("fried eggs", 0)),
            (M, b(vec![(S, t("eggplant")), (S, t("potato"))])),
        ]);
        assert_eq!(
            s("\"fried eggs\" +(eggplant | potato) -frittata"),
            b(vec![(S, left), (S, neg(t("frittata")))])
        );
    }

    #[test]
    fn phrases_and_slop() {
        assert_eq!(s("\"a b\""), ph("a b", 0));
        assert_eq!(s("\"a b\"~2"), ph("a b", 2));
        assert_eq!(s("\"a b\"~12 c"), b(vec![(S, ph("a b", 12)), (S, t("c"))]));
        assert_eq!(s("\"a b\"~"), ph("a b", 0));
        assert_eq!(s("\"a b\"~x"), ph("a b", 0));
        assert_eq!(
            s("\"a b\"~ c"),
            b(vec![(S, ph("a b", 2)), (S, t("c"))]),
            "Lucene: empty slop is 2"
        );
        assert_eq!(
            s("\"a b\"~2+c"),
            b(vec![(S, ph("a b", 2)), (S, t("c"))]),
            "Lucene skips the char after the slop"
        );
        assert_eq!(s(r#""a\"b""#), ph("a\"b", 0));
        assert_eq!(s("\"a b"), b(vec![(S, t("a")), (S, t("b"))]), "unclosed quote ignored");
        assert_eq!(
            s("a +\"\" b"),
            b(vec![(S, t("a")), (S, t("b"))]),
            "empty phrase drops its operator"
        );
        assert_eq!(s("x\"a b\""), b(vec![(S, t("x")), (S, ph("a b", 0))]));
    }

    #[test]
    fn prefixes() {
        assert_eq!(s("foo*"), pre("foo"));
        assert_eq!(s("foo**"), pre("foo*"));
        assert_eq!(s(r"foo\*"), t("foo*"));
        assert_eq!(s("f*o"), t("f*o"));
        assert_eq!(s("*"), MatchAll);
        assert_eq!(s("  *\t"), MatchAll);
        assert_eq!(s("* a"), b(vec![(S, t("*")), (S, t("a"))]));
    }

    #[test]
    fn fuzziness() {
        assert_eq!(s("foo~"), fz("foo", 2));
        assert_eq!(s("foo~1"), fz("foo", 1));
        assert_eq!(s("foo~5"), fz("foo", 2), "capped at 2");
        assert_eq!(s("foo~0"), t("foo"));
        assert_eq!(s("foo~x"), t("foo"));
        assert_eq!(s("foo~-1"), t("foo"));
        assert_eq!(s("~foo"), t("~foo"));
        assert_eq!(s("foo~1 bar"), b(vec![(S, fz("foo", 1)), (S, t("bar"))]));
    }

    #[test]
    fn precedence_groups() {
        assert_eq!(
            s("(a | b) +c"),
            b(vec![(M, b(vec![(S, t("a")), (S, t("b"))])), (M, t("c"))])
        );
        assert_eq!(s("((a))"), t("a"));
        assert_eq!(s("(a"), t("a"), "unclosed paren ignored");
        assert_eq!(s("a)"), t("a"), "stray paren ignored");
        assert_eq!(s("()"), empty());
        assert_eq!(s("a +() b"), b(vec![(S, t("a")), (S, t("b"))]), "() drops its operator");
        assert_eq!(s(r"(a\) b)"), b(vec![(S, t("a)")), (S, t("b"))]));
        assert_eq!(s("-(a b)"), neg(b(vec![(S, t("a")), (S, t("b"))])));
    }

    #[test]
    fn escapes() {
        assert_eq!(s(r"\+a"), t("+a"));
        assert_eq!(s(r"a\ b"), t("a b"));
        assert_eq!(s(r"a\"), t("a"));
        assert_eq!(s(r"\-a"), t("-a"));
        assert_eq!(s(r"a\~1"), t("a~1"));
    }

    #[test]
    fn flags_disable_operators() {
        assert_eq!(sf("a b", F::NONE), t("a b"));
        assert_eq!(sf("-a +(b|c)", F::NONE), t("-a +(b|c)"));
        assert_eq!(sf("foo*", F::WHITESPACE), t("foo*"));
        assert_eq!(sf("foo~1", F::WHITESPACE), t("foo~1"));
        assert_eq!(sf("a|b", F::WHITESPACE), t("a|b"));
        assert_eq!(sf("a|b", F::OR), b(vec![(S, t("a")), (S, t("b"))]));
        assert_eq!(sf("-a", F::WHITESPACE), t("-a"));
        assert_eq!(sf("\"a b\"", F::WHITESPACE), b(vec![(S, t("\"a")), (S, t("b\""))]));
        assert_eq!(
            sf("\"a b\"~2", F::PHRASE | F::WHITESPACE),
            b(vec![(S, ph("a b", 0)), (S, t("~2"))])
        );
        assert_eq!(sf("\"a b\"~2", F::PHRASE | F::SLOP), ph("a b", 2));
        assert_eq!(sf(r"\+a", F::AND), b(vec![(M, t("\\")), (M, t("a"))]));
        assert_eq!(sf("(a b)", F::WHITESPACE), b(vec![(S, t("(a")), (S, t("b)"))]));
    }

    #[test]
    fn never_fails_on_bad_syntax() {
        for input in [
            "\"",
            "(",
            ")",
            "+",
            "|",
            "-",
            "~",
            "\\",
            "((((",
            "))))",
            "\"\"\"",
            "a~~~",
            "+-|()\"~*\\",
            "é~2*",
        ] {
            let _ = s(input);
            let _ = sa(input);
            let _ = sf(input, F::NONE);
        }
        assert_eq!(s("+|-"), empty());
    }

    #[test]
    fn nesting_is_limited() {
        let alternating: String = (0..1000).map(|i| format!("a{i} +b{i} | ")).collect();
        let n = s(&alternating);
        assert!(depth(&n) <= MAX_DEPTH, "{}", depth(&n));
        let parens = format!("{}a{}", "(".repeat(10_000), ")".repeat(10_000));
        assert_eq!(s(&parens), t("a"));
        let negs = format!("{}a{}", "(-".repeat(500), ")".repeat(500));
        assert!(depth(&s(&negs)) <= MAX_DEPTH);
    }
}
