"""End to end, as a user runs it: `xlcrm rfm orders.csv --as-of … --out rfm.csv` against a DuckDB script that reads
the same CSV (read_csv_auto) and writes the same scores (NTILE), both as whole processes (interpreter start,
imports, reading, scoring, writing), interleaved in the same run.

    python benchmarks/bench_rfm_cli.py              # 3,000,000 orders / 300,000 customers
    python benchmarks/bench_rfm_cli.py --rows 300000
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_rfm_data import write_orders_csv  # noqa: E402

DUCKDB_SCRIPT = r'''
import sys, duckdb
src, out, as_of = sys.argv[1:4]
duckdb.sql(f"""
COPY (
  WITH s AS (
    SELECT "顧客ID" AS customer_id, DATE '{as_of}' - max("注文日")::DATE AS recency_days, count(*) AS frequency,
           sum("金額") AS monetary, min("注文日")::DATE AS first_order, max("注文日")::DATE AS last_order
    FROM read_csv_auto('{src}') WHERE "注文日"::DATE <= DATE '{as_of}' GROUP BY 1)
  SELECT *, ntile(5) OVER (ORDER BY recency_days DESC) AS r, ntile(5) OVER (ORDER BY frequency) AS f,
         ntile(5) OVER (ORDER BY monetary) AS m FROM s
) TO '{out}' (HEADER, DELIMITER ',')""")
'''


def timed(cmd, env=None) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=3_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        csv = d / "orders.csv"
        write_orders_csv(csv, max(args.rows // 10, 1), args.rows, seed=2)
        script = d / "duck.py"
        script.write_text(DUCKDB_SCRIPT, encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        xl = [sys.executable, "-m", "xlcrm.cli", "rfm", str(csv), "--as-of", "2024-02-01", "--out", str(d / "x.csv")]
        dk = [sys.executable, str(script), str(csv), str(d / "k.csv"), "2024-02-01"]
        bare = [sys.executable, "-c", "pass"]
        print(f"{args.rows:,} rows, {csv.stat().st_size / 1e6:.0f} MB; {os.cpu_count()} cores")
        times = {"xlcrm rfm": [], "duckdb script": [], "python -c pass": []}
        for _ in range(args.repeat):
            times["xlcrm rfm"].append(timed(xl, env))
            times["duckdb script"].append(timed(dk))
            times["python -c pass"].append(timed(bare))
        for name, ts in times.items():
            print(f"{name:15s} median {statistics.median(ts):5.2f} s  min {min(ts):5.2f} s   "
                  f"runs {', '.join(f'{x:.2f}' for x in ts)}")
        for how, f in (("median", statistics.median), ("min", min)):
            print(f"xlcrm / duckdb ({how}) = {f(times['xlcrm rfm']) / f(times['duckdb script']):.2f}"
                  "  (target <= 1.5 now, 1.0 as the goal)")


if __name__ == "__main__":
    main()
