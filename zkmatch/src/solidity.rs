//! The verifying key as a Solidity contract, and a proof as its `verifyProof` arguments.
//!
//! The contract checks a proof with the EVM's BN254 precompiles (`ecAdd` 0x06, `ecMul` 0x07,
//! `ecPairing` 0x08): `e(-A, B) e(alpha, beta) e(vk_x, gamma) e(C, delta) = 1`, with `vk_x` the
//! public signals' combination of the key's `IC` points. It answers false, never reverts, on a
//! signal at or above the scalar field's modulus, a coordinate at or above the base field's,
//! or a point the precompiles refuse.
//!
//! The arguments are snarkjs's `zkey export soliditycalldata` shape: `[a.x, a.y], [[b.x.c1,
//! b.x.c0], [b.y.c1, b.y.c0]], [c.x, c.y], [signals...]` in 0x-prefixed hex, G2 coordinates
//! with the imaginary part first as the precompile reads them.

use std::fmt::Write;

use ark_bn254::{Fq, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInteger, PrimeField, Zero};

use crate::snarkjs::decimal;
use crate::{Fr, PUBLIC_SIGNALS, Proof, Statement, VerifyingKey};

fn hex<F: PrimeField>(f: &F) -> String {
    let bytes = f.into_bigint().to_bytes_be();
    let mut s = String::from("0x");
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn g1_xy(p: &G1Affine) -> [Fq; 2] {
    p.xy().map(|(x, y)| [x, y]).unwrap_or([Fq::zero(); 2])
}

/// `[x.c1, x.c0, y.c1, y.c0]`, the precompile's order.
fn g2_words(p: &G2Affine) -> [Fq; 4] {
    p.xy().map(|(x, y)| [x.c1, x.c0, y.c1, y.c0]).unwrap_or([Fq::zero(); 4])
}

fn constants(vk: &VerifyingKey) -> String {
    let mut out = String::new();
    let mut line = |name: &str, value: &Fq| {
        let _ = writeln!(out, "    uint256 constant {name} = {};", decimal(value));
    };
    let [ax, ay] = g1_xy(&vk.alpha_g1);
    line("ALPHA_X", &ax);
    line("ALPHA_Y", &ay);
    for (name, point) in [("BETA", &vk.beta_g2), ("GAMMA", &vk.gamma_g2), ("DELTA", &vk.delta_g2)] {
        for (part, value) in ["X1", "X0", "Y1", "Y0"].iter().zip(g2_words(point)) {
            line(&format!("{name}_{part}"), &value);
        }
    }
    for (i, point) in vk.gamma_abc_g1.iter().enumerate() {
        let [x, y] = g1_xy(point);
        line(&format!("IC{i}_X"), &x);
        line(&format!("IC{i}_Y"), &y);
    }
    out
}

const HELPERS: &str = r#"
    /// acc += s * (x, y), through the ecMul and ecAdd precompiles; false when either refuses.
    function addMul(uint256[2] memory acc, uint256 x, uint256 y, uint256 s) internal view returns (bool) {
        (bool ok, bytes memory out) = address(7).staticcall(abi.encode(x, y, s));
        if (!ok || out.length != 64) return false;
        (uint256 mx, uint256 my) = abi.decode(out, (uint256, uint256));
        (ok, out) = address(6).staticcall(abi.encode(acc[0], acc[1], mx, my));
        if (!ok || out.length != 64) return false;
        (acc[0], acc[1]) = abi.decode(out, (uint256, uint256));
        return true;
    }
"#;

/// The contract `FaceMatchVerifier` for `vk`.
pub fn verifier(vk: &VerifyingKey) -> String {
    let n = vk.gamma_abc_g1.len().saturating_sub(1);
    let mut combine = String::new();
    for i in 0..n {
        let _ = writeln!(combine, "        if (!addMul(vkX, IC{0}_X, IC{0}_Y, pubSignals[{i}])) return false;", i + 1);
    }
    format!(
        r#"// SPDX-License-Identifier: MIT OR Apache-2.0
// The Groth16 verifying key of gst-liveness's face-match circuit (zkmatch), written by
// `lpserver zk-setup`. Public signals: ID commitment, selfie commitment, threshold in
// hundredths, result bit.
pragma solidity >=0.8.4 <0.9.0;

/// Verifies face-match proofs (Groth16 over BN254) with the EVM's precompiles.
contract FaceMatchVerifier {{
    /// Scalar field modulus: every public signal lies below it.
    uint256 constant R = {r};
    /// Base field modulus: every coordinate lies below it.
    uint256 constant Q = {q};

{constants}{HELPERS}
    /// Whether the proof (A, B, C) shows the public signals.
    function verifyProof(
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256[{n}] calldata pubSignals
    ) external view returns (bool) {{
        for (uint256 i = 0; i < {n}; i++) {{
            if (pubSignals[i] >= R) return false;
        }}
        if (pA[0] >= Q || pA[1] >= Q || pC[0] >= Q || pC[1] >= Q) return false;
        if (pB[0][0] >= Q || pB[0][1] >= Q || pB[1][0] >= Q || pB[1][1] >= Q) return false;
        uint256[2] memory vkX = [uint256(IC0_X), IC0_Y];
{combine}        uint256[24] memory input = [
            pA[0], (Q - pA[1]) % Q, pB[0][0], pB[0][1], pB[1][0], pB[1][1],
            ALPHA_X, ALPHA_Y, BETA_X1, BETA_X0, BETA_Y1, BETA_Y0,
            vkX[0], vkX[1], GAMMA_X1, GAMMA_X0, GAMMA_Y1, GAMMA_Y0,
            pC[0], pC[1], DELTA_X1, DELTA_X0, DELTA_Y1, DELTA_Y0
        ];
        (bool ok, bytes memory out) = address(8).staticcall(abi.encode(input));
        return ok && out.length == 32 && abi.decode(out, (uint256)) == 1;
    }}
}}
"#,
        r = Fr::MODULUS,
        q = Fq::MODULUS,
        constants = constants(vk),
    )
}

/// The arguments of `verifyProof` for `proof` of `statement`, as snarkjs writes them.
pub fn calldata(proof: &Proof, statement: &Statement) -> String {
    let list =
        |values: &[String]| format!("[{}]", values.iter().map(|v| format!("\"{v}\"")).collect::<Vec<_>>().join(","));
    let a = g1_xy(&proof.a).map(|f| hex(&f));
    let b = g2_words(&proof.b).map(|f| hex(&f));
    let c = g1_xy(&proof.c).map(|f| hex(&f));
    let signals: Vec<String> = statement.public_inputs().iter().map(hex).collect();
    debug_assert_eq!(signals.len(), PUBLIC_SIGNALS);
    format!("{},[{},{}],{},{}", list(&a), list(&b[..2]), list(&b[2..]), list(&c), list(&signals))
}
