"""The lapse job and command: who is drifting away (稼働 / 離脱予兆 / 離脱 / 休眠).

* `refresh_lapse(book, settings)` — ribbon tag "lapse": writes the lapse columns of 顧客 (`LAPSE_COLUMNS`).
* `lapse_file(input, out, as_of)` — the `xlcrm lapse` command: INPUT is a workbook or an orders CSV, read as the
  `rfm` command reads it (without pandas when the CSV is clean; see jobs/rfm.py).
"""
from __future__ import annotations

import json
import sys
from collections import Counter

import numpy as np

from .. import lapse, messages, purchases
from ..bgnbd import MIN_REPEATERS
from . import JobResult
from .formats import DATE, RATE, dress_customer_columns
from .orders import PURCHASE_READS
from .orders import read_orders as read_book_orders
from .rfm import Labels, _as_of_day, _dates, _headers, _take, _write_csv, read_orders

LAPSE_COLUMNS = {
    "status": ("離脱状態", "Lapse status"),
    "expected_next": ("次回注文予定日", "Expected next order"),
    "reason": ("離脱判定の理由", "Lapse reason"),
    "p_alive": ("継続確率", "P(alive)"),
}
LAPSE_FORMATS = {"status": (None, 8), "expected_next": (DATE, 11), "reason": (None, 40), "p_alive": (RATE, 7)}


def lapse_options(settings) -> dict:
    """Core parameters of `lapse.assess` from 設定 (setting key lapse_X -> parameter X)."""
    params = {p: getattr(settings, f"lapse_{p}") for p in lapse.DEFAULTS if hasattr(settings, f"lapse_{p}")}
    return {"method": settings.lapse_method, **params}


def refresh_lapse(book, settings, *, method: str | None = None, as_of=None) -> JobResult:
    """Ribbon "lapse": 離脱状態, expected next order, reason (and P(alive) with bgnbd) into 顧客.

    離脱状態 is always written in Japanese (稼働 / 離脱予兆 / 離脱 / 休眠: the words staff filter on); the reason
    follows 言語 on 設定. Customers without orders get blank cells; a blank P(alive) is explained in the reason.
    """
    import pandas as pd   # not on the CSV path: `xlcrm lapse FILE.csv` runs without pandas (jobs/rfm.py)

    opts = lapse_options(settings)
    if method:
        opts["method"] = method
    as_of = as_of if as_of is not None else settings.as_of_date()
    pushed = book.pushdown("lapse", as_of=as_of, opts=opts)    # a database store sums the histories in SQL
    if pushed is not None:
        df, n_customers, dates = pushed
    else:
        got = read_book_orders(book, as_of, **PURCHASE_READS, writes=("customers",))
        df, n_customers, dates = lapse.assess(got.orders, as_of, **opts), len(got.customers), got.dates
    lang = settings.lang
    df["reason"] = df["reason_ja"] if lang == "ja" else df["reason_en"]
    if "p_alive_missing" in df:   # a blank 継続確率 says why, in the reason beside it
        notes = _p_alive_notes(df["p_alive_missing"].to_numpy(), df.attrs.get("fallback"), df.attrs.get("fit") or {})
        note = pd.Series(notes[0] if lang == "ja" else notes[1], index=df.index)
        label = LAPSE_COLUMNS["p_alive"][0 if lang == "ja" else 1]
        df["reason"] = df["reason"].where(note.eq(""), (df["reason"] + f" / {label}: " + note).str.slice(0, 255))
    cols = dict(LAPSE_COLUMNS)
    if "p_alive" not in df:
        cols.pop("p_alive")
    heads = _headers(cols, settings.header_lang)
    out = df[["customer_id", *cols]].rename(columns=heads)
    book.update_columns("customers", out, key="customer_id")
    dress_customer_columns(book, {heads[k]: v for k, v in LAPSE_FORMATS.items() if k in heads})
    counts = _status_counts(df["status"])
    kw = {"n": n_customers, **counts}
    ja = messages.text("lapse_done", "ja", method=_method_ja(df.attrs["method"]), **kw)
    en = messages.text("lapse_done", "en", method=df.attrs["method"], **kw)
    if df.attrs.get("fallback"):
        why = {g: messages.text(df.attrs["fallback"], g, **(df.attrs.get("fit") or {}), min_repeaters=MIN_REPEATERS)
               for g in ("ja", "en")}
        ja += "\n" + messages.text("bgnbd_refused", "ja", why=why["ja"])
        en += "\n" + messages.text("bgnbd_refused", "en", why=why["en"])
    ja, en = dates.add_to(ja, en)
    book.journal("lapse", ja, en)
    return JobResult(ja, en, {"customers": n_customers, "assessed": len(df), **counts,
                              "method": df.attrs["method"], "fallback": df.attrs.get("fallback"),
                              "fit": df.attrs.get("fit"), **dates.counts()})


def _method_ja(name: str) -> str:
    """A method as 設定's drop-down says it in Japanese (購入リズム for rhythm)."""
    return lapse.BY_NAME[name].setting_ja if name in lapse.BY_NAME else name


def _status_counts(status) -> dict:
    vals = np.asarray(status, dtype=object)
    return {k: int((vals == s).sum()) for k, s in zip(("active", "lapsing", "lapsed", "dormant"), lapse.STATUS)}




def lapse_file(input_path, out=None, as_of=None, method: str | None = None, as_json: bool = False,
               stdout=None) -> JobResult:
    """`xlcrm lapse INPUT --as-of DATE [--method days|rhythm|bgnbd] [--out FILE] [--json]`.

    Writes one row per customer to `out` (CSV). With `as_json`, prints a JSON summary — the method used, counts,
    and with bgnbd the fitted r, alpha, a, b and log-likelihood (or why the fit was refused); without `out` the
    rows are in the JSON too. Without either, the CSV goes to stdout.
    """
    stdout = stdout or sys.stdout
    o, s = read_orders(input_path)
    opts = lapse_options(s) if s is not None else {"method": "rhythm"}
    if method:
        opts["method"] = lapse.method_or_error(method)
    if as_of is None and s is not None:
        as_of = s.as_of_date()
    day = _as_of_day(as_of)
    h = purchases.history(o.codes, len(o.ids), o.days, o.amounts, day)
    has = np.flatnonzero(h["distinct"] > 0)
    if len(has) == 0:
        raise messages.BadInput(key="rfm_no_orders")
    h = {k: v[has] for k, v in h.items()}
    meth = opts.pop("method")
    a = lapse.assess_arrays(h, day, meth, **opts)
    code = a["status_code"]
    cols = {"customer_id": _take(o.ids, has), "status": Labels(code, lapse.STATUS),
            "status_en": Labels(code, lapse.STATUS_EN), "expected_next": a["expected_next_day"],
            "days_since_last": a["days_since_last"], "interval_days": a["interval_days"],
            "warn_after_days": a["warn_after_days"], "lapse_after_days": a["lapse_after_days"]}
    if meth == "bgnbd":
        for k in ("p_alive", "expected_purchases", "p_no_purchase"):
            cols[k] = a[k]
        fit = a.get("fit")
        cols["p_alive_note_ja"], cols["p_alive_note_en"] = _p_alive_notes(a["p_alive_missing"], a.get("fallback"),
                                                                          fit.params() if fit else {})
    cols["reason_ja"], cols["reason_en"] = a["reason_ja"], a["reason_en"]
    used = "rhythm" if "fallback" in a else meth
    counts = _status_counts(cols["status"].values())
    dates = _dates(o, day)
    if out is not None or not as_json:
        _write_csv(cols, out, date_cols=("expected_next",))
    if as_json:
        fit = a.get("fit")
        doc = {"method": used, "requested_method": meth, "as_of": str(np.datetime64(day, "D")),
               "customers": len(has), "counts": counts, "fallback": a.get("fallback"), **dates.counts()}
        if dates.note("ja"):
            doc["dates_note_ja"], doc["dates_note_en"] = dates.note("ja"), dates.note("en")
        if meth == "bgnbd":   # how many P(alive) are blank, and why (each row says it in p_alive_note_*)
            doc["p_alive_missing"] = dict(Counter(c for c in a["p_alive_missing"] if c))
        if fit is not None:
            doc.update({"r": fit.r, "alpha": fit.alpha, "a": fit.a, "b": fit.b,
                        "log_likelihood": fit.log_likelihood, "converged": fit.converged})
        if a.get("fallback"):
            kw = {**(fit.params() if fit else {}), "min_repeaters": MIN_REPEATERS}
            doc["fallback_reason_ja"] = messages.text(a["fallback"], "ja", **kw)
            doc["fallback_reason_en"] = messages.text(a["fallback"], "en", **kw)
        if out is None:
            vals = {k: v.values() if isinstance(v, Labels) else v if isinstance(v, np.ndarray) else
                    np.asarray(v.to_pylist(), dtype=object) for k, v in cols.items()}
            doc["rows"] = [_json_row(vals, i) for i in range(len(has))]
        stdout.write(json.dumps(doc, ensure_ascii=False, indent=1) + "\n")
    kw = {"n": len(has), **counts}
    ja, en = dates.add_to(messages.text("lapse_done", "ja", method=_method_ja(used), **kw),
                          messages.text("lapse_done", "en", method=used, **kw))
    return JobResult(ja, en, {**counts, "method": used, "fallback": a.get("fallback"), **dates.counts(),
                              "dates": dates})


def _p_alive_notes(missing, fallback: str | None, fit_kw: dict) -> tuple[np.ndarray, np.ndarray]:
    """Per customer, ja and en: why P(alive) is blank ("" where it is there). `missing`: lapse's p_alive_missing."""
    kw = {**fit_kw, "min_repeaters": MIN_REPEATERS}
    out = []
    for g in ("ja", "en"):
        why = messages.text(fallback, g, **kw) if fallback else ""
        texts = {code: messages.text(f"lapse_p_alive_{code}", g, why=why)
                 for code in ("one_order", "fit_refused", "not_finite")}
        out.append(np.array([texts.get(c, "") if c else "" for c in missing], dtype=object))
    return out[0], out[1]


def _json_row(cols: dict, i: int) -> dict:
    row = {}
    for k, v in cols.items():
        x = v[i]
        if k == "expected_next":
            x = None if not np.isfinite(x) else str(np.datetime64(int(x), "D"))
        elif isinstance(x, np.generic):
            x = x.item()
        if isinstance(x, float) and not np.isfinite(x):
            x = None
        row[k] = x
    return row
