//! snarkjs's JSON shapes: proofs (`pi_a`, `pi_b`, `pi_c`, `protocol`, `curve`), public
//! signals (decimal strings) and verifying keys (`verification_key.json`), written and read.
//!
//! Points are projective triples of decimal strings with `z = 1` (`["x", "y", "1"]`); a G2
//! coordinate is a pair `[c0, c1]` for `c0 + c1 u`. Reading checks everything a verifier must:
//! decimal digits only, coordinates below the base field's modulus, points on the curve and in
//! its prime-order subgroup, signals below the scalar field's modulus.

use ark_bn254::{Fq, Fq2, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{PrimeField, Zero};
use num_bigint::BigUint;
use serde_json::{Value, json};

use crate::{Fr, PUBLIC_SIGNALS, Proof, Statement, VerifyingKey};

/// Why a proof or signals in snarkjs's JSON were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {detail}")]
pub struct FormatError {
    /// The JSON field concerned (`proof.pi_b[1][0]`, `publicSignals[2]`).
    pub field: String,
    pub detail: String,
}

fn refused(field: &str, detail: impl Into<String>) -> FormatError {
    FormatError { field: field.to_string(), detail: detail.into() }
}

/// A field element as a decimal string.
pub(crate) fn decimal<F: PrimeField>(f: &F) -> String {
    f.into_bigint().to_string()
}

fn g1(p: &G1Affine) -> Value {
    match p.xy() {
        Some((x, y)) => json!([decimal(&x), decimal(&y), "1"]),
        None => json!(["0", "1", "0"]),
    }
}

fn g2(p: &G2Affine) -> Value {
    match p.xy() {
        Some((x, y)) => json!([[decimal(&x.c0), decimal(&x.c1)], [decimal(&y.c0), decimal(&y.c1)], ["1", "0"]]),
        None => json!([["0", "0"], ["1", "0"], ["0", "0"]]),
    }
}

/// A proof in snarkjs's shape.
pub fn proof(proof: &Proof) -> Value {
    json!({"pi_a": g1(&proof.a), "pi_b": g2(&proof.b), "pi_c": g1(&proof.c), "protocol": "groth16", "curve": "bn128"})
}

/// The public signals as decimal strings, in the circuit's order.
pub fn public_signals(statement: &Statement) -> Vec<String> {
    statement.public_inputs().iter().map(decimal).collect()
}

/// A verifying key in snarkjs's `verification_key.json` shape.
pub fn verifying_key(vk: &VerifyingKey) -> Value {
    json!({
        "protocol": "groth16",
        "curve": "bn128",
        "nPublic": vk.gamma_abc_g1.len().saturating_sub(1),
        "vk_alpha_1": g1(&vk.alpha_g1),
        "vk_beta_2": g2(&vk.beta_g2),
        "vk_gamma_2": g2(&vk.gamma_g2),
        "vk_delta_2": g2(&vk.delta_g2),
        "IC": vk.gamma_abc_g1.iter().map(g1).collect::<Vec<_>>(),
    })
}

/// A scalar (a public signal, a blinding) from a decimal string below the scalar field's
/// modulus; `field` names it in errors.
pub fn parse_scalar(value: &Value, field: &str) -> Result<Fr, FormatError> {
    parse_field(value, field)
}

/// A scalar as a decimal string.
pub fn scalar(value: &Fr) -> String {
    decimal(value)
}

/// A decimal string below `F`'s modulus.
fn parse_field<F: PrimeField>(value: &Value, field: &str) -> Result<F, FormatError> {
    let text = value.as_str().ok_or_else(|| refused(field, "not a string"))?;
    if text.is_empty() || text.len() > 80 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(refused(field, "not a decimal number"));
    }
    let n = BigUint::parse_bytes(text.as_bytes(), 10).ok_or_else(|| refused(field, "not a decimal number"))?;
    let modulus: BigUint = F::MODULUS.into();
    if n >= modulus {
        return Err(refused(field, "not below the field's modulus"));
    }
    Ok(F::from(n))
}

fn items<'a>(value: &'a Value, field: &str, n: usize) -> Result<&'a [Value], FormatError> {
    match value.as_array() {
        Some(items) if items.len() == n => Ok(items),
        _ => Err(refused(field, format!("not a list of {n}"))),
    }
}

fn parse_g1(value: &Value, field: &str) -> Result<G1Affine, FormatError> {
    let xyz = items(value, field, 3)?;
    if xyz[2].as_str() != Some("1") {
        return Err(refused(field, "z is not \"1\""));
    }
    let x: Fq = parse_field(&xyz[0], &format!("{field}[0]"))?;
    let y: Fq = parse_field(&xyz[1], &format!("{field}[1]"))?;
    let p = G1Affine::new_unchecked(x, y);
    if !p.is_on_curve() || (x.is_zero() && y.is_zero()) {
        return Err(refused(field, "not a point of the curve"));
    }
    Ok(p)
}

fn parse_fq2(value: &Value, field: &str) -> Result<Fq2, FormatError> {
    let c = items(value, field, 2)?;
    Ok(Fq2::new(parse_field(&c[0], &format!("{field}[0]"))?, parse_field(&c[1], &format!("{field}[1]"))?))
}

fn parse_g2(value: &Value, field: &str) -> Result<G2Affine, FormatError> {
    let xyz = items(value, field, 3)?;
    let z = items(&xyz[2], &format!("{field}[2]"), 2)?;
    if z[0].as_str() != Some("1") || z[1].as_str() != Some("0") {
        return Err(refused(field, "z is not [\"1\", \"0\"]"));
    }
    let p = G2Affine::new_unchecked(
        parse_fq2(&xyz[0], &format!("{field}[0]"))?,
        parse_fq2(&xyz[1], &format!("{field}[1]"))?,
    );
    if !p.is_on_curve() || !p.is_in_correct_subgroup_assuming_on_curve() {
        return Err(refused(field, "not a point of the curve's prime-order subgroup"));
    }
    Ok(p)
}

/// A proof from snarkjs's shape (`protocol` "groth16", `curve` "bn128"); `field` names it in
/// errors (`proof`).
pub fn parse_proof(value: &Value, field: &str) -> Result<Proof, FormatError> {
    let object = value.as_object().ok_or_else(|| refused(field, "not an object"))?;
    let get = |name: &str| object.get(name).ok_or_else(|| refused(&format!("{field}.{name}"), "missing"));
    if get("protocol")?.as_str() != Some("groth16") {
        return Err(refused(&format!("{field}.protocol"), "not \"groth16\""));
    }
    if get("curve")?.as_str() != Some("bn128") {
        return Err(refused(&format!("{field}.curve"), "not \"bn128\""));
    }
    Ok(Proof {
        a: parse_g1(get("pi_a")?, &format!("{field}.pi_a"))?,
        b: parse_g2(get("pi_b")?, &format!("{field}.pi_b"))?,
        c: parse_g1(get("pi_c")?, &format!("{field}.pi_c"))?,
    })
}

/// Public signals from decimal strings; `field` names them in errors (`publicSignals`).
pub fn parse_public_signals(value: &Value, field: &str) -> Result<[Fr; PUBLIC_SIGNALS], FormatError> {
    let signals = items(value, field, PUBLIC_SIGNALS)?;
    let mut out = [Fr::zero(); PUBLIC_SIGNALS];
    for (i, signal) in signals.iter().enumerate() {
        out[i] = parse_field(signal, &format!("{field}[{i}]"))?;
    }
    Ok(out)
}
