#!/usr/bin/env python3
"""Draws `make eval`'s figure from lpeval's output folder: genuine sessions passed, sent to a
document check for their age, and failed per identity (tuning and reporting halves), attack sessions accepted per attack, and the head
pose of one passing session against its prompts. Writes eval.png beside the data."""
import csv
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

folder = Path(sys.argv[1] if len(sys.argv) > 1 else "target/eval")
results = json.loads((folder / "results.json").read_text())
sessions = results["sessions"]

fig, (ax_id, ax_attack, ax_trace) = plt.subplots(3, 1, figsize=(10, 12))

genuine = [s for s in sessions if s["kind"] == "genuine"]
names = sorted({s["identity"] for s in genuine}, key=lambda n: (next(s["role"] for s in genuine if s["identity"] == n), n))
passed = [sum(s["passed"] for s in genuine if s["identity"] == n) for n in names]
total = [sum(1 for s in genuine if s["identity"] == n) for n in names]
colours = ["tab:blue" if next(s["role"] for s in genuine if s["identity"] == n) == "reporting" else "tab:grey" for n in names]


def liveness_passed(s):
    """The verdict's only findings, if any, are the age check's (14, 15)."""
    return s["decided"] and all(c in (14, 15) for c in s["codes"])


# Sessions whose liveness passed and whose age sent them to a document check (15).
document = [sum(not s["passed"] and liveness_passed(s) and 15 in s["codes"] for s in genuine if s["identity"] == n)
            for n in names]
failed = [t - p - d for t, p, d in zip(total, passed, document)]
ax_id.bar(names, passed, color=colours, label="passed (blue: reporting, grey: tuning)")
ax_id.bar(names, document, bottom=passed, color="tab:orange", label="document check (age uncertain)")
ax_id.bar(names, failed, bottom=[p + d for p, d in zip(passed, document)], color="tab:red", label="failed")
ax_id.set_title("Genuine sessions per identity")
ax_id.set_ylabel("sessions")
ax_id.legend()
ax_id.tick_params(axis="x", rotation=30)

kinds = ["static-photo", "hand-held-print", "planar-tilt", "replay-loop", "two-faces", "screen-relay",
         "puppet", "puppet-late", "noise-free", "duplicated"]
kinds = [k for k in kinds if any(s["kind"] == k for s in sessions)]
# An attack the liveness check let through is accepted, whatever its age decision.
accepted = [sum(s["passed"] or liveness_passed(s) for s in sessions if s["kind"] == k) for k in kinds]
rejected = [sum(not (s["passed"] or liveness_passed(s)) for s in sessions if s["kind"] == k) for k in kinds]
ax_attack.bar(kinds, rejected, color="tab:green", label="rejected")
ax_attack.bar(kinds, accepted, bottom=rejected, color="tab:red", label="accepted (APCER)")
ax_attack.set_title("Attack sessions")
ax_attack.set_ylabel("sessions")
ax_attack.legend()
ax_attack.tick_params(axis="x", rotation=30)

with open(folder / "trace.csv") as f:
    rows = list(csv.DictReader(f))
if rows:
    t = [float(r["t"]) for r in rows]
    ax_trace.plot(t, [float(r["yaw"]) for r in rows], label="rendered yaw (deg)")
    ax_trace.plot(t, [float(r["pitch"]) for r in rows], label="rendered pitch (deg)")
    last = None
    for r in rows:
        if r["prompt"] != last:
            ax_trace.axvline(float(r["t"]), color="grey", linewidth=0.5)
            ax_trace.text(float(r["t"]), 28, r["prompt"] or "-", rotation=90, fontsize=7, va="top")
            last = r["prompt"]
    ax_trace.set_ylim(-32, 32)
    ax_trace.set_xlabel("seconds since CONNECT")
    ax_trace.set_title("One passing session: the simulated person's head pose and the prompts it read")
    ax_trace.legend(loc="lower right")

fig.tight_layout()
fig.savefig(folder / "eval.png", dpi=90)
print(f"written: {folder / 'eval.png'}")
