//! One session played over LPProto against the server, and what it ended with.

use super::*;

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct SessionRecord {
    pub(crate) kind: String,
    pub(crate) identity: String,
    pub(crate) role: Role,
    pub(crate) passed: bool,
    /// The session reached a verdict (SUCCESS or a failed verdict).
    pub(crate) decided: bool,
    /// SUCCESS, or the ERROR's codes, or what went wrong.
    pub(crate) outcome: String,
    pub(crate) codes: Vec<u32>,
    /// The failed challenges of the verdict token: `challenge:reason`.
    pub(crate) failed_challenges: Vec<String>,
    /// The correlations of its screen-flash challenges (last attempt of each).
    pub(crate) flash_correlations: Vec<f64>,
    /// The verdict's stream figures: share of repeated frames, median sensor noise.
    pub(crate) duplicate_share: Option<f64>,
    pub(crate) sensor_noise: Option<f64>,
    /// The verdict's passive score (lvantispoof's mean aggregated score).
    pub(crate) antispoof_score: Option<f64>,
    /// The camera of the sweep that filmed a genuine session.
    pub(crate) camera: Option<attack::Condition>,
    /// The verdict's age check: its decision, the session's estimate and its good frames.
    pub(crate) age_decision: Option<String>,
    pub(crate) age_years: Option<f64>,
    pub(crate) age_frames: Option<u64>,
    pub(crate) seconds: f64,
    pub(crate) frames: usize,
}

/// The claims of a verdict token (Null when it is not one).
pub(crate) fn claims(token: &str) -> Value {
    use base64::Engine;
    token
        .split('.')
        .nth(1)
        .and_then(|payload| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok())
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .unwrap_or(Value::Null)
}

/// The screen-flash challenges' correlations of a verdict token.
pub(crate) fn flash_correlations(token: &str) -> Vec<f64> {
    claims(token)["challenges"]["results"]
        .as_array()
        .map(|results| results.iter().filter_map(|r| r["correlation"].as_f64()).collect())
        .unwrap_or_default()
}

/// The failed challenges (`challenge:reason`) of a verdict token's `challenges` claim.
pub(crate) fn failed_challenges(token: &str) -> Vec<String> {
    let claims = claims(token);
    claims["challenges"]["results"]
        .as_array()
        .map(|results| {
            results
                .iter()
                .filter(|r| r["passed"] == json!(false))
                .map(|r| {
                    format!(
                        "{}:{}",
                        r["challenge"].as_str().unwrap_or("?"),
                        r["reason"].as_str().unwrap_or("not-reached")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What a session gave: the record, the actor back (a person's recording), the pose trace.
pub(crate) struct Played<A> {
    pub(crate) record: SessionRecord,
    pub(crate) actor: A,
    pub(crate) trace: Vec<(f64, f32, f32, String)>,
}

impl SessionRecord {
    /// The figures of the verdict `token`: flash correlations and stream signals.
    pub(crate) fn take_verdict(&mut self, token: &str) {
        self.flash_correlations = flash_correlations(token);
        let claims = claims(token);
        let challenges = &claims["challenges"];
        self.duplicate_share = challenges["duplicateShare"].as_f64();
        self.sensor_noise = challenges["sensorNoise"].as_f64();
        self.antispoof_score = claims["details"]["liveness"]["score"].as_f64();
        let age = &claims["age"];
        self.age_decision = age["decision"].as_str().map(str::to_string);
        self.age_years = age["years"].as_f64();
        self.age_frames = age["frames"].as_u64();
    }

    /// The verdict's only findings, if any, are the age check's: the liveness check passed.
    pub(crate) fn liveness_passed(&self) -> bool {
        self.decided && liveness_core::age::AgeDecision::liveness_passed(&self.codes)
    }

    /// A session of `kind` for `identity` that has not run yet.
    pub(crate) fn new(kind: &str, identity: &Identity) -> Self {
        SessionRecord {
            kind: kind.into(),
            identity: identity.name.into(),
            role: identity.role,
            passed: false,
            decided: false,
            outcome: String::new(),
            codes: Vec::new(),
            failed_challenges: Vec::new(),
            flash_correlations: Vec::new(),
            duplicate_share: None,
            sensor_noise: None,
            camera: None,
            antispoof_score: None,
            age_decision: None,
            age_years: None,
            age_frames: None,
            seconds: 0.0,
            frames: 0,
        }
    }
}

/// The API key lpeval, the relying party of its simulated people, gives its own in-process
/// server (on loopback, for the run only).
pub(crate) const EVAL_API_KEY: &str = "lpeval-relying-party-key-0123456789abcdef";

/// Creates a session for a new user of the relying party (the attempts policy, 3 failed
/// sessions then a cooldown, would otherwise stop the attacks after three), opens the
/// WebSocket and CONNECTs with the session's token.
pub(crate) async fn open_session(url: &str, kind: &str) -> Result<(lpserver::client::Socket, String), String> {
    static NEXT_USER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let user = NEXT_USER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let (id, token) =
        lpserver::client::create_session_with_id(url, EVAL_API_KEY, &format!("eval-{kind}-{user}")).await?;
    let (mut socket, _) =
        tokio_tungstenite::connect_async(url).await.map_err(|err| format!("connect failed: {err}"))?;
    let connect = format!("CONNECT\nversion:1.0\nsession-token:{token}\n\n");
    let _ = socket.send(WsMessage::Text(connect.into())).await;
    match receive(&mut socket).await {
        Some(m) if m.command == "CONNECTED" => Ok((socket, id)),
        other => Err(format!("CONNECT refused: {:?}", other.map(|m| m.encode()))),
    }
}

/// What the relying party (lpeval) fetches once a session ended: the signed verdict's
/// decisions and, with `?details=true`, the measurements the token leaves out.
async fn take_result(url: &str, id: &str, record: &mut SessionRecord) {
    for _ in 0..20 {
        match lpserver::client::session_result(url, EVAL_API_KEY, id).await {
            Ok((200, result)) => {
                let token = result["token"].as_str().unwrap_or("");
                record.failed_challenges = failed_challenges(token);
                record.take_verdict(token);
                let figures = &result["figures"];
                record.duplicate_share = figures["duplicateShare"].as_f64();
                record.sensor_noise = figures["sensorNoise"].as_f64();
                record.antispoof_score = figures["livenessScore"].as_f64();
                record.age_years = figures["ageYears"].as_f64();
                record.flash_correlations = figures["flashCorrelations"]
                    .as_array()
                    .map(|c| c.iter().filter_map(Value::as_f64).collect())
                    .unwrap_or_default();
                return;
            }
            // The session's result is stored as it ends: a moment later at most.
            Ok((409, _)) => tokio::time::sleep(Duration::from_millis(100)).await,
            _ => return,
        }
    }
}

/// Reads the answer to a FRAME into `record` and `seen`; true when the session is over.
pub(crate) fn read_answer(
    answer: Option<lpserver::protocol::Message>,
    record: &mut SessionRecord,
    seen: &mut Observed,
) -> bool {
    let Some(m) = answer else {
        record.outcome = "socket closed".into();
        return true;
    };
    match m.command.as_str() {
        "STATS" => {
            let body: Value = serde_json::from_str(&m.body).unwrap_or(Value::Null);
            let c = &body["details"]["challenge"];
            *seen = Observed {
                stage: c["stage"].as_str().unwrap_or("").to_string(),
                hint: c["hint"].as_str().map(str::to_string),
                challenge: c["name"].as_str().map(str::to_string),
                index: c["index"].as_u64(),
                flash: light::schedule_of(c),
                at: 0.0,
            };
            false
        }
        "SUCCESS" => {
            (record.passed, record.decided) = (true, true);
            record.outcome = "SUCCESS".into();
            true
        }
        "ERROR" if m.header("errors").is_some() => {
            record.codes = m.header("errors").unwrap_or("").split(',').filter_map(|c| c.parse().ok()).collect();
            record.outcome = format!("ERROR {}", m.header("errors").unwrap_or(""));
            record.decided = true;
            true
        }
        // A frame-level error: the session goes on, unless the server failed.
        "ERROR" if m.header("error") == Some("1000") => {
            record.outcome = format!("server error: {}", m.header("reason").unwrap_or(&m.body));
            true
        }
        "ERROR" => false,
        other => {
            record.outcome = format!("unexpected {other}");
            true
        }
    }
}

/// A seed of its own for each kind of session and identity.
pub(crate) fn seed_of(kind: &str, identity: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (kind, identity).hash(&mut hasher);
    hasher.finish()
}

/// Runs one LPProto session with `actor` at `fps` until the verdict (at most 150 s). The
/// actor's frames go through the page's encoder unless it injects them.
pub(crate) async fn play<A: Actor + 'static>(
    url: &str,
    mut actor: A,
    fps: f64,
    kind: &str,
    identity: &Identity,
) -> Played<A> {
    use base64::Engine;
    let mut record = SessionRecord::new(kind, identity);
    let mut trace = Vec::new();
    let (mut socket, session_id) = match open_session(url, kind).await {
        Ok(opened) => opened,
        Err(outcome) => {
            record.outcome = outcome;
            return Played { record, actor, trace };
        }
    };
    let started = Instant::now();
    let period = Duration::from_secs_f64(1.0 / fps);
    let mut seen = Observed::default();
    let mut page = actor.through_page().then(|| PageEncoder::seeded(seed_of(kind, identity.name)));
    loop {
        let frame_started = Instant::now();
        let t = started.elapsed().as_secs_f64();
        if t > 150.0 {
            record.outcome = "no verdict in 150 s".into();
            break;
        }
        let observed = seen.clone();
        let (produced, actor_back, page_back) = tokio::task::spawn_blocking(move || {
            let (jpeg, pose) = actor.frame(t, &observed);
            let jpeg = match page.as_mut() {
                Some(page) => page.encode(&jpeg),
                None => jpeg,
            };
            ((jpeg, pose), actor, page)
        })
        .await
        .expect("the frame renderer does not panic");
        (actor, page) = (actor_back, page_back);
        let (jpeg, pose) = produced;
        trace.push((t, pose.0, pose.1, seen.challenge.clone().unwrap_or_else(|| seen.stage.clone())));
        let text = format!(
            "FRAME\ncontent-type:image/x-jpeg-base64\n\n{}",
            base64::engine::general_purpose::STANDARD.encode(&jpeg)
        );
        if socket.send(WsMessage::Text(text.into())).await.is_err() {
            record.outcome = "socket closed".into();
            break;
        }
        record.frames += 1;
        if read_answer(receive(&mut socket).await, &mut record, &mut seen) {
            break;
        }
        seen.at = started.elapsed().as_secs_f64();
        if let Some(rest) = period.checked_sub(frame_started.elapsed()) {
            tokio::time::sleep(rest).await;
        }
    }
    record.seconds = started.elapsed().as_secs_f64();
    let _ = socket.close(None).await;
    if record.decided {
        take_result(url, &session_id, &mut record).await;
    }
    Played { record, actor, trace }
}
