"""Lapse detection (離脱・休眠): is a customer still buying? Three methods, each explained in its output, and
`assess_all` to see them side by side.

* **days** — fixed days since the last order (設定): 離脱予兆 after `warn_days`, 離脱 after `lapse_days`.
* **rhythm** — the customer's own rhythm: the median interval between their order days × `warn_factor` /
  `lapse_factor` (never less than `min_days` / `min_days × lapse_factor / warn_factor`, so two orders in one week do
  not raise an alarm after ten days). One-order customers are judged against the shop's first-to-second-order
  times: 離脱予兆 once `warn_quantile` of second orders would already have come, 離脱 past `lapse_quantile`.
* **bgnbd** — BG/NBD (xlcrm.bgnbd): P(alive) below `warn_p_alive` / `lapse_p_alive`, plus expected purchases and
  P(no purchase) over the next `horizon_days`. A fit that fails the quality check is refused and the rhythm
  method is used instead (said in each reason and in `df.attrs["fallback"]`). BG/NBD gives P(alive) = 1 to
  customers without a repeat order, so those are judged by the rhythm rule for one-order customers.

Every method marks 休眠 after `dormant_days`. The expected next-order date is the last order plus the customer's
typical interval (one-order customers: first order plus the shop's median first-to-second time).
"""
from __future__ import annotations

import numpy as np

from . import messages
from .rfm import sorted_unique

STATUS = ("稼働", "離脱予兆", "離脱", "休眠")               # codes 0..3
STATUS_EN = ("Active", "Lapsing", "Lapsed", "Dormant")
METHODS = ("days", "rhythm", "bgnbd")

DEFAULTS = {
    "warn_days": 90, "lapse_days": 180, "dormant_days": 365,
    "warn_factor": 1.5, "lapse_factor": 3.0, "min_days": 30,
    "warn_quantile": 0.8, "lapse_quantile": 0.95,
    "warn_p_alive": 0.5, "lapse_p_alive": 0.2, "horizon_days": 90, "unit_days": 7.0,
}


def history_arrays(codes: np.ndarray, n: int, days: np.ndarray) -> dict:
    """Per customer: first and last order day, distinct order days, second distinct day and median gap (days).

    Orders must be on or before the as-of day. Customers without orders get first = last = -1 sentinel and
    distinct = 0. Gaps are between distinct order days, so two orders on one day are one purchase.
    """
    codes = np.asarray(codes, dtype=np.int64)
    days = np.asarray(days, dtype=np.int64)
    if len(days) == 0:
        z = np.zeros(n, dtype=np.int64)
        return {"first": z - 1, "last": z - 1, "distinct": z, "second": z - 1, "median_gap": np.full(n, np.nan)}
    lo = int(days.min())
    span = int(days.max()) - lo + 1
    key = sorted_unique(codes * span + (days - lo))       # sorted distinct (customer, day)
    c, d = key // span, key % span + lo
    start = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
    cust = c[start]
    cnt = np.diff(np.r_[start, len(c)])
    first = np.full(n, -1, dtype=np.int64)
    last = np.full(n, -1, dtype=np.int64)
    distinct = np.zeros(n, dtype=np.int64)
    second = np.full(n, -1, dtype=np.int64)
    first[cust] = d[start]
    last[cust] = d[start + cnt - 1]
    distinct[cust] = cnt
    rep = cnt > 1
    second[cust[rep]] = d[start[rep] + 1]
    # gaps between consecutive distinct days of the same customer, then the median per customer
    same = c[1:] == c[:-1]
    gap, gc = (d[1:] - d[:-1])[same], c[1:][same]
    median_gap = np.full(n, np.nan)
    if len(gap):
        gspan = int(gap.max()) + 1
        g = np.sort(gc * gspan + gap)
        gcust, gval = g // gspan, (g % gspan).astype(np.float64)
        gs = np.flatnonzero(np.r_[True, gcust[1:] != gcust[:-1]])
        gn = np.diff(np.r_[gs, len(g)])
        median_gap[gcust[gs]] = (gval[gs + (gn - 1) // 2] + gval[gs + gn // 2]) / 2
    return {"first": first, "last": last, "distinct": distinct, "second": second, "median_gap": median_gap}


def assess_arrays(h: dict, as_of_day: int, method: str = "rhythm", *, explain: bool = True, **params) -> dict:
    """Statuses and explanations from `history_arrays` output (customers with at least one order)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    p = {**DEFAULTS, **{k: v for k, v in params.items() if v is not None}}
    unknown = set(params) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown lapse parameters: {sorted(unknown)}")
    first, last, distinct = h["first"], h["last"], h["distinct"]
    since = (as_of_day - last).astype(np.int64)
    repeat = distinct > 1
    # shop-wide first-to-second-order times, the yardstick for one-order customers
    f2 = (h["second"] - first)[repeat].astype(np.float64)
    have_f2 = len(f2) > 0
    f2_median = float(np.median(f2)) if have_f2 else np.nan
    interval = np.where(repeat, h["median_gap"], f2_median)
    with np.errstate(invalid="ignore"):
        expected = np.where(np.isfinite(interval), last + np.floor(np.nan_to_num(interval) + 0.5), np.nan)
    out = {"days_since_last": since, "expected_next_day": expected, "interval_days": interval,
           "repeat_orders": np.maximum(distinct - 1, 0)}

    rhythm = _rhythm(h, since, repeat, f2, have_f2, p, explain)
    if method == "days":
        code = np.where(since > p["lapse_days"], 2, np.where(since > p["warn_days"], 1, 0))
        reason = _days_reasons(since, p, explain)
        out["warn_after_days"] = np.full(len(since), float(p["warn_days"]))
        out["lapse_after_days"] = np.full(len(since), float(p["lapse_days"]))
    elif method == "rhythm":
        code, reason = rhythm["code"], rhythm["reason"]
        out["warn_after_days"], out["lapse_after_days"] = rhythm["warn"], rhythm["lapse"]
    else:
        code, reason = _bgnbd(h, as_of_day, since, repeat, rhythm, p, out, explain)
    dormant = since > p["dormant_days"]
    code = np.where(dormant, 3, code)
    if explain:
        dj, de = _fmt("lapse_reason_dormant", since[dormant], dormant_days=p["dormant_days"])
        reason[0][dormant], reason[1][dormant] = dj, de
        out["reason_ja"], out["reason_en"] = reason
    out["status_code"] = code.astype(np.int64)
    return out


def _fmt(key: str, days, **kw):
    """Japanese and English reason per customer (object arrays) from a message template, per-row integers
    (`days`, `rows`) and constants (`kw`). The strings are assembled by Arrow in C++ (a str.format per customer
    took 4 s for 300,000 customers)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from string import Formatter

    from .rfm import _from_numpy
    rows = kw.pop("rows", None) or {}
    ints = {"days": days, **rows}
    n = len(days)
    if n == 0:
        return np.empty(0, dtype=object), np.empty(0, dtype=object)
    text = {k: pc.cast(_from_numpy(np.asarray(v, dtype=np.int64)), pa.string()) for k, v in ints.items()}
    out = []
    for template in messages.CATALOGUE[key]:
        parts = []
        for literal, field, spec, _conv in Formatter().parse(template):
            if literal:
                parts.append(literal)
            if field is not None:
                parts.append(text[field] if field in text else format(kw[field], spec))
        arr = pc.utf8_slice_codeunits(pc.binary_join_element_wise(*parts, ""), 0, 255)
        out.append(arr)
    en = pc.replace_substring(pc.replace_substring(out[1], " 1 days", " 1 day"), "(1 days", "(1 day")
    return np.array(out[0].to_pylist(), dtype=object), np.array(en.to_pylist(), dtype=object)


def _days_reasons(since, p, explain):
    if not explain:
        return None
    return _fmt("lapse_reason_days", since, warn=p["warn_days"], lapse=p["lapse_days"])


def _rhythm(h, since, repeat, f2, have_f2, p, explain):
    n = len(since)
    floor_warn = float(p["min_days"])
    floor_lapse = floor_warn * p["lapse_factor"] / p["warn_factor"]
    gap = h["median_gap"]
    warn = np.where(repeat, np.maximum(gap * p["warn_factor"], floor_warn), np.nan)
    lapse = np.where(repeat, np.maximum(gap * p["lapse_factor"], floor_lapse), np.nan)
    one = ~repeat
    if have_f2:
        q_warn = max(float(np.quantile(f2, p["warn_quantile"])), floor_warn)
        q_lapse = max(float(np.quantile(f2, p["lapse_quantile"])), floor_lapse, q_warn + 1)
    else:  # no customer has ordered twice yet: fall back to the fixed days for one-order customers
        q_warn, q_lapse = float(p["warn_days"]), float(p["lapse_days"])
    warn[one], lapse[one] = q_warn, q_lapse
    code = np.where(since > lapse, 2, np.where(since > warn, 1, 0))
    out = {"code": code, "warn": warn, "lapse": lapse, "reason": None}
    if explain:
        ja = np.empty(n, dtype=object)
        en = np.empty(n, dtype=object)
        rows = {k: np.floor(v[repeat] + 0.5).astype(np.int64)   # half up, as staff round
                for k, v in (("interval", gap), ("warn", warn), ("lapse", lapse))}
        ja[repeat], en[repeat] = _fmt("lapse_reason_rhythm", since[repeat], rows=rows)
        if have_f2:
            ja[one], en[one] = _fmt("lapse_reason_one_order", since[one], warn=round(q_warn), lapse=round(q_lapse),
                                    wq=round(p["warn_quantile"] * 100), lq=round(p["lapse_quantile"] * 100),
                                    qw=round(float(np.quantile(f2, p["warn_quantile"]))),
                                    ql=round(float(np.quantile(f2, p["lapse_quantile"]))))
        else:
            ja[one], en[one] = _fmt("lapse_reason_one_order_no_repeaters", since[one], warn=round(q_warn),
                                    lapse=round(q_lapse))
        out["reason"] = (ja, en)
    return out


def _bgnbd(h, as_of_day, since, repeat, rhythm, p, out, explain):
    from . import bgnbd
    x, t_x, T = bgnbd.from_days(h["first"], h["last"], h["distinct"], as_of_day, p["unit_days"])
    n = len(since)
    try:
        fit = bgnbd.fit(x, t_x, T, unit_days=p["unit_days"])
    except bgnbd.DegenerateFit as e:
        out["fallback"] = e.reason
        out["fit"] = e.fit
        for k in ("p_alive", "expected_purchases", "p_no_purchase"):
            out[k] = np.full(n, np.nan)
        out["p_alive_missing"] = np.full(n, "fit_refused", dtype=object)
        reason = rhythm["reason"]
        if explain:
            pj, pe = messages.CATALOGUE["lapse_reason_fallback"]
            why = {lang: messages.text(e.reason, lang, **e.kw) for lang in ("ja", "en")}
            pj, pe = pj.format(why=why["ja"]), pe.format(why=why["en"])
            reason = (np.array([(pj + s)[:255] for s in reason[0]], dtype=object),
                      np.array([(pe + s)[:255] for s in reason[1]], dtype=object))
        out["warn_after_days"], out["lapse_after_days"] = rhythm["warn"], rhythm["lapse"]
        return rhythm["code"], reason
    out["fit"] = fit
    t = p["horizon_days"] / p["unit_days"]
    pa = bgnbd.p_alive(fit, x, t_x, T)
    out["p_alive"] = np.where(repeat, pa, np.nan)    # BG/NBD's 1.0 for one-order customers says nothing
    # why a P(alive) is blank, per customer (None: it is there): said in JSON and CSV beside the figure
    out["p_alive_missing"] = np.where(repeat, np.where(np.isfinite(pa), None, "not_finite"), "one_order")
    out["expected_purchases"] = bgnbd.expected_purchases(fit, t, x, t_x, T)
    out["p_no_purchase"] = bgnbd.p_no_purchase(fit, t, x, t_x, T)
    code = np.where(pa < p["lapse_p_alive"], 2, np.where(pa < p["warn_p_alive"], 1, 0))
    code = np.where(repeat, code, rhythm["code"])
    out["warn_after_days"] = np.where(repeat, np.nan, rhythm["warn"])
    out["lapse_after_days"] = np.where(repeat, np.nan, rhythm["lapse"])
    reason = None
    if explain:
        ja = np.empty(n, dtype=object)
        en = np.empty(n, dtype=object)
        rows = {"pa": np.round(pa[repeat] * 100).astype(np.int64),
                "pn": np.round(out["p_no_purchase"][repeat] * 100).astype(np.int64)}
        ja[repeat], en[repeat] = _fmt("lapse_reason_bgnbd", since[repeat], rows=rows, horizon=p["horizon_days"],
                                      warn=round(p["warn_p_alive"] * 100), lapse=round(p["lapse_p_alive"] * 100))
        oj, oe = messages.CATALOGUE["lapse_reason_bgnbd_one_order"]
        ja[~repeat] = [(oj + s)[:255] for s in rhythm["reason"][0][~repeat]]
        en[~repeat] = [(oe + s)[:255] for s in rhythm["reason"][1][~repeat]]
        reason = (ja, en)
    return code, reason


def assess(orders, as_of, *, method: str = "rhythm", explain: bool = True, **params):
    """One row per customer with orders on or before `as_of`.

    Columns: customer_id, status (稼働 / 離脱予兆 / 離脱 / 休眠), status_en, expected_next (date), days_since_last,
    interval_days, warn_after_days, lapse_after_days, reason_ja, reason_en, method; with bgnbd also p_alive,
    expected_purchases and p_no_purchase (next `horizon_days`) and p_alive_missing (why p_alive is blank, else
    None). `params` override DEFAULTS. `df.attrs` holds
    "method" (the one actually used), "fit" (BG/NBD parameters) and "fallback" (why BG/NBD was refused).
    """
    import pandas as pd
    from .rfm import _day, factorize_ids, order_days
    as_of_day = _day(as_of)
    d = order_days(orders["order_date"])
    codes, uniques = factorize_ids(orders["customer_id"].array)
    keep = d <= as_of_day
    h = history_arrays(codes[keep], len(uniques), d[keep])
    has = np.flatnonzero(h["distinct"] > 0)
    if len(has) < len(uniques):        # customers whose orders all come after the as-of date
        h = {k: v[has] for k, v in h.items()}
        uniques = uniques[has]
    a = assess_arrays(h, as_of_day, method, explain=explain, **params)
    code = a["status_code"]
    df = pd.DataFrame({
        "customer_id": pd.array(uniques, dtype="str"),
        "status": np.array(STATUS, dtype=object)[code],
        "status_en": np.array(STATUS_EN, dtype=object)[code],
        "expected_next": _to_datetime(a["expected_next_day"]),
        "days_since_last": a["days_since_last"],
        "interval_days": a["interval_days"],
        "warn_after_days": a["warn_after_days"],
        "lapse_after_days": a["lapse_after_days"],
    })
    for k in ("status", "status_en"):
        df[k] = df[k].astype(str)
    if method == "bgnbd":
        for k in ("p_alive", "expected_purchases", "p_no_purchase"):
            df[k] = a[k]
        df["p_alive_missing"] = a["p_alive_missing"]   # why p_alive is blank: one_order, fit_refused, not_finite
    if explain:
        df["reason_ja"] = pd.Series(a["reason_ja"], dtype=object).astype(str)
        df["reason_en"] = pd.Series(a["reason_en"], dtype=object).astype(str)
    used = "rhythm" if "fallback" in a else method
    df["method"] = used
    df.attrs = {"method": used, "fallback": a.get("fallback"),
                "fit": a["fit"].as_dict() if a.get("fit") is not None else None}
    return df


def assess_all(orders, as_of, **params):
    """The three methods side by side, one row per customer: status_days, status_rhythm, status_bgnbd (with
    p_alive), each with its reason_ja; `attrs["bgnbd"]` holds the BG/NBD fit or why it was refused."""
    frames = {m: assess(orders, as_of, method=m, **params) for m in METHODS}
    out = frames["rhythm"][["customer_id", "days_since_last", "expected_next"]].copy()
    for m, df in frames.items():
        out[f"status_{m}"] = df["status"].to_numpy()
        out[f"reason_{m}_ja"] = df["reason_ja"].to_numpy()
        out[f"reason_{m}_en"] = df["reason_en"].to_numpy()
    out["p_alive"] = frames["bgnbd"]["p_alive"].to_numpy()
    out.attrs = {"bgnbd": {k: frames["bgnbd"].attrs[k] for k in ("method", "fallback", "fit")}}
    return out


def _to_datetime(day_float: np.ndarray):
    """Days since 1970 (float, NaN for unknown) as datetime64[ns] with NaT."""
    out = np.full(len(day_float), np.datetime64("NaT"), dtype="datetime64[ns]")
    ok = np.isfinite(day_float)
    out[ok] = day_float[ok].astype(np.int64).astype("datetime64[D]").astype("datetime64[ns]")
    return out
