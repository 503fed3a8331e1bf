//! Frames of odd sizes and formats through the whole chain: nothing panics, every buffer
//! comes out.

mod common;

use common::run;

#[test]
fn odd_sizes_and_formats_pass_through_the_chain() {
    let chain = "lvfacedetect min-score=0.01 ! lvlandmarks ! lvantispoof ! lvsurfaceanalysis";
    for (format, width, height) in [
        ("I420", 1, 1),
        ("I420", 3, 5),
        ("NV12", 7, 3),
        ("YUY2", 5, 2),
        ("RGB", 1, 301),
        ("BGRx", 333, 1),
        ("GRAY8", 2, 2),
        ("NV21", 641, 479),
    ] {
        for pattern in ["snow", "black", "white"] {
            let launch = format!(
                "videotestsrc pattern={pattern} num-buffers=3 ! video/x-raw,format={format},width={width},height={height} \
                 ! {chain} ! appsink name=out sync=false"
            );
            let result = run(&launch).unwrap_or_else(|err| panic!("{format} {width}x{height} {pattern}: {err}"));
            assert_eq!(result.buffers_of("out").len(), 3, "{format} {width}x{height} {pattern}");
        }
    }
}
