//! lvjwtsink on real photos and rendered performances: the token verifies with its key only,
//! carries every documented field with its type, RS256 and ES256 verify with the public key,
//! there is no default key, the best shot is the sharp frontal frame, the age check runs, and
//! the verdict, frame-result and location outputs carry what they document.

mod common;

use std::process::Command;
use std::sync::{Arc, Mutex};

use common::render::{self, Expression};
use common::{run, run_frames_with, run_with, still};
use gst::prelude::*;
use serde_json::Value;

const KEY: &str = "test-secret-of-lvjwtsink-0123456789abcdef";
const CHAIN: &str = "lvfacedetect ! lvlandmarks ! lvantispoof ! lvsurfaceanalysis";

fn token_message(run: &common::Run) -> &gst::Structure {
    let tokens: Vec<&gst::Structure> = run.messages.iter().filter(|m| m.name() == "liveness-token").collect();
    assert_eq!(tokens.len(), 1, "one token per session");
    tokens[0]
}

fn token_of(run: &common::Run) -> String {
    token_message(run).get::<String>("token").expect("a token string")
}

fn validation(algorithm: jsonwebtoken::Algorithm) -> jsonwebtoken::Validation {
    let mut validation = jsonwebtoken::Validation::new(algorithm);
    validation.required_spec_claims = ["exp", "iat", "sub", "jti"].iter().map(|s| s.to_string()).collect();
    validation
}

fn verify_hs256(token: &str, key: &str) -> Result<Value, jsonwebtoken::errors::Error> {
    jsonwebtoken::decode::<Value>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(key.as_bytes()),
        &validation(jsonwebtoken::Algorithm::HS256),
    )
    .map(|data| data.claims)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Number,
    Integer,
    Bool,
    Text,
    Null,
    Array,
}

fn kind_matches(value: &Value, kind: Kind) -> bool {
    match kind {
        Kind::Number => value.is_number(),
        Kind::Integer => value.is_i64() || value.is_u64(),
        Kind::Bool => value.is_boolean(),
        Kind::Text => value.is_string(),
        Kind::Null => value.is_null(),
        Kind::Array => value.is_array(),
    }
}

/// The fields docs/elements.md documents for a token without lvchallenge, with their JSON types.
const FIELDS: &[(&str, Kind)] = &[
    ("/details/ags", Kind::Number),
    ("/details/quality/blur", Kind::Number),
    ("/details/quality/isBlurred", Kind::Bool),
    ("/details/quality/light", Kind::Number),
    ("/details/quality/isHighlighted", Kind::Bool),
    ("/details/quality/darkness", Kind::Number),
    ("/details/quality/isDark", Kind::Bool),
    ("/details/quality/illumination", Kind::Number),
    ("/details/quality/isIlluminated", Kind::Bool),
    ("/details/quality/specularity", Kind::Number),
    ("/details/quality/isSpecular", Kind::Bool),
    ("/details/faceFramePosition/faceRect/x", Kind::Integer),
    ("/details/faceFramePosition/faceRect/y", Kind::Integer),
    ("/details/faceFramePosition/faceRect/width", Kind::Integer),
    ("/details/faceFramePosition/faceRect/height", Kind::Integer),
    ("/details/faceFramePosition/frameRect/width", Kind::Integer),
    ("/details/faceFramePosition/frameRect/height", Kind::Integer),
    ("/details/faceFramePosition/margins", Kind::Array),
    ("/details/headPose/yaw", Kind::Number),
    ("/details/headPose/roll", Kind::Number),
    ("/details/headPose/pitch", Kind::Number),
    ("/details/mouth/opened", Kind::Number),
    ("/details/mouth/smile", Kind::Number),
    ("/details/mouth/occluded", Kind::Null),
    ("/details/eyeglasses", Kind::Text),
    ("/details/liveness/score", Kind::Number),
    ("/details/liveness/qualityScore", Kind::Number),
    ("/errors", Kind::Array),
    ("/isOk", Kind::Bool),
    ("/bestshot", Kind::Text),
    ("/iat", Kind::Integer),
    ("/exp", Kind::Integer),
    ("/jti", Kind::Text),
    ("/sub", Kind::Text),
    ("/challenges", Kind::Null),
    ("/surfaceScore", Kind::Number),
    ("/age/decision", Kind::Text),
    ("/age/years", Kind::Number),
    ("/age/spreadYears", Kind::Number),
    ("/age/frames", Kind::Integer),
    ("/age/confidence", Kind::Number),
    ("/age/minAge", Kind::Integer),
    ("/age/bufferYears", Kind::Integer),
    ("/age/minConfidence", Kind::Number),
    ("/age/passed", Kind::Bool),
];

/// The leaf keys of a JSON object, as `/a/b` pointers.
fn leaves(value: &Value, prefix: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                leaves(v, &format!("{prefix}/{key}"), out);
            }
        }
        _ => out.push(prefix.to_string()),
    }
}

fn readme() -> String {
    std::fs::read_to_string(common::fixture("../../docs/elements.md")).expect("docs/elements.md")
}

/// A session of 30 frames of the astronaut photo: enough good frames (every third one, at
/// least 10) for an age decision.
fn astronaut_token(extra: &str) -> (common::Run, String) {
    astronaut_frames_token(30, extra)
}

fn astronaut_frames_token(frames: u32, extra: &str) -> (common::Run, String) {
    let launch = format!(
        "{} ! {CHAIN} ! lvjwtsink key={KEY} session-id=astronaut-1 {extra}",
        still("astronaut.png", "video/x-raw,format=I420", frames)
    );
    let run = run(&launch).unwrap_or_else(|err| panic!("{launch}: {err}"));
    let token = token_of(&run);
    (run, token)
}

#[test]
fn the_token_verifies_with_its_key_only_and_has_every_documented_field() {
    let (run, token) = astronaut_token("");
    let claims = verify_hs256(&token, KEY).expect("verifies with its key");
    let other = verify_hs256(&token, "another-secret-that-is-long-enough-0123456789");
    assert!(
        matches!(other.as_ref().map_err(|e| e.kind()), Err(jsonwebtoken::errors::ErrorKind::InvalidSignature)),
        "{other:?}"
    );
    // A token with a changed payload does not verify either.
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    parts[1] = parts[1].replacen('e', "f", 1);
    assert!(verify_hs256(&parts.join("."), KEY).is_err());

    for (pointer, kind) in FIELDS {
        let value = claims.pointer(pointer).unwrap_or_else(|| panic!("{pointer} missing in {claims}"));
        assert!(kind_matches(value, *kind), "{pointer} should be {kind:?}: {value}");
    }
    // Every field in the token is documented in the token table of docs/elements.md.
    let mut found = Vec::new();
    leaves(&claims, "", &mut found);
    let readme = readme();
    for leaf in &found {
        let key = leaf.rsplit('/').next().unwrap();
        assert!(readme.contains(&format!("`{key}`")), "docs/elements.md does not document `{key}` ({leaf})");
        assert!(FIELDS.iter().any(|(p, _)| p == leaf) || leaf.starts_with("/details/faceFramePosition/frameRect"));
    }

    assert_eq!(claims["isOk"], true, "{claims}");
    assert_eq!(claims["errors"], serde_json::json!([]));
    assert_eq!(claims["sub"], "astronaut-1");
    assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 300);
    assert_eq!(claims["details"]["eyeglasses"], "GlassesEstimation.NotEstimated");
    let margins = claims["details"]["faceFramePosition"]["margins"].as_array().unwrap();
    let rect = &claims["details"]["faceFramePosition"]["faceRect"];
    assert_eq!(margins.len(), 4);
    assert_eq!(margins[0], rect["y"]);
    assert_eq!(margins[3], rect["x"]);
    assert_eq!(margins[1].as_i64().unwrap(), 512 - rect["x"].as_i64().unwrap() - rect["width"].as_i64().unwrap());
    // The best shot is a JPEG of the enlarged face box.
    use base64::Engine;
    let jpeg = base64::engine::general_purpose::STANDARD.decode(claims["bestshot"].as_str().unwrap()).unwrap();
    let image = image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg).expect("a JPEG");
    let side = rect["width"].as_f64().unwrap().max(rect["height"].as_f64().unwrap()) * 1.4;
    assert!((image.width() as f64 - side.min(256.0)).abs() <= 2.0, "{} vs {side}", image.width());
    assert_eq!(image.width(), image.height());
    // Header: HS256, JWT.
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::HS256);
    assert!(token_message(&run).get::<bool>("is-ok").unwrap());
}

#[test]
fn the_age_check_decides_passed_below_or_uncertain_over_the_good_frames() {
    let codes = |run: &common::Run| -> Vec<u32> {
        token_message(run).get::<gst::Array>("errors").unwrap().iter().map(|v| v.get::<u32>().unwrap()).collect()
    };
    // Eileen Collins, aged 36-43 in the photo: past 18 + the buffer of 7.
    let (_, token) = astronaut_token("");
    let claims = verify_hs256(&token, KEY).unwrap();
    let age = &claims["age"];
    eprintln!("astronaut age: {age}");
    assert_eq!((age["decision"].as_str(), age["passed"].as_bool()), (Some("passed"), Some(true)), "{age}");
    let years = age["years"].as_f64().unwrap();
    assert!((25.0..=60.0).contains(&years), "{age}");
    // 30 frames, every third one estimated: the decision rests on 10 of them.
    assert_eq!(age["frames"], 10, "{age}");
    assert!(age["spreadYears"].as_f64().unwrap() < 3.0 && age["confidence"].as_f64().unwrap() >= 0.7, "{age}");
    assert_eq!((age["minAge"].as_u64(), age["bufferYears"].as_u64()), (Some(18), Some(7)));

    // Likely under the limit: below, error 14.
    let (run, token) = astronaut_token("min-age=80");
    let claims = verify_hs256(&token, KEY).unwrap();
    assert_eq!(claims["age"]["decision"], "below", "{claims}");
    assert_eq!((claims["isOk"].as_bool(), codes(&run)), (Some(false), vec![14]));

    // An adult estimate inside the buffer: uncertain, error 15, a document check.
    let (run, token) = astronaut_token("age-buffer=60");
    let claims = verify_hs256(&token, KEY).unwrap();
    assert_eq!(claims["age"]["decision"], "uncertain", "{claims}");
    assert!(claims["age"]["confidence"].as_f64().unwrap() > 0.7, "{claims}");
    assert_eq!((claims["isOk"].as_bool(), codes(&run)), (Some(false), vec![15]));

    // Too few good frames for a decision: uncertain however old the face looks.
    let (run, token) = astronaut_frames_token(8, "");
    let claims = verify_hs256(&token, KEY).unwrap();
    assert_eq!((claims["age"]["decision"].as_str(), claims["age"]["frames"].as_u64()), (Some("uncertain"), Some(3)));
    assert_eq!(codes(&run), vec![15]);
    // With every good frame estimated, 12 frames are enough.
    let (_, token) = astronaut_frames_token(12, "age-every-nth=1");
    let claims = verify_hs256(&token, KEY).unwrap();
    assert_eq!((claims["age"]["decision"].as_str(), claims["age"]["frames"].as_u64()), (Some("passed"), Some(12)));

    // min-age=0 leaves the age out.
    let (_, token) = astronaut_token("min-age=0 include-bestshot=false");
    let claims = verify_hs256(&token, KEY).unwrap();
    assert!(claims.get("age").is_none() && claims.get("bestshot").is_none(), "{claims}");
}

#[test]
fn a_missing_age_model_stops_the_start_with_a_way_out() {
    let base = format!("{} ! lvfacedetect ! lvjwtsink key={KEY}", still("astronaut.png", "video/x-raw,format=I420", 1));
    let missing = run(&format!("{base} age-model-location=/nonexistent/age.onnx")).err().expect("no model, no start");
    assert!(missing.contains("age model face-api") && missing.contains("/nonexistent/age.onnx"), "{missing}");
    assert!(missing.contains("age-model-location") && missing.contains("min-age=0"), "{missing}");
    // A candidate of the survey that models/ does not ship is named as missing too.
    let not_shipped = run(&format!("{base} age-model=ssrnet")).err().expect("ssrnet-age.onnx is not shipped");
    assert!(not_shipped.contains("age model ssrnet") && not_shipped.contains("ssrnet-age.onnx"), "{not_shipped}");
    // Switched off, no model is needed.
    assert!(run(&format!("{base} min-age=0 age-model-location=/nonexistent/age.onnx")).is_ok());
}

/// Generates a private key with openssl and returns (private PEM path, public PEM bytes).
fn openssl_key(dir: &std::path::Path, name: &str, keygen: &[&str]) -> (std::path::PathBuf, Vec<u8>) {
    let private = dir.join(format!("{name}.pem"));
    let public = dir.join(format!("{name}.pub.pem"));
    let status = Command::new("openssl")
        .args(["genpkey", "-out"])
        .arg(&private)
        .args(keygen)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(status.success());
    let status =
        Command::new("openssl").args(["pkey", "-pubout", "-in"]).arg(&private).arg("-out").arg(&public).status();
    assert!(status.expect("openssl runs").success());
    (private, std::fs::read(&public).unwrap())
}

#[test]
fn rs256_and_es256_tokens_verify_with_the_public_key() {
    let dir = std::env::temp_dir().join(format!("lvjwtsink-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rsa = openssl_key(&dir, "rsa", &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]);
    let ec = openssl_key(&dir, "ec", &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    let other_ec = openssl_key(&dir, "ec2", &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    for (name, (private, public), algorithm, decoding) in [
        ("rs256", &rsa, jsonwebtoken::Algorithm::RS256, jsonwebtoken::DecodingKey::from_rsa_pem(&rsa.1).unwrap()),
        ("es256", &ec, jsonwebtoken::Algorithm::ES256, jsonwebtoken::DecodingKey::from_ec_pem(&ec.1).unwrap()),
    ] {
        let launch = format!(
            "{} ! {CHAIN} ! lvjwtsink algorithm={name} key-file={} key-id=k1 min-age=0",
            still("astronaut.png", "video/x-raw,format=I420", 2),
            private.display()
        );
        let token = token_of(&run(&launch).unwrap_or_else(|err| panic!("{name}: {err}")));
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!((header.alg, header.kid.as_deref()), (algorithm, Some("k1")));
        let claims = jsonwebtoken::decode::<Value>(&token, &decoding, &validation(algorithm))
            .unwrap_or_else(|err| panic!("{name} does not verify: {err}"))
            .claims;
        assert_eq!(claims["isOk"], true);
        assert!(!public.is_empty());
        if algorithm == jsonwebtoken::Algorithm::ES256 {
            let wrong = jsonwebtoken::DecodingKey::from_ec_pem(&other_ec.1).unwrap();
            assert!(jsonwebtoken::decode::<Value>(&token, &wrong, &validation(algorithm)).is_err());
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_a_key_the_element_does_not_start_and_says_why() {
    let base = still("astronaut.png", "video/x-raw,format=I420", 1);
    let missing = run(&format!("{base} ! lvfacedetect ! lvjwtsink")).err().expect("no key, no start");
    assert!(missing.contains("no signing key") && missing.contains("LIVENESS_JWT_SECRET"), "{missing}");
    let short = run(&format!("{base} ! lvfacedetect ! lvjwtsink key=short")).err().expect("short secret");
    assert!(short.contains("at least 32"), "{short}");
    let pem_needed = run(&format!("{base} ! lvfacedetect ! lvjwtsink algorithm=es256 key={KEY}")).err().unwrap();
    assert!(pem_needed.contains("key-file"), "{pem_needed}");
    let not_pem = run(&format!(
        "{base} ! lvfacedetect ! lvjwtsink algorithm=rs256 key-file={}",
        common::fixture("README.md").display()
    ))
    .err()
    .unwrap();
    assert!(not_pem.contains("PEM"), "{not_pem}");
}

#[test]
fn the_secret_can_come_from_the_environment() {
    // gst-launch-1.0 on the plugin of the build folder, with only LIVENESS_JWT_SECRET set.
    let launch =
        format!("{} ! lvfacedetect ! lvjwtsink min-age=0", still("astronaut.png", "video/x-raw,format=I420", 2));
    let args: Vec<&str> = std::iter::once("-m").chain(launch.split_whitespace()).collect();
    let text = common::gst_tool("gst-launch-1.0", &args, &[("LIVENESS_JWT_SECRET", KEY)]);
    let token = text
        .split("token=(string)")
        .nth(1)
        .and_then(|rest| rest.split([',', ' ', ';']).next())
        .unwrap_or_else(|| panic!("no token in {text}"));
    assert!(verify_hs256(token, KEY).is_ok());
}

/// A separable box blur of an RGB frame.
fn box_blur(rgb: &[u8], width: usize, height: usize, radius: usize) -> Vec<u8> {
    let pass = |src: &[u8], horizontal: bool| -> Vec<u8> {
        let mut out = vec![0u8; src.len()];
        for y in 0..height {
            for x in 0..width {
                for c in 0..3 {
                    let (mut sum, mut n) = (0u32, 0u32);
                    for d in -(radius as isize)..=radius as isize {
                        let (sx, sy) =
                            if horizontal { (x as isize + d, y as isize) } else { (x as isize, y as isize + d) };
                        if sx >= 0 && sy >= 0 && (sx as usize) < width && (sy as usize) < height {
                            sum += src[(sy as usize * width + sx as usize) * 3 + c] as u32;
                            n += 1;
                        }
                    }
                    out[(y * width + x) * 3 + c] = (sum / n) as u8;
                }
            }
        }
        out
    };
    pass(&pass(rgb, true), false)
}

#[test]
fn the_best_shot_is_the_sharp_frontal_frame() {
    let model = common::load_face("astronaut.png");
    let good = model.render(&Expression::default());
    let turned = model.render(&Expression { yaw: 30.0, ..Expression::default() });
    let blurred = box_blur(&good, model.width, model.height, 3);
    // The good frame first, in the middle and last.
    for (order, good_at) in
        [(["good", "blurred", "turned"], 0u64), (["blurred", "good", "turned"], 1), (["turned", "blurred", "good"], 2)]
    {
        let frames: Vec<Vec<u8>> = order
            .iter()
            .map(|name| match *name {
                "good" => good.clone(),
                "blurred" => blurred.clone(),
                _ => turned.clone(),
            })
            .collect();
        let tail = format!("videoconvert ! {CHAIN} ! lvjwtsink key={KEY} min-age=0");
        let run = run_frames_with(&frames, model.width, model.height, 10, &tail, |_| {}).unwrap();
        let message = token_message(&run);
        let pts = message.get::<Option<gst::ClockTime>>("bestshot-pts").unwrap().expect("a best shot");
        assert_eq!(pts, gst::ClockTime::from_mseconds(100 * good_at), "order {order:?}: {message}");
        let claims = verify_hs256(&message.get::<String>("token").unwrap(), KEY).unwrap();
        assert!(claims["details"]["headPose"]["yaw"].as_f64().unwrap().abs() < 10.0, "{claims}");
        assert_eq!(claims["details"]["quality"]["isBlurred"], false);
    }
}

type Verdicts = Arc<Mutex<Vec<(String, bool, Vec<u32>)>>>;
type FrameResults = Arc<Mutex<Vec<gst::Structure>>>;

/// Connects to the `verdict` and `frame-result` signals of the lvjwtsink named `jwt`.
fn collect_signals(pipeline: &gst::Pipeline) -> (Verdicts, FrameResults) {
    let sink = pipeline.by_name("jwt").expect("an lvjwtsink named jwt");
    let verdicts: Verdicts = Arc::default();
    let results: FrameResults = Arc::default();
    let v = verdicts.clone();
    sink.connect("verdict", false, move |args| {
        let errors = args[3].get::<gst::Array>().unwrap().iter().map(|e| e.get::<u32>().unwrap()).collect();
        v.lock().unwrap().push((args[1].get::<String>().unwrap(), args[2].get::<bool>().unwrap(), errors));
        None
    });
    let r = results.clone();
    sink.connect("frame-result", false, move |args| {
        r.lock().unwrap().push(args[1].get::<gst::Structure>().unwrap());
        None
    });
    (verdicts, results)
}

#[test]
fn a_performed_challenge_gives_one_ok_verdict_with_its_results() {
    let model = common::load_face("astronaut.png");
    let frames = model.render_all(&render::session(&["turn_left"]));
    let signals = Arc::new(Mutex::new(None));
    let tail =
        format!("videoconvert ! {CHAIN} ! lvchallenge sequence=turn_left ! lvjwtsink name=jwt key={KEY} min-age=0");
    let s = signals.clone();
    let run = run_frames_with(&frames, model.width, model.height, 30, &tail, move |p| {
        *s.lock().unwrap() = Some(collect_signals(p));
    })
    .unwrap();
    let (verdicts, results) = signals.lock().unwrap().take().unwrap();
    let verdicts = verdicts.lock().unwrap();
    assert_eq!(verdicts.len(), 1);
    let (token, is_ok, errors) = &verdicts[0];
    assert!(*is_ok && errors.is_empty(), "{verdicts:?}");
    assert_eq!(token, &token_of(&run));
    let claims = verify_hs256(token, KEY).unwrap();
    let challenges = &claims["challenges"];
    assert_eq!(challenges["sequence"], serde_json::json!(["turn_left"]));
    assert_eq!(challenges["passed"], true);
    assert_eq!(challenges["results"][0]["challenge"], "turn_left");
    assert_eq!(challenges["results"][0]["passed"], true);
    assert!(challenges["results"][0]["attempts"].is_u64() && challenges["results"][0]["penalty"].is_boolean());
    assert_eq!(challenges["livenessScore"], 1.0);
    assert!(claims["surfaceScore"].as_f64().unwrap() >= 0.4, "{claims}");
    // Frame results run until the verdict and carry the challenge state.
    let results = results.lock().unwrap();
    assert!(results.len() > 20 && results.len() < frames.len(), "{} of {}", results.len(), frames.len());
    let running: Vec<&gst::Structure> = results.iter().filter(|r| r.has_field("challenge")).collect();
    assert!(!running.is_empty());
    let last = running.last().unwrap();
    assert_eq!(last.get::<String>("challenge").unwrap(), "turn_left");
    assert!(last.get::<f64>("progress").unwrap() > 0.5, "{last}");
    let time_left = last.get::<u64>("time-left-ms").unwrap();
    assert!(time_left > 0 && time_left <= 10_000, "{last}");
    assert!(results.iter().all(|r| r.get::<i32>("width").unwrap() > 80));
}

#[test]
fn a_challenge_not_performed_gives_a_failed_token_with_its_codes() {
    let model = common::load_face("astronaut.png");
    let frames = vec![model.render(&Expression::default()); 90];
    let tail = format!(
        "videoconvert ! {CHAIN} ! lvchallenge sequence=turn_left challenge-timeout=1000 retries=0 ! lvjwtsink name=jwt key={KEY} min-age=0"
    );
    let run = run_frames_with(&frames, model.width, model.height, 30, &tail, |_| {}).unwrap();
    let claims = verify_hs256(&token_of(&run), KEY).unwrap();
    assert_eq!(claims["isOk"], false);
    // challenge-failed (13): the liveness score is 0.
    assert!(claims["errors"].as_array().unwrap().contains(&serde_json::json!(13)), "{claims}");
    assert_eq!(claims["challenges"]["passed"], false);
    // The best shot is still there, for the record.
    assert!(claims["bestshot"].is_string());
}

#[test]
fn frames_without_a_face_report_no_face_and_so_does_the_token() {
    let signals = Arc::new(Mutex::new(None));
    let s = signals.clone();
    let launch =
        format!("{} ! lvfacedetect ! lvjwtsink name=jwt key={KEY}", still("coffee.png", "video/x-raw,format=I420", 3));
    let run = run_with(&launch, move |p| *s.lock().unwrap() = Some(collect_signals(p))).unwrap();
    let (verdicts, results) = signals.lock().unwrap().take().unwrap();
    let results = results.lock().unwrap();
    assert_eq!(results.len(), 3);
    for r in results.iter() {
        assert!(!r.get::<bool>("is-ok").unwrap() && !r.has_field("x"), "{r}");
        assert_eq!(
            r.get::<gst::Array>("errors").unwrap().iter().map(|e| e.get::<u32>().unwrap()).collect::<Vec<_>>(),
            vec![1]
        );
    }
    let verdicts = verdicts.lock().unwrap();
    assert_eq!((verdicts[0].1, verdicts[0].2.clone()), (false, vec![1]));
    let claims = verify_hs256(&token_of(&run), KEY).unwrap();
    assert!(claims["details"]["faceFramePosition"].is_null() && claims.get("bestshot").is_none(), "{claims}");
    assert!(claims.get("age").is_none(), "no face, no age estimate: {claims}");
}

#[test]
fn location_writes_the_token_readable_by_the_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::temp_dir().join(format!("lvjwtsink-token-{}.jwt", std::process::id()));
    let (run, token) = astronaut_token(&format!("min-age=0 location={}", path.display()));
    let written = std::fs::read_to_string(&path).expect("the token file");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    let _ = std::fs::remove_file(&path);
    assert_eq!(written, token);
    assert_eq!(mode, 0o600);
    assert!(token_message(&run).get::<String>("session-id").unwrap() == "astronaut-1");
}

#[test]
fn the_readme_lists_the_error_code_table() {
    use liveness_core::errors::CodeTable;
    let table = liveness_core::errors::Finding::markdown_table();
    assert!(readme().contains(&table), "docs/elements.md must hold the table exactly:\n{table}");
}

#[test]
fn the_demo_passes_the_performed_sequence_and_fails_a_random_one() {
    // scripts/demo.sh (`make demo`): gst-launch-1.0 on the bundled clip, the token decoded and
    // its signature checked by scripts/show-token.py.
    let text = common::gst_tool(common::fixture("../../scripts/demo.sh"), &[], &[]);
    let (fixed, random) = text.split_once("=== 2.").expect("two runs");
    assert!(fixed.contains("asked turn_left,look_up,turn_right: passed=true"), "{fixed}");
    assert!(fixed.contains("signature valid") && fixed.contains("isOk: True, errors: none"), "{fixed}");
    assert!(random.contains("passed=false") && random.contains("signature valid"), "{random}");
    // A failed challenge or a wrong movement decides it. (Whether before the clip ends depends
    // on the draw: a retry still under way when the stream ends leaves session-ended beside it.)
    assert!(random.contains("isOk: False, errors: "), "{random}");
    assert!(random.contains("13 (challenge-failed)") || random.contains("20 (wrong-movement)"), "{random}");
}

#[test]
fn a_reset_session_gives_a_second_token_with_its_own_id() {
    let model = common::load_face("astronaut.png");
    let frames = model.render_all(&render::session(&["turn_left", "turn_left"]));
    let tail = format!(
        "videoconvert ! {CHAIN} ! lvchallenge name=challenge sequence=turn_left ! lvjwtsink name=jwt key={KEY} min-age=0"
    );
    // On the first verdict the application starts a new session.
    let run = run_frames_with(&frames, model.width, model.height, 30, &tail, |pipeline| {
        let challenge = pipeline.by_name("challenge").expect("lvchallenge");
        let resets = std::sync::atomic::AtomicUsize::new(0);
        pipeline.by_name("jwt").expect("lvjwtsink").connect("verdict", false, move |_| {
            if resets.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                challenge.emit_by_name::<()>("reset", &[]);
            }
            None
        });
    })
    .unwrap();
    let tokens: Vec<Value> = run
        .messages
        .iter()
        .filter(|m| m.name() == "liveness-token")
        .map(|m| verify_hs256(&m.get::<String>("token").unwrap(), KEY).unwrap())
        .collect();
    assert_eq!(tokens.len(), 2, "one token per session");
    assert!(tokens.iter().all(|t| t["isOk"] == true), "{tokens:?}");
    assert_ne!(tokens[0]["sub"], tokens[1]["sub"]);
    assert_ne!(tokens[0]["jti"], tokens[1]["jti"]);
}

#[test]
fn without_token_figures_the_token_carries_decisions_and_the_message_the_figures() {
    let (full_run, full) = astronaut_frames_token(12, "");
    let full = verify_hs256(&full, KEY).expect("verifies");
    assert!(full["details"]["liveness"]["score"].is_number(), "by default the token holds the scores: {full}");
    assert!(token_message(&full_run).get::<String>("figures").is_err(), "and the message no figures");
    let (run, token) = astronaut_frames_token(12, "token-figures=false");
    let claims = verify_hs256(&token, KEY).expect("verifies");
    for pointer in ["/details/ags", "/details/liveness/score", "/surfaceScore"] {
        assert!(claims.pointer(pointer).is_some_and(Value::is_null), "{pointer}: {claims}");
    }
    assert_eq!(claims["isOk"], full["isOk"], "the same decision");
    let figures: Value =
        serde_json::from_str(&token_message(&run).get::<String>("figures").expect("the figures")).expect("JSON");
    let close = |a: &Value, b: &Value| a.as_f64().zip(b.as_f64()).is_some_and(|(a, b)| (a - b).abs() < 1e-6);
    assert!(close(&figures["livenessScore"], &full["details"]["liveness"]["score"]), "{figures}");
    assert!(close(&figures["ags"], &full["details"]["ags"]), "{figures}");
}
