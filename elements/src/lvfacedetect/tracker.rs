//! Track ids: the same face keeps its id from frame to frame by box overlap.

use crate::meta::Rect;

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
}
