"""One definition of a purchase: every analysis reports the same purchase days, first and last purchase per customer
as a plain reading of the rule (amount > 0, dated on or before the as-of day; one day's lines are one purchase),
for random order sets with returns, ¥0 rows, same-day orders and orders after the as-of date."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings, strategies as st

from xlcrm import dashboard, followup, journey, lapse, purchases, referrals, rfm
from xlcrm.jobs.lapse import lapse_file
from xlcrm.jobs.rfm import rfm_file

from fu_data import customers as customer_frame
from fu_data import orders as order_frame

BASE = pd.Timestamp("2024-01-01")
AS_OF = BASE + pd.Timedelta(days=60)
IDS = ("C1", "C2", "C3", "C4")

order_rows = st.lists(st.tuples(st.sampled_from(IDS), st.integers(0, 75), st.sampled_from([-3000.0, 0.0, 1.0, 4800.0])),
                      min_size=1, max_size=25)


def frame(rows):
    return order_frame([(f"O{i}", c, BASE + pd.Timedelta(days=d), a, None) for i, (c, d, a) in enumerate(rows)])


def reference(rows) -> dict:
    """customer -> sorted purchase days (as offsets from BASE), buyers only."""
    days: dict[str, set] = {}
    for c, d, a in rows:
        if a > 0 and d <= 60:
            days.setdefault(c, set()).add(d)
    return {c: sorted(v) for c, v in days.items()}


def day(offset) -> pd.Timestamp:
    return BASE + pd.Timedelta(days=int(offset))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(order_rows)
def test_every_analysis_agrees_on_purchase_days(rows):
    ref = reference(rows)
    o = frame(rows)
    buyers = sorted(ref)

    pd_ = purchases.purchase_days(o, AS_OF)
    assert {c: [int((d - BASE).days) for d in g["order_date"]] for c, g in pd_.groupby("customer_id")} == ref
    assert purchases.first_purchase(o, AS_OF).to_dict() == {c: day(v[0]) for c, v in ref.items()}

    s = rfm.summarize(o, AS_OF, frequency="days").set_index("customer_id").sort_index()
    assert list(s.index) == buyers
    assert [int(x) for x in s["frequency"]] == [len(ref[c]) for c in buyers]
    assert list(s["first_order"]) == [day(ref[c][0]) for c in buyers]
    assert list(s["last_order"]) == [day(ref[c][-1]) for c in buyers]

    la = lapse.assess(o, AS_OF, method="days", explain=False).set_index("customer_id").sort_index()
    assert list(la.index) == buyers
    assert [int(x) for x in la["days_since_last"]] == [60 - ref[c][-1] for c in buyers]
    for c in buyers:          # the rhythm (and BG/NBD's x, t_x) come from the same purchase days
        if len(ref[c]) > 1:
            assert la.at[c, "interval_days"] == float(np.median(np.diff(ref[c])))

    h = dashboard._History(o, AS_OF)
    got = {c: (int(f), int(la_), int(n), int(sd)) for c, f, la_, n, sd in
           zip(h.ids, h.first_day, h.last_day, h.days_bought, h.second_day)}
    b0 = int(np.datetime64(BASE.date(), "D").astype(np.int64))
    assert got == {c: (b0 + v[0], b0 + v[-1], len(v), b0 + v[1] if len(v) > 1 else np.iinfo(np.int64).max)
                   for c, v in ref.items()}

    cust = customer_frame([{"customer_id": c, "name": c, "email": f"{c}@example.jp", "mail_ok": "可"} for c in IDS])
    stg = journey.stages(cust, o, AS_OF).set_index("customer_id")
    assert {c: (stg.at[c, "first_order"], int(stg.at[c, "days"])) for c in stg.index if stg.at[c, "days"] > 0} \
        == {c: (day(v[0]), len(v)) for c, v in ref.items()}

    rp = referrals.purchases(o, AS_OF)
    rp = rp[rp["days"] > 0]
    assert {c: (r.first_order, r.days, r.second_order if r.days > 1 else None) for c, r in rp.iterrows()} == \
        {c: (day(v[0]), len(v), day(v[1]) if len(v) > 1 else None) for c, v in ref.items()}

    # the F2 rule: customers with exactly one purchase day, 20–40 days after it
    scored = rfm.score(rfm.summarize(o, AS_OF))
    f2 = followup.candidates(cust, o, None, scored, la.reset_index(), followup.parse_rules(None), AS_OF,
                             only=("f2",))
    assert sorted(f2["customer_id"]) == sorted(c for c, v in ref.items() if len(v) == 1 and 20 <= 60 - v[0] <= 40)


def test_a_late_return_is_no_order_for_lapse_or_rfm(tmp_path, capsys):
    """The issue's case: orders up to 2024-01-03, a return on 2024-06-01; both commands count from 2024-01-03."""
    path = tmp_path / "orders.csv"
    path.write_text("顧客ID,注文日,金額\nC1,2024-01-01,5000\nC1,2024-01-03,3000\nC1,2024-06-01,-3000\n"
                    "C2,2024-06-20,1000\n", encoding="utf-8")
    lapse_file(path, None, as_of="2024-06-30", as_json=True)
    rows = {r["customer_id"]: r for r in json.loads(capsys.readouterr().out)["rows"]}
    assert rows["C1"]["days_since_last"] == 179 and rows["C1"]["status"] == "離脱"
    out = tmp_path / "rfm.csv"
    rfm_file(path, out, as_of="2024-06-30")
    got = pd.read_csv(out, encoding="utf-8-sig").set_index("customer_id")
    assert got.at["C1", "recency_days"] == 179


def test_a_return_in_a_campaign_window_is_no_purchase():
    from xlcrm import campaign
    members = pd.DataFrame({"customer_id": ["C1", "C2"], "group": ["連絡", "対照"]})
    o = frame([("C1", 10, -3000.0), ("C1", 2, 4800.0), ("C2", 11, 0.0)])
    got = campaign.outcomes(members, o, BASE + pd.Timedelta(days=5), 30).set_index("customer_id")
    assert not got["bought"].any() and got.at["C1", "revenue"] == -3000.0
