//! Bots: a bot answers its channels first, until a handoff trigger fires.

use sqlx::Row;

use super::events::insert_event;
use super::{Result, Store};
use crate::domain::{
    BotId, BotKind, BotRecord, Channel, ConversationId, EventKind, Millis, TenantId, answering_bot,
};

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
        self.execute_write(
            sqlx::query(
                "INSERT INTO bots (id, tenant_id, name, channels, kind, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(bot.id.as_str())
            .bind(tenant.as_str())
            .bind(name)
            .bind(serde_json::to_string(&channels).unwrap_or_else(|_| "[]".into()))
            .bind(bot.kind.as_str())
            .bind(bot.created_at.0),
        )
        .await?;
        Ok(bot)
    }

    /// Whether `bot` belongs to `tenant`.
    pub async fn bot_exists(&self, tenant: &TenantId, bot: &BotId) -> Result<bool> {
        let found = sqlx::query("SELECT 1 FROM bots WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_str())
            .bind(bot.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }

    pub async fn list_bots(&self, tenant: &TenantId) -> Result<Vec<BotRecord>> {
        let rows = sqlx::query(
            "SELECT id, name, channels, kind, paused_at, created_at FROM bots WHERE tenant_id = $1 ORDER BY id",
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
        let mut tx = self.write_for(tenant).await?;
        let updated = sqlx::query(
            "UPDATE bots SET paused_at = CASE WHEN $1 THEN COALESCE(paused_at, $2) ELSE NULL END
             WHERE tenant_id = $3 AND id = $4",
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
                "SELECT id FROM conversations WHERE tenant_id = $1 AND routing = 'bot'
                   AND assignee_kind = 'bot' AND assignee_id = $2 AND status <> 'closed'
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

    /// The bot answering `channel` first, if any ([`answering_bot`] of the
    /// tenant's bots, oldest first).
    pub async fn bot_for_channel(
        &self,
        tenant: &TenantId,
        channel: Channel,
    ) -> Result<Option<BotId>> {
        let bots = self.list_bots(tenant).await?;
        Ok(answering_bot(&bots, channel).map(|bot| bot.id.clone()))
    }
}
