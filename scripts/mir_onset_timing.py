#!/usr/bin/env python3
"""Onset timing of `loopmate analyze` on corpora made by ../shared/mir/make_corpus.py.

For each corpus: onset F (mir_eval, +-50 ms, summed over clips as eval_mir.py's F_sum), the
mean deviation (estimate minus note-on) overall and per category, the report latency (from the
note-on to the time the live path reported the onset: input received by then, fed in the
feed's 128-sample chunks) and the finality lag (input received minus the time before which the
analysis says every onset is reported).

The onset lead (`ONSET_LEAD_SECS` in src/analysis/online.rs) is re-derived here: run on a
development corpus (a seed other than the public 20240601 and the held-out 777, e.g.
`make_corpus.py --out corpus_dev --n 80 --seed 4242 --profile public`), the printed
"lead to centre" is the lead that would make that corpus' mean deviation zero.

    python3 scripts/mir_onset_timing.py --bin target/release/loopmate ../mir-data/corpus_dev

Needs numpy and mir_eval (the venv `cargo xtask mir` sets up).
"""

import argparse
import glob
import json
import os
import subprocess
from collections import defaultdict

import mir_eval
import numpy as np

WINDOW_S = 0.05


def clip_rows(binary, corpus):
    for meta_path in sorted(glob.glob(os.path.join(corpus, "clip*.json"))):
        with open(meta_path) as f:
            meta = json.load(f)
        wav = os.path.join(corpus, meta["wav"])
        out = subprocess.run(
            [binary, "analyze", "--live-timing", wav], capture_output=True, text=True, check=True
        )
        yield meta, json.loads(out.stdout)


def report(binary, corpus):
    dev_by_category = defaultdict(list)
    latencies, lag_medians, lag_p95s, lag_maxima = [], [], [], []
    tp = n_ref = n_est = 0
    for meta, out in clip_rows(binary, corpus):
        ref = np.asarray(sorted(meta["onsets"]), float)
        est = np.asarray(out["onsets"], float)
        n_ref += len(ref)
        n_est += len(est)
        if len(ref) and len(est):
            matches = mir_eval.util.match_events(ref, est, WINDOW_S)
            tp += len(matches)
            dev_by_category[meta["category"]] += [1e3 * (est[j] - ref[i]) for i, j in matches]
        reported = np.asarray(out["reported"], float).reshape(-1, 2)
        if len(ref) and len(reported):
            for i, j in mir_eval.util.match_events(ref, reported[:, 0], WINDOW_S):
                latencies.append(1e3 * (reported[j, 1] - ref[i]))
        median, p95, worst = out["final_lag_s"]
        lag_medians.append(1e3 * median)
        lag_p95s.append(1e3 * p95)
        lag_maxima.append(1e3 * worst)
    precision, recall = tp / max(n_est, 1), tp / max(n_ref, 1)
    f_sum = 2 * precision * recall / max(precision + recall, 1e-12)
    every = [d for devs in dev_by_category.values() for d in devs]
    mean_dev = float(np.mean(every))
    print(f"== {corpus}")
    print(f"onset F {f_sum:.3f} (P {precision:.3f}, R {recall:.3f}), {n_ref} onsets")
    print(f"mean deviation {mean_dev:+.2f} ms (median {np.median(every):+.2f} ms, sd {np.std(every):.2f} ms)")
    for category in sorted(dev_by_category):
        devs = dev_by_category[category]
        print(f"  {category:8s} {np.mean(devs):+6.2f} ms  median {np.median(devs):+6.2f}  n {len(devs)}")
    print(f"lead to centre the mean: {mean_dev / 1e3:+.4f} s more than the current lead")
    lat = np.asarray(latencies)
    print(
        "report latency (note-on to reported): median {:.1f} ms, 95% {:.1f} ms, max {:.1f} ms".format(
            np.median(lat), np.percentile(lat, 95), lat.max()
        )
    )
    print(
        "finality lag (input received minus final_until): median {:.1f} ms, 95% {:.1f} ms "
        "(medians of the clips'), max {:.1f} ms".format(
            np.median(lag_medians), np.median(lag_p95s), max(lag_maxima)
        )
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", default="target/release/loopmate")
    parser.add_argument("corpora", nargs="+")
    args = parser.parse_args()
    for corpus in args.corpora:
        report(args.bin, corpus)


if __name__ == "__main__":
    main()
