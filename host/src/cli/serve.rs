//! `baton serve`'s settings as flags. Each flag has its `BATON_*` variable
//! and shows its default in `--help`; a settings file (`--config`) may
//! give any of them too. A flag given wins, then its variable, then the
//! file, then the default. The values are then read by
//! [`Settings::from_env`], the one parser of settings, so a value is
//! refused alike wherever it came from.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use baton_host::Settings;
use baton_host::api::admission::AdmissionLimits;
use baton_host::plugin::SandboxLimits;
use clap::parser::ValueSource;
use clap::{ArgMatches, Args};

/// Every setting of `baton serve`. A field's flag is its variable's name
/// without `BATON_`, in lower case with dashes (checked in the tests).
#[derive(Debug, Args)]
#[command(after_help = "The log is filtered by RUST_LOG (default info).")]
pub(crate) struct ServeArgs {
    /// A TOML file of settings, keyed by the flags' names with `_` for `-`
    /// (e.g. queue_sweep_secs = 5); a flag or variable given wins over it
    #[arg(long, env = "BATON_CONFIG")]
    config: Option<PathBuf>,
    /// Listen address
    #[arg(long, env = "BATON_ADDR", default_value = Settings::DEFAULT_ADDR)]
    addr: String,
    /// Database: sqlite://path (created if missing) or postgres://user@host/db
    /// (the database must exist; several processes may share it)
    #[arg(long, env = "BATON_DATABASE_URL", default_value = Settings::DEFAULT_DATABASE_URL)]
    database_url: String,
    /// The operator's token, which creates tenants [default: generated and
    /// printed once]
    #[arg(long, env = "BATON_OPERATOR_TOKEN", hide_env_values = true)]
    operator_token: Option<String>,
    /// CPU budget per plugin call, in fuel (deterministic)
    #[arg(long, env = "BATON_PLUGIN_FUEL", default_value_t = SandboxLimits::default().fuel.to_string())]
    plugin_fuel: String,
    /// Wall-clock limit per plugin call, in milliseconds
    #[arg(long, env = "BATON_PLUGIN_TIMEOUT_MS", default_value_t = SandboxLimits::default().timeout.as_millis().to_string())]
    plugin_timeout_ms: String,
    /// Linear-memory cap per plugin instance, in MiB
    #[arg(long, env = "BATON_PLUGIN_MEMORY_MB", default_value_t = (SandboxLimits::default().memory_bytes >> 20).to_string())]
    plugin_memory_mb: String,
    /// Largest component accepted at upload, in KiB
    #[arg(long, env = "BATON_PLUGIN_MAX_SIZE_KB", default_value_t = (SandboxLimits::default().max_component_bytes >> 10).to_string())]
    plugin_max_size_kb: String,
    /// Key-value quota per tenant and plugin, in KiB
    #[arg(long, env = "BATON_PLUGIN_KV_QUOTA_KB", default_value_t = (SandboxLimits::default().kv_quota_bytes >> 10).to_string())]
    plugin_kv_quota_kb: String,
    /// Compiled plugin code kept in memory, in MiB
    #[arg(long, env = "BATON_PLUGIN_CACHE_MB", default_value_t = (SandboxLimits::default().compiled_cache_bytes >> 20).to_string())]
    plugin_cache_mb: String,
    /// SMTP relay for notification e-mail: smtp://[user:password@]host[:port][?tls=starttls],
    /// or smtps://... for TLS from the start [default: none,
    /// e-mail deliveries are recorded as skipped]
    // Hidden from --help like the operator token: it may hold a password.
    #[arg(long, env = "BATON_SMTP_URL", hide_env_values = true)]
    smtp_url: Option<String>,
    /// Sender address of notification e-mail
    #[arg(long, env = "BATON_SMTP_FROM", default_value = Settings::DEFAULT_SMTP_FROM)]
    smtp_from: String,
    /// true lets members' webhooks reach loopback and private addresses
    #[arg(long, env = "BATON_WEBHOOK_ALLOW_PRIVATE", default_value = "false")]
    webhook_allow_private: String,
    /// Seconds between sweeps of the queue for conversations someone free
    /// could take
    #[arg(long, env = "BATON_QUEUE_SWEEP_SECS", default_value_t = Settings::DEFAULT_QUEUE_SWEEP.as_secs().to_string())]
    queue_sweep_secs: String,
    /// How long a process's claim on a tenant's events lasts unrenewed, in
    /// seconds
    #[arg(long, env = "BATON_DISPATCH_LEASE_SECS", default_value_t = Settings::DEFAULT_DISPATCH_LEASE.as_secs().to_string())]
    dispatch_lease_secs: String,
    /// Tenants whose events are handled at once, each tenant's in order (1
    /// to 256)
    #[arg(long, env = "BATON_DISPATCH_CONCURRENCY", default_value_t = Settings::DEFAULT_DISPATCH_CONCURRENCY.to_string())]
    dispatch_concurrency: String,
    /// Requests one tenant may have in flight at once (1 to 65536)
    #[arg(long, env = "BATON_TENANT_IN_FLIGHT", default_value_t = AdmissionLimits::DEFAULT_IN_FLIGHT.to_string())]
    tenant_in_flight: String,
    /// Requests of one tenant that may wait for a place, up to 10 s each;
    /// more get 429 (0 to 65536)
    #[arg(long, env = "BATON_TENANT_QUEUE", default_value_t = AdmissionLimits::DEFAULT_QUEUE.to_string())]
    tenant_queue: String,
    /// Requests one tenant may start per second; more get 429 (0: no limit)
    #[arg(long, env = "BATON_TENANT_RATE", default_value = "0")]
    tenant_rate: String,
    /// On SIGTERM or SIGINT, seconds the requests in flight, the event in
    /// hand and deliveries mid-send may take to finish (1 to 3600)
    #[arg(long, env = "BATON_SHUTDOWN_GRACE_SECS", default_value_t = Settings::DEFAULT_SHUTDOWN_GRACE.as_secs().to_string())]
    shutdown_grace_secs: String,
}

impl ServeArgs {
    /// The settings, parsed and checked as from the environment; `matches`
    /// are those these arguments were parsed from (they say which values
    /// are defaults, which the settings file may replace). The error is
    /// the message to show.
    pub(crate) fn settings(&self, matches: &ArgMatches) -> Result<Settings, String> {
        let file = match &self.config {
            Some(path) => SettingsFile::read(path)?,
            None => SettingsFile::default(),
        };
        // From the file: given there, and neither as a flag nor by its
        // variable.
        let from_file = |name: &str| {
            let id = id_of(name);
            let defaulted = matches!(
                matches.value_source(&id),
                None | Some(ValueSource::DefaultValue)
            );
            if defaulted {
                file.values.get(&id)
            } else {
                None
            }
        };
        Settings::from_env(|name| from_file(name).cloned().or_else(|| self.value(name))).map_err(
            |error| {
                let name = error.name();
                let given = match (from_file(name), &self.config) {
                    (Some(_), Some(path)) => format!("{} in {}", id_of(name), path.display()),
                    _ => format!("{} ({name})", flag_of(name)),
                };
                format!(
                    "invalid value {:?} for {given}: {}",
                    error.value(),
                    error.message()
                )
            },
        )
    }

    /// The value given for the variable `name`, by its flag, the variable
    /// itself, or the default.
    fn value(&self, name: &str) -> Option<String> {
        let value = match name {
            "BATON_ADDR" => &self.addr,
            "BATON_DATABASE_URL" => &self.database_url,
            "BATON_OPERATOR_TOKEN" => return self.operator_token.clone(),
            "BATON_PLUGIN_FUEL" => &self.plugin_fuel,
            "BATON_PLUGIN_TIMEOUT_MS" => &self.plugin_timeout_ms,
            "BATON_PLUGIN_MEMORY_MB" => &self.plugin_memory_mb,
            "BATON_PLUGIN_MAX_SIZE_KB" => &self.plugin_max_size_kb,
            "BATON_PLUGIN_KV_QUOTA_KB" => &self.plugin_kv_quota_kb,
            "BATON_PLUGIN_CACHE_MB" => &self.plugin_cache_mb,
            "BATON_SMTP_URL" => return self.smtp_url.clone(),
            "BATON_SMTP_FROM" => &self.smtp_from,
            "BATON_WEBHOOK_ALLOW_PRIVATE" => &self.webhook_allow_private,
            "BATON_QUEUE_SWEEP_SECS" => &self.queue_sweep_secs,
            "BATON_DISPATCH_LEASE_SECS" => &self.dispatch_lease_secs,
            "BATON_DISPATCH_CONCURRENCY" => &self.dispatch_concurrency,
            "BATON_TENANT_IN_FLIGHT" => &self.tenant_in_flight,
            "BATON_TENANT_QUEUE" => &self.tenant_queue,
            "BATON_TENANT_RATE" => &self.tenant_rate,
            "BATON_SHUTDOWN_GRACE_SECS" => &self.shutdown_grace_secs,
            // A setting without a flag yet is still read from the
            // environment (the tests fail until it has one).
            _ => return std::env::var(name).ok(),
        };
        Some(value.clone())
    }
}

/// The flag of the variable `name`: `BATON_QUEUE_SWEEP_SECS` is
/// `--queue-sweep-secs`.
fn flag_of(name: &str) -> String {
    format!("--{}", id_of(name).replace('_', "-"))
}

/// The argument's id, and its key in a settings file, of the variable
/// `name`: `BATON_QUEUE_SWEEP_SECS` is `queue_sweep_secs`.
fn id_of(name: &str) -> String {
    name.strip_prefix("BATON_")
        .unwrap_or(name)
        .to_ascii_lowercase()
}

/// A settings file's values, as text (what a variable would hold), by key.
#[derive(Debug, Default)]
struct SettingsFile {
    values: BTreeMap<String, String>,
}

impl SettingsFile {
    /// Read `path`: a TOML table of settings. A key that is no setting is
    /// refused by name, as is a value that is not a string, a whole number
    /// or a boolean.
    fn read(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the settings file {} ({e})", path.display()))?;
        let table: toml::Table = text
            .parse()
            .map_err(|e| format!("the settings file {} is not TOML: {e}", path.display()))?;
        let known = Self::keys();
        let mut values = BTreeMap::new();
        for (key, value) in table {
            if !known.contains(&key) {
                return Err(format!(
                    "unknown setting {key:?} in {}; the settings are {}",
                    path.display(),
                    known.join(", ")
                ));
            }
            let text = match value {
                toml::Value::String(text) => text,
                toml::Value::Integer(n) => n.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                other => {
                    return Err(format!(
                        "{key} in {} must be a string, a whole number or a boolean, not {}",
                        path.display(),
                        other.type_str()
                    ));
                }
            };
            values.insert(key, text);
        }
        Ok(Self { values })
    }

    /// The keys a settings file may have: every setting but the file itself.
    fn keys() -> Vec<String> {
        use clap::Args as _;
        ServeArgs::augment_args(clap::Command::new("serve"))
            .get_arguments()
            .map(|arg| arg.get_id().to_string())
            .filter(|id| id != "config")
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use clap::{CommandFactory, FromArgMatches, Parser};

    use super::*;

    #[derive(Parser)]
    struct Serve {
        #[command(flatten)]
        args: ServeArgs,
    }

    /// Every variable `Settings::from_env` reads has a flag, named after it.
    #[test]
    fn every_setting_has_a_flag_named_after_its_variable() {
        let read = RefCell::new(Vec::new());
        Settings::from_env(|name| {
            read.borrow_mut().push(name.to_owned());
            None
        })
        .expect("the defaults are valid");
        let command = Serve::command();
        for name in read.into_inner() {
            let arg = command
                .get_arguments()
                .find(|arg| arg.get_env().is_some_and(|env| env == name.as_str()))
                .unwrap_or_else(|| panic!("{name} has no flag"));
            assert_eq!(
                format!("--{}", arg.get_long().expect("a long flag")),
                flag_of(&name)
            );
        }
    }

    /// The settings of `baton serve <args>`, or the message refusing them.
    fn settings(args: &[&str]) -> Result<Settings, String> {
        let matches = Serve::command()
            .try_get_matches_from(std::iter::once("serve").chain(args.iter().copied()))
            .expect("parsed");
        Serve::from_arg_matches(&matches)
            .expect("parsed")
            .args
            .settings(&matches)
    }

    /// A settings file with `text`, kept while the test runs.
    fn file(text: &str) -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("baton.toml");
        std::fs::write(&path, text).expect("written");
        let path = path.to_str().expect("utf-8").to_owned();
        (dir, path)
    }

    /// The defaults shown in `--help` are the defaults `from_env` applies.
    #[test]
    fn the_defaults_shown_are_the_settings_defaults() {
        let shown = settings(&[]).expect("valid");
        let unset = Settings::from_env(|_| None).expect("valid");
        assert_eq!(format!("{shown:?}"), format!("{unset:?}"));
    }

    #[test]
    fn a_flag_is_read_and_a_bad_value_names_the_flag_and_variable() {
        let set = settings(&["--dispatch-concurrency", "3"]).expect("valid");
        assert_eq!(set.dispatch_concurrency, 3);
        let refused = settings(&["--queue-sweep-secs", "0"]).expect_err("refused");
        assert_eq!(
            refused,
            r#"invalid value "0" for --queue-sweep-secs (BATON_QUEUE_SWEEP_SECS): must be at least 1"#
        );
    }

    #[test]
    fn a_settings_file_fills_what_no_flag_gives_and_a_flag_wins_over_it() {
        let (_dir, path) = file(concat!(
            "dispatch_concurrency = 4\n",
            "queue_sweep_secs = 7\n",
            "webhook_allow_private = true\n",
            "database_url = \"sqlite:///tmp/elsewhere.db\"\n",
        ));
        let set = settings(&["--config", &path, "--queue-sweep-secs", "9"]).expect("valid");
        assert_eq!(set.dispatch_concurrency, 4);
        assert_eq!(set.queue_sweep, std::time::Duration::from_secs(9));
        assert!(set.webhooks.allow_private);
        assert_eq!(set.database_url, "sqlite:///tmp/elsewhere.db");
        // What the file leaves out keeps its default.
        assert_eq!(set.addr, Settings::DEFAULT_ADDR);
    }

    #[test]
    fn a_settings_file_is_refused_by_the_key_or_value_at_fault() {
        let (_dir, path) = file("dispatch_concurrency = 0\n");
        let refused = settings(&["--config", &path]).expect_err("refused");
        assert!(
            refused.starts_with(&format!(
                r#"invalid value "0" for dispatch_concurrency in {path}"#
            )),
            "{refused}"
        );
        let (_dir, path) = file("dispatch_concurrency = 2\nqueue_sweep = 5\n");
        let refused = settings(&["--config", &path]).expect_err("refused");
        assert!(
            refused.starts_with(&format!(r#"unknown setting "queue_sweep" in {path}"#)),
            "{refused}"
        );
        assert!(refused.contains("queue_sweep_secs"), "{refused}");
        let (_dir, path) = file("addr = [\"a\", \"b\"]\n");
        let refused = settings(&["--config", &path]).expect_err("refused");
        assert!(refused.contains("addr in"), "{refused}");
        let (_dir, path) = file("addr = \n");
        let refused = settings(&["--config", &path]).expect_err("refused");
        assert!(refused.contains("is not TOML"), "{refused}");
        let missing = settings(&["--config", "/nonexistent/baton.toml"]).expect_err("refused");
        assert!(
            missing.contains("cannot read the settings file"),
            "{missing}"
        );
    }
}
