//! What the host lets a plugin do. There is nothing else: no filesystem,
//! network, environment, clock or randomness.
//!
//! Inside the sandbox (`wasm32`) these call the host. Compiled for any other
//! target, as in a plugin's own `cargo test`, they use the thread's
//! [`TestHost`](crate::testing::TestHost) instead, so plugin logic that
//! reads its config or key-value store can be unit-tested natively.

use serde::de::DeserializeOwned;

use crate::PluginError;

#[doc(inline)]
pub use crate::__bindings::strategy::baton::plugin::host::{KvError, LogLevel};

#[cfg(target_arch = "wasm32")]
use crate::__bindings::strategy::baton::plugin::host as backend;
#[cfg(not(target_arch = "wasm32"))]
use crate::testing::native as backend;

/// Writes a log line. The host caps line length and lines per call.
pub fn log(level: LogLevel, message: &str) {
    backend::log(level, message);
}

/// Writes a [`LogLevel::Trace`] line.
pub fn trace(message: &str) {
    log(LogLevel::Trace, message);
}

/// Writes a [`LogLevel::Debug`] line.
pub fn debug(message: &str) {
    log(LogLevel::Debug, message);
}

/// Writes a [`LogLevel::Info`] line.
pub fn info(message: &str) {
    log(LogLevel::Info, message);
}

/// Writes a [`LogLevel::Warn`] line.
pub fn warn(message: &str) {
    log(LogLevel::Warn, message);
}

/// Writes a [`LogLevel::Error`] line.
pub fn error(message: &str) {
    log(LogLevel::Error, message);
}

/// The time of the event being handled, in milliseconds since the Unix
/// epoch. There is no wall clock, so a replayed event replays the decision.
pub fn now_ms() -> i64 {
    backend::now_ms()
}

/// The plugin's config as the tenant bound it, as JSON text.
pub fn config_json() -> String {
    backend::config()
}

/// The plugin's config, parsed into `T`.
///
/// The host has already checked it against the schema from `describe`
/// (derive that schema from `T` with
/// [`Manifest::config_schema_for`](crate::Manifest::config_schema_for) and
/// the two cannot drift apart). An empty config string is read as `{}`.
///
/// ```
/// use baton_sdk::host;
/// use baton_sdk::testing::TestHost;
///
/// #[derive(serde::Deserialize)]
/// struct Config {
///     minutes: u32,
/// }
///
/// let (config, _) = TestHost::new()
///     .config(serde_json::json!({"minutes": 15}))
///     .run(|| host::config::<Config>());
/// assert_eq!(config.unwrap().minutes, 15);
/// ```
///
/// # Errors
///
/// [`PluginError::InvalidConfig`] when the JSON does not fit `T`.
pub fn config<T: DeserializeOwned>() -> Result<T, PluginError> {
    parse_config(&config_json())
}

pub(crate) fn parse_config<T: DeserializeOwned>(json: &str) -> Result<T, PluginError> {
    let json = if json.trim().is_empty() { "{}" } else { json };
    serde_json::from_str(json).map_err(|e| PluginError::InvalidConfig(e.to_string()))
}

/// This plugin's key-value store for the current tenant.
///
/// Values are bytes; store text with `set(key, text)` and read it back with
/// `get(key).and_then(|v| String::from_utf8(v).ok())`. Writes land only if
/// the call that made them succeeds.
///
/// ```
/// use baton_sdk::host::kv;
/// use baton_sdk::testing::TestHost;
///
/// let ((), after) = TestHost::new().run(|| {
///     kv::set("last", "agt_1").unwrap();
/// });
/// assert_eq!(after.kv_value("last"), Some(&b"agt_1"[..]));
/// ```
pub mod kv {
    use super::{KvError, backend};

    /// Reads a value, or `None` when the key is unset.
    pub fn get(key: &str) -> Option<Vec<u8>> {
        backend::kv_get(key)
    }

    /// Writes a value. A failed write changes nothing.
    ///
    /// # Errors
    ///
    /// When the tenant's quota would be passed or the key is too long.
    pub fn set(key: &str, value: impl AsRef<[u8]>) -> Result<(), KvError> {
        backend::kv_set(key, value.as_ref())
    }

    /// Removes a value; removing an unset key is not an error.
    pub fn delete(key: &str) {
        backend::kv_delete(key);
    }
}
