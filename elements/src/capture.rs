//! The capture meta (`GstLivenessCaptureMeta`, a GStreamer custom meta holding a structure):
//! what an application that receives frames from elsewhere knows of their capture, for
//! lvsurfaceanalysis' stream signals. lpserver adds it to each frame it pushes: the client's
//! capture time (LPProto FRAME header `capture-ms`) and a hash of the frame's JPEG
//! quantisation tables. Without it, the stream signals use the buffer's timestamp and no
//! table hash (a camera source stamps its buffers with the capture time).

use gst::meta::CustomMeta;

/// The meta's registered name.
pub const CAPTURE_META: &str = "GstLivenessCaptureMeta";

/// What is known of one frame's capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capture {
    /// When the frame was captured, in ns of the sender's own clock.
    pub time_ns: Option<u64>,
    /// A hash of the frame's JPEG quantisation tables.
    pub jpeg_tables: Option<u32>,
}

fn register() {
    static REGISTERED: std::sync::Once = std::sync::Once::new();
    REGISTERED.call_once(|| {
        if !CustomMeta::is_registered(CAPTURE_META) {
            CustomMeta::register_simple(CAPTURE_META);
        }
    });
}

impl Capture {
    /// Adds the meta to `buffer`.
    pub fn attach(&self, buffer: &mut gst::BufferRef) {
        register();
        if let Ok(mut meta) = CustomMeta::add(buffer, CAPTURE_META) {
            let s = meta.mut_structure();
            if let Some(t) = self.time_ns {
                s.set("capture-time", t);
            }
            if let Some(h) = self.jpeg_tables {
                s.set("jpeg-tables", h);
            }
        }
    }

    /// The meta of `buffer`, if it has one.
    pub fn of(buffer: &gst::BufferRef) -> Option<Capture> {
        if !CustomMeta::is_registered(CAPTURE_META) {
            return None;
        }
        let meta = CustomMeta::from_buffer(buffer, CAPTURE_META).ok()?;
        let s = meta.structure();
        Some(Capture { time_ns: s.get::<u64>("capture-time").ok(), jpeg_tables: s.get::<u32>("jpeg-tables").ok() })
    }
}

/// A hash (FNV-1a) of the quantisation tables (DQT segments) of a JPEG, None when it has none
/// or is cut short.
pub fn jpeg_tables_hash(jpeg: &[u8]) -> Option<u32> {
    let mut hash: u32 = 0x811c_9dc5;
    let mut found = false;
    let mut at = 2usize;
    if jpeg.get(..2) != Some(&[0xff, 0xd8]) {
        return None;
    }
    // Segments up to the start of scan: marker, 16-bit length (itself included), payload.
    while let (Some(&0xff), Some(&marker)) = (jpeg.get(at), jpeg.get(at + 1)) {
        if marker == 0xda {
            break;
        }
        let length = u16::from_be_bytes([*jpeg.get(at + 2)?, *jpeg.get(at + 3)?]) as usize;
        let payload = jpeg.get(at + 4..at + 2 + length)?;
        if marker == 0xdb {
            found = true;
            for &b in payload {
                hash = (hash ^ b as u32).wrapping_mul(0x0100_0193);
            }
        }
        at += 2 + length;
    }
    found.then_some(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_meta_travels_with_the_buffer_and_tables_tell_qualities_apart() {
        gst::init().unwrap();
        let mut buffer = gst::Buffer::new();
        let capture = Capture { time_ns: Some(1_234), jpeg_tables: Some(7) };
        capture.attach(buffer.get_mut().unwrap());
        assert_eq!(Capture::of(&buffer), Some(capture));
        assert_eq!(Capture::of(&gst::Buffer::new()), None);
        let rgb = vec![128u8; 32 * 32 * 3];
        let at = |q| jpeg_tables_hash(&crate::frame::encode_jpeg(&rgb, 32, 32, q).unwrap());
        assert!(at(80).is_some());
        assert_eq!(at(80), at(80));
        assert_ne!(at(80), at(85));
        assert_eq!(jpeg_tables_hash(b"not a jpeg"), None);
        assert_eq!(jpeg_tables_hash(&[0xff, 0xd8, 0xff, 0xdb, 0x00]), None);
    }
}
