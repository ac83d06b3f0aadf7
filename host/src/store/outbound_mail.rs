//! A ticket's replies e-mailed to its contact: the outbox of customer mail.
//! A row is queued in the reply's own transaction, then claimed, sent and
//! finished by the delivery worker exactly as a notification delivery is
//! (see [`super::outbox`]).

use sqlx::{AnyConnection, Row};

use super::notifications::{AttemptResult, DeliveryRecord};
use super::outbox::Outbox;
use super::tickets::TicketRecord;
use super::{Result, Store};
use crate::domain::{
    Channel, DeliveryState, EmailMessageId, MessageId, Millis, NotifyChannel, TenantId,
};

/// One reply the worker has claimed, with what sending it needs.
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    pub id: i64,
    /// This attempt's number, from 1.
    pub attempt: u32,
    pub message: MessageId,
    /// The help desk's name in `From:`: the tenant's.
    pub from_name: String,
    pub to_address: String,
    pub to_name: Option<String>,
    pub subject: String,
    pub body: String,
    pub email_message_id: String,
    pub in_reply_to: Option<String>,
    pub created_at: Millis,
}

/// "Re: " once before the ticket's name.
fn reply_subject(name: &str) -> String {
    let name = name.trim();
    if name.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("re:")) {
        name.to_owned()
    } else {
        format!("Re: {name}")
    }
}

/// Queue the e-mail of a reply, inside the reply's transaction. A chat
/// ticket's customer reads the reply in the chat, so nothing is queued
/// for one; nor for a ticket without a contact address.
pub(super) async fn queue_reply(
    tx: &mut AnyConnection,
    tenant: &TenantId,
    ticket: &TicketRecord,
    message: &MessageId,
    reply_to: Option<&MessageId>,
    now: Millis,
) -> Result<()> {
    let Some(to) = ticket.contact_email.as_deref() else {
        return Ok(());
    };
    if ticket.channel == Channel::Chat {
        return Ok(());
    }
    let in_reply_to: Option<String> = match reply_to {
        Some(id) => sqlx::query("SELECT email_message_id FROM messages WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .and_then(|r| r.get("email_message_id")),
        None => None,
    };
    sqlx::query(
        "INSERT INTO outbound_mail (tenant_id, message_id, to_address, to_name, subject,
            email_message_id, in_reply_to, state, due_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(tenant.as_str())
    .bind(message.as_str())
    .bind(to)
    .bind(ticket.contact_name.as_deref())
    .bind(reply_subject(&ticket.name))
    .bind(EmailMessageId::for_message(message).as_str())
    .bind(in_reply_to)
    .bind(DeliveryState::Pending.as_str())
    .bind(now.0)
    .bind(now.0)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A reply's e-mail delivery from the columns `mail_state`, `mail_attempts`,
/// `mail_error`, `mail_delivered_at` and `mail_due_at` (all null when the
/// message was not e-mailed).
pub(super) fn mail_delivery(row: &sqlx::any::AnyRow) -> Option<DeliveryRecord> {
    let state = DeliveryState::parse(row.get::<Option<String>, _>("mail_state")?.as_str()).ok()?;
    Some(DeliveryRecord {
        channel: NotifyChannel::Email,
        state,
        attempts: u32::try_from(row.get::<i64, _>("mail_attempts")).unwrap_or(0),
        last_error: row.get("mail_error"),
        delivered_at: row.get::<Option<i64>, _>("mail_delivered_at").map(Millis),
        next_attempt_at: (state == DeliveryState::Pending).then(|| Millis(row.get("mail_due_at"))),
    })
}

impl Store {
    /// Pending reply e-mails due by now: (id, attempts so far), oldest first.
    pub async fn due_mail(&self, limit: u32) -> Result<Vec<(i64, u32)>> {
        self.outbox_due(Outbox::OutboundMail, limit).await
    }

    /// The earliest pending reply e-mail's due time, if any.
    pub async fn next_mail_due(&self) -> Result<Option<Millis>> {
        self.outbox_next_due(Outbox::OutboundMail).await
    }

    /// Claim the next attempt at a reply e-mail seen with `attempts` so
    /// far, as [`Store::claim_deliveries`] does for notifications.
    pub async fn claim_mail(
        &self,
        id: i64,
        attempts: u32,
        retry_at: Millis,
    ) -> Result<Option<OutgoingMail>> {
        if !self
            .outbox_claim(Outbox::OutboundMail, id, attempts, retry_at)
            .await?
        {
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT o.attempts, o.message_id, t.name AS from_name, o.to_address, o.to_name,
                o.subject, m.body, o.email_message_id, o.in_reply_to, m.created_at
             FROM outbound_mail o
             JOIN messages m ON m.id = o.message_id
             JOIN tenants t ON t.id = o.tenant_id
             WHERE o.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|r| {
            Some(OutgoingMail {
                id,
                attempt: u32::try_from(r.get::<i64, _>("attempts")).unwrap_or(1),
                message: MessageId::parse(r.get("message_id")).ok()?,
                from_name: r.get("from_name"),
                to_address: r.get("to_address"),
                to_name: r.get("to_name"),
                subject: r.get("subject"),
                body: r.get("body"),
                email_message_id: r.get("email_message_id"),
                in_reply_to: r.get("in_reply_to"),
                created_at: Millis(r.get("created_at")),
            })
        }))
    }

    /// Record how an attempt at a reply e-mail ended.
    pub async fn finish_mail(&self, id: i64, result: &AttemptResult) -> Result<()> {
        self.outbox_finish(Outbox::OutboundMail, id, result).await
    }
}

#[cfg(test)]
mod tests {
    use super::reply_subject;

    #[test]
    fn replies_say_re_once() {
        assert_eq!(reply_subject("Broken invoice"), "Re: Broken invoice");
        assert_eq!(reply_subject("RE: Broken invoice"), "RE: Broken invoice");
        assert_eq!(reply_subject(" re:x "), "re:x");
        assert_eq!(reply_subject("返金"), "Re: 返金");
    }
}
