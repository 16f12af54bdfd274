//! Date math: `now-1d/d`, `2024-01-01||+1M/d`, as in
//! <https://www.elastic.co/guide/en/elasticsearch/reference/current/common-options.html#date-math>.
//!
//! Follows ES's `JavaDateMathParser`: operations apply left to right in the query's
//! time zone, and like ES a `/unit` rounding may appear anywhere, not only last.

use chrono::{
    DateTime, Datelike, Days, FixedOffset, Months, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta, Timelike,
    Utc,
};

use super::{DateError, DateFormat, Rounding};

/// A date math unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Year,
    Month,
    Week,
    Day,
    Hour,
    Minute,
    Second,
}

impl Unit {
    fn from_char(c: char) -> Option<Unit> {
        Some(match c {
            'y' => Unit::Year,
            'M' => Unit::Month,
            'w' => Unit::Week,
            'd' => Unit::Day,
            'h' | 'H' => Unit::Hour,
            'm' => Unit::Minute,
            's' => Unit::Second,
            _ => return None,
        })
    }
}

/// Evaluates an ES date-math expression in UTC: `now`, `now-7d/d`, `2024-01-01||+1M/d`,
/// or a plain date parsed with `format`.
///
/// `rounding` decides whether `/d` rounds down to the start of the unit (`Floor`) or up
/// to its last millisecond (`Ceil`); for a plain date, `Ceil` also fills missing time
/// fields with their maximum. ES uses `Ceil` for `gt` and `lte`, `Floor` for `gte` and `lt`.
pub fn eval_date_math(expr: &str, format: &DateFormat, now_millis: i64, rounding: Rounding) -> Result<i64, DateError> {
    eval_date_math_in_zone(expr, format, now_millis, rounding, None)
}

/// Evaluates date math like [`eval_date_math`], with `tz` (ES `time_zone`) as the zone
/// of rounding, of calendar arithmetic and of dates that carry no offset.
pub fn eval_date_math_in_zone(
    expr: &str,
    format: &DateFormat,
    now_millis: i64,
    rounding: Rounding,
    tz: Option<FixedOffset>,
) -> Result<i64, DateError> {
    let (anchor, math) = if let Some(math) = expr.strip_prefix("now") {
        (now_millis, math)
    } else if let Some((date, math)) = expr.split_once("||") {
        // ES parses the anchor of `<date>||<math>` without rounding up missing fields;
        // only the math's own `/unit` follows the rounding direction.
        (parse_date(date, format, Rounding::Floor, tz)?, math)
    } else {
        return parse_date(expr, format, rounding, tz);
    };
    apply_math(math, anchor, rounding, tz.unwrap_or(Utc.fix()))
}

/// Parses a date (or date-math anchor), rejecting an empty one with ES's message.
fn parse_date(value: &str, format: &DateFormat, rounding: Rounding, tz: Option<FixedOffset>) -> Result<i64, DateError> {
    if value.is_empty() {
        return Err(DateError::EmptyDate);
    }
    format.parse_millis_with(value, rounding, tz)
}

/// Applies the operations of `math` (the part after `now` or `||`) to `anchor`.
/// Errors quote `math`, as ES does.
fn apply_math(math: &str, anchor: i64, rounding: Rounding, tz: FixedOffset) -> Result<i64, DateError> {
    if math.is_empty() {
        return Ok(anchor);
    }
    let out_of_range = || DateError::MathOutOfRange(math.to_string());
    let mut local = to_local(anchor, tz).ok_or_else(out_of_range)?;
    let chars: Vec<char> = math.chars().collect();
    let mut i = 0;
    while let Some(&operator) = chars.get(i) {
        i += 1;
        let (round, sign) = match operator {
            '/' => (true, 1),
            '+' => (false, 1),
            '-' => (false, -1),
            _ => return Err(DateError::MathOperator(math.to_string())),
        };
        let digits = chars[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        let Some(&unit) = chars.get(i + digits) else {
            return Err(DateError::MathTruncated(math.to_string()));
        };
        let count: i64 = match digits {
            0 => 1,
            // ES reads the number as a Java int.
            _ => chars[i..i + digits]
                .iter()
                .collect::<String>()
                .parse::<i32>()
                .map_err(|_| out_of_range())?
                .into(),
        };
        i += digits + 1;
        if round && count != 1 {
            return Err(DateError::MathRounding(math.to_string()));
        }
        let unit = Unit::from_char(unit).ok_or_else(|| DateError::MathUnit {
            unit,
            expr: math.to_string(),
        })?;
        let next = if round {
            round_to(local, unit, rounding)
        } else {
            add(local, unit, sign * count)
        };
        local = next.ok_or_else(out_of_range)?;
    }
    from_local(local, tz).ok_or_else(out_of_range)
}

/// Returns the wall-clock date-time of `millis` in `tz`.
fn to_local(millis: i64, tz: FixedOffset) -> Option<NaiveDateTime> {
    let utc = DateTime::from_timestamp_millis(millis)?.naive_utc();
    utc.checked_add_signed(TimeDelta::seconds(i64::from(tz.local_minus_utc())))
}

/// Returns the epoch millis of wall-clock date-time `local` in `tz`.
fn from_local(local: NaiveDateTime, tz: FixedOffset) -> Option<i64> {
    let utc = local.checked_sub_signed(TimeDelta::seconds(i64::from(tz.local_minus_utc())))?;
    Some(utc.and_utc().timestamp_millis())
}

/// Returns `local` plus `count` units; months and years clamp to the month's last day
/// (2024-01-31 +1M is 2024-02-29), as Java's `plusMonths` does.
fn add(local: NaiveDateTime, unit: Unit, count: i64) -> Option<NaiveDateTime> {
    let delta = match unit {
        Unit::Year => return add_months(local, count.checked_mul(12)?),
        Unit::Month => return add_months(local, count),
        Unit::Week => TimeDelta::try_weeks(count)?,
        Unit::Day => TimeDelta::try_days(count)?,
        Unit::Hour => TimeDelta::try_hours(count)?,
        Unit::Minute => TimeDelta::try_minutes(count)?,
        Unit::Second => TimeDelta::try_seconds(count)?,
    };
    local.checked_add_signed(delta)
}

fn add_months(local: NaiveDateTime, count: i64) -> Option<NaiveDateTime> {
    let months = Months::new(u32::try_from(count.unsigned_abs()).ok()?);
    if count >= 0 {
        local.checked_add_months(months)
    } else {
        local.checked_sub_months(months)
    }
}

/// Returns `local` rounded to the first (`Floor`) or last (`Ceil`) millisecond of its
/// `unit`; weeks start on Monday.
fn round_to(local: NaiveDateTime, unit: Unit, rounding: Rounding) -> Option<NaiveDateTime> {
    let date = local.date();
    let start = match unit {
        Unit::Year => NaiveDate::from_ymd_opt(date.year(), 1, 1)?.and_time(NaiveTime::MIN),
        Unit::Month => date.with_day(1)?.and_time(NaiveTime::MIN),
        Unit::Week => {
            let since_monday = Days::new(u64::from(date.weekday().num_days_from_monday()));
            date.checked_sub_days(since_monday)?.and_time(NaiveTime::MIN)
        }
        Unit::Day => date.and_time(NaiveTime::MIN),
        Unit::Hour => date.and_hms_opt(local.hour(), 0, 0)?,
        Unit::Minute => date.and_hms_opt(local.hour(), local.minute(), 0)?,
        Unit::Second => date.and_hms_opt(local.hour(), local.minute(), local.second())?,
    };
    match rounding {
        Rounding::Floor => Some(start),
        Rounding::Ceil => add(start, unit, 1)?.checked_sub_signed(TimeDelta::milliseconds(1)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::ms;
    use super::*;

    /// Friday 2024-01-05T10:30:15.123Z.
    const NOW: &str = "2024-01-05T10:30:15.123Z";

    fn eval(expr: &str, rounding: Rounding) -> Result<i64, DateError> {
        eval_date_math(expr, &DateFormat::default_format(), ms(NOW), rounding)
    }

    fn floor(expr: &str) -> i64 {
        eval(expr, Rounding::Floor).unwrap_or_else(|e| panic!("{expr}: {e}"))
    }

    fn ceil(expr: &str) -> i64 {
        eval(expr, Rounding::Ceil).unwrap_or_else(|e| panic!("{expr}: {e}"))
    }

    fn zone(hours: i32) -> Option<FixedOffset> {
        FixedOffset::east_opt(hours * 3600)
    }

    #[test]
    fn now_and_es_doc_examples() {
        assert_eq!(floor("now"), ms(NOW));
        assert_eq!(ceil("now"), ms(NOW));
        assert_eq!(floor("now-1h"), ms("2024-01-05T09:30:15.123Z"));
        assert_eq!(floor("now+1h"), ms("2024-01-05T11:30:15.123Z"));
        assert_eq!(floor("now+1h+1m"), ms("2024-01-05T11:31:15.123Z"));
        assert_eq!(floor("now+1h/d"), ms("2024-01-05T00:00:00Z"));
        assert_eq!(floor("now-7d/d"), ms("2023-12-29T00:00:00Z"));
        assert_eq!(floor("now-1d+2h/h"), ms("2024-01-04T12:00:00Z"));
        let dotted = DateFormat::parse("yyyy.MM.dd").unwrap();
        let plus_month = eval_date_math("2001.02.01||+1M/d", &dotted, 0, Rounding::Floor);
        assert_eq!(plus_month.unwrap(), ms("2001-03-01T00:00:00Z"));
        let plus_month = eval_date_math("2001.02.01||+1M/d", &dotted, 0, Rounding::Ceil);
        assert_eq!(plus_month.unwrap(), ms("2001-03-01T23:59:59.999Z"));
    }

    #[test]
    fn every_unit_adds_and_subtracts() {
        assert_eq!(floor("now+1y"), ms("2025-01-05T10:30:15.123Z"));
        assert_eq!(floor("now-2M"), ms("2023-11-05T10:30:15.123Z"));
        assert_eq!(floor("now+1w"), ms("2024-01-12T10:30:15.123Z"));
        assert_eq!(floor("now-10d"), ms("2023-12-26T10:30:15.123Z"));
        assert_eq!(floor("now+25h"), ms("2024-01-06T11:30:15.123Z"));
        assert_eq!(floor("now+1H"), ms("2024-01-05T11:30:15.123Z"));
        assert_eq!(floor("now-90m"), ms("2024-01-05T09:00:15.123Z"));
        assert_eq!(floor("now+45s"), ms("2024-01-05T10:31:00.123Z"));
        assert_eq!(floor("now-d"), ms("2024-01-04T10:30:15.123Z"));
        assert_eq!(floor("now+0d"), ms(NOW));
        let format = DateFormat::default_format();
        assert_eq!(eval_date_math("now", &format, i64::MAX, Rounding::Ceil), Ok(i64::MAX));
    }

    #[test]
    fn every_unit_rounds_in_both_directions() {
        let cases = [
            ("now/y", "2024-01-01T00:00:00Z", "2024-12-31T23:59:59.999Z"),
            ("now/M", "2024-01-01T00:00:00Z", "2024-01-31T23:59:59.999Z"),
            ("now/w", "2024-01-01T00:00:00Z", "2024-01-07T23:59:59.999Z"),
            ("now/d", "2024-01-05T00:00:00Z", "2024-01-05T23:59:59.999Z"),
            ("now/h", "2024-01-05T10:00:00Z", "2024-01-05T10:59:59.999Z"),
            ("now/H", "2024-01-05T10:00:00Z", "2024-01-05T10:59:59.999Z"),
            ("now/m", "2024-01-05T10:30:00Z", "2024-01-05T10:30:59.999Z"),
            ("now/s", "2024-01-05T10:30:15Z", "2024-01-05T10:30:15.999Z"),
            ("now/1d", "2024-01-05T00:00:00Z", "2024-01-05T23:59:59.999Z"),
        ];
        for (expr, down, up) in cases {
            assert_eq!(floor(expr), ms(down), "{expr} floor");
            assert_eq!(ceil(expr), ms(up), "{expr} ceil");
        }
    }

    #[test]
    fn weeks_round_to_monday() {
        let on_monday = "2024-01-01T08:00:00Z||/w";
        assert_eq!(floor(on_monday), ms("2024-01-01T00:00:00Z"));
        let on_sunday = "2024-01-07T08:00:00Z||/w";
        assert_eq!(floor(on_sunday), ms("2024-01-01T00:00:00Z"));
        assert_eq!(ceil(on_sunday), ms("2024-01-07T23:59:59.999Z"));
        assert_eq!(floor("2024-03-01||/w"), ms("2024-02-26T00:00:00Z"));
    }

    #[test]
    fn month_arithmetic_clamps_to_month_end() {
        assert_eq!(floor("2024-01-31||+1M"), ms("2024-02-29T00:00:00Z"));
        assert_eq!(floor("2023-01-31||+1M"), ms("2023-02-28T00:00:00Z"));
        assert_eq!(floor("2024-03-31||-1M"), ms("2024-02-29T00:00:00Z"));
        assert_eq!(floor("2024-01-31||+2M"), ms("2024-03-31T00:00:00Z"));
        assert_eq!(floor("2024-02-29||+1y"), ms("2025-02-28T00:00:00Z"));
        assert_eq!(floor("2024-02-29||-4y"), ms("2020-02-29T00:00:00Z"));
        assert_eq!(ceil("2024-02-10||/M"), ms("2024-02-29T23:59:59.999Z"));
        assert_eq!(ceil("2023-02-10||/M"), ms("2023-02-28T23:59:59.999Z"));
        assert_eq!(ceil("2024-12-10||/M"), ms("2024-12-31T23:59:59.999Z"));
        assert_eq!(ceil("2024-12-31T23:00:00Z||/y"), ms("2024-12-31T23:59:59.999Z"));
    }

    #[test]
    fn rounding_may_appear_anywhere_as_in_es() {
        assert_eq!(floor("now/d+8h"), ms("2024-01-05T08:00:00Z"));
        assert_eq!(ceil("now/d+8h"), ms("2024-01-06T07:59:59.999Z"));
        assert_eq!(floor("now/M/y"), ms("2024-01-01T00:00:00Z"));
    }

    #[test]
    fn anchored_dates_are_parsed_without_rounding_up() {
        assert_eq!(ceil("2024-01-05||"), ms("2024-01-05T00:00:00Z"));
        assert_eq!(ceil("2024-01-05||+1d"), ms("2024-01-06T00:00:00Z"));
        assert_eq!(floor("1704067200000||+1d"), 1_704_067_200_000 + 86_400_000);
    }

    #[test]
    fn plain_dates_round_missing_fields_by_direction() {
        assert_eq!(floor("2024-01-05"), ms("2024-01-05T00:00:00Z"));
        assert_eq!(ceil("2024-01-05"), ms("2024-01-05T23:59:59.999Z"));
        assert_eq!(ceil("2024-01"), ms("2024-01-01T23:59:59.999Z"));
        assert_eq!(ceil("1704067200000"), 1_704_067_200_000);
        let format = DateFormat::parse("yyyy-MM-dd HH:mm").unwrap();
        assert_eq!(
            eval_date_math("2024-01-05 10:30", &format, 0, Rounding::Ceil).unwrap(),
            ms("2024-01-05T10:30:59.999Z")
        );
    }

    #[test]
    fn time_zone_shifts_rounding_and_plain_dates() {
        let format = DateFormat::default_format();
        let in_zone = |expr: &str, rounding, tz| eval_date_math_in_zone(expr, &format, ms(NOW), rounding, tz).unwrap();
        assert_eq!(in_zone("now/d", Rounding::Floor, zone(1)), ms("2024-01-04T23:00:00Z"));
        assert_eq!(
            in_zone("now/d", Rounding::Ceil, zone(1)),
            ms("2024-01-05T22:59:59.999Z")
        );
        assert_eq!(in_zone("now/d", Rounding::Floor, zone(-11)), ms("2024-01-04T11:00:00Z"));
        assert_eq!(in_zone("now", Rounding::Floor, zone(5)), ms(NOW));
        assert_eq!(
            in_zone("2024-01-05", Rounding::Floor, zone(1)),
            ms("2024-01-04T23:00:00Z")
        );
        assert_eq!(
            in_zone("2024-01-05", Rounding::Ceil, zone(-5)),
            ms("2024-01-06T04:59:59.999Z")
        );
        assert_eq!(
            in_zone("2024-01-05T10:00:00Z", Rounding::Floor, zone(1)),
            ms("2024-01-05T10:00:00Z")
        );
        assert_eq!(
            in_zone("2024-01-05||/M", Rounding::Floor, zone(1)),
            ms("2023-12-31T23:00:00Z")
        );
        assert_eq!(
            in_zone("2024-01-05T10:00:00Z||/d", Rounding::Floor, zone(-12)),
            ms("2024-01-04T12:00:00Z")
        );
        assert_eq!(
            in_zone("1704067200000||/d", Rounding::Floor, zone(2)),
            ms("2023-12-31T22:00:00Z")
        );
    }

    #[test]
    fn errors_mirror_es_wording() {
        let message = |expr: &str| eval(expr, Rounding::Floor).unwrap_err().to_string();
        assert_eq!(message("now*1d"), "operator not supported for date math [*1d]");
        assert_eq!(message("nowish"), "operator not supported for date math [ish]");
        assert_eq!(
            message("now/2d"),
            "rounding `/` can only be used on single unit types [/2d]"
        );
        assert_eq!(message("now-"), "truncated date math [-]");
        assert_eq!(message("now-1"), "truncated date math [-1]");
        assert_eq!(message("now/"), "truncated date math [/]");
        assert_eq!(message("now-1x"), "unit [x] not supported for date math [-1x]");
        assert_eq!(message("now+1é"), "unit [é] not supported for date math [+1é]");
        assert_eq!(message("2024-01-01||+1D"), "unit [D] not supported for date math [+1D]");
        assert_eq!(message(""), "cannot parse empty date");
        assert_eq!(message("||+1d"), "cannot parse empty date");
        assert_eq!(
            message("yesterday"),
            "failed to parse date field [yesterday] with format [strict_date_optional_time||epoch_millis]"
        );
        assert_eq!(
            message("2024-13-01||+1d"),
            "failed to parse date field [2024-13-01] with format [strict_date_optional_time||epoch_millis]"
        );
        assert_eq!(
            message("now+99999999999d"),
            "date math result is out of range [+99999999999d]"
        );
        assert_eq!(
            message("now+2147483647y"),
            "date math result is out of range [+2147483647y]"
        );
    }
}
