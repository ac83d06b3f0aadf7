//! Rhai: the rule as a script (`least_loaded.rhai`), compiled once to an
//! AST that every decision reuses. The candidates reach the script as an
//! array of object maps made with `rhai::serde::to_dynamic`, the usual way
//! to hand structured host data to a script without registering types; the
//! conversion is done for every decision, since the data changes each time.

use anyhow::{Result, anyhow, bail};
use baton_host::plugin::AssignmentRequest;
use rhai::{AST, Dynamic, Engine, Scope};

use crate::snapshot::channel_key;

const SCRIPT: &str = include_str!("least_loaded.rhai");

/// Rhai's counterpart of a fuel budget: a script running longer than this
/// many operations is stopped. Far above what 50 candidates need.
const MAX_OPERATIONS: u64 = 1_000_000;

pub(crate) struct Rhai {
    engine: Engine,
    ast: AST,
}

impl Rhai {
    pub(crate) fn new() -> Result<Self> {
        let mut engine = Engine::new();
        engine.set_max_operations(MAX_OPERATIONS);
        let ast = engine
            .compile(SCRIPT)
            .map_err(|e| anyhow!("compiling least_loaded.rhai: {e}"))?;
        Ok(Self { engine, ast })
    }

    pub(crate) fn decide(&self, request: &AssignmentRequest) -> Result<Option<String>> {
        let candidates = rhai::serde::to_dynamic(request.candidates())
            .map_err(|e| anyhow!("converting the candidates: {e}"))?;
        let mut scope = Scope::new();
        scope.push_constant_dynamic("channel", channel_key(request.conversation.channel).into());
        scope.push_constant("candidates", candidates);
        let answer: Dynamic = self
            .engine
            .eval_ast_with_scope(&mut scope, &self.ast)
            .map_err(|e| anyhow!("running least_loaded.rhai: {e}"))?;
        if answer.is_unit() {
            return Ok(None);
        }
        match answer.into_string() {
            Ok(id) => Ok(Some(id)),
            Err(kind) => bail!("least_loaded.rhai answered a {kind}, not an id"),
        }
    }
}
