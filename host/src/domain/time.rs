//! Time as milliseconds since the Unix epoch: one integer in the database,
//! in the plugin contract and in arithmetic; RFC 3339 only at the API edge.

use std::time::{Duration, UNIX_EPOCH};

/// A point in time, in milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Millis(pub i64);

impl Millis {
    /// The time as RFC 3339 text with millisecond precision.
    pub fn to_rfc3339(self) -> String {
        let millis = u64::try_from(self.0).unwrap_or(0);
        let time = UNIX_EPOCH + Duration::from_millis(millis);
        humantime::format_rfc3339_millis(time).to_string()
    }

    /// The time `by` after this one (saturating).
    pub fn plus(self, by: Duration) -> Millis {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        Millis(self.0.saturating_add(by))
    }

    /// Milliseconds from `self` until `later` (zero if `later` is earlier).
    pub fn until(self, later: Millis) -> i64 {
        (later.0 - self.0).max(0)
    }
}

/// Parse an RFC 3339 time with an offset, e.g. `2026-11-23T09:00:00+09:00`.
pub fn parse_time(text: &str) -> Result<Millis, super::Invalid> {
    let at: jiff::Timestamp = text.trim().parse().map_err(|_| {
        super::Invalid::new("must be an RFC 3339 time with an offset, e.g. 2026-11-23T09:00:00Z")
    })?;
    Ok(Millis(at.as_millisecond()))
}

/// Parse a duration such as `30m`, `2h`, `1d 12h`; at least a second.
pub fn parse_duration_ms(text: &str) -> Result<i64, super::Invalid> {
    let duration = humantime::parse_duration(text.trim())
        .map_err(|_| super::Invalid::new("must be a duration such as \"30m\", \"2h\" or \"1d\""))?;
    if duration < Duration::from_secs(1) {
        return Err(super::Invalid::new("must be at least one second"));
    }
    i64::try_from(duration.as_millis()).map_err(|_| super::Invalid::new("is too long"))
}

/// Sent as an RFC 3339 time.
impl schemars::JsonSchema for Millis {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Time".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "format": "date-time"})
    }
}

impl serde::Serialize for Millis {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_times_with_offsets_and_durations() {
        assert_eq!(parse_time("1970-01-01T09:00:01+09:00"), Ok(Millis(1_000)));
        assert_eq!(parse_time("1970-01-01T00:00:01.5Z"), Ok(Millis(1_500)));
        assert!(parse_time("1970-01-01 00:00").is_err());
        assert_eq!(parse_duration_ms("30m"), Ok(1_800_000));
        assert_eq!(parse_duration_ms("1d 2h"), Ok(93_600_000));
        assert!(parse_duration_ms("soon").is_err());
        assert!(parse_duration_ms("10ms").is_err());
    }

    #[test]
    fn formats_as_rfc3339() {
        assert_eq!(Millis(1_500).to_rfc3339(), "1970-01-01T00:00:01.500Z");
    }
}
