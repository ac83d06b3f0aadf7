//! `baton plugin ...`: the plugin developer's commands. Each error says
//! what to do next.

mod args;
mod build;
mod remote;
mod run_cases;
mod scaffold;

use std::path::{Path, PathBuf};

use args::Args;

pub(crate) const USAGE: &str = "usage:
  baton plugin new <name> --kind assignment|handoff|workflow [--dir <parent>] [--sdk <path>]
      a plugin crate that builds as is, with native tests and events.json
  baton plugin build [<crate dir>]
      build the component for wasm32-wasip2 and check it against the contract
  baton plugin test <component.wasm> --events <cases.json>
      run recorded cases in the server's sandbox: each answer, reason, fuel and time
  baton plugin upload <component.wasm>
      upload to a running server
  baton plugin bind <plugin id or name> --slot assignment|handoff|workflows [--config <json>]
      bind it (handoff and workflows: add it to the slot's list, or replace it there)

upload and bind talk to BATON_URL (default http://127.0.0.1:8080) with the
tenant's key in BATON_API_KEY; --server and --key override them.";

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

/// Run `baton plugin <args>`; the exit code.
pub(crate) async fn plugin(args: &[String]) -> i32 {
    match dispatch(args).await {
        Ok(()) => 0,
        Err(error) if error.usage => {
            eprintln!("error: {}\n\n{USAGE}", error.message);
            2
        }
        Err(error) => {
            eprintln!("error: {}", error.message);
            1
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

async fn dispatch(args: &[String]) -> Result<(), CliError> {
    let (command, rest) = args
        .split_first()
        .ok_or_else(|| CliError::usage("name a plugin command"))?;
    let args = Args::parse(rest)?;
    match command.as_str() {
        "new" => {
            let name = args.positional(0, "the plugin's name")?;
            let kind = scaffold::Kind::parse(&args.required("kind")?)?;
            let parent = args
                .value("dir")
                .map_or_else(|| PathBuf::from("."), PathBuf::from);
            let sdk = args.value("sdk").map(PathBuf::from);
            let dir = scaffold::new_plugin(&name, kind, &parent, sdk.as_deref())?;
            println!(
                "created {}\nnext: cd {} && cargo test && baton plugin build",
                dir.display(),
                dir.display()
            );
            Ok(())
        }
        "build" => {
            let dir = args.optional_positional(0).unwrap_or_else(|| ".".into());
            off_runtime(move || build::build(Path::new(&dir))).await
        }
        "test" => {
            let component = args.positional(0, "the component (.wasm) to test")?;
            let events = args.required("events")?;
            off_runtime(move || run_cases::run(Path::new(&component), Path::new(&events))).await
        }
        "upload" => {
            let component = args.positional(0, "the component (.wasm) to upload")?;
            remote::upload(&remote::Server::from(&args)?, Path::new(&component)).await
        }
        "bind" => {
            let plugin = args.positional(0, "the plugin (an id or a name) to bind")?;
            let slot = args.required("slot")?;
            let config = match args.value("config") {
                Some(text) => serde_json::from_str(&text).map_err(|e| {
                    CliError::usage(format!(
                        "--config is not JSON ({e}); e.g. --config '{{\"minutes\": 15}}'"
                    ))
                })?,
                None => serde_json::json!({}),
            };
            remote::bind(&remote::Server::from(&args)?, &plugin, &slot, config).await
        }
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(CliError::usage(format!(
            "{other:?} is not a plugin command"
        ))),
    }
}
