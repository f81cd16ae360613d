"""Purchase days, as every analysis counts them: a purchase is an order line with a positive amount (returns and
¥0 rows are none), and two lines of one day's basket are one purchase."""
from __future__ import annotations

import numpy as np
import pandas as pd


def purchase_days(orders: pd.DataFrame, as_of) -> pd.DataFrame:
    """One row per customer and day with a purchase (amount > 0: returns and ¥0 rows are no purchase), sorted by
    customer and day; `n` numbers each customer's purchase days from 0. Customers are integer codes while
    sorting and de-duplicating (string sorts of a million ids were most of the time)."""
    as_of = pd.Timestamp(as_of).normalize()
    o = orders[orders["order_date"].notna() & (orders["order_date"] < as_of + pd.Timedelta(days=1))
               & (orders["amount"].to_numpy(dtype=float) > 0)]
    codes, labels = pd.factorize(o["customer_id"].astype(str), sort=True)
    day = o["order_date"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    if len(day):
        d0, span = day.min(), int(day.max() - day.min()) + 1
        key = np.sort(codes.astype(np.int64) * span + (day - d0))
        key = key[np.r_[True, key[1:] != key[:-1]]]
        codes, day = key // span, key % span + d0
    lead = np.r_[True, codes[1:] != codes[:-1]] if len(codes) else np.zeros(0, dtype=bool)
    start = np.maximum.accumulate(np.where(lead, np.arange(len(codes)), 0))
    return pd.DataFrame({"customer_id": pd.array(np.asarray(labels, dtype=object)[codes], dtype="str"),
                         "order_date": day.astype("datetime64[D]").astype("datetime64[ns]"),
                         "n": np.arange(len(codes)) - start})


def first_purchase(orders: pd.DataFrame, as_of) -> pd.Series:
    """Each buyer's first purchase day up to `as_of` (index customer_id)."""
    as_of = pd.Timestamp(as_of).normalize()
    o = orders[(orders["amount"].to_numpy(dtype=float) > 0) & (orders["order_date"] < as_of + pd.Timedelta(days=1))]
    return o.groupby(o["customer_id"].astype(str))["order_date"].min().dt.normalize()
