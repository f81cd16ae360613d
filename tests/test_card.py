"""顧客カルテ brings everything about one customer together (情報の一元化): who referred them and whom they
referred, their latest rating, their sales stage, and ratings and stages in the timeline."""
from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from xlcrm import contacts as ct
from xlcrm.jobs import demo, run
from xlcrm.jobs.followup import TIMELINE_ROW, customer_card

AS_OF = "2026-06-30"


def _customers():
    return pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "name": ["佐藤 花子", "鈴木 一郎", "高橋 次郎"],
                         "kind": ["顧客", "顧客", "見込み"], "referrer_id": ["", "C1", "C1"]})


def _contacts():
    return pd.DataFrame({
        "contact_id": ["R1", "R2", "R3", "R4", "R5"], "customer_id": ["C2", "C2", "C3", "C3", "C2"],
        "at": pd.to_datetime(["2026-03-01", "2026-05-01", "2026-04-01", "2026-05-10", "2026-06-01"]),
        "channel": "電話", "type": ["アンケート", "レビュー", "商談", "商談", "問い合わせ"],
        "summary": ["購入後アンケート", "口コミ", "初回のご相談", "見積書を送付", "配送の確認"], "staff": "",
        "status": "完了", "score": [4.0, 2.0, None, None, None], "stage": ["", "", "問い合わせ", "見積", ""]})


def test_card_shows_referrer_referrals_latest_rating_and_stage():
    items = dict(ct.card("C2", _customers(), contacts=_contacts()))
    assert items["紹介者"] == "C1 佐藤 花子"
    assert items["最新の評価"] == "2(2026-05-01 レビュー)"          # the review is later than the survey
    assert "紹介した人数" not in items and "商談段階" not in items
    assert dict(ct.card("C1", _customers(), contacts=_contacts()))["紹介した人数"] == 2
    en = dict(ct.card("C3", _customers(), contacts=_contacts(), lang="en"))
    assert en["Sales stage"] == "見積(2026-05-10)" and en["Referred by"] == "C1 佐藤 花子"


def test_timeline_marks_ratings_and_stages():
    tl = ct.timeline("C3", pd.DataFrame(columns=["customer_id", "order_date", "amount", "order_id"]), _contacts())
    assert list(tl["detail"]) == ["見積書を送付(商談段階: 見積)", "初回のご相談(商談段階: 問い合わせ)"]
    tl = ct.timeline("C2", pd.DataFrame(columns=["customer_id", "order_date", "amount", "order_id"]), _contacts(),
                     lang="en")
    assert list(tl["detail"]) == ["配送の確認", "口コミ (rating 2)", "購入後アンケート (rating 4)"]


@pytest.fixture(scope="module")
def demo_book(tmp_path_factory):
    path = tmp_path_factory.mktemp("card") / "CRM.xlsm"
    for _ in demo.run_demo(path, customers=120, seed=2, as_of=AS_OF):
        pass
    return path


def test_the_card_sheet_of_a_referred_customer_with_a_rating(demo_book):
    from xlcrm.book import open_book
    with open_book(demo_book) as b:
        cust, cont = b.read("customers"), b.read("contacts")
    rated = set(cont.loc[cont["score"].notna(), "customer_id"])
    cid = next(c for c in cust.loc[cust["referrer_id"].ne(""), "customer_id"] if c in rated)
    run(customer_card, demo_book, customer=cid)
    ws = openpyxl.load_workbook(demo_book)["顧客カルテ"]
    card = {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(2, TIMELINE_ROW - 1)}
    assert card["紹介者"].startswith(cust.loc[cust["customer_id"].eq(cid), "referrer_id"].iloc[0] + " ")
    assert card["最新の評価"][0] in "12345"
    timeline = [ws.cell(r, 3).value for r in range(TIMELINE_ROW + 2, TIMELINE_ROW + 60)]
    assert any(v and "(評価 " in v for v in timeline)
