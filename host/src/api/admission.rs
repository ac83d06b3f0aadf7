//! Admission: each tenant's requests go through a lane of their own, with
//! a limit on how many may be in flight at once (more wait in the lane's
//! queue, up to its length) and, if the operator sets one, on how many may
//! start per second. A tenant flooding the API fills its own lane and
//! takes no place from other tenants; past its queue it gets 429s.
//!
//! Waiting rather than refusing at once is deliberate: a client that sends
//! again as soon as it is refused would otherwise turn the tenant's excess
//! into a busy loop of refusals, which costs the server more than the
//! requests themselves.
//!
//! A request is charged to the tenant its credential belongs to (the API
//! key or a member's token). Which tenant that is comes from a small map
//! in memory, filled from the database on first sight: it only picks the
//! lane, and the handler still checks the credential as before, so a token
//! revoked since is still refused (and charged to its old tenant, which is
//! right). Credentials the database does not know share one lane.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

use super::{ApiError, AppState, extract::bearer_of};
use crate::domain::TenantId;
use crate::store::{Store, StoreError};

/// The limits every tenant's lane has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdmissionLimits {
    /// Requests of one tenant in flight at once (`BATON_TENANT_IN_FLIGHT`).
    pub in_flight: u32,
    /// Requests of one tenant that may wait for a place, each for up to
    /// [`QUEUE_WAIT`] (`BATON_TENANT_QUEUE`); more are refused at once.
    pub queue: u32,
    /// Requests one tenant may start per second, with a second's worth as
    /// the burst (`BATON_TENANT_RATE`); `None`: no rate limit.
    pub per_second: Option<u32>,
}

impl AdmissionLimits {
    /// Enough for an integration pushing hard (the load tool keeps 32 in
    /// flight), small enough that one tenant cannot fill the server.
    pub const DEFAULT_IN_FLIGHT: u32 = 64;
    /// The most `BATON_TENANT_IN_FLIGHT` may ask for.
    pub const MAX_IN_FLIGHT: u32 = 65_536;
    /// Waiting requests per tenant when `BATON_TENANT_QUEUE` is unset.
    pub const DEFAULT_QUEUE: u32 = 256;
    /// The most `BATON_TENANT_QUEUE` may ask for.
    pub const MAX_QUEUE: u32 = 65_536;
}

/// How long a request waits in its lane's queue before it is refused.
pub const QUEUE_WAIT: Duration = Duration::from_secs(10);

impl Default for AdmissionLimits {
    fn default() -> Self {
        Self {
            in_flight: Self::DEFAULT_IN_FLIGHT,
            queue: Self::DEFAULT_QUEUE,
            per_second: None,
        }
    }
}

/// Past this many credentials the map starts afresh (each is re-read on
/// next sight), so random keys cannot grow it without bound.
const MAX_KNOWN_CREDENTIALS: usize = 100_000;

/// Whose lane a request goes through.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum LaneKey {
    Tenant(TenantId),
    /// Credentials no tenant has.
    Unknown,
}

/// Requests started per second, as a bucket of tokens refilled at the
/// rate and holding at most a second's worth.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// Take a token, or say how long until one is there.
    fn take(&mut self, rate: u32, now: Instant) -> Result<(), Duration> {
        let rate = f64::from(rate);
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(rate);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / rate))
        }
    }
}

/// One tenant's lane.
#[derive(Debug)]
struct Lane {
    in_flight: Arc<Semaphore>,
    /// Requests waiting for a place now.
    waiting: AtomicU32,
    bucket: Mutex<Bucket>,
}

/// A place in a lane's queue, given back when dropped.
struct Waiting<'a>(&'a AtomicU32);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Why a request was not let in.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Refusal {
    /// In flight at the limit and the queue full (or waited too long).
    InFlight(u32),
    Rate {
        per_second: u32,
        wait: Duration,
    },
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (message, retry_after) = match self {
            Refusal::InFlight(limit) => (
                format!(
                    "this tenant already has {limit} requests in flight, the most it may, \
                     and its queue is full; send the next when one has been answered"
                ),
                1,
            ),
            Refusal::Rate { per_second, wait } => (
                format!("this tenant may start {per_second} requests a second; slow down"),
                wait.as_secs().max(1),
            ),
        };
        let mut response =
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", message)
                .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        response
    }
}

/// Every tenant's lane in this process.
#[derive(Debug)]
pub struct Admission {
    limits: AdmissionLimits,
    lanes: Mutex<HashMap<LaneKey, Arc<Lane>>>,
    /// The tenant of each credential seen, by the credential's hash.
    credentials: Mutex<HashMap<[u8; 32], TenantId>>,
}

impl Admission {
    pub fn new(limits: AdmissionLimits) -> Self {
        Self {
            limits,
            lanes: Mutex::default(),
            credentials: Mutex::default(),
        }
    }

    /// The tenant `credential` belongs to: from memory, or else from the
    /// database (remembered when found).
    async fn tenant_of(&self, store: &Store, credential: &str) -> Result<LaneKey, StoreError> {
        let hash: [u8; 32] = Sha256::digest(credential.as_bytes()).into();
        let known = self
            .credentials
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&hash)
            .cloned();
        if let Some(tenant) = known {
            return Ok(LaneKey::Tenant(tenant));
        }
        let tenant = match store.tenant_by_key(credential).await? {
            Some(tenant) => Some(tenant.id),
            None => store
                .member_by_token(credential)
                .await?
                .map(|(tenant, _)| tenant.id),
        };
        let Some(tenant) = tenant else {
            return Ok(LaneKey::Unknown);
        };
        let mut credentials = self
            .credentials
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if credentials.len() >= MAX_KNOWN_CREDENTIALS {
            credentials.clear();
        }
        credentials.insert(hash, tenant.clone());
        Ok(LaneKey::Tenant(tenant))
    }

    fn lane(&self, key: LaneKey) -> Arc<Lane> {
        let mut lanes = self.lanes.lock().unwrap_or_else(PoisonError::into_inner);
        lanes
            .entry(key)
            .or_insert_with(|| {
                Arc::new(Lane {
                    in_flight: Arc::new(Semaphore::new(self.limits.in_flight as usize)),
                    waiting: AtomicU32::new(0),
                    bucket: Mutex::new(Bucket {
                        tokens: f64::from(self.limits.per_second.unwrap_or(0)),
                        at: Instant::now(),
                    }),
                })
            })
            .clone()
    }

    /// Let a request into `lane`: a place among its requests in flight,
    /// held until the answer is made (waiting in the queue for one if
    /// there is room), and a token if there is a rate.
    async fn enter(&self, lane: &Lane, wait: Duration) -> Result<OwnedSemaphorePermit, Refusal> {
        let full = Refusal::InFlight(self.limits.in_flight);
        let permit = match lane.in_flight.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(TryAcquireError::Closed) => return Err(full),
            Err(TryAcquireError::NoPermits) => {
                if lane.waiting.fetch_add(1, Ordering::Relaxed) >= self.limits.queue {
                    lane.waiting.fetch_sub(1, Ordering::Relaxed);
                    return Err(full);
                }
                let _waiting = Waiting(&lane.waiting);
                match tokio::time::timeout(wait, lane.in_flight.clone().acquire_owned()).await {
                    Ok(Ok(permit)) => permit,
                    Ok(Err(_)) | Err(_) => return Err(full),
                }
            }
        };
        let now = Instant::now();
        if let Some(per_second) = self.limits.per_second {
            lane.bucket
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(per_second, now)
                .map_err(|wait| Refusal::Rate { per_second, wait })?;
        }
        Ok(permit)
    }
}

/// The middleware: requests with a bearer credential other than the
/// operator's go through their tenant's lane; the rest (the customer's own
/// links, the operator) pass as they are.
pub(super) async fn admit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(credential) = bearer_of(request.headers()) else {
        return next.run(request).await;
    };
    if super::extract::is_operator_token(&state, credential) {
        return next.run(request).await;
    }
    let key = match state.admission.tenant_of(&state.store, credential).await {
        Ok(key) => key,
        Err(error) => return ApiError::from(error).into_response(),
    };
    let lane = state.admission.lane(key);
    // Held while the handler runs; a streamed body (an event stream) goes
    // on after and holds no place.
    let _place = match state.admission.enter(&lane, QUEUE_WAIT).await {
        Ok(place) => place,
        Err(refusal) => return refusal.into_response(),
    };
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lane(admission: &Admission) -> Arc<Lane> {
        admission.lane(LaneKey::Tenant(TenantId::generate()))
    }

    const NO_WAIT: Duration = Duration::from_millis(1);

    #[tokio::test]
    async fn a_lane_lets_in_up_to_its_limit_and_again_when_one_ends() {
        let admission = Admission::new(AdmissionLimits {
            in_flight: 2,
            queue: 0,
            per_second: None,
        });
        let a = lane(&admission);
        let b = lane(&admission);
        let first = admission.enter(&a, NO_WAIT).await.expect("first");
        let _second = admission.enter(&a, NO_WAIT).await.expect("second");
        assert_eq!(
            admission.enter(&a, NO_WAIT).await.map(|_| ()),
            Err(Refusal::InFlight(2))
        );
        // Another tenant's lane is its own.
        assert!(admission.enter(&b, NO_WAIT).await.is_ok());
        drop(first);
        assert!(admission.enter(&a, NO_WAIT).await.is_ok());
    }

    #[tokio::test]
    async fn a_full_lane_queues_up_to_its_length_and_refuses_past_it() {
        let admission = Arc::new(Admission::new(AdmissionLimits {
            in_flight: 1,
            queue: 1,
            per_second: None,
        }));
        let a = lane(&admission);
        let first = admission.enter(&a, NO_WAIT).await.expect("first");
        // The second waits for the first's place...
        let queued = tokio::spawn({
            let (admission, a) = (admission.clone(), a.clone());
            async move { admission.enter(&a, Duration::from_secs(60)).await.is_ok() }
        });
        while a.waiting.load(Ordering::Relaxed) == 0 {
            tokio::task::yield_now().await;
        }
        // ...the queue is then full, so a third is refused at once...
        assert_eq!(
            admission.enter(&a, NO_WAIT).await.map(|_| ()),
            Err(Refusal::InFlight(1))
        );
        // ...and the second gets in when the first is answered.
        drop(first);
        assert!(queued.await.expect("joined"));
        assert_eq!(a.waiting.load(Ordering::Relaxed), 0);
        // A wait that runs out is a refusal, and leaves the queue.
        let _held = admission.enter(&a, NO_WAIT).await.expect("free again");
        assert!(admission.enter(&a, NO_WAIT).await.is_err());
        assert_eq!(a.waiting.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn the_rate_allows_a_seconds_burst_then_refills() {
        let admission = Admission::new(AdmissionLimits {
            in_flight: 100,
            queue: 0,
            per_second: Some(4),
        });
        let a = lane(&admission);
        for _ in 0..4 {
            drop(
                admission
                    .enter(&a, NO_WAIT)
                    .await
                    .expect("within the burst"),
            );
        }
        match admission.enter(&a, NO_WAIT).await {
            Err(Refusal::Rate {
                per_second: 4,
                wait,
            }) => {
                assert!(
                    wait > Duration::ZERO && wait <= Duration::from_millis(250),
                    "{wait:?}"
                );
            }
            other => panic!("expected a rate refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_bucket_refills_at_its_rate_up_to_a_seconds_worth() {
        let start = Instant::now();
        let mut bucket = Bucket {
            tokens: 0.0,
            at: start,
        };
        assert_eq!(bucket.take(4, start), Err(Duration::from_millis(250)));
        // A quarter of a second later one token is there, not two.
        let later = start + Duration::from_millis(250);
        assert_eq!(bucket.take(4, later), Ok(()));
        assert!(bucket.take(4, later).is_err());
        // Long idle fills it to a second's worth only.
        let much_later = later + Duration::from_secs(60);
        for _ in 0..4 {
            assert_eq!(bucket.take(4, much_later), Ok(()));
        }
        assert!(bucket.take(4, much_later).is_err());
    }
}
