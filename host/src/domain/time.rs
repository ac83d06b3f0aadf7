//! Time as milliseconds since the Unix epoch: one integer in the database,
//! in the plugin contract and in arithmetic; RFC 3339 only at the API edge.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A point in time, in milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Millis(pub i64);

impl Millis {
    /// The current wall-clock time.
    pub fn now() -> Self {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Self(i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
    }

    /// The time as RFC 3339 text with millisecond precision.
    pub fn to_rfc3339(self) -> String {
        let millis = u64::try_from(self.0).unwrap_or(0);
        let time = UNIX_EPOCH + Duration::from_millis(millis);
        humantime::format_rfc3339_millis(time).to_string()
    }

    /// Milliseconds from `self` until `later` (zero if `later` is earlier).
    pub fn until(self, later: Millis) -> i64 {
        (later.0 - self.0).max(0)
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
    fn formats_as_rfc3339() {
        assert_eq!(Millis(1_500).to_rfc3339(), "1970-01-01T00:00:01.500Z");
    }
}
