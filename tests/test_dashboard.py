"""Dashboard figures: F2 by month, retention cohorts, revenue forecast, segment movement."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xlcrm import dashboard

from fu_data import customers, orders

D = pd.Timestamp


def small():
    return orders([
        ("1", "A", "2024-01-05", 1000, None), ("2", "A", "2024-02-03", 1000, None),   # converts in 29 days
        ("3", "A", "2024-04-10", 1000, None),
        ("4", "B", "2024-01-20", 2000, None), ("5", "B", "2024-03-25", 2000, None),   # 65 days
        ("6", "C", "2024-01-31", 500, None), ("6b", "C", "2024-01-31", 300, None),    # two lines, one day
        ("7", "E", "2024-01-10", 800, None), ("8", "E", "2024-05-01", 800, None),     # 112 days: not in 90
        ("9", "F", "2024-04-02", 900, None), ("10", "F", "2024-04-20", 900, None),
        ("11", "G", "2024-05-10", 700, None),
    ])


def test_f2_by_month_counts_second_orders_within_the_window_and_marks_open_months():
    f2 = dashboard.f2_by_month(small(), D("2024-05-20"), window_days=90)
    jan = f2.loc["2024-01"]
    assert (jan["first_buyers"], jan["converted"]) == (4, 2)       # A and B; C's same-day line is no repeat
    assert jan["complete"] and jan["rate"] == pytest.approx(0.5)
    assert not f2.loc["2024-04", "complete"] and np.isnan(f2.loc["2024-04", "rate"])
    assert f2.loc["2024-04", "converted"] == 1


def test_kpis_repeat_rate_and_f2_use_only_complete_months():
    cust = customers([dict(customer_id=c, name="x") for c in "ABCEFG"] + [dict(customer_id="P", name="y",
                                                                                kind="見込み")])
    k = dashboard.kpis(cust, small(), None, D("2024-05-20"), f2_days=90, active_days=60)
    assert (k["buyers"], k["repeaters"]) == (6, 4)
    assert k["repeat_rate"] == pytest.approx(4 / 6)
    assert (k["f2_base"], k["f2_converted"]) == (4, 2)               # only the January cohort is complete
    assert k["active"] == 5                                          # last order on or after 3/21: A B E F G
    assert k["prospects"] == 1 and k["new_this_month"] == 1


def test_cohort_matrix_shares_and_unknown_future_cells():
    m = dashboard.cohort_matrix(small(), D("2024-05-20"), months=6)
    jan = m.loc["2024-01"]
    assert jan["size"] == 4
    assert [jan[k] for k in range(4)] == pytest.approx([1.0, 0.25, 0.25, 0.25])   # A in Feb, B in Mar, A in Apr
    assert np.isnan(jan[4]) and np.isnan(jan[5])                      # May is not over, June is the future
    assert m.loc["2024-04", 0] == 1.0 and np.isnan(m.loc["2024-04", 1])


def test_monthly_revenue_fills_empty_months_and_drops_the_running_month():
    rev = dashboard.monthly_revenue(small(), D("2024-05-20"))
    assert [str(p) for p in rev.index] == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert rev.tolist() == [4600.0, 1000.0, 2000.0, 2800.0]
    assert dashboard.monthly_revenue(small(), D("2024-05-31")).index[-1] == pd.Period("2024-05")


def series(values, start="2021-01"):
    return pd.Series(values, index=pd.period_range(start, periods=len(values), freq="M"), dtype=float)


def test_forecast_picks_a_seasonal_model_for_seasonal_sales_and_reports_its_holdout_error():
    rng = np.random.default_rng(0)
    t = np.arange(48)
    y = 1_000_000 + 5_000 * t + 300_000 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 20_000, 48)
    fc = dashboard.forecast(series(y), horizon=6, holdout=6)
    assert fc["model"] in ("holt_winters", "holt_damped", "seasonal_naive")
    assert fc["mape"][fc["model"]] < 5 < fc["mape"]["linear"]
    assert len(fc["forecast"]) == 6 and str(fc["forecast"].index[0]) == "2025-01"
    # the forecast follows the season: next July (sin peak in April) is lower than next April
    assert fc["forecast"]["2025-04"] > fc["forecast"]["2025-01"]


def test_forecast_on_a_straight_trend_and_on_short_history():
    y = 500_000 + 20_000 * np.arange(18)
    fc = dashboard.forecast(series(y), horizon=3, holdout=6)
    assert fc["mape"][fc["model"]] < 1
    assert fc["forecast"].iloc[0] == pytest.approx(500_000 + 20_000 * 18, rel=0.01)
    assert fc["slope"] == pytest.approx(20_000)
    short = dashboard.forecast(series([100.0, 120.0, 90.0, 130.0, 110.0]), horizon=2, holdout=6)
    assert short["model"] in ("naive", "linear") and short["holdout"] == 2
    assert dashboard.forecast(series([]), horizon=2)["model"] is None


def test_kept_holt_winters_forecasts_are_repeated_to_the_last_bit_without_fitting(monkeypatch):
    """dashboard.Fits: a refresh over the same complete months gets the very forecasts and errors a fresh fit
    gives, without statsmodels; another series, horizon or model is fitted afresh."""
    rng = np.random.default_rng(0)
    t = np.arange(40)
    y = series(1_000_000 + 5_000 * t + 300_000 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 20_000, 40))
    fresh = dashboard.forecast(y, horizon=6, holdout=6)
    first = dashboard.Fits()
    assert dashboard.forecast(y, horizon=6, holdout=6, fits=first)["mape"] == fresh["mape"]
    assert {k.split()[0] for k in first.used} == {"holt_winters", "holt_damped"}   # both fitted on the training part
    calls = []
    real = dashboard._holt_winters
    monkeypatch.setattr(dashboard, "_holt_winters", lambda *a: calls.append(a[0]) or real(*a))
    again = dashboard.Fits(known=dict(first.used))
    got = dashboard.forecast(y, horizon=6, holdout=6, fits=again)
    assert calls == [] and again.used == first.used
    assert got["model"] == fresh["model"] and got["mape"] == fresh["mape"]
    assert got["forecast"].equals(fresh["forecast"])
    # one more month of sales: a new series, fitted (and only the new keys are kept)
    more = series(list(y) + [1_200_000.0])
    nxt = dashboard.Fits(known=dict(first.used))
    dashboard.forecast(more, horizon=6, holdout=6, fits=nxt)
    assert calls and not set(nxt.used) & set(first.used)
    # a series a model could not fit is remembered as such, and the model still does not compete
    bad = dashboard.Fits(known={k: "null" for k in first.used})
    calls.clear()
    out = dashboard.forecast(y, horizon=6, holdout=6, fits=bad)
    assert calls == [] and not {"holt_winters", "holt_damped"} & set(out["mape"])


def test_segment_history_and_movement():
    s1 = pd.DataFrame({"customer_id": ["A", "B", "C"], "segment_ja": ["優良", "新規", "休眠"]})
    s2 = pd.DataFrame({"customer_id": ["A", "B", "D"], "segment_ja": ["優良", "ロイヤル", "新規"]})
    h = dashboard.update_history(None, dashboard.segment_counts(s1, "2024-05-01"))
    h = dashboard.update_history(h, dashboard.segment_counts(s2, "2024-06-01"))
    h = dashboard.update_history(h, dashboard.segment_counts(s2, "2024-06-01"))    # same day: replaced
    w = dashboard.history_wide(h)
    assert len(w) == 2 and w.loc[D("2024-06-01"), "新規"] == 1 and w.loc[D("2024-05-01"), "休眠"] == 1
    prev = s1.rename(columns={"segment_ja": "segment"})
    mv = dashboard.segment_movement(prev, s2)
    assert mv.loc["新規", "ロイヤル"] == 1 and mv.loc["優良", "優良"] == 1
    assert mv.loc["(新規)", "新規"] == 1 and mv.loc["休眠", "(対象外)"] == 1
    summ = dashboard.movement_summary(mv)
    assert summ.loc["ロイヤル", "change"] == 1 and summ.loc["優良", "stayed"] == 1


def test_status_by_segment_crosstab_has_totals():
    sc = pd.DataFrame({"customer_id": ["A", "B", "C"], "segment_ja": ["優良", "優良", "休眠"]})
    lp = pd.DataFrame({"customer_id": ["A", "B", "C"], "status": ["稼働", "離脱予兆", "休眠"]})
    tab = dashboard.status_by_segment(sc, lp)
    assert tab.loc["優良", "稼働"] == 1 and tab.loc["合計", "合計"] == 3
    assert list(tab.columns) == ["稼働", "離脱予兆", "休眠", "合計"]


def test_snapshot_rolls_once_per_day_so_movement_is_against_the_last_earlier_refresh():
    s1 = pd.DataFrame({"customer_id": ["A", "B"], "segment_ja": ["新規", "休眠"]})
    s2 = pd.DataFrame({"customer_id": ["A", "B"], "segment_ja": ["優良", "休眠"]})
    st, prev, _ = dashboard.roll_snapshot(None, s1, "2024-05-01")
    assert prev is None
    st, prev, d = dashboard.roll_snapshot(st, s2, "2024-06-01")
    assert d == D("2024-05-01") and prev.set_index("customer_id").loc["A", "segment"] == "新規"
    st, prev, d = dashboard.roll_snapshot(st, s2, "2024-06-01")      # refreshed again the same day
    assert d == D("2024-05-01") and dashboard.segment_movement(prev, s2).loc["新規", "優良"] == 1


# CDNOW sample (Fader & Hardie; 2,357 customers who first bought in Q1 1997): revenue per month, 1997-01..1998-06.
CDNOW_MONTHLY = [28593, 40434, 43472, 12842, 10880, 9907, 10866, 8763, 7358, 8845, 10151, 9113, 7357, 7680, 9850,
                 6012, 6378, 5591]


def test_forecast_selection_on_cdnow_avoids_models_that_extrapolate_the_launch_spike():
    y = series(CDNOW_MONTHLY, start="1997-01")
    six = dashboard.forecast(y, holdout=6)
    assert six["model"] == "naive" and six["mape"]["naive"] == pytest.approx(34.6, abs=0.1)
    assert six["mape"]["linear"] > 200 and six["mape"]["seasonal_naive"] > 200   # the spike, a year on
    three = dashboard.forecast(y, holdout=3)
    assert three["model"] == "holt_damped" and three["mape"]["holt_damped"] < 13
    assert (six["forecast"] >= 0).all()


def test_a_new_shop_without_orders_gets_an_empty_dashboard_not_an_error():
    cust = customers([dict(customer_id="P", name="y", kind="見込み")])
    none = orders([])
    scored = pd.DataFrame({"customer_id": pd.Series(dtype=object), "segment_ja": pd.Series(dtype=object)})
    lapse = pd.DataFrame({"customer_id": pd.Series(dtype=object), "status": pd.Series(dtype=object)})
    d = dashboard.build(cust, none, scored, lapse, D("2024-06-30"))
    assert d["kpis"]["buyers"] == 0 and np.isnan(d["kpis"]["repeat_rate"]) and d["kpis"]["prospects"] == 1
    assert d["f2"].empty and d["cohorts"].empty and d["revenue"].empty and d["forecast"]["model"] is None
