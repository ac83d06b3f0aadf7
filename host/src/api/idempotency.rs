//! `Idempotency-Key` on the POSTs a channel retries: creating a
//! conversation, adding a message (the tenant's or the customer's),
//! inbound e-mail and forms. The rules are
//! [`crate::domain::idempotency`]'s; this applies them around the route.
//!
//! The request runs on a task of its own once its key is taken, so a
//! client that gives up waiting (the usual reason to retry) does not stop
//! it half-way: the answer is still recorded and the retry gets it.

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::extract::{BodyLimit, bearer_of};
use super::{ApiError, AppState};
use crate::domain::TenantId;
use crate::domain::idempotency::{Claim, IdempotencyKey, Recorded, keeps};

/// The header a client names its attempt with.
const KEY_HEADER: &str = "idempotency-key";
/// Set on an answer that repeats the first one.
const REPLAYED_HEADER: &str = "idempotent-replayed";

pub(super) async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(raw) = request.headers().get(KEY_HEADER) else {
        return next.run(request).await;
    };
    let key = match raw.to_str().map(IdempotencyKey::parse) {
        Ok(Ok(key)) => key,
        Ok(Err(invalid)) => return ApiError::invalid("Idempotency-Key", invalid).into_response(),
        Err(_) => {
            return ApiError::invalid("Idempotency-Key", "must be visible ASCII characters")
                .into_response();
        }
    };
    // A request whose credential names no tenant is the handler's to
    // refuse; it has no key space to use.
    // Owned: the request's body may not be held across an await.
    let path = request.uri().path().to_owned();
    let credential = bearer_of(request.headers()).map(str::to_owned);
    let tenant = match scope(&state, &path, credential.as_deref()).await {
        Ok(Some(tenant)) => tenant,
        Ok(None) => return next.run(request).await,
        Err(error) => return error.into_response(),
    };
    let (parts, body) = request.into_parts();
    let limit = parts
        .extensions
        .get::<BodyLimit>()
        .map_or(super::JSON_LIMIT, |limit| limit.0);
    let Ok(bytes) = to_bytes(body, limit).await else {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body must be at most {limit} bytes"),
        )
        .into_response();
    };
    let fingerprint = fingerprint(parts.method.as_str(), parts.uri.path(), &bytes);
    let claim = match state
        .store
        .claim_idempotency_key(&tenant, &key, &fingerprint)
        .await
    {
        Ok(claim) => claim,
        Err(error) => return ApiError::from(error).into_response(),
    };
    match claim {
        Claim::Taken => {
            let request = Request::from_parts(parts, Body::from(bytes));
            let run = tokio::spawn(run_and_record(state, tenant, key, next, request));
            run.await
                .unwrap_or_else(|error| ApiError::internal(error).into_response())
        }
        Claim::Replay(answer) => replay(answer),
        Claim::Running => ApiError::conflict(
            "a request with this Idempotency-Key is still running; retry when it has answered",
        )
        .with_field("Idempotency-Key")
        .into_response(),
        Claim::OtherRequest => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "this Idempotency-Key was used with another request; \
             use a new key for a new request",
        )
        .with_field("Idempotency-Key")
        .into_response(),
    }
}

/// Run the request, then keep its answer under the key or, if the answer
/// says nothing was done, give the key back.
async fn run_and_record(
    state: AppState,
    tenant: TenantId,
    key: IdempotencyKey,
    next: Next,
    request: Request,
) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !keeps(status.as_u16()) {
        if let Err(error) = state.store.release_idempotency_key(&tenant, &key).await {
            tracing::error!(%error, "giving back an idempotency key failed");
        }
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = match to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(error) => return ApiError::internal(error).into_response(),
    };
    let answer = Recorded {
        status: status.as_u16(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    };
    if let Err(error) = state
        .store
        .record_idempotent_answer(&tenant, &key, &answer)
        .await
    {
        // The request did its work; its repeats will hear it is running
        // until the key expires, rather than do it twice.
        tracing::error!(%error, "recording an idempotent answer failed");
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn replay(answer: Recorded) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = (status, answer.body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    response
}

/// Whose keys the request uses: the tenant of its API key or member
/// token, or of the customer link it posts to.
async fn scope(
    state: &AppState,
    path: &str,
    credential: Option<&str>,
) -> Result<Option<TenantId>, ApiError> {
    if let Some(token) = path
        .strip_prefix("/v1/customer/")
        .and_then(|rest| rest.strip_suffix("/messages"))
    {
        let found = state.store.customer_conversation(token).await?;
        return Ok(found.map(|(tenant, _)| tenant));
    }
    let Some(credential) = credential else {
        return Ok(None);
    };
    if let Some(tenant) = state.store.tenant_by_key(credential).await? {
        return Ok(Some(tenant.id));
    }
    Ok(state
        .store
        .member_by_token(credential)
        .await?
        .map(|(tenant, _)| tenant.id))
}

/// What makes two requests the same: method, path and body.
fn fingerprint(method: &str, path: &str, body: &Bytes) -> String {
    let mut hash = Sha256::new();
    hash.update(method.as_bytes());
    hash.update(b" ");
    hash.update(path.as_bytes());
    hash.update(b"\n");
    hash.update(body);
    hex::encode(hash.finalize())
}
