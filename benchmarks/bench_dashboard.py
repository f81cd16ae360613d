"""Dashboard figures (F2 by first-order month, retention cohorts, monthly revenue): xlcrm vs DuckDB SQL on the
same in-memory orders, same run — and the two must give the same numbers (checked below).

    python benchmarks/bench_dashboard.py            # 1,000,000 customers / 10,000,000 orders
    python benchmarks/bench_dashboard.py --small    # 100,000 / 1,000,000

Definitions both sides share: purchases are distinct order days; F2 = second distinct day within 90 days of the
first; cohort cell (m, k) = customers whose first order month is m with any order in month m + k (k < 12).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench_rfm_data import median_time, orders_frame  # noqa: E402
from xlcrm import dashboard as db  # noqa: E402

AS_OF = "2024-02-01"
WINDOW = 90
MONTHS = 12

F2_SQL = f"""
WITH d AS (SELECT DISTINCT customer_id, order_date::DATE AS day FROM orders WHERE order_date <= DATE '{AS_OF}'),
     r AS (SELECT customer_id, day, row_number() OVER (PARTITION BY customer_id ORDER BY day) AS n FROM d),
     c AS (SELECT customer_id, max(CASE WHEN n = 1 THEN day END) AS first,
                  max(CASE WHEN n = 2 THEN day END) AS second FROM r WHERE n <= 2 GROUP BY customer_id)
SELECT strftime(date_trunc('month', first), '%Y-%m') AS month, count(*) AS first_buyers,
       count(*) FILTER (WHERE second - first <= {WINDOW}) AS converted
FROM c GROUP BY 1 ORDER BY 1"""
COHORT_SQL = f"""
WITH o AS (SELECT customer_id, date_trunc('month', order_date)::DATE AS m FROM orders
           WHERE order_date <= DATE '{AS_OF}'),
     f AS (SELECT customer_id, min(m) AS cohort FROM o GROUP BY customer_id),
     a AS (SELECT DISTINCT o.customer_id, f.cohort, datediff('month', f.cohort, o.m) AS k
           FROM o JOIN f USING (customer_id))
SELECT strftime(cohort, '%Y-%m') AS cohort, k, count(*) AS n FROM a WHERE k < {MONTHS} GROUP BY 1, 2"""
REVENUE_SQL = f"""
SELECT strftime(date_trunc('month', order_date), '%Y-%m') AS month, sum(amount) AS revenue FROM orders
WHERE order_date < date_trunc('month', DATE '{AS_OF}' + INTERVAL 1 DAY) GROUP BY 1 ORDER BY 1"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", action="store_true", help="100k customers / 1M orders")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n_c, n_o = (100_000, 1_000_000) if args.small else (1_000_000, 10_000_000)
    orders = orders_frame(n_c, n_o, seed=1)
    print(f"data: {n_c:,} customers / {n_o:,} orders; {os.cpu_count()} cores, duckdb {duckdb.__version__}, "
          f"pandas {pd.__version__}")
    con = duckdb.connect()
    con.register("orders", orders)
    as_of = pd.Timestamp(AS_OF)

    def ours():
        h = db._History(orders, as_of)
        return (db.f2_by_month(orders, as_of, window_days=WINDOW, history=h),
                db.cohort_matrix(orders, as_of, months=MONTHS, cohorts=10_000, history=h),
                db.monthly_revenue(orders, as_of))

    def theirs():
        return (con.execute(F2_SQL).df(), con.execute(COHORT_SQL).df(), con.execute(REVENUE_SQL).df())

    t_x, (f2, co, rev) = median_time(ours, args.repeat)
    t_d, (f2_d, co_d, rev_d) = median_time(theirs, args.repeat)
    print(f"xlcrm.dashboard (F2 + cohorts + revenue): {t_x:.2f}s   DuckDB SQL: {t_d:.2f}s   (median of {args.repeat})")

    # the same numbers
    f2_d = f2_d.set_index("month")
    assert list(f2.index) == list(f2_d.index)
    assert (f2["first_buyers"].to_numpy() == f2_d["first_buyers"].to_numpy()).all()
    assert (f2["converted"].to_numpy() == f2_d["converted"].to_numpy()).all()
    counts = co_d.pivot_table(index="cohort", columns="k", values="n", aggfunc="sum", fill_value=0)
    counts = counts.reindex(index=co.index, columns=range(MONTHS), fill_value=0)
    ours_counts = np.rint(co[list(range(MONTHS))].to_numpy(dtype=float) * co["size"].to_numpy()[:, None])
    known = ~np.isnan(ours_counts)
    assert (ours_counts[known] == counts.to_numpy()[known]).all()
    rev_d = rev_d.set_index("month")["revenue"]
    assert np.allclose(rev.to_numpy(), rev_d.reindex([str(p) for p in rev.index]).fillna(0).to_numpy())
    print("results identical: F2 by month, cohort counts, monthly revenue")


if __name__ == "__main__":
    main()
