//! Every file in models/ is the one MODELS.md describes: same sha256, loads in ONNX Runtime,
//! and has the documented inputs and outputs.

use std::path::PathBuf;

use gstliveness::model;
use sha2::{Digest, Sha256};

fn models_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join("models")
}

/// (file, sha256) rows of the table in MODELS.md.
fn documented_files() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(models_dir().join("MODELS.md")).expect("MODELS.md is readable");
    text.lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(|c| c.trim().trim_matches('`')).collect();
            (cells.len() > 3 && cells[1].ends_with(".onnx")).then(|| (cells[1].to_string(), cells[2].to_string()))
        })
        .collect()
}

#[test]
fn every_model_matches_its_documented_sha256() {
    let documented = documented_files();
    assert_eq!(documented.len(), 9, "{documented:?}");
    for (file, sha256) in &documented {
        let bytes = std::fs::read(models_dir().join(file)).unwrap_or_else(|err| panic!("{file}: {err}"));
        let actual: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(&actual, sha256, "{file}");
    }
    // And nothing undocumented lies beside them.
    let mut on_disk: Vec<String> = std::fs::read_dir(models_dir())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().to_string()))
        .filter(|name| name.ends_with(".onnx"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = documented.into_iter().map(|(f, _)| f).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

type Signature = (&'static str, &'static [(&'static str, &'static [i64])], &'static [(&'static str, &'static [i64])]);

/// Inputs and outputs as MODELS.md lists them; -1 is the free batch dimension.
const SIGNATURES: &[Signature] = &[
    (
        "blazeface-front-128.onnx",
        &[("input:0", &[1, 128, 128, 3])],
        &[
            ("Identity:0", &[1, 512, 1]),
            ("Identity_1:0", &[1, 384, 1]),
            ("Identity_2:0", &[1, 512, 16]),
            ("Identity_3:0", &[1, 384, 16]),
        ],
    ),
    (
        "blazeface-back-256.onnx",
        &[("input:0", &[1, 256, 256, 3])],
        &[
            ("Identity:0", &[1, 512, 1]),
            ("Identity_1:0", &[1, 384, 1]),
            ("Identity_2:0", &[1, 512, 16]),
            ("Identity_3:0", &[1, 384, 16]),
        ],
    ),
    (
        "facemesh.onnx",
        &[("input_1", &[-1, 192, 192, 3])],
        &[("output_mesh", &[-1, 1404]), ("output_faceflag", &[-1, 1]), ("output_contours", &[-1, 266])],
    ),
    ("antispoof.onnx", &[("conv2d_input", &[-1, 128, 128, 3])], &[("activation_4", &[-1, 1])]),
    ("liveness.onnx", &[("conv2d_1_input", &[-1, 32, 32, 3])], &[("activation_6", &[-1, 2])]),
    ("emotion.onnx", &[("input_1:0", &[-1, 64, 64, 1])], &[("Identity:0", &[-1, 7])]),
    (
        "gear.onnx",
        &[("input_1", &[-1, 198, 198, 3])],
        &[("race_output", &[-1, 5]), ("gender_output", &[-1, 2]), ("age_output", &[-1, 7])],
    ),
    ("face-api-agegender.onnx", &[("input", &[-1, 112, 112, 3])], &[("age", &[-1]), ("gender", &[-1, 2])]),
    (
        "faceres.onnx",
        &[("input_1:0", &[-1, 224, 224, 3])],
        &[
            ("gender_pred/Sigmoid:0", &[-1, 1]),
            ("global_pooling/Mean", &[-1, 1024]),
            ("age_pred/Softmax:0", &[-1, 100]),
        ],
    ),
];

#[test]
fn every_model_loads_with_its_documented_inputs_and_outputs() {
    for (file, inputs, outputs) in SIGNATURES {
        let path = model::locate(file, None).unwrap_or_else(|err| panic!("{err}"));
        let shared = model::shared_session(&path, 1).unwrap_or_else(|err| panic!("{err}"));
        let describe = |outlets: &[ort::value::Outlet]| -> Vec<(String, Vec<i64>)> {
            outlets
                .iter()
                .map(|o| (o.name().to_string(), o.dtype().tensor_shape().map(|s| s.to_vec()).unwrap_or_default()))
                .collect()
        };
        let expect = |list: &[(&str, &[i64])]| -> Vec<(String, Vec<i64>)> {
            list.iter().map(|(n, s)| (n.to_string(), s.to_vec())).collect()
        };
        let (found_inputs, found_outputs) =
            shared.with_session(|session| (describe(session.inputs()), describe(session.outputs()))).unwrap();
        assert_eq!(found_inputs, expect(inputs), "{file} inputs");
        assert_eq!(found_outputs, expect(outputs), "{file} outputs");
    }
}

#[test]
fn a_model_runs_on_several_threads_at_once_with_the_same_answers() {
    // The back-camera detector: no other test of this binary runs it on more than one thread.
    let path = model::locate("blazeface-back-256.onnx", None).unwrap();
    let shared = model::shared_session(&path, 1).unwrap();
    let input: Vec<f32> = (0..256 * 256 * 3).map(|i| ((i * 37 % 255) as f32) / 127.5 - 1.0).collect();
    let expected = shared.run(&input, &[1, 256, 256, 3]).unwrap();
    let results: Vec<_> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| (0..15).map(|_| shared.run(&input, &[1, 256, 256, 3]).unwrap()).collect::<Vec<_>>())
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });
    assert!(results.iter().all(|r| *r == expected), "every session gives the same outputs");
    let (made, bound) = (shared.sessions(), model::pool_size());
    assert!(made >= 1 && made <= bound, "{made} sessions for a pool of {bound}");
    if bound >= 2 {
        assert!(made >= 2, "four threads at once made the pool grow: {made}");
    }
    println!("4 threads x 15 runs: {made} sessions (pool of {bound})");
}
