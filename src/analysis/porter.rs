//! The classic Porter stemmer, as shipped in Lucene's `PorterStemmer` (used by
//! `PorterStemFilter`, the `porter_stem` token filter and the `english` analyzer).
//!
//! This is Martin Porter's reference implementation (the ANSI C / Java version
//! with the later "-logi" and "-bli" departures), not the Snowball "Porter2"
//! English stemmer. Step numbering follows Lucene's code, which calls the
//! paper's steps 1a/1b `step1`, 1c `step2`, 2 `step3`, 3 `step4`, 4 `step5`
//! and 5 `step6`.
//!
//! Lucene works on UTF-16 code units and treats every non-ASCII unit as a
//! consonant; the stemmer here does the same so that words with non-ASCII
//! letters stem exactly as in Lucene.

/// Stems one (lowercased) term the way Lucene's `PorterStemmer` does.
///
/// Terms of at most two UTF-16 code units are returned unchanged, as in Lucene.
pub(super) fn stem(word: &str) -> String {
    let units: Vec<u16> = word.encode_utf16().collect();
    if units.len() <= 2 {
        return word.to_owned();
    }
    let mut s = Stemmer::new(units);
    s.step1();
    s.step2();
    s.step3();
    s.step4();
    s.step5();
    s.step6();
    let end = usize::try_from(s.k + 1).unwrap_or(0).min(s.b.len());
    String::from_utf16_lossy(&s.b[..end])
}

/// Working state: `b[..=k]` is the current word, `j` marks the end of the
/// stem once a suffix has matched (it may be -1, hence `isize`). `cons`
/// caches the consonant test per index; it depends only on the prefix, so
/// it stays valid when `k` shrinks and is refreshed after every write.
struct Stemmer {
    b: Vec<u16>,
    cons: Vec<bool>,
    k: isize,
    j: isize,
}

fn is_vowel(c: u16) -> bool {
    matches!(u8::try_from(c), Ok(b'a' | b'e' | b'i' | b'o' | b'u'))
}

const Y: u16 = b'y' as u16;

impl Stemmer {
    fn new(b: Vec<u16>) -> Self {
        let k = b.len() as isize - 1;
        let mut s = Stemmer {
            b,
            cons: Vec::new(),
            k,
            j: 0,
        };
        s.refresh_cons(0);
        s
    }

    /// Recomputes the consonant cache from index `from` on. A `y` is a
    /// consonant at the start of a word or after a vowel, a vowel otherwise.
    fn refresh_cons(&mut self, from: usize) {
        self.cons.truncate(from);
        for i in from..self.b.len() {
            let c = self.b[i];
            let is_cons = if is_vowel(c) {
                false
            } else if c == Y {
                i == 0 || !self.cons[i - 1]
            } else {
                true
            };
            self.cons.push(is_cons);
        }
    }

    /// Returns the code unit at `i` (0 when out of range).
    fn unit(&self, i: isize) -> u16 {
        usize::try_from(i)
            .ok()
            .and_then(|i| self.b.get(i))
            .copied()
            .unwrap_or(0)
    }

    /// Returns the ASCII letter at `i`, or 0 for anything else; suffixes are
    /// ASCII so non-ASCII units never match them.
    fn at(&self, i: isize) -> u8 {
        u8::try_from(self.unit(i)).unwrap_or(0)
    }

    fn is_cons(&self, i: isize) -> bool {
        usize::try_from(i)
            .ok()
            .and_then(|i| self.cons.get(i))
            .copied()
            .unwrap_or(true)
    }

    /// Counts the consonant-vowel sequences ("m" in the paper) in `b[0..=j]`.
    fn m(&self) -> usize {
        let mut n = 0;
        let mut i = 0;
        while i <= self.j && self.is_cons(i) {
            i += 1;
        }
        loop {
            while i <= self.j && !self.is_cons(i) {
                i += 1;
            }
            if i > self.j {
                return n;
            }
            while i <= self.j && self.is_cons(i) {
                i += 1;
            }
            n += 1;
            if i > self.j {
                return n;
            }
        }
    }

    fn vowel_in_stem(&self) -> bool {
        (0..=self.j).any(|i| !self.is_cons(i))
    }

    fn double_cons(&self, i: isize) -> bool {
        i >= 1 && self.unit(i) == self.unit(i - 1) && self.is_cons(i)
    }

    /// True when `b[i-2..=i]` is consonant-vowel-consonant and the last
    /// consonant is not w, x or y (as in "hop", not "snow").
    fn cvc(&self, i: isize) -> bool {
        if i < 2 || !self.is_cons(i) || self.is_cons(i - 1) || !self.is_cons(i - 2) {
            return false;
        }
        !matches!(self.at(i), b'w' | b'x' | b'y')
    }

    /// True when the word ends with `s`; sets `j` just before the suffix.
    fn ends(&mut self, s: &str) -> bool {
        let l = s.len() as isize;
        let o = self.k - l + 1;
        if o < 0 {
            return false;
        }
        let matches = s.bytes().enumerate().all(|(i, ch)| self.at(o + i as isize) == ch);
        if matches {
            self.j = self.k - l;
        }
        matches
    }

    /// Replaces `b[j+1..=k]` with `s`.
    fn set_to(&mut self, s: &str) {
        let start = usize::try_from(self.j + 1).unwrap_or(0);
        for (i, ch) in s.bytes().enumerate() {
            let pos = start + i;
            if pos < self.b.len() {
                self.b[pos] = u16::from(ch);
            } else {
                self.b.push(u16::from(ch));
            }
        }
        self.k = self.j + s.len() as isize;
        self.refresh_cons(start.min(self.b.len()));
    }

    fn replace_if_m_positive(&mut self, s: &str) {
        if self.m() > 0 {
            self.set_to(s);
        }
    }

    /// Plurals and -ed / -ing (paper steps 1a and 1b).
    fn step1(&mut self) {
        if self.at(self.k) == b's' {
            if self.ends("sses") {
                self.k -= 2;
            } else if self.ends("ies") {
                self.set_to("i");
            } else if self.at(self.k - 1) != b's' {
                self.k -= 1;
            }
        }
        if self.ends("eed") {
            if self.m() > 0 {
                self.k -= 1;
            }
        } else if (self.ends("ed") || self.ends("ing")) && self.vowel_in_stem() {
            self.k = self.j;
            if self.ends("at") {
                self.set_to("ate");
            } else if self.ends("bl") {
                self.set_to("ble");
            } else if self.ends("iz") {
                self.set_to("ize");
            } else if self.double_cons(self.k) {
                if !matches!(self.at(self.k), b'l' | b's' | b'z') {
                    self.k -= 1;
                }
            } else if self.m() == 1 && self.cvc(self.k) {
                self.set_to("e");
            }
        }
    }

    /// Turns a terminal y into i when there is another vowel (paper step 1c).
    fn step2(&mut self) {
        if self.ends("y")
            && self.vowel_in_stem()
            && let Ok(k) = usize::try_from(self.k)
            && let Some(c) = self.b.get_mut(k)
        {
            *c = u16::from(b'i');
            self.refresh_cons(k);
        }
    }

    /// Maps double suffixes to single ones (paper step 2).
    fn step3(&mut self) {
        if self.k == 0 {
            return;
        }
        let rules: &[(&str, &str)] = match self.at(self.k - 1) {
            b'a' => &[("ational", "ate"), ("tional", "tion")],
            b'c' => &[("enci", "ence"), ("anci", "ance")],
            b'e' => &[("izer", "ize")],
            b'l' => &[
                ("bli", "ble"),
                ("alli", "al"),
                ("entli", "ent"),
                ("eli", "e"),
                ("ousli", "ous"),
            ],
            b'o' => &[("ization", "ize"), ("ation", "ate"), ("ator", "ate")],
            b's' => &[
                ("alism", "al"),
                ("iveness", "ive"),
                ("fulness", "ful"),
                ("ousness", "ous"),
            ],
            b't' => &[("aliti", "al"), ("iviti", "ive"), ("biliti", "ble")],
            b'g' => &[("logi", "log")],
            _ => &[],
        };
        self.apply_first(rules);
    }

    /// Handles -ic-, -full, -ness etc. (paper step 3).
    fn step4(&mut self) {
        let rules: &[(&str, &str)] = match self.at(self.k) {
            b'e' => &[("icate", "ic"), ("ative", ""), ("alize", "al")],
            b'i' => &[("iciti", "ic")],
            b'l' => &[("ical", "ic"), ("ful", "")],
            b's' => &[("ness", "")],
            _ => &[],
        };
        self.apply_first(rules);
    }

    /// Applies the first rule whose suffix matches (only that one, even when
    /// its measure condition fails, exactly like Lucene's `break`s).
    fn apply_first(&mut self, rules: &[(&str, &str)]) {
        for (suffix, replacement) in rules {
            if self.ends(suffix) {
                self.replace_if_m_positive(replacement);
                return;
            }
        }
    }

    /// Removes -ant, -ence etc. when the measure is above one (paper step 4).
    fn step5(&mut self) {
        if self.k == 0 {
            return;
        }
        let suffixes: &[&str] = match self.at(self.k - 1) {
            b'a' => &["al"],
            b'c' => &["ance", "ence"],
            b'e' => &["er"],
            b'i' => &["ic"],
            b'l' => &["able", "ible"],
            b'n' => &["ant", "ement", "ment", "ent"],
            b'o' => {
                // "-ion" only goes after s or t; otherwise try "-ou" (for -ous).
                let ion = self.ends("ion") && self.j >= 0 && matches!(self.at(self.j), b's' | b't');
                if !ion && !self.ends("ou") {
                    return;
                }
                &[]
            }
            b's' => &["ism"],
            b't' => &["ate", "iti"],
            b'u' => &["ous"],
            b'v' => &["ive"],
            b'z' => &["ize"],
            _ => return,
        };
        if !suffixes.is_empty() && !suffixes.iter().any(|s| self.ends(s)) {
            return;
        }
        if self.m() > 1 {
            self.k = self.j;
        }
    }

    /// Removes a final -e and reduces a final -ll (paper step 5).
    fn step6(&mut self) {
        self.j = self.k;
        if self.at(self.k) == b'e' {
            let a = self.m();
            if a > 1 || (a == 1 && !self.cvc(self.k - 1)) {
                self.k -= 1;
            }
        }
        if self.at(self.k) == b'l' && self.double_cons(self.k) && self.m() > 1 {
            self.k -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::stem;

    #[test]
    fn classic_porter_vocabulary() {
        let cases = [
            ("caresses", "caress"),
            ("ponies", "poni"),
            ("ties", "ti"),
            ("caress", "caress"),
            ("cats", "cat"),
            ("feed", "feed"),
            ("agreed", "agre"),
            ("plastered", "plaster"),
            ("bled", "bled"),
            ("motoring", "motor"),
            ("sing", "sing"),
            ("conflated", "conflat"),
            ("troubled", "troubl"),
            ("sized", "size"),
            ("hopping", "hop"),
            ("tanned", "tan"),
            ("falling", "fall"),
            ("hissing", "hiss"),
            ("fizzed", "fizz"),
            ("failing", "fail"),
            ("filing", "file"),
            ("happy", "happi"),
            ("sky", "sky"),
            ("relational", "relat"),
            ("conditional", "condit"),
            ("rational", "ration"),
            ("digitizer", "digit"),
            ("generalizations", "gener"),
            ("oscillators", "oscil"),
            ("connections", "connect"),
            ("argued", "argu"),
            ("happiness", "happi"),
            ("running", "run"),
            ("jumped", "jump"),
            ("lazy", "lazi"),
            ("foxes", "fox"),
            ("skies", "ski"),
            ("news", "new"),
            ("bone", "bone"),
            ("archaeology", "archaeolog"),
            ("sensibiliti", "sensibl"),
            ("replacement", "replac"),
            ("adoption", "adopt"),
            ("ion", "ion"),
            ("is", "is"),
            ("yyyyy", "yyyyi"),
        ];
        for (word, expected) in cases {
            assert_eq!(stem(word), expected, "stem({word})");
        }
    }

    #[test]
    fn non_ascii_letters_are_consonants() {
        assert_eq!(stem("cafés"), "café");
        assert_eq!(stem("naïveté"), "naïveté");
        assert_eq!(stem("日本"), "日本");
    }
}
