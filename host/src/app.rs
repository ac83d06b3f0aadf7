//! Putting the parts together: `App::start` builds the store, the plugin
//! runtime, the dispatcher and the timer worker; `App::serve` runs the API on a listener the
//! caller owns (so tests bind port 0).

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api::{self, AppState};
use crate::clock::Clock;
use crate::config::Settings;
use crate::metrics::Metrics;
use crate::notify::{self, Delivery, NotifyHandle};
use crate::plugin::{PluginRegistry, PluginRuntime};
use crate::routing::Router;
use crate::routing::dispatcher::DispatchHandle;
use crate::routing::timers;
use crate::store::Store;
use crate::worker::PassHandle;

/// A running Baton: state plus the dispatcher task.
pub struct App {
    state: AppState,
    shutdown: watch::Sender<bool>,
    dispatcher: tokio::task::JoinHandle<()>,
    timers: tokio::task::JoinHandle<()>,
    notifier: tokio::task::JoinHandle<()>,
    /// How long a stop may take (`Settings::shutdown_grace`).
    grace: Duration,
}

impl App {
    /// Open the database, install the default plugins and start dispatching.
    pub async fn start(settings: &Settings, operator_token: String) -> anyhow::Result<Self> {
        Self::start_with_clock(settings, operator_token, Clock::system()).await
    }

    /// [`App::start`] on a given clock (tests pass a manual one).
    pub async fn start_with_clock(
        settings: &Settings,
        operator_token: String,
        clock: Clock,
    ) -> anyhow::Result<Self> {
        let store = Store::connect(&settings.database_url, clock).await?;
        let runtime = Arc::new(
            PluginRuntime::new(settings.limits.clone()).map_err(|e| anyhow::anyhow!("{e:#}"))?,
        );
        let metrics = Arc::new(Metrics::new());
        let plugins = Arc::new(PluginRegistry::new(runtime, store.clone(), metrics.clone()));
        plugins.install_builtins().await?;
        let dispatch = Arc::new(DispatchHandle::new());
        let (shutdown, shutdown_rx) = watch::channel(false);
        let router = Router::new(store.clone(), plugins.clone(), metrics.clone());
        let dispatcher = tokio::spawn(router.dispatch(
            dispatch.clone(),
            shutdown_rx.clone(),
            settings.queue_sweep,
            settings.dispatch_lease,
            settings.dispatch_concurrency,
        ));
        let notify_handle = Arc::new(NotifyHandle::new(settings.webhooks));
        let notifier = tokio::spawn(notify::run(
            store.clone(),
            Delivery::new(settings.smtp.clone(), settings.webhooks)?,
            notify_handle.clone(),
            dispatch.handled(),
            shutdown_rx.clone(),
        ));
        let timer_handle = Arc::new(PassHandle::new());
        let timers = tokio::spawn(timers::run(
            store.clone(),
            dispatch.clone(),
            timer_handle.clone(),
            shutdown_rx,
        ));
        let state = AppState {
            store,
            plugins,
            dispatch,
            timers: timer_handle,
            notify: notify_handle,
            operator_token: operator_token.into(),
            admission: Arc::new(api::admission::Admission::new(settings.admission)),
            metrics,
        };
        Ok(Self {
            state,
            shutdown,
            dispatcher,
            timers,
            notifier,
            grace: settings.shutdown_grace,
        })
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serve the API until `signal` resolves, then stop gracefully: take
    /// no new connections and answer the requests in flight (their routing
    /// included), then let the dispatcher finish the event in hand and the
    /// notifier the deliveries it is sending. An error if that takes longer
    /// than the grace period; what was left is in the database for the
    /// next start (events in the outbox, deliveries due).
    pub async fn serve(
        self,
        listener: TcpListener,
        signal: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let app = api::router(self.state.clone());
        let grace = self.grace;
        let (signalled, mut signalled_at) = watch::channel(None);
        let dispatch = self.state.dispatch.clone();
        let signal = async move {
            signal.await;
            tracing::info!(grace_secs = grace.as_secs(), "stopping");
            // Not ready from here on, so a load balancer sends no more.
            dispatch.stopping();
            signalled.send_replace(Some(tokio::time::Instant::now()));
        };
        // Resolves when the grace period after the signal is over.
        let overdue = async move {
            match signalled_at.wait_for(Option::is_some).await.map(|at| *at) {
                Ok(Some(at)) => tokio::time::sleep_until(at + grace).await,
                // The server ended without a signal: no deadline.
                _ => std::future::pending().await,
            }
        };
        tokio::pin!(overdue);
        let serving = axum::serve(api::parse_errors::JsonParseErrors(listener), app)
            .with_graceful_shutdown(signal);
        tokio::select! {
            served = serving => served?,
            () = &mut overdue => anyhow::bail!(
                "requests were still in flight when the grace period of {} s ended",
                grace.as_secs()
            ),
        }
        let _ = self.shutdown.send(true);
        self.state.dispatch.wake();
        let background = async {
            let _ = self.dispatcher.await;
            let _ = self.timers.await;
            let _ = self.notifier.await;
        };
        tokio::select! {
            () = background => {
                tracing::info!("stopped");
                Ok(())
            }
            () = &mut overdue => anyhow::bail!(
                "the dispatcher, timers or deliveries were still busy when the grace period of {} s ended",
                grace.as_secs()
            ),
        }
    }
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C): what stops `baton serve`.
pub async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(error) => {
                tracing::warn!(%error, "SIGTERM cannot be caught: stopping on SIGINT only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// A fresh random operator token.
pub fn generate_token() -> String {
    format!(
        "bo_{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}
