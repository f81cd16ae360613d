"""Sheet formulas on 100,000 customers / 1,000,000 orders, called with what xlwings passes (lists of lists, Excel
serial floats for dates, text ids): Python time per formula (target <= 1 s), beside the core on a ready DataFrame
(the same scores without converting cell values) in the same run.

    python benchmarks/bench_rfm_udfs.py
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench_rfm_data import orders_arrays  # noqa: E402
from xlcrm import lapse, rfm, udfs  # noqa: E402


def main(n_c: int = 100_000, n_o: int = 1_000_000, repeat: int = 3) -> None:
    ids, days, amount = orders_arrays(n_c, n_o, seed=3)
    serial = (days + 25569).astype(np.float64)                   # Excel serials
    order_ids = [[v] for v in ids.tolist()]
    order_dates = [[v] for v in serial.tolist()]
    order_amounts = [[v] for v in amount.tolist()]
    customers = [[f"C{i:07d}"] for i in range(n_c)]
    as_of = float(np.datetime64("2024-02-01", "D").astype(np.int64) + 25569)
    frame = pd.DataFrame({"customer_id": pd.array(ids, dtype="str"),
                          "order_date": days.astype("datetime64[D]").astype("datetime64[ns]"), "amount": amount})
    calls = {
        "RFM_SCORE": lambda: udfs.RFM_SCORE(customers, order_ids, order_dates, order_amounts, as_of),
        "RFM_SEGMENT": lambda: udfs.RFM_SEGMENT(customers, order_ids, order_dates, order_amounts, as_of),
        "RFM_R": lambda: udfs.RFM_R(customers, order_ids, order_dates, order_amounts, as_of),
        "RFM_SCORE fixed": lambda: udfs.RFM_SCORE(customers, order_ids, order_dates, order_amounts, as_of, "fixed"),
        "DAYS_SINCE_LAST_ORDER": lambda: udfs.DAYS_SINCE_LAST_ORDER(customers, order_ids, order_dates, as_of),
        "LAPSE_STATUS": lambda: udfs.LAPSE_STATUS(customers, order_ids, order_dates, as_of),
        "NEXT_ORDER_DATE": lambda: udfs.NEXT_ORDER_DATE(customers, order_ids, order_dates, as_of),
        "core rfm (DataFrame)": lambda: rfm.score(rfm.summarize(frame, "2024-02-01")),
        "core lapse (DataFrame)": lambda: lapse.assess(frame, "2024-02-01", explain=False),
    }
    print(f"{n_c:,} customers / {n_o:,} orders")
    # wall time, and the process's CPU time: on a shared machine the wall clock also counts waiting for a core
    for name, fn in calls.items():
        ts, cpu = [], []
        for _ in range(repeat):
            t, c = time.perf_counter(), time.process_time()
            fn()
            ts.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        print(f"{name:24s} wall median {statistics.median(ts):5.2f} s  min {min(ts):5.2f} s   "
              f"cpu median {statistics.median(cpu):5.2f} s")


if __name__ == "__main__":
    main()
