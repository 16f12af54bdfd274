//! All open indices, name resolution (comma lists, wildcards, aliases, exclusions) and
//! index lifecycle (create, delete, auto-create on first write).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use serde_json::Value;

use super::handle::IndexHandle;
use super::mapping::Mapping;
use super::meta::IndexState;
use super::names::validate_index_name;
use super::settings::IndexSettings;
use super::source_filter::path_matches;
use crate::error::{Error, ErrorKind, Result};

/// How a multi-target expression treats missing names and wildcards.
#[derive(Debug, Clone, Copy)]
pub struct ResolveOptions {
    pub ignore_unavailable: bool,
    pub allow_no_indices: bool,
    pub include_hidden: bool,
}

impl Default for ResolveOptions {
    fn default() -> ResolveOptions {
        ResolveOptions {
            ignore_unavailable: false,
            allow_no_indices: true,
            include_hidden: false,
        }
    }
}

/// The set of indices on this node.
pub struct IndexRegistry {
    indices_folder: PathBuf,
    indices: RwLock<BTreeMap<String, Arc<IndexHandle>>>,
    /// Serializes create/delete so two creates of one name cannot race.
    admin: Mutex<()>,
}

/// Returns a new random id in ES's URL-safe base64 style (22 characters).
pub fn new_uuid() -> String {
    use base64::Engine;
    let bytes: [u8; 16] = std::array::from_fn(|_| fastrand::u8(..));
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl IndexRegistry {
    /// Opens every index under `<data>/indices`, removing leftovers of interrupted
    /// creates and deletes.
    pub fn open(data_folder: &Path) -> Result<IndexRegistry> {
        let indices_folder = data_folder.join("indices");
        std::fs::create_dir_all(&indices_folder)?;
        let mut indices = BTreeMap::new();
        for entry in std::fs::read_dir(&indices_folder)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with('.') {
                std::fs::remove_dir_all(entry.path())?;
                continue;
            }
            let handle = IndexHandle::open(&entry.path())?;
            indices.insert(handle.name(), Arc::new(handle));
        }
        tracing::info!(indices = indices.len(), folder = %indices_folder.display(), "opened indices");
        Ok(IndexRegistry {
            indices_folder,
            indices: RwLock::new(indices),
            admin: Mutex::new(()),
        })
    }

    /// Returns every index, by name.
    pub fn all(&self) -> Vec<Arc<IndexHandle>> {
        self.indices.read().values().cloned().collect()
    }

    /// Returns the index named exactly `name`.
    pub fn get(&self, name: &str) -> Option<Arc<IndexHandle>> {
        self.indices.read().get(name).cloned()
    }

    /// Creates an index from a create-index body (`settings`, `mappings`, `aliases`).
    pub fn create(&self, name: &str, body: &Value) -> Result<Arc<IndexHandle>> {
        validate_index_name(name)?;
        let _admin = self.admin.lock();
        if let Some(existing) = self.get(name) {
            return Err(Error::new(
                ErrorKind::ResourceAlreadyExists,
                format!("index [{name}/{}] already exists", existing.uuid),
            )
            .with_meta("index_uuid", existing.uuid.clone())
            .with_meta("index", name));
        }
        if self.alias_exists(name) {
            return Err(Error::new(
                ErrorKind::InvalidIndexName,
                format!("Invalid index name [{name}], already exists as alias"),
            )
            .with_meta("index_uuid", "_na_")
            .with_meta("index", name));
        }
        let state = build_state(name, body)?;
        let final_folder = self.indices_folder.join(&state.uuid);
        let staging_folder = self.indices_folder.join(format!(".creating-{}", state.uuid));
        let staged = IndexHandle::create(&staging_folder, state).and_then(|staged| {
            staged.close();
            drop(staged);
            std::fs::rename(&staging_folder, &final_folder)?;
            crate::store::meta::sync_folder(&self.indices_folder)?;
            Ok(())
        });
        if let Err(error) = staged {
            let _ = std::fs::remove_dir_all(&staging_folder);
            return Err(error);
        }
        let handle = IndexHandle::open(&final_folder)?;
        let handle = Arc::new(handle);
        self.indices.write().insert(name.to_string(), handle.clone());
        tracing::info!(index = name, uuid = %handle.uuid, "created index");
        Ok(handle)
    }

    /// Deletes an index and its files.
    pub fn delete(&self, name: &str) -> Result<()> {
        let _admin = self.admin.lock();
        let Some(handle) = self.indices.write().remove(name) else {
            return Err(Error::index_not_found(name));
        };
        handle.close();
        let doomed = self.indices_folder.join(format!(".deleting-{}", handle.uuid));
        std::fs::rename(handle.folder(), &doomed)?;
        crate::store::meta::sync_folder(&self.indices_folder)?;
        std::fs::remove_dir_all(&doomed)?;
        tracing::info!(index = name, "deleted index");
        Ok(())
    }

    fn alias_exists(&self, alias: &str) -> bool {
        self.indices
            .read()
            .values()
            .any(|handle| handle.state().aliases.contains_key(alias))
    }

    /// Resolves a comma-separated target expression to indices (deduplicated, in name order).
    pub fn resolve(&self, expression: &str, options: ResolveOptions) -> Result<Vec<Arc<IndexHandle>>> {
        Ok(self
            .resolve_with_alias_filters(expression, options)?
            .into_iter()
            .map(|(handle, _)| handle)
            .collect())
    }

    /// Resolves like [`IndexRegistry::resolve`] and also returns, per index, the alias
    /// filters a search must apply: an index reached only through filtered aliases is
    /// filtered by any of them (ES ORs them); reached directly or through an alias without
    /// filter, it is not filtered (empty list).
    pub fn resolve_with_alias_filters(
        &self,
        expression: &str,
        options: ResolveOptions,
    ) -> Result<Vec<(Arc<IndexHandle>, Vec<Value>)>> {
        let indices = self.indices.read().clone();
        let mut selected: BTreeMap<String, Reached> = BTreeMap::new();
        let parts: Vec<&str> = expression
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .collect();
        let parts = if parts.is_empty() { vec!["_all"] } else { parts };
        for (position, part) in parts.iter().enumerate() {
            if let Some(excluded) = part.strip_prefix('-')
                && position > 0
            {
                selected.retain(|name, reached| {
                    !(path_matches(excluded, name)
                        || reached
                            .handle
                            .state()
                            .aliases
                            .keys()
                            .any(|alias| path_matches(excluded, alias)))
                });
                continue;
            }
            let everything = *part == "_all" || *part == "*";
            let mut found = false;
            for (name, handle) in &indices {
                let explicit = !everything && !part.contains('*');
                let visible = explicit || options.include_hidden || !is_hidden(name, handle) || part.starts_with('.');
                if (everything || path_matches(part, name)) && visible {
                    Reached::direct(&mut selected, name, handle);
                    found = true;
                    continue;
                }
                if everything {
                    continue;
                }
                let state = handle.state();
                for (alias, definition) in &state.aliases {
                    if path_matches(part, alias) {
                        Reached::through_alias(&mut selected, name, handle, definition.filter.clone());
                        found = true;
                    }
                }
            }
            if !found && !part.contains('*') && !everything && !options.ignore_unavailable {
                return Err(Error::index_not_found(part));
            }
        }
        if selected.is_empty() && !options.allow_no_indices {
            return Err(Error::index_not_found(expression));
        }
        Ok(selected
            .into_values()
            .map(|reached| (reached.handle, reached.filters.unwrap_or_default()))
            .collect())
    }

    /// Resolves the target of a write: an index, or an alias with one index or a write
    /// index. A missing index is created with dynamic mapping, as ES's
    /// `action.auto_create_index` default does.
    pub fn write_target(&self, name: &str) -> Result<Arc<IndexHandle>> {
        if let Some(handle) = self.get(name) {
            return Ok(handle);
        }
        let by_alias: Vec<Arc<IndexHandle>> = self
            .all()
            .into_iter()
            .filter(|handle| handle.state().aliases.contains_key(name))
            .collect();
        match by_alias.len() {
            0 => {}
            1 => return Ok(by_alias[0].clone()),
            _ => {
                let writable: Vec<&Arc<IndexHandle>> = by_alias
                    .iter()
                    .filter(|handle| {
                        handle
                            .state()
                            .aliases
                            .get(name)
                            .and_then(|alias| alias.is_write_index)
                            .unwrap_or(false)
                    })
                    .collect();
                if let Some(handle) = writable.first() {
                    return Ok((*handle).clone());
                }
                return Err(Error::illegal_argument(format!(
                    "no write index is defined for alias [{name}]. The write index may be explicitly disabled using is_write_index=false or the alias points to multiple indices without one being designated as a write index"
                )));
            }
        }
        if name.contains('*') || name.contains(',') {
            return Err(Error::index_not_found(name));
        }
        match self.create(name, &Value::Object(Default::default())) {
            Ok(handle) => Ok(handle),
            Err(error) if error.kind == ErrorKind::ResourceAlreadyExists => {
                self.get(name).ok_or_else(|| Error::index_not_found(name))
            }
            Err(error) => Err(error),
        }
    }

    /// Refreshes every index whose refresh interval has passed.
    pub fn refresh_due(&self, default_interval_ms: u64) {
        for handle in self.all() {
            if let Err(error) = handle.refresh_if_due(default_interval_ms) {
                tracing::error!(index = %handle.name(), %error, "scheduled refresh failed");
            }
        }
    }

    /// Closes all writers (graceful shutdown), committing acknowledged writes first.
    pub fn shutdown(&self) {
        for handle in self.all() {
            if let Err(error) = handle.refresh() {
                tracing::error!(index = %handle.name(), %error, "final refresh failed");
            }
            handle.close();
        }
    }
}

/// How an index was reached while resolving an expression.
struct Reached {
    handle: Arc<IndexHandle>,
    /// None: reached directly or through an unfiltered alias (no filter applies).
    filters: Option<Vec<Value>>,
}

impl Reached {
    fn direct(selected: &mut BTreeMap<String, Reached>, name: &str, handle: &Arc<IndexHandle>) {
        selected.insert(
            name.to_string(),
            Reached {
                handle: handle.clone(),
                filters: None,
            },
        );
    }

    fn through_alias(
        selected: &mut BTreeMap<String, Reached>,
        name: &str,
        handle: &Arc<IndexHandle>,
        filter: Option<Value>,
    ) {
        let entry = selected.entry(name.to_string()).or_insert_with(|| Reached {
            handle: handle.clone(),
            filters: Some(Vec::new()),
        });
        match (filter, &mut entry.filters) {
            (Some(filter), Some(filters)) => filters.push(filter),
            (None, filters) => *filters = None,
            (Some(_), None) => {}
        }
    }
}

fn is_hidden(name: &str, handle: &IndexHandle) -> bool {
    name.starts_with('.') || handle.state().settings.get("hidden") == Some("true")
}

fn build_state(name: &str, body: &Value) -> Result<IndexState> {
    let Value::Object(body) = body else {
        return Err(Error::parsing("request body must be an object"));
    };
    for key in body.keys() {
        if !["settings", "mappings", "aliases"].contains(&key.as_str()) {
            return Err(Error::parsing(format!("unknown key [{key}] for create index")));
        }
    }
    let mut settings = IndexSettings::parse(body.get("settings").unwrap_or(&Value::Null))?;
    let mapping = match body.get("mappings") {
        // ES wraps mapping failures of a create request once more, naming the stage.
        Some(mappings) => Mapping::parse(mappings).map_err(|error| match error.kind {
            ErrorKind::MapperParsing => {
                Error::mapper_parsing(format!("Failed to parse mapping: {}", error.reason)).caused_by(error)
            }
            _ => error,
        })?,
        None => Mapping::default(),
    };
    let uuid = new_uuid();
    let creation_date_ms = chrono::Utc::now().timestamp_millis();
    settings.set("uuid", uuid.clone());
    settings.set("provided_name", name);
    settings.set("creation_date", creation_date_ms.to_string());
    settings.set("version.created", crate::cluster::INDEX_VERSION_CREATED);
    settings.set("routing.allocation.include._tier_preference", "data_content");
    let mut aliases = BTreeMap::new();
    if let Some(Value::Object(requested)) = body.get("aliases") {
        for (alias, definition) in requested {
            validate_index_name(alias)?;
            let definition: super::meta::AliasDef = serde_json::from_value(definition.clone())
                .map_err(|error| Error::illegal_argument(format!("invalid alias [{alias}]: {error}")))?;
            aliases.insert(alias.clone(), definition);
        }
    }
    let mut state = IndexState {
        name: name.to_string(),
        uuid,
        creation_date_ms,
        settings,
        mapping,
        aliases,
        text_slots: BTreeMap::new(),
    };
    state.assign_text_slots()?;
    Ok(state)
}
