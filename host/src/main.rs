//! `baton serve`: the routing server; `baton plugin ...`: the plugin
//! developer's commands.

mod cli;

use baton_host::{App, Settings, app};
use tracing_subscriber::EnvFilter;

const USAGE: &str = "usage: baton serve | baton plugin <command> (baton plugin help)

Settings come from the environment:
  BATON_ADDR               listen address (default 127.0.0.1:8080)
  BATON_DATABASE_URL       database: sqlite://path (default sqlite://baton.db, created
                           if missing) or postgres://user@host/db (several processes
                           may share one PostgreSQL database)
  BATON_OPERATOR_TOKEN     operator token (generated and printed once if unset)
  BATON_PLUGIN_FUEL        CPU budget per plugin call, in fuel (default 20000000)
  BATON_PLUGIN_TIMEOUT_MS  wall-clock limit per plugin call (default 500)
  BATON_PLUGIN_MEMORY_MB   linear-memory cap per plugin (default 16)
  BATON_SMTP_URL           SMTP relay for notification e-mail, smtp://host:port
                           (unset: e-mail notifications are skipped)
  BATON_SMTP_FROM          sender of notification e-mail (default baton@localhost)
  BATON_QUEUE_SWEEP_SECS   seconds between sweeps of the queue for conversations
                           someone free could take (default 10)
  BATON_DISPATCH_LEASE_SECS  how long a process keeps a tenant's events without
                           renewing its claim; another process takes over after
                           a crash within this long (default 10)
  BATON_DISPATCH_CONCURRENCY  tenants whose events are handled at once, each
                           tenant's in order (default 8, at most 256)
  BATON_TENANT_IN_FLIGHT   requests one tenant may have in flight at once
                           (default 64, at most 65536)
  BATON_TENANT_QUEUE       requests of one tenant that may wait for a place,
                           up to 10 s each; more get 429 (default 256)
  BATON_TENANT_RATE        requests one tenant may start per second; more get
                           429 (default 0: no limit)
  BATON_SHUTDOWN_GRACE_SECS  on SIGTERM or SIGINT, how long requests in flight,
                           the event in hand and deliveries mid-send may take
                           to finish before the process exits 1 (default 25)
  RUST_LOG                 log filter (default info)";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => serve().await,
        Some("plugin") => std::process::exit(cli::plugin(&args[1..]).await),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    }
}

async fn serve() -> anyhow::Result<()> {
    let settings = Settings::from_env(|name| std::env::var(name).ok())?;
    let token = match &settings.operator_token {
        Some(token) => token.clone(),
        None => {
            let token = app::generate_token();
            // Printed once, on stdout, so it can be captured; never logged.
            println!("operator token (set BATON_OPERATOR_TOKEN to keep one): {token}");
            token
        }
    };
    let app = App::start(&settings, token).await?;
    let listener = tokio::net::TcpListener::bind(&settings.addr).await?;
    tracing::info!(addr = %listener.local_addr()?, database = %settings.database_url, "baton listening");
    if let Err(error) = app.serve(listener, app::stop_signal()).await {
        // Exit here rather than through the runtime's drop, which would
        // wait for a plugin call still running on a blocking thread.
        tracing::error!("{error:#}");
        std::process::exit(1);
    }
    Ok(())
}
