//! `lpload`: load for an lpserver. Runs N concurrent LPProto sessions, each replaying the
//! frames of a clip at a fixed rate (one FRAME in flight, as the protocol allows), and prints
//! the FRAME round trip (p50, p90, p99, max), the frames answered per second and how the
//! sessions ended.
//!
//!   lpload --sessions 50 --fps 10 --url ws://127.0.0.1:5003/lpproto
//!
//! With `--api-key`, lpload is a relying party: each session is created for a user of its own
//! (`POST /v1/sessions`) and CONNECTs with its token; without it the sessions are anonymous
//! (the server needs `OPEN_SESSIONS=1`, and counts all of them against one address).
//!
//! With `--trace FILE`, every round trip is also written to FILE as CSV (session, frame, when
//! it was sent in ms since lpload started, round trip in ms), to see when the slow ones came.
//!
//! The server must run with the clip's challenge sequence for sessions to pass
//! (`CHALLENGE_SEQUENCE=turn_left,look_up,turn_right` for the bundled demo clip); the round
//! trips are measured either way.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::SinkExt;
use gst::prelude::*;
use lpserver::client::receive;
use rand::{Rng, SeedableRng};
use tokio_tungstenite::tungstenite::Message as WsMessage;

const HELP: &str = "\
lpload: concurrent LPProto sessions against an lpserver

Usage: lpload [--url URL] [--sessions N] [--fps F] [--clip FILE] [--frames M] [--ramp-ms MS]
              [--api-key KEY] [--trace FILE]

  --url       LPProto endpoint (default ws://127.0.0.1:5003/lpproto)
  --sessions  concurrent sessions (default 10)
  --fps       frames a second each session sends (default 10)
  --clip      video to replay, any file GStreamer decodes
              (default tests/fixtures/demo-session.webm)
  --frames    frames per session, the clip looping (default: the clip's length)
  --ramp-ms   spread the session starts over this long (default 1000)
  --api-key   a relying party's API key (one of the server's API_KEYS): each session is
              created for a user of its own; without it the sessions are anonymous (the
              server needs OPEN_SESSIONS=1 and counts them all against this address)
  --trace     write every round trip to FILE as CSV: session, frame, sent (ms since
              lpload started), round trip (ms)";

struct Options {
    url: String,
    sessions: usize,
    fps: f64,
    clip: PathBuf,
    frames: Option<usize>,
    ramp: Duration,
    api_key: Option<String>,
    trace: Option<PathBuf>,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        url: "ws://127.0.0.1:5003/lpproto".into(),
        sessions: 10,
        fps: 10.0,
        clip: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/demo-session.webm")),
        frames: None,
        ramp: Duration::from_millis(1000),
        api_key: None,
        trace: None,
    };
    for (arg, value) in lpserver::client::option_pairs(HELP)? {
        let number = |what: &str| value.parse::<f64>().ok().filter(|v| *v > 0.0).ok_or(format!("{arg}: {what}"));
        match arg.as_str() {
            "--url" => options.url = value.clone(),
            "--sessions" => options.sessions = number("a positive number")? as usize,
            "--fps" => options.fps = number("a positive number")?,
            "--clip" => options.clip = PathBuf::from(&value),
            "--frames" => options.frames = Some(number("a positive number")? as usize),
            "--api-key" => options.api_key = Some(value.clone()),
            "--trace" => options.trace = Some(PathBuf::from(&value)),
            "--ramp-ms" => options.ramp = Duration::from_millis(value.parse().map_err(|_| "--ramp-ms: milliseconds")?),
            _ => return Err(format!("unknown option {arg}\n\n{HELP}")),
        }
    }
    Ok(options)
}

/// The clip's frames as JPEG files (what the page sends, one binary message each).
fn clip_frames(clip: &Path) -> Result<Vec<Vec<u8>>, String> {
    gst::init().map_err(|err| err.to_string())?;
    let launch = format!(
        "filesrc location=\"{}\" ! decodebin ! videoconvert ! jpegenc quality=85 ! appsink name=out sync=false",
        clip.display()
    );
    let pipeline = gst::parse::launch(&launch)
        .map_err(|err| err.to_string())?
        .downcast::<gst::Pipeline>()
        .map_err(|_| "not a pipeline")?;
    let sink = pipeline.by_name("out").and_then(|e| e.downcast::<gst_app::AppSink>().ok()).ok_or("no appsink")?;
    pipeline.set_state(gst::State::Playing).map_err(|_| format!("cannot play {}", clip.display()))?;
    let mut frames = Vec::new();
    while let Ok(sample) = sink.pull_sample() {
        if let Some(buffer) = sample.buffer().and_then(|b| b.map_readable().ok()) {
            frames.push(buffer.as_slice().to_vec());
        }
    }
    let _ = pipeline.set_state(gst::State::Null);
    if frames.is_empty() {
        return Err(format!("no frames decoded from {}", clip.display()));
    }
    Ok(frames)
}

#[derive(Default)]
struct SessionReport {
    round_trips: Vec<Duration>,
    /// When each frame was sent, since lpload started.
    sent: Vec<Duration>,
    outcome: String,
    late: u64,
}

impl SessionReport {
    /// Appends the session's round trips to `out` as `--trace` CSV lines.
    fn trace(&self, session: usize, out: &mut String) {
        let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
        for (frame, (sent, round_trip)) in self.sent.iter().zip(&self.round_trips).enumerate() {
            out.push_str(&format!("{session},{frame},{:.1},{:.2}\n", ms(sent), ms(round_trip)));
        }
    }
}

/// CONNECT's text: with a session token when lpload is a relying party.
async fn connect_message(url: &str, api_key: Option<&str>, user: usize) -> Result<String, String> {
    match api_key {
        Some(key) => {
            let user = format!("lpload-{}-{user}", std::process::id());
            let token = lpserver::client::create_session(url, key, &user).await?;
            Ok(format!("CONNECT\nversion:1.0\nsession-token:{token}\n\n"))
        }
        None => Ok("CONNECT\nversion:1.0\n\n".into()),
    }
}

/// How a CONNECT that did not connect ended, for the report.
fn refused_connect(answer: Option<lpserver::protocol::Message>) -> String {
    match answer {
        Some(m) if m.command == "ERROR" => format!("CONNECT refused: ERROR {}", m.header("error").unwrap_or("?")),
        Some(m) => format!("CONNECT answered {}", m.command),
        None => "CONNECT unanswered".into(),
    }
}

async fn run_session(
    url: String,
    frames: std::sync::Arc<Vec<Vec<u8>>>,
    count: usize,
    (period, started): (Duration, Instant),
    (api_key, user): (Option<String>, usize),
) -> SessionReport {
    let mut report = SessionReport::default();
    let connect = match connect_message(&url, api_key.as_deref(), user).await {
        Ok(connect) => connect,
        Err(err) => {
            report.outcome = format!("session not created: {err}");
            return report;
        }
    };
    let (mut socket, _) = match tokio_tungstenite::connect_async(url.as_str()).await {
        Ok(socket) => socket,
        Err(err) => {
            report.outcome = format!("connect failed: {err}");
            return report;
        }
    };
    if socket.send(WsMessage::Text(connect.into())).await.is_err() {
        report.outcome = "CONNECT not sent".into();
        return report;
    }
    match receive(&mut socket).await {
        Some(m) if m.command == "CONNECTED" => {}
        other => {
            report.outcome = refused_connect(other);
            return report;
        }
    }
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for index in 0..count {
        tick.tick().await;
        let frame = &frames[index % frames.len()];
        let sent = Instant::now();
        // A binary message is a FRAME of JPEG bytes, as the page sends them.
        if socket.send(WsMessage::Binary(frame.clone().into())).await.is_err() {
            report.outcome = "socket closed".into();
            return report;
        }
        let answer = receive(&mut socket).await;
        let round_trip = sent.elapsed();
        report.round_trips.push(round_trip);
        report.sent.push(sent - started);
        if round_trip > period {
            report.late += 1;
        }
        match answer {
            Some(m) if m.command == "STATS" => {}
            Some(m) if m.command == "SUCCESS" => {
                report.outcome = "SUCCESS".into();
                return report;
            }
            Some(m) if m.command == "ERROR" => {
                let code = m.header("error").unwrap_or("?").to_string();
                if !m.body.is_empty() || m.header("errors").is_some() {
                    report.outcome = format!("failed verdict ({code})");
                    return report;
                }
            }
            Some(m) => {
                report.outcome = format!("unexpected {}", m.command);
                return report;
            }
            None => {
                report.outcome = "socket closed".into();
                return report;
            }
        }
    }
    let _ = socket.close(None).await;
    report.outcome = "frames ran out".into();
    report
}

/// Frames answered a second while every session was running (from the last session's first
/// frame to the first session's last), and that window in seconds: the whole run's rate also
/// counts the ramp and the sessions' ends. `sent` holds each session's send times. None when
/// the sessions never all ran at once.
fn steady_rate(sent: &[Vec<Duration>]) -> Option<(f64, f64)> {
    let from = sent.iter().map(|s| s.first().copied()).collect::<Option<Vec<_>>>()?.into_iter().max()?;
    let to = sent.iter().filter_map(|s| s.last().copied()).min()?;
    let window = to.checked_sub(from)?.as_secs_f64();
    let inside = sent.iter().flatten().filter(|&&t| t >= from && t < to).count();
    (window > 0.0).then(|| (inside as f64 / window, window))
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let options = match options() {
        Ok(options) => options,
        Err(err) => {
            eprintln!("lpload: {err}");
            std::process::exit(2);
        }
    };
    let frames = match clip_frames(&options.clip) {
        Ok(frames) => std::sync::Arc::new(frames),
        Err(err) => {
            eprintln!("lpload: {err}");
            std::process::exit(2);
        }
    };
    let count = options.frames.unwrap_or(frames.len());
    let period = Duration::from_secs_f64(1.0 / options.fps);
    println!(
        "lpload: {} sessions x {count} frames at {} fps against {} ({} clip frames)",
        options.sessions,
        options.fps,
        options.url,
        frames.len()
    );
    let started = Instant::now();
    let mut tasks = Vec::new();
    // Sessions start spread over the ramp, each at a random phase of the frame period (seeded:
    // the same phases every run), as independent clients would: starts evenly spaced by a
    // fraction of the period would make every session's frames arrive at the same instants.
    let mut phases = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    for n in 0..options.sessions {
        let periods =
            (options.ramp.as_secs_f64() * n as f64 / options.sessions.max(1) as f64 / period.as_secs_f64()).floor();
        let delay = period.mul_f64(periods + phases.random::<f64>());
        let (url, frames, api_key) = (options.url.clone(), frames.clone(), options.api_key.clone());
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            run_session(url, frames, count, (period, started), (api_key, n)).await
        }));
    }
    let mut round_trips = Vec::new();
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    let mut late = 0;
    let mut trace = String::from("session,frame,sent_ms,round_trip_ms\n");
    let mut sent = Vec::new();
    for (session, task) in tasks.into_iter().enumerate() {
        let report = task
            .await
            .unwrap_or_else(|err| SessionReport { outcome: format!("task failed: {err}"), ..Default::default() });
        report.trace(session, &mut trace);
        sent.push(report.sent);
        round_trips.extend(report.round_trips);
        late += report.late;
        *outcomes.entry(report.outcome).or_default() += 1;
    }
    let wall = started.elapsed().as_secs_f64();
    if let Some(path) = &options.trace {
        std::fs::write(path, &trace).unwrap_or_else(|err| eprintln!("lpload: cannot write {}: {err}", path.display()));
    }
    round_trips.sort();
    println!("frames answered  {}", round_trips.len());
    println!("wall time        {wall:.1} s");
    println!(
        "frames/s         {:.1} (asked {:.1})",
        round_trips.len() as f64 / wall,
        options.sessions as f64 * options.fps
    );
    if let Some((rate, window)) = steady_rate(&sent) {
        println!("frames/s, all sessions running  {rate:.1} over {window:.1} s");
    }
    print_latency(&round_trips, late);
    for (outcome, n) in outcomes {
        println!("sessions: {n} {outcome}");
    }
}

/// The round trips' percentiles (`sorted` in order) and the answers later than a period.
fn print_latency(sorted: &[Duration], late: u64) {
    println!(
        "round trip ms    p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}",
        percentile(sorted, 0.50),
        percentile(sorted, 0.90),
        percentile(sorted, 0.99),
        percentile(sorted, 1.0)
    );
    println!("answers later than the frame period: {late}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_steady_rate_counts_only_while_every_session_runs() {
        let ms = |v: &[u64]| v.iter().map(|&m| Duration::from_millis(m)).collect::<Vec<_>>();
        // Two sessions at 10 fps: one from 0 to 900 ms, one from 500 to 1400 ms; both ran from
        // 500 to 900 ms, when 8 frames were sent (4 each): 20 a second.
        let a = ms(&[0, 100, 200, 300, 400, 500, 600, 700, 800, 900]);
        let b = ms(&[500, 600, 700, 800, 900, 1000, 1100, 1200, 1300, 1400]);
        let (rate, window) = steady_rate(&[a.clone(), b]).expect("a window");
        assert!((window - 0.4).abs() < 1e-9 && (rate - 20.0).abs() < 1e-9, "{rate} over {window}");
        // A session that sent nothing: the sessions never all ran.
        assert_eq!(steady_rate(&[a.clone(), Vec::new()]), None);
        // Sessions one after the other: no window.
        assert_eq!(steady_rate(&[ms(&[0, 100]), ms(&[200, 300])]), None);
    }
}
