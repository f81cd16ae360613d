"""Values as staff type them: parsed right, or rejected naming sheet, row and column (never the value)."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, strategies as st

from xlcrm import schema, settings
from xlcrm.messages import BadInput


@pytest.mark.parametrize("typed,expected", [
    ("2024-04-01", "2024-04-01"), ("2024/4/1", "2024-04-01"), ("2024年4月1日", "2024-04-01"),
    ("２０２４／４／１", "2024-04-01"), ("2024/4/1(月)", "2024-04-01"), ("20240401", "2024-04-01"),
    ("令和6年4月1日", "2024-04-01"), ("R6.4.1", "2024-04-01"), ("r06/04/01", "2024-04-01"),
    ("令和元年5月1日", "2019-05-01"), ("平成31年4月30日", "2019-04-30"), ("H元.1.8", "1989-01-08"),
    ("昭和64年1月7日", "1989-01-07"), ("S55.1.2", "1980-01-02"), ("大正15年12月24日", "1926-12-24"),
    (45383.0, "2024-04-01"), (45383, "2024-04-01"), ("45383", "2024-04-01"), (61, "1900-03-01"), (1, "1900-01-01"),
    (dt.date(2024, 4, 1), "2024-04-01"), (dt.datetime(2024, 4, 1, 9, 30), "2024-04-01 09:30"),
    ("2024-04-01 09:30", "2024-04-01 09:30"),
])
def test_dates_as_staff_type_them(typed, expected):
    assert schema.parse_date(typed) == pd.Timestamp(expected).to_pydatetime()


@pytest.mark.parametrize("typed,error", [
    ("令和1年1月1日", "bad_era"),        # 令和 began on 1 May 2019
    ("2024/13/1", "bad_date"), ("2023/2/29", "bad_date"), ("来週", "bad_date"), (True, "bad_date"),
    ("1899/12/31", "date_out_of_range"), ("2101-01-01", "date_out_of_range"), (60, "bad_date"),  # Excel's 1900-02-29
    (3_000_000, "date_out_of_range"),
])
def test_dates_rejected_with_a_reason(typed, error):
    with pytest.raises(ValueError) as e:
        schema.parse_date(typed)
    assert e.value.args[0] == error


@pytest.mark.parametrize("typed,expected", [
    (12800, 12800.0), ("12800", 12800.0), ("¥12,800", 12800.0), ("￥12,800", 12800.0), ("12800円", 12800.0),
    ("１２，８００円", 12800.0), ("12,800 円(税込)", 12800.0), ("△500", -500.0), ("▲1,000", -1000.0),
    ("(500)", -500.0), ("-500", -500.0), ("0", 0.0), ("", None), (None, None),
])
def test_amounts(typed, expected):
    assert schema.parse_amount(typed) == expected


@pytest.mark.parametrize("typed", ["未定", "12.800.0", "¥", "1e400x", float("inf")])
def test_bad_amounts(typed):
    with pytest.raises(ValueError):
        schema.parse_amount(typed)


@pytest.mark.parametrize("typed,expected", [
    ("可", True), ("不可", False), ("○", True), ("×", False), ("はい", True), ("いいえ", False), (True, True),
    (0, False), ("TRUE", True), ("ｘ", False), ("", pd.NA), (None, pd.NA),
])
def test_flags(typed, expected):
    assert schema.parse_bool(typed) is expected


def test_numbers_that_ate_leading_zeros_are_restored():
    assert schema.parse_postcode(60001.0) == "0060001"           # Hokkaido, typed into a number cell
    assert schema.parse_phone(9012345678.0) == "09012345678"
    assert schema.parse_phone(312345678) == "0312345678"
    assert schema.parse_text(1001.0) == "1001"                    # an ID that Excel stored as a number


@given(st.dates(min_value=dt.date(1989, 1, 8), max_value=dt.date(2099, 12, 31)))
def test_every_written_form_of_a_date_reads_back_as_that_date(d):
    want = dt.datetime(d.year, d.month, d.day)
    era, start = ("令和", 2019) if d >= dt.date(2019, 5, 1) else ("平成", 1989)
    y = d.year - start + 1
    forms = [d.isoformat(), f"{d.year}/{d.month}/{d.day}", f"{d.year}年{d.month}月{d.day}日",
             f"{era}{'元' if y == 1 else y}年{d.month}月{d.day}日", f"{'R' if era == '令和' else 'H'}{y}.{d.month}.{d.day}",
             (want - dt.datetime(1899, 12, 30)).days]
    for f in forms:
        assert schema.parse_date(f) == want, f


def test_conform_names_every_bad_cell_without_its_value():
    raw = pd.DataFrame({"注文ID": ["O1", "O2", "O2", ""], "顧客ID": ["C1", "C1", "C2", "C3"],
                        "注文日": ["2024/4/1", "山田さんの誕生日", "R6.4.1", "2024/4/2"],
                        "金額": ["¥1,000", "1000", "abc", "5"]}, index=[2, 3, 4, 5])
    raw.attrs["letters"] = {"注文ID": "A", "顧客ID": "B", "注文日": "C", "金額": "D"}
    with pytest.raises(BadInput) as e:
        schema.conform(raw, "orders")
    where = [(p.row, p.column, p.cell, p.key) for p in e.value.problems]
    assert where == [(3, "注文日", "C3", "bad_date"), (4, "金額", "D4", "bad_amount")]
    assert "山田" not in str(e.value) and "abc" not in str(e.value)
    raw.loc[3, "注文日"], raw.loc[4, "金額"] = "2024/4/1", "1"
    with pytest.raises(BadInput) as e:
        schema.conform(raw, "orders")
    assert [(p.row, p.key) for p in e.value.problems] == [(4, "duplicate_id"), (5, "empty_id")]
    assert "3行目と同じ" in e.value.message("ja")


def test_english_headers_any_order_and_missing_required_column():
    raw = pd.DataFrame({"amount": ["1"], "Order Date": ["2024-01-01"], "customer_id": ["C1"], "order_id": ["O1"],
                        "担当メモ": ["x"]}, index=[2])
    df = schema.conform(raw, "orders")
    assert df.loc[2, "order_date"] == pd.Timestamp("2024-01-01") and df.loc[2, "担当メモ"] == "x"
    with pytest.raises(BadInput) as e:
        schema.conform(raw.drop(columns=["amount"]), "orders")
    assert "金額" in e.value.message("ja") and "amount" in e.value.message("en")


def test_unknown_customer_in_orders_is_named():
    customers = pd.DataFrame({"customer_id": ["C1"]})
    orders = pd.DataFrame({"customer_id": ["C1", "C9"]}, index=[2, 3])
    with pytest.raises(BadInput) as e:
        schema.check_references(customers, orders, "注文")
    assert [(p.sheet, p.row) for p in e.value.problems] == [("注文", 3)]


def test_settings_from_the_sheet():
    table = pd.DataFrame({"key": ["基準日", "担当者一覧", "言語", "誰かのメモ"], "value": ["R6.6.30", "山田、鈴木 ,佐藤", "英語", "x"],
                          "explanation": ["", "", "", ""]}, index=[2, 3, 4, 5])
    s = settings.load(table)
    assert s.as_of == pd.Timestamp("2024-06-30") and s.staff == ["山田", "鈴木", "佐藤"] and s.lang == "en"
    bad = table.copy()
    bad.loc[2, "value"] = "いつか"
    with pytest.raises(BadInput) as e:
        settings.load(bad)
    assert e.value.problems[0].row == 2


def test_isin_and_lookup_on_ids_match_pandas():
    import numpy as np
    ids = pd.Series(["C1", "C2", None, "C9", "C2"], dtype="str")
    known = pd.Series(["C2", "C1", "C3"], dtype="str")
    assert schema.isin(ids, known).tolist() == [True, True, False, False, True]
    assert schema.isin(ids, {"C9"}).tolist() == [False, False, False, True, False]
    assert schema.isin(pd.Series(["a", 1], dtype=object), ["a"]).tolist() == [True, False]   # mixed: pandas' way
    keyed = pd.Series(["優良", "休眠"], index=pd.Index(["C1", "C2"], dtype="str"))
    got = schema.lookup(keyed, ids)
    assert list(got) == ["優良", "休眠", None, None, "休眠"]
    assert isinstance(got, np.ndarray)


def test_a_conformed_tables_headers_and_letters_are_shared_not_copied_and_cannot_change():
    """pandas deep-copies attrs into every frame made from a table (thousands per job); the headers and letters
    copy as themselves, so they must refuse changes (a change would show in every frame sharing them)."""
    import copy
    import pickle
    raw = pd.DataFrame({"顧客ID": ["C1", "C2"], "氏名": ["a", "b"]}, index=[2, 3])
    raw.attrs["letters"] = {"顧客ID": "A", "氏名": "B"}
    df = schema.conform(raw, "customers")
    part = df[df["customer_id"].eq("C2")]["name"]
    assert part.attrs["letters"] is df.attrs["letters"] and part.attrs["headers"] is df.attrs["headers"]
    assert dict(df.attrs["letters"]) == {"顧客ID": "A", "氏名": "B"} and df.attrs["headers"]["customer_id"] == "顧客ID"
    with pytest.raises(TypeError):
        df.attrs["letters"]["氏名"] = "Z"
    assert copy.deepcopy(df.attrs)["letters"] is df.attrs["letters"]
    assert pickle.loads(pickle.dumps(df)).attrs["headers"] == df.attrs["headers"]   # to a second process and back


def test_dates_typed_the_plain_ways_are_read_in_one_step_as_one_by_one():
    """_plain_dates (a column's distinct texts at once) gives parse_date's datetime for every text it takes, takes
    every plain-shaped text that is a real day in range, and leaves the rest (和暦, spaces, full-width digits, a
    30th of February, a 24:00) to parse_date, which names the bad ones."""
    import datetime as dt
    import random
    import re as _re
    from xlcrm.schema import _plain_dates, parse_date
    rng = random.Random(11)
    texts = ["2024/2/29", "2023/2/29", "2024/13/1", "2024/0/10", "1899/12/31", "1900/1/1", "2100/12/31", "2101/1/1",
             "2024-04-01 23:59:59", "2024-04-01 24:00", "2024/4/1 9:05", "2024/04/01 10:30:60", " 2024/04/01",
             "２０２４/04/01", "2024/04/01x", "2024/4/1 9:5", "令和5年4月1日", "2024年4月1日", "2024/4/31", "2024-4-1",
             "2024/04/01 00:00", "20240401", "", None, 45000, dt.datetime(2024, 1, 2)]
    for _ in range(3000):
        y, m, d = rng.randint(1890, 2110), rng.randint(0, 13), rng.randint(0, 32)
        sep = rng.choice("/-")
        t = rng.choice(["", f" {rng.randint(0, 25)}:{rng.randint(0, 60):02d}",
                        f" {rng.randint(0, 25)}:{rng.randint(0, 60):02d}:{rng.randint(0, 60):02d}"])
        texts.append(f"{y}{sep}{m}{sep}{d:0{rng.choice([1, 2])}d}{t}")
    got = _plain_dates(texts)
    plain = _re.compile(r"^\d{4}[/-]\d{1,2}[/-]\d{1,2}(?: \d{1,2}:\d{2}(?::\d{2})?)?$", _re.ASCII)
    for i, v in enumerate(texts):
        try:
            want = parse_date(v)
        except ValueError:
            want = None
        if i in got:
            assert got[i] == want and type(got[i]) is dt.datetime, v
        else:       # left to parse_date: not plain, or not a day it takes
            assert not (isinstance(v, str) and plain.match(v) and want is not None), v
    assert len(got) > 1000
