"""Journey funnel, channel table and store visits: xlcrm (pandas) vs DuckDB SQL on the same in-memory orders,
same run — and the two must give the same numbers (checked below).

    python benchmarks/bench_journey.py            # 1,000,000 customers / 10,000,000 orders
    python benchmarks/bench_journey.py --small    # 100,000 / 1,000,000

Shared definitions: purchases are distinct order days; F2 = 2+ days; repeat = 3+ days or any 定期 order (and
F2); the acquisition channel is the channel of the first order (earliest date, then listing order); a visit is a
day with a 店舗 order. The generated amounts are all positive (no returns). No RFM scores here (the 優良 step is
the RFM module's, benchmarked in bench_rfm.py).
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
from xlcrm import journey as jr  # noqa: E402

AS_OF = "2024-02-01"
CHANNELS = np.array(["EC", "電話", "店舗", "SNS", "紹介", "LINE"], dtype=object)

SQL = f"""
WITH o AS (SELECT *, order_date::DATE AS day FROM orders WHERE order_date <= DATE '{AS_OF}'),
     f AS (SELECT customer_id, arg_min(channel, (order_date, pos)) AS acq, count(DISTINCT day) AS days,
                  bool_or(subscription) AS sub FROM o GROUP BY customer_id),
     per AS (SELECT channel, customer_id, count(DISTINCT day) AS d FROM o GROUP BY 1, 2),
     ch AS (SELECT channel, count(*) AS orders, sum(amount) AS revenue FROM o GROUP BY 1),
     rep AS (SELECT channel, count(*) AS buyers, count(*) FILTER (WHERE d >= 2) AS repeaters FROM per GROUP BY 1),
     acq AS (SELECT acq AS channel, count(*) AS first_purchases, count(*) FILTER (WHERE days >= 2) AS f2,
                    count(*) FILTER (WHERE days >= 2 AND (days >= 3 OR sub)) AS repeat FROM f GROUP BY 1)
SELECT ch.channel, orders, revenue, buyers, first_purchases, f2, repeaters, repeat
FROM ch JOIN rep USING (channel) JOIN acq USING (channel) ORDER BY revenue DESC"""
VISITS_SQL = f"""SELECT count(DISTINCT (customer_id, order_date::DATE)) AS visits FROM orders
WHERE channel = '店舗' AND order_date <= DATE '{AS_OF}'"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", action="store_true", help="100k customers / 1M orders")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n_c, n_o = (100_000, 1_000_000) if args.small else (1_000_000, 10_000_000)
    rng = np.random.default_rng(2)
    orders = orders_frame(n_c, n_o, seed=1).assign(
        channel=pd.array(CHANNELS[rng.integers(0, len(CHANNELS), n_o)], dtype="str"),
        subscription=pd.array(rng.random(n_o) < 0.05, dtype="boolean"))
    customers = pd.DataFrame({"customer_id": pd.array(orders["customer_id"].unique(), dtype="str")})
    print(f"data: {n_c:,} customers / {n_o:,} orders; {os.cpu_count()} cores, duckdb {duckdb.__version__}, "
          f"pandas {pd.__version__}")
    con = duckdb.connect()
    con.register("orders", orders.assign(pos=np.arange(n_o)))
    t_ours, d = median_time(lambda: jr.build(customers, orders, AS_OF), args.repeat)
    t_sql, (tab, visits) = median_time(lambda: (con.sql(SQL).df(), con.sql(VISITS_SQL).fetchall()[0][0]), args.repeat)
    ch, acq = d["channels"], d["by_channel"]
    ref = tab.set_index("channel")
    for col in ("orders", "buyers", "first_purchases", "f2", "repeaters"):
        assert (ch[col] == ref.loc[ch.index, col]).all(), col
    assert np.allclose(ch["revenue"], ref.loc[ch.index, "revenue"])
    assert (acq["repeat"] == ref.loc[acq.index, "repeat"]).all()
    assert d["visits"]["visit_count"].sum() == visits
    print(f"xlcrm journey.build (funnel, by month, by channel, channels, visits): {t_ours:.2f} s")
    print(f"DuckDB SQL (channel table + acquisition funnel + visit total):        {t_sql:.2f} s")
    print("same numbers: yes")


if __name__ == "__main__":
    main()
