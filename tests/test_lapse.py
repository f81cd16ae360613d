"""Lapse statuses (稼働 / 離脱予兆 / 離脱 / 休眠) by fixed days and by personal rhythm, with their explanations."""
import numpy as np
import pandas as pd
import pytest

from xlcrm import purchases, lapse


def orders(rows):
    df = pd.DataFrame(rows, columns=["customer_id", "order_date"])
    df["order_date"] = pd.to_datetime(df["order_date"]).astype("datetime64[ns]")
    df["amount"] = 1000.0
    return df


AS_OF = "2024-06-30"
SHOP = orders([
    # monthly buyer, last order 20 days ago: active
    ("M", "2024-02-10"), ("M", "2024-03-10"), ("M", "2024-04-10"), ("M", "2024-05-10"), ("M", "2024-06-10"),
    # monthly buyer silent for 81 days (usual 30): lapsing after 45, lapsed after 90
    ("L", "2024-01-10"), ("L", "2024-02-09"), ("L", "2024-03-10"), ("L", "2024-04-10"),
    # quarterly buyer silent for 81 days: still active by their own rhythm, lapsing by fixed days? (no: 81 <= 90)
    ("Q", "2023-07-10"), ("Q", "2023-10-10"), ("Q", "2024-01-10"), ("Q", "2024-04-10"),
    # one order 10 days ago, one order 100 days ago, one order two years ago
    ("N1", "2024-06-20"), ("N2", "2024-03-22"), ("N3", "2022-06-01"),
    # weekly buyer (7-day rhythm) silent 35 days: the 30-day floor keeps them from lapsing after 11 days
    ("W", "2024-05-05"), ("W", "2024-05-12"), ("W", "2024-05-19"), ("W", "2024-05-26"),
    ("FUT", "2024-08-01"),   # after the as-of date: not assessed
])


def by_id(df):
    return df.set_index("customer_id")


def test_rhythm_judges_each_customer_by_their_own_interval():
    df = by_id(lapse.assess(SHOP, AS_OF, method="rhythm"))
    assert "FUT" not in df.index
    assert df.loc["M", "status"] == "稼働"
    assert df.loc["L", "status"] == "離脱予兆" and df.loc["L", "days_since_last"] == 81
    assert df.loc["Q", "status"] == "稼働"                       # 81 days is normal for a quarterly buyer
    assert df.loc["W", "status"] == "離脱予兆"                    # 35 > 30-day floor, < 60
    assert df.loc["N3", "status"] == "休眠"
    assert df.loc["M", "expected_next"] == pd.Timestamp("2024-07-11")   # last + median of 29, 31, 30, 31 days (30.5, half up)
    assert df.loc["L", "interval_days"] == 30
    assert "usual interval about 30 days" in df.loc["L", "reason_en"]
    assert "いつもの購入間隔は約30日" in df.loc["L", "reason_ja"]


def test_one_order_customers_are_judged_against_the_shops_second_orders():
    df = by_id(lapse.assess(SHOP, AS_OF, method="rhythm"))
    # first-to-second times in this shop: 28, 30, 31, 7 and 92 days
    assert df.loc["N1", "status"] == "稼働"
    assert df.loc["N2", "status"] in ("離脱予兆", "離脱")
    assert "second orders" in df.loc["N2", "reason_en"] and "2回目の注文" in df.loc["N2", "reason_ja"]
    # expected next order: first order + the shop's median first-to-second time (30 days)
    assert df.loc["N1", "expected_next"] == pd.Timestamp("2024-07-20")


def test_fixed_days_method_uses_the_settings_days():
    df = by_id(lapse.assess(SHOP, AS_OF, method="days", warn_days=60, lapse_days=100, dormant_days=400))
    assert df.loc["L", "status"] == "離脱予兆"          # 81 > 60
    assert df.loc["N2", "status"] == "離脱予兆"          # exactly 100 days: not yet past 100
    df = by_id(lapse.assess(SHOP, AS_OF, method="days", warn_days=60, lapse_days=99, dormant_days=400))
    assert df.loc["N2", "status"] == "離脱"
    assert df.loc["N3", "status"] == "休眠"
    assert "lapsing after 60" in df.loc["L", "reason_en"]


def test_reasons_are_short_enough_for_a_cell_and_every_row_has_one():
    for m in ("days", "rhythm"):
        df = lapse.assess(SHOP, AS_OF, method=m)
        assert df.reason_ja.str.len().between(1, 255).all() and df.reason_en.str.len().between(1, 255).all()
        assert set(df.status) <= set(lapse.STATUS)


def test_same_day_orders_are_one_purchase():
    df = by_id(lapse.assess(orders([("A", "2024-06-01"), ("A", "2024-06-01"), ("B", "2024-05-01"),
                                    ("B", "2024-06-01")]), AS_OF))
    assert df.loc["A", "reason_en"].startswith("one order")


def test_unknown_method_and_parameter_are_refused():
    with pytest.raises(ValueError):
        lapse.assess(SHOP, AS_OF, method="magic")
    with pytest.raises(TypeError):
        lapse.assess(SHOP, AS_OF, warn_dayz=3)


def test_purchase_history_median_gap():
    codes = np.array([0, 0, 0, 0, 1, 1])
    days = np.array([0, 10, 30, 60, 5, 5])
    h = purchases.history(codes, 2, days)
    assert h["median_gap"][0] == 20 and np.isnan(h["median_gap"][1])
    assert list(h["distinct"]) == [4, 1] and list(h["second"]) == [10, -1]


def test_the_three_methods_side_by_side():
    df = by_id(lapse.assess_all(SHOP, AS_OF, warn_days=60))
    # the quarterly buyer: 81 days is past the fixed 60 days, but normal for their own rhythm
    assert df.loc["Q", "status_days"] == "離脱予兆" and df.loc["Q", "status_rhythm"] == "稼働"
    assert df.loc["L", "status_days"] == "離脱予兆" and df.loc["L", "status_rhythm"] == "離脱予兆"
    assert df.attrs["bgnbd"]["fallback"] == "bgnbd_too_few"        # six customers: BG/NBD refuses, says so
    assert df.loc["L", "status_bgnbd"] == df.loc["L", "status_rhythm"]
    awake = df[df.status_bgnbd != "休眠"]            # dormancy is explained the same way by every method
    assert awake.reason_bgnbd_en.str.startswith("BG/NBD not used").all()
