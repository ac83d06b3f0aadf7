//! Settings, read from the environment (`BATON_*`).

use std::borrow::Cow;
use std::time::Duration;

use crate::api::admission::AdmissionLimits;
use crate::notify::address::{ALLOW_PRIVATE_VAR, WebhookPolicy};
use crate::notify::email::{SmtpConfig, SmtpConfigError};
use crate::plugin::SandboxLimits;

/// Everything `baton serve` needs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub addr: String,
    pub database_url: String,
    /// `None`: generate one at start-up and print it once.
    pub operator_token: Option<String>,
    pub limits: SandboxLimits,
    /// Where notification e-mail goes; `None`: e-mail deliveries are skipped.
    pub smtp: Option<SmtpConfig>,
    /// Which addresses webhooks may reach (`BATON_WEBHOOK_ALLOW_PRIVATE`).
    pub webhooks: WebhookPolicy,
    /// How often the dispatcher sweeps the queue for conversations someone
    /// could take now (`BATON_QUEUE_SWEEP_SECS`).
    pub queue_sweep: Duration,
    /// How long a process's claim on a tenant's events lasts without being
    /// renewed (`BATON_DISPATCH_LEASE_SECS`): when a process dies, another
    /// takes its tenants over after at most this long.
    pub dispatch_lease: Duration,
    /// How many tenants' events the dispatcher handles at once
    /// (`BATON_DISPATCH_CONCURRENCY`): each tenant's in order, so a tenant
    /// whose plugins are slow holds up its own events and not every
    /// tenant's.
    pub dispatch_concurrency: usize,
    /// Each tenant's limits on requests in flight, waiting and started per
    /// second (`BATON_TENANT_IN_FLIGHT`, `BATON_TENANT_QUEUE`,
    /// `BATON_TENANT_RATE`).
    pub admission: AdmissionLimits,
    /// How long a stop (SIGTERM, SIGINT) may take: requests in flight, the
    /// event in hand and deliveries mid-send are given this long to finish
    /// (`BATON_SHUTDOWN_GRACE_SECS`).
    pub shutdown_grace: Duration,
}

impl Settings {
    /// The listen address when `BATON_ADDR` is unset.
    pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
    /// The database when `BATON_DATABASE_URL` is unset: a file in the
    /// working directory, created if missing.
    pub const DEFAULT_DATABASE_URL: &str = "sqlite://baton.db";
    /// The sender of notification e-mail when `BATON_SMTP_FROM` is unset.
    pub const DEFAULT_SMTP_FROM: &str = "baton@localhost";
    /// The queue sweep's interval when `BATON_QUEUE_SWEEP_SECS` is unset.
    pub const DEFAULT_QUEUE_SWEEP: Duration = Duration::from_secs(10);
    /// The dispatch lease when `BATON_DISPATCH_LEASE_SECS` is unset.
    pub const DEFAULT_DISPATCH_LEASE: Duration = Duration::from_secs(10);
    /// Tenants dispatched at once when `BATON_DISPATCH_CONCURRENCY` is
    /// unset.
    pub const DEFAULT_DISPATCH_CONCURRENCY: usize = 8;
    /// The most `BATON_DISPATCH_CONCURRENCY` may ask for.
    pub const MAX_DISPATCH_CONCURRENCY: usize = 256;
    /// The grace period of a stop when `BATON_SHUTDOWN_GRACE_SECS` is
    /// unset: within the 30 s a container runtime waits before killing.
    pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(25);
}

/// What `BATON_SMTP_URL` may be, told with every refusal of it.
const SMTP_URL_FORMS: &str = "must be smtp://[user:password@]host[:port][?tls=starttls|opportunistic|none] \
     (port 25, plain unless tls says otherwise) or smtps://[user:password@]host[:port] (TLS, port 465)";

/// A setting with a bad value.
#[derive(Debug, thiserror::Error)]
#[error("{name}={value:?}: {message}")]
pub struct SettingError {
    name: &'static str,
    value: String,
    message: Cow<'static, str>,
}

impl SettingError {
    /// The variable whose value was refused.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The value refused.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// What the value must be.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl Settings {
    /// Read from an environment lookup (the process environment in `main`).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingError> {
        let number = |name: &'static str, default: u64| -> Result<u64, SettingError> {
            match get(name) {
                None => Ok(default),
                Some(value) => value.trim().parse().map_err(|_| SettingError {
                    name,
                    value,
                    message: "must be a whole number".into(),
                }),
            }
        };
        let defaults = SandboxLimits::default();
        let limits = SandboxLimits {
            fuel: number("BATON_PLUGIN_FUEL", defaults.fuel)?,
            timeout: Duration::from_millis(number(
                "BATON_PLUGIN_TIMEOUT_MS",
                u64::try_from(defaults.timeout.as_millis()).unwrap_or(500),
            )?),
            memory_bytes: usize::try_from(number(
                "BATON_PLUGIN_MEMORY_MB",
                (defaults.memory_bytes >> 20) as u64,
            )?)
            .unwrap_or(16)
                << 20,
            max_component_bytes: usize::try_from(number(
                "BATON_PLUGIN_MAX_SIZE_KB",
                (defaults.max_component_bytes >> 10) as u64,
            )?)
            .unwrap_or(8192)
                << 10,
            kv_quota_bytes: usize::try_from(number(
                "BATON_PLUGIN_KV_QUOTA_KB",
                (defaults.kv_quota_bytes >> 10) as u64,
            )?)
            .unwrap_or(64)
                << 10,
            compiled_cache_bytes: usize::try_from(number(
                "BATON_PLUGIN_CACHE_MB",
                (defaults.compiled_cache_bytes >> 20) as u64,
            )?)
            .unwrap_or(256)
                << 20,
            ..defaults
        };
        let smtp = match get("BATON_SMTP_URL").filter(|u| !u.trim().is_empty()) {
            None => None,
            Some(url) => {
                let from = get("BATON_SMTP_FROM").unwrap_or_else(|| Self::DEFAULT_SMTP_FROM.into());
                Some(SmtpConfig::parse(&url, &from).map_err(|error| match error {
                    SmtpConfigError::Sender(_) => SettingError {
                        name: "BATON_SMTP_FROM",
                        value: from.clone(),
                        message: "must be an e-mail address".into(),
                    },
                    // The value shown is redacted: it may hold a password.
                    SmtpConfigError::Url(why) => SettingError {
                        name: "BATON_SMTP_URL",
                        value: SmtpConfig::redact(&url),
                        message: format!("{why}; {SMTP_URL_FORMS}").into(),
                    },
                })?)
            }
        };
        let queue_sweep = number(
            "BATON_QUEUE_SWEEP_SECS",
            Self::DEFAULT_QUEUE_SWEEP.as_secs(),
        )?;
        // Zero would sweep without pause and starve the events.
        if queue_sweep == 0 {
            return Err(SettingError {
                name: "BATON_QUEUE_SWEEP_SECS",
                value: "0".into(),
                message: "must be at least 1".into(),
            });
        }
        let dispatch_lease = number(
            "BATON_DISPATCH_LEASE_SECS",
            Self::DEFAULT_DISPATCH_LEASE.as_secs(),
        )?;
        // A lease must outlive a batch of events between renewals.
        if dispatch_lease == 0 {
            return Err(SettingError {
                name: "BATON_DISPATCH_LEASE_SECS",
                value: "0".into(),
                message: "must be at least 1".into(),
            });
        }
        // A number that must lie in `range`; `message` says which.
        let within = |name: &'static str,
                      default: u64,
                      range: std::ops::RangeInclusive<u64>,
                      message: &'static str|
         -> Result<u64, SettingError> {
            let value = number(name, default)?;
            if range.contains(&value) {
                Ok(value)
            } else {
                Err(SettingError {
                    name,
                    value: value.to_string(),
                    message: message.into(),
                })
            }
        };
        let dispatch_concurrency = within(
            "BATON_DISPATCH_CONCURRENCY",
            Self::DEFAULT_DISPATCH_CONCURRENCY as u64,
            1..=Self::MAX_DISPATCH_CONCURRENCY as u64,
            "must be between 1 and 256",
        )? as usize;
        let in_flight = within(
            "BATON_TENANT_IN_FLIGHT",
            u64::from(AdmissionLimits::DEFAULT_IN_FLIGHT),
            1..=u64::from(AdmissionLimits::MAX_IN_FLIGHT),
            "must be between 1 and 65536",
        )? as u32;
        let queue = within(
            "BATON_TENANT_QUEUE",
            u64::from(AdmissionLimits::DEFAULT_QUEUE),
            0..=u64::from(AdmissionLimits::MAX_QUEUE),
            "must be between 0 and 65536",
        )? as u32;
        let rate = number("BATON_TENANT_RATE", 0)?;
        let per_second = match u32::try_from(rate) {
            Ok(0) => None,
            Ok(rate) => Some(rate),
            Err(_) => {
                return Err(SettingError {
                    name: "BATON_TENANT_RATE",
                    value: rate.to_string(),
                    message: "must be at most 4294967295 (0: no limit)".into(),
                });
            }
        };
        let shutdown_grace = within(
            "BATON_SHUTDOWN_GRACE_SECS",
            Self::DEFAULT_SHUTDOWN_GRACE.as_secs(),
            1..=3_600,
            "must be between 1 and 3600",
        )?;
        let allow_private = match get(ALLOW_PRIVATE_VAR) {
            None => false,
            Some(value) => match value.trim().to_ascii_lowercase().as_str() {
                "" | "false" | "0" | "no" => false,
                "true" | "1" | "yes" => true,
                _ => {
                    return Err(SettingError {
                        name: ALLOW_PRIVATE_VAR,
                        value,
                        message: "must be true or false".into(),
                    });
                }
            },
        };
        Ok(Self {
            addr: get("BATON_ADDR").unwrap_or_else(|| Self::DEFAULT_ADDR.into()),
            database_url: get("BATON_DATABASE_URL")
                .unwrap_or_else(|| Self::DEFAULT_DATABASE_URL.into()),
            operator_token: get("BATON_OPERATOR_TOKEN").filter(|t| !t.trim().is_empty()),
            limits,
            smtp,
            webhooks: WebhookPolicy { allow_private },
            queue_sweep: Duration::from_secs(queue_sweep),
            dispatch_lease: Duration::from_secs(dispatch_lease),
            dispatch_concurrency,
            admission: AdmissionLimits {
                in_flight,
                queue,
                per_second,
            },
            shutdown_grace: Duration::from_secs(shutdown_grace),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(&str, &str)]) -> Result<Settings, SettingError> {
        Settings::from_env(|name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn the_queue_sweep_defaults_to_ten_seconds_and_refuses_zero() {
        assert_eq!(
            with(&[]).expect("defaults").queue_sweep,
            Duration::from_secs(10)
        );
        assert_eq!(
            with(&[]).expect("defaults").dispatch_lease,
            Duration::from_secs(10)
        );
        assert!(with(&[("BATON_DISPATCH_LEASE_SECS", "0")]).is_err());
        let set = with(&[("BATON_QUEUE_SWEEP_SECS", "3")]).expect("3 s");
        assert_eq!(set.queue_sweep, Duration::from_secs(3));
        for bad in ["0", "soon", "-1"] {
            let error = with(&[("BATON_QUEUE_SWEEP_SECS", bad)]).expect_err("refused");
            assert!(
                error.to_string().contains("BATON_QUEUE_SWEEP_SECS"),
                "{error}"
            );
        }
    }

    #[test]
    fn dispatch_concurrency_defaults_to_eight_and_stays_between_one_and_256() {
        assert_eq!(with(&[]).expect("defaults").dispatch_concurrency, 8);
        let one = with(&[("BATON_DISPATCH_CONCURRENCY", "1")]).expect("one at a time");
        assert_eq!(one.dispatch_concurrency, 1);
        for bad in ["0", "257", "many", "-2"] {
            let error = with(&[("BATON_DISPATCH_CONCURRENCY", bad)]).expect_err("refused");
            assert!(
                error.to_string().contains("BATON_DISPATCH_CONCURRENCY"),
                "{error}"
            );
        }
    }

    #[test]
    fn the_shutdown_grace_defaults_to_25_s_and_stays_between_1_s_and_an_hour() {
        let defaults = with(&[]).expect("defaults");
        assert_eq!(defaults.shutdown_grace, Duration::from_secs(25));
        let set = with(&[("BATON_SHUTDOWN_GRACE_SECS", "3600")]).expect("an hour");
        assert_eq!(set.shutdown_grace, Duration::from_secs(3_600));
        for bad in ["0", "3601", "later", "-5"] {
            let error = with(&[("BATON_SHUTDOWN_GRACE_SECS", bad)]).expect_err("refused");
            assert!(
                error.to_string().contains("BATON_SHUTDOWN_GRACE_SECS"),
                "{error}"
            );
        }
    }

    #[test]
    fn tenant_admission_defaults_to_64_in_flight_256_waiting_and_no_rate() {
        let defaults = with(&[]).expect("defaults").admission;
        assert_eq!(defaults, AdmissionLimits::default());
        assert_eq!(
            (defaults.in_flight, defaults.queue, defaults.per_second),
            (64, 256, None)
        );
        let set = with(&[
            ("BATON_TENANT_IN_FLIGHT", "8"),
            ("BATON_TENANT_QUEUE", "0"),
            ("BATON_TENANT_RATE", "500"),
        ])
        .expect("valid")
        .admission;
        assert_eq!(
            (set.in_flight, set.queue, set.per_second),
            (8, 0, Some(500))
        );
        assert!(with(&[("BATON_TENANT_QUEUE", "65537")]).is_err());
        assert_eq!(
            with(&[("BATON_TENANT_RATE", "0")])
                .expect("valid")
                .admission
                .per_second,
            None
        );
        for bad in ["0", "65537", "many"] {
            let error = with(&[("BATON_TENANT_IN_FLIGHT", bad)]).expect_err(bad);
            assert!(
                error.to_string().starts_with("BATON_TENANT_IN_FLIGHT="),
                "{error}"
            );
        }
        assert!(with(&[("BATON_TENANT_RATE", "-1")]).is_err());
    }

    #[test]
    fn webhooks_refuse_private_addresses_unless_the_operator_allows_them() {
        assert!(!with(&[]).expect("defaults").webhooks.allow_private);
        for (value, allowed) in [("true", true), ("1", true), ("false", false), ("0", false)] {
            let set = with(&[(ALLOW_PRIVATE_VAR, value)]).expect(value);
            assert_eq!(set.webhooks.allow_private, allowed, "{value}");
        }
        let error = with(&[(ALLOW_PRIVATE_VAR, "sometimes")]).expect_err("refused");
        assert!(error.to_string().contains(ALLOW_PRIVATE_VAR), "{error}");
    }

    #[test]
    fn smtp_settings_are_refused_by_name_without_showing_the_password() {
        assert!(with(&[]).expect("defaults").smtp.is_none());
        let set =
            with(&[("BATON_SMTP_URL", "smtps://ana:hunter2@mail.example.com")]).expect("smtps");
        assert_eq!(set.smtp.expect("smtp").port, 465);

        let error = with(&[(
            "BATON_SMTP_URL",
            "smtp://ana:hunter2@mail.example.com?tls=always",
        )])
        .expect_err("refused");
        assert_eq!(error.name(), "BATON_SMTP_URL");
        assert_eq!(error.value(), "smtp://ana:***@mail.example.com?tls=always");
        assert!(error.message().contains("tls=\"always\""), "{error}");
        assert!(error.message().contains("smtps://"), "{error}");
        assert!(!error.to_string().contains("hunter2"), "{error}");

        let error = with(&[
            ("BATON_SMTP_URL", "smtp://mail.example.com"),
            ("BATON_SMTP_FROM", "nobody"),
        ])
        .expect_err("refused");
        assert_eq!(error.name(), "BATON_SMTP_FROM");
    }
}
