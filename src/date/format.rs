//! Date formats: ES built-in names and Java `DateTimeFormatter`-style patterns,
//! compiled into a small item tree that both parses and prints.
//!
//! See <https://www.elastic.co/guide/en/elasticsearch/reference/current/mapping-date-format.html>
//! and <https://docs.oracle.com/en/java/javase/17/docs/api/java.base/java/time/format/DateTimeFormatter.html>.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike};

use super::Rounding;

/// One `||`-separated element of a `format` spec.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Format {
    /// `epoch_millis`: milliseconds since the epoch, optionally with a fraction.
    EpochMillis,
    /// `epoch_second`: seconds since the epoch, optionally with a fraction.
    EpochSecond,
    /// A pattern; built-in formats print with a fixed printer distinct from their parser, as in ES.
    Pattern { parser: Vec<Item>, printer: Vec<Item> },
}

/// One element of a compiled pattern.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Item {
    Literal(String),
    /// A numeric field of `min` to `max` digits; prints zero-padded to `min`.
    Number {
        field: NumField,
        min: usize,
        max: usize,
    },
    /// `yy`: two digits meaning 2000 to 2099, as in Java.
    TwoDigitYear,
    /// A decimal mark before a fraction in built-in formats: parses `.` or `,`, prints `.`.
    DecimalPoint,
    /// Fraction of second of `min` to `max` digits (`S` repeated).
    Fraction {
        min: usize,
        max: usize,
    },
    /// `MMM` (`Jan`) or `MMMM` (`January`).
    MonthText {
        full: bool,
    },
    /// `EEE` (`Mon`) or `EEEE` (`Monday`); parsed and ignored.
    WeekdayText {
        full: bool,
    },
    /// `a`: `AM` or `PM`.
    AmPm,
    Offset(OffsetStyle),
    /// `[...]`: parsed when it matches, always printed.
    Optional(Vec<Item>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NumField {
    Year,
    Month,
    Day,
    /// `H`: 0-23.
    Hour,
    /// `h`: 1-12, with `a`.
    ClockHourOfAmPm,
    /// `K`: 0-11, with `a`.
    HourOfAmPm,
    /// `k`: 1-24.
    ClockHourOfDay,
    Minute,
    Second,
}

/// How an offset prints; parsing accepts every form (`Z`, `+01`, `+0100`, `+01:00`, `GMT+01:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct OffsetStyle {
    /// Prints `Z` for a zero offset (`X`), rather than `+00:00` (`x`, `Z`).
    zulu: bool,
    /// Prints `+01:00` rather than `+0100`.
    colon: bool,
    /// Prints `+01` when the minutes are zero (`X`, `x`).
    minutes_optional: bool,
    /// Prints `GMT` or `GMT+01:00` (`ZZZZ`).
    gmt: bool,
}

/// Java pattern letters that Iris does not implement (week dates, eras, zone names...).
const UNSUPPORTED_LETTERS: &str = "GDQqwWecFAnNVvzOBgp";

/// The printer of `strict_date_optional_time` and friends, as ES prints them.
const ISO_PRINTER: &str = "yyyy-MM-dd'T'HH:mm:ss.SSSXXX";

/// `strict_date_optional_time`: `2024`, `2024-01`, ... up to `2024-01-05T10:30:15.123456789+01:00`.
/// As in ES, an offset may only follow the hour, and a missing one means UTC (or `time_zone`).
const OPTIONAL_TIME_STRICT: &str = "yyyy[-MM[-dd['T'[HH[:mm[:ss[.SSSSSSSSS]]][XXX]]]]]";
/// `date_optional_time`: as [`OPTIONAL_TIME_STRICT`], with unpadded fields (`2024-1-5T9:5`).
const OPTIONAL_TIME_LENIENT: &str = "y[-M[-d['T'[H[:m[:s[.SSSSSSSSS]]][XXX]]]]]";

/// ES built-in formats: (name without `strict_`, strict parser, lenient parser, printer).
///
/// `strict_` variants need zero-padded fields, the others accept e.g. `2024-1-5`.
/// Built-in fractions accept 1 to as many digits as `S` letters (see [`relax_fractions`]).
/// ES allows a 4-to-10 digit year in strict formats; Iris takes the year range 0000-9999,
/// so a 13-digit epoch falls through to `epoch_millis` either way.
#[rustfmt::skip]
const BUILTINS: &[(&str, &str, &str, &str)] = &[
    ("date_optional_time", OPTIONAL_TIME_STRICT, OPTIONAL_TIME_LENIENT, ISO_PRINTER),
    ("date_optional_time_nanos", OPTIONAL_TIME_STRICT, OPTIONAL_TIME_LENIENT, ISO_PRINTER),
    ("date", "yyyy-MM-dd", "y-M-d", "yyyy-MM-dd"),
    ("year_month_day", "yyyy-MM-dd", "y-M-d", "yyyy-MM-dd"),
    ("year_month", "yyyy-MM", "y-M", "yyyy-MM"),
    ("year", "yyyy", "y", "yyyy"),
    ("date_hour", "yyyy-MM-dd'T'HH", "y-M-d'T'H", "yyyy-MM-dd'T'HH"),
    ("date_hour_minute", "yyyy-MM-dd'T'HH:mm", "y-M-d'T'H:m", "yyyy-MM-dd'T'HH:mm"),
    ("date_hour_minute_second", "yyyy-MM-dd'T'HH:mm:ss", "y-M-d'T'H:m:s", "yyyy-MM-dd'T'HH:mm:ss"),
    ("date_hour_minute_second_millis", "yyyy-MM-dd'T'HH:mm:ss.SSS", "y-M-d'T'H:m:s.SSS", "yyyy-MM-dd'T'HH:mm:ss.SSS"),
    ("date_hour_minute_second_fraction", "yyyy-MM-dd'T'HH:mm:ss.SSSSSSSSS", "y-M-d'T'H:m:s.SSSSSSSSS", "yyyy-MM-dd'T'HH:mm:ss.SSS"),
    ("date_time", "yyyy-MM-dd'T'HH:mm:ss.SSSSSSSSSXXX", "y-M-d'T'H:m:s.SSSSSSSSSXXX", ISO_PRINTER),
    ("date_time_no_millis", "yyyy-MM-dd'T'HH:mm:ssXXX", "y-M-d'T'H:m:sXXX", "yyyy-MM-dd'T'HH:mm:ssXXX"),
    ("hour", "HH", "H", "HH"),
    ("hour_minute", "HH:mm", "H:m", "HH:mm"),
    ("hour_minute_second", "HH:mm:ss", "H:m:s", "HH:mm:ss"),
    ("hour_minute_second_millis", "HH:mm:ss.SSS", "H:m:s.SSS", "HH:mm:ss.SSS"),
    ("hour_minute_second_fraction", "HH:mm:ss.SSSSSSSSS", "H:m:s.SSSSSSSSS", "HH:mm:ss.SSS"),
    ("time", "HH:mm:ss.SSSSSSSSSXXX", "H:m:s.SSSSSSSSSXXX", "HH:mm:ss.SSSXXX"),
    ("time_no_millis", "HH:mm:ssXXX", "H:m:sXXX", "HH:mm:ssXXX"),
    ("t_time", "'T'HH:mm:ss.SSSSSSSSSXXX", "'T'H:m:s.SSSSSSSSSXXX", "'T'HH:mm:ss.SSSXXX"),
    ("t_time_no_millis", "'T'HH:mm:ssXXX", "'T'H:m:sXXX", "'T'HH:mm:ssXXX"),
    // ES has no lenient basic formats: both columns are strict.
    ("basic_date", "yyyyMMdd", "yyyyMMdd", "yyyyMMdd"),
    ("basic_date_time", "yyyyMMdd'T'HHmmss.SSSSSSSSSXX", "yyyyMMdd'T'HHmmss.SSSSSSSSSXX", "yyyyMMdd'T'HHmmss.SSSXX"),
    ("basic_date_time_no_millis", "yyyyMMdd'T'HHmmssXX", "yyyyMMdd'T'HHmmssXX", "yyyyMMdd'T'HHmmssXX"),
    ("basic_time", "HHmmss.SSSSSSSSSXX", "HHmmss.SSSSSSSSSXX", "HHmmss.SSSXX"),
    ("basic_time_no_millis", "HHmmssXX", "HHmmssXX", "HHmmssXX"),
    ("basic_t_time", "'T'HHmmss.SSSSSSSSSXX", "'T'HHmmss.SSSSSSSSSXX", "'T'HHmmss.SSSXX"),
    ("basic_t_time_no_millis", "'T'HHmmssXX", "'T'HHmmssXX", "'T'HHmmssXX"),
];

/// ES built-in names (without `strict_`) that Iris does not implement: week and ordinal dates.
#[rustfmt::skip]
const UNSUPPORTED_BUILTINS: &[&str] = &[
    "basic_ordinal_date", "basic_ordinal_date_time", "basic_ordinal_date_time_no_millis",
    "basic_week_date", "basic_week_date_time", "basic_week_date_time_no_millis",
    "ordinal_date", "ordinal_date_time", "ordinal_date_time_no_millis",
    "week_date", "week_date_time", "week_date_time_no_millis",
    "weekyear", "weekyear_week", "weekyear_week_day",
];

const MONTHS_SHORT: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
#[rustfmt::skip]
const MONTHS_FULL: [&str; 12] = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
];
const WEEKDAYS_SHORT: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
#[rustfmt::skip]
const WEEKDAYS_FULL: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// The largest offset Java accepts, in seconds.
const MAX_OFFSET_SECONDS: i32 = 18 * 3600;

impl Format {
    /// Returns the format of one `||`-separated element, or the error detail.
    pub(super) fn from_spec(spec: &str) -> Result<Format, String> {
        if spec.is_empty() {
            return Err("No date pattern provided".to_string());
        }
        // ES 8 still accepts (deprecated) camel case names such as `strictDateOptionalTime`.
        if let Some(found) = builtin(spec).or_else(|| camel_to_snake(spec).and_then(|s| builtin(&s))) {
            return found;
        }
        let items = compile_pattern(spec)?;
        Ok(Format::Pattern {
            parser: items.clone(),
            printer: items,
        })
    }

    /// Returns the epoch millis of `value`, or `None` when this format does not match it.
    pub(super) fn parse_value(&self, value: &str, rounding: Rounding, tz: Option<FixedOffset>) -> Option<i64> {
        match self {
            Format::EpochMillis => parse_epoch(value, 1, rounding),
            Format::EpochSecond => parse_epoch(value, 1000, rounding),
            Format::Pattern { parser, .. } => {
                let input = value.as_bytes();
                let mut pos = 0;
                let mut fields = Fields::default();
                let matched = parse_items(parser, input, &mut pos, &mut fields) && pos == input.len();
                matched.then(|| fields.resolve(rounding, tz)).flatten()
            }
        }
    }

    /// Returns `millis` printed in zone `tz`, or the plain number outside the calendar range.
    pub(super) fn format(&self, millis: i64, tz: FixedOffset) -> String {
        match self {
            Format::EpochMillis => millis.to_string(),
            Format::EpochSecond => format_epoch_second(millis),
            Format::Pattern { printer, .. } => {
                let offset = tz.local_minus_utc();
                let local = DateTime::from_timestamp_millis(millis).and_then(|utc| {
                    utc.naive_utc()
                        .checked_add_signed(TimeDelta::seconds(i64::from(offset)))
                });
                let Some(local) = local else {
                    return millis.to_string();
                };
                let mut out = String::new();
                print_items(printer, &local, offset, &mut out);
                out
            }
        }
    }
}

/// Returns the built-in format called `name`, an error for known but unsupported
/// built-ins, or `None` when `name` is no built-in (and so is a pattern).
fn builtin(name: &str) -> Option<Result<Format, String>> {
    match name {
        "epoch_millis" => return Some(Ok(Format::EpochMillis)),
        "epoch_second" => return Some(Ok(Format::EpochSecond)),
        _ => {}
    }
    let (strict, base) = match name.strip_prefix("strict_") {
        Some(base) => (true, base),
        None => (false, name),
    };
    if let Some(&(_, strict_parser, lenient_parser, printer)) = BUILTINS.iter().find(|row| row.0 == base) {
        let parser = if strict { strict_parser } else { lenient_parser };
        let compiled = compile_pattern(parser).and_then(|parser| {
            let printer = compile_pattern(printer)?;
            Ok(Format::Pattern {
                parser: relax_fractions(parser),
                printer,
            })
        });
        return Some(compiled);
    }
    UNSUPPORTED_BUILTINS
        .contains(&base)
        .then(|| Err(format!("built-in format [{name}] is not supported")))
}

/// Returns `strictDateOptionalTime` as `strict_date_optional_time`, or `None` when
/// `spec` is not an all-letter camel case word.
fn camel_to_snake(spec: &str) -> Option<String> {
    let is_camel = spec.bytes().all(|b| b.is_ascii_alphabetic()) && spec.bytes().any(|b| b.is_ascii_uppercase());
    is_camel.then(|| {
        let mut snake = String::with_capacity(spec.len() + 4);
        for c in spec.chars() {
            if c.is_ascii_uppercase() {
                snake.push('_');
            }
            snake.push(c.to_ascii_lowercase());
        }
        snake
    })
}

/// Returns built-in parser items where fractions accept 1 to `max` digits and a `.`
/// or `,` decimal mark, as ES built-ins do (a Java pattern cannot express that).
fn relax_fractions(items: Vec<Item>) -> Vec<Item> {
    let mut out: Vec<Item> = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Item::Fraction { max, .. } => {
                if out.last() == Some(&Item::Literal(".".to_string())) {
                    out.pop();
                    out.push(Item::DecimalPoint);
                }
                out.push(Item::Fraction { min: 1, max });
            }
            Item::Optional(inner) => out.push(Item::Optional(relax_fractions(inner))),
            other => out.push(other),
        }
    }
    out
}

/// Compiles a Java `DateTimeFormatter` pattern, returning the error detail ES would give.
pub(super) fn compile_pattern(pattern: &str) -> Result<Vec<Item>, String> {
    let chars: Vec<char> = pattern.chars().collect();
    // One list per open `[` section; the first is the top level.
    let mut sections: Vec<Vec<Item>> = vec![Vec::new()];
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        i += 1;
        match c {
            'a'..='z' | 'A'..='Z' => {
                let count = 1 + chars[i..].iter().take_while(|&&next| next == c).count();
                i += count - 1;
                push_item(&mut sections, letter_item(c, count)?);
            }
            '\'' => {
                let (literal, next) = quoted_literal(&chars, i)
                    .ok_or_else(|| format!("Pattern ends with an incomplete string literal: {pattern}"))?;
                i = next;
                push_literal(&mut sections, &literal);
            }
            '[' => sections.push(Vec::new()),
            ']' => {
                if sections.len() < 2 {
                    return Err("Pattern invalid as it contains ] without previous [".to_string());
                }
                close_section(&mut sections);
            }
            '{' | '}' | '#' => return Err(format!("Pattern includes reserved character: '{c}'")),
            _ => push_literal(&mut sections, &c.to_string()),
        }
    }
    // Like Java, sections still open at the end of the pattern close implicitly.
    while sections.len() > 1 {
        close_section(&mut sections);
    }
    Ok(sections.pop().unwrap_or_default())
}

/// Returns the text of a quoted literal whose opening quote precedes `start`, and the
/// index after its closing quote; `''` is a quote, inside or outside a literal.
fn quoted_literal(chars: &[char], start: usize) -> Option<(String, usize)> {
    if chars.get(start) == Some(&'\'') {
        return Some(("'".to_string(), start + 1));
    }
    let mut literal = String::new();
    let mut i = start;
    loop {
        match (chars.get(i), chars.get(i + 1)) {
            (Some('\''), Some('\'')) => {
                literal.push('\'');
                i += 2;
            }
            (Some('\''), _) => return Some((literal, i + 1)),
            (Some(&c), _) => {
                literal.push(c);
                i += 1;
            }
            (None, _) => return None,
        }
    }
}

/// Appends `item` to the innermost open section.
fn push_item(sections: &mut [Vec<Item>], item: Item) {
    if let Some(section) = sections.last_mut() {
        section.push(item);
    }
}

/// Appends literal text, merging it with a literal just before.
fn push_literal(sections: &mut [Vec<Item>], text: &str) {
    if let Some(section) = sections.last_mut() {
        match section.last_mut() {
            Some(Item::Literal(previous)) => previous.push_str(text),
            _ => section.push(Item::Literal(text.to_string())),
        }
    }
}

/// Closes the innermost `[` section into an optional item of its parent.
fn close_section(sections: &mut Vec<Vec<Item>>) {
    if let Some(inner) = sections.pop() {
        push_item(sections, Item::Optional(inner));
    }
}

/// Returns the item of `count` repetitions of pattern letter `letter`.
fn letter_item(letter: char, count: usize) -> Result<Item, String> {
    let too_many = || format!("Too many pattern letters: {letter}");
    let unsupported = || format!("Unsupported pattern letter: {letter}");
    let small = |field| match count {
        1 => Ok(Item::Number { field, min: 1, max: 2 }),
        2 => Ok(Item::Number { field, min: 2, max: 2 }),
        _ => Err(too_many()),
    };
    match letter {
        // `Y` is Java's week-based year; users almost always mean the calendar year.
        'y' | 'u' | 'Y' => match count {
            2 => Ok(Item::TwoDigitYear),
            1..=9 => Ok(Item::Number {
                field: NumField::Year,
                min: count,
                max: 9,
            }),
            _ => Err(too_many()),
        },
        'M' | 'L' => match count {
            1 | 2 => small(NumField::Month),
            3 | 4 => Ok(Item::MonthText { full: count == 4 }),
            5 => Err(unsupported()),
            _ => Err(too_many()),
        },
        'd' => small(NumField::Day),
        'H' => small(NumField::Hour),
        'h' => small(NumField::ClockHourOfAmPm),
        'K' => small(NumField::HourOfAmPm),
        'k' => small(NumField::ClockHourOfDay),
        'm' => small(NumField::Minute),
        's' => small(NumField::Second),
        'S' if count <= 9 => Ok(Item::Fraction { min: count, max: count }),
        'a' if count == 1 => Ok(Item::AmPm),
        'E' => match count {
            1..=4 => Ok(Item::WeekdayText { full: count == 4 }),
            5 => Err(unsupported()),
            _ => Err(too_many()),
        },
        'X' | 'x' | 'Z' => offset_style(letter, count).map(Item::Offset).ok_or_else(too_many),
        'S' | 'a' => Err(too_many()),
        _ if UNSUPPORTED_LETTERS.contains(letter) => Err(unsupported()),
        _ => Err(format!("Unknown pattern letter: {letter}")),
    }
}

/// Returns the print style of offset letters `X`, `x` and `Z`, as Java defines them.
fn offset_style(letter: char, count: usize) -> Option<OffsetStyle> {
    let iso = |zulu, colon, minutes_optional| OffsetStyle {
        zulu,
        colon,
        minutes_optional,
        gmt: false,
    };
    let zulu = letter == 'X';
    match (letter, count) {
        ('X' | 'x', 1) => Some(iso(zulu, false, true)),
        ('X' | 'x', 2 | 4) => Some(iso(zulu, false, false)),
        ('X' | 'x', 3 | 5) => Some(iso(zulu, true, false)),
        ('Z', 1..=3) => Some(iso(false, false, false)),
        ('Z', 4) => Some(OffsetStyle {
            zulu: false,
            colon: true,
            minutes_optional: false,
            gmt: true,
        }),
        ('Z', 5) => Some(iso(true, true, false)),
        _ => None,
    }
}

/// Fields gathered while parsing; missing ones are filled in by [`Fields::resolve`].
#[derive(Debug, Clone, Copy, Default)]
struct Fields {
    year: Option<i32>,
    month: Option<u32>,
    day: Option<u32>,
    hour: Option<u32>,
    hour_of_am_pm: Option<u32>,
    pm: Option<bool>,
    minute: Option<u32>,
    second: Option<u32>,
    nanos: Option<u32>,
    offset: Option<i32>,
}

impl Fields {
    /// Returns the epoch millis of the parsed fields, or `None` for an invalid date.
    ///
    /// A missing year is 1970 and a missing month or day is 01 in both directions;
    /// with `Ceil`, missing time fields take their maximum (23:59:59.999). ES does
    /// exactly this for `gt`/`lte` bounds: `lte: "2024-01"` means up to
    /// 2024-01-01T23:59:59.999, not the end of January. See "Missing date components" in
    /// <https://www.elastic.co/guide/en/elasticsearch/reference/current/query-dsl-range-query.html>.
    fn resolve(&self, rounding: Rounding, tz: Option<FixedOffset>) -> Option<i64> {
        let ceil = rounding == Rounding::Ceil;
        let year = self.year.unwrap_or(1970);
        if !(0..=9999).contains(&year) {
            return None;
        }
        let date = NaiveDate::from_ymd_opt(year, self.month.unwrap_or(1), self.day.unwrap_or(1))?;
        let am_pm_hour = self
            .hour_of_am_pm
            .map(|hour| hour + if self.pm == Some(true) { 12 } else { 0 });
        let hour = self.hour.or(am_pm_hour).unwrap_or(if ceil { 23 } else { 0 });
        let minute = self.minute.unwrap_or(if ceil { 59 } else { 0 });
        let second = self.second.unwrap_or(if ceil { 59 } else { 0 });
        let nanos = self.nanos.unwrap_or(if ceil { 999_999_999 } else { 0 });
        if nanos > 999_999_999 {
            return None;
        }
        let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?;
        let offset = self.offset.or(tz.map(|tz| tz.local_minus_utc())).unwrap_or(0);
        let local_millis = date.and_time(time).and_utc().timestamp_millis();
        local_millis.checked_sub(i64::from(offset) * 1000)
    }

    /// Stores a parsed number, returning `false` when it is out of its field's range.
    fn store(&mut self, field: NumField, value: u32) -> bool {
        match field {
            NumField::Year => self.year = i32::try_from(value).ok(),
            NumField::Month => self.month = Some(value),
            NumField::Day => self.day = Some(value),
            NumField::Hour => self.hour = Some(value),
            NumField::ClockHourOfAmPm if (1..=12).contains(&value) => self.hour_of_am_pm = Some(value % 12),
            NumField::HourOfAmPm if value <= 11 => self.hour_of_am_pm = Some(value),
            NumField::ClockHourOfDay if (1..=24).contains(&value) => self.hour = Some(value % 24),
            NumField::Minute => self.minute = Some(value),
            NumField::Second => self.second = Some(value),
            NumField::ClockHourOfAmPm | NumField::HourOfAmPm | NumField::ClockHourOfDay => {
                return false;
            }
        }
        true
    }
}

/// Parses `items` from `input` at `pos`, returning `false` on the first mismatch.
fn parse_items(items: &[Item], input: &[u8], pos: &mut usize, fields: &mut Fields) -> bool {
    for (index, item) in items.iter().enumerate() {
        let matched = match item {
            Item::Literal(text) => match_literal(input, pos, text.as_bytes()),
            Item::Number { field, min, max } => {
                let reserved = adjacent_width(&items[index + 1..]);
                parse_digits(input, pos, *min, *max, reserved).is_some_and(|(value, _)| fields.store(*field, value))
            }
            Item::TwoDigitYear => {
                parse_digits(input, pos, 2, 2, 0).is_some_and(|(value, _)| fields.store(NumField::Year, 2000 + value))
            }
            Item::DecimalPoint => match_literal(input, pos, b".") || match_literal(input, pos, b","),
            Item::Fraction { min, max } => parse_digits(input, pos, *min, *max, 0).is_some_and(|(value, digits)| {
                fields.nanos = u32::try_from(9 - digits)
                    .ok()
                    .and_then(|exp| value.checked_mul(10u32.pow(exp)));
                fields.nanos.is_some()
            }),
            Item::MonthText { full } => {
                let names = if *full { &MONTHS_FULL } else { &MONTHS_SHORT };
                match_name(input, pos, names).is_some_and(|index| fields.store(NumField::Month, index + 1))
            }
            Item::WeekdayText { full } => {
                let names = if *full { &WEEKDAYS_FULL } else { &WEEKDAYS_SHORT };
                match_name(input, pos, names).is_some()
            }
            Item::AmPm => match_name(input, pos, &["AM", "PM"])
                .map(|index| fields.pm = Some(index == 1))
                .is_some(),
            Item::Offset(_) => parse_offset(input, *pos)
                .map(|(offset, end)| {
                    fields.offset = Some(offset);
                    *pos = end;
                })
                .is_some(),
            Item::Optional(inner) => {
                let (saved_pos, saved_fields) = (*pos, *fields);
                if !parse_items(inner, input, pos, fields) {
                    (*pos, *fields) = (saved_pos, saved_fields);
                }
                true
            }
        };
        if !matched {
            return false;
        }
    }
    true
}

/// Returns the digits that fixed-width numbers right after a number need, so that
/// `yyyyMMdd` leaves 4 digits to `MMdd` (Java's "adjacent value parsing").
fn adjacent_width(rest: &[Item]) -> usize {
    let mut width = 0;
    for item in rest {
        match item {
            Item::Number { min, max, .. } | Item::Fraction { min, max } => {
                width += min;
                if min != max {
                    break;
                }
            }
            Item::TwoDigitYear => width += 2,
            _ => break,
        }
    }
    width
}

/// Consumes `min` to `max` ASCII digits, leaving `reserved` digits for what follows;
/// returns the value and the digit count.
fn parse_digits(input: &[u8], pos: &mut usize, min: usize, max: usize, reserved: usize) -> Option<(u32, usize)> {
    let rest = input.get(*pos..)?;
    let available = rest
        .iter()
        .take(max + reserved)
        .take_while(|b| b.is_ascii_digit())
        .count();
    let count = available.saturating_sub(reserved).min(max).min(9);
    if count < min || count == 0 {
        return None;
    }
    let value = rest[..count].iter().fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0'));
    *pos += count;
    Some((value, count))
}

/// Consumes `literal` when the input continues with it.
fn match_literal(input: &[u8], pos: &mut usize, literal: &[u8]) -> bool {
    let matched = input.get(*pos..).is_some_and(|rest| rest.starts_with(literal));
    if matched {
        *pos += literal.len();
    }
    matched
}

/// Matches one of `names` case-insensitively, returning its index.
fn match_name(input: &[u8], pos: &mut usize, names: &[&str]) -> Option<u32> {
    let rest = input.get(*pos..)?;
    let (index, name) = names.iter().enumerate().find(|(_, name)| {
        rest.get(..name.len())
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case(name.as_bytes()))
    })?;
    *pos += name.len();
    u32::try_from(index).ok()
}

/// Parses an offset at `pos` (`Z`, `UTC`, `GMT`, optionally followed by a signed
/// offset), returning its seconds and the end position.
fn parse_offset(input: &[u8], pos: usize) -> Option<(i32, usize)> {
    let rest = input.get(pos..)?;
    if rest.first() == Some(&b'Z') {
        return Some((0, pos + 1));
    }
    if rest.starts_with(b"UTC") || rest.starts_with(b"GMT") {
        return parse_signed_offset(input, pos + 3).or(Some((0, pos + 3)));
    }
    parse_signed_offset(input, pos)
}

/// Parses `+h`, `+hh`, `+hhmm`, `+hh:mm`, `+hhmmss` or `+hh:mm:ss` at `pos` (up to
/// ±18:00, as Java), returning its seconds and the end position.
pub(super) fn parse_signed_offset(input: &[u8], pos: usize) -> Option<(i32, usize)> {
    let sign = match input.get(pos)? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let mut end = pos + 1;
    let (hours, hour_digits) = parse_digits(input, &mut end, 1, 2, 0)?;
    let colon = input.get(end) == Some(&b':');
    // Reads `mm` or `:mm` (the separator style of the minutes holds for the seconds too).
    let next_pair = |end: &mut usize| {
        if colon && input.get(*end) != Some(&b':') {
            return None;
        }
        let mut at = *end + usize::from(colon);
        let (value, _) = parse_digits(input, &mut at, 2, 2, 0)?;
        *end = at;
        Some(value)
    };
    // Like Java, a one-digit hour (`+1`) takes no minutes.
    let minutes = if hour_digits == 2 { next_pair(&mut end) } else { None };
    let seconds = minutes.and_then(|_| next_pair(&mut end));
    let (minutes, seconds) = (minutes.unwrap_or(0), seconds.unwrap_or(0));
    let total = i32::try_from(hours * 3600 + minutes * 60 + seconds).ok()?;
    (hours <= 18 && minutes <= 59 && seconds <= 59 && total <= MAX_OFFSET_SECONDS).then_some((sign * total, end))
}

/// Parses `epoch_millis` (`scale` 1) or `epoch_second` (`scale` 1000): an optional `-`,
/// up to 19 digits and an optional fraction, which is truncated to millis.
fn parse_epoch(value: &str, scale: i64, rounding: Rounding) -> Option<i64> {
    let (negative, unsigned) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    let (integer, fraction) = match unsigned.split_once('.') {
        Some((integer, fraction)) => (integer, Some(fraction)),
        None => (unsigned, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(integer) || integer.len() > 19 || fraction.is_some_and(|f| !all_digits(f) || f.len() > 9) {
        return None;
    }
    let fraction_millis = match (scale, fraction) {
        (1000, Some(fraction)) => format!("{fraction:0<3}").get(..3)?.parse::<i64>().ok()?,
        _ => 0,
    };
    let magnitude = integer
        .parse::<i64>()
        .ok()?
        .checked_mul(scale)?
        .checked_add(fraction_millis)?;
    let mut millis = if negative { -magnitude } else { magnitude };
    // ES quirk: rounding up `epoch_second` without a fraction means its last millisecond.
    if scale == 1000 && fraction.is_none() && rounding == Rounding::Ceil {
        millis = millis.checked_add(999)?;
    }
    DateTime::from_timestamp_millis(millis).map(|_| millis)
}

/// Returns epoch seconds with the millis as a fraction without trailing zeros: `1.5`, `2`.
fn format_epoch_second(millis: i64) -> String {
    let sign = if millis < 0 { "-" } else { "" };
    let magnitude = millis.unsigned_abs();
    let (seconds, rest) = (magnitude / 1000, magnitude % 1000);
    if rest == 0 {
        return format!("{sign}{seconds}");
    }
    let fraction = format!("{rest:03}");
    format!("{sign}{seconds}.{}", fraction.trim_end_matches('0'))
}

/// Prints `items` for local date-time `dt` in a zone of `offset` seconds.
fn print_items(items: &[Item], dt: &NaiveDateTime, offset: i32, out: &mut String) {
    for item in items {
        match item {
            Item::Literal(text) => out.push_str(text),
            Item::Number { field, min, .. } => out.push_str(&format!("{:0min$}", field_value(*field, dt))),
            Item::TwoDigitYear => out.push_str(&format!("{:02}", dt.year().rem_euclid(100))),
            Item::DecimalPoint => out.push('.'),
            Item::Fraction { min, max } => {
                // `SSS` prints exactly 3 digits; built-in ranges print at least millis.
                let digits = (*min).max(3).min(*max);
                let nanos = format!("{:09}", dt.nanosecond() % 1_000_000_000);
                out.push_str(nanos.get(..digits).unwrap_or(&nanos));
            }
            Item::MonthText { full } => {
                let names = if *full { &MONTHS_FULL } else { &MONTHS_SHORT };
                out.push_str(names.get(dt.month0() as usize).copied().unwrap_or_default());
            }
            Item::WeekdayText { full } => {
                let names = if *full { &WEEKDAYS_FULL } else { &WEEKDAYS_SHORT };
                let index = dt.weekday().num_days_from_monday() as usize;
                out.push_str(names.get(index).copied().unwrap_or_default());
            }
            Item::AmPm => out.push_str(if dt.hour() < 12 { "AM" } else { "PM" }),
            Item::Offset(style) => print_offset(*style, offset, out),
            Item::Optional(inner) => print_items(inner, dt, offset, out),
        }
    }
}

/// Returns the printed value of a numeric field.
fn field_value(field: NumField, dt: &NaiveDateTime) -> i64 {
    let hour = dt.hour();
    let value = match field {
        NumField::Year => return i64::from(dt.year()),
        NumField::Month => dt.month(),
        NumField::Day => dt.day(),
        NumField::Hour => hour,
        NumField::ClockHourOfAmPm => (hour + 11) % 12 + 1,
        NumField::HourOfAmPm => hour % 12,
        NumField::ClockHourOfDay => (hour + 23) % 24 + 1,
        NumField::Minute => dt.minute(),
        NumField::Second => dt.second(),
    };
    i64::from(value)
}

/// Prints an offset of `offset` seconds in the style of its pattern letters.
fn print_offset(style: OffsetStyle, offset: i32, out: &mut String) {
    if style.gmt {
        out.push_str("GMT");
        if offset == 0 {
            return;
        }
    } else if offset == 0 && style.zulu {
        out.push('Z');
        return;
    }
    let sign = if offset < 0 { '-' } else { '+' };
    let magnitude = offset.unsigned_abs();
    let (hours, minutes) = (magnitude / 3600, magnitude / 60 % 60);
    out.push_str(&format!("{sign}{hours:02}"));
    if !(style.minutes_optional && minutes == 0) {
        out.push_str(if style.colon { ":" } else { "" });
        out.push_str(&format!("{minutes:02}"));
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::ms;
    use super::super::{DateFormat, Rounding};
    use chrono::FixedOffset;

    fn parse(spec: &str, value: &str) -> i64 {
        DateFormat::parse(spec)
            .unwrap()
            .parse_millis(value)
            .unwrap_or_else(|e| panic!("{spec} {value}: {e}"))
    }

    fn parse_ceil(spec: &str, value: &str) -> i64 {
        DateFormat::parse(spec)
            .unwrap()
            .parse_millis_with(value, Rounding::Ceil, None)
            .unwrap()
    }

    fn fails(spec: &str, value: &str) -> bool {
        DateFormat::parse(spec).unwrap().parse_millis(value).is_err()
    }

    fn print(spec: &str, millis: i64) -> String {
        DateFormat::parse(spec).unwrap().format_millis(millis)
    }

    const T: &str = "2024-01-05T10:30:15.123Z";

    #[test]
    fn strict_date_optional_time_accepts_every_prefix() {
        let f = "strict_date_optional_time";
        assert_eq!(parse(f, "2024"), ms("2024-01-01T00:00:00Z"));
        assert_eq!(parse(f, "2024-01"), ms("2024-01-01T00:00:00Z"));
        assert_eq!(parse(f, "2024-01-05"), ms("2024-01-05T00:00:00Z"));
        assert_eq!(parse(f, "2024-01-05T10"), ms("2024-01-05T10:00:00Z"));
        assert_eq!(parse(f, "2024-01-05T10:30"), ms("2024-01-05T10:30:00Z"));
        assert_eq!(parse(f, "2024-01-05T10:30:15"), ms("2024-01-05T10:30:15Z"));
        assert_eq!(parse(f, "2024-01-05T10:30:15.1"), ms("2024-01-05T10:30:15.100Z"));
        assert_eq!(parse(f, "2024-01-05T10:30:15.123"), ms(T));
        assert_eq!(parse(f, "2024-01-05T10:30:15.123456789"), ms(T));
        assert_eq!(parse(f, "2024-01-05T10:30:15,123"), ms(T));
    }

    #[test]
    fn strict_date_optional_time_accepts_offsets() {
        let f = "strict_date_optional_time";
        assert_eq!(parse(f, "2024-01-05T10:30:15.123Z"), ms(T));
        assert_eq!(parse(f, "2024-01-05T11:30:15.123+01:00"), ms(T));
        assert_eq!(parse(f, "2024-01-05T11:30:15.123+0100"), ms(T));
        assert_eq!(parse(f, "2024-01-05T11:30:15.123+01"), ms(T));
        assert_eq!(parse(f, "2024-01-05T05:30:15.123-05:00"), ms(T));
        assert_eq!(parse(f, "2024-01-05T11+01:00"), ms("2024-01-05T10:00:00Z"));
        assert_eq!(parse(f, "2024-01-05T11:30Z"), ms("2024-01-05T11:30:00Z"));
    }

    #[test]
    fn strict_date_optional_time_rejects_what_es_rejects() {
        let f = "strict_date_optional_time";
        for bad in [
            "2024-1-5",
            "24-01-05",
            "2024-01-05 10:30",
            "2024-01-05t10:30",
            "2024-01-05Z",
            "2024-02-30",
            "2024-13-01",
            "2024-01-05T24:00",
            "2024-01-05T10:60",
            "2024-01-05T10:30:60",
            "2024-01-05T10:30:15.1234567891",
            "2024-01-05T10:30:15.",
            "2024-01-05T10:30+19:00",
            "10000-01-01",
            " 2024",
            "2024 ",
            "",
        ] {
            assert!(fails(f, bad), "{bad}");
        }
    }

    #[test]
    fn date_optional_time_accepts_unpadded_fields() {
        let f = "date_optional_time";
        assert_eq!(parse(f, "2024-1-5"), ms("2024-01-05T00:00:00Z"));
        assert_eq!(parse(f, "2024-1-5T9:5:7.5Z"), ms("2024-01-05T09:05:07.500Z"));
        assert_eq!(parse(f, "2024-01-05T10:30:15.123Z"), ms(T));
        assert_eq!(print(f, ms(T)), "2024-01-05T10:30:15.123Z");
        assert!(fails(f, "2024-001-05"));
    }

    #[test]
    fn optional_time_formats_print_like_es() {
        for f in [
            "strict_date_optional_time",
            "date_optional_time",
            "strict_date_optional_time_nanos",
        ] {
            assert_eq!(print(f, ms("2024-01-05T10:30:15Z")), "2024-01-05T10:30:15.000Z", "{f}");
            assert_eq!(print(f, ms(T)), "2024-01-05T10:30:15.123Z", "{f}");
            assert_eq!(print(f, 0), "1970-01-01T00:00:00.000Z", "{f}");
            assert_eq!(print(f, -1), "1969-12-31T23:59:59.999Z", "{f}");
        }
        assert_eq!(
            parse("strict_date_optional_time_nanos", "2024-01-05T10:30:15.123999999Z"),
            ms(T)
        );
    }

    #[test]
    fn epoch_millis_parses_and_prints() {
        let f = "epoch_millis";
        assert_eq!(parse(f, "1704067200000"), 1_704_067_200_000);
        assert_eq!(parse(f, "1704067200000.5"), 1_704_067_200_000);
        assert_eq!(parse(f, "-1000"), -1000);
        assert_eq!(parse(f, "0"), 0);
        assert_eq!(print(f, 1_704_067_200_000), "1704067200000");
        assert_eq!(print(f, -5), "-5");
        for bad in [
            "",
            "-",
            "+1",
            "1.",
            ".5",
            "1e3",
            "1_000",
            "99999999999999999999",
            " 1",
            "9223372036854775807",
        ] {
            assert!(fails(f, bad), "{bad}");
        }
    }

    #[test]
    fn epoch_second_parses_and_prints() {
        let f = "epoch_second";
        assert_eq!(parse(f, "1704067200"), 1_704_067_200_000);
        assert_eq!(parse(f, "1704067200.123"), 1_704_067_200_123);
        assert_eq!(parse(f, "1704067200.5"), 1_704_067_200_500);
        assert_eq!(parse(f, "1704067200.123456"), 1_704_067_200_123);
        assert_eq!(parse(f, "-1.5"), -1500);
        assert_eq!(parse_ceil(f, "1704067200"), 1_704_067_200_999);
        assert_eq!(parse_ceil(f, "1704067200.5"), 1_704_067_200_500);
        assert_eq!(print(f, 1_704_067_200_000), "1704067200");
        assert_eq!(print(f, 1_704_067_200_500), "1704067200.5");
        assert_eq!(print(f, -1500), "-1.5");
        assert!(fails(f, "9223372036854775"));
    }

    /// Each built-in: (name, input, expected instant, printed form of that instant).
    const BUILTIN_CASES: &[(&str, &str, &str, &str)] = &[
        ("date", "2024-1-5", "2024-01-05T00:00:00Z", "2024-01-05"),
        ("strict_date", "2024-01-05", "2024-01-05T00:00:00Z", "2024-01-05"),
        ("year_month_day", "2024-1-5", "2024-01-05T00:00:00Z", "2024-01-05"),
        (
            "strict_year_month_day",
            "2024-01-05",
            "2024-01-05T00:00:00Z",
            "2024-01-05",
        ),
        ("year_month", "2024-3", "2024-03-01T00:00:00Z", "2024-03"),
        ("strict_year_month", "2024-03", "2024-03-01T00:00:00Z", "2024-03"),
        ("year", "2024", "2024-01-01T00:00:00Z", "2024"),
        ("strict_year", "2024", "2024-01-01T00:00:00Z", "2024"),
        ("date_hour", "2024-1-5T7", "2024-01-05T07:00:00Z", "2024-01-05T07"),
        (
            "strict_date_hour",
            "2024-01-05T07",
            "2024-01-05T07:00:00Z",
            "2024-01-05T07",
        ),
        (
            "date_hour_minute",
            "2024-01-05T07:08",
            "2024-01-05T07:08:00Z",
            "2024-01-05T07:08",
        ),
        (
            "strict_date_hour_minute",
            "2024-01-05T07:08",
            "2024-01-05T07:08:00Z",
            "2024-01-05T07:08",
        ),
        (
            "date_hour_minute_second",
            "2024-1-5T7:8:9",
            "2024-01-05T07:08:09Z",
            "2024-01-05T07:08:09",
        ),
        (
            "strict_date_hour_minute_second",
            "2024-01-05T07:08:09",
            "2024-01-05T07:08:09Z",
            "2024-01-05T07:08:09",
        ),
        (
            "date_hour_minute_second_millis",
            "2024-01-05T07:08:09.12",
            "2024-01-05T07:08:09.120Z",
            "2024-01-05T07:08:09.120",
        ),
        (
            "strict_date_hour_minute_second_millis",
            "2024-01-05T07:08:09.123",
            "2024-01-05T07:08:09.123Z",
            "2024-01-05T07:08:09.123",
        ),
        (
            "date_hour_minute_second_fraction",
            "2024-01-05T07:08:09.123456",
            "2024-01-05T07:08:09.123Z",
            "2024-01-05T07:08:09.123",
        ),
        (
            "strict_date_time",
            "2024-01-05T07:08:09.123+01:00",
            "2024-01-05T06:08:09.123Z",
            "2024-01-05T06:08:09.123Z",
        ),
        (
            "date_time",
            "2024-01-05T07:08:09.123Z",
            "2024-01-05T07:08:09.123Z",
            "2024-01-05T07:08:09.123Z",
        ),
        (
            "strict_date_time_no_millis",
            "2024-01-05T07:08:09Z",
            "2024-01-05T07:08:09Z",
            "2024-01-05T07:08:09Z",
        ),
        (
            "date_time_no_millis",
            "2024-01-05T07:08:09-0200",
            "2024-01-05T09:08:09Z",
            "2024-01-05T09:08:09Z",
        ),
        ("basic_date", "20240105", "2024-01-05T00:00:00Z", "20240105"),
        (
            "basic_date_time",
            "20240105T070809.123Z",
            "2024-01-05T07:08:09.123Z",
            "20240105T070809.123Z",
        ),
        (
            "basic_date_time",
            "20240105T070809.123+0100",
            "2024-01-05T06:08:09.123Z",
            "20240105T060809.123Z",
        ),
        (
            "basic_date_time_no_millis",
            "20240105T070809Z",
            "2024-01-05T07:08:09Z",
            "20240105T070809Z",
        ),
        ("basic_time", "070809.123Z", "1970-01-01T07:08:09.123Z", "070809.123Z"),
        ("basic_time_no_millis", "070809Z", "1970-01-01T07:08:09Z", "070809Z"),
        (
            "basic_t_time",
            "T070809.123Z",
            "1970-01-01T07:08:09.123Z",
            "T070809.123Z",
        ),
        ("basic_t_time_no_millis", "T070809Z", "1970-01-01T07:08:09Z", "T070809Z"),
        ("hour_minute_second", "7:8:9", "1970-01-01T07:08:09Z", "07:08:09"),
        (
            "strict_hour_minute_second",
            "07:08:09",
            "1970-01-01T07:08:09Z",
            "07:08:09",
        ),
        (
            "hour_minute_second_millis",
            "07:08:09.123",
            "1970-01-01T07:08:09.123Z",
            "07:08:09.123",
        ),
        (
            "hour_minute_second_fraction",
            "07:08:09.1",
            "1970-01-01T07:08:09.100Z",
            "07:08:09.100",
        ),
        ("hour_minute", "07:08", "1970-01-01T07:08:00Z", "07:08"),
        ("strict_hour_minute", "07:08", "1970-01-01T07:08:00Z", "07:08"),
        ("hour", "7", "1970-01-01T07:00:00Z", "07"),
        ("strict_hour", "07", "1970-01-01T07:00:00Z", "07"),
        ("time", "07:08:09.123Z", "1970-01-01T07:08:09.123Z", "07:08:09.123Z"),
        (
            "strict_time_no_millis",
            "07:08:09+01:00",
            "1970-01-01T06:08:09Z",
            "06:08:09Z",
        ),
        ("t_time", "T07:08:09.123Z", "1970-01-01T07:08:09.123Z", "T07:08:09.123Z"),
        (
            "strict_t_time_no_millis",
            "T07:08:09Z",
            "1970-01-01T07:08:09Z",
            "T07:08:09Z",
        ),
        (
            "strictDateOptionalTime",
            "2024-01-05",
            "2024-01-05T00:00:00Z",
            "2024-01-05T00:00:00.000Z",
        ),
        ("epochMillis", "1000", "1970-01-01T00:00:01Z", "1000"),
    ];

    #[test]
    fn every_builtin_parses_and_prints() {
        for &(spec, input, expected, printed) in BUILTIN_CASES {
            let millis = parse(spec, input);
            assert_eq!(millis, ms(expected), "{spec} parsing {input}");
            assert_eq!(print(spec, millis), printed, "{spec} printing");
            assert_eq!(parse(spec, printed), millis, "{spec} round trip");
        }
    }

    #[test]
    fn every_builtin_name_compiles_in_both_variants() {
        for &(name, ..) in super::BUILTINS {
            for spec in [name.to_string(), format!("strict_{name}")] {
                let format = DateFormat::parse(&spec).unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(format.spec(), spec);
                assert!(!format.format_millis(0).is_empty());
            }
        }
        for &name in super::UNSUPPORTED_BUILTINS {
            assert!(DateFormat::parse(name).is_err(), "{name}");
        }
    }

    #[test]
    fn strict_builtins_need_padding() {
        for (spec, value) in [
            ("strict_date", "2024-1-05"),
            ("strict_year_month", "2024-3"),
            ("strict_date_hour", "2024-01-05T7"),
            ("strict_hour_minute_second", "7:08:09"),
            ("strict_date_time", "2024-01-05T07:08:09.123"),
            ("basic_date", "2024015"),
        ] {
            assert!(fails(spec, value), "{spec} {value}");
        }
    }

    #[test]
    fn custom_patterns_parse_and_print() {
        let cases = [
            ("yyyy-MM-dd HH:mm:ss", "2024-01-05 10:30:15", "2024-01-05T10:30:15Z"),
            ("yyyy/MM/dd", "2024/01/05", "2024-01-05T00:00:00Z"),
            ("dd.MM.yyyy", "05.01.2024", "2024-01-05T00:00:00Z"),
            ("d/M/y", "5/1/2024", "2024-01-05T00:00:00Z"),
            (
                "uuuu-MM-dd'T'HH:mm:ss.SSSXXX",
                "2024-01-05T11:30:15.123+01:00",
                "2024-01-05T10:30:15.123Z",
            ),
            ("yyyyMMddHHmmss", "20240105103015", "2024-01-05T10:30:15Z"),
            ("yyyyMMddHHmmssSSS", "20240105103015123", "2024-01-05T10:30:15.123Z"),
            ("MMM d, yyyy", "Jan 5, 2024", "2024-01-05T00:00:00Z"),
            ("MMMM d, yyyy", "January 5, 2024", "2024-01-05T00:00:00Z"),
            (
                "EEE, dd MMM yyyy HH:mm:ss Z",
                "Fri, 05 Jan 2024 10:30:15 +0000",
                "2024-01-05T10:30:15Z",
            ),
            ("EEEE dd MMMM yyyy", "Friday 05 January 2024", "2024-01-05T00:00:00Z"),
            ("hh:mm a yyyy-MM-dd", "12:15 AM 2024-01-05", "2024-01-05T00:15:00Z"),
            ("hh:mm a yyyy-MM-dd", "12:15 PM 2024-01-05", "2024-01-05T12:15:00Z"),
            ("h:mm a yyyy-MM-dd", "1:15 PM 2024-01-05", "2024-01-05T13:15:00Z"),
            ("K:mm a yyyy-MM-dd", "0:15 PM 2024-01-05", "2024-01-05T12:15:00Z"),
            ("k:mm yyyy-MM-dd", "24:15 2024-01-05", "2024-01-05T00:15:00Z"),
            ("yy-MM-dd", "24-01-05", "2024-01-05T00:00:00Z"),
            (
                "yyyy-MM-dd'T'HH:mm:ss.SSSSSS",
                "2024-01-05T10:30:15.123456",
                "2024-01-05T10:30:15.123Z",
            ),
            (
                "yyyy-MM-dd'T'HH:mm:ss.S",
                "2024-01-05T10:30:15.1",
                "2024-01-05T10:30:15.100Z",
            ),
            (
                "yyyy-MM-dd'at'HH 'o''clock'",
                "2024-01-05at10 o'clock",
                "2024-01-05T10:00:00Z",
            ),
            ("yyyy-MM-dd[ HH:mm]", "2024-01-05 10:30", "2024-01-05T10:30:00Z"),
            ("yyyy-MM-dd[ HH:mm]", "2024-01-05", "2024-01-05T00:00:00Z"),
            ("yyyy-MM-dd HH:mmxxx", "2024-01-05 10:30-05:00", "2024-01-05T15:30:00Z"),
            (
                "yyyy-MM-dd HH:mmZZZZ",
                "2024-01-05 10:30GMT+01:00",
                "2024-01-05T09:30:00Z",
            ),
            ("yyyy-MM-dd HH:mmX", "2024-01-05 10:30Z", "2024-01-05T10:30:00Z"),
            ("yyyy.MM.dd", "2001.02.01", "2001-02-01T00:00:00Z"),
            ("yyyy-MM-dd é", "2024-01-05 é", "2024-01-05T00:00:00Z"),
        ];
        for (spec, input, expected) in cases {
            assert_eq!(parse(spec, input), ms(expected), "{spec} parsing {input}");
        }
    }

    #[test]
    fn custom_patterns_print_like_java() {
        let t = ms("2024-01-05T13:05:09.123Z");
        assert_eq!(print("yyyy-MM-dd HH:mm:ss", t), "2024-01-05 13:05:09");
        assert_eq!(print("d/M/yy h:mm a", t), "5/1/24 1:05 PM");
        assert_eq!(
            print("EEE, dd MMM yyyy HH:mm:ss Z", t),
            "Fri, 05 Jan 2024 13:05:09 +0000"
        );
        assert_eq!(print("EEEE d MMMM", t), "Friday 5 January");
        assert_eq!(print("yyyyMMddHHmmssSSS", t), "20240105130509123");
        assert_eq!(print("HH:mm:ss.S|SS|SSSSSS", t), "13:05:09.1|12|123000");
        assert_eq!(print("yyyy-MM-dd['T'HH:mm]", t), "2024-01-05T13:05");
        assert_eq!(print("'quote''s' yyyy", t), "quote's 2024");
        assert_eq!(
            print("X|XX|XXX|x|xx|xxx|Z|ZZZZ|ZZZZZ", t),
            "Z|Z|Z|+00|+0000|+00:00|+0000|GMT|Z"
        );
        assert_eq!(print("K k", ms("2024-01-05T00:00:00Z")), "0 24");
        assert_eq!(print("hh a", ms("2024-01-05T00:00:00Z")), "12 AM");
    }

    #[test]
    fn offsets_print_in_zone() {
        let format = DateFormat::parse("X|XX|XXX|x|xx|xxx|Z|ZZZZ|ZZZZZ").unwrap();
        let plus = FixedOffset::east_opt(5 * 3600 + 1800).unwrap();
        assert_eq!(
            format.format_millis_in_zone(0, plus),
            "+0530|+0530|+05:30|+0530|+0530|+05:30|+0530|GMT+05:30|+05:30"
        );
        let minus = FixedOffset::east_opt(-3600).unwrap();
        assert_eq!(
            format.format_millis_in_zone(0, minus),
            "-01|-0100|-01:00|-01|-0100|-01:00|-0100|GMT-01:00|-01:00"
        );
    }

    #[test]
    fn custom_patterns_reject_bad_values() {
        for (spec, value) in [
            ("yyyy-MM-dd", "2024-1-05"),
            ("yyyy-MM-dd", "2024-01-05x"),
            ("yyyy-MM-dd", "2023-02-29"),
            ("yyyy-MM-dd HH:mm", "2024-01-05 24:00"),
            ("hh:mm a", "13:00 PM"),
            ("hh:mm a", "00:00 AM"),
            ("MMM yyyy", "Foo 2024"),
            ("yyyy-MM-dd'T'HH:mm:ss.SSS", "2024-01-05T10:30:15.12"),
            ("yyyy", "123"),
        ] {
            assert!(fails(spec, value), "{spec} {value}");
        }
        assert_eq!(parse("yyyy-MM-dd", "2024-02-29"), ms("2024-02-29T00:00:00Z"));
        assert_eq!(parse("MMM yyyy", "jan 2024"), ms("2024-01-01T00:00:00Z"));
    }

    #[test]
    fn pattern_errors_mirror_java() {
        let detail = |spec: &str| match DateFormat::parse(spec).unwrap_err() {
            super::super::DateError::InvalidFormat { detail, .. } => detail,
            other => panic!("{other:?}"),
        };
        assert_eq!(detail("foo"), "Unknown pattern letter: f");
        assert_eq!(
            detail("yyyy-MM-dd'T"),
            "Pattern ends with an incomplete string literal: yyyy-MM-dd'T"
        );
        assert_eq!(detail("yyyy]"), "Pattern invalid as it contains ] without previous [");
        assert_eq!(detail("yyyy#"), "Pattern includes reserved character: '#'");
        assert_eq!(detail("ddd"), "Too many pattern letters: d");
        assert_eq!(detail("SSSSSSSSSS"), "Too many pattern letters: S");
        assert_eq!(detail("aa"), "Too many pattern letters: a");
        assert_eq!(detail("XXXXXX"), "Too many pattern letters: X");
        assert_eq!(detail("yyyy-DDD"), "Unsupported pattern letter: D");
        assert_eq!(detail("yyyy zzz"), "Unsupported pattern letter: z");
        assert_eq!(
            detail("strict_week_date"),
            "built-in format [strict_week_date] is not supported"
        );
        // An unclosed `[` closes at the end of the pattern, as in Java.
        assert_eq!(parse("yyyy[-MM", "2024-02"), ms("2024-02-01T00:00:00Z"));
    }

    #[test]
    fn ceil_fills_missing_time_fields_with_their_maximum() {
        // ES keeps month and day at 01 ("Missing date components" in the range query docs).
        let f = "strict_date_optional_time";
        assert_eq!(parse_ceil(f, "2024"), ms("2024-01-01T23:59:59.999Z"));
        assert_eq!(parse_ceil(f, "2024-01"), ms("2024-01-01T23:59:59.999Z"));
        assert_eq!(parse_ceil(f, "2024-01-05"), ms("2024-01-05T23:59:59.999Z"));
        assert_eq!(parse_ceil(f, "2024-01-05T10"), ms("2024-01-05T10:59:59.999Z"));
        assert_eq!(parse_ceil(f, "2024-01-05T10:30"), ms("2024-01-05T10:30:59.999Z"));
        assert_eq!(parse_ceil(f, "2024-01-05T10:30:15"), ms("2024-01-05T10:30:15.999Z"));
        assert_eq!(parse_ceil(f, "2024-01-05T10:30:15.1"), ms("2024-01-05T10:30:15.100Z"));
        assert_eq!(parse_ceil("yyyy-MM", "2099-12"), ms("2099-12-01T23:59:59.999Z"));
        assert_eq!(parse_ceil("dd/MM/yyyy", "31/12/2022"), ms("2022-12-31T23:59:59.999Z"));
        assert_eq!(
            parse_ceil("date_optional_time", "2024-1-5"),
            ms("2024-01-05T23:59:59.999Z")
        );
        assert_eq!(parse_ceil("epoch_millis", "1000"), 1000);
    }

    #[test]
    fn years_zero_to_9999_are_supported() {
        let f = "strict_date_optional_time";
        assert_eq!(parse(f, "0000-01-01"), ms("0000-01-01T00:00:00Z"));
        assert_eq!(parse(f, "9999-12-31T23:59:59.999Z"), ms("9999-12-31T23:59:59.999Z"));
        assert_eq!(print(f, ms("0000-01-01T00:00:00Z")), "0000-01-01T00:00:00.000Z");
        assert_eq!(print(f, ms("9999-12-31T23:59:59.999Z")), "9999-12-31T23:59:59.999Z");
        assert!(fails("date_optional_time", "10000-01-01"));
        assert!(fails("yyyyy-MM-dd", "10000-01-01"));
        // Instants beyond the calendar print as plain millis instead of panicking.
        assert_eq!(print(f, i64::MAX), i64::MAX.to_string());
    }
}
