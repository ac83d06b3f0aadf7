//! Uploading and listing plugins, and reading their recorded failures and
//! what they logged.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};

use super::AppState;
use super::error::ApiError;
use super::extract::{Body, Path, Query, Tenant};
use super::openapi::JsonWithStatus;
use super::page::PageQuery;
use crate::domain::{Page, PluginId};
use crate::plugin::logs::LogLine;
use crate::plugin::{LoadError, UploadError, Uploaded};
use crate::store::{FailureRecord, PluginRecord};
use axum::response::NoContent;

pub(super) async fn upload(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    headers: HeaderMap,
    Body(body): Body,
) -> Result<JsonWithStatus<PluginRecord, 201, 200>, ApiError> {
    let kind = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if kind != "application/wasm" {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "upload the component's bytes with Content-Type: application/wasm",
        ));
    }
    match state.plugins.upload(&tenant.id, body.to_vec()).await {
        Ok(Uploaded::Created(plugin)) => Ok(JsonWithStatus(StatusCode::CREATED, plugin)),
        Ok(Uploaded::Existing(plugin)) => Ok(JsonWithStatus(StatusCode::OK, plugin)),
        Err(error) => Err(upload_error(error)),
    }
}

fn upload_error(error: UploadError) -> ApiError {
    let unprocessable = |code: &'static str, message: String| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message).with_field("body")
    };
    match error {
        UploadError::Load(LoadError::TooLarge { .. }) => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "component_too_large",
            error.to_string(),
        ),
        UploadError::Load(LoadError::NotWasm | LoadError::CoreModule) => {
            unprocessable("not_a_component", error.to_string())
        }
        UploadError::Load(LoadError::NoWorld(_)) => {
            unprocessable("unknown_world", error.to_string())
        }
        UploadError::Load(LoadError::UnsupportedContract { .. }) => {
            unprocessable("unsupported_contract", error.to_string())
        }
        UploadError::Load(LoadError::Imports(_)) => {
            unprocessable("unsupported_imports", error.to_string())
        }
        UploadError::Load(LoadError::Invalid(_)) => {
            unprocessable("invalid_component", error.to_string())
        }
        UploadError::Describe(_) => unprocessable("describe_failed", error.to_string()),
        UploadError::Manifest(_) => unprocessable("invalid_manifest", error.to_string()),
        UploadError::CompileTimeout(_) => unprocessable("compile_timeout", error.to_string()),
        UploadError::Busy(_) => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_uploads",
            error.to_string(),
        ),
        UploadError::Store(store) => store.into(),
    }
}

/// Where a plugin version stands in the list: built-ins first (by name,
/// which is their id), then the tenant's uploads in the order they came
/// (upload ids are made in time order).
fn place(id: &str) -> (bool, String) {
    (PluginId::parse(id).is_ok(), id.to_owned())
}

/// A page of the plugin versions the tenant can bind.
pub(super) async fn list(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
) -> Result<Json<Page<PluginRecord>>, ApiError> {
    // Any text places itself in the order, so any cursor is one.
    let page = query.request(|raw| Ok(place(raw)))?;
    let mut plugins = state.store.list_plugins(&tenant.id).await?;
    plugins.sort_by_key(|p| place(&p.id));
    Ok(Json(Page::slice(
        plugins,
        &page,
        |p| place(&p.id),
        |p| p.id.clone(),
    )))
}

/// Delete one of the tenant's uploaded plugin versions that nothing uses
/// any more (409 saying what still does, if something does).
pub(super) async fn delete(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<NoContent, ApiError> {
    let uses = state
        .store
        .delete_plugin(&tenant.id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format_args!("uploaded plugin {id}")))?;
    match uses.refusal() {
        Some(refusal) => Err(ApiError::conflict(refusal)),
        None => Ok(NoContent),
    }
}

/// Recent plugin failures, newest first: which plugin and version, what
/// went wrong, and what the host did instead.
pub(super) async fn failures(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
) -> Result<Json<Page<FailureRecord>>, ApiError> {
    let page = query.by_row()?;
    Ok(Json(state.store.failures(&tenant.id, &page).await?))
}

/// What a plugin logged lately.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(super) struct PluginLog {
    plugin: String,
    name: String,
    version: String,
    /// Oldest first; the latest lines the server kept (see
    /// `plugin::logs`), while it has run.
    lines: Vec<LogLine>,
}

/// The lines a plugin version (an id, or a name for its newest version)
/// logged in this tenant's calls: a plugin developer reads their code's
/// own `log()` lines here, without the server's log.
pub(super) async fn logs(
    Tenant(tenant): Tenant,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<PluginLog>, ApiError> {
    let record = state
        .store
        .find_plugin(&tenant.id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format_args!("plugin {id}")))?;
    let label = format!("{}@{}", record.name, record.version);
    let lines = state
        .plugins
        .runtime()
        .logs()
        .lines(tenant.id.as_str(), &label);
    Ok(Json(PluginLog {
        plugin: record.id,
        name: record.name,
        version: record.version,
        lines,
    }))
}

/// The contract versions this host runs: plugins built against any of them
/// are accepted.
pub(super) async fn contracts() -> Json<Contracts> {
    Json(Contracts {
        package: "baton:plugin",
        current: crate::plugin::bindings::CURRENT,
        supported: crate::plugin::bindings::SUPPORTED,
    })
}

/// The WIT package and the versions of it this host runs.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(super) struct Contracts {
    package: &'static str,
    /// What new plugins are built against.
    current: &'static str,
    /// Every version accepted, oldest first.
    supported: &'static [&'static str],
}
