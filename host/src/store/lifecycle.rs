//! Tags, notes, customer links and permanent deletion of conversations.

use sqlx::Row;

use super::{Result, Store};
use crate::domain::{ConversationId, TenantId};

/// A conversation as its customer sees it through their link.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CustomerView {
    pub id: ConversationId,
    pub subject: Option<String>,
    pub status: String,
    pub messages: Vec<super::MessageRecord>,
}

impl Store {
    /// Replace the conversation's tags.
    pub async fn set_tags(&self, conversation: &ConversationId, tags: &[String]) -> Result<()> {
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM conversation_tags WHERE conversation_id = ?")
            .bind(conversation.as_str())
            .execute(&mut *tx)
            .await?;
        for tag in tags {
            sqlx::query(
                "INSERT OR IGNORE INTO conversation_tags (conversation_id, tag) VALUES (?, ?)",
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
        sqlx::query("UPDATE conversations SET note = ?, updated_at = ? WHERE id = ?")
            .bind(note)
            .bind(self.now().0)
            .bind(conversation.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn conversation_note(&self, conversation: &ConversationId) -> Result<Option<String>> {
        let row = sqlx::query("SELECT note FROM conversations WHERE id = ?")
            .bind(conversation.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.and_then(|r| r.get("note")))
    }

    pub async fn set_contact_note(&self, tenant: &TenantId, email: &str, note: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO contact_notes (tenant_id, email, note, updated_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (tenant_id, email) DO UPDATE SET note = excluded.note, updated_at = excluded.updated_at",
        )
        .bind(tenant.as_str())
        .bind(email)
        .bind(note)
        .bind(self.now().0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn contact_note(&self, tenant: &TenantId, email: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT note FROM contact_notes WHERE tenant_id = ? AND email = ?")
            .bind(tenant.as_str())
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get("note")))
    }

    /// The customer token of a conversation, made on first use.
    pub async fn customer_token(&self, conversation: &ConversationId) -> Result<String> {
        let fresh = format!(
            "ct_{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        sqlx::query(
            "UPDATE conversations SET customer_token = ? WHERE id = ? AND customer_token IS NULL",
        )
        .bind(&fresh)
        .bind(conversation.as_str())
        .execute(&self.pool)
        .await?;
        let row = sqlx::query("SELECT customer_token FROM conversations WHERE id = ?")
            .bind(conversation.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(row.get("customer_token"))
    }

    /// The conversation behind a customer token: its public messages only.
    pub async fn customer_view(&self, token: &str) -> Result<Option<CustomerView>> {
        let row =
            sqlx::query("SELECT id, subject, status FROM conversations WHERE customer_token = ?")
                .bind(token)
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
        let row = sqlx::query("SELECT tenant_id, id FROM conversations WHERE customer_token = ?")
            .bind(token)
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
        let mut tx = self.write().await?;
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
            sqlx::query(&format!("DELETE FROM {table} WHERE conversation_id = ?"))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM events WHERE tenant_id = ? AND conversation_id = ?")
            .bind(tenant.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let deleted = sqlx::query("DELETE FROM conversations WHERE tenant_id = ? AND id = ?")
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
