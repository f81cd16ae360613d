"""RFM summary + quintile scores: xlcrm vs DuckDB (SQL with NTILE) on the same in-memory orders, same run.

    python benchmarks/bench_rfm.py            # 1,000,000 customers / 10,000,000 orders
    python benchmarks/bench_rfm.py --small    # 100,000 / 1,000,000

Both sides start from the same pandas DataFrame (customer_id as pandas' Arrow-backed str, order_date
datetime64[ns], amount float64) and end with one row per customer holding r, f, m. DuckDB is timed twice: with
NTILE (the reference in the issue; ties broken arbitrarily) and with the rank rule xlcrm documents
(1 + floor(5 * (rank() - 1) / n)), whose scores must equal xlcrm's — checked below.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import duckdb  # noqa: E402
import pandas as pd  # noqa: E402

from bench_rfm_data import orders_frame  # noqa: E402
from xlcrm import rfm  # noqa: E402

AS_OF = "2024-02-01"

NTILE_SQL = f"""
WITH s AS (SELECT customer_id, DATE '{AS_OF}' - max(order_date)::DATE AS recency_days, count(*) AS frequency,
                  sum(amount) AS monetary, min(order_date) AS first_order, max(order_date) AS last_order
           FROM orders WHERE order_date <= DATE '{AS_OF}' GROUP BY customer_id)
SELECT *, ntile(5) OVER (ORDER BY recency_days DESC) AS r, ntile(5) OVER (ORDER BY frequency) AS f,
       ntile(5) OVER (ORDER BY monetary) AS m FROM s"""
RANK_SQL = f"""
WITH s AS (SELECT customer_id, DATE '{AS_OF}' - max(order_date)::DATE AS recency_days, count(*) AS frequency,
                  sum(amount) AS monetary, min(order_date) AS first_order, max(order_date) AS last_order
           FROM orders WHERE order_date <= DATE '{AS_OF}' GROUP BY customer_id)
SELECT *, 1 + floor(5 * (rank() OVER (ORDER BY recency_days DESC) - 1) / count(*) OVER ())::INT AS r,
          1 + floor(5 * (rank() OVER (ORDER BY frequency) - 1) / count(*) OVER ())::INT AS f,
          1 + floor(5 * (rank() OVER (ORDER BY monetary) - 1) / count(*) OVER ())::INT AS m FROM s"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", action="store_true", help="100k customers / 1M orders")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n_c, n_o = (100_000, 1_000_000) if args.small else (1_000_000, 10_000_000)
    t = time.perf_counter()
    orders = orders_frame(n_c, n_o, seed=1)
    print(f"data: {n_c:,} customers / {n_o:,} orders ({time.perf_counter() - t:.1f}s to build); "
          f"{os.cpu_count()} cores, duckdb {duckdb.__version__}, pandas {pd.__version__}")
    con = duckdb.connect()
    con.register("orders", orders)

    def xl():
        return rfm.score(rfm.summarize(orders, AS_OF))

    def dk_ntile():
        return con.sql(NTILE_SQL).df()

    def dk_rank():
        return con.sql(RANK_SQL).df()

    times = {"xlcrm": [], "duckdb NTILE": [], "duckdb rank rule": []}
    results = {}
    for _ in range(args.repeat):   # interleaved, so a busy neighbour slows both sides alike
        for name, fn in (("xlcrm", xl), ("duckdb NTILE", dk_ntile), ("duckdb rank rule", dk_rank)):
            t = time.perf_counter()
            results[name] = fn()
            times[name].append(time.perf_counter() - t)
    a = results["xlcrm"].set_index("customer_id").sort_index()
    b = results["duckdb rank rule"].set_index("customer_id").sort_index()
    same = all((a[k].to_numpy() == b[k].to_numpy()).all() for k in ("r", "f", "m", "recency_days", "frequency"))
    print(f"xlcrm scores equal DuckDB's with the rank rule: {same}")
    for name, ts in times.items():
        print(f"{name:18s} median {statistics.median(ts):6.2f} s  min {min(ts):6.2f} s   "
              f"runs {', '.join(f'{x:.2f}' for x in ts)}")
    for how, f in (("median", statistics.median), ("min", min)):
        print(f"xlcrm / duckdb NTILE ({how}) = {f(times['xlcrm']) / f(times['duckdb NTILE']):.2f}  (target <= 1.0)")


if __name__ == "__main__":
    main()
