//! Compiled components kept in memory, bounded by the size of their code.
//!
//! Every tenant can upload components, so keeping each one compiled for the
//! life of the process would let uploads grow the server without bound. The
//! cache keeps the most recently used ones within a byte budget; one evicted
//! is loaded again from its stored artefact when next called, which costs a
//! deserialisation, not a compile.

use std::collections::HashMap;
use std::sync::Arc;

/// Something the cache can weigh.
pub(super) trait Weighed {
    /// Bytes of memory it holds while cached.
    fn weight(&self) -> usize;
}

pub(super) struct LruCache<V> {
    budget: usize,
    used: usize,
    /// A logical clock: each use takes the next tick.
    tick: u64,
    entries: HashMap<String, Entry<V>>,
}

struct Entry<V> {
    value: Arc<V>,
    weight: usize,
    last_used: u64,
}

impl<V: Weighed> LruCache<V> {
    pub(super) fn new(budget: usize) -> Self {
        Self {
            budget,
            used: 0,
            tick: 0,
            entries: HashMap::new(),
        }
    }

    pub(super) fn get(&mut self, key: &str) -> Option<Arc<V>> {
        self.tick += 1;
        let entry = self.entries.get_mut(key)?;
        entry.last_used = self.tick;
        Some(entry.value.clone())
    }

    /// Keep `value`, evicting the least recently used entries until the
    /// cache is within its budget again. The newest entry always stays, even
    /// alone over budget: it is about to be called.
    pub(super) fn insert(&mut self, key: &str, value: Arc<V>) {
        self.tick += 1;
        let weight = value.weight();
        let entry = Entry {
            value,
            weight,
            last_used: self.tick,
        };
        if let Some(old) = self.entries.insert(key.to_owned(), entry) {
            self.used -= old.weight;
        }
        self.used += weight;
        while self.used > self.budget && self.entries.len() > 1 {
            let Some(oldest) = self
                .entries
                .iter()
                .filter(|(k, _)| k.as_str() != key)
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(evicted) = self.entries.remove(&oldest) {
                self.used -= evicted.weight;
            }
        }
    }

    /// Entries held, and the bytes they weigh.
    pub(super) fn usage(&self) -> (usize, usize) {
        (self.entries.len(), self.used)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Blob(usize);

    impl Weighed for Blob {
        fn weight(&self) -> usize {
            self.0
        }
    }

    #[test]
    fn the_least_recently_used_go_first_when_over_budget() {
        let mut cache = LruCache::new(100);
        cache.insert("a", Arc::new(Blob(40)));
        cache.insert("b", Arc::new(Blob(40)));
        // Using "a" makes "b" the least recently used.
        assert!(cache.get("a").is_some());
        cache.insert("c", Arc::new(Blob(40)));
        assert!(cache.get("b").is_none());
        assert!(cache.get("a").is_some());
        assert!(cache.get("c").is_some());
        assert_eq!(cache.usage(), (2, 80));
    }

    #[test]
    fn an_entry_over_the_whole_budget_stays_alone() {
        let mut cache = LruCache::new(100);
        cache.insert("a", Arc::new(Blob(10)));
        cache.insert("big", Arc::new(Blob(500)));
        assert!(cache.get("a").is_none());
        assert!(cache.get("big").is_some());
        assert_eq!(cache.usage(), (1, 500));
        // Replacing an entry counts only its new weight.
        cache.insert("big", Arc::new(Blob(50)));
        assert_eq!(cache.usage(), (1, 50));
    }
}
