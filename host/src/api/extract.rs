//! Request extractors: JSON bodies whose every failure is an [`ApiError`]
//! naming the field, and the two kinds of credential.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;
use crate::store::TenantRecord;

/// A JSON body. Malformed JSON is a 400; a value of the wrong shape is a 422
/// naming the field, e.g. `capacity.chat` or `teams[0]`.
pub(super) struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if let Some(kind) = req.headers().get(header::CONTENT_TYPE) {
            let kind = kind.to_str().unwrap_or_default();
            if !kind.starts_with("application/json") {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    format!("expected Content-Type: application/json, got {kind}"),
                ));
            }
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_unreadable",
                e.body_text(),
            )
        })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Parse JSON into `T`, mapping errors to the field they concern.
pub(super) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let result: Result<T, _> = serde_path_to_error::deserialize(&mut deserializer);
    let value = result.map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("malformed JSON: {inner}"),
            );
        }
        let message = inner.to_string();
        // serde reports a missing field at its parent; name the field itself.
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned);
        let unknown = message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned);
        let parent = if path == "." { String::new() } else { path };
        let join = |name: String| {
            if parent.is_empty() {
                name
            } else {
                format!("{parent}.{name}")
            }
        };
        // An unknown field's path already ends with its name.
        let field = match (missing, unknown) {
            (Some(name), _) => join(name),
            (None, Some(name)) if parent.is_empty() => name,
            (None, _) if parent.is_empty() => "body".to_owned(),
            (None, _) => parent,
        };
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or_default()
            .to_owned();
        ApiError::invalid(field, message)
    })?;
    deserializer.end().map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("malformed JSON: {e}"),
        )
    })?;
    Ok(value)
}

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The tenant whose API key authorises the request.
pub(super) struct Tenant(pub TenantRecord);

impl FromRequestParts<AppState> for Tenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let key = bearer(parts)
            .ok_or_else(|| ApiError::unauthorized("send Authorization: Bearer <api key>"))?;
        state
            .store
            .tenant_by_key(key)
            .await?
            .map(Tenant)
            .ok_or_else(|| ApiError::unauthorized("unknown API key"))
    }
}

/// The operator, authorised by the operator token.
pub(super) struct Operator;

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)
            .ok_or_else(|| ApiError::unauthorized("send Authorization: Bearer <operator token>"))?;
        // Compare in constant time so the token cannot be guessed byte by byte.
        let expected = state.operator_token.as_bytes();
        let matches = token.len() == expected.len()
            && token
                .bytes()
                .zip(expected)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if matches {
            Ok(Operator)
        } else {
            Err(ApiError::unauthorized("wrong operator token"))
        }
    }
}
