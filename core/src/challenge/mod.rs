//! The active challenges of seed 002 as state machines on a clock the caller gives: the
//! challenge types and the random sequence (this module), the session that prompts, judges
//! and decides ([`session`]), the head pose and movement rules ([`pose`]), the test that a
//! movement is a head's and not a tilted picture's ([`planarity`]), and the screen-flash
//! colour challenge ([`flash`]).
//!
//! Challenge types and the random challenge sequence (seed 002 "Challenge Sequence
//! Generation"): length 5 by default, no type more than twice, no two equal neighbours,
//! drawn from a cryptographically secure generator (ChaCha20, seeded by the operating system,
//! or by a given seed to reproduce a draw).

pub mod flash;
pub mod planarity;
pub mod pose;
pub mod session;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// What the person is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChallengeType {
    TurnLeft,
    TurnRight,
    LookUp,
    LookDown,
    NodYes,
    ShakeNo,
    Blink,
    OpenMouth,
    Smile,
    MoveCloser,
    /// The page fills the screen around the face with a random sequence of colours; the face
    /// must reflect them in time ([`flash`]).
    Flash,
}

impl ChallengeType {
    pub const ALL: [ChallengeType; 11] = [
        ChallengeType::TurnLeft,
        ChallengeType::TurnRight,
        ChallengeType::LookUp,
        ChallengeType::LookDown,
        ChallengeType::NodYes,
        ChallengeType::ShakeNo,
        ChallengeType::Blink,
        ChallengeType::OpenMouth,
        ChallengeType::Smile,
        ChallengeType::MoveCloser,
        ChallengeType::Flash,
    ];

    /// The six head-movement challenges of seed 002: the default pool.
    pub const HEAD_MOVEMENTS: [ChallengeType; 6] = [
        ChallengeType::TurnLeft,
        ChallengeType::TurnRight,
        ChallengeType::LookUp,
        ChallengeType::LookDown,
        ChallengeType::NodYes,
        ChallengeType::ShakeNo,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ChallengeType::TurnLeft => "turn_left",
            ChallengeType::TurnRight => "turn_right",
            ChallengeType::LookUp => "look_up",
            ChallengeType::LookDown => "look_down",
            ChallengeType::NodYes => "nod_yes",
            ChallengeType::ShakeNo => "shake_no",
            ChallengeType::Blink => "blink",
            ChallengeType::OpenMouth => "open_mouth",
            ChallengeType::Smile => "smile",
            ChallengeType::MoveCloser => "move_closer",
            ChallengeType::Flash => "flash",
        }
    }

    pub fn from_name(name: &str) -> Option<ChallengeType> {
        ChallengeType::ALL.into_iter().find(|c| c.name() == name.trim())
    }

    /// Whether two still images (a neutral one, one performing it) can show the challenge:
    /// not the gestures nor the screen flash, which happen over time.
    pub fn shows_in_stills(self) -> bool {
        !matches!(self, ChallengeType::NodYes | ChallengeType::ShakeNo | ChallengeType::Flash)
    }

    /// Static poses must be held for a number of consecutive frames.
    pub fn is_static_pose(self) -> bool {
        matches!(
            self,
            ChallengeType::TurnLeft | ChallengeType::TurnRight | ChallengeType::LookUp | ChallengeType::LookDown
        )
    }
}

/// Why a challenge list cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SequenceError {
    #[error(
        "unknown challenge \"{0}\" (known: turn_left, turn_right, look_up, look_down, nod_yes, shake_no, blink, open_mouth, smile, move_closer, flash)"
    )]
    Unknown(String),
    #[error("the challenge list is empty")]
    Empty,
    #[error("{length} challenges cannot be drawn from {pool} type(s) with at most 2 of each and no equal neighbours")]
    Impossible { length: usize, pool: usize },
}

/// Parses a comma-separated list of challenge names.
pub fn parse_list(list: &str) -> Result<Vec<ChallengeType>, SequenceError> {
    let items: Vec<&str> = list.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    if items.is_empty() {
        return Err(SequenceError::Empty);
    }
    items
        .into_iter()
        .map(|name| ChallengeType::from_name(name).ok_or_else(|| SequenceError::Unknown(name.to_string())))
        .collect()
}

pub fn format_list(list: &[ChallengeType]) -> String {
    list.iter().map(|c| c.name()).collect::<Vec<_>>().join(",")
}

/// The challenge draw: a CSPRNG from the OS, or seeded for a reproducible draw.
pub struct ChallengeRng(ChaCha20Rng);

impl ChallengeRng {
    pub fn new(seed: Option<u64>) -> Self {
        ChallengeRng(match seed {
            Some(seed) => ChaCha20Rng::seed_from_u64(seed),
            None => ChaCha20Rng::from_os_rng(),
        })
    }

    /// The challenges of `pool` that may follow `so_far`: not the last one, not used twice.
    pub fn allowed(pool: &[ChallengeType], so_far: &[ChallengeType]) -> Vec<ChallengeType> {
        pool.iter()
            .copied()
            .filter(|c| Some(c) != so_far.last() && so_far.iter().filter(|d| *d == c).count() < 2)
            .collect()
    }

    /// One challenge from `pool` that differs from `previous` and is not yet used twice in
    /// `so_far`; None when no such challenge exists.
    pub fn pick(&mut self, pool: &[ChallengeType], so_far: &[ChallengeType]) -> Option<ChallengeType> {
        let allowed = Self::allowed(pool, so_far);
        if allowed.is_empty() {
            return None;
        }
        Some(allowed[self.0.random_range(0..allowed.len())])
    }

    /// A sequence of `length` challenges from `pool`.
    /// A random screen-flash schedule.
    pub fn flash_schedule(&mut self) -> flash::FlashSchedule {
        flash::FlashSchedule::draw(&mut self.0)
    }

    /// A hold before a prompt, ns: uniform in `min..=max` (`min` when the range is empty).
    pub fn hold_ns(&mut self, min: u64, max: u64) -> u64 {
        if max <= min { min } else { self.0.random_range(min..=max) }
    }

    pub fn sequence(&mut self, pool: &[ChallengeType], length: usize) -> Result<Vec<ChallengeType>, SequenceError> {
        let mut distinct = pool.to_vec();
        distinct.sort_by_key(|c| c.name());
        distinct.dedup();
        if distinct.is_empty() {
            return Err(SequenceError::Empty);
        }
        // At most 2 of each; with one type only a single challenge is possible.
        let possible = if distinct.len() == 1 { 1 } else { 2 * distinct.len() };
        if length > possible {
            return Err(SequenceError::Impossible { length, pool: distinct.len() });
        }
        // Greedy draws can paint themselves into a corner (only the last type left); retry.
        for _ in 0..64 {
            let mut sequence = Vec::with_capacity(length);
            while sequence.len() < length {
                match self.pick(&distinct, &sequence) {
                    Some(next) => sequence.push(next),
                    None => break,
                }
            }
            if sequence.len() == length {
                return Ok(sequence);
            }
        }
        Err(SequenceError::Impossible { length, pool: distinct.len() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn sequences_keep_the_seed_002_rules_over_many_draws() {
        let mut rng = ChallengeRng::new(None);
        let mut seen: HashMap<ChallengeType, usize> = HashMap::new();
        for _ in 0..2000 {
            let sequence = rng.sequence(&ChallengeType::HEAD_MOVEMENTS, 5).unwrap();
            assert_eq!(sequence.len(), 5);
            assert!(sequence.windows(2).all(|pair| pair[0] != pair[1]), "{sequence:?}");
            for c in &sequence {
                assert!(sequence.iter().filter(|d| *d == c).count() <= 2, "{sequence:?}");
                *seen.entry(*c).or_default() += 1;
            }
        }
        // Every type of the pool is drawn, none is starved.
        assert_eq!(seen.len(), 6);
        assert!(seen.values().all(|&n| n > 1000), "{seen:?}");
    }

    #[test]
    fn a_seed_reproduces_the_draw() {
        let a = ChallengeRng::new(Some(7)).sequence(&ChallengeType::ALL, 5).unwrap();
        let b = ChallengeRng::new(Some(7)).sequence(&ChallengeType::ALL, 5).unwrap();
        assert_eq!(a, b);
        let others: Vec<_> =
            (0..20).map(|s| ChallengeRng::new(Some(100 + s)).sequence(&ChallengeType::ALL, 5).unwrap()).collect();
        assert!(others.iter().any(|o| *o != a));
    }

    #[test]
    fn restricted_pools_and_impossible_requests() {
        let pool = [ChallengeType::Blink, ChallengeType::Smile];
        let sequence = ChallengeRng::new(Some(1)).sequence(&pool, 4).unwrap();
        assert_eq!(sequence.len(), 4);
        assert!(sequence.iter().all(|c| pool.contains(c)));
        assert!(matches!(ChallengeRng::new(Some(1)).sequence(&pool, 5), Err(SequenceError::Impossible { .. })));
        assert_eq!(
            ChallengeRng::new(Some(1)).sequence(&[ChallengeType::Blink], 1).unwrap(),
            vec![ChallengeType::Blink]
        );
    }

    #[test]
    fn lists_parse_and_print() {
        let list = parse_list("turn_left, nod_yes,smile").unwrap();
        assert_eq!(list, vec![ChallengeType::TurnLeft, ChallengeType::NodYes, ChallengeType::Smile]);
        assert_eq!(format_list(&list), "turn_left,nod_yes,smile");
        assert_eq!(parse_list("turn_left,jump"), Err(SequenceError::Unknown("jump".into())));
        assert_eq!(parse_list(" , "), Err(SequenceError::Empty));
    }
}
