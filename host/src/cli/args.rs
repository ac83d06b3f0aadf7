//! A small argument parser: positionals and `--flag value` / `--flag=value`.

use std::collections::BTreeMap;

use super::CliError;

/// Flags that take a value; anything else starting with `--` is refused.
const FLAGS: &[&str] = &[
    "kind", "dir", "sdk", "events", "server", "key", "slot", "config",
];

pub(crate) struct Args {
    positional: Vec<String>,
    flags: BTreeMap<String, String>,
}

impl Args {
    pub(crate) fn parse(raw: &[String]) -> Result<Self, CliError> {
        let mut positional = Vec::new();
        let mut flags = BTreeMap::new();
        let mut items = raw.iter();
        while let Some(item) = items.next() {
            let Some(flag) = item.strip_prefix("--") else {
                positional.push(item.clone());
                continue;
            };
            let (name, value) = match flag.split_once('=') {
                Some((name, value)) => (name.to_owned(), value.to_owned()),
                None => {
                    let value = items
                        .next()
                        .ok_or_else(|| CliError::usage(format!("--{flag} needs a value")))?;
                    (flag.to_owned(), value.clone())
                }
            };
            if !FLAGS.contains(&name.as_str()) {
                return Err(CliError::usage(format!("--{name} is not an option")));
            }
            flags.insert(name, value);
        }
        Ok(Self { positional, flags })
    }

    pub(crate) fn positional(&self, at: usize, what: &str) -> Result<String, CliError> {
        self.optional_positional(at)
            .ok_or_else(|| CliError::usage(format!("give {what}")))
    }

    pub(crate) fn optional_positional(&self, at: usize) -> Option<String> {
        self.positional.get(at).cloned()
    }

    pub(crate) fn value(&self, flag: &str) -> Option<String> {
        self.flags.get(flag).cloned()
    }

    pub(crate) fn required(&self, flag: &str) -> Result<String, CliError> {
        self.value(flag)
            .ok_or_else(|| CliError::usage(format!("--{flag} is required")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flags_take_values_either_way_and_unknown_ones_are_refused() {
        let parsed = Args::parse(&args(&["demo", "--kind", "workflow", "--dir=/tmp"])).unwrap();
        assert_eq!(parsed.positional(0, "name").unwrap(), "demo");
        assert_eq!(parsed.value("kind").as_deref(), Some("workflow"));
        assert_eq!(parsed.value("dir").as_deref(), Some("/tmp"));
        assert!(Args::parse(&args(&["--kind"])).is_err());
        assert!(Args::parse(&args(&["--colour", "red"])).is_err());
        assert!(parsed.required("events").is_err());
    }
}
