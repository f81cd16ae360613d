"""How the scoring jobs must treat returns and cancellations — the decision, written as tests.

Order rows with a negative amount (a return: △3,980, -12800) or zero (a cancellation, a free sample) are kept
and parsed (tests/test_hostile.py); they are not purchases:

- RFM frequency, recency, first/last order date and the purchase rhythm (lapse) count only rows with amount > 0;
  a return must not make a customer look more recent or more frequent, a ¥0 sample must not make a prospect a
  "promising" buyer.
- Monetary is the net of every row (returns subtract), floored at 0.
- A customer whose rows are all ≤ 0 has no purchases: scored like a customer without orders.
- Dedupe/merge treat orders as data to carry, never to net or drop: merging two customers moves every order row,
  returns included, to the surviving ID.

These run once the jobs are registered in xlcrm.jobs.JOBS (they are skipped before).
"""
from __future__ import annotations

import pytest

from corpus import hostile
from xlcrm import jobs
from xlcrm.book import open_book


def _needs(tag):
    return pytest.mark.skipif(tag not in jobs.JOBS, reason=f"{tag} job not merged yet")


@_needs("rfm")
def test_returns_and_cancellations_are_not_purchases(tmp_path):
    path, _ = hostile.build("negative_and_zero_amounts", tmp_path)
    jobs.run("rfm", path)
    with open_book(path) as b:
        c = b.read_raw("顧客").set_index("顧客ID")
    # C0001: three ¥3,980 purchases and one return of one of them
    assert c.loc["C0001", "注文回数"] == 3 and c.loc["C0001", "購入金額"] == 7960
    assert str(c.loc["C0001", "最終注文日"])[:10] == "2024-03-05"  # the last purchase, not the return
    # C0002: bought ¥12,800 and returned it all: one purchase, nothing spent
    assert c.loc["C0002", "注文回数"] == 1 and c.loc["C0002", "購入金額"] == 0
    # C0003: only a ¥0 sample — no purchase at all
    assert c.loc["C0003", "注文回数"] in (0, None)
    # C0004: the ¥0 cancellation on 5/21 is not the last order
    assert str(c.loc["C0004", "最終注文日"])[:10] == "2024-05-20"


@_needs("dedupe")
def test_dedupe_on_a_book_without_customers_says_so(tmp_path):
    """A new shop's empty book: the job finishes (nothing to compare) instead of crashing."""
    path, _ = hostile.build("all_empty", tmp_path)
    before = path.read_bytes()
    result = jobs.run("dedupe", path)
    assert result.counts["groups"] == 0 and "nothing to compare" in result.summary("en")
    assert path.read_bytes() == before
