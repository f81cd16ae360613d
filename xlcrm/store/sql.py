"""Work pushed down to the store as SQL, giving the same numbers as the workbook path's numpy core.

`rfm(store, as_of, opts)` computes xlcrm.rfm's summary (orders on or before the as-of date; only positive amounts
are purchases; returns reduce the money, floored at 0) and its scores with window functions — quintile:
``1 + floor(5 × (customers strictly worse) / customers)`` as ``rank() OVER (ORDER BY …) - 1``; fixed: four cut
points as CASE sums — in one statement that DuckDB and PostgreSQL both run. Segment names are looked up in Python
on the one row per customer that comes back.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from .. import lapse as lapse_core
from .. import rfm as rfm_core
from ..jobs.orders import DateCheck
from .db import Store, q

_SUMMARY = """
WITH o AS (
    SELECT customer_id, CAST(order_date AS DATE) AS d, amount FROM {orders}
    WHERE order_date IS NOT NULL AND CAST(order_date AS DATE) <= CAST(? AS DATE)
), s AS (
    SELECT customer_id,
           GREATEST(sum(amount), 0) AS total,
           sum(CASE WHEN amount > 0 THEN 1 ELSE 0 END) AS orders,
           count(DISTINCT CASE WHEN amount > 0 THEN d END) AS days,
           min(CASE WHEN amount > 0 THEN d END) AS first_d,
           max(CASE WHEN amount > 0 THEN d END) AS last_d
    FROM o GROUP BY customer_id
), f AS (
    SELECT customer_id, CAST(? AS DATE) - last_d AS recency_days, {frequency} AS frequency,
           {monetary} AS monetary, first_d, last_d, CAST(? AS DATE) - first_d AS tenure_days, orders
    FROM s WHERE orders > 0
)
SELECT f.*, {r} AS r, {f} AS f, {m} AS m FROM f ORDER BY customer_id
"""


def _quintile(x: str, worse_first: str) -> str:
    return (f"CAST(1 + floor(5.0 * (rank() OVER (ORDER BY {x} {worse_first}) - 1) / count(*) OVER ()) AS BIGINT)")


def _fixed(x: str, bounds, axis: str) -> str:
    b = [float(v) for v in rfm_core.check_bounds(bounds)]
    if axis == "r":       # 5 - (cut points below x)
        return "(5 - (" + " + ".join(f"CASE WHEN {v!r} < {x} THEN 1 ELSE 0 END" for v in b) + "))"
    op = "<=" if axis == "f" else "<"
    return "(1 + " + " + ".join(f"CASE WHEN {v!r} {op} {x} THEN 1 ELSE 0 END" for v in b) + ")"


def rfm_query(opts: dict) -> str:
    """The one statement: summary and r, f, m per customer with a purchase (parameters: as-of date ×3)."""
    freq = {"orders": "orders", "days": "days"}[opts.get("frequency", "orders")]
    money = {"total": "total", "mean": "total / orders"}[opts.get("monetary", "total")]
    if opts.get("method", "quintile") == "quintile":
        r, f, m = _quintile("recency_days", "DESC"), _quintile("frequency", "ASC"), _quintile("monetary", "ASC")
    else:
        t = {**rfm_core.DEFAULT_THRESHOLDS, **{k: v for k, v in (opts.get("thresholds") or {}).items() if v}}
        r, f, m = _fixed("recency_days", t["r"], "r"), _fixed("frequency", t["f"], "f"), _fixed("monetary", t["m"], "m")
    return _SUMMARY.format(orders=q("orders"), frequency=freq, monetary=money, r=r, f=f, m=m)


def rfm(store: Store, as_of, opts: dict) -> pd.DataFrame:
    """The scored table `xlcrm.rfm.score(summarize(orders, as_of))` gives, computed in the store."""
    day = pd.Timestamp(as_of).date()
    df = store.query(rfm_query(opts), (day, day, day))
    summary = pd.DataFrame({
        "customer_id": pd.array(df["customer_id"].astype(str), dtype="str"),
        "recency_days": df["recency_days"].to_numpy(np.int64),
        "frequency": df["frequency"].to_numpy(np.int64),
        "monetary": df["monetary"].to_numpy(np.float64),
        "first_order": pd.to_datetime(df["first_d"]).astype("datetime64[ns]"),
        "last_order": pd.to_datetime(df["last_d"]).astype("datetime64[ns]"),
        "tenure_days": df["tenure_days"].to_numpy(np.int64),
        "orders": df["orders"].to_numpy(np.int64),
    })
    return rfm_core.name_scores(summary, df["r"].to_numpy(np.int64), df["f"].to_numpy(np.int64),
                                df["m"].to_numpy(np.int64), opts.get("segment_map"))


_HISTORY = """
WITH p AS (
    SELECT DISTINCT customer_id, CAST(order_date AS DATE) AS d FROM {orders}
    WHERE amount > 0 AND order_date IS NOT NULL AND CAST(order_date AS DATE) <= CAST(? AS DATE)
), g AS (
    SELECT customer_id, d, d - lag(d) OVER (PARTITION BY customer_id ORDER BY d) AS gap,
           row_number() OVER (PARTITION BY customer_id ORDER BY d) AS k
    FROM p
)
SELECT customer_id, min(d) AS first_d, max(d) AS last_d, count(*) AS n_days,
       min(CASE WHEN k = 2 THEN d END) AS second_d,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY gap) AS median_gap
FROM g GROUP BY customer_id ORDER BY customer_id
"""

_EPOCH = pd.Timestamp("1970-01-01")


def _days(s: pd.Series) -> np.ndarray:
    return ((pd.to_datetime(s) - _EPOCH) // pd.Timedelta(days=1)).fillna(-1).to_numpy(np.int64)


def lapse(store: Store, as_of, opts: dict) -> pd.DataFrame:
    """`xlcrm.lapse.assess(orders, as_of, **opts)` with the purchase history (first, second and last purchase day,
    purchase days, median gap between them) computed in the store; the judging runs in Python on one row per
    customer, exactly as on a workbook."""
    day = pd.Timestamp(as_of).normalize()
    df = store.query(_HISTORY.format(orders=q("orders")), (day.date(),))
    h = {"first": _days(df["first_d"]), "last": _days(df["last_d"]), "distinct": df["n_days"].to_numpy(np.int64),
         "second": _days(df["second_d"]), "median_gap": pd.to_numeric(df["median_gap"]).to_numpy(np.float64)}
    uniques = pd.array(df["customer_id"].astype(str), dtype="str")
    params = dict(opts)
    return lapse_core.assess_history(h, uniques, int((day - _EPOCH).days), params.pop("method", "rhythm"), **params)


def date_check(store: Store, as_of, *, today=None, letter: str = "", header_row: int = 1) -> DateCheck:
    """Orders dated after the as-of date or after today, counted in the store (`jobs.orders.check_days`' rules;
    the first of each named by its row on 注文)."""
    today = dt.date.today() if today is None else today
    a, t = pd.Timestamp(as_of).date(), pd.Timestamp(today).date()
    c = DateCheck(as_of=str(a), today=str(t))
    d = "CAST(order_date AS DATE)"
    if a <= t:
        masks = {"after_as_of": f"{d} > ?", "future_ignored": f"{d} > ?"}
        params = {"after_as_of": (a,), "future_ignored": (t,)}
    else:
        masks = {"after_as_of": f"{d} > ?", "future_ignored": f"{d} > ?", "future_counted": f"{d} > ? AND {d} <= ?"}
        params = {"after_as_of": (a,), "future_ignored": (a,), "future_counted": (t, a)}
    for name, cond in masks.items():
        n, first = store.rows(f"SELECT count(*), min(_row) FROM {q('orders')} WHERE {cond}", params[name])[0]
        if n:
            setattr(c, name, int(n))
            row = int(first) + header_row
            setattr(c, name + "_at", f"注文!{letter}{row}" if letter else f"注文!{row}:{row}")
    return c
