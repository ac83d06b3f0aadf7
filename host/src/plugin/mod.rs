//! The plugin sandbox: one engine, compiled components cached by content
//! hash, and calls that run under fuel, epoch and memory limits.

pub mod bindings;
mod cache;
pub mod cases;
pub mod defaults;
mod engine;
mod imports;
mod legacy;
mod limits;
pub mod logs;
mod lower;
pub mod manifest;
mod registry;
mod request;
mod runtime;
pub mod schema;
mod state;

pub use limits::SandboxLimits;
pub use registry::{PluginRegistry, UploadError, Uploaded};
pub use request::{AgentState, AssignmentRequest, Candidate};
pub use runtime::{Answer, CallError, Compiled, LoadError, PluginRuntime, WarmStrategy};
pub use state::CallContext;
