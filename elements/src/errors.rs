//! The error codes of a liveness check: one table for the per-frame results of `lvjwtsink`,
//! the `errors` of its verdict token, and the answers of `lpserver` (STATS, ERROR, REST).
//!
//! Codes 1-99 are findings about the person in front of the camera (frame checks and session
//! verdicts). Codes from 1000 up are reserved for transport and protocol errors of the server.
//! A code never changes its meaning; new findings get new numbers.

/// One finding, with a stable number ([`ErrorCode::code`]), a name for logs and JSON
/// ([`ErrorCode::name`]) and a sentence for people ([`ErrorCode::meaning`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u16)]
pub enum ErrorCode {
    NoFace = 1,
    SeveralFaces = 2,
    FaceTooSmall = 3,
    FaceNearBorder = 4,
    Blurred = 5,
    Dark = 6,
    Overexposed = 7,
    UnevenIllumination = 8,
    Specular = 9,
    SpoofSuspected = 10,
    SurfaceSuspected = 11,
    ChallengeTimeout = 12,
    ChallengeFailed = 13,
    AgeBelowThreshold = 14,
    AgeUncertain = 15,
    SessionEnded = 16,
    CheckMissing = 17,
}

impl ErrorCode {
    /// Every code, in number order.
    pub const ALL: [ErrorCode; 17] = [
        ErrorCode::NoFace,
        ErrorCode::SeveralFaces,
        ErrorCode::FaceTooSmall,
        ErrorCode::FaceNearBorder,
        ErrorCode::Blurred,
        ErrorCode::Dark,
        ErrorCode::Overexposed,
        ErrorCode::UnevenIllumination,
        ErrorCode::Specular,
        ErrorCode::SpoofSuspected,
        ErrorCode::SurfaceSuspected,
        ErrorCode::ChallengeTimeout,
        ErrorCode::ChallengeFailed,
        ErrorCode::AgeBelowThreshold,
        ErrorCode::AgeUncertain,
        ErrorCode::SessionEnded,
        ErrorCode::CheckMissing,
    ];

    pub fn code(self) -> u16 {
        self as u16
    }

    pub fn from_code(code: u16) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.code() == code)
    }

    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::NoFace => "no-face",
            ErrorCode::SeveralFaces => "several-faces",
            ErrorCode::FaceTooSmall => "face-too-small",
            ErrorCode::FaceNearBorder => "face-near-border",
            ErrorCode::Blurred => "blurred",
            ErrorCode::Dark => "dark",
            ErrorCode::Overexposed => "overexposed",
            ErrorCode::UnevenIllumination => "uneven-illumination",
            ErrorCode::Specular => "specular",
            ErrorCode::SpoofSuspected => "spoof-suspected",
            ErrorCode::SurfaceSuspected => "surface-suspected",
            ErrorCode::ChallengeTimeout => "challenge-timeout",
            ErrorCode::ChallengeFailed => "challenge-failed",
            ErrorCode::AgeBelowThreshold => "age-below-threshold",
            ErrorCode::AgeUncertain => "age-uncertain",
            ErrorCode::SessionEnded => "session-ended",
            ErrorCode::CheckMissing => "check-missing",
        }
    }

    pub fn meaning(self) -> &'static str {
        match self {
            ErrorCode::NoFace => "No face was found in the frame (or in the whole session).",
            ErrorCode::SeveralFaces => {
                "More than one main face (at least half as wide as the largest) is in the frame."
            }
            ErrorCode::FaceTooSmall => "The main face is smaller than `min-face-size` pixels: come closer.",
            ErrorCode::FaceNearBorder => {
                "The main face is closer than `min-border-distance` pixels to the frame border, or cut by it."
            }
            ErrorCode::Blurred => "The face region is blurred (quality `isBlurred`).",
            ErrorCode::Dark => "The face region is too dark (quality `isDark`).",
            ErrorCode::Overexposed => "The face region is overexposed (quality `isHighlighted`).",
            ErrorCode::UnevenIllumination => "The face is lit unevenly (quality `isIlluminated`).",
            ErrorCode::Specular => "The face shows glare or glints (quality `isSpecular`).",
            ErrorCode::SpoofSuspected => {
                "The CNN anti-spoofing score (lvantispoof, aggregated over frames) is below its threshold."
            }
            ErrorCode::SurfaceSuspected => {
                "The passive surface checks (lvsurfaceanalysis) suggest a print or a screen."
            }
            ErrorCode::ChallengeTimeout => "The challenge session ran out of time.",
            ErrorCode::ChallengeFailed => {
                "Too few challenges were passed: the liveness score is below `min-liveness-score`."
            }
            ErrorCode::AgeBelowThreshold => "The estimated age of the best shot is below `min-age`.",
            ErrorCode::AgeUncertain => {
                "The age model is less sure than `min-age-confidence` that the person is at least `min-age`."
            }
            ErrorCode::SessionEnded => "The stream or session ended before the challenges were finished.",
            ErrorCode::CheckMissing => {
                "A check the session requires did not run (lvsurfaceanalysis or lvantispoof missing from the pipeline)."
            }
        }
    }

    /// The code of a failure named in lvchallenge's `liveness-verdict` (`failures`).
    pub fn from_verdict_failure(failure: &str) -> Option<ErrorCode> {
        Some(match failure {
            "timeout" => ErrorCode::ChallengeTimeout,
            "several-faces" => ErrorCode::SeveralFaces,
            "incomplete" => ErrorCode::SessionEnded,
            "liveness-score" => ErrorCode::ChallengeFailed,
            "surface-score" => ErrorCode::SurfaceSuspected,
            "antispoof" => ErrorCode::SpoofSuspected,
            "no-surface-analysis" | "no-antispoof" => ErrorCode::CheckMissing,
            _ => return None,
        })
    }

    /// The table as Markdown rows (`| code | name | meaning |`), as the README shows it.
    pub fn markdown_table() -> String {
        let mut table = String::from("| code | name | meaning |\n|---|---|---|\n");
        for code in ErrorCode::ALL {
            table.push_str(&format!("| {} | `{}` | {} |\n", code.code(), code.name(), code.meaning()));
        }
        table
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.code(), self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_numbered_in_order_and_round_trip() {
        for (i, code) in ErrorCode::ALL.iter().enumerate() {
            assert_eq!(code.code() as usize, i + 1);
            assert_eq!(ErrorCode::from_code(code.code()), Some(*code));
        }
        let mut names: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ErrorCode::ALL.len());
        assert_eq!(ErrorCode::from_code(0), None);
        assert_eq!(ErrorCode::from_code(99), None);
    }

    #[test]
    fn every_lvchallenge_failure_has_a_code() {
        // The failures lvchallenge documents on its verdict.
        for failure in [
            "timeout",
            "several-faces",
            "incomplete",
            "liveness-score",
            "surface-score",
            "no-surface-analysis",
            "antispoof",
            "no-antispoof",
        ] {
            assert!(ErrorCode::from_verdict_failure(failure).is_some(), "{failure}");
        }
        assert_eq!(ErrorCode::from_verdict_failure("something-else"), None);
    }
}
