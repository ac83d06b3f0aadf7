//! Liveness and readiness, for an orchestrator or a load balancer: no
//! credentials, no admission lane, nothing written.
//!
//! `GET /healthz` answers 200 while the process serves HTTP at all.
//! `GET /readyz` answers 200 when the process can do its work: the database
//! answers, has every migration this build knows, and the dispatcher runs
//! and is not stopping; otherwise 503. Both bodies name each check.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::AppState;
use super::openapi::JsonWithStatus;
use crate::routing::dispatcher::DispatcherState;

/// How long the database may take to answer before it counts as
/// unreachable: a probe must answer well within a prober's timeout.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(2);

/// The process answers.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(super) struct Live {
    /// Always `ok`.
    status: &'static str,
}

pub(super) async fn live() -> Json<Live> {
    Json(Live { status: "ok" })
}

/// Whether the process can do its work, and each check's finding.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(super) struct Readiness {
    /// `ready` or `not ready`.
    status: &'static str,
    checks: Checks,
}

/// What each readiness check found: `ok`, or what is wrong.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(super) struct Checks {
    database: String,
    migrations: String,
    /// The dispatcher's state: `running` when ready.
    dispatcher: &'static str,
}

pub(super) async fn ready(State(state): State<AppState>) -> JsonWithStatus<Readiness, 200, 503> {
    let pending = tokio::time::timeout(DATABASE_TIMEOUT, state.store.migrations_pending()).await;
    // Each check: whether it passed, and what it says.
    let (database, migrations) = match pending {
        Ok(Ok(0)) => ((true, "ok".to_owned()), (true, "ok".to_owned())),
        Ok(Ok(pending)) => (
            (true, "ok".to_owned()),
            (false, format!("{pending} pending")),
        ),
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness: the database did not answer");
            (
                (false, "unreachable".to_owned()),
                (false, "unknown".to_owned()),
            )
        }
        Err(_) => (
            (
                false,
                format!("no answer within {} s", DATABASE_TIMEOUT.as_secs()),
            ),
            (false, "unknown".to_owned()),
        ),
    };
    let dispatcher = state.dispatch.state();
    let ready = database.0 && migrations.0 && dispatcher == DispatcherState::Running;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    JsonWithStatus(
        status,
        Readiness {
            status: if ready { "ready" } else { "not ready" },
            checks: Checks {
                database: database.1,
                migrations: migrations.1,
                dispatcher: dispatcher.as_str(),
            },
        },
    )
}
