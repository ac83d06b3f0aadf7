//! The one error type of the API, and its JSON form:
//! `{"error": {"code", "message", "field"?}}`.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    /// A field whose value is not acceptable (422, naming the field).
    pub fn invalid(field: impl Into<String>, message: impl std::fmt::Display) -> Self {
        let field = field.into();
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid_field",
            message: format!("{field}: {message}"),
            field: Some(field),
        }
    }

    pub fn not_found(what: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("no {what}"))
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// An internal failure: logged in full, opaque to the caller.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; see the server log",
        )
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(message) => ApiError::conflict(message),
            other => ApiError::internal(other),
        }
    }
}

/// The body of every error answer.
#[derive(serde::Serialize, schemars::JsonSchema)]
#[schemars(rename = "Error")]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct ErrorDetail {
    /// A stable code, e.g. `invalid_field`, `not_found`, `conflict`.
    pub code: String,
    /// What a person reads.
    pub message: String,
    /// The input at fault, e.g. `capacity.chat` or `teams[0]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                field: self.field,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

/// The code a bare error status stands for.
fn code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::CONFLICT => "conflict",
        StatusCode::LENGTH_REQUIRED => "length_required",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::URI_TOO_LONG => "uri_too_long",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "unprocessable",
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        StatusCode::INTERNAL_SERVER_ERROR => "internal",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        status if status.is_client_error() => "bad_request",
        _ => "internal",
    }
}

/// Longest plain-text error body kept as the message of its JSON form;
/// axum's own rejection texts are a line or two.
const PLAIN_MESSAGE_LIMIT: usize = 4096;

/// Give an error response that is not JSON (one axum answers itself, e.g. a
/// rejection of one of its extractors) the JSON shape: the code from its
/// status, its text as the message (or the status's reason when it has
/// none), and its other headers, such as `Allow`, kept.
pub(super) async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|kind| kind.to_str().ok())
        .is_some_and(|kind| kind.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, PLAIN_MESSAGE_LIMIT)
        .await
        .ok()
        .and_then(|bytes| String::from_utf8(bytes.to_vec()).ok())
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty());
    let message =
        text.unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_lowercase());
    let (json, body) = ApiError::new(status, code_of(status), message)
        .into_response()
        .into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    if let Some(kind) = json.headers.get(header::CONTENT_TYPE) {
        parts.headers.insert(header::CONTENT_TYPE, kind.clone());
    }
    Response::from_parts(parts, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn json_of(response: Response) -> (StatusCode, Option<String>, serde_json::Value) {
        let status = response.status();
        let kind = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or_default().to_owned());
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (status, kind, body)
    }

    #[tokio::test]
    async fn a_plain_text_rejection_becomes_json_keeping_status_and_headers() {
        let plain = (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET,HEAD")],
            "Failed to do the thing",
        )
            .into_response();
        let converted = json_errors(plain).await;
        assert_eq!(converted.headers()[header::ALLOW], "GET,HEAD");
        let (status, kind, body) = json_of(converted).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(kind.as_deref(), Some("application/json"));
        assert_eq!(body["error"]["code"], "method_not_allowed");
        assert_eq!(body["error"]["message"], "Failed to do the thing");
    }

    #[tokio::test]
    async fn an_empty_error_gets_its_reason_as_message() {
        let (status, _, body) =
            json_of(json_errors(StatusCode::PAYLOAD_TOO_LARGE.into_response()).await).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(body["error"]["code"], "payload_too_large");
        assert_eq!(body["error"]["message"], "payload too large");
    }

    #[tokio::test]
    async fn json_errors_and_successes_pass_untouched() {
        let error = ApiError::invalid("limit", "too big").into_response();
        let (_, _, body) = json_of(json_errors(error).await).await;
        assert_eq!(body["error"]["field"], "limit");
        let ok = (StatusCode::OK, "plain").into_response();
        let passed = json_errors(ok).await;
        assert_eq!(passed.status(), StatusCode::OK);
        let bytes = axum::body::to_bytes(passed.into_body(), 100)
            .await
            .unwrap_or_default();
        assert_eq!(&bytes[..], b"plain");
    }
}
