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

    /// SIGTERM: the stop an orchestrator asks for.
    pub(crate) fn terminate(&self) {
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIGTERM sent");
    }

    /// Wait for the process to exit on its own, up to `limit` (then kill it
    /// and fail).
    pub(crate) fn wait_for_exit(&mut self, limit: std::time::Duration) -> std::process::ExitStatus {
        let started = std::time::Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("process status") {
                return status;
            }
            if started.elapsed() > limit {
                self.kill();
                panic!("the process did not exit within {limit:?}");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
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
