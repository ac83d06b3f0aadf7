//! Notification delivery.
//!
//! Notifications are derived from events by the dispatcher ([`events`]) and
//! written with a delivery row per channel in the same transaction as the
//! event's outcome (the outbox). This module's worker then claims due
//! deliveries by the store's clock and sends them: in-app to the live
//! stream ([`stream`]), e-mail through SMTP ([`email`]), the chat and push
//! webhooks as signed HTTP posts ([`webhook`]). The same worker sends the
//! e-mails of ticket replies to customers, from their own outbox. A failed
//! attempt is retried with exponential backoff, up to [`MAX_ATTEMPTS`].
//! Every channel carries the notification's id, so a receiver
//! de-duplicates the repeat that a crash between sending and marking
//! causes (at-least-once delivery).

pub mod address;
pub mod email;
pub mod events;
pub mod stream;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::domain::{Millis, NotifyChannel};
use crate::store::{AttemptResult, Outgoing, Store, StoreError};
use crate::worker::PassHandle;
use address::WebhookPolicy;
use email::SmtpConfig;
use stream::Hub;

/// Attempts at one delivery before it is marked failed.
pub const MAX_ATTEMPTS: u32 = 8;
/// The wait before the first retry; each further retry waits twice as long.
pub const FIRST_RETRY: Duration = Duration::from_secs(10);
/// The longest wait between two attempts.
pub const MAX_RETRY: Duration = Duration::from_secs(30 * 60);
/// Longest real time between two looks at the outbox: deliveries written by
/// an API call (an @mention) or another process are noticed within this.
const POLL: Duration = Duration::from_millis(500);
/// How long the worker, woken by a handled event, waits for more before
/// its pass: a little added to an in-app notification's delay, for far
/// fewer writes under load.
const GATHER: Duration = Duration::from_millis(5);
/// Deliveries claimed per round trip.
const BATCH: u32 = 50;
/// Real-time limit on one webhook or SMTP exchange.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// The wait after failed attempt number `attempt` (1 for the first):
/// 10 s, 20 s, 40 s, ... capped at [`MAX_RETRY`].
pub fn backoff(attempt: u32) -> Duration {
    let doublings = attempt.saturating_sub(1).min(20);
    FIRST_RETRY.saturating_mul(1u32 << doublings).min(MAX_RETRY)
}

/// What the delivery worker needs besides the store.
#[derive(Clone)]
pub struct Delivery {
    pub smtp: Option<SmtpConfig>,
    /// The webhook client: it follows no redirect and connects only to
    /// addresses `webhooks` allows.
    pub http: reqwest::Client,
    pub webhooks: WebhookPolicy,
}

impl Delivery {
    pub fn new(smtp: Option<SmtpConfig>, webhooks: WebhookPolicy) -> reqwest::Result<Self> {
        Ok(Self {
            smtp,
            http: webhooks.client(SEND_TIMEOUT)?,
            webhooks,
        })
    }
}

/// The worker's pass handle, the in-app stream's hub, and where webhooks
/// may go (checked when a member sets a URL, as well as at delivery).
pub struct NotifyHandle {
    pub passes: PassHandle,
    pub hub: Hub,
    pub webhooks: WebhookPolicy,
}

impl NotifyHandle {
    pub fn new(webhooks: WebhookPolicy) -> Self {
        Self {
            passes: PassHandle::new(),
            hub: Hub::new(),
            webhooks,
        }
    }

    /// Tell the worker new deliveries may be due.
    pub fn wake(&self) {
        self.passes.wake();
    }

    /// Wait (up to `timeout`) until a pass that started after this call has
    /// finished: every delivery due by the clock now has then been tried.
    pub async fn pass(&self, timeout: Duration) -> bool {
        self.passes.pass(timeout).await
    }
}

impl Default for NotifyHandle {
    fn default() -> Self {
        Self::new(WebhookPolicy::default())
    }
}

/// Run until `shutdown` is set. `dispatched` changes whenever the
/// dispatcher has handled an event, which may have written deliveries.
pub async fn run(
    store: Store,
    delivery: Delivery,
    handle: Arc<NotifyHandle>,
    mut dispatched: watch::Receiver<u64>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        handle
            .passes
            .run_pass(deliver_due(&store, &delivery, &handle.hub))
            .await;
        let next = match (store.next_delivery_due().await, store.next_mail_due().await) {
            (Ok(a), Ok(b)) => a.into_iter().chain(b).min(),
            (Err(error), _) | (_, Err(error)) => {
                tracing::error!(%error, "reading the notification outbox failed");
                None
            }
        };
        let deadline = next.unwrap_or(Millis(i64::MAX));
        tokio::select! {
            _ = store.clock().sleep_until(deadline, POLL) => {}
            _ = handle.passes.woken() => {}
            _ = dispatched.changed() => {
                // Under load events are handled one after another: gather
                // the deliveries the next few milliseconds write into one
                // pass (one claim and one record per batch) instead of a
                // pass per event.
                tokio::time::sleep(GATHER).await;
            }
            _ = shutdown.changed() => {}
        }
    }
}

/// Try every delivery and reply e-mail due now, once each.
async fn deliver_due(store: &Store, delivery: &Delivery, hub: &Hub) {
    for outbox in [Outbox::Notifications, Outbox::ReplyMail] {
        each_due(store, delivery, hub, outbox).await;
    }
}

/// The two outboxes the worker sends from.
#[derive(Debug, Clone, Copy)]
enum Outbox {
    Notifications,
    /// Ticket replies to customers, through the same SMTP relay.
    ReplyMail,
}

/// The retry time of an attempt made after `attempts` earlier ones.
fn retry_at(store: &Store, attempts: u32) -> Millis {
    let wait = i64::try_from(backoff(attempts + 1).as_millis()).unwrap_or(i64::MAX);
    Millis(store.now().0.saturating_add(wait))
}

/// Every row of one outbox due now, once each.
async fn each_due(store: &Store, delivery: &Delivery, hub: &Hub, outbox: Outbox) {
    let mut seen = std::collections::HashSet::new();
    loop {
        let due = match outbox {
            Outbox::Notifications => store.due_deliveries(BATCH).await,
            Outbox::ReplyMail => store.due_mail(BATCH).await,
        };
        let due = match due {
            Ok(due) => due,
            Err(error) => {
                tracing::error!(?outbox, %error, "reading due rows failed");
                return;
            }
        };
        // A claim moves a row past now, so the next read returns new rows
        // only; `seen` guards against a row due again at once anyway.
        let fresh: Vec<_> = due.into_iter().filter(|(id, _)| seen.insert(*id)).collect();
        if fresh.is_empty() {
            return;
        }
        let claimed = match outbox {
            Outbox::Notifications => attempt_notifications(store, delivery, hub, &fresh).await,
            Outbox::ReplyMail => {
                let mut claimed = Ok(());
                for &(id, attempts) in &fresh {
                    let retry_at = retry_at(store, attempts);
                    claimed = attempt_mail(store, delivery, id, attempts, retry_at).await;
                    if claimed.is_err() {
                        break;
                    }
                }
                claimed
            }
        };
        if let Err(error) = claimed {
            tracing::error!(?outbox, %error, "claiming rows failed");
            return;
        }
    }
}

/// Claim, send and record a batch of notification deliveries: a statement
/// or two for the claims and for the results of the whole batch, rather
/// than two writes for each delivery (each conversation makes several, and
/// on SQLite every write waits for the one writer the dispatcher needs
/// too).
async fn attempt_notifications(
    store: &Store,
    delivery: &Delivery,
    hub: &Hub,
    due: &[(i64, u32)],
) -> Result<(), StoreError> {
    let due: Vec<(i64, u32, Millis)> = due
        .iter()
        .map(|&(id, attempts)| (id, attempts, retry_at(store, attempts)))
        .collect();
    let claimed = store.claim_deliveries(&due).await?;
    let mut results = Vec::with_capacity(claimed.len());
    for outgoing in &claimed {
        let result = send(store, delivery, hub, outgoing).await;
        if let AttemptResult::Failed { error, give_up } = &result {
            tracing::warn!(
                delivery = outgoing.delivery,
                channel = %outgoing.channel,
                attempt = outgoing.attempt,
                give_up,
                %error,
                "notification delivery failed"
            );
        }
        results.push((outgoing.delivery, result));
    }
    if let Err(error) = store.finish_deliveries(&results).await {
        // Left pending: they are sent again at their retry time, and the
        // receiver de-duplicates by the notification id.
        tracing::error!(deliveries = results.len(), %error, "recording deliveries failed");
    }
    Ok(())
}

/// Claim, send and record one reply e-mail.
async fn attempt_mail(
    store: &Store,
    delivery: &Delivery,
    id: i64,
    attempts: u32,
    retry_at: Millis,
) -> Result<(), StoreError> {
    let Some(mail) = store.claim_mail(id, attempts, retry_at).await? else {
        return Ok(());
    };
    let result = match &delivery.smtp {
        None => AttemptResult::Skipped("no SMTP server is configured".into()),
        Some(smtp) => match email::send_reply(smtp, &mail).await {
            Ok(()) => AttemptResult::Delivered,
            Err(error) => AttemptResult::Failed {
                error: error.to_string(),
                give_up: mail.attempt >= MAX_ATTEMPTS,
            },
        },
    };
    if let AttemptResult::Failed { error, give_up } = &result {
        tracing::warn!(mail = id, attempt = mail.attempt, give_up, %error, "reply e-mail failed");
    }
    if let Err(error) = store.finish_mail(id, &result).await {
        // Left pending: sent again at its retry time under the same
        // Message-ID, which the receiving side de-duplicates by.
        tracing::error!(mail = id, %error, "recording a reply e-mail failed");
    }
    Ok(())
}

/// One attempt on one channel.
async fn send(store: &Store, delivery: &Delivery, hub: &Hub, out: &Outgoing) -> AttemptResult {
    // `Err((error, final))`: a final failure is not retried.
    let sent: Result<(), (String, bool)> = match out.channel {
        NotifyChannel::InApp => {
            hub.publish(&out.notification);
            Ok(())
        }
        NotifyChannel::Email => match &delivery.smtp {
            None => return AttemptResult::Skipped("no SMTP server is configured".into()),
            Some(smtp) => email::send(smtp, out)
                .await
                .map_err(|e| (e.to_string(), false)),
        },
        NotifyChannel::ChatWebhook | NotifyChannel::PushWebhook => {
            let url = match out.channel {
                NotifyChannel::ChatWebhook => out.chat_webhook_url.as_deref(),
                _ => out.push_webhook_url.as_deref(),
            };
            let Some(url) = url else {
                return AttemptResult::Skipped(format!(
                    "no {} URL is set",
                    out.channel.as_str().replace('_', " ")
                ));
            };
            match store.signing_secret(&out.notification.tenant).await {
                Ok(secret) => webhook::send(
                    &delivery.http,
                    delivery.webhooks,
                    url,
                    &secret,
                    out,
                    store.now(),
                )
                .await
                .map_err(|e| {
                    let refused = matches!(e, webhook::WebhookError::Refused(_));
                    (e.to_string(), refused)
                }),
                Err(error) => Err((format!("reading the signing secret failed: {error}"), false)),
            }
        }
    };
    match sent {
        Ok(()) => AttemptResult::Delivered,
        Err((error, last)) => AttemptResult::Failed {
            error,
            give_up: last || out.attempt >= MAX_ATTEMPTS,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_ten_seconds_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_secs(10));
        assert_eq!(backoff(2), Duration::from_secs(20));
        assert_eq!(backoff(3), Duration::from_secs(40));
        assert_eq!(backoff(9), MAX_RETRY);
        assert_eq!(backoff(u32::MAX), MAX_RETRY);
    }
}
