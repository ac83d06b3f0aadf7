//! What the process counts for Prometheus, served at `GET /metrics`.
//!
//! One [`Metrics`] per [`crate::App`], not a process-wide recorder: two
//! servers in one process (the end-to-end tests run dozens) each report
//! their own. Labels are bounded by what the tenants configure, never by
//! their traffic: tenants × plugins × versions for plugin calls, the
//! router's route templates for HTTP, never a conversation or a raw path.
//!
//! Counters and histograms are updated where things happen; the gauges
//! that describe the database (dispatcher lag, outbox depth, queue length)
//! are read from it when scraped, so they are never stale and cost nothing
//! between scrapes.

use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::domain::{PluginUse, TenantId};
use crate::plugin::CallError;

/// The `Content-Type` of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Which plugin entry point a call went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallKind {
    Decide,
    Evaluate,
    OnEvent,
    Matches,
}

impl CallKind {
    fn as_str(self) -> &'static str {
        match self {
            CallKind::Decide => "decide",
            CallKind::Evaluate => "evaluate",
            CallKind::OnEvent => "on-event",
            CallKind::Matches => "matches",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CallLabels {
    tenant: String,
    plugin: String,
    version: String,
    kind: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct FailureLabels {
    tenant: String,
    plugin: String,
    version: String,
    failure: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct TenantLabels {
    tenant: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OutboxLabels {
    outbox: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct LookupLabels {
    result: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Plugin call time: 10 µs (a warm call) to about 2.7 s (past any time
/// limit a tenant gets).
fn call_seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.000_01, 2.5, 15))
}

/// Fuel: a thousand instructions to about four billion (past the default
/// budget), by fours.
fn call_fuel() -> Histogram {
    Histogram::new(exponential_buckets(1_000.0, 4.0, 12))
}

/// HTTP answers: half a millisecond to about eight seconds.
fn request_seconds() -> Histogram {
    Histogram::new(exponential_buckets(0.000_5, 2.0, 15))
}

/// The state of the database as of a scrape; see [`Metrics::observe_state`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceState {
    /// Age of the oldest event not yet dispatched (zero when none waits).
    pub dispatcher_lag: Duration,
    pub events_pending: u64,
    /// Notification deliveries waiting to be sent (or retried).
    pub notification_outbox: u64,
    /// Customer e-mail waiting to be sent (or retried).
    pub mail_outbox: u64,
    /// Conversations waiting in each tenant's queue (tenants with none
    /// left out).
    pub queues: Vec<(TenantId, u64)>,
}

/// The counters, histograms and gauges, and the registry that names them.
pub struct Metrics {
    registry: Registry,
    plugin_calls: Family<CallLabels, Counter>,
    plugin_failures: Family<FailureLabels, Counter>,
    plugin_seconds: Histograms<CallLabels>,
    plugin_fuel: Histograms<CallLabels>,
    http_requests: Family<HttpLabels, Counter>,
    http_seconds: Histograms<RouteLabels>,
    cache_lookups: Family<LookupLabels, Counter>,
    compiles: Counter,
    artifact_loads: Counter,
    cache_components: Gauge,
    cache_bytes: Gauge,
    dispatcher_lag: Gauge<f64, AtomicU64>,
    events_pending: Gauge,
    outbox_depth: Family<OutboxLabels, Gauge>,
    queue_length: Family<TenantLabels, Gauge>,
    /// Scrapes refresh the sampled gauges, then encode: one at a time, so
    /// a scrape never shows another's half-refreshed queue lengths.
    scrape: Mutex<()>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("baton");
        let plugin_calls = Family::default();
        registry.register(
            "plugin_calls",
            "Plugin calls made for routing, by tenant, plugin, version and entry point",
            plugin_calls.clone(),
        );
        let plugin_failures = Family::default();
        registry.register(
            "plugin_failures",
            "Plugin calls that fell back, by tenant, plugin, version and why \
             (out-of-fuel, timeout, memory-cap, trap, plugin-error, invalid-answer, unavailable)",
            plugin_failures.clone(),
        );
        let plugin_seconds: Histograms<CallLabels> = Family::new_with_constructor(call_seconds);
        registry.register_with_unit(
            "plugin_call_duration",
            "Time a plugin call took, from the router's side (waiting for a worker included)",
            Unit::Seconds,
            plugin_seconds.clone(),
        );
        let plugin_fuel: Histograms<CallLabels> = Family::new_with_constructor(call_fuel);
        registry.register(
            "plugin_call_fuel",
            "Fuel a successful plugin call used",
            plugin_fuel.clone(),
        );
        let http_requests = Family::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            http_requests.clone(),
        );
        let http_seconds: Histograms<RouteLabels> = Family::new_with_constructor(request_seconds);
        registry.register_with_unit(
            "http_request_duration",
            "Time to answer an HTTP request, by method and route template",
            Unit::Seconds,
            http_seconds.clone(),
        );
        let cache_lookups = Family::default();
        registry.register(
            "plugin_cache_lookups",
            "Looks for a compiled component in memory: hit, or miss (loaded or compiled)",
            cache_lookups.clone(),
        );
        let compiles = Counter::default();
        registry.register(
            "plugin_compiles",
            "Components compiled by this process",
            compiles.clone(),
        );
        let artifact_loads = Counter::default();
        registry.register(
            "plugin_artifact_loads",
            "Compiled artefacts loaded from the database instead of compiling",
            artifact_loads.clone(),
        );
        let cache_components = Gauge::default();
        registry.register(
            "plugin_cache_components",
            "Compiled components held in memory",
            cache_components.clone(),
        );
        let cache_bytes = Gauge::default();
        registry.register_with_unit(
            "plugin_cache",
            "Code size of the compiled components held in memory",
            Unit::Bytes,
            cache_bytes.clone(),
        );
        let dispatcher_lag = Gauge::<f64, AtomicU64>::default();
        registry.register_with_unit(
            "dispatcher_lag",
            "Age of the oldest event waiting for the dispatcher (0 when none waits)",
            Unit::Seconds,
            dispatcher_lag.clone(),
        );
        let events_pending = Gauge::default();
        registry.register(
            "events_pending",
            "Events waiting for the dispatcher",
            events_pending.clone(),
        );
        let outbox_depth = Family::default();
        registry.register(
            "outbox_depth",
            "Deliveries waiting to be sent or retried, by outbox",
            outbox_depth.clone(),
        );
        let queue_length = Family::default();
        registry.register(
            "queue_length",
            "Conversations waiting in a tenant's queue",
            queue_length.clone(),
        );
        Self {
            registry,
            plugin_calls,
            plugin_failures,
            plugin_seconds,
            plugin_fuel,
            http_requests,
            http_seconds,
            cache_lookups,
            compiles,
            artifact_loads,
            cache_components,
            cache_bytes,
            dispatcher_lag,
            events_pending,
            outbox_depth,
            queue_length,
            scrape: Mutex::new(()),
        }
    }

    /// A routing call to `plugin` returned after `took`; `fuel` is what a
    /// successful call used (a failed call's is not known).
    pub fn plugin_call(
        &self,
        tenant: &TenantId,
        plugin: &PluginUse,
        kind: CallKind,
        took: Duration,
        fuel: Option<u64>,
    ) {
        let labels = CallLabels {
            tenant: tenant.to_string(),
            plugin: plugin.name.clone(),
            version: plugin.version.clone(),
            kind: kind.as_str(),
        };
        self.plugin_calls.get_or_create(&labels).inc();
        self.plugin_seconds
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
        if let Some(fuel) = fuel {
            // Fuel fits an f64 exactly up to 2^53, far past any budget.
            self.plugin_fuel.get_or_create(&labels).observe(fuel as f64);
        }
    }

    /// A plugin's failure was recorded and its fallback taken.
    pub fn plugin_failure(&self, tenant: &TenantId, plugin: &PluginUse, error: &CallError) {
        self.plugin_failures
            .get_or_create(&FailureLabels {
                tenant: tenant.to_string(),
                plugin: plugin.name.clone(),
                version: plugin.version.clone(),
                failure: error.kind(),
            })
            .inc();
    }

    /// An HTTP request was answered. `route` is the router's template
    /// (`/v1/conversations/{id}`), never the path asked for.
    pub fn http_request(&self, method: &str, route: &str, status: u16, took: Duration) {
        self.http_requests
            .get_or_create(&HttpLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        self.http_seconds
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    pub fn cache_hit(&self) {
        self.cache_lookups
            .get_or_create(&LookupLabels { result: "hit" })
            .inc();
    }

    pub fn cache_miss(&self) {
        self.cache_lookups
            .get_or_create(&LookupLabels { result: "miss" })
            .inc();
    }

    pub fn compiled(&self) {
        self.compiles.inc();
    }

    pub fn artifact_loaded(&self) {
        self.artifact_loads.inc();
    }

    /// Encode every metric as OpenMetrics text, after setting the sampled
    /// gauges from `state` and the compile cache's `(components, bytes)`.
    pub fn render(&self, state: &ServiceState, cache: (usize, usize)) -> String {
        let _one_at_a_time = self.scrape.lock().unwrap_or_else(|e| e.into_inner());
        self.cache_components.set(gauge_value(cache.0 as u64));
        self.cache_bytes.set(gauge_value(cache.1 as u64));
        self.dispatcher_lag.set(state.dispatcher_lag.as_secs_f64());
        self.events_pending.set(gauge_value(state.events_pending));
        self.outbox_depth
            .get_or_create(&OutboxLabels {
                outbox: "notification-deliveries",
            })
            .set(gauge_value(state.notification_outbox));
        self.outbox_depth
            .get_or_create(&OutboxLabels {
                outbox: "customer-mail",
            })
            .set(gauge_value(state.mail_outbox));
        // A tenant whose queue emptied drops out of the answer: start from
        // none so its series reads absent, not its last length.
        self.queue_length.clear();
        for (tenant, length) in &state.queues {
            self.queue_length
                .get_or_create(&TenantLabels {
                    tenant: tenant.to_string(),
                })
                .set(gauge_value(*length));
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

fn gauge_value(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin() -> PluginUse {
        serde_json::from_value(serde_json::json!({
            "id": "round-robin", "name": "round-robin", "version": "1.0.0",
            "sha256": "00", "config": {}
        }))
        .unwrap()
    }

    /// The value of the sample whose line starts with `series`.
    fn sample(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|v| v.parse().ok())
    }

    #[test]
    fn calls_and_failures_are_counted_per_tenant_plugin_and_version() {
        let metrics = Metrics::new();
        let tenant = TenantId::generate();
        let plugin = plugin();
        for _ in 0..3 {
            metrics.plugin_call(
                &tenant,
                &plugin,
                CallKind::Decide,
                Duration::from_micros(40),
                Some(5_000),
            );
        }
        metrics.plugin_call(
            &tenant,
            &plugin,
            CallKind::Decide,
            Duration::from_millis(100),
            None,
        );
        metrics.plugin_failure(&tenant, &plugin, &CallError::Timeout { ms: 100 });
        let text = metrics.render(&ServiceState::default(), (0, 0));
        let labels = format!(
            "{{tenant=\"{tenant}\",plugin=\"round-robin\",version=\"1.0.0\",kind=\"decide\"}}"
        );
        assert_eq!(
            sample(&text, &format!("baton_plugin_calls_total{labels}")),
            Some(4.0)
        );
        assert_eq!(
            sample(&text, &format!("baton_plugin_call_fuel_count{labels}")),
            Some(3.0),
            "a failed call has no fuel to observe"
        );
        assert_eq!(
            sample(
                &text,
                &format!("baton_plugin_call_duration_seconds_count{labels}")
            ),
            Some(4.0)
        );
        assert_eq!(
            sample(
                &text,
                &format!(
                    "baton_plugin_failures_total{{tenant=\"{tenant}\",plugin=\"round-robin\",\
                     version=\"1.0.0\",failure=\"timeout\"}}"
                )
            ),
            Some(1.0)
        );
    }

    #[test]
    fn sampled_gauges_follow_the_latest_state_and_an_emptied_queue_drops_out() {
        let metrics = Metrics::new();
        let (a, b) = (TenantId::generate(), TenantId::generate());
        let state = ServiceState {
            dispatcher_lag: Duration::from_millis(1_500),
            events_pending: 7,
            notification_outbox: 2,
            mail_outbox: 1,
            queues: vec![(a.clone(), 5), (b.clone(), 3)],
        };
        let text = metrics.render(&state, (4, 1 << 20));
        assert_eq!(sample(&text, "baton_dispatcher_lag_seconds"), Some(1.5));
        assert_eq!(sample(&text, "baton_events_pending"), Some(7.0));
        assert_eq!(
            sample(
                &text,
                "baton_outbox_depth{outbox=\"notification-deliveries\"}"
            ),
            Some(2.0)
        );
        assert_eq!(
            sample(&text, &format!("baton_queue_length{{tenant=\"{a}\"}}")),
            Some(5.0)
        );
        assert_eq!(
            sample(&text, "baton_plugin_cache_bytes"),
            Some(f64::from(1 << 20))
        );

        let later = ServiceState {
            queues: vec![(b.clone(), 1)],
            ..ServiceState::default()
        };
        let text = metrics.render(&later, (4, 1 << 20));
        assert_eq!(
            sample(&text, &format!("baton_queue_length{{tenant=\"{a}\"}}")),
            None
        );
        assert_eq!(
            sample(&text, &format!("baton_queue_length{{tenant=\"{b}\"}}")),
            Some(1.0)
        );
        assert_eq!(sample(&text, "baton_dispatcher_lag_seconds"), Some(0.0));
    }

    #[test]
    fn http_requests_are_labelled_by_route_template_and_status() {
        let metrics = Metrics::new();
        metrics.http_request(
            "GET",
            "/v1/conversations/{id}",
            404,
            Duration::from_millis(2),
        );
        metrics.http_request(
            "GET",
            "/v1/conversations/{id}",
            200,
            Duration::from_millis(3),
        );
        metrics.http_request(
            "GET",
            "/v1/conversations/{id}",
            200,
            Duration::from_millis(4),
        );
        let text = metrics.render(&ServiceState::default(), (0, 0));
        assert_eq!(
            sample(
                &text,
                "baton_http_requests_total{method=\"GET\",route=\"/v1/conversations/{id}\",status=\"200\"}"
            ),
            Some(2.0)
        );
        assert_eq!(
            sample(
                &text,
                "baton_http_request_duration_seconds_count{method=\"GET\",route=\"/v1/conversations/{id}\"}"
            ),
            Some(3.0)
        );
        assert!(text.ends_with("# EOF\n"), "OpenMetrics text ends with EOF");
    }
}
