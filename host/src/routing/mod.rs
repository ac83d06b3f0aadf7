//! Routing: the event dispatcher and the decisions it asks plugins for.
//!
//! Data path: an event row → [`dispatcher`] → the tenant's bound plugins
//! ([`assign`], [`handoff`], [`workflow`]) → host-side validation → one
//! transaction with the changes, history, failures and the event's mark.

mod actions;
mod assign;
mod dispatch_handle;
pub mod dispatcher;
mod group;
mod handoff;
mod hot;
pub mod queue;
pub mod recording;
mod rules;
mod snapshot;
pub mod spec;
mod ticket_facts;
pub mod timers;
pub mod workflow;

use std::sync::Arc;

use crate::domain::{AgentId, Change, ConversationId, Millis, PluginUse, TeamId, TenantId};
use crate::metrics::{CallKind, Metrics};
use crate::plugin::bindings::types;
use crate::plugin::{Answer, CallContext, CallError, PluginRegistry};
use crate::store::{Store, StoreError};

pub use assign::Scope;

/// Makes routing decisions for every tenant.
#[derive(Clone)]
pub struct Router {
    store: Store,
    plugins: Arc<PluginRegistry>,
    hot: Arc<hot::HotState>,
    metrics: Arc<Metrics>,
}

/// Cut a plugin-supplied text to the host's limit.
fn bounded(text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &text[..cut])
}

impl Router {
    pub fn new(store: Store, plugins: Arc<PluginRegistry>, metrics: Arc<Metrics>) -> Self {
        Self {
            store,
            plugins,
            hot: Arc::default(),
            metrics,
        }
    }

    /// The failure recorded for a plugin's call, naming the fallback taken;
    /// counted for `/metrics` as it is made.
    fn failure_change(
        &self,
        tenant: &TenantId,
        conversation: Option<&ConversationId>,
        plugin: &PluginUse,
        error: &CallError,
        fallback: &str,
    ) -> Change {
        tracing::warn!(plugin = %plugin.label(), failure = error.kind(), %error, %fallback, "plugin failed");
        self.metrics.plugin_failure(tenant, plugin, error);
        Change::Failure {
            conversation: conversation.cloned(),
            plugin_name: plugin.name.clone(),
            plugin_version: plugin.version.clone(),
            failure: error.kind().to_owned(),
            message: error.to_string(),
            fallback: fallback.to_owned(),
        }
    }

    /// The tenant's hot state as the database stands now (one small read;
    /// the parts that did not change since the last decision come from
    /// memory).
    /// Inside a group of decisions committed together, the group's state
    /// instead, with what it decided so far counted in ([`group`]).
    async fn hot(&self, tenant: &TenantId) -> Result<hot::TenantState, StoreError> {
        if let Some(state) = group::pending_state(tenant) {
            return Ok(state);
        }
        self.hot.current(&self.store, tenant).await
    }

    /// The hot state `held` for one event, read the first time it is
    /// needed: what the event's routing, workflows and notices decide on is
    /// one version of the tenant's state, read once.
    async fn hot_once<'a>(
        &self,
        tenant: &TenantId,
        held: &'a mut Option<hot::TenantState>,
    ) -> Result<&'a hot::TenantState, StoreError> {
        if held.is_none() {
            *held = Some(self.hot(tenant).await?);
        }
        Ok(held.as_ref().expect("read above"))
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    fn max_text(&self) -> usize {
        self.plugins.runtime().limits().max_answer_text
    }

    /// Check a target a plugin named: the id must be well-formed and belong
    /// to the tenant. `what` starts the error message ("handed over to").
    async fn target_scope(
        &self,
        tenant: &TenantId,
        target: types::HandoffTarget,
        what: &str,
    ) -> Result<Scope, CallError> {
        let unavailable = |e: StoreError| CallError::Unavailable(e.to_string());
        match target {
            types::HandoffTarget::AnyAgent => Ok(Scope::Any),
            types::HandoffTarget::Team(id) => {
                let team = TeamId::parse(&id).map_err(|_| {
                    CallError::Invalid(format!("{what} {id:?}, which is not a team id"))
                })?;
                if !self
                    .store
                    .team_exists(tenant, &team)
                    .await
                    .map_err(unavailable)?
                {
                    return Err(CallError::Invalid(format!("{what} unknown team {team}")));
                }
                Ok(Scope::Team(team))
            }
            types::HandoffTarget::Agent(id) => {
                let agent = AgentId::parse(&id).map_err(|_| {
                    CallError::Invalid(format!("{what} {id:?}, which is not an agent id"))
                })?;
                if !self
                    .store
                    .agent_exists(tenant, &agent)
                    .await
                    .map_err(unavailable)?
                {
                    return Err(CallError::Invalid(format!("{what} unknown agent {agent}")));
                }
                Ok(Scope::Agent(agent))
            }
        }
    }

    async fn context(
        &self,
        tenant: &TenantId,
        plugin: &PluginUse,
        now: Millis,
    ) -> Result<CallContext, StoreError> {
        Ok(CallContext {
            tenant: tenant.to_string(),
            plugin: plugin.label(),
            config: plugin.config.to_string(),
            now_ms: now.0,
            // Inside a group, with its writes not yet committed.
            kv: group::plugin_kv(&self.store, tenant, &plugin.name).await?,
        })
    }

    /// Run one plugin call on a blocking worker, bounded in time: a call
    /// may use its whole budget, and must not hold up the async runtime or
    /// the dispatcher meanwhile.
    async fn call<T: Send + 'static>(
        &self,
        tenant: &TenantId,
        plugin: &PluginUse,
        kind: CallKind,
        now: Millis,
        run: impl FnOnce(
            &crate::plugin::PluginRuntime,
            &crate::plugin::Compiled,
            CallContext,
        ) -> Result<Answer<T>, CallError>
        + Send
        + 'static,
    ) -> Result<Answer<T>, CallError> {
        let compiled = self.plugins.compiled(&plugin.sha256).await?;
        let ctx = self
            .context(tenant, plugin, now)
            .await
            .map_err(|e| CallError::Unavailable(e.to_string()))?;
        let started = std::time::Instant::now();
        let answer = self
            .plugins
            .runtime()
            .call_bounded(move |runtime| run(runtime, &compiled, ctx))
            .await;
        let fuel = answer.as_ref().ok().map(|a| a.fuel_used);
        self.metrics
            .plugin_call(tenant, plugin, kind, started.elapsed(), fuel);
        answer
    }

    async fn decide(
        &self,
        tenant: &TenantId,
        plugin: &PluginUse,
        now: Millis,
        request: crate::plugin::AssignmentRequest,
    ) -> Result<Answer<types::AssignmentDecision>, CallError> {
        self.call(tenant, plugin, CallKind::Decide, now, move |rt, c, ctx| {
            rt.decide(c, ctx, &request)
        })
        .await
    }

    async fn evaluate(
        &self,
        tenant: &TenantId,
        plugin: &PluginUse,
        now: Millis,
        conversation: types::Conversation,
        message: types::Message,
    ) -> Result<Answer<types::HandoffDecision>, CallError> {
        self.call(
            tenant,
            plugin,
            CallKind::Evaluate,
            now,
            move |rt, c, ctx| rt.evaluate(c, ctx, &conversation, &message),
        )
        .await
    }

    async fn matches(
        &self,
        tenant: &TenantId,
        plugin: &PluginUse,
        now: Millis,
        conversation: types::Conversation,
    ) -> Result<Answer<bool>, CallError> {
        self.call(tenant, plugin, CallKind::Matches, now, move |rt, c, ctx| {
            rt.matches(c, ctx, &conversation)
        })
        .await
    }

    async fn on_event(
        &self,
        tenant: &TenantId,
        plugin: &PluginUse,
        now: Millis,
        event: types::Event,
    ) -> Result<Answer<Vec<types::Action>>, CallError> {
        self.call(tenant, plugin, CallKind::OnEvent, now, move |rt, c, ctx| {
            rt.on_event(c, ctx, &event)
        })
        .await
    }
}
