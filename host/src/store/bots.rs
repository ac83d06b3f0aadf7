//! Bots: a bot answers its channels first, until a handoff trigger fires.

use sqlx::Row;

use super::{Result, Store};
use crate::domain::{BotId, BotKind, Channel, Millis, TenantId};

/// A bot as stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BotRecord {
    pub id: BotId,
    pub name: String,
    pub channels: Vec<Channel>,
    /// A rule-based bot's conversations get no automatic ticket.
    pub kind: BotKind,
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

    pub async fn list_bots(&self, tenant: &TenantId) -> Result<Vec<BotRecord>> {
        let rows = sqlx::query(
            "SELECT id, name, channels, kind, created_at FROM bots WHERE tenant_id = ? ORDER BY id",
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
                    created_at: Millis(row.get("created_at")),
                })
            })
            .collect())
    }

    /// The bot answering `channel` first, if any (the oldest one wins).
    pub async fn bot_for_channel(
        &self,
        tenant: &TenantId,
        channel: Channel,
    ) -> Result<Option<BotId>> {
        Ok(self
            .list_bots(tenant)
            .await?
            .into_iter()
            .find(|bot| bot.channels.contains(&channel))
            .map(|bot| bot.id))
    }
}
