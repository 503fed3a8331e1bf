use super::*;

/// A view of packed RGB pixels, three bytes a pixel, rows without padding.
fn packed_rgb(pixels: &[u8], width: usize, height: usize) -> FrameView<'_> {
    let layout = PixelLayout::PackedRgb { bytes_per_pixel: 3, r: 0, g: 1, b: 2 };
    FrameView::new(width, height, layout, [pixels, &[], &[]], [width * 3, 0, 0], YuvMatrix::BT601_LIMITED)
        .expect("a packed RGB frame")
}

fn rgb_to_yuv601_limited(rgb: [f32; 3]) -> [u8; 3] {
    let y = 16.0 + (65.481 * rgb[0] + 128.553 * rgb[1] + 24.966 * rgb[2]) / 255.0;
    let u = 128.0 + (-37.797 * rgb[0] - 74.203 * rgb[1] + 112.0 * rgb[2]) / 255.0;
    let v = 128.0 + (112.0 * rgb[0] - 93.786 * rgb[1] - 18.214 * rgb[2]) / 255.0;
    [y.round() as u8, u.round() as u8, v.round() as u8]
}

#[test]
fn bt601_limited_round_trips_primary_colours() {
    for rgb in [[255.0, 0.0, 0.0], [0.0, 255.0, 0.0], [0.0, 0.0, 255.0], [128.0, 128.0, 128.0], [200.0, 150.0, 90.0]] {
        let yuv = rgb_to_yuv601_limited(rgb);
        let back = YuvMatrix::BT601_LIMITED.to_rgb([yuv[0] as f32, yuv[1] as f32, yuv[2] as f32]);
        for c in 0..3 {
            assert!((back[c] - rgb[c]).abs() < 2.5, "{rgb:?} -> {yuv:?} -> {back:?}");
        }
    }
}

/// The same 4x2 picture in every layout must read back as the same RGB.
#[test]
fn every_layout_reads_the_same_pixels() {
    let picture: Vec<[f32; 3]> = (0..8).map(|i| [i as f32 * 30.0, 255.0 - i as f32 * 30.0, 100.0]).collect();
    let (w, h) = (4usize, 2usize);
    let rgba: Vec<u8> = picture.iter().flat_map(|p| [p[0] as u8, p[1] as u8, p[2] as u8, 255]).collect();
    let bgr: Vec<u8> = picture.iter().flat_map(|p| [p[2] as u8, p[1] as u8, p[0] as u8]).collect();
    let rgba_view = FrameView::new(
        w,
        h,
        PixelLayout::PackedRgb { bytes_per_pixel: 4, r: 0, g: 1, b: 2 },
        [&rgba, &[], &[]],
        [16, 0, 0],
        YuvMatrix::BT601_LIMITED,
    )
    .unwrap();
    let bgr_view = FrameView::new(
        w,
        h,
        PixelLayout::PackedRgb { bytes_per_pixel: 3, r: 2, g: 1, b: 0 },
        [&bgr, &[], &[]],
        [12, 0, 0],
        YuvMatrix::BT601_LIMITED,
    )
    .unwrap();
    for y in 0..h {
        for x in 0..w {
            assert_eq!(rgba_view.rgb(x, y), bgr_view.rgb(x, y));
            assert_eq!(rgba_view.rgb(x, y), Some(picture[y * w + x]));
        }
    }
    // A flat colour in I420 and NV12 reads back as that colour everywhere.
    let yuv = rgb_to_yuv601_limited([200.0, 150.0, 90.0]);
    let luma = vec![yuv[0]; w * h];
    let (u, v) = (vec![yuv[1]; 2], vec![yuv[2]; 2]);
    let uv: Vec<u8> = [yuv[1], yuv[2], yuv[1], yuv[2]].to_vec();
    let i420 =
        FrameView::new(w, h, PixelLayout::Yuv420Planar, [&luma, &u, &v], [4, 2, 2], YuvMatrix::BT601_LIMITED).unwrap();
    let nv12 = FrameView::new(
        w,
        h,
        PixelLayout::Yuv420SemiPlanar { u_first: true },
        [&luma, &uv, &[]],
        [4, 4, 0],
        YuvMatrix::BT601_LIMITED,
    )
    .unwrap();
    let yuy2_bytes: Vec<u8> =
        (0..h).flat_map(|_| [yuv[0], yuv[1], yuv[0], yuv[2], yuv[0], yuv[1], yuv[0], yuv[2]]).collect();
    let yuy2 = FrameView::new(
        w,
        h,
        PixelLayout::Yuv422Packed { y_offset: 0, u_offset: 1, v_offset: 3 },
        [&yuy2_bytes, &[], &[]],
        [8, 0, 0],
        YuvMatrix::BT601_LIMITED,
    )
    .unwrap();
    for view in [i420, nv12, yuy2] {
        let px = view.rgb(3, 1).unwrap();
        assert!(
            (px[0] - 200.0).abs() < 2.5 && (px[1] - 150.0).abs() < 2.5 && (px[2] - 90.0).abs() < 2.5,
            "{:?}: {px:?}",
            view.layout
        );
    }
    assert_eq!(i420.rgb(4, 0), None);
}

#[test]
fn the_y_plane_reader_gives_the_luma_of_every_pixel() {
    let (w, h) = (6usize, 4usize);
    let luma: Vec<u8> = (0..w * h).map(|i| (i * 23 % 256) as u8).collect();
    let chroma = vec![128u8; w * h];
    for (layout, matrix) in [
        (PixelLayout::Yuv420Planar, YuvMatrix::BT601_LIMITED),
        (
            PixelLayout::Yuv420SemiPlanar { u_first: true },
            YuvMatrix { limited_range: false, ..YuvMatrix::BT709_LIMITED },
        ),
    ] {
        let view = FrameView::new(w, h, layout, [&luma, &chroma, &chroma], [w, w, w], matrix).unwrap();
        let read = view.y_plane_luma().expect("a Y plane");
        for (x, y) in (0..h).flat_map(|y| (0..w).map(move |x| (x, y))) {
            assert_eq!(read(x, y), view.luma(x, y), "{layout:?} at {x},{y}");
        }
    }
    let rgb = vec![0u8; w * h * 3];
    let packed = packed_rgb(&rgb, w, h);
    assert!(packed.y_plane_luma().is_none());
}

#[test]
fn short_planes_are_rejected_not_read() {
    let small = vec![0u8; 10];
    let err =
        FrameView::new(4, 4, PixelLayout::Gray, [&small, &[], &[]], [4, 0, 0], YuvMatrix::BT601_LIMITED).unwrap_err();
    assert!(matches!(err, FrameError::PlaneTooSmall { plane: 0, needed: 16, .. }));
}

#[test]
fn resampling_averages_and_pads() {
    // 8x8 grey frame: left half black, right half white.
    let pixels: Vec<u8> = (0..64).map(|i| if i % 8 < 4 { 0 } else { 255 }).collect();
    let view =
        FrameView::new(8, 8, PixelLayout::Gray, [&pixels, &[], &[]], [8, 0, 0], YuvMatrix::BT601_LIMITED).unwrap();
    // 2x2 output covering the frame: each output pixel averages a 4x4 block.
    let map = Affine { xu: 4.0, xv: 0.0, x0: 0.0, yu: 0.0, yv: 4.0, y0: 0.0 };
    let mut out = vec![0.0; 12];
    resample_rgb(&view, &map, 2, 2, &mut out, |v| v);
    assert_eq!(&out[0..3], &[0.0, 0.0, 0.0]);
    assert_eq!(&out[3..6], &[255.0, 255.0, 255.0]);
    // Shifted by half the frame to the right: the right output column falls outside.
    let shifted = Affine { x0: 4.0, ..map };
    resample_rgb(&view, &shifted, 2, 2, &mut out, |v| v / 255.0);
    assert_eq!(out[0], 1.0);
    assert_eq!(out[3], PAD_RGB[0] / 255.0);
    // An empty output is left alone.
    resample_rgb(&view, &map, 0, 2, &mut [], |v| v);
    resample_luma(&view, &map, 2, 0, &mut []);
    resample_luma(&view, &Affine { xu: 0.5, yv: 0.5, ..map }, 0, 2, &mut []);
}

#[test]
fn luma_reads_the_y_plane_in_full_range_and_interpolates_when_enlarging() {
    let luma = [16u8, 235, 16, 235];
    let chroma = [128u8];
    let i420 =
        FrameView::new(2, 2, PixelLayout::Yuv420Planar, [&luma, &chroma, &chroma], [2, 1, 1], YuvMatrix::BT601_LIMITED)
            .unwrap();
    let mut out = vec![0.0; 4];
    resample_luma(&i420, &Affine { xu: 1.0, xv: 0.0, x0: 0.0, yu: 0.0, yv: 1.0, y0: 0.0 }, 2, 2, &mut out);
    assert_eq!(out, vec![0.0, 255.0, 0.0, 255.0]);
    let rgb = [200u8, 150, 90];
    let one = packed_rgb(&rgb, 1, 1);
    let mut px = vec![0.0; 1];
    resample_luma(&one, &Affine { xu: 1.0, xv: 0.0, x0: 0.0, yu: 0.0, yv: 1.0, y0: 0.0 }, 1, 1, &mut px);
    assert!((px[0] - (0.299 * 200.0 + 0.587 * 150.0 + 0.114 * 90.0)).abs() < 0.01, "{px:?}");
    // Enlarged 4x: values between the two columns are interpolated, not repeated.
    let mut wide = vec![0.0; 8 * 8];
    resample_luma(&i420, &Affine { xu: 0.25, xv: 0.0, x0: 0.0, yu: 0.0, yv: 0.25, y0: 0.0 }, 8, 8, &mut wide);
    let distinct: std::collections::BTreeSet<u32> = wide[..8].iter().map(|v| v.round() as u32).collect();
    assert!(distinct.len() >= 4, "{:?}", &wide[..8]);
    // The axis-aligned fast path and the general path give the same canvas.
    let pixels: Vec<u8> = (0..20 * 20).map(|i| (i * 13 % 256) as u8).collect();
    let grey =
        FrameView::new(20, 20, PixelLayout::Gray, [&pixels, &[], &[]], [20, 0, 0], YuvMatrix::BT601_LIMITED).unwrap();
    let straight = Affine { xu: 0.3, xv: 0.0, x0: 2.0, yu: 0.0, yv: 0.3, y0: 1.0 };
    let (mut a, mut b) = (vec![0.0; 40 * 40], vec![0.0; 40 * 40]);
    resample_luma(&grey, &straight, 40, 40, &mut a);
    resample_luma(&grey, &Affine { xv: 1e-9, ..straight }, 40, 40, &mut b);
    for (p, q) in a.iter().zip(&b) {
        assert!((p - q).abs() < 1e-3, "{p} {q}");
    }
}

#[test]
fn rgb_luma_through_the_patch_equals_the_luma_of_each_tap() {
    let pixels: Vec<u8> = (0..64 * 48 * 3).map(|i| (i * 31 % 253) as u8).collect();
    let rgb = packed_rgb(&pixels, 64, 48);
    let maps = [
        // enlarging, axis-aligned; rotated; shrinking; partly outside the frame
        Affine { xu: 0.2, xv: 0.0, x0: 10.0, yu: 0.0, yv: 0.2, y0: 5.0 },
        Affine { xu: 0.25, xv: -0.1, x0: 30.0, yu: 0.1, yv: 0.25, y0: 4.0 },
        Affine { xu: 2.0, xv: 0.0, x0: 0.0, yu: 0.0, yv: 2.0, y0: 0.0 },
        Affine { xu: 0.5, xv: 0.0, x0: -8.0, yu: 0.0, yv: 0.5, y0: 30.0 },
    ];
    for map in maps {
        let (mut fast, mut each) = (vec![0.0; 40 * 40], vec![0.0; 40 * 40]);
        resample_luma(&rgb, &map, 40, 40, &mut fast);
        luma_with((64, 48), &map, 40, 40, &mut each, &PixelAtATime(|x, y| [rgb.luma(x, y), 0.0, 0.0]));
        for (p, q) in fast.iter().zip(&each) {
            assert!((p - q).abs() < 1e-3, "{map:?}: {p} {q}");
        }
    }
}

/// The layouts' own readers and the pixel-at-a-time reader give the same sums, along an
/// axis-aligned walk and a rotated one, partly outside the frame.
#[test]
fn layout_readers_agree_with_the_generic_reader() {
    let (w, h) = (37usize, 23usize);
    let luma: Vec<u8> = (0..w * h).map(|i| (i * 7 % 251) as u8).collect();
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let u: Vec<u8> = (0..cw * ch).map(|i| (i * 11 % 241) as u8).collect();
    let v: Vec<u8> = (0..cw * ch).map(|i| (i * 5 % 239) as u8).collect();
    let i420 = FrameView::new(w, h, PixelLayout::Yuv420Planar, [&luma, &u, &v], [w, cw, cw], YuvMatrix::BT601_LIMITED)
        .unwrap();
    let packed: Vec<u8> = (0..w * h * 3).map(|i| (i * 13 % 253) as u8).collect();
    let rgb = packed_rgb(&packed, w, h);
    type Walker<'a> = dyn Fn(&Affine, &mut dyn FnMut(usize, &RowSums)) + 'a;
    let sums = |samples: &Walker, map: &Affine| {
        let mut all = Vec::new();
        samples(map, &mut |_, sums: &RowSums| {
            all.push((sums.channels.clone(), sums.counts.clone()));
        });
        all
    };
    let maps = [
        Affine { xu: 2.5, xv: 0.0, x0: -3.0, yu: 0.0, yv: 2.5, y0: 1.0 },
        Affine { xu: 1.2, xv: -0.7, x0: 12.0, yu: 0.7, yv: 1.2, y0: -4.0 },
        Affine { xu: 0.6, xv: 0.0, x0: 20.0, yu: 0.0, yv: 0.6, y0: 10.0 },
    ];
    for map in &maps {
        let own = sums(&|m, row| resample_with((w, h), m, 16, 12, &I420(i420), row), map);
        let generic =
            sums(&|m, row| resample_with((w, h), m, 16, 12, &PixelAtATime(|x, y| i420.native(x, y)), row), map);
        assert_eq!(own, generic, "I420 {map:?}");
        assert!(own.iter().any(|(_, n)| n.contains(&0.0)) || map.x0 > 0.0, "some pixels fall outside: {map:?}");
        let own = sums(&|m, row| resample_with((w, h), m, 16, 12, &Rgb24(rgb), row), map);
        let generic =
            sums(&|m, row| resample_with((w, h), m, 16, 12, &PixelAtATime(|x, y| rgb.native(x, y)), row), map);
        assert_eq!(own, generic, "RGB {map:?}");
    }
}

/// Every pixel's samples read one by one, each checked against the frame: what the walk's
/// shortcuts (precomputed rows and columns, whole grids and rows inside) must reproduce.
fn plain_walk(size: (usize, usize), map: &Affine, out_w: usize, out_h: usize, frame: &FrameView) -> Vec<f32> {
    let grid = (map.scale().round() as usize).clamp(1, 4);
    let mut all = Vec::new();
    for v in 0..out_h {
        for u in 0..out_w {
            let (mut s, mut n) = ([0.0f32; 3], 0.0);
            for j in 0..grid {
                for i in 0..grid {
                    let step = 1.0 / grid as f32;
                    let (dx, dy) = ((i as f32 + 0.5) * step, (j as f32 + 0.5) * step);
                    let (x, y) = map.apply(u as f32 + dx, v as f32 + dy);
                    if x >= 0.0 && y >= 0.0 && x < size.0 as f32 && y < size.1 as f32 {
                        let px = frame.native(x as usize, y as usize);
                        (0..3).for_each(|c| s[c] += px[c]);
                        n += 1.0;
                    }
                }
            }
            all.extend(s);
            all.push(n);
        }
    }
    all
}

#[test]
fn the_walk_reads_the_samples_a_plain_walk_reads() {
    let (w, h) = (64usize, 48usize);
    let luma: Vec<u8> = (0..w * h).map(|i| (i * 7 % 251) as u8).collect();
    let chroma: Vec<u8> = (0..w * h / 4).map(|i| (i * 11 % 241) as u8).collect();
    let view = FrameView::new(
        w,
        h,
        PixelLayout::Yuv420Planar,
        [&luma, &chroma, &chroma],
        [w, w / 2, w / 2],
        YuvMatrix::BT601_LIMITED,
    )
    .unwrap();
    let turned = |angle: f32, scale: f32, x0: f32, y0: f32| {
        let (sin, cos) = angle.sin_cos();
        Affine { xu: cos * scale, xv: -sin * scale, x0, yu: sin * scale, yv: cos * scale, y0 }
    };
    let maps = [
        // axis-aligned: inside, partly outside, shrinking 1x to 4x
        Affine { xu: 1.0, xv: 0.0, x0: 10.0, yu: 0.0, yv: 1.0, y0: 5.0 },
        Affine { xu: 2.2, xv: 0.0, x0: -7.0, yu: 0.0, yv: 2.2, y0: 20.0 },
        Affine { xu: 3.1, xv: 0.0, x0: 0.0, yu: 0.0, yv: 3.1, y0: 0.0 },
        Affine { xu: 4.0, xv: 0.0, x0: 0.5, yu: 0.0, yv: 4.0, y0: -3.0 },
        // turned: inside, across an edge, at several scales
        turned(0.3, 1.2, 20.0, 4.0),
        turned(-0.4, 1.6, 30.0, 2.0),
        turned(0.9, 2.5, 40.0, -10.0),
        turned(0.2, 3.8, -5.0, 1.0),
    ];
    for map in &maps {
        let mut walked = Vec::new();
        resample_with((w, h), map, 12, 10, &I420(view), |_, sums: &RowSums| {
            for u in 0..12 {
                walked.extend([sums.channels[0][u], sums.channels[1][u], sums.channels[2][u], sums.counts[u]]);
            }
        });
        assert_eq!(walked, plain_walk((w, h), map, 12, 10, &view), "{map:?}");
    }
}

#[test]
fn axis_aligned_and_general_paths_agree() {
    let pixels: Vec<u8> = (0..48 * 32 * 3).map(|i| (i * 7 % 251) as u8).collect();
    let view = packed_rgb(&pixels, 48, 32);
    let straight = Affine { xu: 2.5, xv: 0.0, x0: -3.0, yu: 0.0, yv: 2.5, y0: 1.0 };
    // The same map with a rotation too small to move any sample to another pixel... but
    // enough to take the general path.
    let almost = Affine { xv: 1e-7, ..straight };
    let (mut a, mut b) = (vec![0.0; 20 * 14 * 3], vec![0.0; 20 * 14 * 3]);
    resample_rgb(&view, &straight, 20, 14, &mut a, |v| v);
    resample_rgb(&view, &almost, 20, 14, &mut b, |v| v);
    assert_eq!(a, b);
}
