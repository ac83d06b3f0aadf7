//! End-to-end tests: each starts the real server on a random loopback port
//! with a fresh database and drives it over HTTP, once on SQLite
//! (`name::sqlite`) and once on PostgreSQL (`name::postgres`, skipped
//! without `BATON_TEST_POSTGRES_URL`; see the `baton_e2e` crate's docs).

mod collaboration;
mod contracts;
mod edits;
mod handoff;
mod handoff_process;
mod hostile;
mod idempotency;
mod isolation;
mod lifecycle;
mod load_tool;
mod methods;
mod metrics;
mod notifications;
mod openapi;
mod pages;
mod plugins;
mod processes;
mod queue;
mod routing;
mod rules;
mod server_process;
mod statuses;
mod stopping;
mod tickets;
mod validation;
mod workflows;
