//! Test plugin: a workflow that tags every new conversation and leaves an
//! internal note on it.

use baton_sdk::{Action, Event, EventKind, Manifest, PluginError, PluginKind, Workflow};

struct TagOnCreate;

impl Workflow for TagOnCreate {
    fn describe() -> Manifest {
        Manifest::new("tag-on-create", "0.1.0", PluginKind::Workflow)
            .description("Test plugin: tags new conversations \"new\".")
            .subscribes([EventKind::ConversationCreated])
    }

    fn on_event(event: Event) -> Result<Vec<Action>, PluginError> {
        // Only the subscribed event should arrive; anything else is ignored
        // rather than failed so a host bug shows up as a missing tag.
        if event.kind != EventKind::ConversationCreated {
            return Ok(Vec::new());
        }
        Ok(vec![
            Action::AddTag("new".to_owned()),
            Action::AddInternalNote("created by tag-on-create".to_owned()),
        ])
    }
}

baton_sdk::export_workflow!(TagOnCreate);
