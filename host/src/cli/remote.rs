//! The `baton plugin` commands that call a running server's HTTP API.

use std::path::Path;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::CliError;
use super::ServerArgs;

/// A server and the tenant key to use with it.
pub(crate) struct Server {
    base: String,
    key: String,
    client: reqwest::Client,
}

impl Server {
    pub(crate) fn from(args: &ServerArgs) -> Result<Self, CliError> {
        let base = &args.server;
        let key = args
            .key
            .clone()
            .filter(|key| !key.trim().is_empty())
            .ok_or_else(|| {
                CliError::usage("no API key: set BATON_API_KEY (or --key) to your tenant's key")
            })?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            key,
            client: reqwest::Client::new(),
        })
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, CliError> {
        Ok(self.answer(request).await?.1)
    }

    /// A successful answer's status and body; anything else is an error
    /// saying what to do.
    async fn answer(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(StatusCode, Value), CliError> {
        let response = request.bearer_auth(&self.key).send().await.map_err(|e| {
            CliError::failed(format!(
                "cannot reach the server at {} ({e}); is `baton serve` running? set BATON_URL",
                self.base
            ))
        })?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok((status, body));
        }
        let message = body["error"]["message"].as_str().unwrap_or("no details");
        Err(CliError::failed(match status {
            StatusCode::UNAUTHORIZED => {
                format!(
                    "the server refused the API key ({message}); set BATON_API_KEY to a tenant's key"
                )
            }
            _ => format!("the server said {status}: {message}"),
        }))
    }
}

pub(crate) async fn upload(server: &Server, component: &Path) -> Result<(), CliError> {
    let wasm = std::fs::read(component).map_err(|e| {
        CliError::failed(format!(
            "cannot read {} ({e}); build it first with `baton plugin build`",
            component.display()
        ))
    })?;
    let request = server
        .client
        .post(format!("{}/v1/plugins", server.base))
        .header("content-type", "application/wasm")
        .body(wasm);
    let (status, plugin) = server.answer(request).await?;
    let id = plugin["id"].as_str().unwrap_or("?");
    // 200: these very bytes were uploaded before, as this version.
    let done = if status == StatusCode::CREATED {
        "uploaded"
    } else {
        "already uploaded:"
    };
    println!(
        "{done} {}@{} ({}, contract {}) as {id}",
        plugin["name"].as_str().unwrap_or("?"),
        plugin["version"].as_str().unwrap_or("?"),
        plugin["kind"].as_str().unwrap_or("?"),
        plugin["contract"].as_str().unwrap_or("?"),
    );
    // Where each kind goes next: a slot, or a rule's conditions.
    let slot = match plugin["kind"].as_str() {
        Some("assignment-strategy") => Some("assignment"),
        Some("handoff-trigger") => Some("handoff"),
        Some("workflow") => Some("workflows"),
        _ => None,
    };
    match slot {
        Some(slot) => println!("next: baton plugin bind {id} --slot {slot}"),
        None => println!(
            "next: name it in an assignment rule's conditions: \"conditions\": {{\"plugins\": [{{\"plugin\": \"{id}\", \"config\": {{}}}}]}} (README: Assignment rules)"
        ),
    }
    Ok(())
}

/// Print what `plugin` (an id, or a name for its newest version) logged in
/// the tenant's calls, oldest first: the event's time, the level, the line.
pub(crate) async fn logs(server: &Server, plugin: &str) -> Result<(), CliError> {
    let url = format!("{}/v1/plugins/{plugin}/logs", server.base);
    let log = server.send(server.client.get(url)).await?;
    let lines = log["lines"].as_array().cloned().unwrap_or_default();
    if lines.is_empty() {
        eprintln!(
            "{}@{} has logged nothing since the server started",
            log["name"].as_str().unwrap_or("?"),
            log["version"].as_str().unwrap_or("?")
        );
    }
    for line in lines {
        let at = line["at_ms"]
            .as_i64()
            .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
            .map_or_else(|| "?".to_owned(), |at| at.to_string());
        println!(
            "{at} {:>5} {}",
            line["level"].as_str().unwrap_or("?"),
            line["message"].as_str().unwrap_or_default()
        );
    }
    Ok(())
}

/// The list key of a slot that takes several plugins.
fn list_key(slot: &str) -> Result<Option<&'static str>, CliError> {
    match slot {
        "assignment" => Ok(None),
        "handoff" => Ok(Some("triggers")),
        "workflows" => Ok(Some("workflows")),
        other => Err(CliError::usage(format!(
            "--slot {other:?} is not a slot: use assignment, handoff or workflows"
        ))),
    }
}

/// Whether a bound entry is `plugin` (by id or name).
fn names(entry: &Value, plugin: &str) -> bool {
    entry["plugin"] == plugin || entry["name"] == plugin
}

/// A bound entry as it is written back: what the binding's body takes.
fn as_bound(entry: &Value) -> Value {
    let mut kept = json!({"plugin": entry["plugin"], "config": entry["config"]});
    for optional in ["enabled", "conditions"] {
        if !entry[optional].is_null() {
            kept[optional] = entry[optional].clone();
        }
    }
    kept
}

pub(crate) async fn bind(
    server: &Server,
    plugin: &str,
    slot: &str,
    config: Value,
) -> Result<(), CliError> {
    let url = format!("{}/v1/routing/{slot}", server.base);
    let body = match list_key(slot)? {
        None => json!({"plugin": plugin, "config": config}),
        Some(key) => {
            // Keep what is bound; this plugin joins the list or replaces
            // its own entry (matched by id or name).
            let current = server.send(server.client.get(&url)).await?;
            let mut entries: Vec<Value> = current[key]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|e| !names(e, plugin))
                .map(as_bound)
                .collect();
            entries.push(json!({"plugin": plugin, "config": config}));
            json!({ key: entries })
        }
    };
    let bound = server.send(server.client.put(&url).json(&body)).await?;
    println!("bound to {slot}: {bound}");
    Ok(())
}

/// Print every plugin version the tenant can bind, a page at a time.
pub(crate) async fn list(server: &Server) -> Result<(), CliError> {
    let mut after: Option<String> = None;
    loop {
        let mut url = format!("{}/v1/plugins?limit=100", server.base);
        if let Some(cursor) = &after {
            url.push_str("&after=");
            url.push_str(cursor);
        }
        let page = server.send(server.client.get(url)).await?;
        for plugin in page["items"].as_array().into_iter().flatten() {
            let text = |field: &str| plugin[field].as_str().unwrap_or("?").to_owned();
            println!(
                "{:<36}  {}@{}  {}  contract {}  {}",
                text("id"),
                text("name"),
                text("version"),
                text("kind"),
                text("contract"),
                if plugin["builtin"] == true {
                    "built-in"
                } else {
                    "uploaded"
                },
            );
        }
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => return Ok(()),
        }
    }
}

/// Delete an uploaded version nothing binds.
pub(crate) async fn delete(server: &Server, plugin: &str) -> Result<(), CliError> {
    let url = format!("{}/v1/plugins/{plugin}", server.base);
    server.send(server.client.delete(url)).await?;
    println!("deleted {plugin}");
    Ok(())
}

/// Take `plugin` out of a slot's list, keeping the rest as bound.
pub(crate) async fn unbind(server: &Server, plugin: &str, slot: &str) -> Result<(), CliError> {
    let Some(key) = list_key(slot)? else {
        return Err(CliError::usage(
            "the assignment slot always runs a strategy: bind another, or `baton plugin rollback assignment`",
        ));
    };
    let url = format!("{}/v1/routing/{slot}", server.base);
    let current = server.send(server.client.get(&url)).await?;
    let entries = current[key].as_array().cloned().unwrap_or_default();
    let kept: Vec<Value> = entries
        .iter()
        .filter(|e| !names(e, plugin))
        .map(as_bound)
        .collect();
    if kept.len() == entries.len() {
        return Err(CliError::failed(format!("{plugin} is not bound to {slot}")));
    }
    server
        .send(server.client.put(&url).json(&json!({ key: kept })))
        .await?;
    println!("unbound {plugin} from {slot}");
    Ok(())
}

/// Return a slot to its binding before the last change.
pub(crate) async fn rollback(server: &Server, slot: &str) -> Result<(), CliError> {
    list_key(slot)?;
    let url = format!("{}/v1/routing/{slot}/rollback", server.base);
    let bound = server.send(server.client.post(url)).await?;
    println!("{slot} rolled back: {bound}");
    Ok(())
}
