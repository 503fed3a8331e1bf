//! The circuit's Groth16 keys: made once by [`Keys::setup`], written to a directory with their
//! snarkjs and Solidity exports, read back by the server.

use std::fs;
use std::path::{Path, PathBuf};

use ark_bn254::Bn254;
use ark_groth16::{Groth16, PreparedVerifyingKey, ProvingKey};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use ark_snark::SNARK;
use sha2::{Digest, Sha256};

use crate::circuit::MatchCircuit;
use crate::{VerifyingKey, snarkjs, solidity};

/// The proving key (arkworks' uncompressed encoding).
pub const PROVING_KEY_FILE: &str = "proving.key";
/// The verifying key (arkworks' compressed encoding); its SHA-256 names the keys.
pub const VERIFYING_KEY_FILE: &str = "verifying.key";
/// The verifying key in snarkjs's JSON (`snarkjs groth16 verify verification_key.json ...`).
pub const SNARKJS_KEY_FILE: &str = "verification_key.json";
/// The verifying key as a Solidity contract.
pub const SOLIDITY_FILE: &str = "FaceMatchVerifier.sol";

/// Why keys could not be made, written or read.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a key of this circuit ({detail})")]
    Format { path: PathBuf, detail: String },
    #[error("{0} and {1} are not one key pair")]
    Mismatch(PathBuf, PathBuf),
    #[error("the set-up failed: {0}")]
    Setup(#[from] ark_relations::r1cs::SynthesisError),
}

/// A proving key and its verifying key.
pub struct Keys {
    proving: ProvingKey<Bn254>,
    prepared: PreparedVerifyingKey<Bn254>,
    id: String,
}

impl Keys {
    /// A fresh single-party set-up from the operating system's randomness. Whoever ran it could
    /// forge proofs with its toxic waste, dropped here when the function returns.
    pub fn setup() -> Result<Keys, KeyError> {
        let mut rng = ark_std::rand::rngs::OsRng;
        let (proving, _) = Groth16::<Bn254>::circuit_specific_setup(MatchCircuit::blank(), &mut rng)?;
        Ok(Keys::from_proving(proving))
    }

    fn from_proving(proving: ProvingKey<Bn254>) -> Keys {
        let prepared = ark_groth16::prepare_verifying_key(&proving.vk);
        let id = key_id(&proving.vk);
        Keys { proving, prepared, id }
    }

    pub fn proving(&self) -> &ProvingKey<Bn254> {
        &self.proving
    }

    pub fn prepared(&self) -> &PreparedVerifyingKey<Bn254> {
        &self.prepared
    }

    pub fn verifying(&self) -> &VerifyingKey {
        &self.proving.vk
    }

    /// The keys' name: the first 16 hex digits of the verifying key's SHA-256.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Writes the four files into `dir` (made if missing).
    pub fn write(&self, dir: &Path) -> Result<(), KeyError> {
        fs::create_dir_all(dir).map_err(|source| KeyError::Io { path: dir.to_path_buf(), source })?;
        let mut proving = Vec::new();
        let mut verifying = Vec::new();
        let format =
            |e: ark_serialize::SerializationError| KeyError::Format { path: dir.to_path_buf(), detail: e.to_string() };
        self.proving.serialize_uncompressed(&mut proving).map_err(format)?;
        self.proving.vk.serialize_compressed(&mut verifying).map_err(format)?;
        let json = serde_json::to_string_pretty(&snarkjs::verifying_key(&self.proving.vk)).unwrap_or_default();
        for (file, bytes) in [
            (PROVING_KEY_FILE, proving),
            (VERIFYING_KEY_FILE, verifying),
            (SNARKJS_KEY_FILE, json.into_bytes()),
            (SOLIDITY_FILE, solidity::verifier(&self.proving.vk).into_bytes()),
        ] {
            let path = dir.join(file);
            fs::write(&path, bytes).map_err(|source| KeyError::Io { path, source })?;
        }
        Ok(())
    }

    /// Reads the keys `write` left in `dir`: the proving key as written (a file the operator
    /// trusts), the verifying key checked point by point, and the two compared.
    pub fn read(dir: &Path) -> Result<Keys, KeyError> {
        let read = |file: &str| {
            let path = dir.join(file);
            fs::read(&path).map(|bytes| (bytes, path.clone())).map_err(|source| KeyError::Io { path, source })
        };
        let (proving, proving_path) = read(PROVING_KEY_FILE)?;
        let (verifying, verifying_path) = read(VERIFYING_KEY_FILE)?;
        let proving = ProvingKey::<Bn254>::deserialize_with_mode(&proving[..], Compress::No, Validate::No)
            .map_err(|e| KeyError::Format { path: proving_path.clone(), detail: e.to_string() })?;
        let verifying = VerifyingKey::deserialize_compressed(&verifying[..])
            .map_err(|e| KeyError::Format { path: verifying_path.clone(), detail: e.to_string() })?;
        if verifying != proving.vk || verifying.gamma_abc_g1.len() != crate::PUBLIC_SIGNALS + 1 {
            return Err(KeyError::Mismatch(proving_path, verifying_path));
        }
        Ok(Keys::from_proving(proving))
    }
}

fn key_id(vk: &VerifyingKey) -> String {
    let mut bytes = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = vk.serialize_compressed(&mut bytes);
    Sha256::digest(&bytes).iter().take(8).map(|b| format!("{b:02x}")).collect()
}
