//! Track ids: the same face keeps its id from frame to frame by box overlap. Between
//! detections ([`Follower`]), a face keeps its last detection, moved and scaled as the face
//! mesh downstream (lvlandmarks) saw the face move since that detection.

use std::collections::HashMap;

use super::blazeface::Detection;
use liveness_core::face::{Keypoints, MeshReport, Point, Rect};

/// Two boxes at least this similar (IoU) in consecutive frames are the same face.
pub const DEFAULT_MIN_IOU: f32 = 0.3;
/// A face missing for more frames than this loses its id (covers a blink of the detector).
pub const DEFAULT_MAX_MISSED_FRAMES: u32 = 5;

#[derive(Debug, Clone)]
struct Track {
    id: u64,
    bbox: Rect,
    missed_frames: u32,
}

/// Greedy IoU matcher from detections to tracks.
#[derive(Debug, Clone)]
pub struct Tracker {
    tracks: Vec<Track>,
    next_id: u64,
    min_iou: f32,
    max_missed_frames: u32,
}

impl Default for Tracker {
    fn default() -> Self {
        Tracker::new(DEFAULT_MIN_IOU, DEFAULT_MAX_MISSED_FRAMES)
    }
}

impl Tracker {
    pub fn new(min_iou: f32, max_missed_frames: u32) -> Self {
        Tracker { tracks: Vec::new(), next_id: 1, min_iou, max_missed_frames }
    }

    /// Forgets every track; ids start again at 1.
    pub fn reset(&mut self) {
        *self = Tracker::new(self.min_iou, self.max_missed_frames);
    }

    /// Moves tracks to the boxes given for them (a frame the detector skipped).
    pub fn follow(&mut self, faces: &[(u64, Rect)]) {
        for (id, bbox) in faces {
            if let Some(track) = self.tracks.iter_mut().find(|t| t.id == *id) {
                track.bbox = *bbox;
                track.missed_frames = 0;
            }
        }
    }

    /// Gives each box of this frame a track id (same order as `boxes`).
    pub fn update(&mut self, boxes: &[Rect]) -> Vec<u64> {
        let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
        for (b, bbox) in boxes.iter().enumerate() {
            for (t, track) in self.tracks.iter().enumerate() {
                let iou = bbox.iou(&track.bbox);
                if iou >= self.min_iou {
                    pairs.push((iou, b, t));
                }
            }
        }
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut ids: Vec<Option<u64>> = vec![None; boxes.len()];
        let mut track_matched = vec![false; self.tracks.len()];
        for (_, b, t) in pairs {
            if ids[b].is_none() && !track_matched[t] {
                ids[b] = Some(self.tracks[t].id);
                track_matched[t] = true;
                self.tracks[t].bbox = boxes[b];
                self.tracks[t].missed_frames = 0;
            }
        }
        for (track, matched) in self.tracks.iter_mut().zip(&track_matched) {
            if !matched {
                track.missed_frames += 1;
            }
        }
        let max_missed = self.max_missed_frames;
        self.tracks.retain(|t| t.missed_frames <= max_missed);
        ids.iter()
            .zip(boxes)
            .map(|(id, bbox)| {
                id.unwrap_or_else(|| {
                    let id = self.next_id;
                    self.next_id += 1;
                    self.tracks.push(Track { id, bbox: *bbox, missed_frames: 0 });
                    id
                })
            })
            .collect()
    }
}

/// A track between detections.
#[derive(Debug, Clone)]
struct Followed {
    detection: Detection,
    /// The mesh's box on the frame of the detection, and its latest box.
    mesh_then: Option<Rect>,
    mesh_now: Option<Rect>,
    /// The mesh lost the face: the next frame is a detection frame.
    lost: bool,
}

impl Followed {
    /// The detection moved and scaled as the mesh's box moved since the detection frame.
    fn predicted(&self) -> Detection {
        let (Some(then), Some(now)) = (self.mesh_then, self.mesh_now) else {
            return self.detection;
        };
        let scale = if then.area() > 0.0 { (now.area() / then.area()).sqrt() } else { 1.0 };
        let (c0, c1) = (then.center(), now.center());
        let map = |p: Point| Point { x: c1.x + (p.x - c0.x) * scale, y: c1.y + (p.y - c0.y) * scale };
        let b = self.detection.bbox;
        let corner = map(Point { x: b.x, y: b.y });
        Detection {
            bbox: Rect { x: corner.x, y: corner.y, width: b.width * scale, height: b.height * scale },
            score: self.detection.score,
            keypoints: Keypoints::from_array(self.detection.keypoints.as_array().map(map)),
        }
    }
}

/// Decides which frames run the detector and where the faces are on the others.
#[derive(Debug, Default)]
pub struct Follower {
    tracks: HashMap<u64, Followed>,
    /// Time of the last detection frame, to tell its mesh report from later ones.
    detected_at: Option<u64>,
    frames_since_detection: u32,
}

impl Follower {
    /// Forgets every track: the next frame is a detection frame.
    pub fn reset(&mut self) {
        *self = Follower::default();
    }

    /// Whether the detector runs on this frame, detecting every `every_nth` frames: also
    /// when no face is followed or the mesh lost one. Counts the frame.
    pub fn detect_now(&mut self, every_nth: u32) -> bool {
        let due = self.frames_since_detection + 1 >= every_nth.max(1)
            || self.tracks.is_empty()
            || self.tracks.values().any(|t| t.lost);
        if !due {
            self.frames_since_detection += 1;
        }
        due
    }

    /// The detector ran on the frame at `pts`: its faces (with their track ids) are followed.
    pub fn detected(&mut self, pts: Option<u64>, faces: &[(u64, Detection)]) {
        self.tracks = faces
            .iter()
            .map(|(id, d)| (*id, Followed { detection: *d, mesh_then: None, mesh_now: None, lost: false }))
            .collect();
        self.detected_at = pts;
        self.frames_since_detection = 0;
    }

    /// Where the followed faces are on a frame the detector skips, by track id.
    pub fn predicted(&self) -> Vec<(u64, Detection)> {
        let mut faces: Vec<(u64, Detection)> = self.tracks.iter().map(|(id, t)| (*id, t.predicted())).collect();
        faces.sort_by_key(|(id, _)| *id);
        faces
    }

    /// What the mesh found on the frame at `pts`.
    pub fn report(&mut self, pts: Option<u64>, reports: &[MeshReport]) {
        let of_detection_frame = pts.is_some() && pts == self.detected_at;
        for report in reports {
            let Some(track) = self.tracks.get_mut(&report.track_id) else { continue };
            match report.bbox {
                None => track.lost = true,
                Some(bbox) => {
                    if of_detection_frame || track.mesh_then.is_none() {
                        track.mesh_then = Some(bbox);
                    }
                    track.mesh_now = Some(bbox);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(x: f32) -> Rect {
        Rect { x, y: 0.0, width: 100.0, height: 100.0 }
    }

    #[test]
    fn moving_faces_keep_their_ids() {
        let mut tracker = Tracker::default();
        assert_eq!(tracker.update(&[at(0.0), at(300.0)]), vec![1, 2]);
        // Both move a little and come in the other order.
        assert_eq!(tracker.update(&[at(310.0), at(8.0)]), vec![2, 1]);
        // A new face far away gets a new id.
        assert_eq!(tracker.update(&[at(10.0), at(600.0)]), vec![1, 3]);
    }

    #[test]
    fn short_misses_are_bridged_long_ones_are_not() {
        let mut tracker = Tracker::new(0.3, 2);
        assert_eq!(tracker.update(&[at(0.0)]), vec![1]);
        tracker.update(&[]);
        tracker.update(&[]);
        assert_eq!(tracker.update(&[at(0.0)]), vec![1]);
        for _ in 0..3 {
            tracker.update(&[]);
        }
        assert_eq!(tracker.update(&[at(0.0)]), vec![2]);
        tracker.reset();
        assert_eq!(tracker.update(&[at(0.0)]), vec![1]);
    }

    fn detection(x: f32, side: f32) -> Detection {
        let eye = Point { x: x + side * 0.3, y: side * 0.4 };
        Detection {
            bbox: Rect { x, y: 0.0, width: side, height: side },
            score: 0.9,
            keypoints: Keypoints { right_eye: eye, ..Keypoints::default() },
        }
    }

    #[test]
    fn between_detections_faces_follow_the_mesh() {
        let mut follower = Follower::default();
        assert!(follower.detect_now(3), "nothing followed yet");
        follower.detected(Some(0), &[(1, detection(100.0, 100.0))]);
        // The mesh's box is larger than the detector's; it is the motion that counts.
        let mesh = |x: f32, side: f32| Rect { x, y: -10.0, width: side, height: side };
        follower.report(Some(0), &[MeshReport { track_id: 1, bbox: Some(mesh(90.0, 120.0)) }]);
        assert!(!follower.detect_now(3));
        // The face moved 30 px right and 30 down and grew by half.
        follower.report(Some(1), &[MeshReport { track_id: 1, bbox: Some(mesh(90.0, 180.0)) }]);
        let predicted = follower.predicted();
        assert_eq!(predicted.len(), 1);
        let (id, d) = &predicted[0];
        assert_eq!(*id, 1);
        // Both boxes were centred on (150, 50); the mesh's centre is now (180, 80), scale 1.5.
        assert_eq!(d.bbox, Rect { x: 105.0, y: 5.0, width: 150.0, height: 150.0 });
        assert_eq!(d.keypoints.right_eye, Point { x: 150.0, y: 65.0 });
        assert!(!follower.detect_now(3));
        assert!(follower.detect_now(3), "the third frame detects");
    }

    #[test]
    fn a_face_the_mesh_lost_is_detected_again_on_the_next_frame() {
        let mut follower = Follower::default();
        follower.detected(Some(0), &[(1, detection(100.0, 100.0))]);
        assert!(!follower.detect_now(10));
        follower.report(Some(1), &[MeshReport { track_id: 1, bbox: None }]);
        assert!(follower.detect_now(10));
        // Without mesh reports (no lvlandmarks downstream) the face keeps its detection.
        follower.detected(Some(2), &[(1, detection(100.0, 100.0))]);
        assert!(!follower.detect_now(10));
        assert_eq!(follower.predicted()[0].1.bbox, detection(100.0, 100.0).bbox);
        follower.detected(Some(3), &[]);
        assert!(follower.detect_now(10), "no face followed: every frame detects");
    }
}
