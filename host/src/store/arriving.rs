//! What deciding a group of new conversations reads about each of them,
//! read for the whole group at once: three statements side by side instead
//! of two round trips, one after another, per conversation on the tenant's
//! line (see `routing::group`).

use std::collections::HashMap;

use sqlx::Row;

use super::conversations::{COLUMNS, conversation, message_row};
use super::sql::placeholders;
use super::{Result, Store};
use crate::domain::{AgentId, ConversationId, ConversationRecord, MessageRecord, TenantId};

/// A conversation as a decision about it reads it.
#[derive(Debug, Clone)]
pub struct Arriving {
    pub conversation: ConversationRecord,
    /// Its newest messages, oldest first, as [`Store::messages`] gives them.
    pub recent: Vec<MessageRecord>,
    /// The agents who declined it ([`Store::declined`]).
    pub declined: Vec<AgentId>,
}

impl Store {
    /// [`Arriving`] for each of `ids` that the tenant has, with its newest
    /// `recent` messages.
    pub async fn arriving(
        &self,
        tenant: &TenantId,
        ids: &[ConversationId],
        recent: u32,
    ) -> Result<HashMap<ConversationId, Arriving>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let listed = placeholders(2, ids.len());
        let conversations_sql = format!(
            "SELECT {COLUMNS} FROM conversations WHERE tenant_id = $1 AND id IN ({listed})"
        );
        let messages_sql = format!(
            "SELECT conversation_id, id, author, body, internal, created_at FROM (
                SELECT conversation_id, id, author, body, internal, created_at,
                    ROW_NUMBER() OVER (PARTITION BY conversation_id
                                       ORDER BY created_at DESC, id DESC) AS newest
                FROM messages WHERE conversation_id IN ({listed})) m
             WHERE newest <= $1 ORDER BY created_at, id"
        );
        let declines_sql = format!(
            "SELECT conversation_id, agent_id FROM declines WHERE conversation_id IN ({})",
            placeholders(1, ids.len())
        );
        let mut conversations = sqlx::query(&conversations_sql).bind(tenant.as_str());
        let mut messages = sqlx::query(&messages_sql).bind(i64::from(recent));
        let mut declines = sqlx::query(&declines_sql);
        for id in ids {
            conversations = conversations.bind(id.as_str());
            messages = messages.bind(id.as_str());
            declines = declines.bind(id.as_str());
        }
        let (conversations, messages, declines) = tokio::try_join!(
            conversations.fetch_all(&self.pool),
            messages.fetch_all(&self.pool),
            declines.fetch_all(&self.pool),
        )?;
        let mut found: HashMap<ConversationId, Arriving> = conversations
            .iter()
            .filter_map(conversation)
            .map(|c| {
                let arriving = Arriving {
                    conversation: c.clone(),
                    recent: Vec::new(),
                    declined: Vec::new(),
                };
                (c.id, arriving)
            })
            .collect();
        let of = |row: &sqlx::any::AnyRow| ConversationId::parse(row.get("conversation_id")).ok();
        for row in &messages {
            if let (Some(id), Some(message)) = (of(row), message_row(row))
                && let Some(arriving) = found.get_mut(&id)
            {
                arriving.recent.push(message);
            }
        }
        for row in &declines {
            if let (Some(id), Ok(agent)) = (of(row), AgentId::parse(row.get("agent_id")))
                && let Some(arriving) = found.get_mut(&id)
            {
                arriving.declined.push(agent);
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Author;
    use crate::store::testing::{ana, kims_chat, on_each_engine};

    /// Read ahead for many conversations, each reads as it does alone: the
    /// record, the newest messages oldest first, who declined it; another
    /// tenant's conversation and an unknown id are not there.
    #[tokio::test]
    async fn read_ahead_each_conversation_reads_as_alone() {
        on_each_engine(as_alone_on).await;
    }

    async fn as_alone_on(store: &Store) {
        let (tenant, _) = store.create_tenant("Acme").await.expect("tenant");
        let (other, _) = store.create_tenant("Other").await.expect("tenant");
        let tenant = tenant.id;
        let ana = ana(store, &tenant).await;
        let mut ids = Vec::new();
        for written in 0..3 {
            let (c, _) = store
                .create_conversation(&tenant, kims_chat(), None)
                .await
                .expect("conversation");
            for n in 0..written {
                store
                    .add_message(
                        &tenant,
                        &c.id,
                        Author::Customer,
                        &format!("again {n}"),
                        false,
                    )
                    .await
                    .expect("message");
            }
            ids.push(c.id);
        }
        store
            .decline(&tenant, &ids[1], &ana.id)
            .await
            .expect("declined");
        let (theirs, _) = store
            .create_conversation(&other.id, kims_chat(), None)
            .await
            .expect("theirs");
        let mut asked = ids.clone();
        asked.push(theirs.id.clone());
        asked.push(ConversationId::generate());

        let read = store.arriving(&tenant, &asked, 2).await.expect("read");
        assert_eq!(read.len(), 3, "the tenant's three only");
        for id in &ids {
            let ahead = &read[id];
            let alone = store
                .get_conversation(&tenant, id)
                .await
                .expect("read")
                .expect("there");
            assert_eq!(format!("{:?}", ahead.conversation), format!("{alone:?}"));
            let recent = store.messages(id, 2).await.expect("messages");
            assert_eq!(format!("{:?}", ahead.recent), format!("{recent:?}"));
            assert_eq!(ahead.declined, store.declined(id).await.expect("declined"));
        }
        assert_eq!(read[&ids[0]].recent.len(), 1, "its first message");
        assert_eq!(read[&ids[2]].recent.len(), 2, "the newest two of three");
        assert_eq!(read[&ids[1]].declined, vec![ana.id]);
    }
}
