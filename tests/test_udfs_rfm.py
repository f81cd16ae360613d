"""Sheet formulas for RFM and lapse, called with the values xlwings passes (lists of lists, serial floats,
datetimes, None for blanks)."""
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from xlcrm import lapse, messages, rfm, udfs

EPOCH = dt.date(1899, 12, 30)


def serial(s: str) -> float:
    return float((dt.date.fromisoformat(s) - EPOCH).days)


# 注文 as a sheet holds it: ids typed as numbers (1001.0) or text, dates as serials or datetimes, a blank tail
ORDERS = [
    (1001.0, serial("2024-01-10"), 3000.0),
    ("1001", dt.datetime(2024, 3, 1), "¥5,000"),
    ("C2", serial("2023-12-01"), 12000.0),
    ("C3", "令和4年1月5日", 800.0),
    (" C3 ", "2022/2/5", 800.0),
    ("C4", serial("2024-05-01"), 9999.0),      # after the as-of date
    (None, None, None), (None, None, None),    # the rest of a whole-column reference
]
CUSTOMERS = [["1001"], ["C2"], ["C3"], ["C4"], ["C9"], [None]]
AS_OF = serial("2024-03-31")


def cols(rows=ORDERS):
    return [[r[0]] for r in rows], [[r[1]] for r in rows], [[r[2]] for r in rows]


def core_scores(method="quintile"):
    df = pd.DataFrame({"customer_id": ["1001", "1001", "C2", "C3", "C3"],
                       "order_date": pd.to_datetime(["2024-01-10", "2024-03-01", "2023-12-01", "2022-01-05",
                                                     "2022-02-05"]).astype("datetime64[ns]"),
                       "amount": [3000.0, 5000, 12000, 800, 800]})
    return rfm.score(rfm.summarize(df, "2024-03-31"), method=method).set_index("customer_id")


@pytest.mark.parametrize("method", ["quintile", "fixed"])
def test_rfm_score_matches_the_core_and_blanks_customers_without_orders(method):
    ids, dates, amounts = cols()
    out = udfs.RFM_SCORE(CUSTOMERS, ids, dates, amounts, AS_OF, method)
    core = core_scores(method)
    assert out == [[core.loc["1001", "rfm_code"]], [core.loc["C2", "rfm_code"]], [core.loc["C3", "rfm_code"]],
                   [""], [""], [""]]
    assert [r[0] for r in udfs.RFM_R(CUSTOMERS, ids, dates, amounts, AS_OF, method)][:3] == list(core.r)
    assert [r[0] for r in udfs.RFM_F(CUSTOMERS, ids, dates, amounts, AS_OF, method)][:3] == list(core.f)
    assert [r[0] for r in udfs.RFM_M(CUSTOMERS, ids, dates, amounts, AS_OF, method)][:3] == list(core.m)
    seg = udfs.RFM_SEGMENT(CUSTOMERS, ids, dates, amounts, AS_OF, method)
    assert [r[0] for r in seg] == [*core.segment_ja, "", "", ""]
    assert udfs.RFM_SEGMENT(CUSTOMERS, ids, dates, amounts, AS_OF, method, "en")[0] == [core.loc["1001", "segment"]]


def test_results_are_2d_lists_of_plain_cell_values():
    ids, dates, amounts = cols()
    for fn in (udfs.RFM_SCORE, udfs.RFM_SEGMENT, udfs.RFM_R):
        out = fn(CUSTOMERS, ids, dates, amounts, AS_OF)
        assert len(out) == len(CUSTOMERS) and all(len(r) == 1 for r in out)
        for (v,) in out:
            assert v is not None and not (isinstance(v, float) and np.isnan(v))
            assert type(v) in (str, int) and (not isinstance(v, str) or len(v) <= 255)


def test_fixed_cut_points_can_be_passed_as_cell_text_or_a_range():
    ids, dates, amounts = cols()
    default = udfs.RFM_R(CUSTOMERS, ids, dates, amounts, AS_OF, "fixed")
    assert default[0] == [5]                                  # 30 days since the last order: R5 (at most 30)
    assert udfs.RFM_R(CUSTOMERS, ids, dates, amounts, AS_OF, "fixed", "10,20,30,40")[0] == [3]
    assert udfs.RFM_R(CUSTOMERS, ids, dates, amounts, AS_OF, "固定", [[10, 20, 30, 40]])[0] == [3]


def test_days_since_last_order_and_next_order_date():
    ids, dates, _ = cols()
    days = udfs.DAYS_SINCE_LAST_ORDER(CUSTOMERS, ids, dates, AS_OF)
    assert days == [[30], [121], [(dt.date(2024, 3, 31) - dt.date(2022, 2, 5)).days], [""], [""], [""]]
    nxt = udfs.NEXT_ORDER_DATE(CUSTOMERS, ids, dates, AS_OF)
    assert nxt[0] == [dt.datetime(2024, 3, 1) + dt.timedelta(days=51)]     # 1001 buys every 51 days
    assert nxt[3:] == [[""], [""], [""]]


def test_lapse_status_matches_the_core():
    ids, dates, _ = cols()
    out = udfs.LAPSE_STATUS(CUSTOMERS, ids, dates, AS_OF)
    df = pd.DataFrame({"customer_id": ["1001", "1001", "C2", "C3", "C3"],
                       "order_date": pd.to_datetime(["2024-01-10", "2024-03-01", "2023-12-01", "2022-01-05",
                                                     "2022-02-05"]).astype("datetime64[ns]"), "amount": 1.0})
    core = lapse.assess(df, "2024-03-31").set_index("customer_id").status
    assert [r[0] for r in out] == [core["1001"], core["C2"], core["C3"], "", "", ""]
    assert udfs.LAPSE_STATUS(CUSTOMERS, ids, dates, AS_OF, "days", "en")[2] == ["Dormant"]


def test_a_single_cell_and_a_blank_as_of_work():
    ids, dates, amounts = cols()
    assert udfs.RFM_SCORE("C2", ids, dates, amounts, AS_OF) == udfs.RFM_SCORE([["C2"]], ids, dates, amounts, AS_OF)
    assert udfs.DAYS_SINCE_LAST_ORDER([["C2"]], ids, dates, None)[0][0] == (dt.date.today() - dt.date(2023, 12, 1)).days


def test_an_unreadable_order_date_is_reported_by_position():
    rows = list(ORDERS)
    rows[2] = ("C2", "先月", 100.0)
    ids, dates, amounts = cols(rows)
    with pytest.raises(messages.BadInput) as e:
        udfs.RFM_SCORE(CUSTOMERS, ids, dates, amounts, AS_OF)
    assert "3件目" in e.value.message("ja") and "order 3" in e.value.message("en")


def test_docstrings_exist_for_the_wrapper_generator():
    for name in ("RFM_SCORE", "RFM_SEGMENT", "RFM_R", "RFM_F", "RFM_M", "DAYS_SINCE_LAST_ORDER", "LAPSE_STATUS",
                 "NEXT_ORDER_DATE"):
        assert getattr(udfs, name).__doc__.strip()


def test_bad_method_or_cut_points_say_what_is_wrong():
    ids, dates, amounts = cols()
    with pytest.raises(messages.BadInput, match="quintile"):
        udfs.RFM_SCORE(CUSTOMERS, ids, dates, amounts, AS_OF, "magic")
    with pytest.raises(messages.BadInput, match="increasing"):
        udfs.RFM_R(CUSTOMERS, ids, dates, amounts, AS_OF, "fixed", "90,30")
    with pytest.raises(messages.BadInput, match="rhythm"):
        udfs.LAPSE_STATUS(CUSTOMERS, ids, dates, AS_OF, "magic")
