//! New conversations written together: creates of one tenant that arrive
//! while an earlier one waits for, or holds, the writer are written in one
//! transaction, instead of one transaction (and one turn at SQLite's one
//! writer) each. Under load the writer is what creates queue for, so the
//! queue itself gathers the group; a create alone is written at once.
//!
//! A tenant's waiting creates are written by a task of their own, started
//! by the first of them and ending when none is left, so no request waits
//! for others' creates after its own is written, and a request that goes
//! away leaves nothing half-written. If the group's transaction fails
//! (a passing failure of the database), each create is tried alone, so one
//! create's error is its own.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::oneshot;

use super::conversations::Opening;
use super::{Result, Store};
use crate::domain::{BotId, ConversationRecord, NewConversation, TenantId};

/// Creates written in one transaction at most.
const GROUP_MAX: usize = 64;

/// What a create is answered with: the conversation and the event that
/// routes it.
type Created = Result<(ConversationRecord, i64)>;

struct Waiting {
    new: NewConversation,
    bot: Option<BotId>,
    answer: oneshot::Sender<Created>,
}

/// Each tenant's creates waiting to be written; a tenant is here while its
/// writing task runs.
#[derive(Default)]
pub(super) struct Creates {
    waiting: Mutex<HashMap<TenantId, Vec<Waiting>>>,
    /// Groups committed so far.
    groups: AtomicU64,
}

impl Creates {
    /// Queue a create; `true` if none of the tenant's was waiting or being
    /// written, so the caller starts the task that writes them.
    fn push(&self, tenant: &TenantId, create: Waiting) -> bool {
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        match waiting.get_mut(tenant) {
            Some(queue) => {
                queue.push(create);
                false
            }
            None => {
                waiting.insert(tenant.clone(), vec![create]);
                true
            }
        }
    }

    /// Whether any of the tenant's creates waits; if none does, its task
    /// ends (and the next create starts another).
    fn any_waiting(&self, tenant: &TenantId) -> bool {
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        match waiting.get(tenant) {
            Some(queue) if !queue.is_empty() => true,
            _ => {
                waiting.remove(tenant);
                false
            }
        }
    }

    /// The next group of the tenant's waiting creates, oldest first.
    fn take(&self, tenant: &TenantId) -> Vec<Waiting> {
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        waiting.get_mut(tenant).map_or_else(Vec::new, |queue| {
            let count = queue.len().min(GROUP_MAX);
            queue.drain(..count).collect()
        })
    }
}

impl Store {
    /// Create a conversation, its first message and the event that routes
    /// it, all or nothing, in one transaction with the tenant's other
    /// creates waiting at the same time. A channel with a bot starts owned
    /// by that bot. On a channel connected to the help desk it becomes a
    /// ticket too.
    pub async fn create_conversation(
        &self,
        tenant: &TenantId,
        new: NewConversation,
        bot: Option<BotId>,
    ) -> Result<(ConversationRecord, i64)> {
        let (answer, answered) = oneshot::channel();
        let first = self.creates.push(tenant, Waiting { new, bot, answer });
        if first {
            let store = self.clone();
            let tenant = tenant.clone();
            tokio::spawn(async move { store.write_creates(&tenant).await });
        }
        answered.await.unwrap_or_else(|_| {
            Err(super::StoreError::Unsupported(
                "the task writing new conversations stopped".into(),
            ))
        })
    }

    /// Write the tenant's waiting creates, a group at a time, until none
    /// is left.
    async fn write_creates(&self, tenant: &TenantId) {
        while self.creates.any_waiting(tenant) {
            let tx = self.write_for(tenant).await;
            // Taken once this task has the writer: creates arriving while
            // it waited join this group.
            let group = self.creates.take(tenant);
            let written = match tx {
                Ok(tx) => self.open_together(tx, tenant, &group).await,
                Err(error) => {
                    tracing::warn!(%error, "no write transaction for new conversations");
                    None
                }
            };
            match written {
                Some(created) => {
                    for (waiting, created) in group.into_iter().zip(created) {
                        let _ = waiting.answer.send(Ok(created));
                    }
                }
                // Each alone: one create's error is its own.
                None => {
                    for waiting in group {
                        let created = self.open_alone(tenant, waiting.new, waiting.bot).await;
                        let _ = waiting.answer.send(created);
                    }
                }
            }
        }
    }

    /// `group` in one transaction; `None` if it failed (nothing written).
    async fn open_together(
        &self,
        mut tx: super::engine::WriteTx,
        tenant: &TenantId,
        group: &[Waiting],
    ) -> Option<Vec<(ConversationRecord, i64)>> {
        let now = self.now();
        let opening = match Opening::read(&mut tx, tenant).await {
            Ok(opening) => opening,
            Err(error) => {
                tracing::warn!(%error, "new conversations written one by one");
                return None;
            }
        };
        let mut created = Vec::with_capacity(group.len());
        for waiting in group {
            let opened = Self::open_with(
                &mut tx,
                tenant,
                waiting.new.clone(),
                waiting.bot.clone(),
                &opening,
                now,
            )
            .await;
            match opened {
                Ok((record, _, event)) => created.push((record, event)),
                Err(error) => {
                    tracing::warn!(%error, "new conversations written one by one");
                    return None;
                }
            }
        }
        match tx.commit().await {
            Ok(()) => {
                self.creates.groups.fetch_add(1, Ordering::Relaxed);
                Some(created)
            }
            Err(error) => {
                tracing::warn!(%error, "new conversations written one by one");
                None
            }
        }
    }

    async fn open_alone(
        &self,
        tenant: &TenantId,
        new: NewConversation,
        bot: Option<BotId>,
    ) -> Created {
        let now = self.now();
        let mut tx = self.write_for(tenant).await?;
        let (record, _, event) = Self::open_conversation(&mut tx, tenant, new, bot, now).await?;
        tx.commit().await?;
        Ok((record, event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{kims_chat, on_each_engine};

    /// Creates that arrive while the writer is busy are written in one
    /// transaction once it is free, in the order they came, each answered
    /// with its own conversation and event.
    #[tokio::test]
    async fn creates_waiting_for_the_writer_are_written_together() {
        on_each_engine(together_on).await;
    }

    async fn together_on(store: &Store) {
        let (tenant, _) = store.create_tenant("Acme").await.expect("tenant");
        let tenant = tenant.id;
        let held = store.write_for(&tenant).await.expect("the writer");
        let creates: Vec<_> = (0..5)
            .map(|i| {
                let (store, tenant) = (store.clone(), tenant.clone());
                tokio::spawn(async move {
                    let new = NewConversation {
                        subject: Some(format!("chat {i}")),
                        ..kims_chat()
                    };
                    store.create_conversation(&tenant, new, None).await
                })
            })
            .collect();
        let waiting = || {
            let waiting = store.creates.waiting.lock().expect("lock");
            waiting.get(&tenant).map_or(0, Vec::len)
        };
        while waiting() < 5 {
            tokio::task::yield_now().await;
        }
        let before = store.creates.groups.load(Ordering::Relaxed);
        drop(held);
        let mut events = Vec::new();
        for (i, create) in creates.into_iter().enumerate() {
            let (record, event) = create.await.expect("task").expect("created");
            assert_eq!(record.subject, Some(format!("chat {i}")));
            let stored = store
                .get_conversation(&tenant, &record.id)
                .await
                .expect("read")
                .expect("written");
            assert_eq!(stored.subject, record.subject);
            events.push(event);
        }
        assert!(events.is_sorted(), "in the order they came: {events:?}");
        assert_eq!(
            store.creates.groups.load(Ordering::Relaxed) - before,
            1,
            "one transaction for the five"
        );
        assert_eq!(waiting(), 0, "nothing left waiting");
    }

    /// A create alone is written at once, and the next one, later, starts
    /// a task of its own.
    #[tokio::test]
    async fn a_create_alone_is_written_at_once() {
        on_each_engine(alone_on).await;
    }

    async fn alone_on(store: &Store) {
        let (tenant, _) = store.create_tenant("Acme").await.expect("tenant");
        let (first, first_event) = store
            .create_conversation(&tenant.id, kims_chat(), None)
            .await
            .expect("first");
        let (second, second_event) = store
            .create_conversation(&tenant.id, kims_chat(), None)
            .await
            .expect("second");
        assert_ne!(first.id, second.id);
        assert!(first_event < second_event);
        assert_eq!(store.creates.groups.load(Ordering::Relaxed), 2);
    }
}
