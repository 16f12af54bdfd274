//! Date histogram intervals: ES calendar intervals (`1M`, `quarter`...) and fixed
//! intervals (`90m`), rounded in the local time of a fixed-offset `time_zone`, see
//! <https://www.elastic.co/guide/en/elasticsearch/reference/current/search-aggregations-bucket-datehistogram-aggregation.html>.

use chrono::{DateTime, Datelike, FixedOffset, Months, NaiveDate};

use crate::error::{Error, Result};

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;
const WEEK_MS: i64 = 7 * DAY_MS;

/// A calendar unit of `calendar_interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarUnit {
    Minute,
    Hour,
    Day,
    /// ISO weeks, starting on Monday.
    Week,
    Month,
    Quarter,
    Year,
}

/// The interval of a `date_histogram`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateInterval {
    Calendar(CalendarUnit),
    /// A fixed number of milliseconds (`fixed_interval`).
    Fixed(i64),
}

impl DateInterval {
    /// Parses `calendar_interval`: a unit name or a single unit (`month`, `1M`).
    pub fn parse_calendar(text: &str) -> Result<DateInterval> {
        let unit = match text {
            "minute" | "1m" => CalendarUnit::Minute,
            "hour" | "1h" => CalendarUnit::Hour,
            "day" | "1d" => CalendarUnit::Day,
            "week" | "1w" => CalendarUnit::Week,
            "month" | "1M" => CalendarUnit::Month,
            "quarter" | "1q" => CalendarUnit::Quarter,
            "year" | "1y" => CalendarUnit::Year,
            _ => {
                return Err(Error::illegal_argument(format!(
                    "The supplied interval [{text}] could not be parsed as a calendar interval."
                )));
            }
        };
        Ok(DateInterval::Calendar(unit))
    }

    /// Parses `fixed_interval`: a time value with unit `ms`, `s`, `m`, `h` or `d`.
    pub fn parse_fixed(text: &str) -> Result<DateInterval> {
        let Some(millis) = parse_time_value(text) else {
            return Err(Error::illegal_argument(format!(
                "failed to parse setting [date_histogram.fixedInterval] with value [{text}] as a time value: unit is missing or unrecognized"
            )));
        };
        if millis <= 0 {
            return Err(Error::illegal_argument(format!(
                "Zero or negative time interval not supported: [{text}]"
            )));
        }
        Ok(DateInterval::Fixed(millis))
    }

    /// Returns the start (UTC ms) of the bucket holding `millis`: the interval is rounded
    /// in the local time of `zone`, after shifting by `offset_ms` as ES does.
    pub fn bucket_start(&self, millis: i64, offset_ms: i64, zone: FixedOffset) -> i64 {
        let zone_ms = i64::from(zone.local_minus_utc()) * 1000;
        let local = millis.saturating_add(zone_ms).saturating_sub(offset_ms);
        let local_start = match self {
            DateInterval::Fixed(interval) => local.saturating_sub(local.rem_euclid(*interval)),
            DateInterval::Calendar(unit) => round_calendar(local, *unit),
        };
        local_start.saturating_sub(zone_ms).saturating_add(offset_ms)
    }

    /// Returns the start of the bucket that follows the one starting at `start`.
    pub fn next_start(&self, start: i64, offset_ms: i64, zone: FixedOffset) -> i64 {
        let zone_ms = i64::from(zone.local_minus_utc()) * 1000;
        let local = start.saturating_add(zone_ms).saturating_sub(offset_ms);
        let next_local = match self {
            DateInterval::Fixed(interval) => local.saturating_add(*interval),
            DateInterval::Calendar(CalendarUnit::Minute) => local.saturating_add(MINUTE_MS),
            DateInterval::Calendar(CalendarUnit::Hour) => local.saturating_add(HOUR_MS),
            DateInterval::Calendar(CalendarUnit::Day) => local.saturating_add(DAY_MS),
            DateInterval::Calendar(CalendarUnit::Week) => local.saturating_add(WEEK_MS),
            DateInterval::Calendar(CalendarUnit::Month) => add_months(local, 1),
            DateInterval::Calendar(CalendarUnit::Quarter) => add_months(local, 3),
            DateInterval::Calendar(CalendarUnit::Year) => add_months(local, 12),
        };
        next_local.saturating_sub(zone_ms).saturating_add(offset_ms)
    }
}

/// Rounds local epoch millis down to the start of `unit`.
fn round_calendar(local: i64, unit: CalendarUnit) -> i64 {
    match unit {
        CalendarUnit::Minute => local.saturating_sub(local.rem_euclid(MINUTE_MS)),
        CalendarUnit::Hour => local.saturating_sub(local.rem_euclid(HOUR_MS)),
        CalendarUnit::Day => local.saturating_sub(local.rem_euclid(DAY_MS)),
        CalendarUnit::Week => {
            // 1970-01-01 was a Thursday: three days after a Monday.
            let day = local.div_euclid(DAY_MS);
            (day - (day + 3).rem_euclid(7)).saturating_mul(DAY_MS)
        }
        CalendarUnit::Month | CalendarUnit::Quarter | CalendarUnit::Year => {
            let Some(date) = DateTime::from_timestamp_millis(local).map(|instant| instant.date_naive()) else {
                return local;
            };
            let month = match unit {
                CalendarUnit::Month => date.month(),
                CalendarUnit::Quarter => (date.month() - 1) / 3 * 3 + 1,
                _ => 1,
            };
            NaiveDate::from_ymd_opt(date.year(), month, 1)
                .and_then(|first| first.and_hms_opt(0, 0, 0))
                .map_or(local, |first| first.and_utc().timestamp_millis())
        }
    }
}

/// Adds calendar months to local epoch millis (saturating outside chrono's range).
fn add_months(local: i64, months: u32) -> i64 {
    DateTime::from_timestamp_millis(local)
        .and_then(|instant| instant.checked_add_months(Months::new(months)))
        .map_or(i64::MAX, |instant| instant.timestamp_millis())
}

/// Parses an ES time value with unit `ms`, `s`, `m`, `h` or `d` into milliseconds.
fn parse_time_value(text: &str) -> Option<i64> {
    let split = text.find(|character: char| !character.is_ascii_digit())?;
    let (digits, unit) = text.split_at(split);
    let amount: i64 = digits.parse().ok()?;
    let unit_ms = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => MINUTE_MS,
        "h" => HOUR_MS,
        "d" => DAY_MS,
        _ => return None,
    };
    amount.checked_mul(unit_ms)
}

/// Parses a date histogram `offset` such as `+6h` or `-1d` into milliseconds.
pub fn parse_time_offset(text: &str) -> Result<i64> {
    let (sign, magnitude) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text.strip_prefix('+').unwrap_or(text)),
    };
    parse_time_value(magnitude).map(|millis| sign * millis).ok_or_else(|| {
        Error::illegal_argument(format!(
            "failed to parse setting [date_histogram.offset] with value [{text}] as a time value: unit is missing or unrecognized"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(rfc3339: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .timestamp_millis()
    }

    fn utc() -> FixedOffset {
        FixedOffset::east_opt(0).unwrap()
    }

    #[test]
    fn calendar_intervals_round_to_unit_starts() {
        let instant = ms("2024-05-15T13:47:12.345Z");
        let cases = [
            ("1m", "2024-05-15T13:47:00Z"),
            ("hour", "2024-05-15T13:00:00Z"),
            ("1d", "2024-05-15T00:00:00Z"),
            ("week", "2024-05-13T00:00:00Z"),
            ("1M", "2024-05-01T00:00:00Z"),
            ("quarter", "2024-04-01T00:00:00Z"),
            ("1y", "2024-01-01T00:00:00Z"),
        ];
        for (interval, expected) in cases {
            let interval = DateInterval::parse_calendar(interval).unwrap();
            assert_eq!(interval.bucket_start(instant, 0, utc()), ms(expected), "{interval:?}");
        }
    }

    #[test]
    fn calendar_next_start_follows_month_lengths() {
        let month = DateInterval::Calendar(CalendarUnit::Month);
        assert_eq!(
            month.next_start(ms("2024-01-01T00:00:00Z"), 0, utc()),
            ms("2024-02-01T00:00:00Z")
        );
        assert_eq!(
            month.next_start(ms("2024-02-01T00:00:00Z"), 0, utc()),
            ms("2024-03-01T00:00:00Z")
        );
        let quarter = DateInterval::Calendar(CalendarUnit::Quarter);
        assert_eq!(
            quarter.next_start(ms("2024-10-01T00:00:00Z"), 0, utc()),
            ms("2025-01-01T00:00:00Z")
        );
    }

    #[test]
    fn time_zone_rounds_in_local_time() {
        let plus_two = FixedOffset::east_opt(2 * 3600).unwrap();
        let day = DateInterval::Calendar(CalendarUnit::Day);
        // 23:30 UTC is 01:30 the next day at +02:00: that local day starts at 22:00 UTC.
        assert_eq!(
            day.bucket_start(ms("2024-03-01T23:30:00Z"), 0, plus_two),
            ms("2024-03-01T22:00:00Z")
        );
        let fixed_day = DateInterval::Fixed(DAY_MS);
        assert_eq!(
            fixed_day.bucket_start(ms("2024-03-01T23:30:00Z"), 0, plus_two),
            ms("2024-03-01T22:00:00Z")
        );
    }

    #[test]
    fn offsets_shift_buckets() {
        let day = DateInterval::Calendar(CalendarUnit::Day);
        let six_hours = parse_time_offset("+6h").unwrap();
        assert_eq!(six_hours, 6 * HOUR_MS);
        assert_eq!(
            day.bucket_start(ms("2024-03-01T05:00:00Z"), six_hours, utc()),
            ms("2024-02-29T06:00:00Z")
        );
        assert_eq!(parse_time_offset("-1d").unwrap(), -DAY_MS);
        assert!(parse_time_offset("1x").is_err());
    }

    #[test]
    fn fixed_interval_parsing() {
        assert_eq!(DateInterval::parse_fixed("30s").unwrap(), DateInterval::Fixed(30_000));
        assert_eq!(DateInterval::parse_fixed("250ms").unwrap(), DateInterval::Fixed(250));
        assert_eq!(
            DateInterval::parse_fixed("2d").unwrap(),
            DateInterval::Fixed(2 * DAY_MS)
        );
        let error = DateInterval::parse_fixed("1M").unwrap_err();
        assert!(error.reason.contains("unit is missing or unrecognized"));
        let error = DateInterval::parse_calendar("2d").unwrap_err();
        assert_eq!(
            error.reason,
            "The supplied interval [2d] could not be parsed as a calendar interval."
        );
        assert!(DateInterval::parse_fixed("0s").is_err());
    }

    #[test]
    fn extremes_do_not_panic() {
        for interval in [
            DateInterval::Calendar(CalendarUnit::Year),
            DateInterval::Calendar(CalendarUnit::Week),
            DateInterval::Fixed(7),
        ] {
            for millis in [i64::MIN, i64::MAX, 0, -1] {
                let start = interval.bucket_start(millis, 0, utc());
                let _ = interval.next_start(start, 0, utc());
            }
        }
    }
}
