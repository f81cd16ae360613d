"""What several jobs share: generated tables of a domain read and written under the sheet's own headers, editable
sheets with default rows (ルール, ステップ), and RFM + lapse scored exactly as their own jobs score them."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .. import followup as fu
from .. import lapse, schema
from ..campaign import MEMBERS_TABLE
from .formats import COUNT, DATE, DATETIME, ENABLED, RATE, WHOLE, YEN, dress_customer_columns  # noqa: F401
from .io import _text_headers, sheet_values
from .lapse import lapse_options
from .rfm import rfm_options
from .rfm import scores as rfm_scores


def dress_keys(book, t: schema.Table, *, number_formats: dict | None = None, widths: dict | None = None,
               lists: dict | None = None, header: bool = False) -> None:
    """`Book.dress_table` for a domain's table by column key, under whatever headers the sheet uses (Japanese,
    English, staff's spelling)."""
    loc = book.locate(t.ja)
    if loc is None:
        return
    heads = {k: h for h, k in schema.header_map([str(h) for h in loc.headers if h is not None], t).items()}
    by = lambda d: {heads.get(k, t.header(k)): v for k, v in (d or {}).items()}   # noqa: E731
    book.dress_table(t.ja, number_formats=by(number_formats), widths=by(widths), lists=by(lists), header=header)


def scores(settings, orders: pd.DataFrame, as_of) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(RFM scored, lapse) for `as_of`, with the 設定 interpreted exactly as the rfm / lapse jobs do."""
    scored = rfm_scores(orders, as_of, rfm_options(settings))
    opts = lapse_options(settings)
    lap = lapse.assess(orders, as_of, method=opts.pop("method"), **opts)
    return scored, lap


def read_table(book, t: schema.Table) -> pd.DataFrame | None:
    """A generated table of a domain (its own Table spec), conformed; None if the sheet does not exist."""
    raw = book.read_raw(t.ja)
    if raw is None:
        return None
    df = schema.conform(raw, t, sheet=raw.attrs.get("sheet", t.ja))
    if t is fu.FOLLOW_TABLE:     # the ids as xlcrm keeps them, whichever language wrote the sheet
        attrs = df.attrs
        df = fu.list_from_sheet(df)
        df.attrs = attrs
    elif t is MEMBERS_TABLE:
        df["follow_id"] = [fu.id_from_sheet(x) if x else x for x in df["follow_id"]]
    return df


def write_table(book, df: pd.DataFrame, t: schema.Table, *, key: str | None = None, header_lang: str = "ja"):
    """Write a table of a domain under the headers the sheet already uses (from `df.attrs`), or, for a new
    sheet, Japanese headers (English keys when 見出しの言語 = en)."""
    headers = dict(df.attrs.get("headers", {}))
    if not headers and header_lang == "en" and not book.has_table(t.ja):
        headers = {c.key: c.key for c in t.columns}
    body = sheet_values(df, t, headers)
    return book.write_table(t.ja, body, key=headers.get(key, t.header(key)) if key else None,
                            text_columns=_text_headers(t, body.columns))


def read_editable(book, t: schema.Table, defaults, parse) -> tuple[dict, bool]:
    """An editable sheet staff tune (ルール, ステップ), parsed by `parse`; a book without one gets the default rows
    `defaults()` written as its sheet (returns created=True)."""
    raw = read_table(book, t)
    if raw is None:
        df = defaults()
        df["enabled"] = df["enabled"].map(lambda v: "○" if v else "×")
        book.write_table(t.ja, schema.to_sheet(df, t))
        return parse(None), True
    return parse(raw, sheet=raw.attrs.get("sheet", t.ja)), False


def plain(v):
    """A figure for counts and JSON: NaN (a rate of nobody) becomes None, numpy scalars plain Python. On the sheet
    `write_range` does this itself."""
    if isinstance(v, np.generic):
        v = v.item()
    return None if v is None or isinstance(v, float) and math.isnan(v) else v
