use super::*;

/// Time for a new WebSocket to send CONNECT (lpserver's default).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

const LIMITS: Limits = Limits {
    max_frame_bytes: 1024,
    idle_timeout: Duration::from_secs(10),
    stats_scores: false,
    connect_timeout: CONNECT_TIMEOUT,
    max_session: Duration::from_secs(95),
};

fn text(s: &str) -> Incoming {
    Incoming::Text(s.to_string())
}

fn frame(body: &str) -> Incoming {
    Incoming::Text(format!("FRAME\ncontent-type:{FRAME_CONTENT_TYPE}\n\n{body}"))
}

/// The code of the one ERROR among `actions`.
fn error_code(actions: &[Action]) -> Option<String> {
    actions.iter().find_map(|a| match a {
        Action::Send(m) if m.command == "ERROR" => m.header("error").map(str::to_string),
        _ => None,
    })
}

fn code(c: ErrorCode) -> Option<String> {
    Some(c.code().to_string())
}

/// A connection through CONNECT and CONNECTED, at `now`.
fn connected(connect: &str, now: Instant) -> Connection {
    let mut c = Connection::new(LIMITS, "192.0.2.7".parse().ok(), now);
    let actions = c.on_message(text(connect), now);
    assert!(matches!(actions.as_slice(), [Action::Start(_)]), "{actions:?}");
    let actions = c.on_started(Ok("s1".into()), now);
    let [Action::Send(m)] = actions.as_slice() else { panic!("{actions:?}") };
    assert_eq!(
        (m.command.as_str(), m.header("session-id"), m.header("version")),
        ("CONNECTED", Some("s1"), Some("1.0"))
    );
    c
}

#[test]
fn connect_is_checked_header_by_header() {
    let now = Instant::now();
    let mut c = Connection::new(LIMITS, "192.0.2.7".parse().ok(), now);
    let cases = [
        ("CONNECT\n\n", ErrorCode::MissingHeader),
        ("CONNECT\nversion:2.0\n\n", ErrorCode::UnsupportedVersion),
        ("CONNECT\nversion:1.0\nheartbeat:50\n\n", ErrorCode::InvalidHeader),
        ("CONNECT\nversion:1.0\nheartbeat:x\n\n", ErrorCode::InvalidHeader),
        ("CONNECT\nversion:1.0\nsession-id:../x\n\n", ErrorCode::InvalidHeader),
        ("CONNECT\nversion:1.0\nmirrored:maybe\n\n", ErrorCode::InvalidHeader),
        ("CONNECT\nversion:1.0\nframes:all\n\n", ErrorCode::InvalidHeader),
        ("connect\n\n", ErrorCode::Malformed),
        ("HELLO\n\n", ErrorCode::UnknownCommand),
    ];
    for (message, expected) in cases {
        assert_eq!(error_code(&c.on_message(text(message), now)), code(expected), "{message:?}");
    }
    let long_token = format!("CONNECT\nversion:1.0\nsession-token:{}\n\n", "t".repeat(MAX_SESSION_TOKEN_BYTES + 1));
    assert_eq!(error_code(&c.on_message(text(&long_token), now)), code(ErrorCode::InvalidSessionToken));
    // None of them connected: a good CONNECT still starts the session.
    let actions = c.on_message(text("CONNECT\nversion:1.0\nheartbeat:0\nmirrored:YES\n\n"), now);
    let request = ConnectRequest {
        session_id: None,
        mirrored: true,
        session_token: None,
        remote: "192.0.2.7".parse().ok(),
        heartbeat: None,
        latest_frame: false,
        camera: CameraReport::default(),
    };
    assert_eq!(actions, vec![Action::Start(request)]);
}

#[test]
fn a_client_names_no_user_and_a_token_brings_its_session() {
    let parse = |headers: &str| {
        let message = Message::parse(&format!("CONNECT\nversion:1.0\n{headers}\n")).unwrap();
        parse_connect(&message, "2001:db8::1".parse().ok())
    };
    let connect = |headers: &str| parse(headers).unwrap();
    let refused = |headers: &str| parse(headers).unwrap_err();
    let err = refused("user-id:alice\n");
    assert_eq!((err.code, err.header.as_deref()), (ErrorCode::InvalidHeader, Some("user-id")));
    assert!(err.detail.contains("POST /v1/sessions"), "{}", err.detail);
    let request = connect("session-token:abc-DEF_123\n");
    assert_eq!(request.session_token.as_deref(), Some("abc-DEF_123"));
    assert_eq!(request.remote, "2001:db8::1".parse().ok());
    assert_eq!(refused("session-token:t\nsession-id:x\n").header.as_deref(), Some("session-id"));
    assert_eq!(connect("").session_token, None);
    let request = connect("session-id:abc_1\nheartbeat:250\n");
    assert_eq!((request.session_id.as_deref(), request.heartbeat), (Some("abc_1"), Some(Duration::from_millis(250))));
}

#[test]
fn the_camera_report_is_read_and_checked() {
    let parse = |headers: &str| {
        let message = Message::parse(&format!("CONNECT\nversion:1.0\n{headers}\n")).unwrap();
        parse_connect(&message, None)
    };
    let request =
        parse("camera-label:Integrated Webcam (0c45:6a10)\ncamera-size:1280x720\ncamera-fps:29.97\n").unwrap();
    let camera =
        CameraReport { label: Some("Integrated Webcam (0c45:6a10)".into()), size: Some((1280, 720)), fps: Some(30) };
    assert_eq!(request.camera, camera);
    assert_eq!(parse("").unwrap().camera, CameraReport::default(), "the report is optional");
    for (headers, name) in [
        ("camera-size:1280\n", "camera-size"),
        ("camera-size:0x720\n", "camera-size"),
        ("camera-size:99999x1\n", "camera-size"),
        ("camera-fps:0\n", "camera-fps"),
        ("camera-fps:fast\n", "camera-fps"),
        ("camera-label:\n", "camera-label"),
    ] {
        let err = parse(headers).unwrap_err();
        assert_eq!((err.code, err.header.as_deref()), (ErrorCode::InvalidHeader, Some(name)), "{headers}");
    }
    let long = format!("camera-label:{}\n", "x".repeat(300));
    assert_eq!(parse(&long).unwrap_err().header.as_deref(), Some("camera-label"));
}

#[test]
fn connect_comes_once_and_before_frames() {
    let now = Instant::now();
    let mut c = Connection::new(LIMITS, None, now);
    assert_eq!(error_code(&c.on_message(frame("/9j/"), now)), code(ErrorCode::NotConnected));
    assert_eq!(error_code(&c.on_message(Incoming::Binary(vec![0xFF, 0xD8]), now)), code(ErrorCode::NotConnected));
    assert!(matches!(c.on_message(text("CONNECT\nversion:1.0\n\n"), now).as_slice(), [Action::Start(_)]));
    // While the session starts, and once it runs, another CONNECT is refused.
    assert_eq!(error_code(&c.on_message(text("CONNECT\nversion:1.0\n\n"), now)), code(ErrorCode::AlreadyConnected));
    assert_eq!(error_code(&c.on_message(frame("/9j/"), now)), code(ErrorCode::NotConnected));
    c.on_started(Ok("s".into()), now);
    assert_eq!(error_code(&c.on_message(text("CONNECT\nversion:1.0\n\n"), now)), code(ErrorCode::AlreadyConnected));
}

#[test]
fn a_refused_start_can_be_retried() {
    let now = Instant::now();
    let mut c = Connection::new(LIMITS, None, now);
    c.on_message(text("CONNECT\nversion:1.0\n\n"), now);
    let mut cooldown = ProtoError::new(ErrorCode::Cooldown, "wait");
    cooldown.retry_after_ms = Some(5000);
    let actions = c.on_started(Err(cooldown), now);
    let [Action::Send(m)] = actions.as_slice() else { panic!("{actions:?}") };
    assert_eq!((m.header("error"), m.header("retry-after-ms")), (Some("1015"), Some("5000")));
    // The CONNECT deadline still counts from the upgrade.
    assert!(!c.is_closed() && c.deadline() == Some(now + CONNECT_TIMEOUT));
    assert!(matches!(c.on_message(text("CONNECT\nversion:1.0\n\n"), now).as_slice(), [Action::Start(_)]));
}

#[test]
fn with_frames_latest_the_newest_frame_waits_and_is_analysed_next() {
    let now = Instant::now();
    let mut c = connected("CONNECT\nversion:1.0\nframes:latest\n\n", now);
    assert_eq!(c.on_message(Incoming::Binary(vec![0xFF, 0xD8, 1]), now), vec![Action::Analyse(vec![0xFF, 0xD8, 1])]);
    // Two frames come while the first is analysed: the second replaces the first waiting.
    assert!(c.on_message(Incoming::Binary(vec![0xFF, 0xD8, 2]), now).is_empty());
    assert!(c.on_message(Incoming::Binary(vec![0xFF, 0xD8, 3]), now).is_empty());
    let actions = c.on_frame_result(FrameAnswer::Stats(FrameResult::default()), now);
    assert!(
        matches!(actions.as_slice(), [Action::Send(m), Action::Analyse(next)] if m.command == "STATS" && next == &vec![0xFF, 0xD8, 3])
    );
    // A refused frame frees the place too; with nothing waiting, the next frame goes straight in.
    let refused = ProtoError::new(ErrorCode::NotJpeg, "no");
    assert!(matches!(c.on_frame_result(FrameAnswer::Refused(refused), now).as_slice(), [Action::Send(_)]));
    assert_eq!(c.on_message(Incoming::Binary(vec![0xFF, 0xD8, 4]), now), vec![Action::Analyse(vec![0xFF, 0xD8, 4])]);
    // A frame waiting when the verdict comes is never analysed.
    c.on_message(Incoming::Binary(vec![0xFF, 0xD8, 5]), now);
    let actions =
        c.on_frame_result(FrameAnswer::Verdict { token: "t".into(), is_ok: true, errors: vec![], figures: None }, now);
    assert!(!actions.iter().any(|a| matches!(a, Action::Analyse(_))) && c.is_closed(), "{actions:?}");
}

#[test]
fn one_frame_is_in_flight_and_its_answer_frees_the_next() {
    let now = Instant::now();
    let mut c = connected("CONNECT\nversion:1.0\n\n", now);
    assert_eq!(c.on_message(frame("/9j/"), now), vec![Action::Analyse(vec![0xFF, 0xD8, 0xFF])]);
    assert_eq!(error_code(&c.on_message(frame("/9j/"), now)), code(ErrorCode::FrameInFlight));
    assert_eq!(error_code(&c.on_message(Incoming::Binary(vec![1]), now)), code(ErrorCode::FrameInFlight));
    let actions = c.on_frame_result(FrameAnswer::Stats(FrameResult::default()), now);
    let [Action::Send(stats)] = actions.as_slice() else { panic!("{actions:?}") };
    assert_eq!(stats.command, "STATS");
    let body: serde_json::Value = serde_json::from_str(&stats.body).unwrap();
    assert_eq!((body["isOk"].as_bool(), body["details"]["faces"].as_u64()), (Some(false), Some(0)));
    assert_eq!(c.on_message(Incoming::Binary(vec![0xFF, 0xD8]), now), vec![Action::Analyse(vec![0xFF, 0xD8])]);
    // A refused frame is answered and the session goes on.
    let refused = ProtoError::new(ErrorCode::NotJpeg, "not a JPEG");
    assert_eq!(error_code(&c.on_frame_result(FrameAnswer::Refused(refused), now)), code(ErrorCode::NotJpeg));
    assert!(!c.is_closed());
}

#[test]
fn stats_carry_no_score_unless_debugging() {
    let now = Instant::now();
    let scored = FrameResult {
        details: liveness_core::verdict::FrameDetails { faces: 1, antispoof_score: Some(0.8), ..Default::default() },
        ..Default::default()
    };
    for (stats_scores, expected) in [(false, serde_json::Value::Null), (true, serde_json::json!(0.8))] {
        let mut c = Connection::new(Limits { stats_scores, ..LIMITS }, None, now);
        c.on_message(text("CONNECT\nversion:1.0\n\n"), now);
        c.on_started(Ok("s".into()), now);
        c.on_message(frame("/9j/"), now);
        let actions = c.on_frame_result(FrameAnswer::Stats(scored.clone()), now);
        let [Action::Send(stats)] = actions.as_slice() else { panic!("{actions:?}") };
        let body: serde_json::Value = serde_json::from_str(&stats.body).unwrap();
        assert_eq!(body["details"]["antispoofScore"], expected, "stats_scores {stats_scores}");
        assert_eq!(body["details"]["faces"], 1);
    }
}

#[test]
fn frames_are_checked_before_they_reach_the_session() {
    let now = Instant::now();
    let mut c = connected("CONNECT\nversion:1.0\n\n", now);
    assert_eq!(error_code(&c.on_message(frame("not base64!"), now)), code(ErrorCode::BadBase64));
    assert_eq!(error_code(&c.on_message(frame(&"A".repeat(4000)), now)), code(ErrorCode::FrameTooLarge));
    assert_eq!(error_code(&c.on_message(Incoming::Binary(vec![0; 1025]), now)), code(ErrorCode::FrameTooLarge));
    let png = text("FRAME\ncontent-type:image/png\n\n");
    assert_eq!(error_code(&c.on_message(png, now)), code(ErrorCode::InvalidHeader));
    assert_eq!(error_code(&c.on_message(text("FRAME\n\n"), now)), code(ErrorCode::MissingHeader));
    // None of them is in flight.
    assert!(matches!(c.on_message(frame("/9j/"), now).as_slice(), [Action::Analyse(_)]));
}

#[test]
fn only_an_uncertain_age_after_a_passed_liveness_check_gives_the_strike_back() {
    let verdict = |is_ok: bool, errors: Vec<u32>| Outcome::Verdict { is_ok, errors, token: "t".into(), figures: None };
    assert_eq!(verdict(true, vec![]).attempt_effect(), AttemptEffect::Cleared);
    assert_eq!(verdict(false, vec![15]).attempt_effect(), AttemptEffect::GivenBack, "a document check, no strike");
    assert_eq!(verdict(false, vec![14]).attempt_effect(), AttemptEffect::Counted, "too young counts");
    assert_eq!(verdict(false, vec![11, 15]).attempt_effect(), AttemptEffect::Counted, "a liveness failure counts");
    assert_eq!(verdict(false, vec![12]).attempt_effect(), AttemptEffect::Counted);
    assert_eq!(Outcome::Ended(ErrorCode::SessionTimeout.into()).attempt_effect(), AttemptEffect::Counted);
    assert_eq!(Outcome::ServerShutdown.attempt_effect(), AttemptEffect::GivenBack);
}

#[test]
fn a_verdict_is_recorded_before_it_is_sent_and_ends_the_connection() {
    let now = Instant::now();
    let mut c = connected("CONNECT\nversion:1.0\nsession-token:bob\n\n", now);
    c.on_message(frame("/9j/"), now);
    let actions = c.on_frame_result(
        FrameAnswer::Verdict { token: "t".into(), is_ok: false, errors: vec![11, 12], figures: None },
        now,
    );
    let failed = Outcome::Verdict { is_ok: false, errors: vec![11, 12], token: "t".into(), figures: None };
    assert_eq!(actions[0], Action::Record(failed));
    let Action::Send(m) = &actions[1] else { panic!("{actions:?}") };
    // A relying party's session: the browser gets the outcome and codes, not the token.
    assert_eq!(
        (m.command.as_str(), m.header("error"), m.header("errors"), m.body.as_str()),
        ("ERROR", Some("11"), Some("11,12"), "")
    );
    assert_eq!(actions[2], Action::Close(CloseCode::Normal));
    assert!(c.is_closed() && c.deadline().is_none());
    assert!(c.on_message(frame("/9j/"), now).is_empty(), "nothing is read after the verdict");

    let mut c = connected("CONNECT\nversion:1.0\n\n", now);
    c.on_message(frame("/9j/"), now);
    let actions =
        c.on_frame_result(FrameAnswer::Verdict { token: "t".into(), is_ok: true, errors: vec![], figures: None }, now);
    assert_eq!(
        actions[0],
        Action::Record(Outcome::Verdict { is_ok: true, errors: vec![], token: "t".into(), figures: None })
    );
    assert!(matches!(&actions[1], Action::Send(m) if m.command == "SUCCESS" && m.body.is_empty()), "{actions:?}");
    assert_eq!(actions[2], Action::Close(CloseCode::Normal));
}

#[test]
fn the_token_reaches_the_client_in_an_anonymous_debug_session_only() {
    let now = Instant::now();
    for (stats_scores, connect, delivered) in [
        (true, "CONNECT\nversion:1.0\n\n", true),
        (false, "CONNECT\nversion:1.0\n\n", false),
        (true, "CONNECT\nversion:1.0\nsession-token:bob\n\n", false),
    ] {
        let mut c = Connection::new(Limits { stats_scores, ..LIMITS }, None, now);
        c.on_message(text(connect), now);
        c.on_started(Ok("s".into()), now);
        c.on_message(frame("/9j/"), now);
        let verdict = FrameAnswer::Verdict { token: "t".into(), is_ok: true, errors: vec![], figures: None };
        let actions = c.on_frame_result(verdict, now);
        let Action::Send(m) = &actions[1] else { panic!("{actions:?}") };
        assert_eq!(m.command, "SUCCESS");
        let expected = if delivered { (Some("application/jwt"), "t") } else { (None, "") };
        assert_eq!((m.header("content-type"), m.body.as_str()), expected, "{connect:?} debug {stats_scores}");
        // The server records the token whoever gets it.
        assert!(matches!(&actions[0], Action::Record(Outcome::Verdict { token, .. }) if token == "t"));
    }
}

#[test]
fn a_verdict_that_cannot_be_recorded_is_not_delivered() {
    let now = Instant::now();
    let mut c = connected("CONNECT\nversion:1.0\nsession-token:una\n\n", now);
    c.on_message(frame("/9j/"), now);
    c.on_frame_result(FrameAnswer::Verdict { token: "t".into(), is_ok: true, errors: vec![], figures: None }, now);
    let actions = c.on_record_failed("redis: connection refused");
    assert_eq!(error_code(&actions), code(ErrorCode::Internal));
    assert!(!actions.iter().any(|a| matches!(a, Action::Send(m) if m.command == "SUCCESS")));
    assert_eq!(actions.last(), Some(&Action::Close(CloseCode::Internal)));
}

#[test]
fn a_session_whose_pipeline_fails_ends_without_a_verdict_and_closes() {
    let now = Instant::now();
    let mut c = connected("CONNECT\nversion:1.0\n\n", now);
    c.on_message(frame("/9j/"), now);
    let actions = c.on_frame_result(FrameAnswer::Failed(ProtoError::new(ErrorCode::Internal, "pipeline")), now);
    assert_eq!(error_code(&actions), code(ErrorCode::Internal));
    assert_eq!(actions[0], Action::Record(Outcome::Ended(ErrorCode::Internal.into())), "its strike stays");
    assert_eq!(actions.last(), Some(&Action::Close(CloseCode::Internal)));
}

#[test]
fn an_idle_session_times_out_unless_a_frame_is_in_flight_or_the_client_beats() {
    let start = Instant::now();
    let mut c = connected("CONNECT\nversion:1.0\n\n", start);
    assert_eq!(c.deadline(), Some(start + LIMITS.idle_timeout));
    assert!(c.on_tick(start + Duration::from_secs(9)).is_empty());
    // A client HEARTBEAT moves the deadline.
    c.on_message(text("HEARTBEAT\n\n"), start + Duration::from_secs(9));
    assert!(c.on_tick(start + Duration::from_secs(12)).is_empty());
    // With a frame in flight there is no idle deadline, only the session's end.
    c.on_message(frame("/9j/"), start + Duration::from_secs(12));
    assert_eq!(c.deadline(), Some(start + LIMITS.max_session));
    assert!(c.on_tick(start + Duration::from_secs(60)).is_empty());
    c.on_frame_result(FrameAnswer::Stats(FrameResult::default()), start + Duration::from_secs(60));
    let late = start + Duration::from_secs(71);
    let actions = c.on_tick(late);
    assert_eq!(error_code(&actions), code(ErrorCode::SessionTimeout));
    assert_eq!(actions[0], Action::Record(Outcome::Ended(ErrorCode::SessionTimeout.into())), "a strike");
    assert_eq!(actions.last(), Some(&Action::Close(CloseCode::Policy)));
    assert!(c.is_closed());
}

#[test]
fn an_aborted_session_is_a_strike_but_a_socket_that_never_connected_is_not() {
    let now = Instant::now();
    let mut c = connected("CONNECT\nversion:1.0\nsession-token:yan\n\n", now);
    assert_eq!(c.on_closed(), vec![Action::Record(Outcome::Ended(Finding::SessionEnded.into()))]);
    assert!(c.on_closed().is_empty(), "once");
    let mut never = Connection::new(LIMITS, None, now);
    assert!(never.on_closed().is_empty());
    // After the verdict the socket's close is no second count.
    let mut done = connected("CONNECT\nversion:1.0\nsession-token:yan\n\n", now);
    done.on_message(frame("/9j/"), now);
    done.on_frame_result(FrameAnswer::Verdict { token: "t".into(), is_ok: true, errors: vec![], figures: None }, now);
    assert!(done.on_closed().is_empty());
}

#[test]
fn a_shutdown_closes_every_open_connection_once() {
    let now = Instant::now();
    let mut waiting = Connection::new(LIMITS, None, now);
    let mut analysing = connected("CONNECT\nversion:1.0\nsession-token:zoe\n\n", now);
    analysing.on_message(frame("/9j/"), now);
    for (c, running) in [(&mut waiting, false), (&mut analysing, true)] {
        let actions = c.on_shutdown();
        assert_eq!(error_code(&actions), code(ErrorCode::ServerShutdown));
        assert_eq!(actions.last(), Some(&Action::Close(CloseCode::GoingAway)));
        let given_back = actions.contains(&Action::Record(Outcome::ServerShutdown));
        assert_eq!(given_back, running, "a running session's strike is given back");
        assert!(c.on_shutdown().is_empty() && c.deadline().is_none());
    }
}

#[test]
fn connect_comes_within_its_timeout() {
    let start = Instant::now();
    let mut c = Connection::new(LIMITS, None, start);
    assert_eq!(c.deadline(), Some(start + CONNECT_TIMEOUT));
    assert!(c.on_tick(start + Duration::from_secs(9)).is_empty());
    let actions = c.on_tick(start + CONNECT_TIMEOUT);
    assert_eq!(error_code(&actions), code(ErrorCode::SessionTimeout));
    assert_eq!(actions.last(), Some(&Action::Close(CloseCode::Policy)));
    assert!(c.on_message(text("CONNECT\nversion:1.0\n\n"), start + CONNECT_TIMEOUT).is_empty());
}

#[test]
fn heartbeats_do_not_stretch_a_session_past_its_time() {
    let start = Instant::now();
    let mut c = connected("CONNECT\nversion:1.0\nheartbeat:1000\n\n", start);
    let mut now = start;
    // A client that only beats keeps the idle timeout away, not the session's end.
    while now + Duration::from_secs(5) < start + LIMITS.max_session {
        now += Duration::from_secs(5);
        c.on_message(text("HEARTBEAT\n\n"), now);
        assert!(c.on_tick(now).iter().all(|a| !matches!(a, Action::Close(_))), "closed at {:?}", now - start);
    }
    // A frame in flight does not stretch it either.
    c.on_message(frame("/9j/"), now);
    let end = start + LIMITS.max_session;
    assert!(c.deadline().is_some_and(|d| d <= end), "the socket side wakes by the session's end");
    let actions = c.on_tick(end);
    assert_eq!(error_code(&actions), code(ErrorCode::SessionTimeout));
    assert_eq!(actions.last(), Some(&Action::Close(CloseCode::Policy)));
}

#[test]
fn heartbeats_go_out_at_the_asked_period_without_piling_up() {
    let start = Instant::now();
    let mut c = connected("CONNECT\nversion:1.0\nheartbeat:1000\n\n", start);
    let beat = Duration::from_millis(1000);
    assert_eq!(c.deadline(), Some(start + beat));
    assert!(c.on_tick(start + Duration::from_millis(999)).is_empty());
    assert_eq!(c.on_tick(start + beat), vec![Action::Send(Message::new("HEARTBEAT"))]);
    // Three periods late: one beat, and the next one period after now's slot.
    let late = start + Duration::from_millis(4500);
    c.on_message(text("HEARTBEAT\n\n"), late);
    assert_eq!(c.on_tick(late).len(), 1);
    assert_eq!(c.deadline(), Some(start + Duration::from_millis(5000)));
    // Heartbeats also go out while a frame is analysed.
    c.on_message(frame("/9j/"), late);
    assert_eq!(c.deadline(), Some(start + Duration::from_millis(5000)));
}

#[test]
fn session_ids_cannot_carry_odd_characters() {
    assert!(valid_session_id("623e1bbc-24f9-4d84-907f-8000978ec2a1"));
    assert!(!valid_session_id(""));
    assert!(!valid_session_id("a:b"));
    assert!(!valid_session_id("../x"));
    assert!(!valid_session_id(&"a".repeat(65)));
}
