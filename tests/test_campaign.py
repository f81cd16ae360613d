"""Campaign hold-out split and the contacted-vs-control comparison."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xlcrm import campaign

from fu_data import orders


def test_split_is_seeded_sized_and_independent_of_input_order():
    ids = [f"C{i:04d}" for i in range(1000)]
    a = campaign.split(ids, 10, seed=42)
    b = campaign.split(list(reversed(ids)), 10, seed=42)
    pd.testing.assert_frame_equal(a, b)
    assert (a["group"] == campaign.CONTROL).sum() == 100
    c = campaign.split(ids, 10, seed=43)
    assert not a["group"].equals(c["group"])
    assert campaign.seed_for("CP-2024-06") == campaign.seed_for("CP-2024-06") != campaign.seed_for("CP-2024-07")


def test_newcombe_interval_matches_the_paper():
    # Newcombe (1998) Stat Med 17:873, Table II, method 10: 56/70 - 48/80 -> 0.0524 to 0.3339;
    # 9/10 - 3/10 -> 0.1705 to 0.8090.
    for (a, n1, b, n2), (lo, hi) in [((56, 70, 48, 80), (0.0524, 0.3339)), ((9, 10, 3, 10), (0.1705, 0.8090))]:
        out = pd.DataFrame({"group": [campaign.TREATED] * n1 + [campaign.CONTROL] * n2,
                            "bought": [True] * a + [False] * (n1 - a) + [True] * b + [False] * (n2 - b),
                            "revenue": 0.0})
        r = campaign.compare(out)
        assert r["rate_diff"]["lo"] == pytest.approx(lo, abs=1e-4)
        assert r["rate_diff"]["hi"] == pytest.approx(hi, abs=1e-4)


def test_outcomes_count_only_orders_inside_the_window():
    members = pd.DataFrame({"customer_id": ["A", "B", "C"], "group": [campaign.TREATED, campaign.TREATED,
                                                                     campaign.CONTROL]})
    o = orders([("1", "A", "2024-06-01", 1000, None), ("2", "A", "2024-06-30", 500, None),
                ("3", "B", "2024-07-01", 800, None),   # day 30 = outside a 30-day window
                ("4", "C", "2024-05-31", 700, None)])  # before the start
    out = campaign.outcomes(members, o, "2024-06-01", 30).set_index("customer_id")
    assert out["bought"].tolist() == [True, False, False]
    assert out["revenue"].tolist() == [1500.0, 0.0, 0.0]


def test_a_real_effect_is_found_and_no_effect_is_not_claimed():
    rng = np.random.default_rng(0)
    n = 4000
    ids = [f"C{i:05d}" for i in range(n)]
    sp = campaign.split(ids, 20, seed=1)
    treated = sp["group"].eq(campaign.TREATED).to_numpy()
    p = np.where(treated, 0.12, 0.08)
    bought = rng.random(n) < p
    rev = np.where(bought, rng.gamma(2.0, 3000.0, n), 0.0)
    r = campaign.compare(sp.assign(bought=bought, revenue=rev), seed=3)
    assert r["rate_diff"]["lo"] > 0                          # the 4-point lift is detected
    assert r["revenue_diff"]["welch_lo"] > 0 and r["revenue_diff"]["boot_lo"] > 0
    null = campaign.compare(sp.assign(bought=rng.random(n) < 0.1, revenue=0.0), seed=3)
    assert null["rate_diff"]["lo"] < 0 < null["rate_diff"]["hi"]
    table = campaign.report_table(r)
    assert list(table["項目"]) == ["人数", "購入者数", "購入率", "売上合計", "1人あたり売上"]
    assert "Newcombe 95%" in table.loc[2, "信頼区間"]
