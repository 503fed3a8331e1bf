//! `POST /face-match-proof` and `/face-match-proof/verify` on the face-matching photos: proofs
//! made with the keys of `lpserver zk-setup`, checked by the server, by snarkjs and by the
//! exported Solidity contract in an EVM (tests/zk/check.cjs, packages of `make zk-checkers`),
//! and every bad input answered with its code.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{Value, json};

use common::{b64, fixture, photo, post_json, root, scratch, start};

/// Keys written once by the `lpserver zk-setup` command.
fn keys_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = scratch("zk-keys");
        let _ = std::fs::remove_dir_all(&dir);
        let out = Command::new(env!("CARGO_BIN_EXE_lpserver")).args(["zk-setup", "--out"]).arg(&dir).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("written to"));
        dir
    })
}

async fn start_with_keys() -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    start(&[("ZK_KEYS_DIR", keys_dir().to_str().unwrap())]).await
}

fn pair(id: &str, selfie: &str) -> Value {
    json!({"idImage": photo(id), "selfieImage": photo(selfie)})
}

/// Runs the npm checkers on an answer of `/face-match-proof`: (case, snarkjs, evm) for the
/// untouched proof and for each change.
fn independent_checks(answer: &Value) -> Vec<(String, Value, Value)> {
    let read = |name: &str| std::fs::read_to_string(keys_dir().join(name)).unwrap();
    let input = json!({
        "verificationKey": serde_json::from_str::<Value>(&read(zkmatch::SNARKJS_KEY_FILE)).unwrap(),
        "proof": answer["proof"],
        "publicSignals": answer["publicSignals"],
        "solidity": read(zkmatch::SOLIDITY_FILE),
        "solidityCalldata": answer["solidityCalldata"],
    });
    let file = scratch("zk-check").join("input.json");
    std::fs::write(&file, input.to_string()).unwrap();
    let out = Command::new("node")
        .arg(root().join("tests/zk/check.cjs"))
        .arg(root().join(".cache/zk/node_modules"))
        .arg(&file)
        .output()
        .expect("node runs");
    assert!(out.status.success(), "run make zk-checkers: {}", String::from_utf8_lossy(&out.stderr));
    let out: Value = serde_json::from_slice(&out.stdout).unwrap();
    out["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].to_string(), c["snarkjs"].clone(), c["evm"].clone()))
        .collect()
}

async fn check(address: std::net::SocketAddr, proof: &Value, signals: &Value) -> Value {
    let (status, v) =
        post_json(address, "/face-match-proof/verify", &json!({"proof": proof, "publicSignals": signals})).await;
    assert_eq!(status, 200, "{v}");
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_person_proves_a_match_two_people_none_and_every_verifier_agrees() {
    let (address, _stop) = start_with_keys().await;
    let (status, same) = post_json(address, "/face-match-proof", &pair("obama.jpg", "obama3.jpg")).await;
    assert_eq!(status, 200, "{same}");
    assert_eq!((same["matched"].as_bool(), same["proofIsMatch"].as_bool()), (Some(true), Some(true)), "{same}");
    assert_eq!(same["proofThreshold"], 0.61);
    assert_eq!(same["publicSignals"].as_array().unwrap()[2..], [json!("61"), json!("1")]);
    assert_eq!(same["publicSignals"][0], same["commitments"]["idImage"]);
    assert_eq!(same["proof"]["protocol"], "groth16");
    assert!(same["proofGenerationTimeMs"].as_f64().unwrap() > 0.0);

    let (_, other) = post_json(address, "/face-match-proof", &pair("obama.jpg", "biden.jpg")).await;
    assert_eq!((other["matched"].as_bool(), other["proofIsMatch"].as_bool()), (Some(false), Some(false)), "{other}");
    assert_eq!(other["publicSignals"][3], "0");

    let v = check(address, &same["proof"], &same["publicSignals"]).await;
    assert_eq!((v["valid"].as_bool(), v["proofIsMatch"].as_bool()), (Some(true), Some(true)), "{v}");
    assert_eq!(v["verifyingKeyId"], same["verifyingKeyId"]);
    let v = check(address, &other["proof"], &other["publicSignals"]).await;
    assert_eq!((v["valid"].as_bool(), v["proofIsMatch"].as_bool()), (Some(true), Some(false)), "{v}");
    // The no-match proof does not pass for a match, nor a changed threshold for the proof's.
    for (index, value) in [(3, "1"), (2, "30")] {
        let mut signals = other["publicSignals"].clone();
        signals[index] = json!(value);
        assert_eq!(check(address, &other["proof"], &signals).await["valid"], false, "{signals}");
    }

    let cases = independent_checks(&same);
    assert_eq!((&cases[0].1, &cases[0].2), (&json!(true), &json!(true)), "{cases:?}");
    assert_eq!(cases.len(), 8);
    for (name, by_snarkjs, by_evm) in &cases[1..] {
        assert_eq!((by_snarkjs, by_evm), (&json!(false), &json!(false)), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proof_binds_its_commitments_and_a_kept_blinding_commits_to_the_same_photo() {
    let (address, _stop) = start_with_keys().await;
    let (_, first) = post_json(address, "/face-match-proof", &pair("obama.jpg", "obama3.jpg")).await;
    let blinding = first["blindings"]["idImage"].clone();
    let mut again = pair("obama.jpg", "obama2.jpg");
    again["idBlinding"] = blinding;
    let (status, second) = post_json(address, "/face-match-proof", &again).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["commitments"]["idImage"], first["commitments"]["idImage"], "the enrolled photo's commitment");
    assert_ne!(second["commitments"]["selfieImage"], first["commitments"]["selfieImage"]);
    assert_eq!(check(address, &second["proof"], &second["publicSignals"]).await["valid"], true);

    // Without the blinding the same photo commits to another value, and a proof made for one
    // commitment does not verify against another.
    let (_, fresh) = post_json(address, "/face-match-proof", &pair("obama.jpg", "obama3.jpg")).await;
    assert_ne!(fresh["commitments"]["idImage"], first["commitments"]["idImage"]);
    let mut signals = first["publicSignals"].clone();
    signals[0] = fresh["commitments"]["idImage"].clone();
    assert_eq!(check(address, &first["proof"], &signals).await["valid"], false);
    signals = first["publicSignals"].clone();
    signals[1] = second["commitments"]["selfieImage"].clone();
    assert_eq!(check(address, &first["proof"], &signals).await["valid"], false);
}

/// The public-domain astronaut twice side by side: two faces, both clearly people. (The White
/// House photographs are never edited: their captions ask that they not be manipulated.)
fn two_faces() -> String {
    let photo = image::open(root().join("tests/fixtures/astronaut.png")).unwrap().to_rgb8();
    // The demo clip's square around her face (the face 30 % of it).
    let astronaut = image::imageops::crop_imm(&photo, 65, 0, 320, 320).to_image();
    let mut canvas = image::RgbImage::new(astronaut.width() * 2, astronaut.height());
    image::imageops::replace(&mut canvas, &astronaut, 0, 0);
    image::imageops::replace(&mut canvas, &astronaut, astronaut.width() as i64, 0);
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90).encode_image(&canvas).unwrap();
    b64(&jpeg)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_images_proofs_and_keys_get_their_codes() {
    let (address, _stop) = start_with_keys().await;
    let (_, good) = post_json(address, "/face-match-proof", &pair("obama.jpg", "obama3.jpg")).await;
    let obama = photo("obama.jpg");
    let cases = [
        ("/face-match-proof", json!({"idImage": fixture("coffee.png"), "selfieImage": obama}), 1040, "idImage"),
        ("/face-match-proof", json!({"idImage": obama, "selfieImage": two_faces()}), 1041, "selfieImage"),
        ("/face-match-proof", json!({"idImage": obama, "selfieImage": obama, "idBlinding": "x1"}), 1019, "idBlinding"),
        ("/face-match-proof/verify", json!({"publicSignals": good["publicSignals"]}), 1018, "proof"),
        (
            "/face-match-proof/verify",
            json!({"proof": good["proof"], "publicSignals": ["1", "2"]}),
            1043,
            "publicSignals",
        ),
        (
            "/face-match-proof/verify",
            json!({"proof": {"pi_a": []}, "publicSignals": good["publicSignals"]}),
            1043,
            "proof.protocol",
        ),
        (
            "/face-match-proof/verify",
            json!({"proof": good["proof"], "publicSignals": good["publicSignals"], "verifyingKeyId": "0123456789abcdef"}),
            1044,
            "verifyingKeyId",
        ),
    ];
    for (path, body, code, field) in cases {
        let (status, v) = post_json(address, path, &body).await;
        assert_eq!((status, v["code"].as_u64(), v["field"].as_str()), (400, Some(code), Some(field)), "{path}: {v}");
    }
    // A proof to check is small: its body is bounded at 64 KiB, read no further.
    let padded = json!({"proof": good["proof"], "publicSignals": good["publicSignals"], "note": "x".repeat(65536)});
    let (status, v) = post_json(address, "/face-match-proof/verify", &padded).await;
    assert_eq!((status, v["error"].as_str()), (413, Some("body-too-large")), "{v}");
    let mut off_curve = good["proof"].clone();
    off_curve["pi_a"][0] = json!("7");
    let (status, v) = post_json(
        address,
        "/face-match-proof/verify",
        &json!({"proof": off_curve, "publicSignals": good["publicSignals"]}),
    )
    .await;
    assert_eq!(
        (status, v["error"].as_str(), v["field"].as_str()),
        (400, Some("invalid-proof"), Some("proof.pi_a")),
        "{v}"
    );

    // A server without keys answers 501 on both; one given a directory without keys does not start.
    let (plain, _stop_plain) = start(&[]).await;
    let verify_body = json!({"proof": good["proof"], "publicSignals": good["publicSignals"]});
    for (path, body) in
        [("/face-match-proof", pair("obama.jpg", "obama3.jpg")), ("/face-match-proof/verify", verify_body)]
    {
        let (status, v) = post_json(plain, path, &body).await;
        assert_eq!((status, v["error"].as_str()), (501, Some("zk-unavailable")), "{v}");
    }
    let missing = scratch("zk-keys-missing");
    let out = Command::new(env!("CARGO_BIN_EXE_lpserver"))
        .env("LIVENESS_JWT_SECRET", "k".repeat(40))
        .env("OPEN_SESSIONS", "1")
        .env("ZK_KEYS_DIR", &missing)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("ZK_KEYS_DIR") && stderr.contains("proving.key") && stderr.contains("zk-setup"),
        "{stderr}"
    );
    // zk-setup does not overwrite keys.
    let out =
        Command::new(env!("CARGO_BIN_EXE_lpserver")).args(["zk-setup", "--out"]).arg(keys_dir()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// A small deterministic generator for the fuzz test.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Replaces one value somewhere in `value` with something else.
fn mutate(value: &mut Value, rng: &mut Lcg) {
    let replacements = [
        json!(null),
        json!(0),
        json!(-1),
        json!(1.5),
        json!(""),
        json!("0"),
        json!("1"),
        json!("-5"),
        json!("9".repeat(100)),
        json!("0x10"),
        json!(" 12"),
        json!([]),
        json!({}),
        json!([["1"]]),
        json!(true),
        json!("21888242871839275222246405745257275088696311157297823662689037894645226208583"),
    ];
    // A JSON pointer to a random node, descending two times in three.
    let mut pointer = String::new();
    let mut node = &*value;
    while rng.below(3) != 0 {
        let (key, child) = match node {
            Value::Object(map) if !map.is_empty() => {
                let (key, child) = map.iter().nth(rng.below(map.len())).unwrap();
                (key.clone(), child)
            }
            Value::Array(items) if !items.is_empty() => {
                let i = rng.below(items.len());
                (i.to_string(), &items[i])
            }
            _ => break,
        };
        pointer = format!("{pointer}/{key}");
        node = child;
    }
    let node = value.pointer_mut(&pointer).unwrap();
    *node = replacements[rng.below(replacements.len())].clone();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verify_endpoint_answers_every_mangled_body_with_a_code() {
    let (address, _stop) = start_with_keys().await;
    let (_, good) = post_json(address, "/face-match-proof", &pair("obama.jpg", "obama3.jpg")).await;
    let body = json!({"proof": good["proof"], "publicSignals": good["publicSignals"], "verifyingKeyId": good["verifyingKeyId"]});
    let text = body.to_string();
    let mut rng = Lcg(38);
    let (mut valid, mut refused) = (0, 0);
    for round in 0..400 {
        let bytes = if round % 5 == 4 {
            // Cut or spliced text: not JSON, or JSON of another shape.
            let cut = rng.below(text.len());
            text.as_bytes()[..cut].to_vec()
        } else {
            let mut mangled = body.clone();
            for _ in 0..=rng.below(3) {
                mutate(&mut mangled, &mut rng);
            }
            mangled.to_string().into_bytes()
        };
        let (status, answer) = common::http(address, "POST", "/face-match-proof/verify", &bytes).await;
        let answer: Value = serde_json::from_slice(&answer).unwrap_or_else(|_| panic!("round {round}: not JSON"));
        match status {
            200 => {
                assert!(answer["valid"].is_boolean(), "{answer}");
                valid += answer["valid"].as_bool().unwrap() as usize;
            }
            400 => {
                let code = answer["error"].as_str().unwrap_or_default();
                assert!(
                    ["invalid-json", "missing-field", "invalid-proof", "unknown-verifying-key"].contains(&code),
                    "round {round}: {answer}"
                );
                refused += 1;
            }
            _ => panic!("round {round}: status {status}: {answer}"),
        }
    }
    // Almost every change is refused or fails to verify; the server still answers.
    assert!(refused > 200 && valid < 40, "refused {refused}, valid {valid}");
    assert_eq!(check(address, &good["proof"], &good["publicSignals"]).await["valid"], true);
}
