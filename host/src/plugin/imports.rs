//! The host functions a plugin imports (`baton:plugin/host`), defined by hand
//! instead of through the generated `Host` traits.
//!
//! A generated binding copies every `string` and `list` argument out of the
//! guest's memory before the host function sees it, so a plugin could make
//! the host allocate and copy up to its whole linear memory on every import
//! call: a 1 MiB key to `kv-delete` in a loop, or a 1 MiB line to `log`
//! after the line budget is spent. Here each argument is read in place, its
//! size checked first, and only what the host keeps is copied, never more
//! than the limits in [`SandboxLimits`](super::SandboxLimits) allow.

use wasmtime::StoreContextMut;
use wasmtime::component::{ComponentType, Lift, Linker, Lower, WasmList, WasmStr};

use super::bindings::{host, v0_1, v0_2, v0_3};
use super::state::{KvRefusal, LogLevel, PluginState};

/// Define the host interface of every contract version the host runs.
pub(super) fn add_to_linker(linker: &mut Linker<PluginState>) -> wasmtime::Result<()> {
    define::<host::LogLevel, host::KvError>(linker, super::bindings::CURRENT)?;
    define::<v0_3::host::LogLevel, v0_3::host::KvError>(linker, "0.3.0")?;
    define::<v0_2::host::LogLevel, v0_2::host::KvError>(linker, "0.2.0")?;
    define::<v0_1::host::LogLevel, v0_1::host::KvError>(linker, "0.1.0")?;
    Ok(())
}

/// One contract version's `host` interface. `types` holds only type
/// definitions, so its instance is empty, but a component that imports it
/// still needs it to exist.
fn define<L, E>(linker: &mut Linker<PluginState>, version: &str) -> wasmtime::Result<()>
where
    L: ComponentType + Lift + Into<LogLevel> + Send + Sync + 'static,
    E: ComponentType + Lower + From<KvRefusal> + Send + Sync + 'static,
{
    linker.instance(&format!("baton:plugin/types@{version}"))?;
    let mut host = linker.instance(&format!("baton:plugin/host@{version}"))?;
    host.func_wrap(
        "log",
        |mut store: StoreContextMut<'_, PluginState>, (level, message): (L, WasmStr)| {
            // Over the budget the line is dropped unread.
            if !store.data_mut().take_log_slot() {
                return Ok(());
            }
            let text = message.to_str(&store)?;
            let line = store.data().cut_log_line(&text).to_owned();
            store.data().emit_log(level.into(), &line);
            Ok(())
        },
    )?;
    host.func_wrap(
        "now-ms",
        |store: StoreContextMut<'_, PluginState>, (): ()| Ok((store.data().now_ms(),)),
    )?;
    host.func_wrap(
        "config",
        |store: StoreContextMut<'_, PluginState>, (): ()| Ok((store.data().config().to_owned(),)),
    )?;
    host.func_wrap(
        "kv-get",
        |store: StoreContextMut<'_, PluginState>, (key,): (WasmStr,)| {
            let key = key.to_str(&store)?;
            Ok((store.data().kv_get(&key).cloned(),))
        },
    )?;
    host.func_wrap(
        "kv-set",
        |mut store: StoreContextMut<'_, PluginState>, (key, value): (WasmStr, WasmList<u8>)| {
            let key = key.to_str(&store)?;
            // Sizes are checked before the value leaves the guest's memory.
            if let Err(refusal) = store.data().kv_admit(&key, value.len()) {
                return Ok((Err(E::from(refusal)),));
            }
            let (key, value) = (key.into_owned(), value.as_le_slice(&store).to_vec());
            store.data_mut().kv_set(key, value);
            Ok((Ok(()),))
        },
    )?;
    host.func_wrap(
        "kv-delete",
        |mut store: StoreContextMut<'_, PluginState>, (key,): (WasmStr,)| {
            let key = key.to_str(&store)?;
            // A key longer than the limit can never have been stored:
            // deleting it changes nothing and keeps nothing.
            if store.data().kv_key_fits(&key) {
                let key = key.into_owned();
                store.data_mut().kv_delete(key);
            }
            Ok(())
        },
    )?;
    Ok(())
}

/// Each version's `log-level` and `kv-error` are the same cases under
/// another generated type.
macro_rules! host_types {
    ($($($host:ident)::+),* $(,)?) => {$(
        impl From<$($host)::+::LogLevel> for LogLevel {
            fn from(level: $($host)::+::LogLevel) -> Self {
                use $($host)::+::LogLevel as L;
                match level {
                    L::Trace => LogLevel::Trace,
                    L::Debug => LogLevel::Debug,
                    L::Info => LogLevel::Info,
                    L::Warn => LogLevel::Warn,
                    L::Error => LogLevel::Error,
                }
            }
        }

        impl From<KvRefusal> for $($host)::+::KvError {
            fn from(refusal: KvRefusal) -> Self {
                match refusal {
                    KvRefusal::KeyTooLong => Self::KeyTooLong,
                    KvRefusal::QuotaExceeded => Self::QuotaExceeded,
                }
            }
        }
    )*};
}

host_types!(host, v0_1::host, v0_2::host, v0_3::host);
