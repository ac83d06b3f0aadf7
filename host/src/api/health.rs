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
use serde_json::{Value, json};

use super::AppState;
use crate::routing::dispatcher::DispatcherState;

/// How long the database may take to answer before it counts as
/// unreachable: a probe must answer well within a prober's timeout.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(2);

pub(super) async fn live() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub(super) async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
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
    (
        status,
        Json(json!({
            "status": if ready { "ready" } else { "not ready" },
            "checks": {
                "database": database.1,
                "migrations": migrations.1,
                "dispatcher": dispatcher.as_str(),
            }
        })),
    )
}
