"""Customer journey (カスタマージャーニー): where customers drop off, which channels bring customers who stay,
and store visits. Pure functions of the 顧客 and 注文 frames (plus an RFM-scored frame for the last step).

Funnel steps, each a subset of the one before (so conversion and drop-off per step are well defined):

- 見込み (prospect): every customer on 顧客 (and any customer id that has orders).
- 初回購入: bought at least once on or before `as_of`.
- F2: bought on a second, different day (two lines of one day's basket are one purchase).
- 定期・リピート: F2 and (bought on 3+ days, or any 定期 order).
- 優良: 定期・リピート and the RFM segment is Champions or Loyal (keys, so a renamed label still counts).

By month and by channel the funnel starts at 初回購入: a prospect has neither a first-order month nor an
acquisition channel. The acquisition channel is the channel of the customer's first order (earliest date, then
the order listed first on 注文).

Channel analysis counts order lines, revenue and buyers per チャネル; first purchases are customers acquired by
the channel, F2 rate is the share of those who bought again (on any channel), repeat rate is the share of the
channel's buyers who bought through that channel on 2+ days. Store visits: days with a 店舗 order.

As in RFM, only rows with a positive amount are purchases: a return or a ¥0 row (sample, cancellation) moves
nobody along the funnel and is no channel order, but returns do reduce the channel's revenue. A store visit is any
店舗 row, a return included: the customer came to the shop.
"""
from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd

from . import purchases
from .rfm import segment_key

__all__ = ["STEPS", "TOP_SEGMENTS", "STORE_CHANNELS", "NO_CHANNEL", "stages", "funnel", "biggest_drop", "funnel_by",
           "channels", "visits", "month_complete", "build"]

STEPS = ("prospect", "first", "f2", "repeat", "top")
TOP_SEGMENTS = ("champions", "loyal")
STORE_CHANNELS = ("店舗",)
NO_CHANNEL = "(未設定)"


def _fold(v) -> str:
    v = unicodedata.normalize("NFKC", str(v)).strip()
    return v or NO_CHANNEL


def _channel(s: pd.Series) -> pd.Series:
    """Channel labels folded so 'ＥＣ' and 'EC ' are one channel; blank -> NO_CHANNEL. A shop has a handful of
    channels, so the distinct labels are folded, not each of a million order lines."""
    codes, uniq = pd.factorize(s.fillna(""))
    folded = np.array([_fold(u) for u in uniq] + [NO_CHANNEL], dtype=object)
    return pd.Series(folded[codes], index=s.index, dtype="str")


def _orders_upto(orders: pd.DataFrame, as_of) -> pd.DataFrame:
    """Orders on or before `as_of` with integer codes for the customer (`cust`, labels in attrs["customers"]) and
    the day (`dayn`), the folded channel and the listing position. Marked, so `build` prepares them once for all
    its tables; the codes make every grouping below integer work instead of string hashing."""
    if orders.attrs.get("journey_prepared"):
        return orders
    as_of = pd.Timestamp(as_of).normalize()
    keep = orders["order_date"].notna() & (orders["order_date"] < as_of + pd.Timedelta(days=1))
    pos = np.flatnonzero(keep.to_numpy())
    o = orders.iloc[pos].copy()
    o["_pos"] = pos
    o["day"] = o["order_date"].dt.normalize()
    o["dayn"] = o["day"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    codes, labels = pd.factorize(o["customer_id"].astype(str))
    o["cust"] = codes
    o["buy"] = purchases.is_purchase(o["amount"].to_numpy(dtype=float))
    o["channel"] = _channel(o["channel"]) if "channel" in o else NO_CHANNEL
    if "subscription" in o:
        o["subscription"] = o["subscription"].fillna(False).astype(bool)
    else:
        o["subscription"] = False
    o.attrs["journey_prepared"] = True
    o.attrs["customers"] = pd.Index(labels.astype(object))
    return o


def _key(*parts: tuple[np.ndarray, int]) -> np.ndarray:
    """One int64 per row from small non-negative integer columns, each given with its number of values (sorting
    one int64 column is far faster than unique over several)."""
    k = np.zeros(len(parts[0][0]), dtype=np.int64)
    for col, size in parts:
        k = k * size + col
    return k


def _distinct(k: np.ndarray) -> np.ndarray:
    """Sorted distinct values (sorting beats numpy's hash-based unique on a million int64 here)."""
    k = np.sort(k)
    return k[np.r_[True, k[1:] != k[:-1]]] if len(k) else k


def stages(customers: pd.DataFrame, orders: pd.DataFrame, as_of, scored: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per customer: first_order, first_month ('2024-01'), acq_channel, days (distinct order days),
    subscription, segment_key and a boolean column per funnel step (STEPS)."""
    o = _orders_upto(orders, as_of)
    labels = o.attrs["customers"]
    b = o[o["buy"].to_numpy()]
    cust, n = b["cust"].to_numpy(), len(labels)
    days = purchases.distinct_days(cust, n, b["dayn"].to_numpy())
    # the first purchase: earliest date, then the order listed first
    first_i = np.lexsort((b["_pos"].to_numpy(), b["order_date"].to_numpy(), cust))
    lead = first_i[np.r_[True, cust[first_i][1:] != cust[first_i][:-1]]] if len(first_i) else first_i
    first_date = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    first_date[cust[lead]] = b["order_date"].to_numpy()[lead]
    acq = np.full(n, "", dtype=object)
    acq[cust[lead]] = b["channel"].to_numpy(dtype=object)[lead]
    sub = np.bincount(cust, weights=b["subscription"].to_numpy(dtype=float), minlength=n) > 0
    ids = pd.Index(customers["customer_id"].astype(str)).append(pd.Index(labels[days > 0].astype(str))).unique()
    at = labels.get_indexer(ids)
    has = at >= 0
    # one blank slot past the end stands for "no orders", so customers without any index it safely
    at = np.where(has, at, n)
    first_date = np.append(first_date, np.datetime64("NaT", "ns"))
    acq, days, sub = np.append(acq, ""), np.append(days, 0), np.append(sub, False)
    df = pd.DataFrame({"customer_id": pd.array(ids, dtype="str")})
    df["first_order"] = pd.to_datetime(first_date[at]).normalize()
    df["first_month"] = df["first_order"].dt.strftime("%Y-%m").fillna("")
    df["acq_channel"] = acq[at]
    df["days"] = days[at].astype(np.int64)
    df["subscription"] = sub[at].astype(bool)
    seg = pd.Series("", index=ids)
    if scored is not None and len(scored):
        keys = scored.set_index(scored["customer_id"].astype(str))["segment"].map(lambda s: segment_key(s) or "")
        seg = keys.reindex(ids).fillna("")
    df["segment_key"] = seg.to_numpy()
    df["prospect"] = True
    df["first"] = df["days"] >= 1
    df["f2"] = df["days"] >= 2
    df["repeat"] = df["f2"] & ((df["days"] >= 3) | df["subscription"])
    df["top"] = df["repeat"] & df["segment_key"].isin(TOP_SEGMENTS)
    return df


def funnel(st: pd.DataFrame, steps=STEPS) -> pd.DataFrame:
    """Per step: customers, step conversion (from the step before), drop-off (lost at this step), overall rate
    (from the first step). The first step has no conversion or drop-off."""
    counts = np.array([int(st[s].sum()) for s in steps], dtype=np.int64)
    prev = np.r_[np.nan, counts[:-1]].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        conv = np.where(prev > 0, counts / prev, np.nan)
        overall = np.where(counts[0] > 0, counts / counts[0], np.nan) if len(counts) else counts
    drop = prev - counts
    return pd.DataFrame({"step": list(steps), "customers": counts, "conversion": conv, "drop_off": drop,
                         "overall": overall.astype(float)})


def biggest_drop(funnel: pd.DataFrame) -> str | None:
    """The step (STEPS key) that loses the most customers from the step before; None when nobody drops off.
    Where customers drop off is the point to fix: the ジャーニー sheet and the dashboard both name it."""
    drop = funnel.set_index("step")["drop_off"].iloc[1:].fillna(0)
    return drop.idxmax() if drop.gt(0).any() else None


def funnel_by(st: pd.DataFrame, by: str) -> pd.DataFrame:
    """Funnel from 初回購入 per value of `by` (first_month or acq_channel): counts per step and each step's
    conversion from the step before (columns first, f2, repeat, top, f2_rate, repeat_rate, top_rate)."""
    b = st[st["first"]]
    steps = STEPS[1:]
    g = b.groupby(by, sort=True)[list(steps)].sum().astype(np.int64)
    for prev, cur in zip(steps[:-1], steps[1:]):
        g[f"{cur}_rate"] = np.where(g[prev] > 0, g[cur] / g[prev].where(g[prev] > 0, 1), np.nan)
    if by == "acq_channel":
        g = g.sort_values("first", ascending=False, kind="stable")
    g.index.name = by
    return g


def channels(orders: pd.DataFrame, st: pd.DataFrame, as_of) -> pd.DataFrame:
    """Per channel: orders, revenue, buyers, first purchases, F2 rate (of those acquired), repeat rate (buyers
    who bought through the channel on 2+ days). Sorted by revenue, largest first."""
    o = _orders_upto(orders, as_of)
    chan_codes, chans = pd.factorize(o["channel"])
    buy = o["buy"].to_numpy()
    ch, cust = chan_codes[buy], o["cust"].to_numpy()[buy]
    m = len(chans)
    out = pd.DataFrame({"orders": np.bincount(ch, minlength=m)}, index=pd.Index(chans.astype(object)))
    out["revenue"] = np.bincount(chan_codes, weights=o["amount"].to_numpy(dtype=float), minlength=m)  # net of returns
    n = len(o.attrs["customers"])
    dayn = o["dayn"].to_numpy()[buy]
    if len(dayn):
        d0, span = dayn.min(), int(dayn.max() - dayn.min()) + 1
        pair = _distinct(_key((ch, m), (cust, n), (dayn - d0, span))) // span      # (channel, customer) per day
        starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
        pairs, per = pair[starts], np.diff(np.r_[starts, len(pair)])               # days per (channel, customer)
    else:
        pairs, per = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    out["buyers"] = np.bincount(pairs // n, minlength=m)
    out["repeaters"] = np.bincount(pairs // n, weights=(per >= 2).astype(float), minlength=m)
    out = out[out["orders"] > 0]
    acq = st[st["first"]].groupby("acq_channel")
    out["first_purchases"] = acq.size().reindex(out.index).fillna(0)
    out["f2"] = acq["f2"].sum().reindex(out.index).fillna(0)
    out = out.astype({"orders": np.int64, "buyers": np.int64, "repeaters": np.int64, "first_purchases": np.int64,
                      "f2": np.int64, "revenue": float})
    out["f2_rate"] = np.where(out["first_purchases"] > 0, out["f2"] / out["first_purchases"].clip(lower=1), np.nan)
    out["repeat_rate"] = np.where(out["buyers"] > 0, out["repeaters"] / out["buyers"].clip(lower=1), np.nan)
    out = out.sort_values(["revenue", "orders"], ascending=False, kind="stable")
    out.index.name = "channel"
    return out[["orders", "revenue", "buyers", "first_purchases", "f2", "f2_rate", "repeaters", "repeat_rate"]]


def visits(customers: pd.DataFrame, orders: pd.DataFrame, as_of, store_channels=STORE_CHANNELS) -> pd.DataFrame:
    """Per customer on 顧客: visit_count (days with an order on a store channel) and last_visit (NaT if none)."""
    o = _orders_upto(orders, as_of)
    store = {unicodedata.normalize("NFKC", c).strip() for c in store_channels}
    o = o[o["channel"].isin(store)]
    g = o.groupby("customer_id")["day"]
    ids = pd.Index(customers["customer_id"].astype(str))
    return pd.DataFrame({
        "customer_id": pd.array(ids, dtype="str"),
        "visit_count": g.nunique().reindex(ids).fillna(0).astype(np.int64).to_numpy(),
        "last_visit": g.max().reindex(ids).to_numpy(dtype="datetime64[ns]"),
    })


def month_complete(months: pd.Index, as_of, window_days: int) -> np.ndarray:
    """True where a first-order month's buyers have all had `window_days` to buy again (month end + window on or
    before `as_of`), as the dashboard's F2 table decides; later months' rates can still only go up."""
    if not len(months):
        return np.zeros(0, dtype=bool)
    ends = pd.PeriodIndex(list(months), freq="M").end_time.normalize()
    return np.asarray(ends + pd.Timedelta(days=window_days) <= pd.Timestamp(as_of).normalize())


def build(customers: pd.DataFrame, orders: pd.DataFrame, as_of, scored: pd.DataFrame | None = None,
          store_channels=STORE_CHANNELS, window_days: int = 90) -> dict:
    """Everything the ジャーニー sheet shows: funnel, by_month (with `complete`), by_channel, channels, visits,
    stages."""
    orders = _orders_upto(orders, as_of)
    st = stages(customers, orders, as_of, scored)
    by_month = funnel_by(st, "first_month")
    by_month["complete"] = month_complete(by_month.index, as_of, window_days)
    return {"as_of": pd.Timestamp(as_of).normalize(), "stages": st, "funnel": funnel(st),
            "by_month": by_month, "by_channel": funnel_by(st, "acq_channel"),
            "channels": channels(orders, st, as_of), "visits": visits(customers, orders, as_of, store_channels)}
