//! Weekly business hours in a time zone: when a team counts as available.

use jiff::tz::TimeZone;
use serde_json::{Value, json};

use super::{Invalid, Millis};

/// Day keys, Monday first (the ISO week).
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
/// Most opening intervals accepted on one day.
const MAX_INTERVALS: usize = 8;

/// Opening intervals per weekday, in minutes after local midnight, in a
/// named IANA time zone (so daylight saving time is followed).
#[derive(Debug, Clone)]
pub struct BusinessHours {
    zone_name: String,
    zone: TimeZone,
    /// Index 0 is Monday; each interval is `[from, to)`.
    weekly: [Vec<(u16, u16)>; 7],
}

fn minutes(text: &str) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) => Some(24 * 60),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

fn hhmm(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

impl BusinessHours {
    /// Parse `{"time_zone":"Asia/Tokyo","weekly":{"mon":[["09:00","18:00"]],...}}`.
    /// A day that is absent or empty is closed all day.
    pub fn parse(value: &Value) -> Result<Self, (String, Invalid)> {
        let bad = |path: &str, message: &str| (path.to_owned(), Invalid::new(message));
        let object = value
            .as_object()
            .ok_or_else(|| bad("", "must be an object with time_zone and weekly"))?;
        if let Some(key) = object
            .keys()
            .find(|k| !["time_zone", "weekly"].contains(&k.as_str()))
        {
            return Err(bad(key, "is not a field of business hours"));
        }
        let zone_name = object
            .get("time_zone")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("time_zone", "is required: an IANA name such as Asia/Tokyo"))?;
        let zone = TimeZone::get(zone_name).map_err(|_| {
            bad(
                "time_zone",
                "is not a known IANA time zone (e.g. Europe/Paris)",
            )
        })?;
        let days = object
            .get("weekly")
            .and_then(Value::as_object)
            .ok_or_else(|| {
                bad(
                    "weekly",
                    "is required: an object of day (mon..sun) to intervals",
                )
            })?;
        let mut weekly: [Vec<(u16, u16)>; 7] = Default::default();
        for (day, intervals) in days {
            let index = DAYS.iter().position(|d| d == day).ok_or_else(|| {
                bad(
                    &format!("weekly.{day}"),
                    "is not a day: use mon, tue, wed, thu, fri, sat, sun",
                )
            })?;
            let list = intervals.as_array().ok_or_else(|| {
                bad(
                    &format!("weekly.{day}"),
                    "must be a list of [\"HH:MM\", \"HH:MM\"] pairs",
                )
            })?;
            if list.len() > MAX_INTERVALS {
                return Err(bad(&format!("weekly.{day}"), "at most 8 intervals a day"));
            }
            for (i, pair) in list.iter().enumerate() {
                let path = format!("weekly.{day}[{i}]");
                let (from, to) = match pair.as_array().map(Vec::as_slice) {
                    Some([from, to]) => (from.as_str(), to.as_str()),
                    _ => (None, None),
                };
                let (Some(from), Some(to)) = (from.and_then(minutes), to.and_then(minutes)) else {
                    return Err(bad(
                        &path,
                        "must be [\"HH:MM\", \"HH:MM\"] (24-hour, 24:00 ends a day)",
                    ));
                };
                if from >= to {
                    return Err(bad(
                        &path,
                        "must end after it starts (split a night shift across two days)",
                    ));
                }
                weekly[index].push((from, to));
            }
            weekly[index].sort_unstable();
        }
        Ok(Self {
            zone_name: zone_name.to_owned(),
            zone,
            weekly,
        })
    }

    /// Whether `at` falls inside an opening interval, in local time.
    pub fn is_open(&self, at: Millis) -> bool {
        let Ok(instant) = jiff::Timestamp::from_millisecond(at.0) else {
            return false;
        };
        let local = instant.to_zoned(self.zone.clone());
        let day = usize::try_from(local.weekday().to_monday_zero_offset()).unwrap_or(0);
        let minute =
            u16::try_from(i32::from(local.hour()) * 60 + i32::from(local.minute())).unwrap_or(0);
        self.weekly[day]
            .iter()
            .any(|(from, to)| (*from..*to).contains(&minute))
    }

    /// The stored and shown form, the same shape `parse` takes.
    pub fn to_json(&self) -> Value {
        let weekly: serde_json::Map<String, Value> = DAYS
            .iter()
            .zip(&self.weekly)
            .filter(|(_, intervals)| !intervals.is_empty())
            .map(|(day, intervals)| {
                let pairs: Vec<Value> = intervals
                    .iter()
                    .map(|(from, to)| json!([hhmm(*from), hhmm(*to)]))
                    .collect();
                ((*day).to_owned(), Value::Array(pairs))
            })
            .collect();
        json!({"time_zone": self.zone_name, "weekly": weekly})
    }
}

/// Business hours as JSON, in and out: the shape [`BusinessHours::parse`]
/// reads and [`BusinessHours::to_json`] writes, described for the API's
/// schema from the same day keys and limits the parser uses.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct HoursJson(pub Value);

impl schemars::JsonSchema for HoursJson {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "BusinessHours".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let interval = json!({
            "type": "array",
            "description": "[from, to): local times HH:MM, 24:00 for midnight at the end",
            "items": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$"},
            "minItems": 2,
            "maxItems": 2,
        });
        let days: serde_json::Map<String, Value> = DAYS
            .iter()
            .map(|day| {
                let intervals =
                    json!({"type": "array", "items": interval, "maxItems": MAX_INTERVALS});
                ((*day).to_owned(), intervals)
            })
            .collect();
        schemars::Schema::try_from(json!({
            "type": "object",
            "description": "Opening intervals per weekday in an IANA time zone; a day absent or empty is closed",
            "properties": {
                "time_zone": {"type": "string", "description": "An IANA name such as Asia/Tokyo"},
                "weekly": {"type": "object", "properties": days, "additionalProperties": false},
            },
            "required": ["time_zone", "weekly"],
            "additionalProperties": false,
        }))
        .expect("an object is a schema")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-23T00:00:00Z, a Monday; 09:00 in Tokyo.
    const MONDAY: i64 = 1_795_392_000_000;
    const HOUR: i64 = 3_600_000;

    fn tokyo_office() -> BusinessHours {
        BusinessHours::parse(&json!({
            "time_zone": "Asia/Tokyo",
            "weekly": {"mon": [["09:00", "12:00"], ["13:00", "18:00"]], "tue": [["09:00", "24:00"]]}
        }))
        .expect("valid")
    }

    #[test]
    fn open_inside_local_intervals_only() {
        let hours = tokyo_office();
        assert!(hours.is_open(Millis(MONDAY)), "09:00 Monday in Tokyo");
        assert!(!hours.is_open(Millis(MONDAY - 1)), "08:59:59.999");
        assert!(!hours.is_open(Millis(MONDAY + 3 * HOUR)), "12:00 lunch");
        assert!(hours.is_open(Millis(MONDAY + 4 * HOUR)), "13:00");
        assert!(!hours.is_open(Millis(MONDAY + 9 * HOUR)), "18:00 closed");
        assert!(
            hours.is_open(Millis(MONDAY + 24 * HOUR + 14 * HOUR)),
            "Tuesday 23:00"
        );
        assert!(!hours.is_open(Millis(MONDAY + 2 * 24 * HOUR)), "Wednesday");
    }

    #[test]
    fn daylight_saving_time_is_followed() {
        // 2026-07-06 (a Monday) 09:30 in New York is 13:30 UTC (EDT, -4);
        // 2026-11-23 09:30 is 14:30 UTC (EST, -5).
        let hours = BusinessHours::parse(&json!({
            "time_zone": "America/New_York",
            "weekly": {"mon": [["09:00", "17:00"]]}
        }))
        .expect("valid");
        let july_1330_utc = 1_783_344_600_000;
        assert!(hours.is_open(Millis(july_1330_utc)));
        assert!(
            !hours.is_open(Millis(MONDAY + 13 * HOUR + HOUR / 2)),
            "08:30 EST"
        );
        assert!(
            hours.is_open(Millis(MONDAY + 14 * HOUR + HOUR / 2)),
            "09:30 EST"
        );
    }

    #[test]
    fn bad_hours_name_the_field() {
        let cases = [
            (json!({"weekly": {}}), "time_zone"),
            (
                json!({"time_zone": "Mars/Olympus", "weekly": {}}),
                "time_zone",
            ),
            (json!({"time_zone": "UTC"}), "weekly"),
            (
                json!({"time_zone": "UTC", "weekly": {"monday": []}}),
                "weekly.monday",
            ),
            (
                json!({"time_zone": "UTC", "weekly": {"mon": [["9:00", "10:00"]]}}),
                "weekly.mon[0]",
            ),
            (
                json!({"time_zone": "UTC", "weekly": {"fri": [["10:00", "09:00"]]}}),
                "weekly.fri[0]",
            ),
            (
                json!({"time_zone": "UTC", "weekly": {}, "holidays": []}),
                "holidays",
            ),
        ];
        for (value, field) in cases {
            let (path, _) = BusinessHours::parse(&value).expect_err("refused");
            assert_eq!(path, field, "{value}");
        }
    }

    #[test]
    fn round_trips_through_json() {
        let hours = tokyo_office();
        let again = BusinessHours::parse(&hours.to_json()).expect("valid");
        assert_eq!(again.to_json(), hours.to_json());
        assert_eq!(
            hours.to_json()["weekly"]["tue"],
            json!([["09:00", "24:00"]])
        );
    }
}
