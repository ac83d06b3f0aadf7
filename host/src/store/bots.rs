//! Bots: a bot answers its channels first, until a handoff trigger fires.

use sqlx::Row;

use super::events::insert_event;
use super::{Result, Store};
use crate::domain::{BotId, BotKind, Channel, ConversationId, EventKind, Millis, TenantId};

/// A bot as stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BotRecord {
    pub id: BotId,
    pub name: String,
    pub channels: Vec<Channel>,
    /// A rule-based bot's conversations get no automatic ticket.
    pub kind: BotKind,
    /// Since when the bot is paused; `None` while it answers.
    pub paused_at: Option<Millis>,
    pub created_at: Millis,
}

impl Store {
    pub async fn create_bot(
        &self,
        tenant: &TenantId,
        name: &str,
        channels: Vec<Channel>,
        kind: BotKind,
    ) -> Result<BotRecord> {
        let bot = BotRecord {
            id: BotId::generate(),
            name: name.to_owned(),
            channels,
            kind,
            paused_at: None,
            created_at: self.now(),
        };
        let channels: Vec<&str> = bot.channels.iter().map(|c| c.as_str()).collect();
        sqlx::query(
            "INSERT INTO bots (id, tenant_id, name, channels, kind, created_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(bot.id.as_str())
        .bind(tenant.as_str())
        .bind(name)
        .bind(serde_json::to_string(&channels).unwrap_or_else(|_| "[]".into()))
        .bind(bot.kind.as_str())
        .bind(bot.created_at.0)
        .execute(&self.pool)
        .await?;
        Ok(bot)
    }

    /// Whether `bot` belongs to `tenant`.
    pub async fn bot_exists(&self, tenant: &TenantId, bot: &BotId) -> Result<bool> {
        let found = sqlx::query("SELECT 1 FROM bots WHERE tenant_id = ? AND id = ?")
            .bind(tenant.as_str())
            .bind(bot.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }

    pub async fn list_bots(&self, tenant: &TenantId) -> Result<Vec<BotRecord>> {
        let rows = sqlx::query(
            "SELECT id, name, channels, kind, paused_at, created_at FROM bots WHERE tenant_id = ? ORDER BY id",
        )
        .bind(tenant.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                let channels: Vec<String> =
                    serde_json::from_str(row.get("channels")).unwrap_or_default();
                Some(BotRecord {
                    id: BotId::parse(row.get("id")).ok()?,
                    name: row.get("name"),
                    channels: channels
                        .iter()
                        .filter_map(|c| Channel::parse(c).ok())
                        .collect(),
                    kind: BotKind::parse(row.get("kind")).unwrap_or(BotKind::Ai),
                    paused_at: row.get::<Option<i64>, _>("paused_at").map(Millis),
                    created_at: Millis(row.get("created_at")),
                })
            })
            .collect())
    }

    /// Pause or resume a bot. Pausing hands every conversation it still owns
    /// to a human: one `bot.paused` event each, in the same transaction.
    /// `None` if there is no such bot; otherwise the last event written.
    pub async fn set_bot_paused(
        &self,
        tenant: &TenantId,
        bot: &BotId,
        paused: bool,
    ) -> Result<Option<Option<i64>>> {
        let now = self.now();
        let mut tx = self.write().await?;
        let updated = sqlx::query(
            "UPDATE bots SET paused_at = CASE WHEN ? THEN COALESCE(paused_at, ?) ELSE NULL END
             WHERE tenant_id = ? AND id = ?",
        )
        .bind(paused)
        .bind(now.0)
        .bind(tenant.as_str())
        .bind(bot.as_str())
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Ok(None);
        }
        let mut last = None;
        if paused {
            let owned = sqlx::query(
                "SELECT id FROM conversations WHERE tenant_id = ? AND routing = 'bot'
                   AND assignee_kind = 'bot' AND assignee_id = ? AND status <> 'closed'
                 ORDER BY id",
            )
            .bind(tenant.as_str())
            .bind(bot.as_str())
            .fetch_all(&mut *tx)
            .await?;
            for row in owned {
                let Ok(id) = ConversationId::parse(row.get("id")) else {
                    continue;
                };
                last = Some(
                    insert_event(
                        &mut tx,
                        tenant,
                        EventKind::BotPaused,
                        Some(&id),
                        None,
                        None,
                        now,
                    )
                    .await?,
                );
            }
        }
        tx.commit().await?;
        Ok(Some(last))
    }

    /// The bot answering `channel` first, if any (the oldest one wins); a
    /// paused bot answers nothing.
    pub async fn bot_for_channel(
        &self,
        tenant: &TenantId,
        channel: Channel,
    ) -> Result<Option<BotId>> {
        Ok(self
            .list_bots(tenant)
            .await?
            .into_iter()
            .find(|bot| bot.paused_at.is_none() && bot.channels.contains(&channel))
            .map(|bot| bot.id))
    }
}
