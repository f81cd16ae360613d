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

Orders here are purchases as `xlcrm.purchases` defines them (a return or a ¥0 row is none), so the days since the
last order agree with RFM's. Every method marks 休眠 after `dormant_days`. The expected next-order date is the last order plus the customer's
typical interval (one-order customers: first order plus the shop's median first-to-second time).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import messages, purchases

__all__ = ["STATUS", "STATUS_EN", "DEFAULTS", "assess_arrays", "Case", "Method", "REGISTRY", "BY_NAME", "METHODS",
           "CHOICES", "method_name", "method_or_error", "assess", "assess_history", "assess_all"]

STATUS = ("稼働", "離脱予兆", "離脱", "休眠")               # codes 0..3
STATUS_EN = ("Active", "Lapsing", "Lapsed", "Dormant")

DEFAULTS = {
    "warn_days": 90, "lapse_days": 180, "dormant_days": 365,
    "warn_factor": 1.5, "lapse_factor": 3.0, "min_days": 30,
    "warn_quantile": 0.8, "lapse_quantile": 0.95,
    "warn_p_alive": 0.5, "lapse_p_alive": 0.2, "horizon_days": 90, "unit_days": 7.0,
}


def assess_arrays(h: dict, as_of_day: int, method: str = "rhythm", *, explain: bool = True, **params) -> dict:
    """Statuses and explanations from `purchases.history` output (customers with at least one purchase)."""
    if method not in BY_NAME:
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
    code, reason = BY_NAME[method].judge(Case(h, as_of_day, since, repeat, rhythm, p, out, explain))
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


def _judge_days(c: Case):
    since, p = c.since, c.p
    code = np.where(since > p["lapse_days"], 2, np.where(since > p["warn_days"], 1, 0))
    c.out["warn_after_days"] = np.full(len(since), float(p["warn_days"]))
    c.out["lapse_after_days"] = np.full(len(since), float(p["lapse_days"]))
    reason = _fmt("lapse_reason_days", since, warn=p["warn_days"], lapse=p["lapse_days"]) if c.explain else None
    return code, reason


def _judge_rhythm(c: Case):
    c.out["warn_after_days"], c.out["lapse_after_days"] = c.rhythm["warn"], c.rhythm["lapse"]
    return c.rhythm["code"], c.rhythm["reason"]


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


def _judge_bgnbd(c: Case):
    from . import bgnbd
    h, as_of_day, since, repeat, rhythm, p, out, explain = (c.h, c.as_of_day, c.since, c.repeat, c.rhythm, c.p,
                                                           c.out, c.explain)
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


# --- the methods -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """What a method judges from: purchase history `h`, days since the last purchase, whether each customer has
    bought on 2+ days, the rhythm rule's result (the fallback for one-order customers), parameters `p`; `out`
    takes the method's per-customer columns (warn_after_days, lapse_after_days, and its own `columns`)."""
    h: dict
    as_of_day: int
    since: np.ndarray
    repeat: np.ndarray
    rhythm: dict
    p: dict
    out: dict
    explain: bool


@dataclass(frozen=True)
class Method:
    """A lapse method: its name (formulas, --method), other spellings staff type (the first is what 設定's
    drop-down shows), a short label for 設定's explanation, the columns it adds, and
    `judge(case) -> (status codes 0..2, (reason_ja, reason_en) or None)`."""
    name: str
    words: tuple[str, ...]
    label_ja: str
    label_en: str
    judge: Callable[[Case], tuple]
    columns: tuple[str, ...] = ()

    @property
    def setting_ja(self) -> str:
        """The method as 設定's 離脱判定の方式 shows it (Japanese, one of `words`)."""
        return self.words[0]


# Everything that lists lapse methods reads this tuple: 設定's 離脱判定の方式, LAPSE_STATUS, `xlcrm lapse --method`,
# the message for a bad method and `assess_all` (tests/test_lapse.py::test_every_method_is_offered_everywhere).
REGISTRY: tuple[Method, ...] = (
    Method("days", ("固定日数", "日数"), "最終注文からの日数", "fixed days", _judge_days),
    Method("rhythm", ("購入リズム", "リズム"), "その顧客の購入間隔", "the customer's own interval", _judge_rhythm),
    Method("bgnbd", ("統計モデル", "bg/nbd"), "購入の回数と間隔から継続確率を推定", "statistical model", _judge_bgnbd,
           columns=("p_alive", "expected_purchases", "p_no_purchase")),
)
BY_NAME = {m.name: m for m in REGISTRY}
METHODS = tuple(BY_NAME)
CHOICES = " / ".join(METHODS)                   # for messages: "days / rhythm / bgnbd"


def method_name(text) -> str:
    """The method's name for any spelling in REGISTRY (case and width folded); ValueError('lapse_bad_method')."""
    import unicodedata
    k = unicodedata.normalize("NFKC", str(text or "")).strip().lower()
    for m in REGISTRY:
        if k == m.name or k in (unicodedata.normalize("NFKC", w).lower() for w in m.words):
            return m.name
    raise ValueError("lapse_bad_method")


def method_or_error(text) -> str:
    """`method_name`, or BadInput naming the methods there are (CLI, sheet formulas)."""
    try:
        return method_name(text)
    except ValueError:
        raise messages.BadInput(key="lapse_bad_method", choices=CHOICES) from None


def assess(orders, as_of, *, method: str = "rhythm", explain: bool = True, **params):
    """One row per customer with a purchase (`xlcrm.purchases`) on or before `as_of`.

    Columns: customer_id, status (稼働 / 離脱予兆 / 離脱 / 休眠), status_en, expected_next (date), days_since_last,
    interval_days, warn_after_days, lapse_after_days, reason_ja, reason_en, method; with bgnbd also p_alive,
    expected_purchases and p_no_purchase (next `horizon_days`) and p_alive_missing (why p_alive is blank, else
    None). `params` override DEFAULTS. `df.attrs` holds
    "method" (the one actually used), "fit" (BG/NBD parameters) and "fallback" (why BG/NBD was refused).
    """
    from .rfm import _day, factorize_ids, order_days
    as_of_day = _day(as_of)
    d = order_days(orders["order_date"])
    codes, uniques = factorize_ids(orders["customer_id"].array)
    h = purchases.history(codes, len(uniques), d, orders["amount"].to_numpy(dtype=np.float64), as_of_day)
    has = np.flatnonzero(h["distinct"] > 0)
    if len(has) < len(uniques):        # customers without a purchase up to the as-of date
        h = {k: v[has] for k, v in h.items()}
        uniques = uniques[has]
    return assess_history(h, uniques, as_of_day, method, explain=explain, **params)


def assess_history(h: dict, uniques, as_of_day: int, method: str = "rhythm", *, explain: bool = True, **params):
    """`assess` from a purchase history already summed up (`purchases.history`'s arrays for the customers
    `uniques`, each with a purchase): a database store computes the history in SQL (xlcrm/store/sql.py)."""
    import pandas as pd
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
    for k in BY_NAME[method].columns:
        df[k] = a[k]
    if method == "bgnbd":
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
