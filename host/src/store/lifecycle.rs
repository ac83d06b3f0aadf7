//! Tags, notes, customer links and permanent deletion of conversations.

use sqlx::Row;

use super::tenants::key_hash;
use super::{Result, Store};
use crate::domain::{ConversationId, MessageRecord, TenantId};

/// A conversation as its customer sees it through their link.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct CustomerView {
    pub id: ConversationId,
    pub subject: Option<String>,
    pub status: String,
    pub messages: Vec<MessageRecord>,
}

impl Store {
    /// Replace the conversation's tags.
    pub async fn set_tags(&self, conversation: &ConversationId, tags: &[String]) -> Result<()> {
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM conversation_tags WHERE conversation_id = $1")
            .bind(conversation.as_str())
            .execute(&mut *tx)
            .await?;
        for tag in tags {
            sqlx::query(
                "INSERT INTO conversation_tags (conversation_id, tag) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(conversation.as_str())
            .bind(tag)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_conversation_note(
        &self,
        conversation: &ConversationId,
        note: Option<&str>,
    ) -> Result<()> {
        self.execute_write(
            sqlx::query("UPDATE conversations SET note = $1, updated_at = $2 WHERE id = $3")
                .bind(note)
                .bind(self.now().0)
                .bind(conversation.as_str()),
        )
        .await?;
        Ok(())
    }

    pub async fn conversation_note(&self, conversation: &ConversationId) -> Result<Option<String>> {
        let row = sqlx::query("SELECT note FROM conversations WHERE id = $1")
            .bind(conversation.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.and_then(|r| r.get("note")))
    }

    pub async fn set_contact_note(&self, tenant: &TenantId, email: &str, note: &str) -> Result<()> {
        self.execute_write(sqlx::query(
            "INSERT INTO contact_notes (tenant_id, email, note, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant_id, email) DO UPDATE SET note = excluded.note, updated_at = excluded.updated_at",
        )
        .bind(tenant.as_str())
        .bind(email)
        .bind(note)
        .bind(self.now().0)
        )
        .await?;
        Ok(())
    }

    pub async fn contact_note(&self, tenant: &TenantId, email: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT note FROM contact_notes WHERE tenant_id = $1 AND email = $2")
            .bind(tenant.as_str())
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get("note")))
    }

    /// A new customer link token for the conversation, replacing any
    /// earlier one (which stops working). Only its hash is stored, so this
    /// is the one time the token is known; `None` if there is no such
    /// conversation in the tenant.
    pub async fn new_customer_token(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
    ) -> Result<Option<String>> {
        let token = format!(
            "ct_{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let done = self.execute_write(sqlx::query(
            "UPDATE conversations SET customer_token_hash = $1 WHERE tenant_id = $2 AND id = $3",
        )
        .bind(key_hash(&token))
        .bind(tenant.as_str())
        .bind(conversation.as_str())
        )
        .await?;
        Ok((done.rows_affected() == 1).then_some(token))
    }

    /// Whether the conversation has a customer link.
    pub async fn has_customer_token(&self, conversation: &ConversationId) -> Result<bool> {
        let row = sqlx::query(
            "SELECT CASE WHEN customer_token_hash IS NULL THEN 0 ELSE 1 END AS issued
             FROM conversations WHERE id = $1",
        )
        .bind(conversation.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some_and(|r| r.get::<i64, _>("issued") != 0))
    }

    /// Hash the customer tokens a database from before hashing still
    /// holds in plain text (see migration 0030: SQLite cannot hash them).
    /// A plain token starts with `ct_`, a hash is hex only, so running this
    /// again, or from a second process at once, changes nothing. Returns
    /// how many were hashed.
    pub(super) async fn hash_plain_customer_tokens(&self) -> Result<u64> {
        let rows = sqlx::query(
            "SELECT id, customer_token_hash FROM conversations
             WHERE customer_token_hash LIKE 'ct\\_%' ESCAPE '\\'",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut hashed = 0;
        for row in rows {
            let plain: String = row.get("customer_token_hash");
            let done = self
                .execute_write(
                    sqlx::query(
                        "UPDATE conversations SET customer_token_hash = $1
                 WHERE id = $2 AND customer_token_hash = $3",
                    )
                    .bind(key_hash(&plain))
                    .bind(row.get::<String, _>("id"))
                    .bind(&plain),
                )
                .await?;
            hashed += done.rows_affected();
        }
        Ok(hashed)
    }

    /// The conversation behind a customer token: its public messages only.
    pub async fn customer_view(&self, token: &str) -> Result<Option<CustomerView>> {
        let row = sqlx::query(
            "SELECT id, subject, status FROM conversations WHERE customer_token_hash = $1",
        )
        .bind(key_hash(token))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let Ok(id) = ConversationId::parse(row.get("id")) else {
            return Ok(None);
        };
        let messages = self
            .messages(&id, 500)
            .await?
            .into_iter()
            .filter(|m| !m.internal)
            .collect();
        Ok(Some(CustomerView {
            id,
            subject: row.get("subject"),
            status: row.get("status"),
            messages,
        }))
    }

    /// The tenant and id behind a customer token.
    pub async fn customer_conversation(
        &self,
        token: &str,
    ) -> Result<Option<(TenantId, ConversationId)>> {
        let row =
            sqlx::query("SELECT tenant_id, id FROM conversations WHERE customer_token_hash = $1")
                .bind(key_hash(token))
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.and_then(|r| {
            Some((
                TenantId::parse(r.get("tenant_id")).ok()?,
                ConversationId::parse(r.get("id")).ok()?,
            ))
        }))
    }

    /// Remove a conversation and everything that refers to it, for good.
    pub async fn delete_conversation(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
    ) -> Result<bool> {
        let mut tx = self.write_for(tenant).await?;
        let id = conversation.as_str();
        for table in [
            "messages",
            "conversation_tags",
            "assignment_history",
            "offers",
            "declines",
            "transfers",
            "tickets",
            "notifications",
            "plugin_failures",
            // Followed or timed conversations (tickets often are) could
            // not be deleted while these rows pointed at them.
            "followers",
            "timers",
            "workflow_runs",
        ] {
            sqlx::query(&format!("DELETE FROM {table} WHERE conversation_id = $1"))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM events WHERE tenant_id = $1 AND conversation_id = $2")
            .bind(tenant.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let deleted = sqlx::query("DELETE FROM conversations WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 0 {
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::domain::Millis;

    /// A database from before hashing holds its customer tokens in plain
    /// text; opening it hashes them, and the links keep working.
    #[tokio::test]
    async fn plain_tokens_of_an_older_database_are_hashed_when_it_is_opened() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("baton.db").display());
        let store = Store::connect(&url, Clock::manual(Millis(1_000)))
            .await
            .expect("store");
        let (tenant, _) = store.create_tenant("Acme").await.expect("tenant");
        let (conversation, _) = store
            .create_conversation(&tenant.id, crate::store::testing::kims_chat(), None)
            .await
            .expect("conversation");
        // As the rename in migration 0030 leaves an older link.
        let plain = "ct_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        sqlx::query("UPDATE conversations SET customer_token_hash = $1 WHERE id = $2")
            .bind(plain)
            .bind(conversation.id.as_str())
            .execute(&store.pool)
            .await
            .expect("old token");
        drop(store);

        let store = Store::connect(&url, Clock::manual(Millis(1_000)))
            .await
            .expect("reopened");
        let stored: String =
            sqlx::query_scalar("SELECT customer_token_hash FROM conversations WHERE id = $1")
                .bind(conversation.id.as_str())
                .fetch_one(&store.pool)
                .await
                .expect("stored");
        assert_eq!(stored, key_hash(plain));
        assert_eq!(
            store.customer_conversation(plain).await.expect("lookup"),
            Some((tenant.id.clone(), conversation.id.clone())),
            "the old link still works"
        );
        assert_eq!(
            store.customer_conversation(&stored).await.expect("lookup"),
            None,
            "the hash is not a token"
        );
        assert_eq!(
            store.hash_plain_customer_tokens().await.expect("again"),
            0,
            "a hash is never hashed again"
        );

        // A new link replaces it; only the new token's hash is stored.
        let token = store
            .new_customer_token(&tenant.id, &conversation.id)
            .await
            .expect("new")
            .expect("the tenant's conversation");
        assert_eq!(store.customer_conversation(plain).await.expect("old"), None);
        assert!(
            store
                .customer_conversation(&token)
                .await
                .expect("new")
                .is_some()
        );
        let other = TenantId::generate();
        assert_eq!(
            store
                .new_customer_token(&other, &conversation.id)
                .await
                .expect("another tenant"),
            None
        );
    }
}
