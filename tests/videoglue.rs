//! lvvideoglue and lvvideogluesrc against a real `redis-server`: the rendered demo clip stored
//! through the whole chain and glued back into a WebM that GStreamer decodes frame for frame,
//! the stored results equal to the chain's, the TTL, Redis lost at start and mid-stream,
//! session ids that try to reach other keys, and lpserver's session endpoints.

mod common;

use common::{RedisServer, Socket, clip_jpegs, connect, decode_webm, frame, http_with, open, plugin_dir, receive};
use common::{run_pipeline, scratch, send, start};
use gst::prelude::*;
use gstliveness::meta::FaceMeta;
use gstliveness::store::{Record, Store, session_key};

const SEQUENCE: &str = "turn_left,look_up,turn_right";
const ADMIN: &str = "admin-token-of-the-tests-0123456789";

fn redis(url: &str) -> redis::Connection {
    redis::Client::open(url).unwrap().get_connection().unwrap()
}

/// Every entry of a stored session.
fn records(url: &str, id: &str) -> Vec<Record> {
    let mut store = Store::connect(url).unwrap();
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let batch = store.read(&session_key(id), cursor.as_deref(), 50).unwrap();
        let Some((last, _)) = batch.last() else { break };
        cursor = Some(last.clone());
        all.extend(batch.into_iter().map(|(_, r)| r));
    }
    all
}

fn stored_frames(records: &[Record]) -> Vec<&gstliveness::store::StoredFrame> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Frame(f) => Some(f),
            Record::Summary(_) => None,
        })
        .collect()
}

fn summaries(records: &[Record]) -> Vec<serde_json::Value> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Summary(s) => Some(serde_json::from_str(s).expect("the summary is JSON")),
            Record::Frame(_) => None,
        })
        .collect()
}

/// The FaceMeta of a buffer as JSON, as lvvideoglue stores it.
fn meta_json(buffer: &gst::BufferRef) -> serde_json::Value {
    serde_json::to_value(buffer.meta::<FaceMeta>().expect("a FaceMeta").frame()).unwrap()
}

/// The astronaut photo (tests/fixtures/README.md) as one RGB frame, its caps, and a buffer of
/// it at `index` tenths of a second.
fn astronaut() -> (Vec<u8>, String) {
    let image = image::open(common::root().join("tests/fixtures/astronaut.png")).expect("astronaut.png").to_rgb8();
    let caps = format!("video/x-raw,format=RGB,width={},height={},framerate=10/1", image.width(), image.height());
    (image.into_raw(), caps)
}

fn tenth(rgb: &[u8], index: u64) -> gst::Buffer {
    let mut buffer = gst::Buffer::from_slice(rgb.to_vec());
    let b = buffer.get_mut().expect("a new buffer is writable");
    b.set_pts(gst::ClockTime::from_mseconds(index * 100));
    b.set_duration(gst::ClockTime::from_mseconds(100));
    buffer
}

#[test]
fn harness_lvvideoglue_refuses_other_caps_and_counts_fps_limit_again_after_a_flush() {
    let (_redis, url) = RedisServer::start();
    lpserver::init_gstreamer().unwrap();
    let (rgb, caps) = astronaut();
    let launch = format!("lvfacedetect ! lvvideoglue redis-url=\"{url}\" session-id=harness-1 fps-limit=5");
    let mut refused = gst_check::Harness::new_parse(&launch);
    refused.set_src_caps_str("video/x-raw,format=GRAY16_LE,width=64,height=64,framerate=10/1");
    assert_eq!(refused.push(gst::Buffer::from_slice(vec![0u8; 64 * 64 * 2])), Err(gst::FlowError::NotNegotiated));
    drop(refused);

    let mut h = gst_check::Harness::new_parse(&launch);
    h.set_src_caps_str(&caps);
    // 5 frames a second: the frame at 0.1 s is left out, the one at 0.2 s stored.
    for index in 0..3 {
        h.push(tenth(&rgb, index)).expect("lvvideoglue takes the frame");
    }
    assert!(h.push_event(gst::event::FlushStart::new()));
    assert!(h.push_event(gst::event::FlushStop::new(true)));
    assert!(h.push_event(gst::event::Segment::new(&gst::FormattedSegment::<gst::ClockTime>::new())));
    // Time starts again at 0 after the flush: that frame is stored, not taken as too soon.
    h.push(tenth(&rgb, 0)).expect("frames are taken after the flush");
    assert!(h.push_event(gst::event::Eos::new()));
    let records = records(&url, "harness-1");
    let pts: Vec<u64> = stored_frames(&records).iter().map(|f| f.pts_ns).collect();
    assert_eq!(pts, vec![0, 200_000_000, 0], "{pts:?}");
    assert!(summaries(&records).iter().any(|s| s["reason"] == "eos"), "the end of stream is summarised");

    // lvvideogluesrc reads the session back as timed JPEG frames, then ends the stream.
    let mut src = gst_check::Harness::new_parse(&format!("lvvideogluesrc redis-url=\"{url}\" session-id=harness-1"));
    src.play();
    // Buffers and events queue apart in the harness, in the order they were pushed: once the
    // EOS is in, every frame is.
    while src.pull_event().expect("events until the end of stream").type_() != gst::EventType::Eos {}
    let mut read = Vec::new();
    while let Some(buffer) = src.try_pull() {
        assert!(buffer.meta::<FaceMeta>().is_some(), "the stored FaceMeta comes back");
        read.push(buffer.pts().map(|t| t.nseconds()));
    }
    assert_eq!(read.len(), 3, "{read:?}");
    let caps = src.sinkpad().and_then(|pad| pad.current_caps()).expect("negotiated caps");
    assert_eq!(caps.structure(0).map(|s| s.name().as_str()), Some("image/jpeg"));
}

#[test]
fn a_stored_session_glues_into_a_webm_with_the_results_of_the_chain() {
    let (_redis, url) = RedisServer::start();
    let clip = common::root().join("tests/fixtures/demo-session.webm");
    let launch = format!(
        "filesrc location={} ! decodebin ! videoconvert ! video/x-raw,format=RGB ! lvfacedetect ! lvlandmarks \
         ! lvantispoof ! lvsurfaceanalysis ! lvchallenge sequence={SEQUENCE} ! tee name=t \
         t. ! queue ! lvvideoglue name=glue ttl=600 t. ! queue ! appsink name=out sync=false",
        clip.display()
    );
    let chain = run_pipeline(&launch, |p| {
        let glue = p.by_name("glue").unwrap();
        glue.set_property("redis-url", &url);
        glue.set_property("session-id", "clip-1");
    })
    .expect("the chain runs");
    assert_eq!(chain.buffers.len(), 180);

    // Every frame stored, with the results the chain attached to it.
    let records = records(&url, "clip-1");
    let frames = stored_frames(&records);
    assert_eq!(frames.len(), chain.buffers.len());
    for (stored, buffer) in frames.iter().zip(&chain.buffers) {
        assert_eq!(Some(stored.pts_ns), buffer.pts().map(|t| t.nseconds()));
        assert!(stored.jpeg.starts_with(&[0xFF, 0xD8]), "a JPEG");
        let chain_json = serde_json::to_vec(buffer.meta::<FaceMeta>().expect("a FaceMeta").frame()).unwrap();
        // Byte for byte the JSON of the chain's FaceMeta (not printed: 468 mesh points a face).
        assert!(stored.faces_json.as_ref() == Some(&chain_json), "results of the frame at {} ns", stored.pts_ns);
    }
    // The verdict of the performed sequence is summarised when it comes, the whole stream at
    // its end.
    let summaries = summaries(&records);
    assert_eq!(summaries.len(), 2, "{summaries:?}");
    assert_eq!(summaries[0]["reason"], "verdict");
    assert_eq!(summaries[0]["verdict"]["passed"], true);
    assert_eq!(summaries[0]["verdict"]["sequence"], SEQUENCE);
    assert!(summaries[0]["stored"].as_u64().unwrap() < 180, "{summaries:?}");
    assert_eq!(summaries[1]["reason"], "eos");
    assert_eq!((summaries[1]["stored"].as_u64(), summaries[1]["dropped"].as_u64()), (Some(180), Some(0)));
    let ttl: i64 = redis::cmd("TTL").arg(session_key("clip-1")).query(&mut redis(&url)).unwrap();
    assert!((590..=600).contains(&ttl), "TTL {ttl}");

    // Read back with their FaceMeta, timed from 0.
    let first_pts = chain.buffers[0].pts().unwrap();
    let read = run_pipeline("lvvideogluesrc name=src ! appsink name=out sync=false", |p| {
        let src = p.by_name("src").unwrap();
        src.set_property("redis-url", &url);
        src.set_property("session-id", "clip-1");
    })
    .expect("the session reads back");
    assert_eq!(read.buffers.len(), 180);
    for (back, buffer) in read.buffers.iter().zip(&chain.buffers) {
        assert_eq!(back.pts().unwrap(), buffer.pts().unwrap() - first_pts);
        assert_eq!(meta_json(back), meta_json(buffer));
    }
    assert_eq!(read.element_messages("lvvideogluesrc-summary").len(), 2);

    // pipelines/glue-session.sh writes a video GStreamer decodes: every frame, the clip's span.
    let dir = scratch("glue");
    let video = dir.join("clip-1.webm");
    let output = std::process::Command::new(common::root().join("pipelines/glue-session.sh"))
        .args(["--session", "clip-1", "--redis-url", &url, "--draw", "--output"])
        .arg(&video)
        .env("GST_PLUGIN_PATH", plugin_dir())
        .env("GST_REGISTRY", dir.join("registry.bin"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let (count, span) = decode_webm(&video);
    let last = chain.buffers.last().unwrap();
    let clip_span = last.pts().unwrap() + last.duration().unwrap() - first_pts;
    assert_eq!(count, 180);
    let difference = span.nseconds().abs_diff(clip_span.nseconds());
    assert!(difference <= 2_000_000, "video {span} against clip {clip_span}");
    let _ = std::fs::remove_dir_all(dir);
}

/// `appsrc ! lvvideoglue` on small grey frames at 10 fps, pushed one by one; `after` runs with
/// the number of frames the sink has dealt with (stored or dropped) so far.
fn push_frames(
    url: &str,
    id: &str,
    on_error: &str,
    count: u64,
    mut after: impl FnMut(u64) + Send + 'static,
) -> Result<common::Run, String> {
    let launch = format!(
        "appsrc name=src format=time ! video/x-raw,format=GRAY8,width=32,height=24,framerate=10/1 ! lvvideoglue name=glue on-error={on_error}"
    );
    let (url, id) = (url.to_string(), id.to_string());
    run_pipeline(&launch, move |p| {
        let glue = p.by_name("glue").unwrap();
        glue.set_property("redis-url", &url);
        glue.set_property("session-id", &id);
        let src = p.by_name("src").unwrap().downcast::<gst_app::AppSrc>().unwrap();
        std::thread::spawn(move || {
            for i in 0..count {
                let mut buffer = gst::Buffer::from_mut_slice(vec![(i * 7 % 256) as u8; 32 * 24]);
                buffer.get_mut().unwrap().set_pts(gst::ClockTime::from_mseconds(100 * i));
                if src.push_buffer(buffer).is_err() {
                    return;
                }
                // Wait until the sink has dealt with it.
                for _ in 0..500 {
                    let handled = glue.property::<u64>("stored") + glue.property::<u64>("dropped");
                    if handled > i {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                after(i + 1);
            }
            let _ = src.end_of_stream();
        });
    })
}

#[test]
fn redis_lost_mid_stream_is_reported_and_the_pipeline_keeps_running() {
    let (redis_server, url) = RedisServer::start();
    let mut server = Some(redis_server);
    let run = push_frames(&url, "lost", "drop", 30, move |handled| {
        if handled == 10 {
            server.take();
        }
    })
    .expect("on-error=drop keeps the pipeline running to EOS");
    let warnings: Vec<String> = run
        .messages
        .iter()
        .filter_map(|m| match m.view() {
            gst::MessageView::Warning(w) => Some(format!("{} {:?}", w.error(), w.debug())),
            _ => None,
        })
        .collect();
    assert_eq!(warnings.iter().filter(|w| w.contains("lost Redis")).count(), 1, "{warnings:?}");
    let summary = &run.element_messages("lvvideoglue-summary")[0];
    assert_eq!(summary.get::<u64>("stored").unwrap(), 10);
    assert_eq!(summary.get::<u64>("dropped").unwrap(), 20);
    assert!(!summary.get::<bool>("summary-stored").unwrap());

    // on-error=fail stops the stream with an error instead.
    let (redis_server, url) = RedisServer::start();
    let mut server = Some(redis_server);
    let err = push_frames(&url, "lost", "fail", 30, move |handled| {
        if handled == 5 {
            server.take();
        }
    })
    .unwrap_err();
    assert!(err.contains("lost Redis"), "{err}");
}

#[test]
fn the_sink_reconnects_when_redis_is_back() {
    let (redis_server, url) = RedisServer::start();
    let server = std::sync::Arc::new(std::sync::Mutex::new(redis_server));
    let restarted = server.clone();
    let run = push_frames(&url, "back", "drop", 30, move |handled| match handled {
        10 => restarted.lock().unwrap().kill(),
        15 => {
            restarted.lock().unwrap().restart();
            // Past the second between reconnection attempts.
            std::thread::sleep(std::time::Duration::from_millis(1100));
        }
        _ => {}
    })
    .expect("the pipeline runs to EOS");
    let infos: Vec<String> = run
        .messages
        .iter()
        .filter_map(|m| match m.view() {
            gst::MessageView::Info(i) => Some(format!("{:?}", i.debug())),
            _ => None,
        })
        .collect();
    assert!(infos.iter().any(|i| i.contains("answers again")), "{infos:?}");
    let summary = &run.element_messages("lvvideoglue-summary")[0];
    let (stored, dropped) = (summary.get::<u64>("stored").unwrap(), summary.get::<u64>("dropped").unwrap());
    assert_eq!(stored + dropped, 30);
    assert!(dropped >= 5 && stored >= 20, "stored {stored}, dropped {dropped}");
    assert!(summary.get::<bool>("summary-stored").unwrap());
    // The new server holds the frames stored after the reconnection, and the summary.
    let records = records(&url, "back");
    assert_eq!(stored_frames(&records).len() as u64, stored - 10);
    assert_eq!(summaries(&records)[0]["dropped"], dropped);
    drop(server);
}

#[test]
fn redis_unreachable_at_start_is_a_clear_error() {
    let dir = scratch("nothing");
    let url = format!("unix://{}", dir.join("no-redis.sock").display());
    let err = push_frames(&url, "x", "drop", 1, |_| {}).unwrap_err();
    assert!(err.contains("cannot store frames") && err.contains("no-redis.sock"), "{err}");
    let err = run_pipeline("videotestsrc num-buffers=1 ! lvvideoglue", |_| {}).unwrap_err();
    assert!(err.contains("session-id is not set"), "{err}");
    let err = run_pipeline(&format!("lvvideogluesrc redis-url={url} session-id=x ! fakesink"), |_| {}).unwrap_err();
    assert!(err.contains("cannot read sessions"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn session_ids_with_odd_characters_reach_no_other_key() {
    let (_redis, url) = RedisServer::start();
    push_frames(&url, "victim", "fail", 3, |_| {}).unwrap();
    let victim_key = session_key("victim");
    let odd = ["*", "victim*", "victim:frames", "v?ctim", "[v]ictim", "victim\r\nDEL victim", &victim_key, "../victim"];
    for id in odd {
        push_frames(&url, id, "fail", 2, |_| {}).unwrap();
    }
    // The victim keeps its 3 frames and summary; every odd id has its own key with its own 2.
    assert_eq!(stored_frames(&records(&url, "victim")).len(), 3);
    assert_eq!(records(&url, "victim").len(), 4);
    for id in odd {
        assert_eq!(stored_frames(&records(&url, id)).len(), 2, "{id:?}");
    }
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut redis(&url)).unwrap();
    assert_eq!(keys.len(), odd.len() + 1, "{keys:?}");
    // lvvideogluesrc reads the odd session, not the victim.
    let read = run_pipeline("lvvideogluesrc name=src ! appsink name=out sync=false", |p| {
        let src = p.by_name("src").unwrap();
        src.set_property("redis-url", &url);
        src.set_property("session-id", "victim*");
    })
    .unwrap();
    assert_eq!(read.buffers.len(), 2);
}

/// A whole LPProto session on the clip at its own rate; returns how many frames were sent.
async fn perform_session(socket: &mut Socket, id: &str) -> usize {
    let connected = connect(socket, &format!("session-id:{id}\n")).await;
    assert_eq!(connected.command, "CONNECTED");
    let mut sent = 0;
    let mut pace = common::camera_pace(common::CLIP_FPS);
    for jpeg in clip_jpegs() {
        pace.tick().await;
        send(socket, &frame(&jpeg)).await;
        sent += 1;
        let answer = receive(socket).await.expect("an answer to every FRAME");
        match answer.command.as_str() {
            "STATS" => {}
            "SUCCESS" => return sent,
            other => panic!("unexpected {other} after {sent} frames: {answer:?}"),
        }
    }
    panic!("no SUCCESS");
}

#[tokio::test(flavor = "multi_thread")]
async fn lpserver_stores_sessions_glues_them_into_video_and_deletes_them() {
    let (_redis, url) = RedisServer::start();
    let vars =
        [("CHALLENGE_SEQUENCE", SEQUENCE), ("REDIS_URL", url.as_str()), ("STORE_FRAMES", "1"), ("ADMIN_TOKEN", ADMIN)];
    let (address, _stop) = start(&vars).await;
    let mut socket = open(address).await;
    let sent = perform_session(&mut socket, "web-1").await;
    drop(socket);
    // A stored session's id cannot be taken again: its frames would join the stored ones.
    let mut socket = open(address).await;
    let refused = connect(&mut socket, "session-id:web-1\n").await;
    assert_eq!((refused.command.as_str(), refused.header("error")), ("ERROR", Some("1039")), "{refused:?}");
    assert_eq!(refused.header("header"), Some("session-id"));
    drop(socket);
    // The session's pipeline drains into Redis when it stops after the verdict (the store
    // may be some way behind the analysis: lpserver gives it 30 s).
    let mut records_now = Vec::new();
    for _ in 0..600 {
        let url = url.clone();
        records_now = tokio::task::spawn_blocking(move || records(&url, "web-1")).await.unwrap();
        if summaries(&records_now).iter().any(|s| s["reason"] == "eos") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(stored_frames(&records_now).len(), sent, "every frame of the session is stored");
    let verdict = summaries(&records_now).into_iter().find(|s| s["reason"] == "verdict").expect("a verdict summary");
    assert_eq!(verdict["verdict"]["passed"], true);

    let bearer = format!("Authorization: Bearer {ADMIN}");
    let (status, body) = http_with(address, "GET", "/sessions/web-1/video", &[], b"").await;
    assert_eq!(status, 401, "{}", String::from_utf8_lossy(&body));
    let (status, _) = http_with(address, "GET", "/sessions/web-1/video", &["Authorization: Bearer wrong"], b"").await;
    assert_eq!(status, 401);
    let (status, body) = http_with(address, "GET", "/sessions/%2A/video", &[&bearer], b"").await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    let (status, video) = http_with(address, "GET", "/sessions/web-1/video?draw=true", &[&bearer], b"").await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&video[..video.len().min(300)]));
    let dir = scratch("web");
    let path = dir.join("web-1.webm");
    std::fs::write(&path, &video).unwrap();
    let (count, span) = tokio::task::spawn_blocking(move || decode_webm(&path)).await.unwrap();
    assert_eq!(count, sent);
    assert!(span > gst::ClockTime::ZERO);

    let (status, _) = http_with(address, "DELETE", "/sessions/web-1", &[], b"").await;
    assert_eq!(status, 401);
    let (status, _) = http_with(address, "DELETE", "/sessions/web-1", &[&bearer], b"").await;
    assert_eq!(status, 204);
    let exists: u32 = redis::cmd("EXISTS").arg(session_key("web-1")).query(&mut redis(&url)).unwrap();
    assert_eq!(exists, 0);
    let (status, body) = http_with(address, "DELETE", "/sessions/web-1", &[&bearer], b"").await;
    assert_eq!(status, 404);
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"], "session-not-stored");
    let (status, _) = http_with(address, "GET", "/sessions/web-1/video", &[&bearer], b"").await;
    assert_eq!(status, 404);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_store_frames_nothing_is_stored_and_without_admin_token_nothing_is_served() {
    let (_redis, url) = RedisServer::start();
    let (address, _stop) = start(&[("CHALLENGE_SEQUENCE", "turn_left"), ("REDIS_URL", url.as_str())]).await;
    let mut socket = open(address).await;
    perform_session(&mut socket, "private-1").await;
    drop(socket);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let keys: Vec<String> = redis::cmd("KEYS").arg("liveness:*").query(&mut redis(&url)).unwrap();
    assert!(keys.is_empty(), "{keys:?}");
    let (status, body) =
        http_with(address, "GET", "/sessions/private-1/video", &["Authorization: Bearer x"], b"").await;
    assert_eq!(status, 401);
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(body["detail"].as_str().unwrap().contains("ADMIN_TOKEN"), "{body}");
}
