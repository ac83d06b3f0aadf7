//! `GET/PUT /v1/settings/lifecycle`: closing conversations automatically
//! after a period without messages.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use super::AppState;
use super::error::ApiError;
use super::extract::{JsonBody, Tenant};
use crate::domain::parse_duration_ms;
use crate::store::Lifecycle;

/// Shortest inactivity period accepted: closing sooner than a minute after
/// the last message would close conversations mid-reply.
const MIN_AUTO_CLOSE_MS: i64 = 60_000;
const MAX_AUTO_CLOSE_MS: i64 = 366 * 24 * 3_600_000;
const MAX_MESSAGE: usize = 2_000;

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct LifecycleBody {
    /// "30m", "24h", ... or null to keep conversations open.
    auto_close_after: Option<String>,
    auto_close_message: Option<String>,
}

/// The lifecycle settings as the API shows them.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(super) struct LifecycleView {
    /// How long after the last message an open conversation closes, e.g.
    /// "1day"; `null`: never.
    auto_close_after: Option<String>,
    auto_close_message: Option<String>,
}

fn view(settings: &Lifecycle) -> LifecycleView {
    LifecycleView {
        auto_close_after: settings.auto_close_after_ms.map(|ms| {
            humantime::format_duration(std::time::Duration::from_millis(ms.unsigned_abs()))
                .to_string()
        }),
        auto_close_message: settings.auto_close_message.clone(),
    }
}

pub(super) async fn get(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
) -> Result<Json<LifecycleView>, ApiError> {
    Ok(Json(view(&state.store.lifecycle(&tenant.id).await?)))
}

/// Replace the settings. Turning auto-close on applies to every open
/// conversation at once, counted from its last message.
pub(super) async fn put(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<LifecycleBody>,
) -> Result<Json<LifecycleView>, ApiError> {
    let after = body
        .auto_close_after
        .as_deref()
        .map(|text| {
            let ms =
                parse_duration_ms(text).map_err(|e| ApiError::invalid("auto_close_after", e))?;
            if !(MIN_AUTO_CLOSE_MS..=MAX_AUTO_CLOSE_MS).contains(&ms) {
                return Err(ApiError::invalid(
                    "auto_close_after",
                    "must be from one minute to a year",
                ));
            }
            Ok(ms)
        })
        .transpose()?;
    let message = match body.auto_close_message.as_deref().map(str::trim) {
        Some("") | None => None,
        Some(text) if text.chars().count() > MAX_MESSAGE => {
            return Err(ApiError::invalid(
                "auto_close_message",
                format!("must be at most {MAX_MESSAGE} characters"),
            ));
        }
        Some(text) => Some(text.to_owned()),
    };
    let settings = Lifecycle {
        auto_close_after_ms: after,
        auto_close_message: message,
    };
    state.store.put_lifecycle(&tenant.id, &settings).await?;
    Ok(Json(view(&settings)))
}
