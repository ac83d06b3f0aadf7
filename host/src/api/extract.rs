//! Request extractors: JSON bodies, raw bodies, path parameters and query
//! strings whose every failure is an [`ApiError`] naming the field, and the
//! credentials: the operator token, a tenant's API key and members' tokens.

use axum::body::Bytes;
use axum::extract::path::ErrorKind;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;
use crate::domain::{AgentId, AgentRecord, Role, TicketAccess};
use crate::store::{TenantRecord, Visibility};

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
        let Body(bytes) = Body::from_request(req, state).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// The most bytes a route reads from a request body. It is set on a router
/// together with axum's `DefaultBodyLimit` (see `api::limit_body`) so that a
/// body over the limit is refused saying what the limit is.
#[derive(Clone, Copy)]
pub(super) struct BodyLimit(pub usize);

/// A request body's bytes. A body over the route's [`BodyLimit`] is a 413
/// `payload_too_large` giving the limit.
pub(super) struct Body(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let limit = req.extensions().get::<BodyLimit>().copied();
        Bytes::from_request(req, state)
            .await
            .map(Body)
            .map_err(|rejection| body_error(&rejection, limit))
    }
}

fn body_error(rejection: &BytesRejection, limit: Option<BodyLimit>) -> ApiError {
    if rejection.status() != StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "body_unreadable",
            rejection.body_text(),
        );
    }
    let message = match limit {
        Some(BodyLimit(bytes)) => {
            format!("the request body is larger than the limit of {bytes} bytes")
        }
        None => "the request body is too large".to_owned(),
    };
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
}

/// Path parameters. A parameter that cannot be read (e.g. `%FF`, which is
/// not UTF-8 once decoded) is a 400 `invalid_path` naming the parameter.
pub(super) struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(rejection) => Err(path_error(rejection)),
        }
    }
}

fn path_error(rejection: PathRejection) -> ApiError {
    let invalid = |key: String, message: String| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_path",
            format!("{key}: {message}"),
        )
        .with_field(key)
    };
    let PathRejection::FailedToDeserializePathParams(failed) = rejection else {
        // The route has no parameters for this handler: a bug, not bad input.
        return ApiError::internal(rejection.body_text());
    };
    if failed.status().is_server_error() {
        return ApiError::internal(failed.body_text());
    }
    match failed.into_kind() {
        ErrorKind::InvalidUtf8InPathParam { key } => {
            invalid(key, "not valid UTF-8 once percent-decoded".to_owned())
        }
        ErrorKind::ParseErrorAtKey {
            key,
            value,
            expected_type,
        } => invalid(key, format!("`{value}` is not a valid {expected_type}")),
        ErrorKind::DeserializeError {
            key,
            value,
            message,
        } => invalid(key, format!("`{value}`: {message}")),
        other => ApiError::new(StatusCode::BAD_REQUEST, "invalid_path", other.to_string()),
    }
}

/// A query string. A parameter of the wrong type or an unknown parameter is
/// a 422 naming it, e.g. `limit` for `?limit=-1`, as a JSON body's field is.
pub(super) struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(Query)
            .map_err(|error| {
                let path = error.path().to_string();
                invalid_at(path, error.into_inner().to_string(), "query")
            })
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
        let message = message.split(" at line ").next().unwrap_or_default();
        invalid_at(path, message.to_owned(), "body")
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

/// A 422 naming the field that serde's `message` at `path` (as
/// serde_path_to_error writes it) concerns; `whole` when it concerns no one
/// field, e.g. a body that is not an object.
fn invalid_at(path: String, message: String, whole: &str) -> ApiError {
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
        (None, _) if parent.is_empty() => whole.to_owned(),
        (None, _) => parent,
    };
    ApiError::invalid(field, message)
}

fn bearer(parts: &Parts) -> Option<&str> {
    bearer_of(&parts.headers)
}

/// The credential in `Authorization: Bearer <credential>`.
pub(super) fn bearer_of(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

fn forbidden(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
}

/// The tenant whose API key authorises the request. An admin's member
/// token is accepted too: an admin may do whatever the tenant's
/// integration may; other members use the member-facing calls (tickets).
pub(super) struct Tenant(pub TenantRecord);

impl FromRequestParts<AppState> for Tenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let key = bearer(parts)
            .ok_or_else(|| ApiError::unauthorized("send Authorization: Bearer <api key>"))?;
        if let Some(tenant) = state.store.tenant_by_key(key).await? {
            return Ok(Tenant(tenant));
        }
        let Some((tenant, agent)) = state.store.member_by_token(key).await? else {
            return Err(ApiError::unauthorized("unknown API key"));
        };
        match state.store.get_agent(&tenant.id, &agent).await? {
            Some(member) if member.role == Role::Admin => Ok(Tenant(tenant)),
            Some(_) => Err(forbidden(
                "this call takes the tenant's API key or an admin's member token",
            )),
            None => Err(ApiError::unauthorized("unknown API key")),
        }
    }
}

/// The member named in `X-Baton-Agent`, if the header is there.
pub(super) fn named_member(headers: &HeaderMap) -> Option<Result<AgentId, ApiError>> {
    let raw = headers.get("x-baton-agent")?;
    Some(
        raw.to_str()
            .ok()
            .and_then(|v| AgentId::parse(v.trim()).ok())
            .ok_or_else(|| forbidden("X-Baton-Agent must name an agent (agt_...)")),
    )
}

/// Who is asking, for the member-facing calls (tickets): the tenant, the
/// acting member, and which tickets the request may see.
pub(super) struct Actor {
    pub tenant: TenantRecord,
    /// The member token's agent; with the tenant's API key, the member
    /// named in `X-Baton-Agent`, if any.
    pub member: Option<AgentRecord>,
    /// A member token sees what the member's ticket access allows; the API
    /// key (an integration) sees every ticket.
    pub visibility: Visibility,
}

impl Actor {
    /// The acting member, or a 403 saying `what` needs one.
    pub(super) fn member(&self, what: &str) -> Result<&AgentRecord, ApiError> {
        self.member.as_ref().ok_or_else(|| {
            forbidden(format!(
                "{what} is a member's: use a member token, or name the member in X-Baton-Agent"
            ))
        })
    }

    /// The acting member if an admin, or a 403 saying only an admin may `what`.
    pub(super) fn admin(&self, what: &str) -> Result<&AgentRecord, ApiError> {
        match &self.member {
            Some(member) if member.role == Role::Admin => Ok(member),
            Some(_) => Err(forbidden(format!("only an admin may {what}"))),
            None => Err(forbidden(format!(
                "only an admin may {what}: use an admin's member token, or name the admin in X-Baton-Agent"
            ))),
        }
    }
}

impl FromRequestParts<AppState> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let key = bearer(parts).ok_or_else(|| {
            ApiError::unauthorized("send Authorization: Bearer <api key or member token>")
        })?;
        if let Some(tenant) = state.store.tenant_by_key(key).await? {
            let member = match named_member(&parts.headers) {
                Some(id) => {
                    let id = id?;
                    let member = state.store.get_agent(&tenant.id, &id).await?;
                    Some(member.ok_or_else(|| {
                        forbidden(format!("X-Baton-Agent: no agent {id} in this tenant"))
                    })?)
                }
                None => None,
            };
            return Ok(Actor {
                tenant,
                member,
                visibility: Visibility::All,
            });
        }
        let (tenant, agent) = state
            .store
            .member_by_token(key)
            .await?
            .ok_or_else(|| ApiError::unauthorized("unknown API key or member token"))?;
        let member = state
            .store
            .get_agent(&tenant.id, &agent)
            .await?
            .ok_or_else(|| ApiError::unauthorized("unknown API key or member token"))?;
        let visibility = match member.ticket_access {
            TicketAccess::All => Visibility::All,
            access => Visibility::Member {
                agent: member.id.clone(),
                access,
            },
        };
        Ok(Actor {
            tenant,
            member: Some(member),
            visibility,
        })
    }
}

/// The operator, authorised by the operator token.
pub(super) struct Operator;

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)
            .ok_or_else(|| ApiError::unauthorized("send Authorization: Bearer <operator token>"))?;
        if is_operator_token(state, token) {
            Ok(Operator)
        } else {
            Err(ApiError::unauthorized("wrong operator token"))
        }
    }
}

/// Whether `token` is the operator's, compared in constant time so that
/// the token cannot be guessed byte by byte.
pub(super) fn is_operator_token(state: &AppState, token: &str) -> bool {
    let expected = state.operator_token.as_bytes();
    token.len() == expected.len()
        && token
            .bytes()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}
