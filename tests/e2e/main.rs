//! End-to-end tests: each starts the real server on a random loopback port
//! with a fresh SQLite file and drives it over HTTP.

mod collaboration;
mod contracts;
mod handoff;
mod handoff_process;
mod hostile;
mod isolation;
mod lifecycle;
mod methods;
mod notifications;
mod plugins;
mod queue;
mod routing;
mod rules;
mod statuses;
mod tickets;
mod validation;
mod workflows;
