//! Face-match proofs ([`zkmatch`]): the keys the server proves and verifies with, read from
//! `ZK_KEYS_DIR` at start, the bound on proofs made at once, and `lpserver zk-setup`, which
//! writes the keys.
//!
//! `zk-setup` is a single-party set-up: whoever runs it holds, for as long as the process
//! lives, the randomness that could forge proofs under its keys. The process drops it when it
//! ends; a deployment whose verifiers must not trust the operator replaces it with a multi-party
//! ceremony (a Groth16 phase-2 ceremony over this circuit), whose keys, in arkworks' encoding,
//! take the place of these in the directory.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use zkmatch::Keys;

use crate::gate::{AnalysisGate, GatePass};

/// How long a request waits for a proof place before it gets `busy`.
pub const PROOF_WAIT: Duration = Duration::from_secs(10);

/// The keys and the proof places: one proof at a time a core.
pub struct Prover {
    keys: Option<Arc<Keys>>,
    places: AnalysisGate,
}

impl Prover {
    /// Reads the keys in `dir`; without a directory the proof endpoints answer
    /// `zk-unavailable`.
    pub fn load(dir: Option<&Path>) -> Result<Prover, zkmatch::KeyError> {
        let keys = dir.map(Keys::read).transpose()?.map(Arc::new);
        if let Some(keys) = &keys {
            tracing::info!(verifying_key_id = keys.id(), "face-match proof keys loaded");
        }
        Ok(Prover { keys, places: AnalysisGate::new(crate::config::cores()) })
    }

    pub fn keys(&self) -> Option<&Arc<Keys>> {
        self.keys.as_ref()
    }

    /// A proof place, waiting at most `wait`.
    pub fn place(&self, wait: Duration) -> Option<GatePass<'_>> {
        self.places.enter_within(wait)
    }
}

/// `lpserver zk-setup --out DIR`: makes the keys and writes them into `DIR`, with the
/// verifying key for snarkjs and as a Solidity contract. `args` follow `zk-setup`.
pub fn setup_command(args: &[String]) -> ExitCode {
    let usage = "usage: lpserver zk-setup --out DIR\n\
        writes the face-match proof keys (proving.key, verifying.key), the verifying key in \
        snarkjs's JSON (verification_key.json) and as a Solidity contract (FaceMatchVerifier.sol) into DIR";
    let out = match args {
        [flag, dir] if flag == "--out" => PathBuf::from(dir),
        [flag] if flag == "--help" || flag == "-h" => {
            println!("{usage}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{usage}");
            return ExitCode::from(2);
        }
    };
    if out.join(zkmatch::PROVING_KEY_FILE).exists() {
        eprintln!(
            "lpserver zk-setup: {} holds keys already; remove them first or choose another directory",
            out.display()
        );
        return ExitCode::from(2);
    }
    let started = Instant::now();
    match Keys::setup().and_then(|keys| keys.write(&out).map(|()| keys)) {
        Ok(keys) => {
            println!(
                "face-match proof keys {} written to {} in {:.1} s; a single-party set-up: see docs/rest.md before relying on it",
                keys.id(),
                out.display(),
                started.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("lpserver zk-setup: {err}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proofs_take_one_place_a_core_and_the_next_waits_then_gives_up() {
        let prover = Prover::load(None).expect("no keys to read");
        assert!(prover.keys().is_none());
        let cores = crate::config::cores();
        let places: Vec<_> = (0..cores).map(|_| prover.place(Duration::ZERO).expect("a free place")).collect();
        let started = Instant::now();
        assert!(prover.place(Duration::from_millis(50)).is_none(), "{cores} proofs at once at most");
        assert!(started.elapsed() >= Duration::from_millis(50));
        drop(places);
        assert!(prover.place(Duration::ZERO).is_some());
    }
}
