"""Sheet formulas (UDFs): pure, vectorized functions of their arguments.

A whole column comes in as a list of lists (what xlwings passes), a 2-D list comes back and spills natively in
dynamic-array Excel (no legacy `expand`). Blanks are returned as "" (None/NaN show as #VALUE!), strings are cut
to 255 characters. On Linux the xlwings decorators are no-ops, so these test as plain Python.
"""
from __future__ import annotations

import xlwings as xw

# --- rfm / lapse -------------------------------------------------------------------------------------------------
# Arguments are whole columns as xlwings passes them: 顧客[顧客ID], 注文[顧客ID], 注文[注文日], 注文[金額]. Scores are
# computed over every customer that has orders on or before the as-of date (the same population as the RFM job),
# then looked up for each customer in the first argument; a customer without orders gets "". Dates may be Excel
# serials, datetimes or text (2024/4/1, 令和6年4月1日); amounts numbers or text (¥12,800). Blank order rows (a whole
# column reference) are skipped; an order row with an id but an unreadable date or amount raises an error naming
# its row, which Excel shows as #VALUE!.

def _flat(x) -> list:
    """A column (list of lists, a list, or one value) as a flat list."""
    if x is None:
        return []
    if not isinstance(x, (list, tuple)):
        return [x]
    try:
        return list(map(_FIRST, x))              # the usual shape: one-cell rows
    except (TypeError, IndexError):
        return [row[0] if isinstance(row, (list, tuple)) and row else
                (None if isinstance(row, (list, tuple)) else row) for row in x]


_FIRST = __import__("operator").itemgetter(0)


def _floats(x):
    """A column of numbers (None for blanks) as a float array without a Python loop, or None."""
    import numpy as np
    if isinstance(x, (list, tuple)):
        try:   # one-cell rows of floats: fromiter is ~4x faster than np.array on a list of lists
            return np.fromiter(map(_FIRST, x), dtype=np.float64, count=len(x))
        except (TypeError, ValueError, IndexError):
            pass
    try:
        a = np.array(_flat(x), dtype=np.float64)        # blanks (None) become NaN here
    except (TypeError, ValueError):
        return None
    return a


def _keys(values: list):
    """Customer ids normalized as the sheet reads them (1001.0 -> "1001", trimmed): (codes, distinct keys)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    from .rfm import encode_arrow_ids
    try:
        arr = pa.array(values, type=pa.string())          # all text (or blank): the fast route
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        arr = None
    if arr is not None:
        arr = pc.utf8_trim_whitespace(arr.fill_null("") if arr.null_count else arr)
        codes, uniq = encode_arrow_ids(arr)
        return codes, np.asarray(uniq.to_pylist(), dtype=object)
    import pandas as pd
    from .schema import parse_text
    codes, uniq = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    norm = np.array([parse_text(u) for u in uniq.tolist()] + [""], dtype=object)
    codes2, keys = pd.factorize(norm)
    return codes2[codes], np.asarray(keys, dtype=object)   # code -1 (None) picks the trailing ""


def _serial_days(column):
    """Days since 1970 (float, NaN for blank) from serials, datetimes or text; -inf marks an unreadable value."""
    import numpy as np
    import pandas as pd
    from . import schema
    a = _floats(column)                                  # serials, None -> NaN
    if a is not None and (np.isnan(a) | ((a >= 1) & (a < 73051))).all():
        return np.floor(np.where(a < 60, a + 1, a)) - 25569.0
    values = _flat(column)
    codes, uniq = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    out = np.full(len(uniq) + 1, np.nan)
    epoch = __import__("datetime").date(1970, 1, 1)
    for i, u in enumerate(uniq.tolist()):
        try:
            d = schema.parse_date(u)
        except ValueError:
            out[i] = -np.inf
            continue
        if d is not None:
            out[i] = (d.date() - epoch).days
    return out[codes]


def _amounts(column):
    import numpy as np
    import pandas as pd
    from . import schema
    a = _floats(column)                                  # numbers, None -> NaN
    if a is not None:
        return a
    values = _flat(column)
    codes, uniq = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    out = np.full(len(uniq) + 1, np.nan)
    for i, u in enumerate(uniq.tolist()):
        try:
            v = schema.parse_amount(u)
        except ValueError:
            out[i] = -np.inf
            continue
        out[i] = np.nan if v is None else v
    return out[codes]


def _as_of_day(as_of) -> int:
    import datetime as dt
    from . import schema
    if as_of is None or as_of == "":
        return (dt.date.today() - dt.date(1970, 1, 1)).days
    d = schema.parse_date(as_of)
    return (d.date() - dt.date(1970, 1, 1)).days


def _bad_row(kind: str, i: int):
    """Raise for the first unreadable order value; `i` counts from the top of the range passed."""
    from . import messages
    what = {"order_dates": ("注文日", "order date"), "order_amounts": ("金額", "amount")}[kind]
    raise messages.BadInput(key="udf_bad_value", n=i + 1, what=what[0], what_en=what[1])


class _Prepared:
    """Orders of the formula, grouped by customer, with each listed customer's position in that grouping."""

    def __init__(self, customer_ids, order_customer_ids, order_dates, order_amounts, as_of):
        import numpy as np
        import pandas as pd
        cust = _flat(customer_ids)
        oid = _flat(order_customer_ids)
        days = _serial_days(order_dates)
        amounts = _amounts(order_amounts) if order_amounts is not None else np.zeros(len(oid))
        n = max(len(oid), len(days), len(amounts))
        if len(oid) < n:                                 # columns of different lengths (whole-column references)
            oid = oid + [None] * (n - len(oid))
        days, amounts = (np.concatenate([v, np.full(n - len(v), np.nan)]) if len(v) < n else v
                         for v in (days, amounts))
        codes, keys = _keys(oid)
        self.as_of_day = _as_of_day(as_of)
        blank = np.flatnonzero(keys == "")
        real = codes != blank[0] if len(blank) else np.ones(len(codes), dtype=bool)   # rows with a customer id
        for arr, kind in ((days, "order_dates"), (amounts, "order_amounts")):
            bad = np.flatnonzero(real & ~np.isfinite(arr))
            if len(bad):
                _bad_row(kind, int(bad[0]))
        keep = real & (days <= self.as_of_day)
        self.codes, self.days = codes[keep], days[keep].astype(np.int64)
        self.amounts = amounts[keep] if order_amounts is not None else None  # None: every order row is a purchase
        self.n = len(keys)
        ccodes, ckeys = _keys(cust) if cust else (np.zeros(0, dtype=np.intp), np.zeros(0, dtype=object))
        ckeys = ckeys[ccodes]
        self.pos = pd.Index(keys).get_indexer(ckeys)      # -1: customer with no orders at all

    def pick(self, per_key, has, blank=""):
        """Per listed customer: per_key[pos] where the customer has orders, else `blank`, as a 2-D list."""
        import numpy as np
        pos = self.pos
        ok = (pos >= 0) & has[np.maximum(pos, 0)]
        vals = np.asarray(per_key, dtype=object)[np.maximum(pos, 0)]
        return [[v] if o else [blank] for v, o in zip(vals.tolist(), ok.tolist())]


def _rfm(customer_ids, order_customer_ids, order_dates, order_amounts, as_of, method, r_days, f_orders, m_yen):
    import numpy as np
    from . import rfm
    from .settings import _cut_points
    p = _Prepared(customer_ids, order_customer_ids, order_dates, order_amounts, as_of)
    s = rfm.summarize_arrays(p.codes, p.n, p.days, p.amounts, p.as_of_day)
    has = s["orders"] > 0
    from .messages import BadInput
    try:
        thresholds = {k: _cut_points(v if not isinstance(v, list) else "、".join(map(str, _flat_row(v))))
                      for k, v in (("r", r_days), ("f", f_orders), ("m", m_yen)) if v not in (None, "")}
    except ValueError:
        raise BadInput(key="rfm_bad_thresholds") from None
    if _method(method) not in ("quintile", "fixed"):
        raise BadInput(key="rfm_bad_method")
    scores = [np.zeros(p.n, dtype=np.int64) for _ in range(3)]
    r, f, m = rfm.score_arrays(s["recency_days"][has], s["frequency"][has], s["monetary"][has],
                               method=_method(method), thresholds=thresholds)
    for out, v in zip(scores, (r, f, m)):
        out[has] = v
    return p, has, scores


def _flat_row(v):
    return [x for row in v for x in (row if isinstance(row, (list, tuple)) else [row]) if x not in (None, "")]


def _method(method) -> str:
    m = str(method or "quintile").strip().lower()
    return {"quintile": "quintile", "五分位": "quintile", "fixed": "fixed", "固定": "fixed"}.get(m, m)


@xw.func(category="xlcrm")
@xw.arg("customer_ids", ndim=2)
@xw.arg("order_customer_ids", ndim=2)
@xw.arg("order_dates", ndim=2)
@xw.arg("order_amounts", ndim=2)
@xw.ret(transpose=False)
def RFM_SCORE(customer_ids, order_customer_ids, order_dates, order_amounts, as_of=None, method="quintile",
              r_days=None, f_orders=None, m_yen=None):
    """RFMコード("545")を顧客ごとに返す / RFM code per customer ("545"); "" for customers without orders.

    customer_ids: 顧客[顧客ID]; order_customer_ids, order_dates, order_amounts: 注文[顧客ID], 注文[注文日], 注文[金額];
    as_of: 基準日 (blank = today); method: "quintile" (五分位) or "fixed" (固定); r_days, f_orders, m_yen: four cut
    points each for "fixed" (a cell like "30,90,180,365" or a 1x4 range; blank = the defaults).
    """
    p, has, (r, f, m) = _rfm(customer_ids, order_customer_ids, order_dates, order_amounts, as_of, method, r_days,
                             f_orders, m_yen)
    from .rfm import rfm_codes
    import numpy as np
    code = np.full(p.n, "", dtype=object)
    code[has] = rfm_codes(r[has], f[has], m[has])
    return p.pick(code, has)


@xw.func(category="xlcrm")
@xw.arg("customer_ids", ndim=2)
@xw.arg("order_customer_ids", ndim=2)
@xw.arg("order_dates", ndim=2)
@xw.arg("order_amounts", ndim=2)
@xw.ret(transpose=False)
def RFM_SEGMENT(customer_ids, order_customer_ids, order_dates, order_amounts, as_of=None, method="quintile",
                lang="ja", r_days=None, f_orders=None, m_yen=None):
    """RFMセグメント名(優良、ロイヤル、新規、離脱危険、休眠…)/ RFM segment per customer from the 5x5 R x F map.

    Same arguments as RFM_SCORE; lang: "ja" (default) or "en" (Champions, Loyal, …).
    """
    from .rfm import DEFAULT_SEGMENTS
    import numpy as np
    p, has, (r, f, _m) = _rfm(customer_ids, order_customer_ids, order_dates, order_amounts, as_of, method, r_days,
                              f_orders, m_yen)
    seg = np.full(p.n, "", dtype=object)
    seg[has] = DEFAULT_SEGMENTS.lookup(r[has], f[has], "en" if str(lang).lower().startswith("en") else "ja")
    return p.pick(seg, has)


def _axis(index: int, *args):
    p, has, scores = _rfm(*args)
    return p.pick(scores[index], has)


@xw.func(category="xlcrm")
@xw.arg("customer_ids", ndim=2)
@xw.arg("order_customer_ids", ndim=2)
@xw.arg("order_dates", ndim=2)
@xw.arg("order_amounts", ndim=2)
@xw.ret(transpose=False)
def RFM_R(customer_ids, order_customer_ids, order_dates, order_amounts, as_of=None, method="quintile",
          r_days=None, f_orders=None, m_yen=None):
    """R(最終注文の近さ)スコア 1〜5 / recency score 1-5 per customer. Same arguments as RFM_SCORE."""
    return _axis(0, customer_ids, order_customer_ids, order_dates, order_amounts, as_of, method, r_days, f_orders,
                 m_yen)


@xw.func(category="xlcrm")
@xw.arg("customer_ids", ndim=2)
@xw.arg("order_customer_ids", ndim=2)
@xw.arg("order_dates", ndim=2)
@xw.arg("order_amounts", ndim=2)
@xw.ret(transpose=False)
def RFM_F(customer_ids, order_customer_ids, order_dates, order_amounts, as_of=None, method="quintile",
          r_days=None, f_orders=None, m_yen=None):
    """F(注文回数)スコア 1〜5 / frequency score 1-5 per customer. Same arguments as RFM_SCORE."""
    return _axis(1, customer_ids, order_customer_ids, order_dates, order_amounts, as_of, method, r_days, f_orders,
                 m_yen)


@xw.func(category="xlcrm")
@xw.arg("customer_ids", ndim=2)
@xw.arg("order_customer_ids", ndim=2)
@xw.arg("order_dates", ndim=2)
@xw.arg("order_amounts", ndim=2)
@xw.ret(transpose=False)
def RFM_M(customer_ids, order_customer_ids, order_dates, order_amounts, as_of=None, method="quintile",
          r_days=None, f_orders=None, m_yen=None):
    """M(購入金額)スコア 1〜5 / monetary score 1-5 per customer. Same arguments as RFM_SCORE."""
    return _axis(2, customer_ids, order_customer_ids, order_dates, order_amounts, as_of, method, r_days, f_orders,
                 m_yen)


@xw.func(category="xlcrm")
@xw.arg("customer_ids", ndim=2)
@xw.arg("order_customer_ids", ndim=2)
@xw.arg("order_dates", ndim=2)
@xw.arg("order_amounts", ndim=2)
@xw.ret(transpose=False)
def DAYS_SINCE_LAST_ORDER(customer_ids, order_customer_ids, order_dates, as_of=None, order_amounts=None):
    """最終注文からの日数 / days since the last order on or before as_of (blank as_of = today); "" if none.

    order_amounts (optional, 注文[金額]): given, returns and ¥0 rows are no purchase, as in RFM and the 離脱判定
    button; left out, every order row counts."""
    from . import purchases
    p = _Prepared(customer_ids, order_customer_ids, order_dates, order_amounts, as_of)
    h = purchases.history(p.codes, p.n, p.days, p.amounts, gaps=False)
    has = h["distinct"] > 0
    return p.pick((p.as_of_day - h["last"]).tolist(), has)


def _lapse(customer_ids, order_customer_ids, order_dates, as_of, method, order_amounts=None):
    from . import lapse, purchases
    p = _Prepared(customer_ids, order_customer_ids, order_dates, order_amounts, as_of)
    h = purchases.history(p.codes, p.n, p.days, p.amounts)
    has = h["distinct"] > 0
    m = lapse.method_or_error(method or "rhythm")
    sub = {k: v[has] for k, v in h.items()}
    a = lapse.assess_arrays(sub, p.as_of_day, m, explain=False)
    return p, has, a


@xw.func(category="xlcrm")
@xw.arg("customer_ids", ndim=2)
@xw.arg("order_customer_ids", ndim=2)
@xw.arg("order_dates", ndim=2)
@xw.arg("order_amounts", ndim=2)
@xw.ret(transpose=False)
def LAPSE_STATUS(customer_ids, order_customer_ids, order_dates, as_of=None, method="rhythm", lang="ja",
                 order_amounts=None):
    """離脱状態(稼働 / 離脱予兆 / 離脱 / 休眠)/ lapse status per customer; "" for customers without orders.

    method: "rhythm" (購入リズム, default), "days" (固定日数 90/180/365) or "bgnbd" (falls back to rhythm when the
    model does not fit); lang: "ja" or "en" (Active / Lapsing / Lapsed / Dormant). Default 設定 values apply.
    order_amounts (optional, 注文[金額]): given, returns and ¥0 rows are no purchase; left out, every row counts.
    """
    import numpy as np
    from .lapse import STATUS, STATUS_EN
    p, has, a = _lapse(customer_ids, order_customer_ids, order_dates, as_of, method, order_amounts)
    labels = np.array(STATUS_EN if str(lang).lower().startswith("en") else STATUS, dtype=object)
    out = np.full(p.n, "", dtype=object)
    out[has] = labels[a["status_code"]]
    return p.pick(out, has)


@xw.func(category="xlcrm")
@xw.arg("customer_ids", ndim=2)
@xw.arg("order_customer_ids", ndim=2)
@xw.arg("order_dates", ndim=2)
@xw.arg("order_amounts", ndim=2)
@xw.ret(transpose=False)
def NEXT_ORDER_DATE(customer_ids, order_customer_ids, order_dates, as_of=None, order_amounts=None):
    """次回注文予定日 / expected next order: last order + the customer's usual interval (one-order customers:
    first order + the shop's median time to a second order). Returns dates (format the cells as dates).
    order_amounts (optional, 注文[金額]): given, returns and ¥0 rows are no purchase; left out, every row counts."""
    import numpy as np
    p, has, a = _lapse(customer_ids, order_customer_ids, order_dates, as_of, "rhythm", order_amounts)
    out = np.full(p.n, "", dtype=object)
    exp = a["expected_next_day"]
    ok = np.isfinite(exp)
    dates = np.where(ok, exp, 0).astype(np.int64).astype("datetime64[D]").astype("datetime64[us]").astype(object)
    out[has] = np.where(ok, dates, "")
    return p.pick(out, has)


# --- search ------------------------------------------------------------------------------------------------------


@xw.func
@xw.arg("table", ndim=2)
def CRM_SEARCH(query, table, limit=None):
    """顧客を検索: =CRM_SEARCH(検索語, 顧客[#All], [件数]) — 名前・フリガナ・電話(下4桁)・メール・住所・IDの一部、
    全角半角・ひらがなカタカナ・異体字を問わず。Search customers by any fragment; spills a table with a header row."""
    from .jobs.search import cells_search
    return cells_search(query, table, limit)
