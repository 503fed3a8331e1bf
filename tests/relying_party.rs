//! Relying-party sessions end to end with a real WebSocket client: the backend creates a
//! session with its API key, the client CONNECTs with the one-time token, the backend fetches
//! the verdict once; every refusal on the way (keys, tokens, other parties, order).

mod common;

use std::time::Duration;

use common::{API_KEY, OTHER_API_KEY, clip_jpegs, connect, create_session, fetch_result, open, start, verify};
use lpserver::protocol::Message;
use serde_json::json;

fn error_code(message: &Message) -> Option<u32> {
    (message.command == "ERROR").then(|| message.header("error").and_then(|e| e.parse().ok())).flatten()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_relying_party_chooses_the_screen_flash_per_session() {
    let vars = [("CHALLENGE_SEQUENCE", "turn_left"), ("CHALLENGE_TIMEOUT_MS", "1500")];
    let (address, _stop) = start(&vars).await;
    let auth = format!("Authorization: Bearer {API_KEY}");
    let body = json!({"userReference": "ann", "flash": "yes"});
    let (status, refused) = common::post_json_with(address, "/v1/sessions", &auth, &body).await;
    assert_eq!((status, refused["field"].as_str()), (400, Some("flash")), "{refused}");
    let frames: Vec<Vec<u8>> = clip_jpegs().into_iter().cycle().take(900).collect();
    for flash in [true, false] {
        let body = json!({"userReference": format!("ann-{flash}"), "flash": flash});
        let (status, created) = common::post_json_with(address, "/v1/sessions", &auth, &body).await;
        assert_eq!(status, 201, "{created}");
        let mut socket = open(address).await;
        let token = created["clientToken"].as_str().unwrap();
        assert_eq!(connect(&mut socket, &format!("session-token:{token}\n")).await.command, "CONNECTED");
        common::run_clip(&mut socket, &frames).await;
        let (_, result) = common::fetch_result_details(address, created["sessionId"].as_str().unwrap(), API_KEY).await;
        let claims = verify(result["token"].as_str().expect("a verdict token"));
        let sequence = claims["challenges"]["sequence"].as_array().unwrap().clone();
        assert_eq!(sequence.contains(&json!("flash")), flash, "{sequence:?}");
        // The clip's face does not reflect the screen: with the flash, the session fails it
        // (its colour never followed the flashes).
        let results = claims["challenges"]["results"].as_array().unwrap();
        let judged = results.iter().find(|r| r["challenge"] == "flash");
        assert_eq!(judged.is_some(), flash, "{results:?}");
        if let Some(judged) = judged {
            assert_eq!(judged["passed"], false, "{judged}");
            // The token carries the decision; the correlation is among the figures the backend
            // asked for. (A session ends at its first failed challenge: when a head movement of
            // the clip came too late on a loaded machine, the flash was never asked.)
            assert!(judged["correlation"].is_null(), "{judged}");
            let correlations = result["figures"]["flashCorrelations"].as_array().expect("figures").clone();
            let asked = judged["attempts"].as_u64().unwrap_or(0) > 0;
            assert!(correlations.is_empty() != asked, "{result}");
            assert!(correlations.iter().all(|c| c.as_f64().is_some_and(|c| c < 0.75)), "{result}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backend_creates_the_session_the_client_connects_the_backend_fetches_the_verdict_once() {
    let frames = clip_jpegs();
    let (address, _stop) =
        start(&[("CHALLENGE_SEQUENCE", "turn_left,look_up,turn_right"), ("OPEN_SESSIONS", "0")]).await;
    // Without a key, with a wrong one: 401.
    let body = json!({"userReference": "alice"});
    assert_eq!(common::post_json(address, "/v1/sessions", &body).await.0, 401);
    let wrong = "Authorization: Bearer not-the-key-0123456789abcdef0123456789";
    let (status, refused) = common::post_json_with(address, "/v1/sessions", wrong, &body).await;
    assert_eq!((status, &refused["error"]), (401, &json!("unauthorized")), "{refused}");
    let auth = format!("Authorization: Bearer {API_KEY}");
    let (status, refused) = common::post_json_with(address, "/v1/sessions", &auth, &json!({})).await;
    assert_eq!((status, &refused["field"]), (400, &json!("userReference")), "{refused}");

    let (status, created) = create_session(address, "alice").await;
    assert_eq!(status, 201, "{created}");
    let (id, token) = (created["sessionId"].as_str().unwrap(), created["clientToken"].as_str().unwrap());
    assert_eq!(created["expiresInMs"], 120_000);
    // Not ended yet: 409 with where it is.
    let (status, early) = fetch_result(address, id, API_KEY).await;
    assert_eq!((status, &early["code"]), (409, &json!(1034)), "{early}");
    assert!(early["detail"].as_str().unwrap().contains("created"), "{early}");

    // This server takes no anonymous session, and no client-named user.
    let mut socket = open(address).await;
    assert_eq!(error_code(&connect(&mut socket, "").await), Some(1032));
    assert_eq!(error_code(&connect(&mut socket, "user-id:alice\n").await), Some(1006));
    assert_eq!(error_code(&connect(&mut socket, "session-token:made-up\n").await), Some(1033));
    let connected = connect(&mut socket, &format!("session-token:{token}\n")).await;
    assert_eq!((connected.command.as_str(), connected.header("session-id")), ("CONNECTED", Some(id)));
    // The token worked once.
    let mut again = open(address).await;
    assert_eq!(error_code(&connect(&mut again, &format!("session-token:{token}\n")).await), Some(1033));
    assert!(fetch_result(address, id, API_KEY).await.1["detail"].as_str().unwrap().contains("running"));

    let success = common::run_clip(&mut socket, &frames).await;
    assert_eq!(success.command, "SUCCESS", "{success:?}");
    // Another relying party does not see it; the party that created it gets it, once.
    assert_eq!(fetch_result(address, id, OTHER_API_KEY).await.0, 404);
    let (status, result) = fetch_result(address, id, API_KEY).await;
    assert_eq!(status, 200, "{result}");
    assert_eq!((&result["sessionId"], &result["isOk"], &result["errors"]), (&json!(id), &json!(true), &json!([])));
    let claims = verify(result["token"].as_str().unwrap());
    assert_eq!((claims["sub"].as_str(), claims["aud"].as_str()), (Some(id), Some("shop")), "{claims}");
    // The browser heard SUCCESS, not the token; the backend has it, with decisions and no
    // scores or stream figures, unless it asks for them.
    assert!(success.body.is_empty(), "the client gets no token: {success:?}");
    assert!(claims["details"]["liveness"]["score"].is_null() && claims["surfaceScore"].is_null(), "{claims}");
    assert!(
        claims["challenges"]["duplicateShare"].is_null() && claims["challenges"]["sensorNoise"].is_null(),
        "{claims}"
    );
    assert!(result.get("figures").is_none(), "figures only when asked: {result}");
    let (status, gone) = fetch_result(address, id, API_KEY).await;
    assert_eq!((status, &gone["code"]), (404, &json!(1035)), "{gone}");
}

/// The age check's outcomes as the backend reads them, and against the user's attempts: with
/// one attempt a round, a counted failure would stop the user's next session.
#[tokio::test(flavor = "multi_thread")]
async fn an_uncertain_age_sends_to_a_document_check_without_costing_an_attempt_and_below_counts() {
    let frames = clip_jpegs();
    let run = |vars: Vec<(&'static str, &'static str)>, user: &'static str| {
        let frames = frames.clone();
        async move {
            let mut all = vec![
                ("CHALLENGE_SEQUENCE", "turn_left,look_up,turn_right"),
                ("OPEN_SESSIONS", "0"),
                ("MIN_AGE", "18"),
                ("POLICY_ATTEMPTS", "1"),
            ];
            all.extend(vars);
            let (address, stop) = start(&all).await;
            let (status, created) = create_session(address, user).await;
            assert_eq!(status, 201, "{created}");
            let mut socket = open(address).await;
            let token = created["clientToken"].as_str().unwrap();
            assert_eq!(connect(&mut socket, &format!("session-token:{token}\n")).await.command, "CONNECTED");
            let verdict = common::run_clip(&mut socket, &frames).await;
            let (status, result) =
                common::fetch_result_details(address, created["sessionId"].as_str().unwrap(), API_KEY).await;
            assert_eq!(status, 200, "{result}");
            let (next, _) = create_session(address, user).await;
            drop(stop);
            (verdict, result, next)
        }
    };
    // Every adult estimate lies inside a buffer of 100 years: uncertain, a document check.
    let (verdict, result, next) = run(vec![("AGE_BUFFER", "100")], "carol").await;
    assert_eq!((error_code(&verdict), verdict.header("errors")), (Some(15), Some("15")), "{verdict:?}");
    assert_eq!(
        (&result["isOk"], &result["errors"], &result["livenessPassed"], &result["ageDecision"]),
        (&json!(false), &json!([15]), &json!(true), &json!("uncertain")),
        "{result}"
    );
    let claims = verify(result["token"].as_str().unwrap());
    assert_eq!(claims["age"]["decision"], "uncertain", "{claims}");
    assert!(claims["age"]["years"].is_null(), "the token carries the decision: {claims}");
    assert!(result["figures"]["ageYears"].as_f64().is_some_and(|y| y >= 18.0), "an adult, inside the buffer: {result}");
    assert_eq!(next, 201, "the uncertain session cost no attempt: the next one may start");

    // Nobody is 150: below, and that counts as the round's one failure.
    let (verdict, result, next) = run(vec![("MIN_AGE", "150")], "dave").await;
    assert_eq!(error_code(&verdict), Some(14), "{verdict:?}");
    assert_eq!((&result["livenessPassed"], &result["ageDecision"]), (&json!(true), &json!("below")), "{result}");
    assert_eq!(next, 429, "below costs the attempt: the user cools down");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_abandoned_session_is_reported_to_the_backend_and_tokens_expire() {
    let (address, _stop) = start(&[("OPEN_SESSIONS", "0"), ("CLIENT_TOKEN_TTL_MS", "1000")]).await;
    let (_, created) = create_session(address, "bob").await;
    let (id, token) = (created["sessionId"].as_str().unwrap(), created["clientToken"].as_str().unwrap());
    let mut socket = open(address).await;
    assert_eq!(connect(&mut socket, &format!("session-token:{token}\n")).await.command, "CONNECTED");
    drop(socket);
    // The backend learns the session ended without a verdict (session-ended), with no token.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let result = loop {
        let (status, result) = fetch_result(address, id, API_KEY).await;
        if status != 409 || std::time::Instant::now() > deadline {
            assert_eq!(status, 200, "{result}");
            break result;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!((&result["isOk"], &result["errors"]), (&json!(false), &json!([16])), "{result}");
    assert!(result.get("token").is_none(), "{result}");
    // A token not used within CLIENT_TOKEN_TTL_MS is worth nothing.
    let (_, created) = create_session(address, "bob").await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let mut socket = open(address).await;
    let late = connect(&mut socket, &format!("session-token:{}\n", created["clientToken"].as_str().unwrap())).await;
    assert_eq!(error_code(&late), Some(1033), "{late:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn anonymous_sessions_count_by_address_whatever_the_client_sends() {
    let frames = clip_jpegs();
    let quick = [
        ("CHALLENGE_SEQUENCE", "look_down"),
        ("CHALLENGE_TIMEOUT_MS", "300"),
        ("POLICY_ATTEMPTS", "2"),
        ("POLICY_COOLDOWN_MS", "60000"),
    ];
    let (address, _stop) = start(&quick).await;
    // One session fails, one is abandoned: the round is used up, whatever session-id each
    // CONNECT carries.
    let mut socket = open(address).await;
    assert_eq!(connect(&mut socket, "session-id:first\n").await.command, "CONNECTED");
    let failed = common::run_clip(&mut socket, &frames).await;
    assert_eq!(error_code(&failed), Some(13), "{failed:?}");
    let mut socket = open(address).await;
    assert_eq!(connect(&mut socket, "session-id:second\n").await.command, "CONNECTED");
    drop(socket);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut socket = open(address).await;
    let refused = connect(&mut socket, "session-id:third\n").await;
    assert_eq!(error_code(&refused), Some(1015), "{refused:?}");
    assert_eq!(error_code(&connect(&mut socket, "user-id:someone-else\n").await), Some(1006), "no key to rotate");
}

#[tokio::test(flavor = "multi_thread")]
async fn make_demo_server_plays_the_relying_party() {
    use tokio::io::AsyncBufReadExt;
    // scripts/demo-server.sh MODE=rp: lpserver, a session created with curl, the page's
    // address with its token printed; once the session ends, its result.
    let port = common::free_port();
    let mut script = tokio::process::Command::new(common::root().join("scripts/demo-server.sh"))
        .env("MODE", "rp")
        .env("PORT", port.to_string())
        .env("LPSERVER", env!("CARGO_BIN_EXE_lpserver"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the script runs");
    let mut lines = tokio::io::BufReader::new(script.stdout.take().unwrap()).lines();
    let url = loop {
        let line: String = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("in time")
            .unwrap()
            .expect("a line");
        if let Some(url) = line.strip_prefix("Open within 2 minutes: ") {
            break url.to_string();
        }
    };
    let token = url.split_once("#session-token=").expect("a token in the address").1.to_string();
    let address: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let mut socket = open(address).await;
    assert_eq!(connect(&mut socket, &format!("session-token:{token}\n")).await.command, "CONNECTED");
    drop(socket);
    // The script fetches the result of the abandoned session and stops.
    let mut printed = String::new();
    while let Ok(Ok(Some(line))) = tokio::time::timeout(Duration::from_secs(60), lines.next_line()).await {
        printed.push_str(&line);
        printed.push('\n');
    }
    assert!(printed.contains("\"isOk\": false") && printed.contains("16"), "{printed}");
    assert!(script.wait().await.unwrap().success());
}
