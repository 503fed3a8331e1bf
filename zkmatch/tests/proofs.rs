//! Proofs made, verified, carried through snarkjs's JSON and tampered with.

use std::sync::OnceLock;

use zkmatch::{Blinding, DIM, Descriptor, Fr, Keys, Statement, prove, snarkjs, verify};

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys::setup().expect("set-up"))
}

/// Two descriptors about `cos` apart: a shared direction and an own one.
fn pair(cos: f32) -> (Descriptor, Descriptor) {
    let base: Vec<f32> = (0..DIM).map(|i| ((i * 7919) % 101) as f32 / 101.0 - 0.5).collect();
    let other: Vec<f32> = (0..DIM).map(|i| ((i * 104729) % 97) as f32 / 97.0 - 0.5).collect();
    let mixed: Vec<f32> = base.iter().zip(&other).map(|(b, o)| cos * b + (1.0 - cos * cos).sqrt() * o).collect();
    (Descriptor::quantise(&base).unwrap(), Descriptor::quantise(&mixed).unwrap())
}

#[test]
fn a_proof_verifies_for_its_statement_only() {
    let (a, b) = pair(0.7);
    let (ra, rb) = (Blinding::random(), Blinding::random());
    let threshold = 58;
    let (proof, statement) = prove(keys(), (&a, &ra), (&b, &rb), threshold).unwrap();
    assert!(statement.is_match, "similarity {}", a.similarity(&b));
    assert_eq!(statement.id_commitment, a.commit(&ra));
    assert!(verify(keys(), &statement, &proof));

    let flipped = Statement { is_match: false, ..statement };
    let lower = Statement { threshold: 20, ..statement };
    let other_id = Statement { id_commitment: a.commit(&Blinding::random()), ..statement };
    let other_selfie = Statement { selfie_commitment: b.commit(&Blinding::random()), ..statement };
    for changed in [flipped, lower, other_id, other_selfie] {
        assert!(!verify(keys(), &changed, &proof), "{changed:?}");
    }
}

#[test]
fn two_far_descriptors_prove_no_match() {
    let (a, b) = pair(0.3);
    let (proof, statement) = prove(keys(), (&a, &Blinding::random()), (&b, &Blinding::random()), 58).unwrap();
    assert!(!statement.is_match);
    assert!(verify(keys(), &statement, &proof));
    assert!(!verify(keys(), &Statement { is_match: true, ..statement }, &proof));
}

#[test]
fn snarkjs_json_round_trips_and_refuses_what_is_not_a_proof() {
    let (a, b) = pair(0.8);
    let (proof, statement) = prove(keys(), (&a, &Blinding::random()), (&b, &Blinding::random()), 60).unwrap();
    let json = snarkjs::proof(&proof);
    assert_eq!(snarkjs::parse_proof(&json, "proof").unwrap(), proof);
    let signals = serde_json::json!(snarkjs::public_signals(&statement));
    let inputs = snarkjs::parse_public_signals(&signals, "publicSignals").unwrap();
    assert_eq!(Statement::from_public_inputs(&inputs), Some(statement));
    assert_eq!(snarkjs::public_signals(&statement)[2..], ["60".to_string(), "1".to_string()]);

    let mut off_curve = json.clone();
    off_curve["pi_a"][1] = serde_json::json!("5");
    assert_eq!(snarkjs::parse_proof(&off_curve, "proof").unwrap_err().field, "proof.pi_a");
    let mut big = json.clone();
    big["pi_c"][0] = serde_json::json!("9".repeat(78));
    assert_eq!(snarkjs::parse_proof(&big, "proof").unwrap_err().field, "proof.pi_c[0]");
    let mut g2 = json.clone();
    g2["pi_b"][0][0] = serde_json::json!("1");
    assert_eq!(snarkjs::parse_proof(&g2, "proof").unwrap_err().field, "proof.pi_b");
    let mut curve = json.clone();
    curve["curve"] = serde_json::json!("bls12381");
    assert_eq!(snarkjs::parse_proof(&curve, "proof").unwrap_err().field, "proof.curve");
    let r = "21888242871839275222246405745257275088548364400416034343698204186575808495617";
    let too_big = serde_json::json!([r, "1", "60", "1"]);
    assert_eq!(snarkjs::parse_public_signals(&too_big, "publicSignals").unwrap_err().field, "publicSignals[0]");
    let bit_two = [Fr::from(1u64), Fr::from(2u64), Fr::from(60u64), Fr::from(2u64)];
    assert_eq!(Statement::from_public_inputs(&bit_two), None);
}

#[test]
fn keys_written_are_read_back_under_the_same_name() {
    let dir = std::env::temp_dir().join(format!("zkmatch-keys-{}", std::process::id()));
    keys().write(&dir).unwrap();
    let read = Keys::read(&dir).unwrap();
    assert_eq!(read.id(), keys().id());
    assert_eq!(read.id().len(), 16);
    let sol = std::fs::read_to_string(dir.join(zkmatch::SOLIDITY_FILE)).unwrap();
    assert!(sol.contains("function verifyProof"));
    std::fs::write(dir.join(zkmatch::VERIFYING_KEY_FILE), b"not a key").unwrap();
    assert!(matches!(Keys::read(&dir), Err(zkmatch::KeyError::Format { .. })));
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(matches!(Keys::read(&dir), Err(zkmatch::KeyError::Io { .. })));
}
