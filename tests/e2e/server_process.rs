//! The server as a process of its own (`baton-e2e-serve`, configured from
//! the environment like `baton serve`), for tests that read it from
//! outside (its memory) or run several and kill one.

use std::io::BufRead as _;

/// A running server process; killed when dropped.
pub(crate) struct ServerProcess {
    child: std::process::Child,
    pub(crate) base: String,
}

impl ServerProcess {
    /// Start a server on `database_url` with the operator token `operator`
    /// and the extra settings `env`; returns once it listens.
    pub(crate) fn start(database_url: &str, operator: &str, env: &[(&str, &str)]) -> Self {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_baton-e2e-serve"));
        command
            .env("BATON_ADDR", "127.0.0.1:0")
            .env("BATON_DATABASE_URL", database_url)
            .env("BATON_OPERATOR_TOKEN", operator)
            .env("RUST_LOG", "error")
            .stdout(std::process::Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("the server starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the server says where it listens");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        Self {
            base: format!("http://{addr}"),
            child,
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no clean stop, nothing released.
    pub(crate) fn kill(&mut self) {
        self.child.kill().expect("killed");
        self.child.wait().expect("reaped");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
