//! Building a plugin's manifest, with the config schema derived from the
//! plugin's own config type.

use crate::{EventKind, Manifest, PluginKind};

/// A [`Manifest`] named `name`, of `kind`, whose version is the calling
/// crate's own (`version` in its `Cargo.toml`): the version an upload is
/// known by moves with the crate's, so a change is never uploaded under
/// the version of the bytes before it.
///
/// ```
/// use baton_sdk::{Manifest, PluginKind};
///
/// let manifest: Manifest = baton_sdk::manifest!("fewest-first", PluginKind::AssignmentStrategy);
/// assert_eq!(manifest.version, env!("CARGO_PKG_VERSION"));
/// ```
#[macro_export]
macro_rules! manifest {
    ($name:expr, $kind:expr $(,)?) => {
        $crate::Manifest::new($name, ::core::env!("CARGO_PKG_VERSION"), $kind)
    };
}

impl Manifest {
    /// A manifest with no description, a config schema that accepts anything
    /// and no subscriptions; refine it with the builder methods.
    pub fn new(name: impl Into<String>, version: impl Into<String>, kind: PluginKind) -> Self {
        Manifest {
            name: name.into(),
            version: version.into(),
            kind,
            description: String::new(),
            config_schema: "{}".to_owned(),
            subscribes: Vec::new(),
        }
    }

    /// Sets the one-line description shown to admins.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Sets the JSON Schema the host validates the plugin's config against.
    pub fn config_schema(mut self, schema: serde_json::Value) -> Self {
        self.config_schema = schema.to_string();
        self
    }

    /// Sets the config schema derived from the type the plugin reads its
    /// config into, so what the host accepts at binding and what
    /// [`host::config`](crate::host::config) parses can never disagree.
    /// Doc comments on the fields become the schema's descriptions, which
    /// admins see.
    ///
    /// ```
    /// use baton_sdk::{Manifest, PluginKind};
    ///
    /// /// How long an assignee has to reply.
    /// #[derive(serde::Deserialize, baton_sdk::JsonSchema)]
    /// #[serde(deny_unknown_fields)]
    /// struct Config {
    ///     /// Minutes before the conversation goes to someone else.
    ///     minutes: u32,
    /// }
    ///
    /// let manifest = Manifest::new("deadline", "1.0.0", PluginKind::Workflow)
    ///     .config_schema_for::<Config>();
    /// let schema: serde_json::Value = serde_json::from_str(&manifest.config_schema).unwrap();
    /// assert_eq!(schema["required"], serde_json::json!(["minutes"]));
    /// assert_eq!(schema["additionalProperties"], false);
    /// ```
    pub fn config_schema_for<T: schemars::JsonSchema>(self) -> Self {
        let schema = schemars::schema_for!(T);
        self.config_schema(serde_json::to_value(schema).unwrap_or_else(|_| serde_json::json!({})))
    }

    /// Sets the events a [`Workflow`](crate::Workflow) receives.
    pub fn subscribes(mut self, events: impl IntoIterator<Item = EventKind>) -> Self {
        self.subscribes = events.into_iter().collect();
        self
    }
}
