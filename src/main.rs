//! `lpserver`: see `lpserver --help` (generated from [`lpserver::config::SETTINGS`]).

fn main() -> std::process::ExitCode {
    // SAFETY: the first statement of `main`: no other thread exists yet.
    unsafe { lpserver::quiet_onnx_runtime() };
    // Every connection holds a file descriptor: take what the hard limit allows.
    lpserver::listener::raise_open_files_limit();
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("zk-setup") {
        return lpserver::zk::setup_command(&args[2..]);
    }
    // Every setting is a flag or an environment variable: `--help` lists them.
    let matches = match lpserver::config::command().try_get_matches() {
        Ok(matches) => matches,
        Err(err) => {
            let _ = err.print();
            return std::process::ExitCode::from(if err.use_stderr() { 2 } else { 0 });
        }
    };
    let lookup = |name: &str| matches.get_one::<String>(name).cloned();
    let logging = lpserver::logging::LogFormat::parse(lookup("LOG_FORMAT").as_deref())
        .and_then(|format| lpserver::logging::init(format, lookup("RUST_LOG").as_deref()));
    if let Err(err) = logging {
        eprintln!("lpserver: {err}");
        return std::process::ExitCode::from(2);
    }
    let config = match lpserver::config::Config::from_lookup(lookup) {
        Ok(config) => config,
        Err(err) => {
            tracing::error!("{err}");
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::error!("{err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    // Key, GStreamer and the attempts store are checked before the port is opened.
    let app = match runtime.block_on(lpserver::App::new(config)) {
        Ok(app) => app,
        Err(err) => {
            tracing::error!("{err}");
            return std::process::ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async move {
        let address = app.config.address;
        let listener =
            tokio::net::TcpListener::bind(address).await.map_err(|err| format!("cannot listen on {address}: {err}"))?;
        tracing::info!(version = env!("CARGO_PKG_VERSION"), %address, "listening");
        if app.config.open_sessions {
            tracing::warn!(
                "OPEN_SESSIONS=1: anyone who reaches /lpproto may start anonymous sessions, \
                 counted by client address; for demos only, production sessions come from POST /v1/sessions"
            );
        }
        let parties: Vec<&str> = app.config.api_keys.iter().map(|k| k.party.as_str()).collect();
        if !parties.is_empty() {
            tracing::info!(relying_parties = %parties.join(", "), "API keys loaded");
        }
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|err| format!("SIGTERM handler: {err}"))?;
        let shutdown = async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        };
        lpserver::serve_app(app, listener, shutdown).await;
        Ok::<(), String>(())
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err}");
            std::process::ExitCode::FAILURE
        }
    }
}
