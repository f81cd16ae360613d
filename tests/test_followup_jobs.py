"""The follow-up jobs on a real workbook file: refresh keeps staff edits, 完了 goes to 対応履歴 once,
contacts recorded from the card form, the customer card, campaigns and their report."""
from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from xlcrm import followup
from xlcrm.jobs import run
from xlcrm.jobs.followup import TIMELINE_ROW, campaign_report, customer_card
from xlcrm.messages import BadInput

from conftest import sheet


def edit(path, name, key_header, key, **values):
    """Type into a sheet like a clerk: set cells of the row whose `key_header` is `key`."""
    wb = openpyxl.load_workbook(path)
    ws = wb[name]
    headers = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        if row[headers.index(key_header)].value == key:
            for h, v in values.items():
                if h not in headers:   # typing beside an Excel table extends it
                    headers.append(h)
                    ws.cell(1, len(headers), h)
                    for t in ws.tables.values():
                        from openpyxl.utils import get_column_letter
                        first, last = t.ref.split(":")
                        t.ref = first + ":" + get_column_letter(len(headers)) + "".join(
                            ch for ch in last if ch.isdigit())
                        from openpyxl.worksheet.table import TableColumn
                        t.tableColumns.append(TableColumn(id=len(headers), name=h))
                        if t.autoFilter is not None:
                            t.autoFilter.ref = t.ref
                ws.cell(row[0].row, headers.index(h) + 1, v)
    wb.save(path)


def test_followup_job_writes_the_list_and_rules_and_keeps_staff_edits(book_path):
    r = run("followup", book_path)
    assert r.counts["new"] >= 2
    lst = sheet(book_path, "フォローリスト")
    assert list(lst.columns[:13]) == ["顧客ID", "氏名", "理由", "推奨アクション", "クーポン", "チャネル", "優先度",
                                      "期限", "担当者", "状態", "結果メモ", "作成日時", "フォローID"]
    keys = set(lst["フォローID"])
    assert "クレーム:C0002:K1" in keys and "見込み:C0003:なし" in keys   # Japanese mode: no English rule ids
    assert set(lst["ルール"]) >= {"クレームの折り返し", "見込み顧客のフォロー"}
    rules = sheet(book_path, "ルール")
    assert len(rules) == len(followup.RULES) and set(rules["有効"]) == {"○"}
    assert set(rules["ルールID"]) == set(followup.RULE_KEYS_JA.values())
    assert set(lst["担当者"]) <= {"山田", "鈴木"}
    # a clerk works the list: closes the complaint, adds a note and a column of her own
    edit(book_path, "フォローリスト", "フォローID", "クレーム:C0002:K1", 状態="完了", 結果メモ="謝罪し再送",
         担当者="鈴木", 私のメモ="次回は午前")
    r2 = run("followup", book_path)
    assert r2.counts["recorded"] == 1 and r2.counts["new"] == 0
    lst2 = sheet(book_path, "フォローリスト").set_index("フォローID")
    row = lst2.loc["クレーム:C0002:K1"]
    assert (row["状態"], row["結果メモ"], row["担当者"], row["私のメモ"]) == ("完了", "謝罪し再送", "鈴木", "次回は午前")
    assert row["履歴ID"].startswith("R")   # 対応履歴's prefix, never a customer's C
    hist = sheet(book_path, "対応履歴")
    assert len(hist) == 2 and hist.iloc[-1]["種別"] == "フォロー" and "謝罪し再送" in hist.iloc[-1]["内容"]
    assert "クレームの折り返し" in hist.iloc[-1]["内容"] and "complaint" not in hist.iloc[-1]["内容"]
    r3 = run("followup", book_path)
    assert r3.counts["recorded"] == 0 and len(sheet(book_path, "対応履歴")) == 2
    # the 状態 and 担当者 (設定's 担当者一覧) drop-downs and the overdue tint are there once, however often the list
    # is refreshed
    ws = openpyxl.load_workbook(book_path)["フォローリスト"]
    lists = sorted((str(v.sqref), v.formula1) for v in ws.data_validations.dataValidation if v.type == "list")
    assert lists == [(f"I2:I{ws.max_row}", '"山田,鈴木"'), (f"J2:J{ws.max_row}", '"未着手,対応中,完了,不要"')]
    rules = [r for rs in ws.conditional_formatting._cf_rules.values() for r in rs]
    assert len(rules) == 1 and "TODAY()" in rules[0].formula[0]


def test_bad_rule_parameter_stops_before_anything_is_written(book_path):
    run("followup", book_path)
    edit(book_path, "ルール", "ルールID", "F2", パラメータ="開始日数=二十")
    before = sheet(book_path, "フォローリスト")
    with pytest.raises(BadInput) as e:
        run("followup", book_path)
    assert e.value.problems[0].cell == "D3"
    pd.testing.assert_frame_equal(sheet(book_path, "フォローリスト"), before)


def test_record_contact_from_the_card_form_and_the_timeline(book_path):
    r = run(customer_card, book_path, customer="C0002")
    assert r.counts["timeline"] >= 2
    wb = openpyxl.load_workbook(book_path)
    ws = wb["顧客カルテ"]
    assert ws["B2"].value == "C0002" and ws["B3"].value == "佐藤 花子"
    assert ws["D2"].value == "種別" and ws.cell(TIMELINE_ROW + 1, 1).value == "日付"
    kinds = [ws.cell(r, 2).value for r in range(TIMELINE_ROW + 2, TIMELINE_ROW + 2 + r.counts["timeline"])]
    assert "クレーム" in kinds and "注文" in kinds
    # the clerk fills the form and presses the ribbon button (no arguments)
    ws["E2"], ws["E3"], ws["E4"] = "問い合わせ", "定期の解約方法の問い合わせ", "山田"
    wb.save(book_path)
    r2 = run("record_contact", book_path)
    hist = sheet(book_path, "対応履歴")
    new = hist.iloc[-1]
    assert (new["顧客ID"], new["種別"], new["担当者"], new["状態"]) == ("C0002", "問い合わせ", "山田", "完了")
    ws = openpyxl.load_workbook(book_path)["顧客カルテ"]
    assert ws["E2"].value is None and ws["E3"].value is None          # the form is cleared
    assert ws.cell(TIMELINE_ROW + 2, 3).value == "定期の解約方法の問い合わせ"   # newest first on the timeline
    assert r2.counts["contact_id"] == new["対応ID"] and new["対応ID"].startswith("R")   # never C…, a customer's prefix


def test_record_contact_rejects_unknown_customer_and_type(book_path):
    with pytest.raises(BadInput) as e:
        run("record_contact", book_path, customer="C9999", type="雑談", summary="x")
    keys = sorted(p.key for p in e.value.problems)
    assert keys == ["bad_choice", "unknown_customer"]


def test_a_call_is_recorded_though_a_cell_it_does_not_need_is_typed_wrong(book_path):
    wb = openpyxl.load_workbook(book_path)
    wb["顧客"].cell(3, 8, "そのうち聞く")                # C0002's 生年月日: not a date
    wb.save(book_path)
    r = run("record_contact", book_path, customer="C0002", type="フォロー", summary="折り返し済み")
    assert sheet(book_path, "対応履歴").iloc[-1]["対応ID"] == r.counts["contact_id"]


def test_complaint_recorded_open_appears_as_callback_after_n_days(book_path):
    run("record_contact", book_path, customer="C0001", type="クレーム", summary="届かない", at="2024-06-20 10:00")
    r = run("followup", book_path)
    keys = set(sheet(book_path, "フォローリスト")["フォローID"])
    new_id = sheet(book_path, "対応履歴").iloc[-1]["対応ID"]
    assert f"クレーム:C0001:{new_id}" in keys and r.counts["new"] >= 3


def test_campaign_holds_out_a_seeded_control_group_and_reports(book_path):
    r = run("followup", book_path, overrides={"control_pct": 50.0}, campaign="CP1", rules="prospect,complaint")
    assert r.counts["treated"] + r.counts["control"] == 2
    camp = sheet(book_path, "キャンペーン").iloc[0]
    assert camp["キャンペーンID"] == "CP1" and camp["対照群(%)"] == 50 and camp["乱数シード"] > 0
    members = sheet(book_path, "キャンペーン対象")
    assert set(members["群"]) == {"対象", "対照"}
    control = members.loc[members["群"].eq("対照"), "顧客ID"].iloc[0]
    lst = sheet(book_path, "フォローリスト")
    assert control not in set(lst["顧客ID"])                   # the control group is not contacted
    assert set(lst["キャンペーンID"].dropna()) == {"CP1"}
    # an everyday refresh while the campaign runs does not reach the control group either
    run("followup", book_path)
    assert control not in set(sheet(book_path, "フォローリスト")["顧客ID"])
    with pytest.raises(BadInput):
        run("followup", book_path, campaign="CP1", rules="prospect")
    rep = run(campaign_report, book_path, campaign="CP1")
    assert rep.counts["result"]["treated"]["n"] + rep.counts["result"]["control"]["n"] == 2
    ws = openpyxl.load_workbook(book_path)["キャンペーン結果"]
    assert ws["A1"].value.startswith("キャンペーン CP1") and ws["A2"].value == "項目"


def test_cli_commands_of_the_domain(book_path, tmp_path, capsys):
    from xlcrm.cli import main
    assert main(["contact", str(book_path), "--customer", "C0001", "--type", "クレーム", "--summary", "破損",
                 "--staff", "山田", "--at", "2024-06-25"]) == 0
    assert "対応履歴に記録しました" in capsys.readouterr().out
    assert main(["followup", str(book_path), "--as-of", "2024-06-30"]) == 0
    assert "フォローリストを更新" in capsys.readouterr().out
    assert main(["--lang", "en", "followup", str(book_path), "--campaign", "CP9", "--rules", "prospect",
                 "--control-pct", "0", "--seed", "5"]) == 0
    assert "Campaign 'CP9': 1 contacted, 0 held out (seed 5)" in capsys.readouterr().out
    assert main(["campaign-report", str(book_path), "--campaign", "CP9"]) == 0
    assert "購入率" in capsys.readouterr().out
    assert main(["card", str(book_path), "--customer", "C0001"]) == 0
    assert main(["dashboard", str(book_path)]) == 0
    assert main(["report", str(book_path), "--out", str(tmp_path / "png")]) == 0
    assert (tmp_path / "png" / "revenue.png").exists()
    capsys.readouterr()
    assert main(["contact", str(book_path), "--customer", "C0001", "--type", "雑談", "--summary", "x"]) == 2
    err = capsys.readouterr().err
    assert "次のいずれかで入力してください: 問い合わせ / クレーム" in err and "雑談" not in err   # no cell values echoed
    assert main(["campaign-report", str(book_path), "--campaign", "NOPE"]) == 2


def test_english_settings_give_english_headers_reasons_and_dashboard(book_path):
    over = {"lang": "en", "header_lang": "en"}
    run("followup", book_path, overrides=over)
    lst = sheet(book_path, "フォローリスト")
    assert list(lst.columns[:3]) == ["customer_id", "name", "reason"]
    assert "prospect: never contacted" in set(lst["reason"])
    edit(book_path, "フォローリスト", "follow_id", "prospect:C0003:none", status="完了")
    r = run("followup", book_path, overrides=over)               # English headers read back fine
    assert r.counts["recorded"] == 1
    run("dashboard", book_path, overrides=over)
    ws = openpyxl.load_workbook(book_path)["ダッシュボード"]
    assert ws["A1"].value == "Dashboard" and ws["A4"].value == "Customers"


def test_opening_another_customer_leaves_nothing_of_the_previous_card(book_path):
    run(customer_card, book_path, customer="C0001")
    ws = openpyxl.load_workbook(book_path)["顧客カルテ"]
    assert ws.cell(TIMELINE_ROW + 2, 2).value is not None
    run(customer_card, book_path, customer="C0003")     # a prospect: no orders, no contacts
    ws = openpyxl.load_workbook(book_path)["顧客カルテ"]
    assert ws["B2"].value == "C0003"
    assert all(ws.cell(r, c).value is None for r in range(TIMELINE_ROW + 2, 40) for c in range(1, 9))
    assert all(ws.cell(r, 2).value is None for r in range(10, 17))   # no RFM lines left from C0001


def test_no_cli_section_shadows_another_sections_helper():
    """Each domain writes its own section of cli.py; a second `def _x` silently replaces the first (this once
    made `xlcrm rfm --as-of` ignore the date)."""
    import ast
    from pathlib import Path

    import xlcrm.cli
    tree = ast.parse(Path(xlcrm.cli.__file__).read_text(encoding="utf-8"))
    names = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    assert sorted({n for n in names if names.count(n) > 1}) == []


def test_a_ルール_sheet_from_before_a_rule_existed_gets_its_row(book_path):
    run("followup", book_path)
    edit(book_path, "ルール", "ルールID", "お礼", 社内メモ="春に見直す", 有効="×")
    wb = openpyxl.load_workbook(book_path)          # an older book: no rows for the rules added since
    ws = wb["ルール"]
    ids = [c.value for c in ws["A"]]
    for rid in ("紹介", "低評価"):
        ws.delete_rows(ids.index(rid) + 1)
        ids.remove(rid)
    t = next(iter(ws.tables.values()))
    first, last = t.ref.split(":")
    t.ref = f"{first}:{''.join(ch for ch in last if ch.isalpha())}{len(ids)}"
    wb.save(book_path)
    r = run("followup", book_path)
    assert r.counts["rules_added"] == ["survey", "referral"]
    assert "ルールシートに新しいルール2件を追加しました(低評価のお詫び・ヒアリング、紹介特典の送付)" in r.summary("ja")
    rules = sheet(book_path, "ルール").set_index("ルールID")
    assert list(rules.index[-2:]) == ["低評価", "紹介"] and rules.loc["低評価", "有効"] == "○"
    assert rules.loc["お礼", "社内メモ"] == "春に見直す" and rules.loc["お礼", "有効"] == "×"   # staff's kept
    assert run("followup", book_path).counts["rules_added"] == []
