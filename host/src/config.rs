//! Settings, read from the environment (`BATON_*`).

use std::time::Duration;

use crate::notify::email::SmtpConfig;
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
}

/// A setting with a bad value.
#[derive(Debug, thiserror::Error)]
#[error("{name}={value:?}: {message}")]
pub struct SettingError {
    name: &'static str,
    value: String,
    message: &'static str,
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
                    message: "must be a whole number",
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
            ..defaults
        };
        let smtp = match get("BATON_SMTP_URL").filter(|u| !u.trim().is_empty()) {
            None => None,
            Some(url) => {
                let from = get("BATON_SMTP_FROM").unwrap_or_else(|| "baton@localhost".into());
                Some(SmtpConfig::parse(&url, &from).map_err(|_| {
                    if SmtpConfig::parse(&url, "baton@localhost").is_ok() {
                        SettingError {
                            name: "BATON_SMTP_FROM",
                            value: from.clone(),
                            message: "must be an e-mail address",
                        }
                    } else {
                        SettingError {
                            name: "BATON_SMTP_URL",
                            value: url.clone(),
                            message: "must be smtp://host:port (plain SMTP)",
                        }
                    }
                })?)
            }
        };
        Ok(Self {
            addr: get("BATON_ADDR").unwrap_or_else(|| "127.0.0.1:8080".into()),
            database_url: get("BATON_DATABASE_URL").unwrap_or_else(|| "sqlite://baton.db".into()),
            operator_token: get("BATON_OPERATOR_TOKEN").filter(|t| !t.trim().is_empty()),
            limits,
            smtp,
        })
    }
}
