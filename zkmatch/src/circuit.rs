//! The statement as R1CS.
//!
//! Witness: the two descriptors as [`BITS`]-bit unsigned values (`value + 2^(BITS-1)`), bit by
//! bit, so every value is range-checked and packs into the commitment's field elements for
//! free, and the two blindings. Public, in order: the ID commitment, the selfie commitment,
//! the threshold `t` in hundredths (range-checked to 7 bits) and the result bit.
//!
//! With `dot`, `|a|^2`, `|b|^2` the integer sums (at most `DIM * 128^2 = 2^24` in magnitude),
//! "cosine >= t/100" is `dot >= 0 && 100^2 dot^2 >= t^2 |a|^2 |b|^2`; both sides stay below
//! 2^62, so each comparison is the top bit of a difference offset into a fixed number of bits,
//! far from the field's wrap-around. Both norms are proved non-zero.

use ark_crypto_primitives::sponge::constraints::CryptographicSpongeVar;
use ark_crypto_primitives::sponge::poseidon::constraints::PoseidonSpongeVar;
use ark_ff::{BigInteger, Field, PrimeField};
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::prelude::*;
use ark_relations::r1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};

use crate::descriptor::{OFFSET, PER_ELEMENT};
use crate::{BITS, Blinding, DIM, Descriptor, Fr, Statement, THRESHOLD_SCALE, poseidon_config};

/// Bits of the threshold's range check (0..=127).
const THRESHOLD_BITS: usize = 7;
/// `dot + 2^DOT_SHIFT` lies in `0..2^(DOT_SHIFT+1)`: its top bit is `dot >= 0`.
const DOT_SHIFT: usize = 25;
/// Both sides of the squared comparison lie below `2^SQUARE_SHIFT`.
const SQUARE_SHIFT: usize = 62;

/// One proof's circuit: the witness and the public statement it shows.
#[derive(Clone)]
pub struct MatchCircuit {
    id: Descriptor,
    selfie: Descriptor,
    id_blinding: Blinding,
    selfie_blinding: Blinding,
    threshold: u32,
}

impl MatchCircuit {
    pub fn new(id: (&Descriptor, &Blinding), selfie: (&Descriptor, &Blinding), threshold: u32) -> MatchCircuit {
        MatchCircuit {
            id: id.0.clone(),
            selfie: selfie.0.clone(),
            id_blinding: *id.1,
            selfie_blinding: *selfie.1,
            threshold,
        }
    }

    /// A circuit of the right shape for the key set-up (its values do not matter).
    pub fn blank() -> MatchCircuit {
        let one = Descriptor::from_values(vec![1; DIM]).expect("a valid descriptor");
        MatchCircuit::new((&one, &Blinding(Fr::from(1u64))), (&one, &Blinding(Fr::from(2u64))), 0)
    }

    /// The public statement this witness shows.
    pub fn statement(&self) -> Statement {
        Statement {
            id_commitment: self.id.commit(&self.id_blinding),
            selfie_commitment: self.selfie.commit(&self.selfie_blinding),
            threshold: self.threshold,
            is_match: self.id.matches(&self.selfie, self.threshold),
        }
    }
}

/// A descriptor in the circuit: its values and its commitment.
struct DescriptorVar {
    values: Vec<FpVar<Fr>>,
    commitment: FpVar<Fr>,
}

impl DescriptorVar {
    fn new(cs: &ConstraintSystemRef<Fr>, descriptor: &Descriptor, blinding: &Blinding) -> Result<Self, SynthesisError> {
        let bits = descriptor.bits();
        let bits: Vec<Boolean<Fr>> =
            bits.iter().map(|b| Boolean::new_witness(cs.clone(), || Ok(*b))).collect::<Result<_, _>>()?;
        let offset = FpVar::constant(Fr::from(OFFSET as u64));
        let values = bits.chunks(BITS).map(|v| Ok(Boolean::le_bits_to_fp(v)? - &offset)).collect::<Result<_, _>>()?;
        let mut input: Vec<FpVar<Fr>> =
            bits.chunks(PER_ELEMENT * BITS).map(Boolean::le_bits_to_fp).collect::<Result<_, _>>()?;
        input.push(FpVar::new_witness(cs.clone(), || Ok(blinding.0))?);
        let mut sponge = PoseidonSpongeVar::new(cs.clone(), poseidon_config());
        sponge.absorb(&input)?;
        let commitment = sponge.squeeze_field_elements(1)?.remove(0);
        Ok(DescriptorVar { values, commitment })
    }

    fn dot(&self, other: &DescriptorVar) -> FpVar<Fr> {
        self.values.iter().zip(&other.values).map(|(a, b)| a * b).sum()
    }
}

/// The low `n` bits of `value` as witnesses, proved to make up `value` exactly (a range
/// check of `value` to `0..2^n`).
fn decompose(cs: &ConstraintSystemRef<Fr>, value: &FpVar<Fr>, n: usize) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
    let known = value.value();
    let bits = (0..n)
        .map(|k| {
            Boolean::new_witness(cs.clone(), || {
                known.map(|v| v.into_bigint().to_bits_le().get(k).copied().unwrap_or(false))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Boolean::le_bits_to_fp(&bits)?.enforce_equal(value)?;
    Ok(bits)
}

/// Proves `value` non-zero (it has an inverse).
fn enforce_non_zero(cs: &ConstraintSystemRef<Fr>, value: &FpVar<Fr>) -> Result<(), SynthesisError> {
    let known = value.value();
    let inverse = FpVar::new_witness(cs.clone(), || known.map(|v| v.inverse().unwrap_or_default()))?;
    (value * inverse).enforce_equal(&FpVar::one())
}

impl ConstraintSynthesizer<Fr> for MatchCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let statement = self.statement();
        let id_commitment = FpVar::new_input(cs.clone(), || Ok(statement.id_commitment))?;
        let selfie_commitment = FpVar::new_input(cs.clone(), || Ok(statement.selfie_commitment))?;
        let threshold = FpVar::new_input(cs.clone(), || Ok(Fr::from(statement.threshold)))?;
        let is_match = FpVar::new_input(cs.clone(), || Ok(Fr::from(statement.is_match)))?;

        let id = DescriptorVar::new(&cs, &self.id, &self.id_blinding)?;
        let selfie = DescriptorVar::new(&cs, &self.selfie, &self.selfie_blinding)?;
        id.commitment.enforce_equal(&id_commitment)?;
        selfie.commitment.enforce_equal(&selfie_commitment)?;
        decompose(&cs, &threshold, THRESHOLD_BITS)?;

        let dot = id.dot(&selfie);
        let (id_norm, selfie_norm) = (id.dot(&id), selfie.dot(&selfie));
        enforce_non_zero(&cs, &id_norm)?;
        enforce_non_zero(&cs, &selfie_norm)?;
        let not_negative = shifted_top_bit(&cs, &dot, DOT_SHIFT)?;
        let scale = Fr::from((THRESHOLD_SCALE * THRESHOLD_SCALE) as u64);
        let left = dot.square()? * scale;
        let right = threshold.square()? * (id_norm * selfie_norm);
        let reaches = shifted_top_bit(&cs, &(left - right), SQUARE_SHIFT)?;
        FpVar::from(not_negative & reaches).enforce_equal(&is_match)
    }
}

/// Whether `value` (known to lie in `-2^shift..2^shift`) is at least zero: the top bit of
/// `value + 2^shift` decomposed into `shift + 1` bits.
fn shifted_top_bit(
    cs: &ConstraintSystemRef<Fr>,
    value: &FpVar<Fr>,
    shift: usize,
) -> Result<Boolean<Fr>, SynthesisError> {
    let offset = FpVar::constant(Fr::from(2u64).pow([shift as u64]));
    let mut bits = decompose(cs, &(value + offset), shift + 1)?;
    Ok(bits.pop().unwrap_or(Boolean::FALSE))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_relations::r1cs::ConstraintSystem;

    fn descriptor(seed: u32) -> Descriptor {
        let values: Vec<f32> = (0..DIM)
            .map(|i| (((i as u32).wrapping_mul(2654435761) ^ seed).rotate_left(seed % 31) % 200) as f32)
            .collect();
        Descriptor::quantise(&values).unwrap()
    }

    fn satisfied(circuit: MatchCircuit) -> (bool, usize) {
        let cs = ConstraintSystem::<Fr>::new_ref();
        circuit.generate_constraints(cs.clone()).unwrap();
        (cs.is_satisfied().unwrap(), cs.num_constraints())
    }

    #[test]
    fn the_circuit_holds_for_its_statement_at_every_threshold_side() {
        let (a, b) = (descriptor(1), descriptor(2));
        let (ra, rb) = (Blinding::random(), Blinding::random());
        let t = (a.similarity(&b) * 100.0).floor() as u32;
        for threshold in [0, t, t + 1, 100] {
            let circuit = MatchCircuit::new((&a, &ra), (&b, &rb), threshold);
            assert_eq!(circuit.statement().is_match, threshold <= t);
            let (ok, constraints) = satisfied(circuit);
            assert!(ok, "threshold {threshold}");
            assert!(constraints < 40_000, "{constraints} constraints");
        }
    }
}
