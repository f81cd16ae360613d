"""Japanese customer lists (benchmarks/jp_dedupe_data.py, ground truth known) deduped by xlcrm, beside splink
(DuckDB) given the same normalised columns, in the same run.

    python benchmarks/bench_dedupe_jp.py [--people 8000] [--hard 8000] [--big 100000] [--no-splink]

Prints blocking recall, pairwise precision / recall / F1 and wall time; `--big N` adds a speed run on about N
customer rows. Hard negatives (families at one address, same-name strangers, 伊藤/伊東) are counted separately:
how many of those pairs were wrongly put in one cluster.
"""
from __future__ import annotations

import argparse
import itertools
import os
import sys
import time

import pandas as pd

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import jp_dedupe_data  # noqa: E402
from bench_dedupe_febrl import Clock, cluster_pairs, prf  # noqa: E402

from xlcrm import dedupe  # noqa: E402


def truth_pairs(truth: pd.Series) -> set[frozenset]:
    out = set()
    for _, g in truth.index.to_series().groupby(truth.to_numpy()):
        if len(g) > 1:
            out |= {frozenset(p) for p in itertools.combinations(g.tolist(), 2)}
    return out


def run_xlcrm(df):
    with Clock() as clock:
        res = dedupe.find_duplicates(df)
    return res, clock


_SEX = {"男": "m", "男性": "m", "M": "m", "女": "f", "女性": "f", "F": "f"}


def run_splink(df):
    """splink on xlcrm's normalised features (so both see 髙橋 as 高橋 and 1-2-3 as 1丁目2番3号)."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on
    clock = Clock().__enter__()
    f = dedupe.prepare(df, dedupe.SCHEMA_KINDS)
    d = pd.DataFrame({"unique_id": df["customer_id"].to_numpy(), "fam": f["fam_v"], "giv": f["giv_v"],
                      "kana": f["kana"], "dob": f["dob"], "phone": f["ph0"], "mobile": f["ph1"],
                      "email": f["email"], "postcode": f["postcode"], "addr": f["addr"]})
    comparisons = [cl.JaroWinklerAtThresholds("fam", [0.9]), cl.JaroWinklerAtThresholds("giv", [0.9]),
                   cl.ExactMatch("kana"), cl.ExactMatch("dob"), cl.ExactMatch("phone"), cl.ExactMatch("mobile"),
                   cl.ExactMatch("email"), cl.ExactMatch("postcode"), cl.JaroWinklerAtThresholds("addr", [0.9])]
    if "gender" in df.columns:  # the hard sheet's 性別, folded to m / f the same way for splink
        d["sex"] = [_SEX.get(str(x).strip().upper(), "") for x in df["gender"].fillna("")]
        comparisons.append(cl.ExactMatch("sex"))
    d = d.replace("", None)
    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[
            block_on("mobile"), block_on("phone"), block_on("email"), block_on("fam", "giv", "dob"),
            block_on("giv", "dob"), block_on("kana", "postcode"), block_on("addr")],
        comparisons=comparisons,
        retain_intermediate_calculation_columns=False)
    linker = Linker(DuckDBAPI().register(d), settings, log_level=40)
    linker.training.estimate_probability_two_random_records_match([block_on("mobile")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("fam", "giv"))
    pred = linker.inference.predict(threshold_match_probability=0.5)
    cl_df = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, 0.5).as_pandas_dataframe()
    clock.__exit__()
    return cl_df, clock


def hard_negative_errors(df, truth, pred: set) -> dict:
    """Wrongly merged pairs among the hard negatives: same address (families), same name, same reading only.

    Each pair is read in sorted order: a frozenset's own order follows the string hashes, so reading "its first
    member" made the count change with PYTHONHASHSEED (a pair compared with itself was never counted wrong)."""
    f = dedupe.prepare(df, dedupe.SCHEMA_KINDS)
    ids = df["customer_id"].to_numpy()
    out = {"family_at_one_address": 0, "same_name_strangers": 0, "same_reading_other_kanji": 0, "other": 0}
    pos = {x: k for k, x in enumerate(ids)}
    for a_id, b_id in sorted(tuple(sorted(p)) for p in pred):
        if truth[a_id] == truth[b_id]:
            continue
        a, b = pos[a_id], pos[b_id]
        if f["addr"][a] and f["addr"][a] == f["addr"][b]:
            out["family_at_one_address"] += 1
        elif f["full_v"][a] == f["full_v"][b]:
            out["same_name_strangers"] += 1
        elif f["kana"][a] and f["kana"][a] == f["kana"][b]:
            out["same_reading_other_kanji"] += 1
        else:
            out["other"] += 1
    return out


def report_xlcrm(label, df, truth):
    tp = truth_pairs(truth)
    f = dedupe.prepare(df, dedupe.SCHEMA_KINDS)
    t0 = time.perf_counter()
    cand = dedupe.candidate_pairs(f)
    tb = time.perf_counter() - t0
    ids = df["customer_id"].to_numpy()
    cset = {frozenset((ids[a], ids[b])) for a, b in cand}
    print(f"{label}: {len(df)} records of {truth.nunique()} people, {len(tp)} true pairs; blocking "
          f"{len(cand)} candidate pairs in {tb:.2f} s, recall {len(cset & tp) / max(len(tp), 1):.4f}")
    res, secs = run_xlcrm(df)
    pred = cluster_pairs(res.clusters["id"], res.clusters["cluster_id"])
    p, r, f1 = prf(pred, tp)
    hn = hard_negative_errors(df, truth, pred)
    hh = int(res.pairs["household"].sum())
    print(f"  xlcrm : precision {p:.4f} recall {r:.4f} F1 {f1:.4f}  {secs}; households labelled {hh}; "
          f"wrong merges by kind {hn}")


def report_splink(label, df, truth):
    try:
        cl_df, ssecs = run_splink(df)
    except ImportError:
        print("  splink not installed: reference skipped")
        return
    tp = truth_pairs(truth)
    sp = cluster_pairs(cl_df["unique_id"], cl_df["cluster_id"])
    p2, r2, f2 = prf(sp, tp)
    hn2 = hard_negative_errors(df, truth, sp)
    print(f"{label}\n  splink: precision {p2:.4f} recall {r2:.4f} F1 {f2:.4f}  {ssecs}; wrong merges by kind {hn2}")


def demo_data(n: int, seed: int = 0):
    """The lead's demo customers (xlcrm.demo, its own generator) with person ids from its planted pairs."""
    from xlcrm import demo, schema
    raw = demo.make_demo(customers=n, seed=seed)["customers"]
    df = schema.conform(raw.set_axis(range(2, 2 + len(raw))), "customers")
    t = demo.demo_truth(n, seed)
    parent = {x: x for x in df["customer_id"]}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    for a, b in zip(t.loc[t["same_person"], "id_a"], t.loc[t["same_person"], "id_b"]):
        parent[find(a)] = find(b)
    return df, pd.Series([find(x) for x in df["customer_id"]], index=df["customer_id"].to_numpy())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=8000)
    ap.add_argument("--demo", type=int, default=0, help="also the lead's demo data (xlcrm.demo) with N customers")
    ap.add_argument("--big", type=int, default=0, help="also a speed run on about this many customer rows")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hard", type=int, default=0,
                    help="also the harder sheet of issue #17 (households sharing an e-mail, twins, moved house, …) "
                         "with N people")
    ap.add_argument("--no-splink", action="store_true")
    a = ap.parse_args()
    print(f"cores {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    sets = [("JP quality", *jp_dedupe_data.make(a.people, a.seed))]
    if a.hard:
        sets.append(("JP hard (issue #17)", *jp_dedupe_data.make(a.hard, a.seed, hard=True)))
    if a.demo:
        sets.append(("demo (xlcrm.demo)", *demo_data(a.demo, a.seed)))
    if a.big:
        sets.append(("JP speed", *jp_dedupe_data.make(int(a.big / 1.29), a.seed + 1)))
    # xlcrm on every set first: splink's DuckDB threads would then be in this process, and a fork after threads
    # is unsafe, so xlcrm would fold addresses in one process instead of two
    for label, df, truth in sets:
        report_xlcrm(label, df, truth)
    if not a.no_splink:
        for label, df, truth in sets:
            report_splink(label, df, truth)

if __name__ == "__main__":
    main()
