//! The API's OpenAPI 3.1 description, made from the router itself.
//!
//! Every route is added with aide's `api_route`, which reads the handler's
//! own argument and return types: a `JsonBody<T>` argument is the request
//! body `T`, a `Json<T>` return is the 200 answer `T`, `Created<T>` the 201,
//! `ApiError` the error shape. So the description cannot say something the
//! handler does not do. What types cannot say (which parameters a path
//! template has, how the credentials are sent) is added in [`finish`].
//!
//! `GET /openapi.json` serves the result; `tests/e2e/openapi.rs` fails when
//! a route is served that the description leaves out.

use aide::generate::GenContext;
use aide::openapi::{
    Components, Info, MediaType, OpenApi, Operation, ReferenceOr, RequestBody, Response,
    SchemaObject, SecurityScheme, StatusCode as DocStatus,
};
use aide::operation::{
    OperationInput, OperationOutput, ParamLocation, add_parameters, parameters_from_schema,
    set_body,
};
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response as HttpResponse};
use indexmap::IndexMap;
use schemars::{JsonSchema, Schema, json_schema};
use serde::Serialize;
use serde_json::Value;

use super::error::{ApiError, ErrorBody};
use super::extract::{Actor, Body, JsonBody, Operator, Path, Query, Tenant};

/// The security schemes, by the name operations refer to them with.
pub(super) const API_KEY: &str = "api_key";
pub(super) const MEMBER_TOKEN: &str = "member_token";
pub(super) const OPERATOR_TOKEN: &str = "operator_token";

/// The finished description, serialized once when the router is made:
/// each `GET /openapi.json` sends these bytes as they are.
#[derive(Clone)]
pub(super) struct Description(axum::body::Bytes);

impl IntoResponse for Description {
    fn into_response(self) -> HttpResponse {
        (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            self.0,
        )
            .into_response()
    }
}

impl OperationOutput for Description {
    type Inner = Value;

    fn inferred_responses(
        _: &mut GenContext,
        _: &mut Operation,
    ) -> Vec<(Option<DocStatus>, Response)> {
        let document = Response {
            description: "This OpenAPI 3.1 document".into(),
            content: json_content(json_schema!({"type": "object"})),
            ..Default::default()
        };
        answer(200, Some(document))
    }
}

/// `GET /openapi.json`.
pub(super) async fn serve(
    axum::Extension(description): axum::Extension<Description>,
) -> Description {
    description
}

/// Name the API, declare its credentials, and give every path template's
/// parameters: the handlers read them as plain strings and parse them
/// into typed ids themselves, so that a bad id is a 422 naming it.
pub(super) fn finish(mut api: OpenApi) -> Description {
    api.info = Info {
        title: "Baton".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        description: Some(
            "Help-desk routing: conversations, tickets, agents and the Wasm plugins that \
             decide who gets what. Errors are `{\"error\": {\"code\", \"message\", \
             \"field\"?}}`; lists are `{\"items\", \"next\"}` pages (`?limit=&after=`)."
                .into(),
        ),
        ..Info::default()
    };
    let components = api.components.get_or_insert_with(Components::default);
    for (name, description) in [
        (API_KEY, "The tenant's API key."),
        (
            MEMBER_TOKEN,
            "A member's token (POST /v1/agents/{id}/tokens); an admin's may do what the API key may.",
        ),
        (
            OPERATOR_TOKEN,
            "The operator's token (BATON_OPERATOR_TOKEN).",
        ),
    ] {
        components.security_schemes.insert(
            name.to_owned(),
            ReferenceOr::Item(SecurityScheme::Http {
                scheme: "bearer".into(),
                bearer_format: None,
                description: Some(description.into()),
                extensions: IndexMap::default(),
            }),
        );
    }
    // Inline: the error shape is one schema, not two.
    let error = schemars::generate::SchemaSettings::draft07()
        .with(|settings| settings.inline_subschemas = true)
        .into_generator()
        .into_root_schema_for::<ErrorBody>();
    let mut error = serde_json::to_value(error).expect("a schema is JSON");
    if let Some(error) = error.as_object_mut() {
        error.remove("$schema");
    }
    let mut value = serde_json::to_value(&api).expect("an OpenAPI document is JSON");
    value["components"]["schemas"]["Error"] = error;
    add_path_parameters(&mut value);
    add_error_answers(&mut value);
    add_operation_ids(&mut value);
    Description(serde_json::to_vec(&value).expect("JSON").into())
}

/// Give each operation a required string parameter for every `{name}` in
/// its path that it does not describe already.
fn add_path_parameters(api: &mut Value) {
    let Some(paths) = api.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let names: Vec<&str> = path
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for operation in item.values_mut().filter_map(Value::as_object_mut) {
            let parameters = operation
                .entry("parameters")
                .or_insert_with(|| Value::Array(Vec::new()));
            let Some(parameters) = parameters.as_array_mut() else {
                continue;
            };
            for name in &names {
                let described = parameters
                    .iter()
                    .any(|p| p["in"] == "path" && p["name"] == *name);
                if !described {
                    parameters.push(serde_json::json!({
                        "name": name,
                        "in": "path",
                        "required": true,
                        "schema": {"type": "string", "minLength": 1},
                    }));
                }
            }
        }
    }
}

/// Name each operation by its method and path, e.g. `put_v1_routing_slot`
/// for `PUT /v1/routing/{slot}`: stable as long as the route is, which is
/// what a generated client's method names need.
fn add_operation_ids(api: &mut Value) {
    let Some(paths) = api.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let slug: String = path
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect::<String>()
            .split('_')
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join("_");
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, operation) in item.iter_mut() {
            if let Some(operation) = operation.as_object_mut() {
                operation
                    .entry("operationId")
                    .or_insert_with(|| Value::String(format!("{method}_{slug}")));
            }
        }
    }
}

/// The error shape as every operation's default answer.
fn add_error_answers(api: &mut Value) {
    let Some(paths) = api.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    let answer = serde_json::json!({
        "description": "An error: a 4xx for what the request got wrong (`field` names the part), \
                        a 5xx for the server's own failure",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    });
    for item in paths.values_mut().filter_map(Value::as_object_mut) {
        for operation in item.values_mut().filter_map(Value::as_object_mut) {
            let responses = operation
                .entry("responses")
                .or_insert_with(|| Value::Object(Default::default()));
            if let Some(responses) = responses.as_object_mut() {
                responses.insert("default".to_owned(), answer.clone());
            }
        }
    }
}

/// One media type with its schema, as a body or an answer's content.
fn content(media_type: &str, json_schema: Schema) -> IndexMap<String, MediaType> {
    IndexMap::from_iter([(
        media_type.to_owned(),
        MediaType {
            schema: Some(SchemaObject {
                json_schema,
                example: None,
                external_docs: None,
            }),
            ..Default::default()
        },
    )])
}

fn json_content(json_schema: Schema) -> IndexMap<String, MediaType> {
    content("application/json", json_schema)
}

/// An answer of text in `media_type`.
fn text_response(description: &str, media_type: &str) -> Response {
    Response {
        description: description.to_owned(),
        content: content(media_type, json_schema!({"type": "string"})),
        ..Default::default()
    }
}

/// `response` as the answer with status `code`.
fn answer(code: u16, response: Option<Response>) -> Vec<(Option<DocStatus>, Response)> {
    response
        .map(|response| (Some(DocStatus::Code(code)), response))
        .into_iter()
        .collect()
}

fn json_response<T: JsonSchema>(ctx: &mut GenContext, description: &str) -> Response {
    Response {
        description: description.to_owned(),
        content: json_content(ctx.schema.subschema_for::<T>()),
        ..Default::default()
    }
}

/// A resource made by the request: 201 with it as JSON.
pub(super) struct Created<T>(pub T);

impl<T: Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> HttpResponse {
        (StatusCode::CREATED, Json(self.0)).into_response()
    }
}

impl<T: JsonSchema> OperationOutput for Created<T> {
    type Inner = T;

    fn operation_response(ctx: &mut GenContext, _: &mut Operation) -> Option<Response> {
        Some(json_response::<T>(ctx, "Created"))
    }

    fn inferred_responses(
        ctx: &mut GenContext,
        operation: &mut Operation,
    ) -> Vec<(Option<DocStatus>, Response)> {
        answer(201, Self::operation_response(ctx, operation))
    }
}

/// Every failure has the one error shape. Which statuses a route gives
/// is not in its types, and any request can be refused before its handler
/// (admission's 429, a 405, a 413), so [`finish`] gives every operation
/// the error shape as its default answer.
impl OperationOutput for ApiError {
    type Inner = ErrorBody;
}

impl<T: JsonSchema> OperationInput for JsonBody<T> {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        let json_schema = ctx.schema.subschema_for::<T>();
        set_body(
            ctx,
            operation,
            RequestBody {
                description: None,
                content: json_content(json_schema),
                required: true,
                extensions: IndexMap::default(),
            },
        );
    }
}

/// A body read as bytes: its route says what it holds (see
/// [`binary_body`] and [`optional_json_body`]).
impl OperationInput for Body {}

/// The request body of a route that takes bytes of `media_type`.
pub(super) fn binary_body(
    media_type: &'static str,
    description: &'static str,
) -> impl FnOnce(aide::transform::TransformOperation<'_>) -> aide::transform::TransformOperation<'_>
{
    move |mut op| {
        let operation = op.inner_mut();
        operation.request_body = Some(ReferenceOr::Item(RequestBody {
            description: Some(description.into()),
            content: content(
                media_type,
                json_schema!({"type": "string", "contentMediaType": media_type}),
            ),
            required: true,
            extensions: IndexMap::default(),
        }));
        op
    }
}

/// The request body of a route whose JSON body `T` may be left out.
pub(super) fn optional_json_body<T: JsonSchema>()
-> impl FnOnce(aide::transform::TransformOperation<'_>) -> aide::transform::TransformOperation<'_> {
    move |mut op| {
        let json_schema = aide::generate::in_context(|ctx| ctx.schema.subschema_for::<T>());
        op.inner_mut().request_body = Some(ReferenceOr::Item(RequestBody {
            description: None,
            content: json_content(json_schema),
            required: false,
            extensions: IndexMap::default(),
        }));
        op
    }
}

/// Path parameters come from the path template (see [`finish`]).
impl<T> OperationInput for Path<T> {}

impl<T: JsonSchema> OperationInput for Query<T> {
    fn operation_input(ctx: &mut GenContext, operation: &mut Operation) {
        let schema = ctx.schema.subschema_for::<T>();
        let params = parameters_from_schema(ctx, schema, ParamLocation::Query);
        add_parameters(ctx, operation, params);
    }
}

fn require(operation: &mut Operation, schemes: &[&str]) {
    operation.security = schemes
        .iter()
        .map(|scheme| IndexMap::from_iter([((*scheme).to_owned(), Vec::new())]))
        .collect();
}

impl OperationInput for Tenant {
    fn operation_input(_: &mut GenContext, operation: &mut Operation) {
        require(operation, &[API_KEY, MEMBER_TOKEN]);
    }
}

impl OperationInput for Actor {
    fn operation_input(_: &mut GenContext, operation: &mut Operation) {
        require(operation, &[API_KEY, MEMBER_TOKEN]);
    }
}

impl OperationInput for Operator {
    fn operation_input(_: &mut GenContext, operation: &mut Operation) {
        require(operation, &[OPERATOR_TOKEN]);
    }
}

/// A JSON answer whose status the handler chooses among `codes` (e.g. a
/// readiness probe's 200 or 503), each with the body `T`.
pub(super) struct JsonWithStatus<T, const A: u16, const B: u16>(pub StatusCode, pub T);

impl<T: Serialize, const A: u16, const B: u16> IntoResponse for JsonWithStatus<T, A, B> {
    fn into_response(self) -> HttpResponse {
        (self.0, Json(self.1)).into_response()
    }
}

impl<T: JsonSchema, const A: u16, const B: u16> OperationOutput for JsonWithStatus<T, A, B> {
    type Inner = T;

    fn operation_response(ctx: &mut GenContext, _: &mut Operation) -> Option<Response> {
        Some(json_response::<T>(ctx, "The answer"))
    }

    fn inferred_responses(
        ctx: &mut GenContext,
        _: &mut Operation,
    ) -> Vec<(Option<DocStatus>, Response)> {
        [A, B]
            .into_iter()
            .map(|code| {
                (
                    Some(DocStatus::Code(code)),
                    json_response::<T>(ctx, if code < 300 { "Yes" } else { "No" }),
                )
            })
            .collect()
    }
}

/// Text of a given media type, e.g. the Prometheus exposition.
pub(super) struct Text {
    pub media_type: &'static str,
    pub text: String,
}

/// The media type [`Text`] documents: the one `/metrics` serves.
const TEXT_MEDIA_TYPE: &str = crate::metrics::CONTENT_TYPE;

impl IntoResponse for Text {
    fn into_response(self) -> HttpResponse {
        (
            [(axum::http::header::CONTENT_TYPE, self.media_type)],
            self.text,
        )
            .into_response()
    }
}

impl OperationOutput for Text {
    type Inner = String;

    fn operation_response(_: &mut GenContext, _: &mut Operation) -> Option<Response> {
        Some(text_response("Text", TEXT_MEDIA_TYPE))
    }

    fn inferred_responses(
        ctx: &mut GenContext,
        operation: &mut Operation,
    ) -> Vec<(Option<DocStatus>, Response)> {
        answer(200, Self::operation_response(ctx, operation))
    }
}

/// A server-sent event stream (`text/event-stream`).
pub(super) struct EventStream<R>(pub R);

impl<R: IntoResponse> IntoResponse for EventStream<R> {
    fn into_response(self) -> HttpResponse {
        self.0.into_response()
    }
}

impl<R> OperationOutput for EventStream<R> {
    type Inner = String;

    fn inferred_responses(
        _: &mut GenContext,
        _: &mut Operation,
    ) -> Vec<(Option<DocStatus>, Response)> {
        answer(
            200,
            Some(text_response(
                "Server-sent events, one per notification",
                "text/event-stream",
            )),
        )
    }
}
