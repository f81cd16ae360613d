"""Dashboard figures (F2 by first-order month, retention cohorts, monthly revenue, and the customer funnel with
F2 / repeat rate by channel): xlcrm vs DuckDB SQL on the same in-memory orders, same run — and the two must give
the same numbers (checked below).

    python benchmarks/bench_dashboard.py            # 1,000,000 customers / 10,000,000 orders
    python benchmarks/bench_dashboard.py --small    # 100,000 / 1,000,000

Definitions both sides share: purchases are distinct days with a positive amount (2% of the generated rows are
returns: no purchase, but revenue is net of them); F2 = second distinct day within 90 days of the first; cohort
cell (m, k) = customers whose first order month is m with a purchase in month m + k (k < 12). Funnel: bought,
bought on 2+ days, and (3+ days or a 定期 order); the acquisition channel is the first purchase's (earliest date,
then listing order). The 優良 step needs RFM scores (bench_rfm.py) and is left out on both sides.
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
from xlcrm import journey as jr  # noqa: E402

AS_OF = "2024-02-01"
WINDOW = 90
MONTHS = 12
CHANNELS = np.array(["EC", "電話", "店舗", "SNS", "紹介", "LINE"], dtype=object)

F2_SQL = f"""
WITH d AS (SELECT DISTINCT customer_id, order_date::DATE AS day FROM orders
           WHERE order_date <= DATE '{AS_OF}' AND amount > 0),
     r AS (SELECT customer_id, day, row_number() OVER (PARTITION BY customer_id ORDER BY day) AS n FROM d),
     c AS (SELECT customer_id, max(CASE WHEN n = 1 THEN day END) AS first,
                  max(CASE WHEN n = 2 THEN day END) AS second FROM r WHERE n <= 2 GROUP BY customer_id)
SELECT strftime(date_trunc('month', first), '%Y-%m') AS month, count(*) AS first_buyers,
       count(*) FILTER (WHERE second - first <= {WINDOW}) AS converted
FROM c GROUP BY 1 ORDER BY 1"""
COHORT_SQL = f"""
WITH o AS (SELECT customer_id, date_trunc('month', order_date)::DATE AS m FROM orders
           WHERE order_date <= DATE '{AS_OF}' AND amount > 0),
     f AS (SELECT customer_id, min(m) AS cohort FROM o GROUP BY customer_id),
     a AS (SELECT DISTINCT o.customer_id, f.cohort, datediff('month', f.cohort, o.m) AS k
           FROM o JOIN f USING (customer_id))
SELECT strftime(cohort, '%Y-%m') AS cohort, k, count(*) AS n FROM a WHERE k < {MONTHS} GROUP BY 1, 2"""
REVENUE_SQL = f"""
SELECT strftime(date_trunc('month', order_date), '%Y-%m') AS month, sum(amount) AS revenue FROM orders
WHERE order_date < date_trunc('month', DATE '{AS_OF}' + INTERVAL 1 DAY) GROUP BY 1 ORDER BY 1"""
FUNNEL_SQL = f"""
WITH o AS (SELECT *, order_date::DATE AS day FROM orders WHERE order_date <= DATE '{AS_OF}' AND amount > 0),
     c AS (SELECT customer_id, arg_min(channel, (order_date, pos)) AS acq, count(DISTINCT day) AS days,
                  bool_or(subscription) AS sub FROM o GROUP BY customer_id)
SELECT acq AS channel, count(*) AS first, count(*) FILTER (WHERE days >= 2) AS f2,
       count(*) FILTER (WHERE days >= 3 OR (days >= 2 AND sub)) AS repeat FROM c GROUP BY 1"""
CHANNEL_REPEAT_SQL = f"""
WITH per AS (SELECT channel, customer_id, count(DISTINCT order_date::DATE) AS d FROM orders
             WHERE order_date <= DATE '{AS_OF}' AND amount > 0 GROUP BY 1, 2)
SELECT channel, count(*) FILTER (WHERE d >= 2) / count(*) AS repeat_rate FROM per GROUP BY 1"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", action="store_true", help="100k customers / 1M orders")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n_c, n_o = (100_000, 1_000_000) if args.small else (1_000_000, 10_000_000)
    rng = np.random.default_rng(2)
    orders = orders_frame(n_c, n_o, seed=1)
    returns = rng.random(n_o) < 0.02
    orders["amount"] = np.where(returns, -orders["amount"], orders["amount"])
    orders = orders.assign(channel=pd.array(CHANNELS[rng.integers(0, len(CHANNELS), n_o)], dtype="str"),
                           subscription=pd.array(rng.random(n_o) < 0.05, dtype="boolean"))
    customers = pd.DataFrame({"customer_id": pd.array(orders["customer_id"].unique(), dtype="str")})
    print(f"data: {n_c:,} customers / {n_o:,} orders; {os.cpu_count()} cores, duckdb {duckdb.__version__}, "
          f"pandas {pd.__version__}")
    con = duckdb.connect()
    con.register("orders", orders.assign(pos=np.arange(n_o)))
    as_of = pd.Timestamp(AS_OF)

    def ours():
        h = db._History(orders, as_of)
        return (db.f2_by_month(orders, as_of, window_days=WINDOW, history=h),
                db.cohort_matrix(orders, as_of, months=MONTHS, cohorts=10_000, history=h),
                db.monthly_revenue(orders, as_of))

    def theirs():
        return (con.execute(F2_SQL).df(), con.execute(COHORT_SQL).df(), con.execute(REVENUE_SQL).df())

    def funnel():      # as dashboard.build calls it (no RFM scores here, so nobody reaches 優良)
        return jr.build(customers, orders, as_of, None, store_channels=(), window_days=WINDOW)

    def funnel_sql():
        return con.execute(FUNNEL_SQL).df(), con.execute(CHANNEL_REPEAT_SQL).df()

    t_x, (f2, co, rev) = median_time(ours, args.repeat)
    t_d, (f2_d, co_d, rev_d) = median_time(theirs, args.repeat)
    t_f, j = median_time(funnel, args.repeat)
    t_fd, (fu_d, rep_d) = median_time(funnel_sql, args.repeat)
    print(f"F2 + cohorts + revenue:   xlcrm.dashboard {t_x:.2f}s   DuckDB SQL {t_d:.2f}s   (median of {args.repeat})")
    print(f"funnel + channel rates:   xlcrm.journey   {t_f:.2f}s   DuckDB SQL {t_fd:.2f}s")
    print(f"all of the above:         xlcrm           {t_x + t_f:.2f}s   DuckDB SQL {t_d + t_fd:.2f}s")

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
    fu = j["funnel"].set_index("step")["customers"]
    fu_d = fu_d.set_index("channel")
    assert fu["prospect"] == len(customers)
    assert [fu["first"], fu["f2"], fu["repeat"]] == fu_d[["first", "f2", "repeat"]].sum().tolist()
    ch = j["channels"]
    assert np.allclose(ch["f2_rate"], fu_d.loc[ch.index, "f2"] / fu_d.loc[ch.index, "first"])
    assert np.allclose(ch["repeat_rate"], rep_d.set_index("channel").loc[ch.index, "repeat_rate"])
    h = db._History(orders, as_of)
    assert len(h) == fu["first"] and (h.days_bought >= 2).sum() == fu["f2"]   # KPIs agree with the funnel
    print("results identical: F2 by month, cohort counts, monthly revenue, funnel, channel F2 / repeat rates")


if __name__ == "__main__":
    main()
