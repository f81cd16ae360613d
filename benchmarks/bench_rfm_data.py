"""Synthetic orders for the RFM benchmarks: string customer ids (C0000001), a few years of dates, yen amounts.

    python benchmarks/bench_rfm_data.py orders.csv --rows 3000000     # the CSV of bench_rfm_cli.py
"""
from __future__ import annotations

import numpy as np


def orders_arrays(n_customers: int, n_orders: int, seed: int = 0, start="2020-01-01", days: int = 1500):
    """(customer_ids object array, order days since 1970, amounts) with a skewed number of orders per customer."""
    rng = np.random.default_rng(seed)
    # a Zipf-like spread: a few customers buy often, most once or twice
    weights = 1.0 / np.arange(1, n_customers + 1) ** 0.6
    weights /= weights.sum()
    cust = rng.choice(n_customers, size=n_orders, p=weights)
    cust[:n_customers] = np.arange(n_customers)          # every customer has at least one order
    rng.shuffle(cust)
    ids = np.array([f"C{i:07d}" for i in range(n_customers)], dtype=object)[cust]
    day0 = int(np.datetime64(start, "D").astype(np.int64))
    d = day0 + rng.integers(0, days, n_orders)
    amount = (rng.integers(5, 300, n_orders) * 100).astype(np.float64)
    return ids, d, amount


def orders_frame(n_customers: int, n_orders: int, seed: int = 1):
    """The same orders as a core DataFrame (customer_id str, order_date datetime64[ns], amount float64)."""
    import pandas as pd
    ids, days, amount = orders_arrays(n_customers, n_orders, seed)
    return pd.DataFrame({"customer_id": pd.array(ids, dtype="str"),
                         "order_date": days.astype("datetime64[D]").astype("datetime64[ns]"), "amount": amount})


def median_time(f, repeat: int):
    """(median seconds over `repeat` calls of f, the last result)."""
    import statistics
    import time
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def write_orders_csv(path, n_customers: int, n_orders: int, seed: int = 0) -> None:
    """The CSV a shop would export: 顧客ID, 注文日 (ISO), 金額 (integer yen), plus an order id."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    ids, d, amount = orders_arrays(n_customers, n_orders, seed)
    t = pa.table({"注文ID": pa.array([f"O{i:08d}" for i in range(n_orders)]),
                  "顧客ID": pa.array(ids.tolist()), "注文日": pa.array(d.astype("datetime64[D]")),
                  "金額": pa.array(amount.astype(np.int64))})
    pacsv.write_csv(t, path)


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description="write a synthetic orders CSV (顧客ID, 注文日, 金額)")
    ap.add_argument("out")
    ap.add_argument("--rows", type=int, default=3_000_000)
    ap.add_argument("--customers", type=int, default=None, help="default: rows / 10")
    a = ap.parse_args()
    write_orders_csv(a.out, a.customers or max(a.rows // 10, 1), a.rows)
