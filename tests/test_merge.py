"""統合 and its undo as staff see them: orders follow the master, nothing is lost, undo puts back every cell."""
from __future__ import annotations

import datetime as dt
import json

import openpyxl
import pandas as pd

from dedupe_data import make_book
from xlcrm import cli, merge
from xlcrm.book import open_book
from xlcrm.jobs import run


def decide(path, decisions: dict[str, str]):
    wb = openpyxl.load_workbook(path)
    ws = wb["重複候補"]
    hdr = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        key = row[hdr.index("ペアキー")].value
        if key in decisions:
            row[hdr.index("判定")].value = decisions[key]
    wb.save(path)


def snapshot(path):
    with open_book(path) as b:
        return {n: b.read_raw(n).reset_index(drop=True) for n in ("顧客", "注文", "対応履歴")}


def add_settings(path, rows):
    wb = openpyxl.load_workbook(path)
    ws = wb.create_sheet("設定")
    ws.append(["項目", "値", "説明"])
    for r in rows:
        ws.append(r)
    wb.save(path)


def test_merge_repoints_orders_fills_master_and_keeps_notes(tmp_path):
    p = make_book(tmp_path / "crm.xlsx")
    run("dedupe", p)
    decide(p, {"T0001|T0002": "統合"})
    before = snapshot(p)
    r = run("merge", p)
    assert r.counts["groups"] == 1 and r.counts["orders"] == 1 and r.counts["contacts"] == 1
    after = snapshot(p)
    cust = after["顧客"].set_index("顧客ID")
    # T0002 has more orders: it is the master; T0001 is gone from 顧客
    assert "T0001" not in cust.index and "T0002" in cust.index
    m = cust.loc["T0002"]
    assert m["電話番号"] == "03-3411-0001" and m["都道府県"] == "東京都"   # empty cells filled from T0001
    assert m["氏名"] == "高橋一郎"                                          # filled cells are the master's own
    assert m["備考"] == "旧住所あり\n[T0001] 電話は夕方"                     # no note is lost
    assert m["スタッフメモ"] == "要フォロー"
    # every order and contact still there, now on the master
    assert len(after["注文"]) == len(before["注文"]) and set(after["注文"]["顧客ID"]) == {"T0002", "T0003"}
    assert list(after["対応履歴"]["顧客ID"]) == ["T0002"]
    with open_book(p) as b:
        hist = b.read_raw("統合履歴")
        cand = b.read_raw("重複候補")
    h = hist.iloc[0]
    assert h["主顧客ID"] == "T0002" and h["統合元顧客ID"] == "T0001"
    assert json.loads(h["統合元の行"])[1]["氏名"] == "髙橋 一郎"
    assert json.loads(h["付け替えた注文"]) == [["O1", "T0001"]]
    assert not cand["ペアキー"].eq("T0001|T0002").any()


def test_undo_merge_restores_exactly_what_was_there(tmp_path):
    p = make_book(tmp_path / "crm.xlsx")
    run("dedupe", p)
    decide(p, {"T0001|T0002": "統合"})
    before = snapshot(p)
    r = run("merge", p)
    merge_id = r.counts["ids"]
    assert cli.main(["undo", str(p), "--merge", merge_id]) == 0
    after = snapshot(p)
    for name in before:
        assert before[name].equals(after[name][list(before[name].columns)]), name
    with open_book(p) as b:
        hist = b.read_raw("統合履歴")
    assert hist["取消"].notna().all()
    assert cli.main(["undo", str(p), "--merge", merge_id]) != 0  # already undone


def test_master_rule_from_settings(tmp_path):
    p = make_book(tmp_path / "crm.xlsx")
    add_settings(p, [["統合の主レコード", "登録日が古い", ""]])
    run("dedupe", p)
    decide(p, {"T0001|T0002": "統合"})
    run("merge", p)
    cust = snapshot(p)["顧客"].set_index("顧客ID")
    assert "T0001" in cust.index and "T0002" not in cust.index  # T0001 was registered first
    assert cust.loc["T0001", "スタッフメモ"] == "要フォロー"  # the absorbed record's staff column is kept


def test_a_chain_through_a_pair_decided_different_is_not_merged():
    ok, held = merge.groups_from_decisions([("A", "B"), ("B", "C"), ("D", "E")], {frozenset(("A", "C"))})
    assert ok == [["D", "E"]] and held == [["A", "B", "C"]]


def test_nothing_decided_changes_nothing(tmp_path):
    p = make_book(tmp_path / "crm.xlsx")
    run("dedupe", p)
    before = snapshot(p)
    r = run("merge", p)
    assert r.counts["groups"] == 0
    after = snapshot(p)
    assert all(before[n].equals(after[n]) for n in before)


def test_undo_of_two_merges_in_reverse_order_restores_rows_in_place():
    cust = pd.DataFrame({"顧客ID": ["A", "B", "C", "D", "E"], "氏名": ["a", None, "c", "d", None],
                         "登録日": [dt.datetime(2020, 1, i) for i in range(1, 6)], "備考": [None, "x", "y", None, "z"]},
                        index=range(2, 7))
    orders = pd.DataFrame({"注文ID": ["O1", "O2", "O3"], "顧客ID": ["B", "D", "E"], "注文日": [dt.datetime(2024, 1, 1)] * 3,
                           "金額": [1.0, 2.0, 3.0]}, index=range(2, 5))
    now = dt.datetime(2024, 6, 1)
    c1, o1, _, h1 = merge.apply([("A", ["B"])], cust, orders, None, merge_id="M1", now=now)
    c2, o2, _, h2 = merge.apply([("C", ["E", "D"])], c1.reset_index(drop=True).set_axis(range(2, 2 + len(c1))),
                                o1, None, merge_id="M2", now=now)
    assert list(c2["顧客ID"]) == ["A", "C"] and list(o2["顧客ID"]) == ["A", "C", "C"]
    assert c2.set_index("顧客ID").loc["C", "備考"] == "y\n[E] z"
    hist = pd.concat([h1, h2], ignore_index=True)
    c3, o3, _, n = merge.undo("M2", c2.reset_index(drop=True).set_axis(range(2, 4)), o2, None, hist)
    c4, o4, _, _ = merge.undo("M1", c3, o3, None, hist)
    assert n == 2
    assert c4.reset_index(drop=True).equals(cust.reset_index(drop=True))
    assert o4.equals(orders)


def test_undo_without_an_id_takes_the_latest_merge(tmp_path, capsys):
    p = make_book(tmp_path / "crm.xlsx")
    run("dedupe", p)
    before = snapshot(p)
    decide(p, {"T0001|T0002": "統合"})
    run("merge", p)
    assert cli.main(["--lang", "en", "undo", str(p), "--merge"]) == 0
    assert "undone (1 customer record(s) restored)" in capsys.readouterr().out
    after = snapshot(p)
    assert before["注文"].equals(after["注文"]) and set(after["顧客"]["顧客ID"]) == set(before["顧客"]["顧客ID"])
    assert cli.main(["undo", str(p), "--merge"]) == 0  # nothing left: says so, changes nothing
