//! Elasticsearch date handling: `format` mapping parameters, date parsing and
//! printing, date math (`now-1d/d`, `2024-01-01||+1M`) and `time_zone` offsets.
//!
//! The behaviour mirrors Elasticsearch 8, see
//! <https://www.elastic.co/guide/en/elasticsearch/reference/current/mapping-date-format.html>
//! and <https://www.elastic.co/guide/en/elasticsearch/reference/current/common-options.html#date-math>.
//!
//! All values are epoch milliseconds in UTC; sub-millisecond fractions are truncated.

mod format;
mod math;

use chrono::{FixedOffset, Offset, Utc};

use format::Format;
pub use math::{eval_date_math, eval_date_math_in_zone};

/// The `format` ES uses when a date field's mapping does not set one.
const DEFAULT_SPEC: &str = "strict_date_optional_time||epoch_millis";

/// Errors of date parsing, format specs, date math and time zones.
///
/// The messages mirror the wording of Elasticsearch, as they surface to users as
/// the `reason` of a 400 response.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DateError {
    /// A value that none of the formats of a spec could parse.
    #[error("failed to parse date field [{value}] with format [{format}]")]
    Parse { value: String, format: String },
    /// An empty string where date math expected a date.
    #[error("cannot parse empty date")]
    EmptyDate,
    /// A `format` element that is neither a supported built-in name nor a valid pattern.
    #[error("Invalid format: [{spec}]: {detail}")]
    InvalidFormat { spec: String, detail: String },
    /// Date math with a character other than `+`, `-` or `/` where an operator belongs.
    /// Like ES, the message quotes the math part of the expression (after `now` or `||`).
    #[error("operator not supported for date math [{0}]")]
    MathOperator(String),
    /// Rounding with a count, such as `/2d`.
    #[error("rounding `/` can only be used on single unit types [{0}]")]
    MathRounding(String),
    /// Date math ending after an operator or a number, such as `now-` or `now-1`.
    #[error("truncated date math [{0}]")]
    MathTruncated(String),
    /// Date math with an unknown unit, such as `now-1x`.
    #[error("unit [{unit}] not supported for date math [{expr}]")]
    MathUnit { unit: char, expr: String },
    /// Date math whose number or result does not fit the supported range.
    #[error("date math result is out of range [{0}]")]
    MathOutOfRange(String),
    /// A named time zone, such as `Europe/Paris`, which Iris does not support.
    #[error("unsupported time_zone [{0}]: only UTC, GMT, Z and fixed offsets such as +01:00 are supported")]
    UnsupportedTimeZone(String),
    /// A malformed or out-of-range fixed offset, such as `+25:00` or `+1:00`.
    #[error("invalid time_zone offset [{0}]: expected a fixed offset such as +01:00, -0500 or +01")]
    InvalidTimeZone(String),
}

/// Rounding direction for date math `/unit` and for dates with missing fields, as
/// ES range queries use it: `Ceil` for `gt` and `lte` bounds, `Floor` for `gte` and `lt`.
///
/// See <https://www.elastic.co/guide/en/elasticsearch/reference/current/query-dsl-range-query.html#range-query-date-math-rounding>.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// Rounds down to the first millisecond of the unit.
    Floor,
    /// Rounds up to the last millisecond of the unit.
    Ceil,
}

/// A parsed `format` mapping parameter: one or more formats separated by `||`.
#[derive(Debug, Clone, PartialEq)]
pub struct DateFormat {
    spec: String,
    formats: Vec<Format>,
}

impl Default for DateFormat {
    fn default() -> Self {
        Self::default_format()
    }
}

impl DateFormat {
    /// Returns the ES default format, `strict_date_optional_time||epoch_millis`.
    pub fn default_format() -> DateFormat {
        Self::parse(DEFAULT_SPEC).expect("the default format spec is valid, as tests check")
    }

    /// Parses a format spec such as `yyyy-MM-dd HH:mm:ss||epoch_millis`.
    ///
    /// Each `||`-separated element is a built-in name (snake or camel case) or a
    /// Java `DateTimeFormatter` pattern. Returns an error naming the first bad element.
    pub fn parse(spec: &str) -> Result<DateFormat, DateError> {
        let formats = spec
            .split("||")
            .map(|element| {
                Format::from_spec(element).map_err(|detail| DateError::InvalidFormat {
                    spec: element.to_string(),
                    detail,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(DateFormat {
            spec: spec.to_string(),
            formats,
        })
    }

    /// Parses a date string into epoch milliseconds UTC, trying each format in order.
    ///
    /// Missing fields take their minimum and a missing offset means UTC.
    pub fn parse_millis(&self, value: &str) -> Result<i64, DateError> {
        self.parse_millis_with(value, Rounding::Floor, None)
    }

    /// Parses a date string like [`DateFormat::parse_millis`], with `Ceil` rounding up
    /// missing time fields (as ES does for `gt` and `lte` bounds) and with `tz` as the
    /// offset of dates that carry none.
    pub fn parse_millis_with(
        &self,
        value: &str,
        rounding: Rounding,
        tz: Option<FixedOffset>,
    ) -> Result<i64, DateError> {
        self.formats
            .iter()
            .find_map(|format| format.parse_value(value, rounding, tz))
            .ok_or_else(|| DateError::Parse {
                value: value.to_string(),
                format: self.spec.clone(),
            })
    }

    /// Formats epoch millis in UTC with the first format of the spec, as ES does for
    /// `key_as_string`, `fields` and sort values.
    pub fn format_millis(&self, millis: i64) -> String {
        self.format_millis_in_zone(millis, Utc.fix())
    }

    /// Formats epoch millis in the given zone with the first format of the spec
    /// (ES `time_zone` of date histograms). Returns the plain number for instants
    /// outside the calendar range.
    pub fn format_millis_in_zone(&self, millis: i64, tz: FixedOffset) -> String {
        match self.formats.first() {
            Some(format) => format.format(millis, tz),
            None => millis.to_string(),
        }
    }

    /// Returns the original spec string.
    pub fn spec(&self) -> &str {
        &self.spec
    }
}

/// Parses a `time_zone` parameter into a fixed offset.
///
/// Accepts `Z`, `UTC`, `GMT`, `UT`, `Etc/UTC`, `Etc/GMT`, offsets as Java's
/// `ZoneOffset.of` does (`+1`, `+01`, `+0100`, `+01:00`, `+01:00:00`) and offsets
/// prefixed with `UTC`, `GMT` or `UT` (`UTC+01:00`). Named zones such as
/// `Europe/Paris`, which ES accepts, are an error: Iris has no tz database.
pub fn parse_time_zone(tz: &str) -> Result<FixedOffset, DateError> {
    if matches!(
        tz,
        "Z" | "UTC" | "GMT" | "UT" | "Etc/UTC" | "Etc/GMT" | "Etc/UCT" | "UCT"
    ) {
        return Ok(Utc.fix());
    }
    let offset = ["UTC", "GMT", "UT"]
        .iter()
        .find_map(|prefix| tz.strip_prefix(prefix))
        .filter(|rest| rest.starts_with(['+', '-']))
        .unwrap_or(tz);
    if !offset.starts_with(['+', '-']) {
        return Err(DateError::UnsupportedTimeZone(tz.to_string()));
    }
    format::parse_signed_offset(offset.as_bytes(), 0)
        .filter(|&(_, end)| end == offset.len())
        .and_then(|(seconds, _)| FixedOffset::east_opt(seconds))
        .ok_or_else(|| DateError::InvalidTimeZone(tz.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Returns the epoch millis of an RFC 3339 timestamp.
    pub(super) fn ms(rfc3339: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .timestamp_millis()
    }

    fn offset(seconds: i32) -> FixedOffset {
        FixedOffset::east_opt(seconds).unwrap()
    }

    #[test]
    fn default_format_is_es_default() {
        let format = DateFormat::default_format();
        assert_eq!(format.spec(), "strict_date_optional_time||epoch_millis");
        assert_eq!(format, DateFormat::default());
        assert_eq!(format.parse_millis("2024-01-05").unwrap(), ms("2024-01-05T00:00:00Z"));
        assert_eq!(format.parse_millis("1704067200000").unwrap(), 1_704_067_200_000);
        assert_eq!(format.format_millis(1_704_449_415_000), "2024-01-05T10:10:15.000Z");
    }

    #[test]
    fn four_digit_number_is_a_year_with_the_default_format() {
        // ES quirk: `strict_date_optional_time` comes first, so "2024" is a year.
        let format = DateFormat::default_format();
        assert_eq!(format.parse_millis("2024").unwrap(), ms("2024-01-01T00:00:00Z"));
        assert_eq!(format.parse_millis("20240").unwrap(), 20_240);
    }

    #[test]
    fn parse_error_mirrors_es_message() {
        let err = DateFormat::default_format().parse_millis("not a date").unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to parse date field [not a date] with format [strict_date_optional_time||epoch_millis]"
        );
        let err = DateFormat::default_format().parse_millis("").unwrap_err();
        assert!(matches!(err, DateError::Parse { .. }));
    }

    #[test]
    fn invalid_format_mirrors_es_message() {
        let err = DateFormat::parse("foo").unwrap_err();
        assert_eq!(err.to_string(), "Invalid format: [foo]: Unknown pattern letter: f");
        let err = DateFormat::parse("epoch_millis||bar").unwrap_err();
        assert_eq!(err.to_string(), "Invalid format: [bar]: Unknown pattern letter: b");
        let err = DateFormat::parse("").unwrap_err();
        assert_eq!(err.to_string(), "Invalid format: []: No date pattern provided");
        let err = DateFormat::parse("week_date").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid format: [week_date]: built-in format [week_date] is not supported"
        );
    }

    #[test]
    fn multiple_formats_are_tried_in_order_and_first_one_prints() {
        let format = DateFormat::parse("yyyy/MM/dd||epoch_second||date").unwrap();
        assert_eq!(format.parse_millis("2024/03/04").unwrap(), ms("2024-03-04T00:00:00Z"));
        assert_eq!(format.parse_millis("1704067200").unwrap(), 1_704_067_200_000);
        assert_eq!(format.parse_millis("2024-3-4").unwrap(), ms("2024-03-04T00:00:00Z"));
        assert_eq!(format.format_millis(ms("2024-03-04T05:00:00Z")), "2024/03/04");
    }

    #[test]
    fn parse_with_zone_applies_only_to_dates_without_offset() {
        let format = DateFormat::default_format();
        let plus_one = Some(offset(3600));
        let local = format.parse_millis_with("2024-01-05T10:00:00", Rounding::Floor, plus_one);
        assert_eq!(local.unwrap(), ms("2024-01-05T09:00:00Z"));
        let explicit = format.parse_millis_with("2024-01-05T10:00:00Z", Rounding::Floor, plus_one);
        assert_eq!(explicit.unwrap(), ms("2024-01-05T10:00:00Z"));
        let epoch = format.parse_millis_with("1704067200000", Rounding::Floor, plus_one);
        assert_eq!(epoch.unwrap(), 1_704_067_200_000);
    }

    #[test]
    fn format_in_zone_prints_local_time_and_offset() {
        let format = DateFormat::default_format();
        let millis = ms("2024-01-05T23:30:00Z");
        assert_eq!(
            format.format_millis_in_zone(millis, offset(3600)),
            "2024-01-06T00:30:00.000+01:00"
        );
        assert_eq!(
            format.format_millis_in_zone(millis, offset(-5 * 3600)),
            "2024-01-05T18:30:00.000-05:00"
        );
    }

    #[test]
    fn time_zone_accepts_utc_names_and_fixed_offsets() {
        for utc in ["Z", "UTC", "GMT", "UT", "Etc/UTC", "+00:00", "-00:00", "UTC+00:00"] {
            assert_eq!(parse_time_zone(utc).unwrap(), offset(0), "{utc}");
        }
        assert_eq!(parse_time_zone("+01:00").unwrap(), offset(3600));
        assert_eq!(parse_time_zone("+0100").unwrap(), offset(3600));
        assert_eq!(parse_time_zone("+01").unwrap(), offset(3600));
        assert_eq!(parse_time_zone("+1").unwrap(), offset(3600));
        assert_eq!(parse_time_zone("-05:00").unwrap(), offset(-5 * 3600));
        assert_eq!(parse_time_zone("+05:30").unwrap(), offset(5 * 3600 + 1800));
        assert_eq!(parse_time_zone("GMT-03:00").unwrap(), offset(-3 * 3600));
        assert_eq!(parse_time_zone("UTC+01:00").unwrap(), offset(3600));
        assert_eq!(parse_time_zone("+18:00").unwrap(), offset(18 * 3600));
        assert_eq!(parse_time_zone("+01:00:30").unwrap(), offset(3630));
    }

    #[test]
    fn time_zone_rejects_named_zones_and_bad_offsets() {
        let err = parse_time_zone("Europe/Paris").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unsupported time_zone [Europe/Paris]: only UTC, GMT, Z and fixed offsets such as +01:00 are supported"
        );
        for bad in [
            "+25:00", "+18:01", "+1:00", "+01:60", "+", "-", "+01:", "+01:0", "+012", "+01x",
        ] {
            let err = parse_time_zone(bad).unwrap_err();
            assert_eq!(err, DateError::InvalidTimeZone(bad.to_string()), "{bad}");
        }
        for bad in ["", "utc", "local", "America/New_York", "CET"] {
            assert!(
                matches!(parse_time_zone(bad), Err(DateError::UnsupportedTimeZone(_))),
                "{bad}"
            );
        }
    }

    /// Odd inputs thrown at every public function: none may panic.
    const ODD_INPUTS: &[&str] = &[
        "",
        " ",
        "now",
        "now-",
        "now+",
        "now/",
        "now/2d",
        "now-1x",
        "now+1",
        "now||",
        "nowx",
        "||",
        "||+1d",
        "2024||",
        "2024-01-01||",
        "2024-01-01||/",
        "now-999999999999999999999d",
        "now+2147483647y",
        "now-2147483647y",
        "now+9999999w",
        "now/w/w/M/y",
        "9999-12-31||+1y",
        "0000-01-01||-1d",
        "0000-01-01",
        "9999-12-31T23:59:59.999Z",
        "10000-01-01",
        "-1",
        "-",
        "+",
        ".",
        "-.5",
        "1.",
        "1e10",
        "99999999999999999999",
        "-9223372036854775808",
        "9223372036854775807",
        "2024-02-30",
        "2024-13-01",
        "2024-00-10",
        "2024-01-01T24:00",
        "2024-01-01T23:60",
        "2024-01-01T10:00:00.1234567891",
        "2024-01-01T10+99:00",
        "T",
        "Z",
        "\u{1F4A5}",
        "2024-01-01T10:00:00\u{e9}",
        "é||+1d",
        "now+1\u{e9}",
        "\0",
        "[",
        "]",
        "'",
        "''",
        "yyyy[",
        "yyyy]",
        "{",
        "#",
        "Europe/Paris",
        "+99",
        "Jan",
        "PM",
        "2024 Jan 05",
        "12:00 AM",
        "MMMMMM",
        "SSSSSSSSSS",
        "yyyyyyyyyyyyyyyyyyyy",
    ];

    /// Returns pseudo-random strings over date-ish characters (a tiny LCG, no proptest).
    fn random_inputs(count: usize) -> Vec<String> {
        let alphabet: Vec<char> = "0123456789-+:/.,TZ|nowydMHhmsSEaXxu[]' é".chars().collect();
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize
        };
        (0..count)
            .map(|_| {
                let len = next() % 24;
                (0..len).map(|_| alphabet[next() % alphabet.len()]).collect()
            })
            .collect()
    }

    #[test]
    fn no_function_panics_on_odd_input() {
        let mut specs: Vec<DateFormat> = [
            "strict_date_optional_time||epoch_millis",
            "date_optional_time",
            "epoch_second",
            "basic_date_time",
            "yyyy-MM-dd HH:mm:ss",
            "yy/M/d h:mm a",
            "EEE, dd MMM yyyy HH:mm:ss Z",
            "yyyyMMddHHmmssSSS",
            "[yyyy][MM]",
            "HH:mm",
            "MMMM d, yyyy",
            "hour_minute",
            "t_time",
            "yyyy-MM-dd'T'HH:mm:ss.SSSSSSSSSxxx",
        ]
        .iter()
        .map(|spec| DateFormat::parse(spec).unwrap())
        .collect();
        let inputs: Vec<String> = ODD_INPUTS
            .iter()
            .map(|s| s.to_string())
            .chain(random_inputs(1000))
            .collect();
        for input in &inputs {
            if let Ok(format) = DateFormat::parse(input)
                && specs.len() < 40
            {
                specs.push(format);
            }
            let _ = parse_time_zone(input);
        }
        let zones = [None, Some(offset(0)), Some(offset(18 * 3600)), Some(offset(-18 * 3600))];
        let extremes = [
            i64::MIN,
            i64::MIN + 1,
            -1,
            0,
            1,
            i64::MAX,
            253_402_300_799_999,
            -62_167_219_200_000,
        ];
        for format in &specs {
            for input in &inputs {
                for rounding in [Rounding::Floor, Rounding::Ceil] {
                    for tz in zones {
                        let _ = format.parse_millis_with(input, rounding, tz);
                        for now in [0, i64::MIN, i64::MAX] {
                            let _ = eval_date_math_in_zone(input, format, now, rounding, tz);
                        }
                    }
                }
            }
            for millis in extremes {
                let _ = format.format_millis(millis);
                for tz in zones.iter().flatten() {
                    let _ = format.format_millis_in_zone(millis, *tz);
                }
            }
        }
    }
}
