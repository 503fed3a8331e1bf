//! `lpserver`: see `lpserver --help`.

fn main() -> std::process::ExitCode {
    // SAFETY: the first statement of `main`: no other thread exists yet.
    unsafe { lpserver::quiet_onnx_runtime() };
    if std::env::args().skip(1).any(|a| a == "--help" || a == "-h") {
        println!("{}", lpserver::config::HELP);
        return std::process::ExitCode::SUCCESS;
    }
    if let Some(arg) = std::env::args().nth(1) {
        eprintln!("lpserver: unknown argument {arg:?}; configuration comes from the environment, see --help");
        return std::process::ExitCode::from(2);
    }
    let logging = lpserver::logging::LogFormat::parse(std::env::var("LOG_FORMAT").ok().as_deref())
        .and_then(lpserver::logging::init);
    if let Err(err) = logging {
        eprintln!("lpserver: {err}");
        return std::process::ExitCode::from(2);
    }
    let config = match lpserver::config::Config::from_lookup(|name| std::env::var(name).ok()) {
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
