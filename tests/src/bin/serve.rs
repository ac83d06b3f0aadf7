//! The server as its own process, configured from the environment like
//! `baton serve`, for tests that measure it from outside (its memory).
//! Prints `listening on <addr>` once it accepts connections.

use std::io::Write as _;

use baton_host::{App, Settings};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let settings = Settings::from_env(|name| std::env::var(name).ok())?;
    let token = settings
        .operator_token
        .clone()
        .ok_or("set BATON_OPERATOR_TOKEN")?;
    let app = App::start(&settings, token).await?;
    let listener = tokio::net::TcpListener::bind(&settings.addr).await?;
    println!("listening on {}", listener.local_addr()?);
    std::io::stdout().flush()?;
    if let Err(error) = app.serve(listener, baton_host::app::stop_signal()).await {
        // As `baton serve` does: not through the runtime's drop, which
        // would wait for a plugin call still running.
        eprintln!("{error:#}");
        std::process::exit(1);
    }
    Ok(())
}
