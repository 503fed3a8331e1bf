//! What a frame's capture tells besides its pixels: the sender's capture time and the JPEG
//! quantisation tables it was encoded with (a hash of all of them, and the luma table itself).
//! With the luma table the stream checks tell a frame that re-encodes the one before from a
//! new capture ([`crate::stream`]).

/// What is known of one frame's capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capture {
    /// When the frame was captured, in ns of the sender's own clock.
    pub time_ns: Option<u64>,
    /// A hash of the frame's JPEG quantisation tables.
    pub jpeg_tables: Option<u32>,
    /// The quantisation table of the JPEG's luma (first) component, in natural (row-major)
    /// order, where the frame's Y plane is that JPEG's own, at its own size.
    pub luma_table: Option<[u16; 64]>,
}

impl Capture {
    /// What a JPEG tells of its capture: its tables' hash and its luma table.
    pub fn of_jpeg(jpeg: &[u8]) -> Capture {
        Capture { time_ns: None, jpeg_tables: jpeg_tables_hash(jpeg), luma_table: jpeg_luma_table(jpeg) }
    }
}

/// The marker segments of a JPEG before its first scan: (marker, payload), None when it does
/// not start as a JPEG or a segment is cut short.
fn segments(jpeg: &[u8]) -> Option<Vec<(u8, &[u8])>> {
    if jpeg.get(..2) != Some(&[0xff, 0xd8]) {
        return None;
    }
    let mut found = Vec::new();
    let mut at = 2usize;
    // Segments up to the start of scan: marker, 16-bit length (itself included), payload.
    while let (Some(&0xff), Some(&marker)) = (jpeg.get(at), jpeg.get(at + 1)) {
        if marker == 0xda {
            break;
        }
        let length = u16::from_be_bytes([*jpeg.get(at + 2)?, *jpeg.get(at + 3)?]) as usize;
        found.push((marker, jpeg.get(at + 4..at + 2 + length)?));
        at += 2 + length;
    }
    Some(found)
}

/// Where each of the 64 coefficients of the zigzag order (as DQT stores them) sits in the 8 x 8
/// block, row-major.
const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21,
    28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54,
    47, 55, 62, 63,
];

/// The quantisation table of a JPEG's first component (its luma), in natural order; None when
/// the JPEG is cut short, has no frame header or names a table it does not define.
pub fn jpeg_luma_table(jpeg: &[u8]) -> Option<[u16; 64]> {
    let segments = segments(jpeg)?;
    // SOF0..SOF15 but DHT (c4), JPG (c8) and DAC (cc): precision, height, width, components,
    // then per component its id, sampling and table id.
    let (_, frame) = segments.iter().find(|(m, _)| (0xc0..=0xcf).contains(m) && ![0xc4, 0xc8, 0xcc].contains(m))?;
    let wanted = *frame.get(8)?;
    let mut table = None;
    for &(_, mut payload) in segments.iter().filter(|(m, _)| *m == 0xdb) {
        // A DQT holds one or more tables: precision and id, then 64 values of 8 or 16 bits.
        while let Some(&head) = payload.first() {
            let wide = head >> 4 == 1;
            let size = if wide { 128 } else { 64 };
            let values = payload.get(1..1 + size)?;
            if head & 0x0f == wanted {
                let mut natural = [0u16; 64];
                for (k, &at) in ZIGZAG.iter().enumerate() {
                    natural[at] =
                        if wide { u16::from_be_bytes([values[2 * k], values[2 * k + 1]]) } else { values[k] as u16 };
                }
                table = Some(natural);
            }
            payload = &payload[1 + size..];
        }
    }
    table.filter(|t| t.iter().all(|&q| q > 0))
}

/// A hash (FNV-1a) of the quantisation tables (DQT segments) of a JPEG, None when it has none
/// or is cut short.
pub fn jpeg_tables_hash(jpeg: &[u8]) -> Option<u32> {
    let mut hash: u32 = 0x811c_9dc5;
    let mut found = false;
    for (_, payload) in segments(jpeg)?.into_iter().filter(|(m, _)| *m == 0xdb) {
        found = true;
        for &b in payload {
            hash = (hash ^ b as u32).wrapping_mul(0x0100_0193);
        }
    }
    found.then_some(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_tell_qualities_apart() {
        let rgb = vec![128u8; 32 * 32 * 3];
        let at = |q| jpeg_tables_hash(&crate::frame::encode_jpeg(&rgb, 32, 32, q).unwrap());
        assert!(at(80).is_some());
        assert_eq!(at(80), at(80));
        assert_ne!(at(80), at(85));
        assert_eq!(jpeg_tables_hash(b"not a jpeg"), None);
        assert_eq!(jpeg_tables_hash(&[0xff, 0xd8, 0xff, 0xdb, 0x00]), None);
    }

    #[test]
    fn the_luma_table_is_read_in_natural_order() {
        let rgb = vec![128u8; 32 * 32 * 3];
        let table = |q| jpeg_luma_table(&crate::frame::encode_jpeg(&rgb, 32, 32, q).unwrap()).unwrap();
        // The standard (Annex K) luma table at quality 50 is the table itself: 16 11 10 16 ...
        // along the first row, 12 12 14 down the first column.
        let at50 = table(50);
        assert_eq!(&at50[..4], &[16, 11, 10, 16]);
        assert_eq!([at50[8], at50[16], at50[63]], [12, 14, 99]);
        assert!(table(90).iter().zip(&at50).all(|(fine, coarse)| fine <= coarse));
        assert_eq!(jpeg_luma_table(b"not a jpeg"), None);
        let jpeg = crate::frame::encode_jpeg(&rgb, 32, 32, 80).unwrap();
        assert_eq!(Capture::of_jpeg(&jpeg).luma_table, Some(table(80)));
        assert_eq!(jpeg_luma_table(&jpeg[..30]), None);
    }
}
