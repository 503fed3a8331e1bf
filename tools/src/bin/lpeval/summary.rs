//! The figures of a run: per row and per condition, the genuine and attack sessions summed up,
//! and the results file.

use super::*;

pub(crate) fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    (!values.is_empty()).then(|| values[values.len() / 2])
}

/// Sorts `values` and prints their 5th, 50th and 95th percentiles and range as `what`.
pub(crate) fn spread(what: &str, values: &mut [f64]) {
    values.sort_by(f64::total_cmp);
    let (Some(first), Some(last)) = (values.first(), values.last()) else { return };
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    println!(
        "  {what} over {}: p5 {:.3}, median {:.3}, p95 {:.3} (min {first:.3}, max {last:.3})",
        values.len(),
        at(0.05),
        at(0.5),
        at(0.95)
    );
}

/// The screen-flash correlations of `records` (the last attempt of each flash challenge),
/// printed and returned sorted.
pub(crate) fn flash_figures<'a>(records: impl Iterator<Item = &'a SessionRecord>) -> Vec<f64> {
    let mut all: Vec<f64> = records.flat_map(|r| r.flash_correlations.iter().copied()).collect();
    spread("flash correlation, challenges", &mut all);
    all
}

/// The stream figures of `records` (share of repeated frames, sensor noise), printed and
/// returned sorted.
pub(crate) fn stream_figures<'a>(records: impl Iterator<Item = &'a SessionRecord> + Clone) -> Value {
    let mut duplicates: Vec<f64> = records.clone().filter_map(|r| r.duplicate_share).collect();
    let mut noise: Vec<f64> = records.filter_map(|r| r.sensor_noise).collect();
    spread("duplicate share, sessions", &mut duplicates);
    spread("sensor noise, sessions", &mut noise);
    json!({"duplicate_share": duplicates, "sensor_noise": noise})
}

pub(crate) fn code_counts<'a>(records: impl Iterator<Item = &'a SessionRecord>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for r in records {
        if r.passed {
            continue;
        }
        if r.codes.is_empty() {
            *counts.entry(r.outcome.clone()).or_default() += 1;
        }
        for code in &r.codes {
            let name = u16::try_from(*code)
                .ok()
                .and_then(<liveness_core::errors::Finding as liveness_core::errors::CodeTable>::from_code)
                .map_or(code.to_string(), |c| format!("{code} {}", c.name()));
            *counts.entry(name).or_default() += 1;
        }
    }
    counts
}

/// One row of the evaluation: the shipped defaults (no name), or a change of them named in
/// its records' kinds; its genuine sessions per identity (None: `--sessions`) and the attack
/// kinds it runs (None: `--kinds`).
pub(crate) struct Row {
    pub(crate) name: &'static str,
    pub(crate) vars: &'static [(&'static str, &'static str)],
    pub(crate) sessions: Option<usize>,
    pub(crate) attacks: Option<&'static [&'static str]>,
}

impl Row {
    /// The record kind of `kind` in this row.
    pub(crate) fn kind(&self, kind: &str) -> String {
        if self.name.is_empty() { kind.to_string() } else { format!("{kind} ({})", self.name) }
    }
}

/// The rows of `make eval`: what ships, then the flash off (what the flash buys), then the
/// flash off and prompts without their hold (what the hold buys), then the age check a
/// service switches on (what it costs adults), with the "Challenge 25" buffer and without.
pub(crate) const ROWS: [Row; 5] = [
    Row { name: "", vars: &[], sessions: None, attacks: None },
    Row {
        name: "flash off",
        vars: &[("FLASH", "0")],
        sessions: Some(1),
        attacks: Some(&["replay-loop", "puppet", "noise-free"]),
    },
    Row {
        name: "flash off, no prompt hold",
        vars: &[("FLASH", "0"), ("NO_FLASH_PROMPT_HOLD_MIN_MS", "0"), ("NO_FLASH_PROMPT_HOLD_MAX_MS", "0")],
        sessions: Some(1),
        attacks: Some(&["replay-loop"]),
    },
    Row { name: "age check on", vars: &[("MIN_AGE", "18")], sessions: None, attacks: Some(&[]) },
    Row {
        name: "age check on, no buffer",
        vars: &[("MIN_AGE", "18"), ("AGE_BUFFER", "0")],
        sessions: Some(1),
        attacks: Some(&[]),
    },
];

/// The genuine sessions' failures per camera of the sweep and per value of each of its axes,
/// printed; the worst condition named.
pub(crate) fn camera_table(genuine: &[&SessionRecord]) -> Value {
    let filmed: Vec<(&attack::Condition, bool)> =
        genuine.iter().filter_map(|r| r.camera.as_ref().map(|c| (c, r.passed))).collect();
    let mut axes: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut conditions: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (c, passed) in &filmed {
        let values = [
            format!("noise {:.1} levels", c.noise),
            format!("denoiser {}", if c.denoiser { "on" } else { "off" }),
            format!("JPEG {}", c.quality),
            format!("camera {:.0} fps", c.fps),
        ];
        for key in values.into_iter().chain([format!("= {}", c.name())]) {
            let table = if key.starts_with('=') { &mut conditions } else { &mut axes };
            let entry = table.entry(key.trim_start_matches("= ").to_string()).or_default();
            entry.0 += 1;
            entry.1 += usize::from(!passed);
        }
    }
    for (value, (sessions, failed)) in &axes {
        println!("  camera {value:<20} {failed}/{sessions} failed");
    }
    let worst = conditions.iter().max_by_key(|(_, (sessions, failed))| (*failed, std::cmp::Reverse(*sessions)));
    if let Some((name, (sessions, failed))) = worst {
        println!("  worst camera condition: {name}, {failed}/{sessions} failed");
    }
    let table = |t: &BTreeMap<String, (usize, usize)>| {
        t.iter().map(|(k, v)| (k.clone(), json!({"sessions": v.0, "failed": v.1}))).collect::<serde_json::Map<_, _>>()
    };
    json!({"axes": table(&axes), "conditions": table(&conditions)})
}

/// BPCER, time to pass and failure codes of the genuine sessions of one role, printed; their
/// summary for results.json (None when the role ran no session).
pub(crate) fn genuine_summary(
    records: &[SessionRecord],
    chosen: &[Arc<Identity>],
    role: Role,
    kind: &str,
) -> Option<Value> {
    let genuine: Vec<&SessionRecord> =
        records.iter().filter(|r| r.kind == kind && r.role == role && r.decided).collect();
    if genuine.is_empty() {
        return None;
    }
    let failed = genuine.iter().filter(|r| !r.passed).count();
    // The liveness check alone: a session whose only finding is the age passed it.
    let liveness_failed = genuine.iter().filter(|r| !r.passed && !r.liveness_passed()).count();
    let mut times: Vec<f64> = genuine.iter().filter(|r| r.passed).map(|r| r.seconds).collect();
    let median_pass = median(&mut times);
    let bpcer = failed as f64 / genuine.len() as f64;
    let reasons = code_counts(genuine.iter().copied());
    let names: Vec<&str> = chosen.iter().filter(|id| id.role == role).map(|id| id.name).collect();
    println!(
        "{kind} ({role:?} identities: {}): {} sessions, {} failed, BPCER {:.1} %, median time to pass {}",
        names.join(", "),
        genuine.len(),
        failed,
        bpcer * 100.0,
        median_pass.map_or("-".into(), |m| format!("{m:.1} s"))
    );
    println!(
        "  liveness alone: {liveness_failed} failed, BPCER {:.1} %",
        liveness_failed as f64 * 100.0 / genuine.len() as f64
    );
    println!("  failure codes: {reasons:?}");
    let flash = flash_figures(genuine.iter().copied());
    let stream = stream_figures(genuine.iter().copied());
    let mut per_identity = BTreeMap::new();
    for r in &genuine {
        let entry = per_identity.entry(r.identity.clone()).or_insert((0usize, 0usize));
        entry.0 += 1;
        entry.1 += r.passed as usize;
    }
    for (name, (sessions, passed)) in &per_identity {
        println!("  {name:<12} {passed}/{sessions} passed");
    }
    let age = age_figures(&genuine);
    let cameras = camera_table(&genuine);
    Some(json!({"identities": names, "cameras": cameras, "sessions": genuine.len(), "failed": failed, "bpcer": bpcer,
           "liveness_failed": liveness_failed,
           "median_seconds_to_pass": median_pass, "failure_codes": reasons, "flash_correlations": flash, "stream": stream, "age": age,
           "per_identity": per_identity.iter().map(|(k, v)| (k.clone(), json!({"sessions": v.0, "passed": v.1}))).collect::<serde_json::Map<_, _>>()}))
}

/// The age check on genuine sessions (every evaluation identity is an adult): the share
/// refused for age (`below` or `uncertain`), each identity's session estimates, and how far
/// they spread (median absolute deviation about the identity's median), printed and returned.
pub(crate) fn age_figures(genuine: &[&SessionRecord]) -> Value {
    let checked: Vec<&&SessionRecord> = genuine.iter().filter(|r| r.age_decision.is_some()).collect();
    if checked.is_empty() {
        println!("  age check: off (MIN_AGE=0)");
        return Value::Null;
    }
    let refused = |decision: &str| checked.iter().filter(|r| r.age_decision.as_deref() == Some(decision)).count();
    let (below, uncertain) = (refused("below"), refused("uncertain"));
    // Sessions whose only finding is the age: liveness passed, the age did not.
    let age_only = checked.iter().filter(|r| !r.passed && r.liveness_passed()).count();
    let mut per_identity: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for r in &checked {
        if let Some(years) = r.age_years {
            per_identity.entry(r.identity.as_str()).or_default().push(years);
        }
    }
    let mut mads = Vec::new();
    let mut identities = serde_json::Map::new();
    for (name, years) in &per_identity {
        let mut sorted = years.clone();
        let m = median(&mut sorted).unwrap_or(f64::NAN);
        let mut deviations: Vec<f64> = years.iter().map(|y| (y - m).abs()).collect();
        let mad = median(&mut deviations).unwrap_or(f64::NAN);
        mads.push(mad);
        let list: Vec<String> = years.iter().map(|y| format!("{y:.1}")).collect();
        println!("  age {name:<12} median {m:5.1} y, MAD {mad:4.1} y  ({})", list.join(", "));
        identities.insert(name.to_string(), json!({"median_years": m, "mad_years": mad, "sessions": years}));
    }
    let median_mad = median(&mut mads);
    let share = (below + uncertain) as f64 / checked.len() as f64;
    println!(
        "  age check (every identity an adult): {} of {} sessions refused for age ({:.1} %: {below} below, {uncertain} uncertain; \
         {age_only} with liveness passed), identity MAD median {}",
        below + uncertain,
        checked.len(),
        share * 100.0,
        median_mad.map_or("-".into(), |m| format!("{m:.1} y")),
    );
    let frames: Vec<u64> = checked.iter().filter_map(|r| r.age_frames).collect();
    json!({"sessions": checked.len(), "below": below, "uncertain": uncertain, "refused_share": share,
           "liveness_passed_age_refused": age_only, "median_identity_mad_years": median_mad,
           "min_frames": frames.iter().min(), "identities": identities})
}

/// APCER and codes of one attack kind, printed; its summary (None when it ran no session).
pub(crate) fn attack_summary(records: &[SessionRecord], kind: &str) -> Option<Value> {
    let attacks: Vec<&SessionRecord> = records.iter().filter(|r| r.kind == kind && r.decided).collect();
    if attacks.is_empty() {
        return None;
    }
    // An attack the liveness check let through counts as accepted even when the age check
    // then sent it to a document check: the age is no defence against presentation attacks.
    let accepted = attacks.iter().filter(|r| r.passed || r.liveness_passed()).count();
    let apcer = accepted as f64 / attacks.len() as f64;
    let codes = code_counts(attacks.iter().copied());
    let mut times: Vec<f64> = attacks.iter().map(|r| r.seconds).collect();
    println!(
        "attack {kind:<16} {} sessions, {} accepted, APCER {:.1} %, median {:.1} s to the verdict; codes {codes:?}",
        attacks.len(),
        accepted,
        apcer * 100.0,
        median(&mut times).unwrap_or(0.0)
    );
    let flash = flash_figures(attacks.iter().copied());
    let stream = stream_figures(attacks.iter().copied());
    Some(
        json!({"sessions": attacks.len(), "accepted": accepted, "apcer": apcer, "codes": codes, "flash_correlations": flash, "stream": stream}),
    )
}

/// Writes results.json, sessions.csv and trace.csv into the output folder.
pub(crate) fn write_results(
    o: &Options,
    summary: serde_json::Map<String, Value>,
    records: &[SessionRecord],
    trace: &[(f64, f32, f32, String)],
) -> Result<(), String> {
    let results = json!({"set": o.set, "fps": o.fps, "summary": summary, "sessions": records});
    let write = |name: &str, text: String| {
        let path = o.out.join(name);
        std::fs::write(&path, text).map_err(|err| format!("{}: {err}", path.display()))
    };
    write("results.json", serde_json::to_string_pretty(&results).map_err(|err| err.to_string())?)?;
    let mut csv = String::from("kind,identity,role,passed,outcome,seconds,frames\n");
    for r in records {
        csv.push_str(&format!(
            "{},{},{:?},{},{},{:.2},{}\n",
            r.kind,
            r.identity,
            r.role,
            r.passed,
            r.outcome.replace(',', ";"),
            r.seconds,
            r.frames
        ));
    }
    write("sessions.csv", csv)?;
    let mut csv = String::from("t,yaw,pitch,prompt\n");
    for (t, yaw, pitch, prompt) in trace {
        csv.push_str(&format!("{t:.3},{yaw:.2},{pitch:.2},{prompt}\n"));
    }
    write("trace.csv", csv)?;
    println!("written: {}/results.json, sessions.csv, trace.csv", o.out.display());
    Ok(())
}
