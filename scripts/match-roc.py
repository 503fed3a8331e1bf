#!/usr/bin/env python3
"""Draws face matching's figure from `lpeval --mode match`'s output folder: the similarity of
genuine and impostor pairs per half, and each half's ROC (false non-match rate against false
match rate over every threshold) with the shipped threshold and the one of the release before
marked. Writes match-roc.png beside match-scores.csv."""
import csv
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

folder = Path(sys.argv[1] if len(sys.argv) > 1 else "target/eval")
rows = list(csv.DictReader((folder / "match-scores.csv").open()))
summary = json.loads((folder / "match.json").read_text())
marks = {"shipped": summary["shipped_threshold"], "before": summary["threshold_before"]}

fig, (ax_hist, ax_roc) = plt.subplots(1, 2, figsize=(12, 5))
for role, colour in (("Tuning", "tab:grey"), ("Reporting", "tab:blue")):
    genuine = [float(r["similarity"]) for r in rows if r["role"] == role and r["genuine"] == "true"]
    impostor = [float(r["similarity"]) for r in rows if r["role"] == role and r["genuine"] == "false"]
    bins = [i / 100 for i in range(0, 101, 2)]
    ax_hist.hist(impostor, bins=bins, histtype="step", color=colour, linestyle="--", density=True, label=f"{role} impostor ({len(impostor)})")
    ax_hist.hist(genuine, bins=bins, histtype="step", color=colour, density=True, label=f"{role} genuine ({len(genuine)})")
    thresholds = [i / 1000 for i in range(0, 1001)]
    fmr = [max(sum(s >= t for s in impostor) / len(impostor), 1e-5) for t in thresholds]
    fnmr = [sum(s < t for s in genuine) / len(genuine) for t in thresholds]
    ax_roc.plot(fmr, fnmr, color=colour, label=role)
    for name, t in marks.items():
        i = round(t * 1000)
        ax_roc.scatter([fmr[i]], [fnmr[i]], color=colour, marker="o" if name == "shipped" else "x")
        ax_roc.annotate(f"{t:.2f}", (fmr[i], fnmr[i]), fontsize=7)
for name, t in marks.items():
    ax_hist.axvline(t, color="black", linestyle="-" if name == "shipped" else ":", linewidth=0.8)
ax_hist.set_xlabel("cosine similarity, ID photo against selfie")
ax_hist.set_title(f"Genuine and impostor pairs (shipped {marks['shipped']:.2f}, before {marks['before']:.2f})")
ax_hist.legend(fontsize=7)
ax_roc.set_xscale("log")
ax_roc.set_xlim(1e-5, 1)
ax_roc.set_ylim(0, 0.05)
ax_roc.set_xlabel("false match rate (1e-5 stands for none)")
ax_roc.set_ylabel("false non-match rate")
ax_roc.set_title("ROC per half: o the shipped threshold, x the one before")
ax_roc.legend()
fig.tight_layout()
fig.savefig(folder / "match-roc.png", dpi=90)
print(f"written: {folder / 'match-roc.png'}")
