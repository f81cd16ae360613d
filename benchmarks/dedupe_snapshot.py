"""A one-off check that a speed change to xlcrm.dedupe changes no result: snapshot the pairs (ids, weights,
probabilities, levels, reasons), clusters and fitted model on the benchmark sets, then compare two snapshots.

    python benchmarks/dedupe_snapshot.py save before.pkl [--big 100000]     # on the old code (git stash / worktree)
    python benchmarks/dedupe_snapshot.py save after.pkl [--big 100000]      # on the new code
    python benchmarks/dedupe_snapshot.py compare before.pkl after.pkl

Sets: FEBRL3, the JP sheet and the hard sheet (8,000 people each, seed 0) and, with --big, the speed set of
bench_dedupe_jp.py --big (seed 1). Equal means bit for bit: float weights too.
"""
from __future__ import annotations

import argparse
import os
import pickle
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from xlcrm import dedupe  # noqa: E402  (first: this checkout's xlcrm, whatever the benchmarks put on the path)

sys.path.insert(1, os.path.dirname(__file__))
import bench_dedupe_febrl as bf  # noqa: E402
import jp_dedupe_data  # noqa: E402


def snapshot(big: int) -> dict:
    sets = {"febrl3": (bf.load_febrl3(), dict(kinds=bf.FEBRL_MAP, id_column="rec_id"))}
    sets["jp"] = (jp_dedupe_data.make(8000, 0)[0], {})
    sets["hard"] = (jp_dedupe_data.make(8000, 0, hard=True)[0], {})
    if big:
        sets["big"] = (jp_dedupe_data.make(int(big / 1.29), 1)[0], {})
    out = {}
    for name, (df, kw) in sets.items():
        r = dedupe.find_duplicates(df, **kw)
        out[name] = (r.pairs.drop(columns=["reason_en"]).reset_index(drop=True), r.clusters.reset_index(drop=True),
                     r.n_candidates, r.model.to_json())
        print(f"{name}: {len(df)} rows, {len(r.pairs)} pairs shown, {r.n_candidates} candidates")
    return out


def compare(a: dict, b: dict) -> bool:
    same = True
    for k in a:
        if k not in b:
            print(f"{k}: only in the first snapshot")
            same = False
            continue
        pa, pb = a[k][0], b[k][0]
        ok = pa.equals(pb) and a[k][1].equals(b[k][1]) and a[k][2:] == b[k][2:]
        diff = [c for c in pa.columns if c in pb.columns and len(pa) == len(pb) and not pa[c].equals(pb[c])]
        cols = f" columns {diff}" if diff else ""
        print(f"{k}: {'identical' if ok else 'DIFFERENT'} ({len(pa)} / {len(pb)} pairs){cols}")
        same &= ok
    return same


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("save")
    s.add_argument("out")
    s.add_argument("--big", type=int, default=0)
    c = sub.add_parser("compare")
    c.add_argument("a")
    c.add_argument("b")
    a = ap.parse_args()
    if a.cmd == "save":
        with open(a.out, "wb") as fh:
            pickle.dump(snapshot(a.big), fh)
    else:
        with open(a.a, "rb") as fa, open(a.b, "rb") as fb:
            sys.exit(0 if compare(pickle.load(fa), pickle.load(fb)) else 1)


if __name__ == "__main__":
    main()
