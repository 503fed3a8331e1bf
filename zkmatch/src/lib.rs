//! Zero-knowledge proofs that two face descriptors match.
//!
//! A prover holding two face descriptors (FaceRes, 1024 values each) proves with Groth16 on
//! BN254 that their cosine similarity is at or above a public threshold exactly when a public
//! bit says so, revealing only a commitment to each descriptor. A verifier that kept the
//! commitment of an enrolled document photo checks a later selfie's proof against it without
//! seeing either face.
//!
//! - [`Descriptor`]: a descriptor quantised to [`BITS`]-bit fixed point (cosine similarity is
//!   scale-free, so each descriptor is scaled by its own largest value); [`Descriptor::commit`]
//!   is a Poseidon hash of its packed values and a random [`Blinding`].
//! - [`circuit`]: the statement as R1CS. Public signals, in order: the ID commitment, the
//!   selfie commitment, the threshold in hundredths and the result bit ([`Statement`]).
//!   "cosine >= t" is checked without division or roots as `dot >= 0` and
//!   `100^2 dot^2 >= t^2 |a|^2 |b|^2`.
//! - [`Keys`]: the circuit-specific Groth16 set-up, written to and read from a directory. A
//!   set-up by one party is trusted by everyone who uses its keys: a production deployment
//!   replaces it with a multi-party ceremony.
//! - [`snarkjs`]: proofs, public signals and verifying keys in snarkjs's JSON, so that
//!   `snarkjs groth16 verify` checks them; [`solidity`]: the verifying key as a Solidity
//!   contract and a proof as the argument list of its `verifyProof`.

pub mod circuit;
mod descriptor;
mod keys;
pub mod snarkjs;
pub mod solidity;

pub use ark_bn254::Fr;
pub use descriptor::{Blinding, Descriptor, poseidon_config};
pub use keys::{KeyError, Keys, PROVING_KEY_FILE, SNARKJS_KEY_FILE, SOLIDITY_FILE, VERIFYING_KEY_FILE};

use ark_bn254::Bn254;
use ark_ff::PrimeField;
use ark_groth16::Groth16;
use ark_snark::SNARK;

/// Values of one descriptor.
pub const DIM: usize = 1024;
/// Bits of one quantised value: values lie in `-QMAX..=QMAX`.
pub const BITS: usize = 8;
/// The largest quantised magnitude.
pub const QMAX: i32 = (1 << (BITS - 1)) - 1;
/// The threshold's unit: hundredths of cosine similarity (0.58 is 58, seed 001's `"60"`).
pub const THRESHOLD_SCALE: u32 = 100;
/// Number of public signals.
pub const PUBLIC_SIGNALS: usize = 4;

/// What a proof says: two commitments, a threshold and whether the committed descriptors'
/// cosine similarity reaches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Statement {
    pub id_commitment: Fr,
    pub selfie_commitment: Fr,
    /// Hundredths of cosine similarity, 0..=100.
    pub threshold: u32,
    pub is_match: bool,
}

impl Statement {
    /// The public inputs in the circuit's order.
    pub fn public_inputs(&self) -> [Fr; PUBLIC_SIGNALS] {
        [self.id_commitment, self.selfie_commitment, Fr::from(self.threshold), Fr::from(self.is_match)]
    }

    /// From public inputs in the circuit's order; None when the threshold or the bit is out of
    /// range (no proof can show such a statement).
    pub fn from_public_inputs(inputs: &[Fr; PUBLIC_SIGNALS]) -> Option<Statement> {
        let small = |f: &Fr| -> Option<u64> {
            let limbs = f.into_bigint().0;
            limbs[1..].iter().all(|l| *l == 0).then_some(limbs[0])
        };
        let threshold = small(&inputs[2]).filter(|t| *t <= THRESHOLD_SCALE as u64)? as u32;
        let is_match = match small(&inputs[3])? {
            0 => false,
            1 => true,
            _ => return None,
        };
        Some(Statement { id_commitment: inputs[0], selfie_commitment: inputs[1], threshold, is_match })
    }
}

/// Why a proof could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    #[error("the threshold {0} is above {THRESHOLD_SCALE} hundredths")]
    Threshold(u32),
    #[error("the proof could not be made: {0}")]
    Synthesis(#[from] ark_relations::r1cs::SynthesisError),
}

/// A Groth16 proof over BN254.
pub type Proof = ark_groth16::Proof<Bn254>;
/// A Groth16 verifying key over BN254.
pub type VerifyingKey = ark_groth16::VerifyingKey<Bn254>;

/// Proves that `id` and `selfie`, committed with their blindings, have a cosine similarity at or
/// above `threshold` hundredths, or not: the statement says which.
pub fn prove(
    keys: &Keys,
    id: (&Descriptor, &Blinding),
    selfie: (&Descriptor, &Blinding),
    threshold: u32,
) -> Result<(Proof, Statement), ProveError> {
    if threshold > THRESHOLD_SCALE {
        return Err(ProveError::Threshold(threshold));
    }
    let circuit = circuit::MatchCircuit::new(id, selfie, threshold);
    let statement = circuit.statement();
    let mut rng = ark_std::rand::rngs::OsRng;
    let proof = Groth16::<Bn254>::prove(keys.proving(), circuit, &mut rng)?;
    Ok((proof, statement))
}

/// Whether `proof` shows `statement` under `keys`' verifying key.
pub fn verify(keys: &Keys, statement: &Statement, proof: &Proof) -> bool {
    Groth16::<Bn254>::verify_with_processed_vk(keys.prepared(), &statement.public_inputs(), proof).unwrap_or(false)
}
