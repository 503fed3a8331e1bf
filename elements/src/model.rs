//! ONNX Runtime: finding the library and the model files, and one pool of sessions per model
//! file and thread setting per process, shared by every element instance.
//!
//! The ONNX Runtime library is loaded at run time (`ort` with `load-dynamic`) on the first
//! element start, never while GStreamer scans plugins, so a machine without it still lists
//! the elements and gets a clear error when a pipeline starts. It is looked up in this order:
//! 1. the `ORT_DYLIB_PATH` environment variable (path to `libonnxruntime.so*`);
//! 2. `.ort/libonnxruntime.so.<version>` in the source tree the plugin was built from (what
//!    `make` unpacks from the PyPI `onnxruntime` wheel);
//! 3. the copy `meson install` put beside the plugin (`<libdir>/gst-liveness/`);
//! 4. `libonnxruntime.so.1` through the system's library search path.
//!
//! Model files are looked up in the directory named by `LIVENESS_MODEL_DIR`, then in the
//! source tree's `models/`, then in the directory meson installed them to.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, atomic::AtomicUsize, atomic::Ordering},
};

use ort::{environment::Environment, session::Session};

/// The ONNX Runtime release `make` installs into `.ort/`.
pub const ORT_VERSION: &str = "1.32.0";

/// Why a model cannot be used.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ModelError {
    #[error(
        "ONNX Runtime library could not be loaded ({0}): run `make ort`, or set ORT_DYLIB_PATH to libonnxruntime.so"
    )]
    Runtime(String),
    #[error(
        "model file {0} not found: set the element's model-location property, set LIVENESS_MODEL_DIR, or run make models"
    )]
    NotFound(PathBuf),
    #[error("model file {path} could not be loaded: {reason}")]
    Load { path: PathBuf, reason: String },
    #[error("model {model} gave no usable output: {reason}")]
    Output { model: String, reason: String },
}

fn runtime_candidates() -> Vec<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        candidates.push(PathBuf::from(path));
        return candidates;
    }
    let source_tree = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    candidates.push(source_tree.join(".ort").join(format!("libonnxruntime.so.{ORT_VERSION}")));
    if let Some(installed) = option_env!("LIVENESS_INSTALLED_ORT") {
        candidates.push(PathBuf::from(installed));
    }
    candidates.push(PathBuf::from("libonnxruntime.so.1"));
    candidates
}

/// Loads ONNX Runtime once per process; later calls return the first outcome.
pub fn environment() -> Result<Environment, ModelError> {
    static RUNTIME: OnceLock<Result<Environment, ModelError>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let mut reasons = Vec::new();
            for candidate in runtime_candidates() {
                // A bare library name goes to the dynamic loader; a path must exist.
                if candidate.components().count() > 1 && !candidate.exists() {
                    reasons.push(format!("{} does not exist", candidate.display()));
                    continue;
                }
                match ort::init_from(&candidate) {
                    Ok(builder) => {
                        return builder
                            .with_name("gst-liveness")
                            // Nothing about the models or the machine leaves the process or lands on disk.
                            .with_telemetry(false)
                            .build()
                            .map_err(|err| ModelError::Runtime(format!("{}: {err}", candidate.display())));
                    }
                    Err(err) => reasons.push(format!("{}: {err}", candidate.display())),
                }
            }
            Err(ModelError::Runtime(reasons.join("; ")))
        })
        .clone()
}

/// The directories searched for model files, in order.
pub fn model_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os("LIVENESS_MODEL_DIR").filter(|d| !d.is_empty()) {
        dirs.push(PathBuf::from(dir));
    }
    dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("models"));
    if let Some(dir) = option_env!("LIVENESS_INSTALLED_MODEL_DIR") {
        dirs.push(PathBuf::from(dir));
    }
    dirs
}

/// Resolves a model file name (e.g. `blazeface-front-128.onnx`) to an existing path, or an
/// explicit `location` if one is given.
pub fn locate(file_name: &str, location: Option<&Path>) -> Result<PathBuf, ModelError> {
    if let Some(location) = location {
        return if location.is_file() {
            Ok(location.to_path_buf())
        } else {
            Err(ModelError::NotFound(location.to_path_buf()))
        };
    }
    let dirs = model_dirs();
    dirs.iter()
        .map(|dir| dir.join(file_name))
        .find(|path| path.is_file())
        .ok_or_else(|| ModelError::NotFound(dirs.first().map(|d| d.join(file_name)).unwrap_or_default()))
}

/// A model shared between element instances: a pool of ONNX Runtime sessions of one file, so
/// that pipelines on different threads run it at once. `run` needs exclusive access to a
/// session, so each inference takes one from the pool (making a new one while fewer than
/// [`pool_size`] exist) and gives it back.
pub struct SharedModel {
    path: PathBuf,
    intra_threads: usize,
    /// Sessions not running an inference.
    idle: Mutex<Vec<Session>>,
    /// Signalled when a session goes back to `idle`.
    returned: Condvar,
    /// Sessions made so far (idle or running).
    made: AtomicUsize,
}

/// Sessions a model's pool may hold: one per core the process may use (`LIVENESS_MODEL_SESSIONS`
/// overrides it). ONNX Runtime runs each inference on `intra_threads` threads, so more
/// sessions than cores would only queue on the CPU.
pub fn pool_size() -> usize {
    static SIZE: OnceLock<usize> = OnceLock::new();
    *SIZE.get_or_init(|| {
        std::env::var("LIVENESS_MODEL_SESSIONS")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|n| (1..=256).contains(n))
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    })
}

/// A session taken from a pool for one inference; back in the pool when dropped.
struct PooledSession<'a> {
    model: &'a SharedModel,
    session: Option<Session>,
}

impl Drop for PooledSession<'_> {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            lock_ignoring_poison(&self.model.idle).push(session);
            self.model.returned.notify_one();
        }
    }
}

/// A panic while running a model leaves the pool itself intact.
fn lock_ignoring_poison<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl SharedModel {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sessions of this model made so far.
    pub fn sessions(&self) -> usize {
        self.made.load(Ordering::SeqCst)
    }

    /// An idle session, a new one while the pool has room, else the next one given back.
    fn take(&self) -> Result<PooledSession<'_>, ModelError> {
        let mut idle = lock_ignoring_poison(&self.idle);
        loop {
            if let Some(session) = idle.pop() {
                return Ok(PooledSession { model: self, session: Some(session) });
            }
            if self.made.load(Ordering::SeqCst) < pool_size() {
                self.made.fetch_add(1, Ordering::SeqCst);
                drop(idle);
                return match load_session(&self.path, self.intra_threads) {
                    Ok(session) => Ok(PooledSession { model: self, session: Some(session) }),
                    Err(err) => {
                        self.made.fetch_sub(1, Ordering::SeqCst);
                        Err(err)
                    }
                };
            }
            idle = self.returned.wait(idle).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    /// Calls `f` with one of the model's sessions (to read its inputs and outputs, say).
    pub fn with_session<T>(&self, f: impl FnOnce(&Session) -> T) -> Result<T, ModelError> {
        let pooled = self.take()?;
        let session = pooled
            .session
            .as_ref()
            .ok_or_else(|| ModelError::Load { path: self.path.clone(), reason: "the pool gave no session".into() })?;
        Ok(f(session))
    }

    /// Runs the model on one float tensor of `shape` (its only input) and returns every
    /// output, in the model's output order.
    pub fn run(&self, input: &[f32], shape: &[usize]) -> Result<Vec<ModelOutput>, ModelError> {
        let name = || self.path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let output_error = |reason: String| ModelError::Output { model: name(), reason };
        let tensor = ort::value::TensorRef::from_array_view((shape.to_vec(), input))
            .map_err(|err| output_error(err.to_string()))?;
        let mut pooled = self.take()?;
        let Some(session) = pooled.session.as_mut() else {
            return Err(output_error("no session".into()));
        };
        let outputs = session.run(ort::inputs![tensor]).map_err(|err| output_error(err.to_string()))?;
        outputs
            .iter()
            .map(|(name, value)| {
                let (shape, data) = value.try_extract_tensor::<f32>().map_err(|err| output_error(err.to_string()))?;
                Ok(ModelOutput { name: name.to_string(), shape: shape.to_vec(), data: data.to_vec() })
            })
            .collect()
    }
}

/// One output tensor of a model run.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelOutput {
    pub name: String,
    pub shape: Vec<i64>,
    pub data: Vec<f32>,
}

/// The output called `name`, or an error naming the model.
pub fn output<'a>(outputs: &'a [ModelOutput], name: &str, model: &str) -> Result<&'a ModelOutput, ModelError> {
    outputs
        .iter()
        .find(|o| o.name == name)
        .ok_or_else(|| ModelError::Output { model: model.to_string(), reason: format!("no output {name}") })
}

static LOADS: AtomicUsize = AtomicUsize::new(0);

/// How many models this process has loaded so far (a model's further pool sessions are not
/// counted: they are copies of one load).
pub fn sessions_loaded() -> usize {
    LOADS.load(Ordering::SeqCst)
}

/// One ONNX Runtime session of `path` with `intra_threads` threads that do not spin while
/// waiting for work (spinning costs a core per thread for nothing).
fn load_session(path: &Path, intra_threads: usize) -> Result<Session, ModelError> {
    let environment = environment()?;
    let load_error =
        |err: &dyn std::fmt::Display| ModelError::Load { path: path.to_path_buf(), reason: err.to_string() };
    Session::builder(&environment)
        .map_err(|err| load_error(&err))?
        .with_intra_threads(intra_threads)
        .map_err(|err| load_error(&err))?
        .with_inter_threads(1)
        .map_err(|err| load_error(&err))?
        .with_intra_op_spinning(false)
        .map_err(|err| load_error(&err))?
        .with_inter_op_spinning(false)
        .map_err(|err| load_error(&err))?
        .commit_from_file(path)
        .map_err(|err| load_error(&err))
}

/// The model for `path` with `intra_threads` ONNX Runtime threads per inference, loaded on
/// first use (its first session, so that a bad file fails the element's start) and kept for
/// the life of the process, so later pipelines start without loading it again.
pub fn shared_session(path: &Path, intra_threads: usize) -> Result<Arc<SharedModel>, ModelError> {
    type SessionKey = (PathBuf, usize);
    static SESSIONS: OnceLock<Mutex<HashMap<SessionKey, Arc<SharedModel>>>> = OnceLock::new();
    let key = (path.canonicalize().unwrap_or_else(|_| path.to_path_buf()), intra_threads.max(1));
    let sessions = SESSIONS.get_or_init(Default::default);
    let mut sessions = lock_ignoring_poison(sessions);
    if let Some(model) = sessions.get(&key) {
        return Ok(model.clone());
    }
    let first = load_session(path, key.1)?;
    LOADS.fetch_add(1, Ordering::SeqCst);
    let model = Arc::new(SharedModel {
        path: key.0.clone(),
        intra_threads: key.1,
        idle: Mutex::new(vec![first]),
        returned: Condvar::new(),
        made: AtomicUsize::new(1),
    });
    sessions.insert(key, model.clone());
    Ok(model)
}
