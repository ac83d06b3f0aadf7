//! `baton serve`: the routing server; `baton plugin ...`: the plugin
//! developer's commands.

mod cli;

use baton_host::{App, app};
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use tracing_subscriber::EnvFilter;

/// Baton: a help-desk routing server whose routing decisions (who gets a
/// conversation, when a bot hands over, what happens next) are made by
/// WebAssembly plugins.
#[derive(Debug, Parser)]
#[command(name = "baton", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// The log's lines: text, or one JSON object each (with the request's
    /// id, method and path for what a request logs)
    #[arg(long, global = true, env = "BATON_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the routing server; every setting is a flag or its BATON_*
    /// variable
    Serve(Box<cli::ServeArgs>),
    /// The plugin developer's commands
    #[command(subcommand)]
    Plugin(cli::PluginCommand),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Parsed before anything starts: `--help`, `--version` and mistakes
    // print and exit here.
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    // The log on stderr, so stdout carries only what a command prints (the
    // operator token once).
    let log = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr);
    match cli.log_format {
        // Colour codes only for a terminal, not for a file or a collector.
        LogFormat::Text => log
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => log.json().with_ansi(false).init(),
    }
    match cli.command {
        Command::Serve(args) => {
            let serve_matches = matches
                .subcommand_matches("serve")
                .expect("parsed as serve");
            serve(args, serve_matches).await
        }
        Command::Plugin(command) => std::process::exit(cli::plugin(command).await),
    }
}

async fn serve(args: Box<cli::ServeArgs>, matches: &ArgMatches) -> anyhow::Result<()> {
    let settings = match args.settings(matches) {
        Ok(settings) => settings,
        // Refused as the parser refuses a value: exit 2.
        Err(message) => {
            let mut command = Cli::command();
            command.build();
            let serve = command
                .find_subcommand_mut("serve")
                .expect("serve is a command");
            serve
                .error(clap::error::ErrorKind::ValueValidation, message)
                .exit()
        }
    };
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
