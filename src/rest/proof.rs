//! `POST /face-match-proof` and `POST /face-match-proof/verify`: face matching with a Groth16
//! proof ([`zkmatch`]) that a relying party or a contract verifies without seeing either face.
//!
//! A proof shows that the descriptors behind two Poseidon commitments (the ID photo's and the
//! selfie's, each with a random blinding) have a cosine similarity at or above a threshold
//! exactly when its result bit is 1. The answer gives the blindings to the caller: with the ID
//! image's blinding (`idBlinding`) a later request commits to the same document photo under
//! the same commitment, which a verifier kept from enrolment. The server keeps neither the
//! descriptors nor the blindings.

use std::time::Instant;

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use zkmatch::{Blinding, Descriptor, Keys, Statement, snarkjs, solidity};

use super::{Request, RestError, detect_chain, internal, round, run_one};
use crate::App;
use crate::errors::{ErrorCode, Finding};
use gstliveness::embedding::{Embedder, Embedding};

/// A value for the ID image and one for the selfie.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ImagePair {
    pub(crate) id_image: String,
    pub(crate) selfie_image: String,
}

/// A Groth16 proof in snarkjs's JSON: points as decimal strings, `z` = 1.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)]
pub(crate) struct SnarkjsProof {
    /// G1: `[x, y, "1"]`.
    pi_a: Vec<String>,
    /// G2: `[[x.c0, x.c1], [y.c0, y.c1], ["1", "0"]]`.
    pi_b: Vec<Vec<String>>,
    /// G1: `[x, y, "1"]`.
    pi_c: Vec<String>,
    /// `groth16`.
    protocol: String,
    /// `bn128`.
    curve: String,
}

/// `/face-match-proof`: the face match and its proof.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FaceMatchProofBody {
    /// The descriptors' cosine similarity (unquantised) reaches `proofThreshold`.
    pub(crate) matched: bool,
    /// Cosine similarity of the two faces' descriptors, floored at 0.
    pub(crate) confidence: f64,
    #[schema(value_type = SnarkjsProof)]
    pub(crate) proof: Value,
    /// Decimal strings: ID commitment, selfie commitment, threshold in hundredths, result bit.
    pub(crate) public_signals: Vec<String>,
    /// What the proof shows: the quantised descriptors reach the threshold. It can differ from
    /// `matched` only within about 0.001 of the threshold.
    pub(crate) proof_is_match: bool,
    pub(crate) proof_threshold: f64,
    pub(crate) proof_generation_time_ms: f64,
    /// The arguments of `verifyProof` of the verifying key's Solidity contract.
    pub(crate) solidity_calldata: String,
    /// The Poseidon commitments, decimal (the public signals' first two).
    pub(crate) commitments: ImagePair,
    /// The blindings of the commitments, decimal: secret to the caller, who may pass
    /// `idBlinding` again to commit to the same ID photo.
    pub(crate) blindings: ImagePair,
    /// The keys the proof was made with (`/face-match-proof/verify`'s `verifyingKeyId`).
    pub(crate) verifying_key_id: String,
}

/// `/face-match-proof/verify`: whether a proof shows its public signals under the server's key.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProofCheckBody {
    pub(crate) valid: bool,
    /// The result bit of a valid proof; null when `valid` is false.
    pub(crate) proof_is_match: Option<bool>,
    /// The threshold of a valid proof; null when `valid` is false.
    pub(crate) proof_threshold: Option<f64>,
    pub(crate) verifying_key_id: String,
}

fn keys(app: &App) -> Result<&Keys, RestError> {
    app.zk.keys().map(|k| k.as_ref()).ok_or_else(|| {
        RestError::new(ErrorCode::ZkUnavailable, "this server has no face-match proof keys: ZK_KEYS_DIR is not set")
    })
}

/// The main face's descriptor of the image in `field`.
fn descriptor(embedder: &Embedder, request: &Request, field: &str) -> Result<Embedding, RestError> {
    let frame = run_one(request.image(field)?, &detect_chain())?;
    let (check, face) = frame.checked();
    if check.errors.contains(&Finding::SeveralFaces) {
        return Err(RestError::field(ErrorCode::SeveralFacesFound, field, format!("{field} shows several faces")));
    }
    let face =
        face.ok_or_else(|| RestError::field(ErrorCode::FaceNotFound, field, format!("{field} shows no face")))?;
    super::embed(embedder, &frame, face)
}

/// An optional blinding: a decimal string below the scalar field's modulus; a fresh one when
/// absent.
fn blinding(request: &Request, field: &str) -> Result<Blinding, RestError> {
    match request.map.get(field) {
        None | Some(Value::Null) => Ok(Blinding::random()),
        Some(value) => snarkjs::parse_scalar(value, field)
            .map(Blinding)
            .map_err(|err| RestError::field(ErrorCode::InvalidField, field, err.to_string())),
    }
}

pub(super) fn face_match_proof(app: &App, request: &Request) -> Result<FaceMatchProofBody, RestError> {
    let keys = keys(app)?;
    let min = request.number("minConfidence", super::same_person_similarity(), 0.0..=1.0)?;
    let threshold = (min * zkmatch::THRESHOLD_SCALE as f64).round() as u32;
    let (id_blinding, selfie_blinding) = (blinding(request, "idBlinding")?, blinding(request, "selfieBlinding")?);
    let embedder = Embedder::load().map_err(internal)?;
    let id = descriptor(&embedder, request, "idImage")?;
    let selfie = descriptor(&embedder, request, "selfieImage")?;
    let quantised =
        |e: &Embedding| Descriptor::quantise(e.values()).ok_or_else(|| internal("an empty face descriptor"));
    let (id_q, selfie_q) = (quantised(&id)?, quantised(&selfie)?);
    let Some(_place) = app.zk.place(crate::zk::PROOF_WAIT) else {
        return Err(RestError::new(ErrorCode::Busy, "every proof place is busy"));
    };
    let started = Instant::now();
    let (proof, statement) =
        zkmatch::prove(keys, (&id_q, &id_blinding), (&selfie_q, &selfie_blinding), threshold).map_err(internal)?;
    let proof_generation_time_ms = super::elapsed_ms(started);
    let confidence = id.similarity(&selfie).max(0.0);
    let proof_threshold = threshold as f64 / zkmatch::THRESHOLD_SCALE as f64;
    Ok(FaceMatchProofBody {
        matched: confidence as f64 >= proof_threshold,
        confidence: round(confidence, 4),
        proof: snarkjs::proof(&proof),
        public_signals: snarkjs::public_signals(&statement),
        proof_is_match: statement.is_match,
        proof_threshold,
        proof_generation_time_ms,
        solidity_calldata: solidity::calldata(&proof, &statement),
        commitments: ImagePair {
            id_image: snarkjs::scalar(&statement.id_commitment),
            selfie_image: snarkjs::scalar(&statement.selfie_commitment),
        },
        blindings: ImagePair {
            id_image: snarkjs::scalar(&id_blinding.0),
            selfie_image: snarkjs::scalar(&selfie_blinding.0),
        },
        verifying_key_id: keys.id().to_string(),
    })
}

pub(super) fn verify(app: &App, request: &Request) -> Result<ProofCheckBody, RestError> {
    let keys = keys(app)?;
    if let Some(id) = request.map.get("verifyingKeyId").filter(|v| !v.is_null())
        && id.as_str() != Some(keys.id())
    {
        return Err(RestError::field(
            ErrorCode::UnknownVerifyingKey,
            "verifyingKeyId",
            format!("this server's verifying key is {}", keys.id()),
        ));
    }
    let field = |name: &str| {
        request
            .map
            .get(name)
            .filter(|v| !v.is_null())
            .ok_or_else(|| RestError::field(ErrorCode::MissingField, name, format!("{name} is required")))
    };
    let invalid =
        |err: snarkjs::FormatError| RestError::field(ErrorCode::InvalidProof, &err.field.clone(), err.to_string());
    let proof = snarkjs::parse_proof(field("proof")?, "proof").map_err(invalid)?;
    let signals = snarkjs::parse_public_signals(field("publicSignals")?, "publicSignals").map_err(invalid)?;
    let statement = Statement::from_public_inputs(&signals).filter(|s| zkmatch::verify(keys, s, &proof));
    Ok(ProofCheckBody {
        valid: statement.is_some(),
        proof_is_match: statement.map(|s| s.is_match),
        proof_threshold: statement.map(|s| s.threshold as f64 / zkmatch::THRESHOLD_SCALE as f64),
        verifying_key_id: keys.id().to_string(),
    })
}
