"""Property-based tests for the parsers: whatever staff type, a parser returns a value of its type or raises
ValueError with a message key the catalogue knows — never anything else; and every form we document reads back
exactly. (tests/test_schema.py holds the worked examples and the 平成/令和 date property.)"""
from __future__ import annotations

import datetime as dt
import math
import unicodedata

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from xlcrm import schema
from xlcrm.messages import CATALOGUE, BadInput

# anything a cell or a CSV field can hand a parser
CELL = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-10 ** 15, max_value=10 ** 15),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40),
    st.text(alphabet="0123456789０１２３４５６７８９/.-年月日元令和平成昭和大正明治RHSTMrhstm ()△▲¥￥,円", max_size=20),
    st.datetimes(min_value=dt.datetime(1800, 1, 1), max_value=dt.datetime(2200, 1, 1)),
    st.dates(min_value=dt.date(1800, 1, 1), max_value=dt.date(2200, 1, 1)),
)

ERAS = [("令和", "R", dt.date(2019, 5, 1)), ("平成", "H", dt.date(1989, 1, 8)), ("昭和", "S", dt.date(1926, 12, 25)),
        ("大正", "T", dt.date(1912, 7, 30)), ("明治", "M", dt.date(1868, 1, 25))]


def _total(parser, v, keys):
    """Call the parser; its only failure is ValueError carrying one of `keys`, each in the catalogue."""
    try:
        return parser(v)
    except ValueError as e:
        assert e.args and e.args[0] in keys and e.args[0] in CATALOGUE, e.args
        return e


@given(CELL)
def test_parse_date_is_total_and_in_range(v):
    out = _total(schema.parse_date, v, {"bad_date", "date_out_of_range", "bad_era"})
    if not isinstance(out, Exception) and out is not None:
        assert isinstance(out, dt.datetime) and 1900 <= out.year <= 2100


@given(st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2099, 12, 31)))
def test_every_era_and_serial_form_reads_back(d):
    want = dt.datetime(d.year, d.month, d.day)
    name, letter, start = next(e for e in ERAS if d >= e[2])
    y = d.year - start.year + 1
    serial = (want - schema.EXCEL_EPOCH).days
    forms = [f"{name}{'元' if y == 1 else y}年{d.month}月{d.day}日", f"{letter}{y}.{d.month}.{d.day}",
             f"{letter.lower()}{y:02d}/{d.month:02d}/{d.day:02d}", serial, float(serial), str(serial),
             unicodedata.normalize("NFKC", f"{d.year}/{d.month}/{d.day}").translate(
                 str.maketrans("0123456789/", "０１２３４５６７８９／")),
             f"{d.year}{d.month:02d}{d.day:02d}", pd.Timestamp(d), d]
    for f in forms:
        assert schema.parse_date(f) == want, f


@given(st.dates(min_value=dt.date(1800, 1, 1), max_value=dt.date(1899, 12, 31)) |
       st.dates(min_value=dt.date(2101, 1, 1), max_value=dt.date(2500, 1, 1)))
def test_dates_outside_1900_2100_are_named_out_of_range_not_guessed(d):
    for f in (d.isoformat(), f"{d.year}/{d.month}/{d.day}", d):
        with pytest.raises(ValueError) as e:
            schema.parse_date(f)
        assert e.value.args[0] == "date_out_of_range"


@given(CELL)
@example(float("inf"))
@example("1e400")
def test_parse_amount_is_total_and_finite(v):
    out = _total(schema.parse_amount, v, {"bad_amount"})
    if not isinstance(out, Exception) and out is not None:
        assert isinstance(out, float) and math.isfinite(out)


@given(st.integers(min_value=-10 ** 12, max_value=10 ** 12))
def test_every_written_form_of_an_amount_reads_back(n):
    a = abs(n)
    fw = str.maketrans("0123456789,", "０１２３４５６７８９，")
    signed = [str(n), f"{n}円", float(n)]
    unsigned = [f"¥{a:,}", f"￥{a:,}", f"{a:,}円", f"{a:,}".translate(fw) + "円", f"{a}円(税込)"]
    for f in signed:
        assert schema.parse_amount(f) == float(n), f
    for f in unsigned:
        assert schema.parse_amount(f) == float(a), f
    for f in (f"△{a:,}", f"▲{a}", f"({a:,})"):  # returns and refunds as accountants write them
        assert schema.parse_amount(f) == -float(a), f


@given(CELL)
@example(float("inf"))
@example("1e400")
@example("-inf")
def test_parse_number_and_bool_are_total(v):
    out = _total(schema.parse_number, v, {"bad_number"})
    if not isinstance(out, Exception) and out is not None:
        assert isinstance(out, float) and math.isfinite(out)  # "inf" or 1e400 is not a quantity
    out = _total(schema.parse_bool, v, {"bad_bool"})
    if not isinstance(out, Exception):
        assert out is pd.NA or out in (True, False)


@given(st.text(max_size=200))
def test_parse_text_trims_and_never_fails_below_the_cell_limit(s):
    assert schema.parse_text(s) == s.strip()


def test_parse_text_refuses_more_than_a_cell_holds():
    assert len(schema.parse_text("あ" * 32767)) == 32767
    with pytest.raises(ValueError) as e:
        schema.parse_text("あ" * 32768)
    assert e.value.args[0] == "text_too_long"


@given(st.from_regex(r"0[1-9][0-9]{8,9}", fullmatch=True))
def test_a_phone_number_that_excel_ate_the_zero_of_comes_back(phone):
    assert schema.parse_phone(int(phone)) == phone
    assert schema.parse_phone(float(int(phone))) == phone
    assert schema.parse_phone(phone) == phone


@given(st.from_regex(r"[0-9]{7}", fullmatch=True))
def test_a_postcode_that_excel_ate_the_zeros_of_comes_back(code):
    assert schema.parse_postcode(int(code)) == code
    assert schema.parse_postcode(float(int(code))) == code


# --- conform: the whole table ------------------------------------------------------------------------------------

ORDER_CELLS = {
    "注文ID": st.one_of(st.from_regex(r"O[0-9]{1,3}", fullmatch=True), st.just(""), st.integers(1, 50)),
    "顧客ID": st.one_of(st.from_regex(r"C[0-9]{1,2}", fullmatch=True), st.just("")),
    "注文日": CELL, "金額": CELL, "数量": CELL, "定期": CELL,
}


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.fixed_dictionaries(ORDER_CELLS), max_size=12), st.integers(min_value=1, max_value=30))
def test_conform_types_the_table_or_names_every_bad_cell(rows, header_row):
    raw = pd.DataFrame(rows, columns=list(ORDER_CELLS), dtype=object)
    raw.index = pd.RangeIndex(header_row + 1, header_row + 1 + len(raw))
    raw.attrs["letters"] = {h: "ABCDEF"[i] for i, h in enumerate(ORDER_CELLS)}
    try:
        df = schema.conform(raw, "orders", sheet="注文")
    except BadInput as e:
        assert e.problems
        for p in e.problems:
            assert p.sheet == "注文" and p.row in raw.index and p.column in ORDER_CELLS
            assert p.cell == f"{raw.attrs['letters'][p.column]}{p.row}"
            assert p.key in CATALOGUE
        return
    assert list(df.index) == list(raw.index)  # rows keep their sheet row numbers: nothing dropped, nothing moved
    assert str(df["order_date"].dtype) == "datetime64[ns]" and df["order_date"].notna().all()
    assert df["amount"].dtype == np.float64 and df["amount"].notna().all()
    assert str(df["subscription"].dtype) == "boolean"
    assert df["order_id"].is_unique and (df["order_id"] != "").all() and (df["customer_id"] != "").all()


@settings(max_examples=60)
@given(st.lists(st.tuples(st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2099, 12, 31)),
                          st.integers(min_value=-10 ** 9, max_value=10 ** 9)), min_size=1, max_size=10))
def test_conform_of_typed_values_is_idempotent(rows):
    raw = pd.DataFrame({"注文ID": [f"O{i}" for i in range(len(rows))], "顧客ID": ["C1"] * len(rows),
                        "注文日": [f"{d.year}/{d.month}/{d.day}" for d, _ in rows],
                        "金額": [f"¥{a:,}" if a >= 0 else f"△{-a:,}" for _, a in rows]}, dtype=object)
    raw.index = pd.RangeIndex(2, 2 + len(raw))
    once = schema.conform(raw, "orders")
    again = schema.conform(schema.to_sheet(once, "orders").astype(object), "orders")
    pd.testing.assert_frame_equal(once[["order_id", "order_date", "amount"]], again[["order_id", "order_date",
                                                                                      "amount"]])
    assert once["amount"].tolist() == [float(a) for _, a in rows]


def test_headers_match_whatever_width_or_spacing_staff_typed():
    for h in ("金額", "金 額", "ＡＭＯＵＮＴ", " amount ", "合計金額", "購入金額"):
        assert schema.header_map([h], schema.ORDERS)[h] == "amount", h
