//! Durations as people write them, for timeouts (`--timeout`, `timeout =`) and ages
//! (`log --since`): plain seconds (`30`, `2.5`) or numbers with units (`90s`, `5m`, `1h 30m`,
//! `2d`, through humantime). Negative, NaN, infinite and absurdly large values are refused with
//! a message naming the accepted forms, never turned into a panic or a silent "no limit".

use serde::de::{self, Deserializer, Visitor};
use std::time::Duration;
use thiserror::Error;

/// The longest duration accepted (100 years): far beyond any real timeout, far below the point
/// where adding it to the current time could overflow.
pub const MAX: Duration = Duration::from_secs(100 * 365 * 86_400);

/// What the accepted forms are, for every message.
pub const EXPECTED: &str =
    "expected seconds (e.g. 30, 2.5) or a number with a unit (e.g. 90s, 5m, 2h, 1d)";

/// A duration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{problem}: {EXPECTED}")]
pub struct DurationError {
    /// What is wrong with the value, naming it.
    pub problem: String,
}

impl DurationError {
    fn new(problem: impl Into<String>) -> DurationError {
        DurationError {
            problem: problem.into(),
        }
    }
}

/// Parses `30`, `2.5`, `90s`, `5m`, `1h 30m`, `2d` (surrounding blanks ignored).
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(DurationError::new("the value is empty"));
    }
    // Plain numbers (and what f64 would take for one: `inf`, `NaN`, `-1`) are seconds.
    if let Ok(secs) = s.parse::<f64>() {
        return from_secs_f64(secs);
    }
    if s.starts_with('-') {
        return Err(DurationError::new(format!("`{s}` is negative")));
    }
    match humantime::parse_duration(s) {
        Ok(d) if d > MAX => Err(too_large(s)),
        Ok(d) => Ok(d),
        Err(humantime::DurationError::NumberOverflow) => Err(too_large(s)),
        Err(_) => Err(DurationError::new(format!("`{s}` is not a duration"))),
    }
}

/// `secs` seconds, refusing negative, NaN, infinite and over-`MAX` values.
pub fn from_secs_f64(secs: f64) -> Result<Duration, DurationError> {
    if secs.is_nan() {
        return Err(DurationError::new("NaN is not a number of seconds"));
    }
    if secs < 0.0 {
        return Err(DurationError::new(format!("`{secs}` is negative")));
    }
    if secs > MAX.as_secs_f64() {
        return Err(too_large(&secs.to_string()));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn too_large(s: &str) -> DurationError {
    DurationError::new(format!("`{s}` is too large (the limit is 100 years)"))
}

/// Deserializes the setting `name`, written as a TOML number of seconds or a string like
/// `"5m"`; an error names the setting.
pub fn deserialize_named<'de, D: Deserializer<'de>>(
    d: D,
    name: &str,
) -> Result<Duration, D::Error> {
    struct V<'a>(&'a str);
    impl V<'_> {
        fn check<E: de::Error>(&self, r: Result<Duration, DurationError>) -> Result<Duration, E> {
            r.map_err(|e| E::custom(format!("{}: {e}", self.0)))
        }
    }
    impl Visitor<'_> for V<'_> {
        type Value = Duration;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{}: {EXPECTED}", self.0)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
            self.check(from_secs_f64(v as f64))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
            self.check(from_secs_f64(v as f64))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
            self.check(from_secs_f64(v))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
            self.check(parse(v))
        }
    }
    d.deserialize_any(V(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_units_parse() {
        assert_eq!(parse("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("2.5"), Ok(Duration::from_millis(2500)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse(" 2d "), Ok(Duration::from_secs(172_800)));
    }

    #[test]
    fn negative_nan_infinite_huge_and_garbage_are_refused() {
        for bad in [
            "-1",
            "-5m",
            "NaN",
            "nan",
            "inf",
            "-inf",
            "1e20",
            "abc",
            "",
            "5y5",
            "1000000000000d",
        ] {
            let e = parse(bad).expect_err(bad);
            assert!(e.to_string().contains("expected seconds"), "{bad}: {e}");
        }
        assert!(from_secs_f64(f64::NAN).is_err());
        assert!(from_secs_f64(-0.5).is_err());
        assert!(from_secs_f64(1e20).is_err());
        assert_eq!(from_secs_f64(MAX.as_secs_f64()), Ok(MAX));
    }
}
