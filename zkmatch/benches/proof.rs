//! Face-match proofs: the circuit's size, the set-up, proof generation (time and the process's
//! peak memory while proving) and verification, on this machine's cores. Run by `make bench`.
//!
//! Descriptors are real in shape (1024 values, 8-bit) but synthetic in content: the cost of a
//! proof does not depend on the faces.

use std::time::{Duration, Instant};

use ark_relations::r1cs::{ConstraintSynthesizer, ConstraintSystem};
use zkmatch::circuit::MatchCircuit;
use zkmatch::{Blinding, DIM, Descriptor, Fr, Keys, prove, verify};

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A line of /proc/self/status in MiB (`VmHWM`, `VmRSS`).
fn status_mib(name: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status.lines().find_map(|l| {
        l.strip_prefix(name)?.trim_start_matches(':').trim().trim_end_matches("kB").trim().parse::<f64>().ok()
    });
    kib.unwrap_or(f64::NAN) / 1024.0
}

/// Resets the peak resident size to the current one (Linux `clear_refs`); false when refused.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn main() {
    let cs = ConstraintSystem::<Fr>::new_ref();
    MatchCircuit::blank().generate_constraints(cs.clone()).expect("the circuit");
    println!(
        "zkmatch circuit: {} constraints, {} witness variables, {} public inputs (descriptors of {DIM} values)",
        cs.num_constraints(),
        cs.num_witness_variables(),
        cs.num_instance_variables() - 1
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    let started = Instant::now();
    let keys = Keys::setup().expect("set-up");
    println!("set-up: {:.2} s", started.elapsed().as_secs_f64());
    let dir = std::env::temp_dir().join(format!("zkmatch-bench-{}", std::process::id()));
    keys.write(&dir).expect("keys written");
    let size = |file: &str| std::fs::metadata(dir.join(file)).map(|m| m.len() as f64 / 1048576.0).unwrap_or(f64::NAN);
    println!(
        "keys: proving {:.1} MiB, verifying {:.1} KiB",
        size(zkmatch::PROVING_KEY_FILE),
        size(zkmatch::VERIFYING_KEY_FILE) * 1024.0
    );
    let started = Instant::now();
    let keys = Keys::read(&dir).expect("keys read");
    println!("keys read back (ZK_KEYS_DIR at start): {:.2} s", started.elapsed().as_secs_f64());
    let _ = std::fs::remove_dir_all(&dir);

    let a: Vec<f32> = (0..DIM).map(|i| ((i * 7919) % 101) as f32).collect();
    let b: Vec<f32> = (0..DIM).map(|i| ((i * 7919) % 101 + (i * 31) % 13) as f32).collect();
    let (a, b) = (Descriptor::quantise(&a).expect("a"), Descriptor::quantise(&b).expect("b"));
    let (ra, rb) = (Blinding::random(), Blinding::random());

    let rss_before = status_mib("VmRSS");
    let peak_reset = reset_peak();
    let mut proving = Vec::new();
    let mut last = None;
    for _ in 0..10 {
        let started = Instant::now();
        last = Some(prove(&keys, (&a, &ra), (&b, &rb), 58).expect("a proof"));
        proving.push(started.elapsed());
    }
    let peak = status_mib("VmHWM");
    let (proof, statement) = last.expect("ten proofs");
    println!(
        "proof generation ({cores} cores): median {:.0} ms, slowest {:.0} ms of 10",
        ms(median(proving.clone())),
        ms(*proving.iter().max().expect("ten"))
    );
    if peak_reset {
        println!("memory: resident {rss_before:.0} MiB with the keys loaded, peak {peak:.0} MiB while proving");
    } else {
        println!("memory: resident {rss_before:.0} MiB with the keys loaded, peak {peak:.0} MiB (set-up included)");
    }

    let mut verifying = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        assert!(verify(&keys, &statement, &proof));
        verifying.push(started.elapsed());
    }
    println!("verification: median {:.2} ms of 50", ms(median(verifying)));
}
