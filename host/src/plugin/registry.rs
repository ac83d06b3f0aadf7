//! The registry of plugin versions: compile once at upload, keep the
//! artefact in the store, and keep instantiable components in memory.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use super::cache::LruCache;
use super::defaults::BUILTINS;
use super::manifest::{self, Manifest};
use super::runtime::{CallError, Compiled, LoadError, PluginRuntime};
use super::state::CallContext;
use crate::domain::{Millis, PluginId, TenantId};
use crate::store::{PluginRecord, Store, StoreError};

/// What an accepted upload did.
#[derive(Debug)]
pub enum Uploaded {
    /// A new version, stored.
    Created(PluginRecord),
    /// These very bytes were uploaded before: the version they are.
    Existing(PluginRecord),
}

/// Why an upload was refused.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("describe() failed: {0}")]
    Describe(CallError),
    #[error("{0}")]
    Manifest(String),
    #[error("compiling took longer than the {0} s limit")]
    CompileTimeout(u64),
    #[error("{0} uploads of this tenant are being validated; wait for one to finish")]
    Busy(usize),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Uploads one tenant may have in validation at once: more get 429, so one
/// tenant cannot fill the validation queue.
const UPLOADS_PER_TENANT: usize = 2;
/// `describe` calls of uploads running at once, across tenants. Each holds
/// an instance of the engine's pool; routing calls need the rest.
const VALIDATIONS_AT_ONCE: usize = 4;

pub struct PluginRegistry {
    runtime: Arc<PluginRuntime>,
    store: Store,
    loaded: Mutex<LruCache<Compiled>>,
    /// Compiling is CPU- and memory-heavy and wasmtime does not bound it:
    /// one compile at a time keeps uploads from starving routing.
    compile_gate: tokio::sync::Semaphore,
    /// Validation's own budget of instances (see [`VALIDATIONS_AT_ONCE`]).
    validation_gate: tokio::sync::Semaphore,
    /// Uploads in validation per tenant.
    uploading: Mutex<HashMap<TenantId, usize>>,
    artifact_loads: AtomicU64,
    metrics: Arc<crate::metrics::Metrics>,
}

/// A tenant's place among the uploads in validation, given back on drop.
struct UploadSlot<'a> {
    uploading: &'a Mutex<HashMap<TenantId, usize>>,
    tenant: TenantId,
}

impl Drop for UploadSlot<'_> {
    fn drop(&mut self) {
        let mut uploading = self.uploading.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = uploading.get_mut(&self.tenant) {
            *count -= 1;
            if *count == 0 {
                uploading.remove(&self.tenant);
            }
        }
    }
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl PluginRegistry {
    pub fn new(
        runtime: Arc<PluginRuntime>,
        store: Store,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> Self {
        Self {
            store,
            loaded: Mutex::new(LruCache::new(runtime.limits().compiled_cache_bytes)),
            compile_gate: tokio::sync::Semaphore::new(1),
            validation_gate: tokio::sync::Semaphore::new(VALIDATIONS_AT_ONCE),
            uploading: Mutex::new(HashMap::new()),
            artifact_loads: AtomicU64::new(0),
            runtime,
            metrics,
        }
    }

    /// Compiled components held in memory, and the bytes of their code.
    pub fn cached(&self) -> (usize, usize) {
        self.cache().usage()
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, LruCache<Compiled>> {
        // The cache holds no invariant a panic elsewhere could break.
        self.loaded.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn upload_slot(&self, tenant: &TenantId) -> Result<UploadSlot<'_>, UploadError> {
        let mut uploading = self.uploading.lock().unwrap_or_else(|e| e.into_inner());
        let count = uploading.entry(tenant.clone()).or_insert(0);
        if *count >= UPLOADS_PER_TENANT {
            return Err(UploadError::Busy(*count));
        }
        *count += 1;
        Ok(UploadSlot {
            uploading: &self.uploading,
            tenant: tenant.clone(),
        })
    }

    pub fn runtime(&self) -> &Arc<PluginRuntime> {
        &self.runtime
    }

    /// Components loaded from a cached artefact instead of compiled.
    pub fn artifact_loads(&self) -> u64 {
        self.artifact_loads.load(Ordering::Relaxed)
    }

    /// Register the embedded defaults (compiling only if no artefact exists).
    pub async fn install_builtins(&self) -> anyhow::Result<()> {
        for (name, wasm) in BUILTINS {
            let sha = sha256(wasm);
            self.store.put_component(&sha, wasm).await?;
            let compiled = self.load(&sha, Some(wasm)).await?;
            let manifest = self
                .describe(&compiled, "builtin")
                .await
                .map_err(|e| anyhow::anyhow!("built-in plugin {name}: {e}"))?;
            anyhow::ensure!(
                manifest.name == name,
                "built-in plugin {name} calls itself {}",
                manifest.name
            );
            self.store
                .put_plugin(&record(
                    name.to_owned(),
                    None,
                    &manifest,
                    compiled.contract,
                    &sha,
                    wasm.len(),
                    self.store.now(),
                ))
                .await?;
        }
        Ok(())
    }

    /// Validate, compile, describe and store an uploaded component.
    ///
    /// A refused upload leaves nothing behind: what can be refused before
    /// compiling is (size, the tenant's uploads in flight), and the bytes,
    /// the artefact and the plugin row are written in one transaction only
    /// once everything has been accepted. The same bytes again are the
    /// version they were (a retried upload is harmless); other bytes under
    /// a name and version already uploaded are refused as a conflict.
    pub async fn upload(&self, tenant: &TenantId, wasm: Vec<u8>) -> Result<Uploaded, UploadError> {
        let limit = self.runtime.limits().max_component_bytes;
        if wasm.len() > limit {
            return Err(LoadError::TooLarge {
                size: wasm.len(),
                limit,
            }
            .into());
        }
        let _slot = self.upload_slot(tenant)?;
        let sha = sha256(&wasm);
        // `describe` is deterministic, so the same bytes would name the same
        // version again: that version is the answer, without compiling.
        if let Some(existing) = self.store.tenant_plugin_by_sha(tenant, &sha).await? {
            return Ok(Uploaded::Existing(existing));
        }
        let (compiled, artifact) = self.compile(wasm.clone()).await?;
        let compiled = Arc::new(compiled);
        let manifest = self.describe(&compiled, tenant.as_str()).await?;
        // Built-in names are reserved so that "round-robin" means the same
        // plugin in every tenant's bindings and fallbacks.
        if BUILTINS.iter().any(|(name, _)| *name == manifest.name) {
            return Err(UploadError::Manifest(format!(
                "the name {} is reserved for a built-in plugin; choose another",
                manifest.name
            )));
        }
        let plugin = record(
            PluginId::generate().to_string(),
            Some(tenant.clone()),
            &manifest,
            compiled.contract,
            &sha,
            wasm.len(),
            self.store.now(),
        );
        self.store
            .put_upload(&plugin, &wasm, self.runtime.engine_hash(), &artifact)
            .await?;
        self.cache().insert(&sha, compiled);
        Ok(Uploaded::Created(plugin))
    }

    async fn describe(
        &self,
        compiled: &Arc<Compiled>,
        tenant: &str,
    ) -> Result<Manifest, UploadError> {
        let runtime = self.runtime.clone();
        let compiled = compiled.clone();
        let ctx = CallContext {
            tenant: tenant.to_owned(),
            plugin: "upload".into(),
            config: "{}".into(),
            now_ms: self.store.now().0,
            kv: Default::default(),
        };
        let kind = compiled.kind;
        let _permit = self
            .validation_gate
            .acquire()
            .await
            .map_err(|e| UploadError::Describe(CallError::Unavailable(e.to_string())))?;
        let raw = runtime
            .call_bounded(move |runtime| runtime.describe(&compiled, ctx))
            .await
            .map_err(UploadError::Describe)?;
        manifest::check(raw, kind).map_err(UploadError::Manifest)
    }

    /// The instantiable component for a stored plugin version.
    pub async fn compiled(&self, sha: &str) -> Result<Arc<Compiled>, CallError> {
        if let Some(found) = self.cache().get(sha) {
            self.metrics.cache_hit();
            return Ok(found);
        }
        self.metrics.cache_miss();
        self.load(sha, None)
            .await
            .map_err(|e| CallError::Unavailable(e.to_string()))
    }

    /// Load from the artefact cache, or compile the stored source once.
    /// `source` is given for built-ins, which may also come from this
    /// process's cache of built-in artefacts.
    async fn load(&self, sha: &str, source: Option<&[u8]>) -> Result<Arc<Compiled>, UploadError> {
        let engine = self.runtime.engine_hash().to_owned();
        let mut artifact = self.store.artifact(sha, &engine).await?;
        if artifact.is_none() && source.is_some() {
            artifact = builtin_artifacts::get(sha, &engine);
            if let Some(bytes) = &artifact {
                self.store.put_artifact(sha, &engine, bytes).await?;
            }
        }
        if let Some(artifact) = artifact {
            let runtime = self.runtime.clone();
            let loaded = tokio::task::spawn_blocking(move || runtime.load_artifact(&artifact))
                .await
                .map_err(|e| LoadError::Invalid(e.to_string()))?;
            match loaded {
                Ok(compiled) => {
                    self.artifact_loads.fetch_add(1, Ordering::Relaxed);
                    self.metrics.artifact_loaded();
                    let compiled = Arc::new(compiled);
                    self.cache().insert(sha, compiled.clone());
                    return Ok(compiled);
                }
                Err(error) => tracing::warn!(%sha, %error, "cached artefact unusable; recompiling"),
            }
        }
        let wasm = match source {
            Some(bytes) => bytes.to_vec(),
            None => self
                .store
                .component(sha)
                .await?
                .ok_or_else(|| LoadError::Invalid(format!("no stored component {sha}")))?,
        };
        let (compiled, artifact) = self.compile(wasm).await?;
        self.store.put_artifact(sha, &engine, &artifact).await?;
        if source.is_some() {
            builtin_artifacts::put(sha, &engine, artifact);
        }
        let compiled = Arc::new(compiled);
        self.cache().insert(sha, compiled.clone());
        Ok(compiled)
    }

    /// Compile on a bounded worker; returns the component and its artefact.
    async fn compile(&self, wasm: Vec<u8>) -> Result<(Compiled, Vec<u8>), UploadError> {
        let _permit = self
            .compile_gate
            .acquire()
            .await
            .map_err(|e| LoadError::Invalid(e.to_string()))?;
        let runtime = self.runtime.clone();
        let timeout = runtime.limits().compile_timeout;
        let job = tokio::task::spawn_blocking(move || {
            let compiled = runtime.compile(&wasm)?;
            let artifact = compiled
                .serialize()
                .map_err(|e| LoadError::Invalid(e.to_string()))?;
            Ok::<_, LoadError>((compiled, artifact))
        });
        let (compiled, artifact) = tokio::time::timeout(timeout, job)
            .await
            .map_err(|_| UploadError::CompileTimeout(timeout.as_secs()))?
            .map_err(|e| LoadError::Invalid(e.to_string()))??;
        self.metrics.compiled();
        Ok((compiled, artifact))
    }
}

fn record(
    id: String,
    tenant: Option<TenantId>,
    manifest: &Manifest,
    contract: &str,
    sha: &str,
    size: usize,
    at: Millis,
) -> PluginRecord {
    PluginRecord {
        id,
        builtin: tenant.is_none(),
        tenant_id: tenant,
        name: manifest.name.clone(),
        version: manifest.version.clone(),
        kind: manifest.kind,
        description: manifest.description.clone(),
        config_schema: manifest.config_schema.clone(),
        subscribes: manifest
            .subscribes
            .iter()
            .map(|k| k.as_str().to_owned())
            .collect(),
        contract: contract.to_owned(),
        sha256: sha.to_owned(),
        size: i64::try_from(size).unwrap_or(i64::MAX),
        created_at: at,
    }
}

/// Compiled built-ins, shared by every server this process starts: the
/// same embedded component compiled by an engine of the same configuration
/// gives the same artefact, so a second server on a fresh database (tests
/// start dozens) deserialises instead of compiling every built-in again.
/// Only artefacts this process made are kept here.
mod builtin_artifacts {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};

    type Key = (String, String);

    fn cache() -> &'static Mutex<HashMap<Key, Vec<u8>>> {
        static CACHE: OnceLock<Mutex<HashMap<Key, Vec<u8>>>> = OnceLock::new();
        CACHE.get_or_init(Default::default)
    }

    pub(super) fn get(sha: &str, engine: &str) -> Option<Vec<u8>> {
        let cache = cache().lock().ok()?;
        cache.get(&(sha.to_owned(), engine.to_owned())).cloned()
    }

    pub(super) fn put(sha: &str, engine: &str, artifact: Vec<u8>) {
        if let Ok(mut cache) = cache().lock() {
            cache.insert((sha.to_owned(), engine.to_owned()), artifact);
        }
    }
}
