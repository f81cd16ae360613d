"""RFM summary and scores as a shop would check them by hand."""
import numpy as np
import pandas as pd
import pytest

from xlcrm import rfm, settings


def orders(rows):
    df = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])
    df["order_date"] = pd.to_datetime(df["order_date"]).astype("datetime64[ns]")
    df["amount"] = df["amount"].astype(float)
    df["customer_id"] = df["customer_id"].astype(str)
    return df


SHOP = orders([
    ("C1", "2024-01-10", 3000), ("C1", "2024-03-01", 5000), ("C1", "2024-03-01", 2000),   # two orders on one day
    ("C2", "2023-12-01", 12000),
    ("C3", "2022-01-05", 800), ("C3", "2022-02-05", 800),
    ("C4", "2024-05-01", 9999),                                                            # after the as-of date
])


def test_summary_figures_match_hand_count():
    s = rfm.summarize(SHOP, "2024-03-31").set_index("customer_id")
    assert list(s.index) == ["C1", "C2", "C3"]                 # C4 only ordered after the as-of date
    c1 = s.loc["C1"]
    assert (c1.recency_days, c1.frequency, c1.orders, c1.monetary, c1.tenure_days) == (30, 3, 3, 10000.0, 81)
    assert c1.first_order == pd.Timestamp("2024-01-10") and c1.last_order == pd.Timestamp("2024-03-01")
    assert s.loc["C3", "recency_days"] == (pd.Timestamp("2024-03-31") - pd.Timestamp("2022-02-05")).days


def test_summary_options_distinct_days_and_mean():
    s = rfm.summarize(SHOP, "2024-03-31", frequency="days", monetary="mean").set_index("customer_id")
    assert s.loc["C1", "frequency"] == 2 and s.loc["C1", "orders"] == 3
    assert s.loc["C1", "monetary"] == pytest.approx(10000 / 3)


def test_numeric_looking_and_long_ids_group_alike():
    # short ids take the packed-integer path, long ones the general path: both must group the same way
    long = SHOP.assign(customer_id=SHOP.customer_id + "-with-a-long-suffix")
    a = rfm.summarize(SHOP, "2024-03-31")
    b = rfm.summarize(long, "2024-03-31")
    assert list(b.customer_id.str.replace("-with-a-long-suffix", "")) == list(a.customer_id)
    pd.testing.assert_frame_equal(a.drop(columns="customer_id"), b.drop(columns="customer_id"))


def test_fixed_scores_follow_the_documented_cut_points():
    s = pd.DataFrame({"customer_id": list("abcdef"),
                      "recency_days": [30, 31, 90, 180, 365, 366],
                      "frequency": [1, 2, 3, 6, 11, 12],
                      "monetary": [5000, 5001, 10000, 15000, 20000, 20001.0]})
    out = rfm.score(s, method="fixed")
    assert list(out.r) == [5, 4, 4, 3, 2, 1]
    assert list(out.f) == [1, 2, 3, 4, 4, 5]
    assert list(out.m) == [1, 2, 2, 3, 4, 5]
    assert list(out.rfm_code) == ["511", "422", "432", "343", "244", "155"]
    assert list(out.rfm_sum) == [7, 8, 9, 10, 10, 11]


def test_fixed_scores_use_thresholds_from_settings():
    s = settings.load(pd.DataFrame({"key": ["RFM R区切り(日)"], "value": ["10、20、30、40"]}))
    out = rfm.score(pd.DataFrame({"recency_days": [15], "frequency": [1], "monetary": [1.0]}),
                    method="fixed", thresholds={"r": s["rfm_r_days"]})
    assert out.r.iloc[0] == 4


def test_bad_thresholds_are_refused():
    with pytest.raises(ValueError, match="rfm_bad_thresholds"):
        rfm.score(pd.DataFrame({"recency_days": [1], "frequency": [1], "monetary": [1.0]}), method="fixed",
                  thresholds={"r": (90, 30, 180, 365)})


def test_quintiles_split_in_fifths_and_ties_share_a_score():
    n = 100
    s = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "recency_days": np.arange(n),
                      "frequency": [1] * 60 + list(range(2, 42)), "monetary": np.arange(n, dtype=float)})
    out = rfm.score(s)
    assert out.m.value_counts().sort_index().tolist() == [20] * 5
    assert out.loc[0, "r"] == 5 and out.loc[n - 1, "r"] == 1          # fewer days is better
    # 60 one-order customers cannot be told apart: all get F1, the rest fill F4 and F5 by rank
    assert set(out.f[:60]) == {1}
    assert out.f[60:].min() == 4 and out.f.max() == 5


def test_quintiles_do_not_depend_on_row_order():
    rng = np.random.default_rng(3)
    s = pd.DataFrame({"customer_id": [f"c{i}" for i in range(500)], "recency_days": rng.integers(0, 50, 500),
                      "frequency": rng.integers(1, 6, 500), "monetary": rng.integers(1, 20, 500) * 1000.0})
    a = rfm.score(s).set_index("customer_id").sort_index()
    b = rfm.score(s.sample(frac=1, random_state=1)).set_index("customer_id").sort_index()
    pd.testing.assert_frame_equal(a, b)
    # the documented SQL rule: 1 + floor(5 * (rank() over (order by x) - 1) / n)
    rank_min = s.frequency.rank(method="min").astype(int)
    assert (a.f.to_numpy() == (1 + (5 * (rank_min - 1)) // 500).to_numpy()[np.argsort(s.customer_id.to_numpy())]).all()


def test_segments_come_from_the_5x5_map():
    s = pd.DataFrame({"recency_days": [10, 10, 200, 400], "frequency": [1, 12, 12, 1], "monetary": [1.0] * 4})
    out = rfm.score(s, method="fixed")
    assert list(out.segment) == ["New", "Champions", "Can't lose", "Hibernating"]
    assert list(out.segment_ja) == ["新規", "優良", "失いたくない", "休眠"]


def test_segment_map_is_editable_with_japanese_english_or_own_names():
    custom = {5: ("VIP候補", "champions", "Champions", "優良", "優良")}
    out = rfm.score(pd.DataFrame({"recency_days": [10, 10], "frequency": [1, 2], "monetary": [1.0, 1.0]}),
                    method="fixed", segment_map=custom)
    assert list(out.segment_ja) == ["VIP候補", "優良"]
    assert list(out.segment) == ["VIP候補", "Champions"]


def test_default_segment_map_on_settings_sheet_is_the_core_default():
    d = settings.defaults()
    rows = {r: d[f"rfm_segments_r{r}"] for r in range(1, 6)}
    assert rfm.SegmentMap.from_rows(rows) == rfm.DEFAULT_SEGMENTS
