//! What lpserver counts, for Prometheus: `GET /metrics` answers the OpenMetrics text format
//! (the `prometheus-client` crate's encoder). Every name starts with `lpserver_`; the table in
//! docs/operations.md lists them.
//!
//! Sessions, frames, refusals and REST requests are counted per server ([`Metrics`] lives in
//! the [`crate::App`]); Redis errors are counted where the commands run
//! ([`crate::policy`]), once for the process ([`REDIS_ERRORS`]).

use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::protocol::Outcome;

/// Redis commands that failed (after their one retry on a new connection), in this process.
pub static REDIS_ERRORS: LazyLock<Counter> = LazyLock::new(Counter::default);

/// The content type of `GET /metrics`.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// `passed`, `failed` (a verdict that fails), `ended` (no verdict: the client left or fell
    /// silent, the time ran out, the pipeline failed) or `shutdown`.
    pub outcome: String,
    /// The first error code of a failed verdict, the reason of an ended session; empty else.
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ElementLabels {
    pub element: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusalLabels {
    /// `lpproto` (a CONNECT refused) or `sessions` (`POST /v1/sessions` refused).
    pub api: String,
    /// The error code's name: `busy`, `cooldown`, `final-failure`, `session-running` ...
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The route, ids replaced by `{id}` (`/v1/sessions/{id}/result`); `other` for paths no
    /// route serves.
    pub path: String,
    pub method: String,
    pub status: String,
}

/// Histogram buckets in seconds, 1 ms to 2.5 s.
fn latency_buckets() -> impl Iterator<Item = f64> {
    [0.001, 0.0025, 0.005, 0.01, 0.015, 0.025, 0.04, 0.06, 0.1, 0.25, 0.5, 1.0, 2.5].into_iter()
}

fn latency_histogram() -> Histogram {
    Histogram::new(latency_buckets())
}

/// One server's metrics.
pub struct Metrics {
    registry: Registry,
    sessions_active: Gauge,
    sessions_finished: Family<OutcomeLabels, Counter>,
    frames: Counter,
    frame_seconds: Histogram,
    frame_wait_seconds: Histogram,
    element_seconds: Family<ElementLabels, Histogram, fn() -> Histogram>,
    refusals: Family<RefusalLabels, Counter>,
    requests: Family<RequestLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("lpserver");
        let metrics = Metrics {
            registry: Registry::default(),
            sessions_active: Gauge::default(),
            sessions_finished: Family::default(),
            frames: Counter::default(),
            frame_seconds: latency_histogram(),
            frame_wait_seconds: latency_histogram(),
            element_seconds: Family::new_with_constructor(latency_histogram),
            refusals: Family::default(),
            requests: Family::default(),
        };
        registry.register("sessions_active", "LPProto sessions running", metrics.sessions_active.clone());
        registry.register(
            "sessions_finished",
            "LPProto sessions ended, by outcome and code",
            metrics.sessions_finished.clone(),
        );
        registry.register("frames", "LPProto frames analysed", metrics.frames.clone());
        registry.register(
            "frame_seconds",
            "Time from a FRAME's arrival to its answer (decoding and the whole pipeline), in seconds",
            metrics.frame_seconds.clone(),
        );
        registry.register(
            "frame_wait_seconds",
            "Time a FRAME waited for its turn at the analysis gate (ANALYSIS_THREADS frames at once), in seconds",
            metrics.frame_wait_seconds.clone(),
        );
        registry.register(
            "element_seconds",
            "Time a frame spends in each element of a session's pipeline, in seconds",
            metrics.element_seconds.clone(),
        );
        registry.register(
            "refusals",
            "Sessions refused at CONNECT or at POST /v1/sessions, by API and error code (busy, cooldown, final-failure ...)",
            metrics.refusals.clone(),
        );
        registry.register("redis_errors", "Redis commands that failed", REDIS_ERRORS.clone());
        registry.register("http_requests", "HTTP requests, by route, method and status", metrics.requests.clone());
        Metrics { registry, ..metrics }
    }

    /// The OpenMetrics text of every metric, `sessions_active` set to `running` first.
    pub fn encode(&self, running: usize) -> String {
        self.sessions_active.set(running as i64);
        let mut text = String::new();
        if let Err(err) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            text = format!("# the metrics could not be encoded: {err}\n# EOF\n");
        }
        text
    }

    /// A session ended.
    pub fn session_finished(&self, outcome: &Outcome) {
        let (outcome, code) = match outcome {
            Outcome::Verdict { is_ok: true, .. } => ("passed", String::new()),
            Outcome::Verdict { errors, .. } => ("failed", errors.first().map(u32::to_string).unwrap_or_default()),
            Outcome::Ended(code) => ("ended", code.name().to_string()),
            Outcome::ServerShutdown => ("shutdown", String::new()),
        };
        self.sessions_finished.get_or_create(&OutcomeLabels { outcome: outcome.into(), code }).inc();
    }

    /// A frame was answered `elapsed` after it arrived.
    pub fn frame_answered(&self, elapsed: Duration) {
        self.frames.inc();
        self.frame_seconds.observe(elapsed.as_secs_f64());
    }

    /// A frame waited `elapsed` for its turn at the analysis gate.
    pub fn frame_waited(&self, elapsed: Duration) {
        self.frame_wait_seconds.observe(elapsed.as_secs_f64());
    }

    /// A frame spent `elapsed` in `element`.
    pub fn element_time(&self, element: &str, elapsed: Duration) {
        self.element_seconds.get_or_create(&ElementLabels { element: element.into() }).observe(elapsed.as_secs_f64());
    }

    /// A session was refused.
    pub fn refused(&self, api: &str, code: crate::errors::ErrorCode) {
        self.refusals.get_or_create(&RefusalLabels { api: api.into(), code: code.name().into() }).inc();
    }

    /// An HTTP request was answered.
    pub fn request(&self, path: &str, method: &str, status: u16) {
        let path = crate::routes::label(path).unwrap_or("other").to_string();
        let labels = RequestLabels { path, method: method_label(method).into(), status: status.to_string() };
        self.requests.get_or_create(&labels).inc();
    }
}

/// The `method` label: the methods of HTTP/1.1 (RFC 9110) and PATCH, `other` for any
/// other, so that invented methods cannot grow the label set.
fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"];
    KNOWN.into_iter().find(|known| *known == method).unwrap_or("other")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invented_methods_share_one_label() {
        let metrics = Metrics::new();
        for n in 0..1000 {
            metrics.request("/health", &format!("M{n}"), 405);
        }
        metrics.request("/health", "GET", 200);
        let text = metrics.encode(0);
        let series = text.lines().filter(|l| l.starts_with("lpserver_http_requests_total{")).count();
        assert_eq!(series, 2, "{text}");
        assert!(text.contains(r#"method="other""#) && text.contains(r#"method="GET""#), "{text}");
    }

    #[test]
    fn counts_appear_in_the_text() {
        let metrics = Metrics::new();
        metrics.session_finished(&Outcome::Verdict {
            is_ok: false,
            errors: vec![13, 12],
            token: String::new(),
            figures: None,
        });
        metrics.frame_answered(Duration::from_millis(12));
        metrics.refused("lpproto", crate::errors::ErrorCode::Busy);
        let text = metrics.encode(3);
        assert!(text.contains("lpserver_sessions_active 3"), "{text}");
        assert!(text.contains(r#"lpserver_sessions_finished_total{outcome="failed",code="13"} 1"#), "{text}");
        assert!(text.contains("lpserver_frames_total 1"), "{text}");
        assert!(text.contains(r#"lpserver_frame_seconds_bucket{le="0.015"} 1"#), "{text}");
        assert!(text.contains(r#"lpserver_refusals_total{api="lpproto",code="busy"} 1"#), "{text}");
        assert!(text.ends_with("# EOF\n"));
    }
}
