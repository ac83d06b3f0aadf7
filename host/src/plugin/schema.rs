//! Plugin config validation against the JSON Schema from `describe()`.

use jsonschema::error::ValidationErrorKind;

/// A config rejected by its schema, naming the offending field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Dotted path from `config`, e.g. `config.prefer`.
    pub field: String,
    pub message: String,
}

/// Check that a schema is itself a valid JSON Schema.
pub fn check_schema(schema: &serde_json::Value) -> Result<(), String> {
    if !schema.is_object() && !schema.is_boolean() {
        return Err("the config schema must be a JSON object".into());
    }
    jsonschema::validator_for(schema)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Validate `config` against `schema`; the first error names its field.
pub fn validate_config(
    schema: &serde_json::Value,
    config: &serde_json::Value,
) -> Result<(), ConfigError> {
    let validator = jsonschema::validator_for(schema).map_err(|e| ConfigError {
        field: "plugin".into(),
        message: format!("the plugin's config schema is invalid: {e}"),
    })?;
    let Some(error) = validator.iter_errors(config).next() else {
        return Ok(());
    };
    // The same notation as the rest of the API: `rules[0].agent`.
    let mut field = String::from("config");
    let mut at = Some(config);
    for segment in error
        .instance_path()
        .as_str()
        .split('/')
        .filter(|s| !s.is_empty())
    {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        match (at, segment.parse::<usize>()) {
            (Some(serde_json::Value::Array(items)), Ok(index)) => {
                field.push_str(&format!("[{index}]"));
                at = items.get(index);
            }
            (current, _) => {
                field.push('.');
                field.push_str(&segment);
                at = current.and_then(|v| v.get(&segment));
            }
        }
    }
    match error.kind() {
        ValidationErrorKind::Required { property } => {
            field.push('.');
            field.push_str(property.as_str().unwrap_or_default());
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            if let Some(first) = unexpected.first() {
                field.push('.');
                field.push_str(first);
            }
        }
        _ => {}
    }
    Err(ConfigError {
        field,
        message: error.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_the_field_that_fails() {
        let schema = json!({
            "type": "object",
            "properties": {"prefer": {"enum": ["first", "last"]}},
            "required": ["prefer"],
            "additionalProperties": false
        });
        assert_eq!(validate_config(&schema, &json!({"prefer": "last"})), Ok(()));
        assert_eq!(
            validate_config(&schema, &json!({"prefer": "middle"}))
                .unwrap_err()
                .field,
            "config.prefer"
        );
        assert_eq!(
            validate_config(&schema, &json!({})).unwrap_err().field,
            "config.prefer"
        );
        assert_eq!(
            validate_config(&schema, &json!({"prefer": "last", "extra": 1}))
                .unwrap_err()
                .field,
            "config.extra"
        );
        let list = json!({"type": "object", "properties": {"rules": {"type": "array", "items": {"type": "object", "properties": {"agent": {"type": "string"}}}}}});
        assert_eq!(
            validate_config(&list, &json!({"rules": [{"agent": "a"}, {"agent": 7}]}))
                .unwrap_err()
                .field,
            "config.rules[1].agent"
        );
    }
}
