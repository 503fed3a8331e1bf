//! The custom upstream events that carry the contracts between elements
//! ([`liveness_core::contracts`]): what lvchallenge needs from the face mesh, and where the mesh
//! found each face for lvfacedetect's tracker.

use gst::prelude::*;
use liveness_core::contracts::{NEEDS_EVENT, Needs};
use liveness_core::face::{MESH_EVENT, MeshReport, Rect};

/// The upstream event saying `needs`.
pub fn needs_event(needs: Needs) -> gst::Event {
    gst::event::CustomUpstream::new(
        gst::Structure::builder(NEEDS_EVENT)
            .field("fine-motion", needs.fine_motion)
            .field("expressions", needs.expressions)
            .build(),
    )
}

/// The needs a [`NEEDS_EVENT`] structure carries; None for any other structure.
pub fn parse_needs_event(s: &gst::StructureRef) -> Option<Needs> {
    (s.name() == NEEDS_EVENT).then_some(())?;
    Some(Needs { fine_motion: s.get("fine-motion").ok()?, expressions: s.get("expressions").ok()? })
}

/// The upstream event carrying a frame's reports.
pub fn mesh_event(pts: Option<gst::ClockTime>, reports: &[MeshReport]) -> gst::Event {
    let tracks: Vec<gst::glib::SendValue> = reports
        .iter()
        .map(|r| {
            let mut track =
                gst::Structure::builder("track").field("track-id", r.track_id).field("found", r.bbox.is_some());
            if let Some(b) = r.bbox {
                track = track
                    .field("x", b.x as f64)
                    .field("y", b.y as f64)
                    .field("width", b.width as f64)
                    .field("height", b.height as f64);
            }
            track.build().to_send_value()
        })
        .collect();
    let mut structure = gst::Structure::builder(MESH_EVENT).field("tracks", gst::List::new(tracks));
    if let Some(pts) = pts {
        structure = structure.field("pts", pts.nseconds());
    }
    gst::event::CustomUpstream::new(structure.build())
}

/// The reports and frame time of a [`MESH_EVENT`] structure; None for any other structure.
pub fn parse_mesh_event(s: &gst::StructureRef) -> Option<(Option<u64>, Vec<MeshReport>)> {
    if s.name() != MESH_EVENT {
        return None;
    }
    let pts = s.get::<u64>("pts").ok();
    let tracks = s.get::<gst::List>("tracks").ok()?;
    let reports = tracks
        .iter()
        .filter_map(|v| v.get::<gst::Structure>().ok())
        .filter_map(|t| {
            let track_id = t.get::<u64>("track-id").ok()?;
            let number = |name: &str| t.get::<f64>(name).ok().map(|v| v as f32);
            let bbox = match t.get::<bool>("found").ok()? {
                true => {
                    Some(Rect { x: number("x")?, y: number("y")?, width: number("width")?, height: number("height")? })
                }
                false => None,
            };
            Some(MeshReport { track_id, bbox })
        })
        .collect();
    Some((pts, reports))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mesh_events_carry_their_reports() {
        gst::init().unwrap();
        let reports = [
            MeshReport { track_id: 4, bbox: Some(Rect { x: 1.0, y: 2.0, width: 30.0, height: 40.0 }) },
            MeshReport { track_id: 5, bbox: None },
        ];
        let event = mesh_event(Some(gst::ClockTime::from_mseconds(200)), &reports);
        let parsed = parse_mesh_event(event.structure().unwrap()).unwrap();
        assert_eq!(parsed, (Some(200_000_000), reports.to_vec()));
        assert!(parse_mesh_event(&gst::Structure::new_empty("other")).is_none());
    }

    #[test]
    fn needs_events_carry_the_needs() {
        gst::init().unwrap();
        let needs = Needs { fine_motion: true, expressions: false };
        assert_eq!(parse_needs_event(needs_event(needs).structure().unwrap()), Some(needs));
        assert_eq!(parse_needs_event(&gst::Structure::new_empty(MESH_EVENT)), None);
    }
}
