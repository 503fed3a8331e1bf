//! The findings of a liveness check: one table for the per-frame results of `lvjwtsink`, the
//! `errors` of its verdict token, and the findings `lpserver` passes on (STATS, ERROR, REST).
//!
//! Codes 1-99 are findings about the person in front of the camera (frame checks and session
//! verdicts); the server's own transport and protocol errors (1000 and up) are the server's.
//! A code never changes its meaning; new findings get new numbers.

/// One finding, with a stable number ([`Finding::code`]), a name for logs and JSON
/// ([`Finding::name`]) and a sentence for people ([`Finding::meaning`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u16)]
pub enum Finding {
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
    NotCalibrated = 18,
    PlanarMotion = 19,
    WrongMovement = 20,
    FlashMismatch = 21,
    DuplicateFrames = 22,
    NoSensorNoise = 23,
    RegularTiming = 24,
    StaticJpegTables = 25,
}

impl Finding {
    /// Every code, in number order.
    pub const ALL: [Finding; 25] = [
        Finding::NoFace,
        Finding::SeveralFaces,
        Finding::FaceTooSmall,
        Finding::FaceNearBorder,
        Finding::Blurred,
        Finding::Dark,
        Finding::Overexposed,
        Finding::UnevenIllumination,
        Finding::Specular,
        Finding::SpoofSuspected,
        Finding::SurfaceSuspected,
        Finding::ChallengeTimeout,
        Finding::ChallengeFailed,
        Finding::AgeBelowThreshold,
        Finding::AgeUncertain,
        Finding::SessionEnded,
        Finding::CheckMissing,
        Finding::NotCalibrated,
        Finding::PlanarMotion,
        Finding::WrongMovement,
        Finding::FlashMismatch,
        Finding::DuplicateFrames,
        Finding::NoSensorNoise,
        Finding::RegularTiming,
        Finding::StaticJpegTables,
    ];

    pub fn code(self) -> u16 {
        self as u16
    }

    pub fn name(self) -> &'static str {
        match self {
            Finding::NoFace => "no-face",
            Finding::SeveralFaces => "several-faces",
            Finding::FaceTooSmall => "face-too-small",
            Finding::FaceNearBorder => "face-near-border",
            Finding::Blurred => "blurred",
            Finding::Dark => "dark",
            Finding::Overexposed => "overexposed",
            Finding::UnevenIllumination => "uneven-illumination",
            Finding::Specular => "specular",
            Finding::SpoofSuspected => "spoof-suspected",
            Finding::SurfaceSuspected => "surface-suspected",
            Finding::ChallengeTimeout => "challenge-timeout",
            Finding::ChallengeFailed => "challenge-failed",
            Finding::AgeBelowThreshold => "age-below-threshold",
            Finding::AgeUncertain => "age-uncertain",
            Finding::SessionEnded => "session-ended",
            Finding::CheckMissing => "check-missing",
            Finding::NotCalibrated => "not-calibrated",
            Finding::PlanarMotion => "planar-motion",
            Finding::WrongMovement => "wrong-movement",
            Finding::FlashMismatch => "flash-mismatch",
            Finding::DuplicateFrames => "duplicate-frames",
            Finding::NoSensorNoise => "no-sensor-noise",
            Finding::RegularTiming => "regular-timing",
            Finding::StaticJpegTables => "static-jpeg-tables",
        }
    }

    pub fn meaning(self) -> &'static str {
        match self {
            Finding::NoFace => "No face was found in the frame (or in the whole session).",
            Finding::SeveralFaces => {
                "More than one main face (at least half as wide as the largest, and beside it a detection scored 0.7 or more) is in the frame."
            }
            Finding::FaceTooSmall => "The main face is smaller than `min-face-size` pixels: come closer.",
            Finding::FaceNearBorder => {
                "The main face is closer than `min-border-distance` pixels to the frame border, or cut by it."
            }
            Finding::Blurred => "The face region is blurred (quality `isBlurred`).",
            Finding::Dark => "The face region is too dark (quality `isDark`).",
            Finding::Overexposed => "The face region is overexposed (quality `isHighlighted`).",
            Finding::UnevenIllumination => "The face is lit unevenly (quality `isIlluminated`).",
            Finding::Specular => "The face shows glare or glints (quality `isSpecular`).",
            Finding::SpoofSuspected => {
                "The passive presentation-attack score (lvantispoof: the fusion of a CNN and print, screen and recapture traces, aggregated over frames) is below its threshold."
            }
            Finding::SurfaceSuspected => "The passive surface checks (lvsurfaceanalysis) suggest a print or a screen.",
            Finding::ChallengeTimeout => "The challenge session ran out of time.",
            Finding::ChallengeFailed => {
                "Too few challenges were passed (not performed in time, or not begun within the reaction window): the liveness score is below `min-liveness-score`."
            }
            Finding::AgeBelowThreshold => {
                "The age estimated over the session's good frames makes it at least `min-age-confidence` likely that the person is under `min-age`."
            }
            Finding::AgeUncertain => {
                "The age could not be confirmed: the estimate over the session's good frames lies under `min-age` + `age-buffer`, the model is not sure enough, or fewer than 10 frames were good enough. Not a liveness failure: send the person to a document check (lpserver does not count it as a failed attempt when it is the only finding)."
            }
            Finding::SessionEnded => "The stream or session ended before the challenges were finished.",
            Finding::CheckMissing => {
                "A check the session requires never gave a result on the session's face (lvsurfaceanalysis or lvantispoof missing from the pipeline)."
            }
            Finding::NotCalibrated => {
                "A face was seen but never held a steady neutral pose within `calibration-max-degrees` of frontal (hints: face the camera, move closer or back, hold still) before `calibration-timeout`: no challenge was asked."
            }
            Finding::PlanarMotion => {
                "A head movement was seen, but the face's landmarks moved as one plane (a photo or a screen tilted or turned), not as a head."
            }
            Finding::WrongMovement => {
                "Another movement than the one asked, or a movement already under way when the prompt appeared (a recording does not answer the prompt)."
            }
            Finding::FlashMismatch => {
                "The face's colour did not follow the screen-flash challenge's colours in time: the face was not lit by the screen (a replay, or frames injected past the camera)."
            }
            Finding::DuplicateFrames => {
                "More of the session's frames than `max-duplicate-share` repeated the frame before them (the same picture, at most re-encoded): a camera's sensor noise changes every frame, an injected stream may not."
            }
            Finding::NoSensorNoise => {
                "Where the picture stood still, the frames changed by less than `min-sensor-noise` luma levels from one to the next: no camera sensor's noise, as in a rendered or synthesised stream."
            }
            Finding::RegularTiming => {
                "The frames' capture times (LPProto `capture-ms`, else the buffer timestamps) step more evenly than `min-timing-jitter` allows: a camera's clock jitters, synthetic timestamps do not."
            }
            Finding::StaticJpegTables => {
                "Every frame carried the same JPEG quantisation tables, where the sender is to vary its encoder's quality (lpserver's page does): the frames were encoded elsewhere."
            }
        }
    }

    /// The code of a failure named in lvchallenge's `liveness-verdict` (`failures`).
    pub fn from_verdict_failure(failure: &str) -> Option<Finding> {
        Some(match failure {
            "timeout" => Finding::ChallengeTimeout,
            "several-faces" => Finding::SeveralFaces,
            "incomplete" => Finding::SessionEnded,
            "liveness-score" => Finding::ChallengeFailed,
            "surface-score" => Finding::SurfaceSuspected,
            "antispoof" => Finding::SpoofSuspected,
            "no-surface-analysis" | "no-antispoof" => Finding::CheckMissing,
            "no-face" => Finding::NoFace,
            "not-calibrated" => Finding::NotCalibrated,
            "planar-motion" => Finding::PlanarMotion,
            "wrong-movement" => Finding::WrongMovement,
            "flash-mismatch" => Finding::FlashMismatch,
            "duplicate-frames" => Finding::DuplicateFrames,
            "no-sensor-noise" => Finding::NoSensorNoise,
            "regular-timing" => Finding::RegularTiming,
            "static-jpeg-tables" => Finding::StaticJpegTables,
            _ => return None,
        })
    }
}

/// A table of codes, each with a stable number, a name and a sentence: the findings here and
/// lpserver's own errors. What follows from those is said once, here.
pub trait CodeTable: Copy + PartialEq + 'static {
    /// Every code, in number order.
    fn all() -> &'static [Self];
    fn code(self) -> u16;
    fn name(self) -> &'static str;
    fn meaning(self) -> &'static str;

    fn from_code(code: u16) -> Option<Self> {
        Self::all().iter().copied().find(|c| c.code() == code)
    }

    /// The table as Markdown rows (`| code | name | meaning |`), as the docs show it.
    fn markdown_table() -> String {
        let mut table = String::from("| code | name | meaning |\n|---|---|---|\n");
        for code in Self::all() {
            table.push_str(&format!("| {} | `{}` | {} |\n", code.code(), code.name(), code.meaning()));
        }
        table
    }
}

impl CodeTable for Finding {
    fn all() -> &'static [Self] {
        &Finding::ALL
    }

    fn code(self) -> u16 {
        self.code()
    }

    fn name(self) -> &'static str {
        self.name()
    }

    fn meaning(self) -> &'static str {
        self.meaning()
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.code(), self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_numbered_in_order_and_round_trip() {
        for pair in Finding::ALL.windows(2) {
            assert!(pair[0].code() < pair[1].code(), "{pair:?}");
        }
        for code in Finding::ALL {
            assert_eq!(Finding::from_code(code.code()), Some(code));
            assert!((1..100).contains(&code.code()), "{code}");
        }
        let mut names: Vec<&str> = Finding::ALL.iter().map(|c| c.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Finding::ALL.len());
        assert_eq!(Finding::from_code(0), None);
        assert_eq!(Finding::from_code(99), None);
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
            "no-face",
            "not-calibrated",
            "planar-motion",
            "wrong-movement",
        ] {
            assert!(Finding::from_verdict_failure(failure).is_some(), "{failure}");
        }
        assert_eq!(Finding::from_verdict_failure("something-else"), None);
    }
}
