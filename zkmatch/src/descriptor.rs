//! Quantised descriptors and their Poseidon commitments.

use std::sync::OnceLock;

use ark_crypto_primitives::sponge::poseidon::{PoseidonConfig, PoseidonSponge, find_poseidon_ark_and_mds};
use ark_crypto_primitives::sponge::{CryptographicSponge, FieldBasedCryptographicSponge};
use ark_ff::{BigInteger, PrimeField, UniformRand};

use crate::{BITS, DIM, Fr, QMAX};

/// Values packed into one field element: as many whole [`BITS`]-bit values as fit below the
/// modulus (31 of 8 bits in 248 bits).
pub(crate) const PER_ELEMENT: usize = (Fr::MODULUS_BIT_SIZE as usize - 1) / BITS;
/// What is added to a quantised value to store it unsigned in [`BITS`] bits.
pub(crate) const OFFSET: i32 = 1 << (BITS - 1);

/// A face descriptor in fixed point: [`DIM`] values in `-QMAX..=QMAX`, not all zero.
#[derive(Clone, PartialEq, Eq)]
pub struct Descriptor(Vec<i32>);

impl std::fmt::Debug for Descriptor {
    // A descriptor is biometric data: never in logs or panics.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Descriptor(..)")
    }
}

impl Descriptor {
    /// Quantises `values` (any scale): each is divided by the largest magnitude and rounded to
    /// `QMAX` steps. None when there are not [`DIM`] finite values or all are zero.
    pub fn quantise(values: &[f32]) -> Option<Descriptor> {
        if values.len() != DIM || values.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let largest = values.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        if largest <= f32::MIN_POSITIVE {
            return None;
        }
        let scale = QMAX as f32 / largest;
        Some(Descriptor(values.iter().map(|v| (v * scale).round().clamp(-QMAX as f32, QMAX as f32) as i32).collect()))
    }

    /// From quantised values; None unless [`DIM`] values in `-QMAX..=QMAX`, not all zero.
    pub fn from_values(values: Vec<i32>) -> Option<Descriptor> {
        let valid = values.len() == DIM && values.iter().all(|v| v.abs() <= QMAX) && values.iter().any(|v| *v != 0);
        valid.then_some(Descriptor(values))
    }

    pub fn values(&self) -> &[i32] {
        &self.0
    }

    /// The sum of products with `other`.
    pub fn dot(&self, other: &Descriptor) -> i64 {
        self.0.iter().zip(&other.0).map(|(a, b)| *a as i64 * *b as i64).sum()
    }

    /// The cosine similarity of the quantised values (what the circuit compares).
    pub fn similarity(&self, other: &Descriptor) -> f64 {
        self.dot(other) as f64 / ((self.dot(self) as f64).sqrt() * (other.dot(other) as f64).sqrt())
    }

    /// Whether the cosine similarity reaches `threshold` hundredths, decided exactly as the
    /// circuit does (integers, no division).
    pub fn matches(&self, other: &Descriptor, threshold: u32) -> bool {
        let dot = self.dot(other) as i128;
        let (a, b) = (self.dot(self) as i128, other.dot(other) as i128);
        let (s, t) = (crate::THRESHOLD_SCALE as i128, threshold as i128);
        dot >= 0 && s * s * dot * dot >= t * t * a * b
    }

    /// The values stored unsigned (`value + OFFSET`), [`BITS`] little-endian bits each.
    pub(crate) fn bits(&self) -> Vec<bool> {
        self.0.iter().flat_map(|v| (0..BITS).map(move |k| ((v + OFFSET) >> k) & 1 == 1)).collect()
    }

    /// The values packed [`PER_ELEMENT`] to a field element, first value lowest.
    pub(crate) fn packed(&self) -> Vec<Fr> {
        self.bits()
            .chunks(PER_ELEMENT * BITS)
            .map(|chunk| Fr::from_bigint(<Fr as PrimeField>::BigInt::from_bits_le(chunk)).unwrap_or_default())
            .collect()
    }

    /// The commitment: Poseidon over the packed values, then the blinding.
    pub fn commit(&self, blinding: &Blinding) -> Fr {
        let mut sponge = PoseidonSponge::new(poseidon_config());
        let mut input = self.packed();
        input.push(blinding.0);
        sponge.absorb(&input);
        sponge.squeeze_native_field_elements(1)[0]
    }
}

/// The random value a commitment hides its descriptor with, kept by the prover.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Blinding(pub Fr);

impl std::fmt::Debug for Blinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Blinding(..)")
    }
}

impl Blinding {
    /// A fresh blinding from the operating system's randomness.
    pub fn random() -> Blinding {
        Blinding(Fr::rand(&mut ark_std::rand::rngs::OsRng))
    }
}

/// Poseidon over BN254's scalar field: width 3 (rate 2), x^5, 8 full and 57 partial rounds,
/// constants from the reference Grain LFSR.
pub fn poseidon_config() -> &'static PoseidonConfig<Fr> {
    static CONFIG: OnceLock<PoseidonConfig<Fr>> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let (full, partial, rate) = (8, 57, 2);
        let (ark, mds) = find_poseidon_ark_and_mds::<Fr>(Fr::MODULUS_BIT_SIZE as u64, rate, full, partial, 0);
        PoseidonConfig::new(full as usize, partial as usize, 5, mds, ark, rate, 1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wave(phase: f32) -> Vec<f32> {
        (0..DIM).map(|i| ((i as f32 * 0.37 + phase).sin() + 1.2) * 0.01).collect()
    }

    #[test]
    fn quantising_keeps_the_similarity_within_a_thousandth() {
        for phase in [0.1f32, 0.5, 1.0, 2.0, 3.0] {
            let (a, b) = (wave(0.0), wave(phase));
            let exact = {
                let dot: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
                let n = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
                (dot / (n(&a) * n(&b))) as f64
            };
            let q = Descriptor::quantise(&a).unwrap().similarity(&Descriptor::quantise(&b).unwrap());
            assert!((q - exact).abs() < 1e-3, "phase {phase}: {q} vs {exact}");
        }
    }

    #[test]
    fn bad_descriptors_are_refused() {
        assert!(Descriptor::quantise(&[0.0; DIM]).is_none());
        assert!(Descriptor::quantise(&[1.0; 10]).is_none());
        let mut nan = wave(0.0);
        nan[3] = f32::NAN;
        assert!(Descriptor::quantise(&nan).is_none());
        assert!(Descriptor::from_values(vec![QMAX + 1; DIM]).is_none());
        assert!(Descriptor::from_values(vec![0; DIM]).is_none());
    }

    #[test]
    fn packing_keeps_every_bit_and_the_blinding_hides_the_descriptor() {
        let d = Descriptor::quantise(&wave(0.3)).unwrap();
        assert_eq!(d.packed().len(), DIM.div_ceil(PER_ELEMENT));
        let bits: Vec<bool> =
            d.packed().iter().flat_map(|f| f.into_bigint().to_bits_le()[..PER_ELEMENT * BITS].to_vec()).collect();
        assert_eq!(&bits[..DIM * BITS], &d.bits()[..]);
        let (r1, r2) = (Blinding::random(), Blinding::random());
        assert_eq!(d.commit(&r1), d.commit(&r1));
        assert_ne!(d.commit(&r1), d.commit(&r2));
        assert!(format!("{d:?}{r1:?}").find(|c: char| c.is_ascii_digit()).is_none());
    }

    #[test]
    fn the_integer_rule_is_the_cosine_rule() {
        let a = Descriptor::quantise(&wave(0.0)).unwrap();
        let b = Descriptor::quantise(&wave(1.5)).unwrap();
        let s = a.similarity(&b);
        let t = (s * 100.0).floor() as u32;
        assert!(a.matches(&b, t) && !a.matches(&b, t + 1), "{s}");
        let negative = Descriptor::from_values(b.values().iter().map(|v| -v).collect()).unwrap();
        assert!(!a.matches(&negative, 0));
    }
}
