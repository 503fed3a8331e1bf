#!/usr/bin/env python3
"""Fits lvantispoof's PAD fusion and reports every candidate (make eval-pad).

Reads OUT/pad-features.csv (lpeval --mode pad): one row per frame, its identity's half
(Tuning or Reporting), family (live, print, screen, recapture), strength and every
candidate's value. Then:

1. each candidate alone: oriented on the tuning half (live scores high), its threshold
   chosen there for BPCER 5 %, and on the reporting half its AUC, EER, BPCER at that
   threshold and APCER per attack family;
2. the fusion: a logistic regression (L2, classes weighted equally) of the candidates
   lvantispoof computes, standardised on the tuning half. What it learns is decided on the
   tuning half alone, by leave-one-identity-out cross-validation: an attack family that a
   fusion trained on every family still accepts more than half the time at BPCER 5 % is left
   out of the training (learning it would refuse live faces for little), and antispoof.onnx (about
   2 ms a face, most of lvantispoof's budget of 3) enters only if it lowers the
   cross-validated APCER (mean over the families trained on) at BPCER 5 % by 2 points or
   more. The operating point
   is the 5 % quantile of the cross-validated live scores of the tuning half, and the bias is
   shifted so that the fused score reads 0.5 there;
3. writes models/pad-fusion.json, OUT/pad-results.json, OUT/pad-table.md (the table in
   docs/accuracy.md) and OUT/pad-det.png (DET curves on the reporting half, operating points marked).

Usage: pad-fit.py OUT [--fusion models/pad-fusion.json]
"""

import csv
import json
import math
import statistics
import sys
from pathlib import Path

import numpy as np

FUSABLE = ["antispoof-model", "liveness-model", "periodicity", "chroma", "chroma-spread",
           "blue-cast", "clipped", "block-grid"]
# Measured and reported, kept out of the fusion: how much fine detail a face shows depends on
# the camera, its focus and the distance as much as on an attack (halftone dots add detail, a
# recapture's blur takes it away, and a sharp webcam gives more than the soft photos of the
# calibration set), so a weight learnt on them would refuse faces filmed by better cameras.
DETAIL = ["hf-energy", "sharpness"]
# Colour features whose live range can lie between attack ranges enter with their square too,
# so that the fusion can learn a band.
SQUARED = ["chroma", "blue-cast"]
SURFACE = ["skin-complexity", "avg-gradient", "high-freq-ratio", "frequency-score",
           "max-crossing-ratio", "reflectance-cv", "surface-confidence", "blur", "light",
           "darkness", "illumination", "specularity"]
FAMILIES = ["print", "screen", "recapture"]
# Cost per face of each candidate, from `make bench` (ms, one core); shown in the table.
TARGET_BPCER = 0.05
# A family the fusion trained on every family still misses more often than this (tuning half,
# cross-validated, at BPCER 5 %) is left out of its training.
MAX_TRAINED_APCER = 0.5
L2 = 1.0


def logit(p):
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def load(path):
    rows = list(csv.DictReader(open(path)))
    for r in rows:
        for key in ("antispoof-model", "liveness-model"):
            r[key] = logit(float(r[key])) if r[key] else float("nan")
        for key in FUSABLE[2:] + DETAIL + SURFACE:
            r[key] = float(r[key])
        for key in SQUARED:
            r[key + "^2"] = r[key] ** 2
        r["live"] = r["family"] == "live"
    return rows


def fit_logistic(x, y, weights, l2=L2, iterations=50):
    """Newton's method on the weighted, L2-penalised log loss (the bias is not penalised)."""
    n, d = x.shape
    xb = np.hstack([x, np.ones((n, 1))])
    w = np.zeros(d + 1)
    penalty = np.eye(d + 1) * l2
    penalty[d, d] = 0.0
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-xb @ w))
        gradient = xb.T @ (weights * (p - y)) + penalty @ w
        hessian = (xb * (weights * p * (1 - p))[:, None]).T @ xb + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:d], w[d]


class Model:
    def __init__(self, rows, features):
        self.features = features
        x = np.array([[r[f] for f in features] for r in rows])
        self.mean = x.mean(axis=0)
        self.scale = x.std(axis=0) + 1e-9
        y = np.array([1.0 if r["live"] else 0.0 for r in rows])
        # Each class weighs as much as the other.
        weights = np.where(y == 1, 0.5 / y.sum(), 0.5 / (1 - y).sum()) * len(y)
        self.w, self.b = fit_logistic((x - self.mean) / self.scale, y, weights)

    def z(self, rows):
        x = np.array([[r[f] for f in self.features] for r in rows])
        return ((x - self.mean) / self.scale) @ self.w + self.b


def threshold_for_bpcer(live_scores, bpcer):
    """The score below which `bpcer` of the live scores lie (scores >= it pass)."""
    s = sorted(live_scores)
    k = int(math.floor(bpcer * len(s)))
    return s[k] if k < len(s) else s[-1]


def rates(rows, scores, threshold):
    live = [s for r, s in zip(rows, scores) if r["live"]]
    out = {"bpcer": sum(s < threshold for s in live) / max(len(live), 1)}
    for family in FAMILIES:
        attack = [s for r, s in zip(rows, scores) if r["family"] == family]
        out[family] = sum(s >= threshold for s in attack) / max(len(attack), 1)
    attacks = [s for r, s in zip(rows, scores) if not r["live"]]
    out["apcer"] = sum(s >= threshold for s in attacks) / max(len(attacks), 1)
    return out


def auc(rows, scores):
    live = [s for r, s in zip(rows, scores) if r["live"]]
    attack = [s for r, s in zip(rows, scores) if not r["live"]]
    wins = sum((l > a) + 0.5 * (l == a) for l in live for a in attack)
    return wins / max(len(live) * len(attack), 1)


def det(rows, scores):
    """(BPCER, APCER) at every threshold."""
    live = np.array(sorted(s for r, s in zip(rows, scores) if r["live"]))
    attack = np.array(sorted(s for r, s in zip(rows, scores) if not r["live"]))
    points = []
    for t in np.unique(np.concatenate([live, attack])):
        points.append(((live < t).mean(), (attack >= t).mean()))
    return points


def eer(points):
    best = min(points, key=lambda p: abs(p[0] - p[1]))
    return (best[0] + best[1]) / 2


def cross_validated(rows, features, families):
    """Leave-one-identity-out scores (logits) of the tuning rows, each identity scored by a
    model trained on the others' live frames and attacks of `families`."""
    identities = sorted({r["identity"] for r in rows})
    scores = [0.0] * len(rows)
    for held in identities:
        train = [r for r in rows if r["identity"] != held and (r["live"] or r["family"] in families)]
        model = Model(train, features)
        index = [i for i, r in enumerate(rows) if r["identity"] == held]
        for i, z in zip(index, model.z([rows[i] for i in index])):
            scores[i] = float(z)
    return scores


def cv_rates(rows, features, families):
    """Cross-validated rates at BPCER 5 % on the tuning half, the scores and the threshold."""
    cv = cross_validated(rows, features, families)
    t = threshold_for_bpcer([s for r, s in zip(rows, cv) if r["live"]], TARGET_BPCER)
    return rates(rows, cv, t), cv, t


def main():
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if args else 2
    out = Path(args[0])
    fusion_path = Path(args[args.index("--fusion") + 1]) if "--fusion" in args else Path("models/pad-fusion.json")
    rows = load(out / "pad-features.csv")
    tuning = [r for r in rows if r["role"] == "Tuning"]
    reporting = [r for r in rows if r["role"] == "Reporting"]
    ids = lambda rs: sorted({r["identity"] for r in rs})
    print(f"tuning half: {len(tuning)} frames of {len(ids(tuning))} identities; "
          f"reporting half: {len(reporting)} frames of {len(ids(reporting))} identities")

    results = {"tuning_identities": ids(tuning), "reporting_identities": ids(reporting),
               "frames": {"tuning": len(tuning), "reporting": len(reporting)}, "candidates": {}}
    curves = {}
    print(f"\n{'candidate':<20} {'AUC':>6} {'EER':>6} {'BPCER':>6} " + " ".join(f"{f:>9}" for f in FAMILIES))
    for name in FUSABLE + DETAIL + SURFACE:
        if any(math.isnan(r[name]) for r in rows):
            continue
        live_mean = np.mean([r[name] for r in tuning if r["live"]])
        attack_mean = np.mean([r[name] for r in tuning if not r["live"]])
        sign = 1.0 if live_mean >= attack_mean else -1.0
        tune_scores = [sign * r[name] for r in tuning]
        threshold = threshold_for_bpcer([s for r, s in zip(tuning, tune_scores) if r["live"]], TARGET_BPCER)
        report_scores = [sign * r[name] for r in reporting]
        at = rates(reporting, report_scores, threshold)
        points = det(reporting, report_scores)
        curves[name] = (points, (at["bpcer"], at["apcer"]))
        entry = {"orientation": "higher is live" if sign > 0 else "lower is live", "auc": auc(reporting, report_scores),
                 "eer": eer(points), "threshold": sign * threshold, **at}
        results["candidates"][name] = entry
        print(f"{name:<20} {entry['auc']:6.3f} {entry['eer']:6.3f} {at['bpcer']:6.3f} "
              + " ".join(f"{at[f]:9.3f}" for f in FAMILIES))

    # What the fusion is trained on and which candidates enter, on the tuning half alone.
    with_cnn = FUSABLE + [f + "^2" for f in SQUARED]
    without_cnn = [f for f in with_cnn if f != "antispoof-model"]
    first, _, _ = cv_rates(tuning, without_cnn, FAMILIES)
    families = [f for f in FAMILIES if first[f] <= MAX_TRAINED_APCER] or FAMILIES
    print("\nfusion trained on every family: tuning half, leave-one-identity-out, at BPCER 5 %: "
          + ", ".join(f"{f} APCER {first[f]:.3f}" for f in FAMILIES))
    if families != FAMILIES:
        print(f"trained on {', '.join(families)} only: the others stay above {MAX_TRAINED_APCER:.0%} APCER, "
              "and learning them would refuse live faces for little")
    choices = {}
    for label, features in [("with antispoof-model", with_cnn), ("without antispoof-model", without_cnn)]:
        at, cv, t = cv_rates(tuning, features, families)
        trained_apcer = sum(at[f] for f in families) / len(families)
        choices[label] = (trained_apcer, features, cv, t)
        print(f"fusion {label}: tuning half, leave-one-identity-out: mean APCER of {', '.join(families)} "
              f"{trained_apcer:.3f} at BPCER 5 %")
    gain = choices["without antispoof-model"][0] - choices["with antispoof-model"][0]
    label = "with antispoof-model" if gain >= 0.02 else "without antispoof-model"
    _, features, cv, operating = choices[label]
    print(f"chosen: {label}")
    trained = [r for r in tuning if r["live"] or r["family"] in families]
    model = Model(trained, features)
    # The operating point is on the cross-validated logits; shift the bias so it reads 0.5.
    bias = float(model.b - operating)
    fusion = {
        "version": 1,
        "features": features,
        "mean": [round(float(v), 6) for v in model.mean],
        "scale": [round(float(v), 6) for v in model.scale],
        "weights": [round(float(v), 6) for v in model.w],
        "bias": round(bias, 6),
        "operating_point": "BPCER 5 % on the tuning half (leave-one-identity-out), fused score 0.5",
        "trained_on": ["live"] + families,
        "tuning_identities": ids(tuning),
        "frames": len(trained),
        "generated_by": "make eval-pad (scripts/pad-fit.py)",
    }
    fusion_path.write_text(json.dumps(fusion, indent=2) + "\n")
    report_z = model.z(reporting) - operating
    report_scores = [float(1 / (1 + math.exp(-z))) for z in report_z]
    at = rates(reporting, report_scores, 0.5)
    points = det(reporting, report_scores)
    curves["fusion"] = (points, (at["bpcer"], at["apcer"]))
    by_strength = {}
    for family in FAMILIES:
        for strength in "123":
            sel = [(r, s) for r, s in zip(reporting, report_scores) if r["family"] == family and r["strength"] == strength]
            by_strength[f"{family}-{strength}"] = sum(s >= 0.5 for _, s in sel) / max(len(sel), 1)
    results["fusion"] = {"features": features, "auc": auc(reporting, report_scores), "eer": eer(points), **at,
                         "apcer_by_strength": by_strength, "choice": label, "trained_on": families,
                         "tuning_cv_every_family": first,
                         "tuning_cv_apcer": {k: v[0] for k, v in choices.items()}}
    print(f"fusion on the reporting half: AUC {results['fusion']['auc']:.3f}, EER {results['fusion']['eer']:.3f}, "
          f"BPCER {at['bpcer']:.3f}, APCER " + ", ".join(f"{f} {at[f]:.3f}" for f in FAMILIES))
    print("APCER by strength: " + ", ".join(f"{k} {v:.2f}" for k, v in by_strength.items()))
    per_identity = {}
    for r, sc in zip(reporting, report_scores):
        if r["live"]:
            per_identity.setdefault(r["identity"], []).append(sc)
    lowest = sorted((min(v), k) for k, v in per_identity.items())[:5]
    print("lowest live frame score of the reporting identities: " + ", ".join(f"{k} {v:.2f}" for v, k in lowest))
    results["fusion"]["live_min_by_identity"] = {k: min(v) for k, v in per_identity.items()}
    # The evidence for the families left out: the same candidates trained on every family.
    if families != FAMILIES:
        _, _, t_all = cv_rates(tuning, features, FAMILIES)
        every = Model(tuning, features)
        scores_all = [float(z) - t_all for z in every.z(reporting)]
        at_all = rates(reporting, scores_all, 0.0)
        results["fusion_every_family"] = at_all
        print("the same fusion trained on every family, on the reporting half: BPCER "
              f"{at_all['bpcer']:.3f}, APCER " + ", ".join(f"{f} {at_all[f]:.3f}" for f in FAMILIES))
    (out / "pad-results.json").write_text(json.dumps(results, indent=2) + "\n")

    # The table of docs/accuracy.md.
    lines = ["| candidate | AUC | EER | BPCER | APCER print | APCER screen | APCER recapture |",
             "|---|---|---|---|---|---|---|"]
    for name, entry in [("**fusion**", results["fusion"])] + list(results["candidates"].items()):
        lines.append(f"| {name} | {entry['auc']:.3f} | {entry['eer'] * 100:.1f} % | {entry['bpcer'] * 100:.1f} % | "
                     + " | ".join(f"{entry[f] * 100:.1f} %" for f in FAMILIES) + " |")
    (out / "pad-table.md").write_text("\n".join(lines) + "\n")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    probit = lambda p: statistics.NormalDist().inv_cdf(min(max(p, 1e-3), 1 - 1e-3))
    ticks = [0.001, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95]
    fig, (ax, by_family) = plt.subplots(1, 2, figsize=(15, 7))
    shown = ["fusion", "antispoof-model", "liveness-model", "periodicity", "hf-energy", "sharpness", "chroma",
             "blue-cast", "skin-complexity", "max-crossing-ratio", "surface-confidence", "blur"]
    for name in shown:
        if name not in curves:
            continue
        points, (bp, ap) = curves[name]
        xs = [probit(p[0]) for p in points]
        ys = [probit(p[1]) for p in points]
        style = "--" if name in SURFACE else "-"
        line, = ax.plot(xs, ys, style, lw=3 if name == "fusion" else 1.2,
                        label=name + (" (lvsurfaceanalysis)" if name in SURFACE else ""))
        ax.plot([probit(bp)], [probit(ap)], "o", color=line.get_color())
    ax.set_title("Every candidate, all attacks (dots: thresholds chosen on the tuning half)")
    # The fusion and the best single feature against each family.
    for family, colour in zip(FAMILIES, ["tab:red", "tab:blue", "tab:gray"]):
        subset = [(r, z) for r, z in zip(reporting, report_scores) if r["live"] or r["family"] == family]
        points = det([r for r, _ in subset], [z for _, z in subset])
        by_family.plot([probit(p[0]) for p in points], [probit(p[1]) for p in points], lw=3, color=colour,
                       label=f"fusion vs {family} (APCER {at[family] * 100:.1f} % at 0.5)")
        by_family.plot([probit(at["bpcer"])], [probit(at[family])], "o", color=colour)
        subset = [r for r in reporting if r["live"] or r["family"] == family]
        single = det(subset, [-r["periodicity"] for r in subset])
        by_family.plot([probit(p[0]) for p in single], [probit(p[1]) for p in single], ":", color=colour,
                       label=f"periodicity alone vs {family}")
    by_family.set_title("The fusion against each attack family (dots: its operating point, 0.5)")
    for a in (ax, by_family):
        a.set_xticks([probit(t) for t in ticks], [f"{t * 100:g}" for t in ticks])
        a.set_yticks([probit(t) for t in ticks], [f"{t * 100:g}" for t in ticks])
        a.set_xlabel("BPCER (%)  - live faces refused")
        a.set_ylabel("APCER (%)  - attacks accepted")
        a.grid(True, alpha=0.3)
        a.legend(fontsize=8)
    fig.suptitle(f"PAD on the reporting half ({len(ids(reporting))} identities, {len(reporting)} frames; "
                 "simulated attacks), DET curves")
    fig.tight_layout()
    fig.savefig(out / "pad-det.png", dpi=110)
    print(f"written: {fusion_path}, {out}/pad-results.json, pad-table.md, pad-det.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
