//! Baton: a help-desk routing server whose decisions are made by sandboxed
//! WebAssembly component plugins.
//!
//! - [`domain`]: typed ids and states, parsed at the edge.
//! - [`store`]: SQL behind repository methods (SQLite embedded).
//! - [`plugin`]: the wasmtime engine, compile cache and sandboxed calls.
//! - [`routing`]: the event dispatcher, assignment, handoff, workflows and
//!   the timer worker.
//! - [`rules`]: evaluating assignment rules: conditions against facts,
//!   first match.
//! - [`notify`]: notification delivery: e-mail, webhooks, the in-app stream.
//! - [`api`]: the axum HTTP API.
//! - [`app`]: wiring; [`config`]: settings from the environment;
//!   [`clock`]: the one source of "now" (manual in tests); [`worker`]: the
//!   pass handle the background workers share.

pub mod api;
pub mod app;
pub mod clock;
pub mod config;
pub mod domain;
pub mod metrics;
pub mod notify;
pub mod plugin;
pub mod routing;
pub mod rules;
pub mod store;
pub mod worker;

pub use app::App;
pub use clock::Clock;
pub use config::Settings;
