//! `lpserver`: lets web clients use the gst-liveness elements. A WebSocket endpoint speaks
//! LPProto (seed 000): each connection runs its own pipeline of the plugin's elements, fed
//! through `appsrc`, and gets per-frame STATS and the signed verdict token of `lvjwtsink`.
//! A REST API ([`rest`], seed 001) answers single checks on posted images, and `/` serves a
//! browser client that speaks LPProto.

pub mod analysis;
pub mod auth;
pub mod client;
pub mod clock;
pub mod config;
pub mod decode;
pub mod errors;
pub mod gate;
pub mod listener;
pub mod logging;
pub mod metrics;
pub mod openapi;
pub mod origin;
pub mod policy;
pub mod protocol;
pub mod relying_party;
pub mod rest;
pub mod routes;
pub mod session;
pub mod sessions;
pub mod web;
pub mod ws;
pub mod zk;

use std::sync::{Arc, Once};

use warp::Filter;

use crate::config::Config;
use crate::policy::PolicyStore;
use crate::routes::Handler;

/// What every connection shares.
pub struct App {
    pub config: Config,
    pub policy: PolicyStore,
    /// One permit per LPProto session that may run at once (`MAX_SESSIONS`).
    pub session_slots: Arc<tokio::sync::Semaphore>,
    /// The frames of all sessions take turns through it (`ANALYSIS_THREADS` at once).
    pub analysis_gate: gate::AnalysisGate,
    /// The key users are hashed with in the logs (`LOG_HASH_KEY` or random).
    pub log_hash_secret: Vec<u8>,
    /// One permit per REST analysis request in flight (`MAX_REST_REQUESTS`).
    pub rest_places: Arc<tokio::sync::Semaphore>,
    /// Turns true when the server's grace period after SIGTERM is over: every connection
    /// closes.
    pub shutdown: tokio::sync::watch::Sender<bool>,
    /// Open LPProto connections.
    pub connections: std::sync::atomic::AtomicUsize,
    /// Every TCP connection and its bounds (`MAX_CONNECTIONS`, `MAX_CONNECTIONS_PER_IP`,
    /// `HEADER_TIMEOUT_MS`).
    pub tcp: Arc<listener::Connections>,
    /// What `GET /metrics` reports.
    pub metrics: Arc<metrics::Metrics>,
    /// Whether the analysis chain built and ran one frame at start (the elements registered,
    /// ONNX Runtime and the models loaded), or why not: `GET /ready` reports it.
    pub pipeline_check: Result<(), String>,
    /// The face-match proof keys (`ZK_KEYS_DIR`) and the places of proofs being made.
    pub zk: zk::Prover,
}

/// Tells ONNX Runtime (1.32 and later) to keep no device id, queue no telemetry event under
/// `$HOME` and send none, unless the environment already says otherwise. The variable must be
/// set before the library loads: call it first thing in `main`.
///
/// # Safety
/// It changes the process environment, which is only sound while no other thread may read or
/// write it: call it before starting any thread (the async runtime included).
pub unsafe fn quiet_onnx_runtime() {
    if std::env::var_os(ORT_TELEMETRY_VARIABLE).is_none() {
        // SAFETY: the caller guarantees that no other thread exists yet.
        unsafe { std::env::set_var(ORT_TELEMETRY_VARIABLE, "1") };
    }
}

/// ONNX Runtime's opt-out of telemetry on Linux.
pub const ORT_TELEMETRY_VARIABLE: &str = "ORT_DISABLE_TELEMETRY";

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("GStreamer: {0}")]
    GStreamer(#[from] gst::glib::Error),
    #[error("liveness plugin: {0}")]
    Plugin(#[from] gst::glib::BoolError),
    #[error("signing key: {0}")]
    SigningKey(#[from] gstliveness::signing::KeyError),
    #[error("REDIS_URL {url}: {source}")]
    Redis { url: String, source: policy::StoreError },
    #[error("ZK_KEYS_DIR: {0} (write the keys with `lpserver zk-setup --out DIR`)")]
    ZkKeys(#[from] zkmatch::KeyError),
}

/// Initialises GStreamer and registers the liveness plugin from this binary (once).
pub fn init_gstreamer() -> Result<(), StartError> {
    static INIT: Once = Once::new();
    let mut result = Ok(());
    INIT.call_once(|| {
        result = gst::init()
            .map_err(StartError::from)
            .and_then(|_| gstliveness::plugin_register_static().map_err(StartError::from));
    });
    result
}

/// Runs one grey frame through the analysis chain: the elements are registered, ONNX Runtime
/// and every model load, the detector runs. Blocking.
fn check_pipeline(antispoof_threshold: f64) -> Result<(), String> {
    let frame = decode::DecodedFrame::rgb(64, 48, vec![128; 64 * 48 * 3]);
    analysis::run(vec![frame], &rest::liveness_chain(antispoof_threshold)).map(drop).map_err(|err| err.to_string())
}

/// The body of `GET /health`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct Health {
    /// Always `ok`.
    status: &'static str,
    /// lpserver's version.
    version: &'static str,
}

/// The body of `GET /ready`: whether the server can take sessions, and what it depends on.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct Ready {
    ready: bool,
    /// `ok`, `memory` (no REDIS_URL: counters in this process) or why Redis does not answer.
    attempts_store: String,
    /// LPProto sessions running, of `max_sessions`.
    sessions: usize,
    max_sessions: usize,
    /// Open LPProto connections.
    connections: usize,
    /// Open TCP connections, of `max_tcp_connections`.
    tcp_connections: usize,
    max_tcp_connections: usize,
    /// `ok`, or the last accept error of the past 5 s (out of file descriptors).
    accept: String,
    /// `ok`, or why the ONNX Runtime library did not load.
    onnx_runtime: String,
    /// `ok` when the analysis chain built and ran a frame at start, or why it did not.
    pipeline: String,
}

/// `GET /ready`: 200 when the attempt counters answer, ONNX Runtime is loaded and the analysis
/// pipeline ran at start; 503 with the reasons when not.
async fn ready(app: Arc<App>) -> Result<warp::reply::Response, std::convert::Infallible> {
    use warp::Reply;
    let (store_ok, attempts_store) = match (&app.policy, app.policy.ping().await) {
        (policy::PolicyStore::Memory(_), _) => (true, "memory".to_string()),
        (_, Ok(())) => (true, "ok".to_string()),
        (_, Err(err)) => (false, err.to_string()),
    };
    let onnx_runtime = gstliveness::model::environment().map(|_| ()).map_err(|err| err.to_string());
    let accept_trouble = app.tcp.trouble();
    let ready = store_ok && onnx_runtime.is_ok() && app.pipeline_check.is_ok() && accept_trouble.is_none();
    let status = if ready { warp::http::StatusCode::OK } else { warp::http::StatusCode::SERVICE_UNAVAILABLE };
    let max_sessions = app.config.max_sessions;
    let word = |check: &Result<(), String>| check.as_ref().map_or_else(Clone::clone, |_| "ok".to_string());
    let body = Ready {
        ready,
        onnx_runtime: word(&onnx_runtime),
        pipeline: word(&app.pipeline_check),
        attempts_store,
        sessions: app.running_sessions(),
        max_sessions,
        connections: app.connections.load(std::sync::atomic::Ordering::SeqCst),
        tcp_connections: app.tcp.open(),
        max_tcp_connections: app.tcp.limits().max_connections,
        accept: accept_trouble.unwrap_or_else(|| "ok".to_string()),
    };
    Ok(warp::reply::with_status(warp::reply::json(&body), status).into_response())
}

/// A request no route takes, answered from the route table: 404 for a path no route serves,
/// 405 for a known path and another method; the others go on to their routes.
fn unknown_paths() -> impl Filter<Extract = (warp::reply::Response,), Error = warp::Rejection> + Clone {
    warp::method().and(warp::path::full()).and_then(
        |method: warp::http::Method, path: warp::path::FullPath| async move {
            let unknown = crate::errors::ErrorCode::UnknownEndpoint;
            match routes::refusal(&method, path.as_str()) {
                None => Err(warp::reject::not_found()),
                Some(status) if status == warp::http::StatusCode::NOT_FOUND => {
                    Ok(rest::error_reply(&rest::RestError::new(unknown, "no endpoint has this path"), None))
                }
                Some(status) => Ok(rest::error_reply(
                    &rest::RestError::new(unknown, "no endpoint has this path and method"),
                    Some(status),
                )),
            }
        },
    )
}

/// `GET /metrics`: the OpenMetrics text of [`metrics::Metrics`].
fn metrics_route(app: Arc<App>) -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone {
    use warp::Reply;
    routes::at(Handler::Metrics).and(warp::header::optional::<String>("authorization")).map(
        move |authorization: Option<String>| {
            if let Some(token) = &app.config.metrics_token
                && let Err(refused) = auth::require_token("METRICS_TOKEN", token, authorization.as_deref())
            {
                return rest::error_reply(&refused, None);
            }
            let text = app.metrics.encode(app.running_sessions());
            warp::reply::with_header(text, "content-type", metrics::CONTENT_TYPE).into_response()
        },
    )
}

/// `GET /openapi.json`: the contract of [`openapi::document`], written once.
fn openapi_route(
    config: &Config,
) -> impl Filter<Extract = (warp::reply::Response,), Error = warp::Rejection> + Clone + use<> {
    use warp::Reply;
    let document = openapi::document(config).to_json().unwrap_or_default();
    routes::at(Handler::OpenApi)
        .map(move || warp::reply::with_header(document.clone(), "content-type", "application/json").into_response())
}

/// Every route of the server.
pub fn routes(app: Arc<App>) -> impl Filter<Extract = (impl warp::Reply,), Error = std::convert::Infallible> + Clone {
    let health = routes::at(Handler::Health)
        .map(|| warp::reply::json(&Health { status: "ok", version: env!("CARGO_PKG_VERSION") }));
    let ready_app = app.clone();
    let ready = routes::at(Handler::Ready).and_then(move || ready(ready_app.clone()));
    let ws_app = app.clone();
    let lpproto = routes::at(Handler::LpProto)
        .and(warp::ws())
        .and(listener::peer())
        .and(warp::header::optional::<String>("origin"))
        .map(move |ws: warp::ws::Ws, remote: Option<std::net::SocketAddr>, origin: Option<String>| {
            use warp::Reply;
            let app = ws_app.clone();
            let config = &app.config;
            if !origin::origin_allowed(origin.as_deref(), &config.own_origins, &config.allowed_origins) {
                return rest::error_reply(&rest::origin_refused(), None);
            }
            // Room for twice the largest frame in base64, so that an oversized frame gets its
            // error code; beyond that the WebSocket layer closes the connection.
            ws.max_message_size(app.config.max_frame_bytes * 8 / 3 + 65_536)
                .on_upgrade(move |socket| async move {
                    let span = tracing::info_span!(
                        "connection",
                        remote = %remote.map(|r| r.ip().to_string()).unwrap_or_default(),
                        session = tracing::field::Empty,
                        user = tracing::field::Empty,
                    );
                    tracing::Instrument::instrument(ws::serve_connection(socket, app, remote), span).await
                })
                .into_response()
        });
    let page = routes::at(Handler::Page).map(|| warp::reply::html(web::INDEX_HTML));
    let assets_app = app.clone();
    let assets = routes::with_param(Handler::Static).and(warp::header::optional::<String>("origin")).and_then(
        move |file: String, origin: Option<String>| {
            let app = assets_app.clone();
            async move {
                let file = web::asset(&file).ok_or_else(warp::reject::not_found)?;
                Ok::<_, warp::Rejection>(origin::static_file(file, origin, &app))
            }
        },
    );
    let counted = app.metrics.clone();
    unknown_paths()
        .or(health)
        .or(ready)
        .or(metrics_route(app.clone()))
        .or(openapi_route(&app.config))
        .or(lpproto)
        .or(page)
        .or(assets)
        .or(sessions::routes(app.clone()))
        .or(relying_party::routes(app.clone()))
        .or(origin::with_cors(app.clone(), rest::routes(app)))
        .recover(rest::recover)
        .with(warp::log::custom(move |info| {
            counted.request(info.path(), info.method().as_str(), info.status().as_u16())
        }))
}

impl App {
    /// LPProto sessions running now (places of `MAX_SESSIONS` taken).
    pub fn running_sessions(&self) -> usize {
        self.config.max_sessions.saturating_sub(self.session_slots.available_permits())
    }

    /// Everything the server needs before it listens: GStreamer and the plugin, a key that can
    /// sign tokens (a bad key stops the server at start, not every session later), and the
    /// attempt counters' store.
    pub async fn new(config: Config) -> Result<App, StartError> {
        use gstliveness::signing::{KeySource, Signer};
        init_gstreamer()?;
        let source = KeySource {
            key: config.jwt_secret.as_deref(),
            key_file: config.jwt_key_file.as_deref(),
            env_secret: None,
            key_id: None,
        };
        Signer::new(config.jwt_algorithm, &source)?;
        let zk = zk::Prover::load(config.zk_keys_dir.as_deref())?;
        let policy = match &config.redis_url {
            Some(url) => {
                PolicyStore::redis(url).await.map_err(|source| StartError::Redis { url: url.clone(), source })?
            }
            None => PolicyStore::memory(),
        };
        let threshold = config.antispoof_threshold;
        let pipeline_check = tokio::task::spawn_blocking(move || check_pipeline(threshold))
            .await
            .unwrap_or_else(|err| Err(format!("the check did not run: {err}")));
        if let Err(reason) = &pipeline_check {
            tracing::warn!(%reason, "the analysis pipeline does not run: GET /ready answers 503");
        }
        let session_slots = Arc::new(tokio::sync::Semaphore::new(config.max_sessions));
        let analysis_gate = gate::AnalysisGate::new(config.analysis_threads);
        let rest_places = Arc::new(tokio::sync::Semaphore::new(config.max_rest_requests));
        let log_hash_secret = logging::log_hash_secret(config.log_hash_key.as_deref());
        let (shutdown, _) = tokio::sync::watch::channel(false);
        let tcp = listener::Connections::new(listener::Limits {
            max_connections: config.max_connections,
            max_per_address: config.max_connections_per_ip,
            header_timeout: config.header_timeout,
        });
        Ok(App {
            config,
            policy,
            session_slots,
            analysis_gate,
            rest_places,
            log_hash_secret,
            shutdown,
            connections: Default::default(),
            tcp,
            metrics: Arc::default(),
            pipeline_check,
            zk,
        })
    }
}

/// Serves `app` until `shutdown` completes, then drains: no new connection is taken, live
/// sessions get `SHUTDOWN_GRACE_MS` to finish, and the connections still open after it are
/// told (`server-shutdown`) and closed with 1001.
pub async fn serve_app(
    app: App,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let app = Arc::new(app);
    let (stop_accepting, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = listener::serve(listener, warp::service(routes(app.clone())), app.tcp.clone(), async {
        let _ = stopped.await;
    });
    let server = tokio::spawn(server);
    shutdown.await;
    let _ = stop_accepting.send(());
    tracing::info!(
        connections = app.connections.load(std::sync::atomic::Ordering::SeqCst),
        grace_ms = app.config.shutdown_grace.as_millis() as u64,
        "shutting down: open connections get the grace period to finish"
    );
    wait_for_connections(&app, app.config.shutdown_grace).await;
    let _ = app.shutdown.send(true);
    wait_for_connections(&app, CLOSE_WAIT).await;
    let _ = server.await;
}

/// How long closing connections get to send their notice and close frame.
const CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Waits until no LPProto connection is open, at most `limit`.
async fn wait_for_connections(app: &App, limit: std::time::Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    while app.connections.load(std::sync::atomic::Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Prepares the server for `config` and serves until `shutdown` completes.
pub async fn serve(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    serve_app(App::new(config).await?, listener, shutdown).await;
    Ok(())
}
