"""The dashboard (ダッシュボード): is retention getting better? Pure functions of the order, RFM and lapse frames.

- `kpis`: customers, buyers, active (稼働), repeat rate, F2 conversion.
- `f2_by_month`: share of each first-order month's buyers who bought again within N days (months whose N-day
  window has not closed yet are marked incomplete instead of showing a rate that can only go up).
- `cohort_matrix`: monthly retention cohorts (share of a first-order month still buying k months later).
- `monthly_revenue` + `forecast`: revenue of complete months; a linear trend; the next months forecast by the
  model that did best on the last k held-out months (naive, seasonal naive, linear trend, Holt-Winters with
  and without a damped trend; MAPE). `Fits` keeps the Holt-Winters forecasts made for a series, so a refresh
  over the same complete months repeats them without statsmodels (2 s to import and fit, #12).
- `segment_movement`: how customers moved between RFM segments since the previous snapshot (RFM 効果推移).
- the customer funnel (見込み → 初回購入 → F2 → 定期・リピート → 優良) and F2 / repeat rate by channel come from
  `journey.build` unchanged, so the dashboard and the ジャーニー sheet show the same figures; `journey.biggest_drop` names
  the step that loses the most customers.
"""
from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import journey, purchases

__all__ = ["STATUSES", "status_by_segment", "kpis", "f2_by_month", "cohort_matrix", "monthly_revenue", "MODEL_NAMES",
           "Fits", "forecast", "segment_counts", "update_history", "history_wide", "segment_movement",
           "movement_summary", "roll_snapshot", "build"]

STATUSES = ("稼働", "離脱予兆", "離脱", "休眠")


def status_by_segment(scored: pd.DataFrame, lapse: pd.DataFrame, *, segment_col: str = "segment_ja",
                      total: str = "合計") -> pd.DataFrame:
    """Customers by RFM segment (rows) and lapse status (columns), with totals (last row and column)."""
    df = scored[["customer_id", segment_col]].merge(lapse[["customer_id", "status"]], on="customer_id", how="outer")
    df[segment_col] = df[segment_col].fillna("-")
    df["status"] = df["status"].fillna("-")
    cols = [s for s in STATUSES if s in set(df["status"])] + sorted(set(df["status"]) - set(STATUSES))
    tab = pd.crosstab(df[segment_col], df["status"]).reindex(columns=cols, fill_value=0)
    tab = tab.loc[tab.sum(axis=1).sort_values(ascending=False).index]
    tab[total] = tab.sum(axis=1)
    tab.loc[total] = tab.sum(axis=0)
    tab.index.name, tab.columns.name = None, None
    return tab


class _History:
    """Purchases up to `as_of` as integer arrays, sorted by customer then day: customer code, day and month
    numbers (since 1970), plus each customer's first and last day, second distinct day and number of distinct
    days; `raw_month` / `raw_amount` keep every order line (unsorted) for revenue sums.

    Ids are encoded with the RFM module's fast encoder; one sort of a packed (customer, day) int64 key replaces a
    two-key lexsort. First, last and second purchase day and the number of purchase days are `xlcrm.purchases`'
    (a return or a ¥0 row makes nobody a buyer or a repeater, as in RFM and the funnel); revenue is net of returns.
    """

    def __init__(self, orders: pd.DataFrame, as_of):
        from .rfm import factorize_ids
        as_of_day = np.datetime64(pd.Timestamp(as_of).date(), "D").astype(np.int64)
        dates = orders["order_date"].to_numpy(dtype="datetime64[D]")
        day = dates.astype(np.int64)
        keep = (day <= as_of_day) & ~np.isnat(dates)
        amount = orders["amount"].to_numpy(dtype=float)
        self.raw_amount = amount[keep]
        self.raw_month = day[keep].astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
        keep &= purchases.is_purchase(amount)
        codes, uniq = factorize_ids(orders["customer_id"].array) if len(orders) else (np.zeros(0, np.int64), [])
        codes, day = np.asarray(codes, dtype=np.int64)[keep], day[keep]
        used = np.zeros(len(uniq), dtype=bool)
        used[codes] = True                   # customers without a purchase up to as_of drop out
        codes = (np.cumsum(used) - 1)[codes]
        self.ids = np.asarray(uniq, dtype=object)[used]
        n = len(self.ids)
        if len(day):
            dmin = int(day.min())
            span = int(day.max()) - dmin + 1
            key = np.sort(codes * span + (day - dmin))
            code, day = key // span, key % span + dmin
        else:
            code = day = np.zeros(0, np.int64)
        self.code, self.day = code, day
        self.month = day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
        ph = purchases.history(code, n, day, gaps=False)
        self.first_day, self.last_day, self.days_bought = ph["first"], ph["last"], ph["distinct"]
        self.first_month = self.first_day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
        self.second_day = np.where(ph["second"] >= 0, ph["second"], np.iinfo(np.int64).max)

    def __len__(self):
        return len(self.ids)


def _month_label(m: int) -> str:
    return str(np.datetime64(int(m), "M"))


def kpis(customers: pd.DataFrame, orders: pd.DataFrame, lapse: pd.DataFrame | None, as_of, *,
         f2_days: int = 90, active_days: int | None = None, history: _History | None = None) -> dict:
    """Headline figures. Active = lapse status 稼働 (or an order in the last `active_days` when no lapse frame).

    Repeat rate = buyers who bought on 2+ days / buyers. F2 conversion = first-time buyers whose second order came
    within `f2_days`, among buyers whose first order is at least `f2_days` old (so everyone had the full window).
    """
    as_of = pd.Timestamp(as_of)
    h = history if history is not None else _History(orders, as_of)
    buyers = len(h)
    repeat = int((h.days_bought >= 2).sum())
    f2 = f2_by_month(orders, as_of, window_days=f2_days, history=h)
    done = f2[f2["complete"]]
    if lapse is not None and len(lapse):
        active = int(lapse["status"].eq("稼働").sum())
    else:
        cut = (as_of - pd.Timedelta(days=active_days or 180)).to_datetime64().astype("datetime64[D]").astype(np.int64)
        active = int((h.last_day >= cut).sum())
    prospects = int(customers["kind"].eq("見込み").sum()) if "kind" in customers else 0
    month = np.datetime64(as_of.to_period("M").start_time.date(), "M").astype(np.int64)
    base = int(done["first_buyers"].sum())
    return {
        "customers": int(len(customers)), "prospects": prospects, "buyers": buyers, "active": active,
        "active_rate": active / buyers if buyers else np.nan,
        "repeaters": repeat, "repeat_rate": repeat / buyers if buyers else np.nan,
        "f2_base": base, "f2_converted": int(done["converted"].sum()),
        "f2_rate": done["converted"].sum() / base if base else np.nan,
        "f2_days": f2_days,
        "new_this_month": int((h.first_month == month).sum()),
        "revenue_this_month": float(h.raw_amount[h.raw_month == month].sum()),
    }


def f2_by_month(orders: pd.DataFrame, as_of, *, window_days: int = 90,
                history: _History | None = None) -> pd.DataFrame:
    """Per first-order month: first buyers, converted (2nd order within `window_days`), rate, complete.

    A month is complete when its last day + window is on or before `as_of`; incomplete months keep their
    counts but no rate (NaN), since buyers from late in the month have not had the full window yet.
    """
    as_of = pd.Timestamp(as_of)
    h = history if history is not None else _History(orders, as_of)
    if not len(h):
        return pd.DataFrame({"first_buyers": pd.Series(dtype=int), "converted": pd.Series(dtype=int),
                             "rate": pd.Series(dtype=float), "complete": pd.Series(dtype=bool)},
                            index=pd.Index([], name="month", dtype=object))
    converted = (h.second_day - h.first_day) <= window_days
    months, inv = np.unique(h.first_month, return_inverse=True)
    first_buyers = np.bincount(inv)
    conv = np.bincount(inv, weights=converted).astype(int)
    # last day of each month = first day of the next month - 1
    month_end = (months + 1).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) - 1
    as_of_day = np.datetime64(as_of.date(), "D").astype(np.int64)
    complete = month_end + window_days <= as_of_day
    out = pd.DataFrame({"first_buyers": first_buyers, "converted": conv,
                        "rate": np.where(complete, conv / first_buyers, np.nan), "complete": complete},
                       index=pd.Index([_month_label(m) for m in months], name="month"))
    return out


def cohort_matrix(orders: pd.DataFrame, as_of, *, months: int = 12, cohorts: int = 12,
                  history: _History | None = None) -> pd.DataFrame:
    """Retention by first-order month: column k = share of the cohort with an order in month (first + k).

    Month 0 is 100% by definition. Cells in the future (or the as-of month, not over yet) are NaN. The last
    `cohorts` cohorts are shown; `size` is the cohort's number of new buyers.
    """
    as_of = pd.Timestamp(as_of)
    h = history if history is not None else _History(orders, as_of)
    if not len(h):
        return pd.DataFrame(columns=["size", *range(months)], index=pd.Index([], name="cohort", dtype=object))
    first_m = h.first_month[h.code]
    k = h.month - first_m
    keep = k < months
    # one count per customer and month offset, however many orders that month; the arrays are sorted by
    # customer then day, so equal pairs are adjacent (no sort or hash needed)
    pair = h.code[keep] * months + k[keep]
    pair = pair[np.r_[True, pair[1:] != pair[:-1]]] if len(pair) else pair
    pc, pk = pair // months, pair % months
    coh, inv = np.unique(h.first_month, return_inverse=True)
    size = np.bincount(inv)
    counts = np.bincount(inv[pc] * months + pk, minlength=len(coh) * months).reshape(len(coh), months)
    vals = counts / size[:, None]
    # the as-of month is not over: it and later months are unknown (NaN), not 0%
    as_of_m = np.datetime64(as_of.date(), "M").astype(np.int64)
    vals[np.arange(months)[None, :] >= (as_of_m - coh)[:, None]] = np.nan
    vals[:, 0] = 1.0
    rate = pd.DataFrame(vals, index=pd.Index([_month_label(m) for m in coh], name="cohort"), columns=range(months))
    rate.insert(0, "size", size)
    return rate.tail(cohorts)


def monthly_revenue(orders: pd.DataFrame, as_of, *, history: _History | None = None) -> pd.Series:
    """Revenue per calendar month up to the last complete month before `as_of` (months without sales = 0)."""
    as_of = pd.Timestamp(as_of)
    h = history if history is not None else _History(orders, as_of)
    if not len(h.raw_month):
        return pd.Series(dtype=float)
    last_complete = np.datetime64((as_of + pd.Timedelta(days=1)).date(), "M").astype(np.int64) - 1
    first = int(h.raw_month.min())
    if last_complete < first:
        return pd.Series(dtype=float)
    ok = h.raw_month <= last_complete
    sums = np.bincount(h.raw_month[ok] - first, weights=h.raw_amount[ok], minlength=last_complete - first + 1)
    idx = pd.period_range(_month_label(first), _month_label(last_complete), freq="M", name="month")
    return pd.Series(sums.astype(float), index=idx)


def _mape(actual: np.ndarray, pred: np.ndarray) -> float:
    ok = actual != 0
    return float(np.mean(np.abs((actual[ok] - pred[ok]) / actual[ok])) * 100) if ok.any() else np.nan


@dataclass
class Fits:
    """Holt-Winters forecasts already made: `known` (key → the forecast's values, or None for a series the model
    could not fit) as a caller kept them, and `used`, those this refresh asked for — what to keep for the next.

    A key names the model, the horizon, the series (sha256 of its float64 bytes) and the statsmodels release, so
    a kept forecast is the one statsmodels would make again, to the last bit: the fit is deterministic. Values
    are kept as JSON text (repr of each float: read back exactly)."""

    known: dict[str, str] = field(default_factory=dict)
    used: dict[str, str] = field(default_factory=dict)

    def key(self, model: str, y: np.ndarray, h: int) -> str:
        y = np.ascontiguousarray(y, dtype=np.float64)
        return f"{model} h={h} n={len(y)} {hashlib.sha256(y.tobytes()).hexdigest()} statsmodels {_statsmodels()}"


def _statsmodels() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("statsmodels")
    except PackageNotFoundError:
        return "-"


class _NoFit(ValueError):
    """A model that did not fit this series before (Fits says so)."""


def _fit_predict(model: str, y: np.ndarray, h: int, fits: Fits | None = None) -> np.ndarray:
    n = len(y)
    if model == "seasonal_naive":
        return np.array([y[n - 12 + (i % 12)] for i in range(h)])
    if model == "linear":
        x = np.arange(n)
        b, a = np.polyfit(x, y, 1)
        return a + b * np.arange(n, n + h)
    if model in ("holt_winters", "holt_damped"):
        if fits is None:
            return _holt_winters(model, y, h)
        key = fits.key(model, y, h)
        if key in fits.known:
            fits.used[key] = fits.known[key]
            values = json.loads(fits.known[key])
            if values is None:
                raise _NoFit(model)
            return np.array(values, dtype=np.float64)
        try:
            out = _holt_winters(model, y, h)
        except ImportError:
            raise
        except Exception:
            fits.used[key] = "null"
            raise
        fits.used[key] = json.dumps([float(v) for v in out])
        return out
    if model == "naive":
        return np.repeat(y[-1], h)
    raise ValueError(model)


def _holt_winters(model: str, y: np.ndarray, h: int) -> np.ndarray:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing   # 1.6 s to import: only the Holt-Winters fits
    n = len(y)
    seasonal = "add" if n >= 24 else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = ExponentialSmoothing(y, trend="add", damped_trend=model == "holt_damped", seasonal=seasonal,
                                   seasonal_periods=12 if seasonal else None,
                                   initialization_method="estimated").fit()
    return np.asarray(fit.forecast(h))


MODEL_NAMES = {"seasonal_naive": ("季節ナイーブ(前年同月)", "seasonal naive (same month last year)"),
               "linear": ("直線トレンド", "linear trend"),
               "holt_winters": ("ホルト・ウィンタース法(加法)", "Holt-Winters (additive)"),
               "holt_damped": ("ホルト・ウィンタース法(減衰トレンド)", "Holt-Winters (damped trend)"),
               "naive": ("ナイーブ(前月と同じ)", "naive (last month)")}


def forecast(revenue: pd.Series, *, horizon: int = 6, holdout: int = 6, fits: Fits | None = None) -> dict:
    """Pick the model with the lowest MAPE on the last `holdout` months (fitted on the months before them),
    refit it on all months and forecast `horizon` months.

    Candidates need enough history: seasonal naive 12 months before the hold-out, Holt-Winters (plain and with
    a damped trend, which stops a recent slump or boom from running away) 24 for its seasonal form (else trend
    only, 6+), linear 3+, naive always. Returns model, mape (per model),
    forecast (Series by month), trend (fitted linear trend over the history) and slope per month. `fits`: the
    Holt-Winters forecasts kept from earlier refreshes (see `Fits`); the ones this call makes are added to it.
    """
    y = revenue.to_numpy(dtype=float)
    n = len(y)
    if n == 0:
        return {"model": None, "mape": {}, "forecast": pd.Series(dtype=float), "trend": pd.Series(dtype=float),
                "slope": np.nan, "holdout": 0}
    k = min(holdout, max(n - 3, 0))
    train = n - k
    ok = {"naive": train >= 1, "linear": train >= 3, "seasonal_naive": train >= 12, "holt_winters": train >= 6,
          "holt_damped": train >= 6}
    mape = {}
    if k >= 1:
        for m, good in ok.items():
            if good:
                try:
                    mape[m] = _mape(y[train:], _fit_predict(m, y[:train], k, fits))
                except Exception:  # a model that cannot fit this series simply does not compete
                    continue
    scored = {m: v for m, v in mape.items() if not np.isnan(v)}
    best = min(scored, key=lambda m: (scored[m], m)) if scored else ("linear" if n >= 3 else "naive")
    if best == "seasonal_naive" and n < 12:
        best = "linear"
    fut_idx = pd.period_range(revenue.index[-1] + 1, periods=horizon, freq="M")
    fc = pd.Series(np.maximum(_fit_predict(best, y, horizon, fits), 0.0), index=fut_idx, name="forecast")
    if n >= 2:
        b, a = np.polyfit(np.arange(n), y, 1)
    else:
        b, a = 0.0, y[0]
    trend = pd.Series(a + b * np.arange(n), index=revenue.index, name="trend")
    return {"model": best, "mape": mape, "forecast": fc, "trend": trend, "slope": float(b), "holdout": k}


# --- segment movement (RFM 効果推移) ---------------------------------------------------------------------------

def segment_counts(scored: pd.DataFrame, date, *, segment_col: str = "segment_ja") -> pd.DataFrame:
    """One snapshot row per segment: [date, segment, customers]."""
    c = scored[segment_col].value_counts()
    return pd.DataFrame({"date": pd.Timestamp(date).normalize(), "segment": c.index.astype(str),
                         "customers": c.to_numpy().astype(int)})


def update_history(history: pd.DataFrame | None, snapshot: pd.DataFrame) -> pd.DataFrame:
    """History of segment counts with this refresh's snapshot (a second refresh on the same date replaces it)."""
    # sorted on the first refresh too: the same figures always give the same sheet (an unchanged book is not rewritten)
    if history is None or not len(history):
        out = snapshot.copy()
    else:
        h = history[pd.to_datetime(history["date"]).ne(snapshot["date"].iloc[0])] if len(snapshot) else history
        out = pd.concat([h, snapshot], ignore_index=True)
    out["date"] = pd.to_datetime(out["date"]).astype("datetime64[ns]")
    return out.sort_values(["date", "segment"], kind="stable").reset_index(drop=True)


def history_wide(history: pd.DataFrame) -> pd.DataFrame:
    """Dates as rows, segments as columns (for the trend chart)."""
    if history is None or not len(history):
        return pd.DataFrame()
    w = history.pivot_table(index="date", columns="segment", values="customers", aggfunc="sum", fill_value=0)
    w.columns.name = None
    return w


def segment_movement(previous: pd.DataFrame | None, scored: pd.DataFrame, *, segment_col: str = "segment_ja",
                     new_label: str = "(新規)", gone_label: str = "(対象外)") -> pd.DataFrame:
    """Transition counts from the previous snapshot's segment (rows) to today's (columns).

    `previous`: [customer_id, segment] as kept after the last refresh. Customers new since then come from
    `new_label`; customers no longer scored go to `gone_label`.
    """
    cur = scored[["customer_id", segment_col]].rename(columns={segment_col: "to"})
    if previous is None or not len(previous):
        return pd.DataFrame()
    prev = previous[["customer_id", "segment"]].rename(columns={"segment": "from"})
    df = prev.merge(cur, on="customer_id", how="outer")
    df["from"] = df["from"].fillna(new_label)
    df["to"] = df["to"].fillna(gone_label)
    tab = pd.crosstab(df["from"], df["to"])
    tab.index.name, tab.columns.name = None, None
    return tab


def movement_summary(tab: pd.DataFrame) -> pd.DataFrame:
    """Per segment: customers at the previous snapshot, now, the change, and how many stayed put."""
    if tab.empty:
        return pd.DataFrame()
    segs = list(dict.fromkeys([*tab.index, *tab.columns]))
    t = tab.reindex(index=segs, columns=segs, fill_value=0)
    out = pd.DataFrame({"before": t.sum(axis=1), "after": t.sum(axis=0), "stayed": np.diag(t.to_numpy())},
                       index=segs)
    out["change"] = out["after"] - out["before"]
    return out[["before", "after", "change", "stayed"]]


def roll_snapshot(stored: pd.DataFrame | None, scored: pd.DataFrame, date, *, segment_col: str = "segment_ja"):
    """Keep two per-customer snapshots (previous and current refresh date) so movement is always measured
    against the last refresh on an earlier day, however often the dashboard is refreshed today.

    `stored`: [customer_id, prev_segment, prev_date, cur_segment, cur_date] or None. Returns (new stored,
    previous [customer_id, segment] or None, previous date or None).
    """
    date = pd.Timestamp(date).normalize()
    cur = scored[["customer_id", segment_col]].rename(columns={segment_col: "cur_segment"})
    if stored is None or not len(stored):
        prev, prev_date = None, None
    else:
        stored_date = pd.to_datetime(stored["cur_date"]).dropna()
        same_day = len(stored_date) and stored_date.iloc[0] == date
        if same_day:
            p = stored[stored["prev_segment"].fillna("").ne("")]
            prev = p[["customer_id", "prev_segment"]].rename(columns={"prev_segment": "segment"})
            prev_date = pd.to_datetime(p["prev_date"]).dropna().iloc[0] if len(p) else None
        else:
            p = stored[stored["cur_segment"].fillna("").ne("")]
            prev = p[["customer_id", "cur_segment"]].rename(columns={"cur_segment": "segment"})
            prev_date = stored_date.iloc[0] if len(stored_date) else None
        if prev is not None and not len(prev):
            prev, prev_date = None, None
    out = cur.copy()
    if prev is not None:
        out = prev.rename(columns={"segment": "prev_segment"}).merge(out, on="customer_id", how="outer")
        out["prev_date"] = prev_date
    else:
        out["prev_segment"] = ""
        out["prev_date"] = pd.NaT
    out["cur_date"] = date
    out = out[["customer_id", "prev_segment", "prev_date", "cur_segment", "cur_date"]]
    for k in ("prev_segment", "cur_segment"):
        out[k] = out[k].fillna("").astype(str)
    for k in ("prev_date", "cur_date"):
        out[k] = pd.to_datetime(out[k]).astype("datetime64[ns]")
    return out.reset_index(drop=True), prev, prev_date


def build(customers: pd.DataFrame, orders: pd.DataFrame, scored: pd.DataFrame, lapse: pd.DataFrame, as_of, *,
          history: pd.DataFrame | None = None, snapshot: pd.DataFrame | None = None, f2_days: int = 90,
          cohort_months: int = 12, horizon: int = 6, holdout: int = 6, segment_col: str = "segment_ja",
          fits: Fits | None = None) -> dict:
    """Everything the dashboard shows, from the tables and this refresh's scores (pure but for `fits`, which
    gains the forecasts made)."""
    as_of = pd.Timestamp(as_of).normalize()
    h = _History(orders, as_of)
    rev = monthly_revenue(orders, as_of, history=h)
    fc = forecast(rev, horizon=horizon, holdout=holdout, fits=fits)
    hist = update_history(history, segment_counts(scored, as_of, segment_col=segment_col)) if len(scored) \
        else history
    stored, prev, prev_date = roll_snapshot(snapshot, scored, as_of, segment_col=segment_col)
    moves = segment_movement(prev, scored, segment_col=segment_col)
    jr = journey.build(customers, orders, as_of, scored, store_channels=(), window_days=f2_days)
    return {
        "as_of": as_of,
        "kpis": kpis(customers, orders, lapse, as_of, f2_days=f2_days, history=h),
        "status_segment": status_by_segment(scored, lapse, segment_col=segment_col,
                                            total="Total" if segment_col == "segment" else "合計") if len(scored)
        else pd.DataFrame(),
        "f2": f2_by_month(orders, as_of, window_days=f2_days, history=h),
        "cohorts": cohort_matrix(orders, as_of, months=cohort_months, cohorts=cohort_months, history=h),
        "revenue": rev, "forecast": fc,
        "history": hist, "snapshot": stored, "movement": moves, "movement_since": prev_date,
        "movement_summary": movement_summary(moves),
        "funnel": jr["funnel"], "funnel_drop": journey.biggest_drop(jr["funnel"]), "channels": jr["channels"],
    }
