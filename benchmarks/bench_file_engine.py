"""Each job as a user runs it (a whole `xlcrm` process on a demo book), beside the floor measured in the same run:
python-calamine reading 顧客 and 注文 from the same file.

    python benchmarks/bench_file_engine.py [--customers 1000] [--jobs rfm,followup,...] [--keep DIR]

Prints wall seconds and peak memory (max RSS of the process) per step, and the ratio of `run rfm` to the floor.
xlcrm's modules are compiled first (python -m compileall, untimed), as pip compiles an installed xlcrm: with
PYTHONDONTWRITEBYTECODE set and no __pycache__ yet, every process would compile them again (+0.25–0.35 s each
here). `--no-bytecode-cache` skips that step (remove xlcrm's __pycache__ folders first to measure that way).
Targets (#12): `run rfm` ≤ 2× the floor and ≤ 1 GB on 100,000 customers; each job ≤ 1.5 s, `contact` ≤ 1 s and
`demo` ≤ 15 s on 1,000 customers; `demo --customers 100000` ≤ 3 minutes.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import python_calamine as pc

ROOT = Path(__file__).resolve().parents[1]
JOBS = ["rfm", "lapse", "followup", "dashboard", "journey", "dedupe", "steps", "pipeline", "survey", "referrals"]


_WRAP = ("import resource, runpy, sys\n"
         "sys.argv = ['xlcrm'] + sys.argv[1:]\n"
         "try:\n    runpy.run_module('xlcrm.cli', run_name='__main__')\n"
         "finally:\n    print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n")


ENV = dict(os.environ, PYTHONPATH=str(ROOT))


def run(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak memory (MB, max RSS) of one whole `xlcrm` process."""
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", _WRAP] + args, capture_output=True, text=True, cwd=ROOT, env=ENV)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{p.stderr[-2000:]}")
    peak = next(int(line.split()[1]) for line in p.stderr.splitlines() if line.startswith("PEAK_KB"))
    return wall, peak / 1024


def calamine_floor(book: Path) -> float:
    t = time.perf_counter()
    read_customers_and_orders(book)
    return time.perf_counter() - t


def read_customers_and_orders(book: Path) -> list:
    """顧客 and 注文 as calamine reads them (the floor); returns 顧客's rows."""
    wb = pc.CalamineWorkbook.from_path(str(book), load_tables=True)
    out = []
    for name in ("顧客", "注文"):
        if name in wb.table_names:
            rows = wb.get_table_by_name(name).to_python()
        else:
            rows = wb.get_sheet_by_name(name).to_python()
        out.append(rows)
    return out[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1000)
    ap.add_argument("--jobs", default=",".join(JOBS))
    ap.add_argument("--keep")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--data-only", action="store_true",
                    help="build the demo book with its data but without running the jobs (large sizes)")
    ap.add_argument("--no-bytecode-cache", action="store_true",
                    help="do not compile xlcrm's modules first (with PYTHONDONTWRITEBYTECODE set and no __pycache__, "
                         "each process compiles them again)")
    a = ap.parse_args()
    tmp = Path(a.keep or tempfile.mkdtemp(prefix="xlcrm-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    if not a.no_bytecode_cache:    # beside the sources, where every process looks (PYTHONPYCACHEPREFIX would make
        # each library's own compiled files invisible, and the first process compile them all: +7 s on the demo)
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "xlcrm")], check=True)
    demo = tmp / "demo.xlsm"
    out = {"customers": a.customers, "bytecode_cached": not a.no_bytecode_cache or "PYTHONDONTWRITEBYTECODE" not in ENV}
    if a.data_only:    # the demo's first two steps: the book, then its data (what `xlcrm demo` does before the jobs)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import itertools, sys; from xlcrm.jobs.demo import run_demo; "
                        "list(itertools.islice(run_demo(sys.argv[1], customers=int(sys.argv[2]), as_of='2025-03-31'), 2))",
                        str(demo), str(a.customers)], check=True, cwd=ROOT, env=ENV)
        out["demo data (no jobs)"] = (time.perf_counter() - t, 0.0)
    else:
        out["demo"] = run(["demo", "--out", str(demo), "--customers", str(a.customers), "--as-of", "2025-03-31"])
    book = tmp / "CRM.xlsm"
    shutil.copyfile(demo, book)
    out["size_mb"] = book.stat().st_size / 1e6
    out["floor_calamine"] = min(calamine_floor(book) for _ in range(2))
    for job in a.jobs.split(","):
        out[f"run {job}"] = run(["run", job, str(book), "--as-of", "2025-03-31"])
        out[f"run {job} again"] = run(["run", job, str(book), "--as-of", "2025-03-31"])
    # C00001, or C000001 in a 100,000-customer demo (the first ID under the header)
    first_customer = next(str(r[0]) for r in read_customers_and_orders(book) if str(r[0]).startswith("C0"))
    out["contact"] = run(["contact", str(book), "--customer", first_customer, "--type", "フォロー",
                                  "--summary", "ベンチマーク"])
    if a.json:
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return
    print(f"{a.customers:,} customers, book {out['size_mb']:.1f} MB; floor (calamine reads 顧客 + 注文): "
          f"{out['floor_calamine']:.2f} s; " + ("bytecode cached" if out["bytecode_cached"] else
                                                 "modules compiled by each process"))
    for k, v in out.items():
        if isinstance(v, tuple):
            print(f"  {k:28s} {v[0]:7.2f} s  {v[1]:7.0f} MB")
    print(f"run rfm / floor: {out['run rfm'][0] / out['floor_calamine']:.1f}x" if "run rfm" in out else "")
    if not a.keep:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
