//! `baton plugin ...`: the plugin developer's commands. Each error says
//! what to do next.

mod build;
mod remote;
mod run_cases;
mod scaffold;
mod serve;

use std::path::PathBuf;

use clap::{Args, Subcommand};
pub(crate) use serve::ServeArgs;

/// `baton plugin <command>`.
#[derive(Debug, Subcommand)]
pub(crate) enum PluginCommand {
    /// Make a plugin crate that builds as is, with native tests and
    /// events.json
    New {
        /// The plugin's name (its crate's, and its directory's)
        name: String,
        /// What the plugin decides
        #[arg(long, value_enum)]
        kind: scaffold::Kind,
        /// Where to make its directory
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Depend on the SDK in this folder (a checkout's sdk/) instead of
        /// the baton-sdk release of this version from crates.io
        #[arg(long, value_name = "PATH")]
        sdk: Option<PathBuf>,
    },
    /// Build the component for wasm32-wasip2 and check it against the
    /// contract
    Build {
        /// The plugin's crate
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Run recorded cases in the server's sandbox: each answer, reason,
    /// fuel and time
    Test {
        /// The component (.wasm) to test [default: where `baton plugin
        /// build` puts the crate's, honouring CARGO_TARGET_DIR]
        component: Option<PathBuf>,
        /// The recorded cases (JSON) [default: the crate's events.json]
        #[arg(long)]
        events: Option<PathBuf>,
        /// The plugin's crate, when no component is given
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// A config (JSON) for every case, in place of each case's own
        #[arg(long)]
        config: Option<String>,
    },
    /// Upload a component to a running server
    Upload {
        /// The component (.wasm) to upload
        component: PathBuf,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Print what a plugin logged in the tenant's calls, oldest first
    Logs {
        /// The plugin, by id or name (its newest version)
        plugin: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List the plugin versions the tenant can bind: built-ins, then
    /// uploads in the order they came
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Delete one of the tenant's uploaded versions that nothing binds
    Delete {
        /// The version's id
        plugin: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Take a plugin out of the handoff or workflows slot's list (the
    /// assignment slot always runs a strategy: bind another, or roll back)
    Unbind {
        /// The plugin, by id or name
        plugin: String,
        /// The slot: handoff or workflows
        #[arg(long)]
        slot: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Return a slot to the binding it had before the last change
    Rollback {
        /// The slot: assignment, handoff or workflows
        slot: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Bind a plugin (handoff and workflows: add it to the slot's list, or
    /// replace it there)
    Bind {
        /// The plugin, by id or name
        plugin: String,
        /// The slot: assignment, handoff or workflows
        #[arg(long)]
        slot: String,
        /// Its configuration, JSON
        #[arg(long)]
        config: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// Which server the commands that call one talk to, as which tenant.
#[derive(Debug, Args)]
pub(crate) struct ServerArgs {
    /// The server's address
    #[arg(long, env = "BATON_URL", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// The tenant's API key
    #[arg(long, env = "BATON_API_KEY", hide_env_values = true)]
    key: Option<String>,
}

/// A failed command: the message, and whether it was a usage mistake.
#[derive(Debug)]
pub(crate) struct CliError {
    pub message: String,
    pub usage: bool,
}

impl CliError {
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            usage: true,
        }
    }

    pub(crate) fn failed(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            usage: false,
        }
    }
}

/// Run `baton plugin <command>`; the exit code (2 for a usage mistake, as
/// for the ones the parser finds).
pub(crate) async fn plugin(command: PluginCommand) -> i32 {
    match run(command).await {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("error: {}", error.message);
            if error.usage { 2 } else { 1 }
        }
    }
}

/// Run a command that calls the plugin outside the async runtime's threads:
/// WASI's synchronous host functions (a socket, a poll) enter the runtime
/// themselves, which panics on one of its own threads.
async fn off_runtime(
    command: impl FnOnce() -> Result<(), CliError> + Send + 'static,
) -> Result<(), CliError> {
    tokio::task::spawn_blocking(command)
        .await
        .map_err(|e| CliError::failed(format!("the command failed: {e}")))?
}

/// A `--config` argument, which must be JSON.
fn config_json(text: &str) -> Result<serde_json::Value, CliError> {
    serde_json::from_str(text).map_err(|e| {
        CliError::usage(format!(
            "--config is not JSON ({e}); e.g. --config '{{\"minutes\": 15}}'"
        ))
    })
}

async fn run(command: PluginCommand) -> Result<(), CliError> {
    match command {
        PluginCommand::New {
            name,
            kind,
            dir,
            sdk,
        } => {
            let dir = scaffold::new_plugin(&name, kind, &dir, sdk.as_deref())?;
            println!(
                "created {}\nnext: cd {} && cargo test && baton plugin build",
                dir.display(),
                dir.display()
            );
            Ok(())
        }
        PluginCommand::Build { dir } => off_runtime(move || build::build(&dir)).await,
        PluginCommand::Test {
            component,
            events,
            dir,
            config,
        } => {
            let config = config.as_deref().map(config_json).transpose()?;
            off_runtime(move || {
                let component = match component {
                    Some(path) => path,
                    None => build::built_component(&dir)?,
                };
                let events = events.unwrap_or_else(|| dir.join("events.json"));
                run_cases::run(&component, &events, config.as_ref())
            })
            .await
        }
        PluginCommand::List { server } => remote::list(&remote::Server::from(&server)?).await,
        PluginCommand::Delete { plugin, server } => {
            remote::delete(&remote::Server::from(&server)?, &plugin).await
        }
        PluginCommand::Unbind {
            plugin,
            slot,
            server,
        } => remote::unbind(&remote::Server::from(&server)?, &plugin, &slot).await,
        PluginCommand::Rollback { slot, server } => {
            remote::rollback(&remote::Server::from(&server)?, &slot).await
        }
        PluginCommand::Upload { component, server } => {
            remote::upload(&remote::Server::from(&server)?, &component).await
        }
        PluginCommand::Logs { plugin, server } => {
            remote::logs(&remote::Server::from(&server)?, &plugin).await
        }
        PluginCommand::Bind {
            plugin,
            slot,
            config,
            server,
        } => {
            let config = match config {
                Some(text) => config_json(&text)?,
                None => serde_json::json!({}),
            };
            remote::bind(&remote::Server::from(&server)?, &plugin, &slot, config).await
        }
    }
}
