//! The capture meta (`GstLivenessCaptureMeta`, a GStreamer custom meta holding a structure):
//! what an application that receives frames from elsewhere knows of their capture, for
//! lvsurfaceanalysis' stream signals. lpserver adds it to each frame it pushes: the client's
//! capture time (LPProto FRAME header `capture-ms`) and a hash of the frame's JPEG
//! quantisation tables, and the luma table itself (with it, lvsurfaceanalysis tells a frame
//! that re-encodes the one before from a new capture). Without it, the stream signals use the
//! buffer's timestamp and no tables (a camera source stamps its buffers with the capture time).

use gst::meta::CustomMeta;
use liveness_core::capture::Capture;

/// The meta's registered name.
pub const CAPTURE_META: &str = "GstLivenessCaptureMeta";

fn register() {
    static REGISTERED: std::sync::Once = std::sync::Once::new();
    REGISTERED.call_once(|| {
        if !CustomMeta::is_registered(CAPTURE_META) {
            CustomMeta::register_simple(CAPTURE_META);
        }
    });
}

/// The capture meta of a buffer.
pub trait CaptureMeta: Sized {
    /// Adds the meta to `buffer`.
    fn attach(&self, buffer: &mut gst::BufferRef);
    /// The meta of `buffer`, if it has one.
    fn of(buffer: &gst::BufferRef) -> Option<Self>;
}

impl CaptureMeta for Capture {
    fn attach(&self, buffer: &mut gst::BufferRef) {
        register();
        if let Ok(mut meta) = CustomMeta::add(buffer, CAPTURE_META) {
            let s = meta.mut_structure();
            if let Some(t) = self.time_ns {
                s.set("capture-time", t);
            }
            if let Some(h) = self.jpeg_tables {
                s.set("jpeg-tables", h);
            }
            if let Some(table) = self.luma_table {
                let bytes: Vec<u8> = table.iter().flat_map(|q| q.to_le_bytes()).collect();
                s.set("luma-table", gst::glib::Bytes::from_owned(bytes));
            }
        }
    }

    fn of(buffer: &gst::BufferRef) -> Option<Capture> {
        if !CustomMeta::is_registered(CAPTURE_META) {
            return None;
        }
        let meta = CustomMeta::from_buffer(buffer, CAPTURE_META).ok()?;
        let s = meta.structure();
        let luma_table = s.get::<gst::glib::Bytes>("luma-table").ok().and_then(|bytes| {
            let values: Vec<u16> = bytes.chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]])).collect();
            values.try_into().ok()
        });
        Some(Capture {
            time_ns: s.get::<u64>("capture-time").ok(),
            jpeg_tables: s.get::<u32>("jpeg-tables").ok(),
            luma_table,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_meta_travels_with_the_buffer() {
        gst::init().unwrap();
        let mut buffer = gst::Buffer::new();
        let capture = Capture { time_ns: Some(1_234), jpeg_tables: Some(7), luma_table: Some([3; 64]) };
        capture.attach(buffer.get_mut().unwrap());
        assert_eq!(Capture::of(&buffer), Some(capture));
        assert_eq!(Capture::of(&gst::Buffer::new()), None);
    }
}
