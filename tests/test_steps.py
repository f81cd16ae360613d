"""Timed steps (ステップメール): the day 3 / 14 / 25 chain day by day, stopping when the customer orders, staff edits
kept, coupons per customer and their redemption, bad ステップ cells named, and the sheets as written to a file."""
from __future__ import annotations

import datetime as dt

import openpyxl
import pandas as pd
import pytest

from xlcrm import followup as fu
from xlcrm import schema
from xlcrm import steps as st
from xlcrm.jobs import run
from xlcrm.messages import BadInput

from conftest import add_table, sheet
from fu_data import customers, orders

D0 = pd.Timestamp("2024-06-01")          # everyone's first order


def day(n: int) -> pd.Timestamp:
    return D0 + pd.Timedelta(days=n)


def shop(extra_orders=()):
    cust = customers([
        dict(customer_id="A", name="青木 一", email="a@example.jp", mail_ok="可"),
        dict(customer_id="B", name="馬場 二", email="b@example.jp", mail_ok="可"),
        # mail consent blank, no address: only the service step (お礼) may be mailed
        dict(customer_id="N", name="野村 三", email="n@example.jp"),
    ])
    rows = [("o1", "A", D0, 5000, None), ("o2", "B", D0, 4000, None), ("o3", "N", D0, 3000, None),
            *extra_orders]
    return cust, orders(rows)


class Day:
    """The list as staff keep it, refreshed day by day like the followup job does with the step rows."""

    def __init__(self, cust, ords, chains=None):
        self.cust, self.ords, self.chains = cust, ords, chains or st.parse_steps(None)
        self.list = None

    def refresh(self, n: int):
        as_of = day(n)
        prog = st.progress(self.chains, self.cust, self.ords, as_of)
        gen = st.candidates(self.chains, prog, self.cust, as_of)
        now = as_of + pd.Timedelta(hours=9)
        notes = st.closing_notes(self.list, self.chains, prog, now)
        self.list, counts = fu.refresh(self.list, gen, now, notes=notes)
        return counts

    def rows(self, customer):
        d = self.list[self.list["customer_id"].eq(customer)]
        return {r.follow_id.rsplit(":", 1)[1]: (r.status, r.memo) for r in d.itertuples()}

    def set(self, fid, **kw):
        for k, v in kw.items():
            self.list.loc[self.list["follow_id"].eq(fid), k] = v


def test_the_day_3_14_25_chain_moves_on_and_stops_when_the_customer_orders():
    cust, ords = shop([("o4", "A", day(20), 6000, None)])          # A orders again on day 20
    s = Day(cust, ords)
    s.refresh(2)
    assert s.list.empty                                                # nothing before day 3
    s.refresh(3)
    assert s.rows("A") == {"1": ("未着手", "")} and s.rows("B") == {"1": ("未着手", "")}
    row = s.list.set_index("follow_id").loc["step:F2:A:20240601:1"]
    assert row["reason"] == "ステップF2 1/3段目「お礼」: 初回購入(2024-06-01)から3日"
    assert row["due"] == day(7) and row["channel"] == "メール" and row["coupon"] == ""
    s.set("step:F2:B:20240601:1", status="完了", memo="お礼状送付")
    s.refresh(13)
    assert s.rows("A") == {"1": ("未着手", "")}                        # still the お礼 step
    s.refresh(14)                                                      # 使い方 comes: お礼 closes as superseded
    assert s.rows("A") == {"1": ("不要", "次の段「使い方」に進んだため終了(2024-06-15)"), "2": ("未着手", "")}
    assert s.rows("B") == {"1": ("完了", "お礼状送付"), "2": ("未着手", "")}   # completed stays completed
    s.refresh(20)                                                      # A's order of day 20 stops A's chain
    assert s.rows("A")["2"] == ("不要", "ご注文(2024-06-21)があったためステップ終了(2024-06-21)")
    s.refresh(25)
    assert "3" not in s.rows("A")                                      # no coupon after ordering
    assert s.rows("B")["3"] == ("未着手", "") and s.rows("B")["2"][0] == "不要"
    b3 = s.list.set_index("follow_id").loc["step:F2:B:20240601:3"]
    assert (b3["coupon"], b3["priority"], b3["due"]) == ("F2-B", 2.0, day(32))
    s.refresh(55)                                                      # last step: on the list 30 days
    assert s.rows("B")["3"][0] == "未着手"
    s.refresh(56)
    assert s.rows("B")["3"] == ("不要", "ステップの期間が終わったため終了(2024-07-27)")


def test_switching_a_chain_off_closes_its_open_rows_and_gives_the_rules_back():
    cust, ords = shop()
    s = Day(cust, ords)
    s.refresh(3)
    s.set("step:F2:A:20240601:1", status="対応中", memo="下書き中")
    s.chains = st.parse_steps(st.default_steps().assign(enabled=pd.array([False] * 3, dtype="boolean")))
    s.refresh(4)
    assert s.rows("A") == {"1": ("不要", "下書き中 / ステップ停止のため自動終了(2024-06-05)")}
    assert s.rows("B")["1"][0] == "不要"
    assert st.covered(s.chains, st.progress(s.chains, cust, ords, day(4))) == {}


def test_opt_outs_service_step_needs_no_consent_but_a_coupon_always_does():
    cust, ords = shop()
    s = Day(cust, ords)
    s.refresh(3)
    assert s.rows("N") == {"1": ("未着手", "")}                       # お礼 is 案内: a blank メール可否 is enough
    s.refresh(14)
    assert s.rows("N")["1"][0] == "不要" and "2" not in s.rows("N")   # 使い方 is 販促: no consent, no row
    # a coupon makes a step advertising even when staff call it 案内
    steps = st.default_steps()
    steps.loc[0, "coupon"] = "THANKS-{顧客ID}"
    s2 = Day(cust, ords, st.parse_steps(steps))
    s2.refresh(3)
    assert "N" not in set(s2.list["customer_id"]) and s2.rows("A")["1"][0] == "未着手"
    gen = st.candidates(s2.chains, st.progress(s2.chains, cust, ords, day(3)), cust, day(3))
    assert gen.attrs["skipped_optout"] == 1


def test_coupon_templates_expand_per_customer_and_bad_placeholders_are_refused():
    assert st.expand_coupon(st.check_coupon("F2-{顧客ID}-{起点日}"), "C0001", "F2", 3, day(0)) == "F2-C0001-20240601"
    assert st.expand_coupon(st.check_coupon("｛チェーンID｝{段目}-{customer_id}"), "X", "W", 2, day(0)) == "W2-X"
    for bad in ("F2-{名前}", "F2-{顧客ID", "F2-顧客ID}", "{}"):
        with pytest.raises(ValueError):
            st.check_coupon(bad)


def test_a_chain_replaces_the_thanks_and_f2_rules_for_its_customers():
    cust, ords = shop()
    chains = st.parse_steps(None)
    prog = st.progress(chains, cust, ords, day(25))
    cover = st.covered(chains, prog)
    assert cover == {"thanks": {"A", "B", "N"}, "f2": {"A", "B", "N"}}


def test_progress_report_counts_rows_orders_and_coupon_redemptions():
    cust, ords = shop([("o4", "A", day(20), 6000, None),
                       ("o5", "B", day(30), 4000, None)])
    ords["coupon"] = ["", "", "", "", "f2-b"]        # B orders with the coupon (typed in lower case) on day 30
    s = Day(cust, ords)
    for n in (3, 14, 20, 25, 40):
        s.refresh(n)
    prog = st.progress(s.chains, cust, ords, day(40))
    rep = st.report(s.chains, prog, s.list, ords, day(40)).set_index("step")
    # お礼: A, B, N reached; 使い方: A, B (N has no consent); F2クーポン: B only (A ordered on day 20)
    assert list(rep["reached"]) == [3, 2, 1]
    assert list(rep["ordered"]) == [0, 1, 1]           # A stopped during 使い方, B during F2クーポン
    assert (rep.loc[3, "issued"], rep.loc[3, "redeemed"]) == (1, 1)
    assert list(rep["closed"]) == [3, 2, 1] and rep["open"].sum() == 0
    # the same order 31 days after the coupon step is no redemption
    late = ords.assign(order_date=ords["order_date"].where(ords["order_id"].ne("o5"), day(56)))
    rep2 = st.report(s.chains, st.progress(s.chains, cust, late, day(60)), s.list, late, day(60))
    assert rep2.set_index("step").loc[3, "redeemed"] == 0
    summ = st.summary(s.chains, prog)
    assert summ.iloc[0][["waiting", "active", "stopped", "span"]].tolist() == [0, 1, 2, 55]


def test_the_steps_ordered_add_up_to_the_chains_when_the_list_never_saw_the_orders():
    """The demo's ステップ状況 said 注文で終了 5 on the chain and 0 on every step: the steps counted only rows on
    the list, and the list had never been refreshed while those customers stood at a step."""
    cust, ords = shop([("o4", "A", day(1), 6000, None),     # A orders again before the first step (day 3)
                       ("o5", "B", day(20), 4000, None)])   # B during 使い方 (day 14-24)
    s = Day(cust, ords)
    s.refresh(40)                                           # the list's first refresh: day 40
    prog = st.progress(s.chains, cust, ords, day(40))
    rep = st.report(s.chains, prog, s.list, ords, day(40))
    summ = st.summary(s.chains, prog)
    assert summ["stopped"].tolist() == [2]
    assert rep["ordered"].tolist() == [0, 1, 0] and rep.attrs["ordered_before"] == {"F2": 1}
    assert rep["ordered"].sum() + rep.attrs["ordered_before"]["F2"] == summ["stopped"].sum()
    assert rep["entered"].tolist() == [2, 2, 1]             # B and N reached 使い方; only N F2クーポン
    # a customer whose chain ended long ago counts on neither side
    late = st.progress(s.chains, cust, ords, day(400))
    assert st.summary(s.chains, late)["stopped"].sum() == 0 == st.report(s.chains, late, s.list, ords,
                                                                         day(400))["ordered"].sum()


def test_the_steps_sheet_shows_steps_adding_up_to_the_chain(tmp_path):
    path = make_book(tmp_path / "CRM.xlsx")
    set_cells(path, "注文", {"C5": dt.datetime(2024, 6, 2)})        # A's second order: day 1, before step 1
    run("followup", path, as_of="2024-07-05")                      # the list's first refresh
    rep = run("steps", path, as_of="2024-07-05")
    rows = list(openpyxl.load_workbook(path)["ステップ状況"].iter_rows(values_only=True))
    chain = next(r for r in rows if r[0] == "F2")
    head = rows.index(next(r for r in rows if r[0] == "段目"))
    steps = rows[head + 1:head + 5]
    assert [r[1] for r in steps] == ["1段目の前", "お礼", "使い方", "F2クーポン"]
    assert [r[7] for r in steps] == [1, 0, 0, 1] and chain[6] == 2 == rep.counts["ordered"]
    assert sum(r[7] for r in steps) == chain[6]


def test_registration_chain_for_prospects():
    cust = customers([dict(customer_id="P", kind="見込み", name="見込 太", phone="0311112222",
                           registered_on="2024-06-01"),
                      dict(customer_id="Q", kind="見込み", name="見込 花", phone="0311113333",
                           registered_on="2024-06-01")])
    ords = orders([("o1", "Q", day(5), 3000, None)])
    chains = st.parse_steps(pd.DataFrame([dict(chain="P1", step=1.0, trigger="登録", days=7.0, name="電話",
                                               channels="電話", enabled=pd.NA)]))
    prog = st.progress(chains, cust, ords, day(7)).set_index("customer_id")
    assert prog.loc["P", "state"] == "active" and prog.loc["Q", "state"] == "stopped"
    gen = st.candidates(chains, prog.reset_index(), cust, day(7))
    assert list(gen["follow_id"]) == ["step:P1:P:20240601:1"] and gen["channel"].iloc[0] == "電話"
    assert st.covered(chains, prog.reset_index()) == {"prospect": {"P"}}


# --- the jobs on a real workbook ------------------------------------------------------------------------------------

def make_book(path, *, with_coupon=True):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "顧客"
    add_table(ws, "顧客", [["顧客ID", "氏名", "メール", "メール可否", "住所"],
                          ["A", "青木 一", "a@example.jp", "可", ""],
                          ["B", "馬場 二", "b@example.jp", "可", "東京都"],
                          ["N", "野村 三", "n@example.jp", "", ""]])
    head = ["注文ID", "顧客ID", "注文日", "金額"] + (["クーポン"] if with_coupon else [])
    rows = [["O1", "A", dt.datetime(2024, 6, 1), 5000], ["O2", "B", dt.datetime(2024, 6, 1), 4000],
            ["O3", "N", dt.datetime(2024, 6, 1), 3000], ["O4", "A", dt.datetime(2024, 6, 21), 6000],
            ["O5", "B", dt.datetime(2024, 7, 1), 4000]]
    if with_coupon:
        rows = [r + [c] for r, c in zip(rows, ["", "", "", "", "F2-B"])]
    add_table(wb.create_sheet("注文"), "注文", [head] + rows)
    add_table(wb.create_sheet("設定"), "設定", [["項目", "値"], ["担当者一覧", "山田、鈴木"]])
    wb.save(path)
    return path


def set_cells(path, name, values: dict):
    wb = openpyxl.load_workbook(path)
    for cell, v in values.items():
        wb[name][cell] = v
    wb.save(path)


def test_followup_job_creates_the_steps_sheet_and_puts_step_rows_with_coupons_on_the_list(tmp_path):
    path = make_book(tmp_path / "CRM.xlsx")
    r = run("followup", path, as_of="2024-06-04")
    steps = sheet(path, "ステップ")
    assert list(steps.columns[:8]) == ["チェーンID", "段目", "起点", "日数", "名称", "推奨アクション", "チャネル",
                                       "クーポン"]
    assert steps["日数"].tolist() == [3, 14, 25] and steps["クーポン"].tolist()[2] == "F2-{顧客ID}"
    lst = sheet(path, "フォローリスト")
    assert list(lst.columns[:6]) == ["顧客ID", "氏名", "理由", "推奨アクション", "クーポン", "チャネル"]
    assert sorted(lst["フォローID"]) == ["ステップ:F2:A:20240601:1", "ステップ:F2:B:20240601:1", "ステップ:F2:N:20240601:1"]
    assert set(lst["ルール"]) == {"ステップF2"}          # the thanks rule is covered by the chain: no double お礼
    assert r.counts["step_rows"] == 3 and "うちステップ該当3件" in r.summary_ja
    # staff work the list; the next step comes on day 25 for B (A ordered on day 20)
    wb = openpyxl.load_workbook(path)
    ws = wb["フォローリスト"]
    heads = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        if row[heads.index("フォローID")].value == "ステップ:F2:B:20240601:1":
            row[heads.index("状態")].value, row[heads.index("結果メモ")].value = "完了", "お礼メール済"
            row[heads.index("担当者")].value = "鈴木"
    wb.save(path)
    run("followup", path, as_of="2024-06-26")
    lst = sheet(path, "フォローリスト").set_index("フォローID")
    assert tuple(lst.loc["ステップ:F2:B:20240601:1", ["状態", "結果メモ", "担当者"]]) == ("完了", "お礼メール済", "鈴木")
    assert lst.loc["ステップ:F2:B:20240601:3", "クーポン"] == "F2-B"
    assert lst.loc["ステップ:F2:A:20240601:1", "状態"] == "不要"
    assert "ご注文(2024-06-21)" in lst.loc["ステップ:F2:A:20240601:1", "結果メモ"]
    hist = sheet(path, "対応履歴")
    assert "ステップF2" in hist.iloc[-1]["内容"]        # the completed step row went to 対応履歴 once
    # the report sheet: B redeemed F2-B on 7/1 (day 30)
    run("followup", path, as_of="2024-07-05")
    rep = run("steps", path, as_of="2024-07-05")
    # A ordered on day 20 (during 使い方, with no row for that step on the list), B on day 30
    assert (rep.counts["issued"], rep.counts["redeemed"], rep.counts["ordered"]) == (1, 1, 2)
    ws = openpyxl.load_workbook(path)["ステップ状況"]
    rows = [r for r in ws.iter_rows(values_only=True)]
    assert ws["A1"].value == "ステップ状況" and ws.max_column <= 9          # one page wide
    assert ws["A10"].value == "段ごとの状況: F2"
    steps = [r for r in rows if r[1] in ("お礼", "使い方", "F2クーポン")]
    # お礼: rows for A, B, N (B's done); 使い方: no row (on 6/26 A had ordered, B and N were past it);
    # F2クーポン: B's row, closed when B ordered on 7/1; N stands at step 3 with no row (no consent, no address)
    # 注文で終了 counts the chain's customers whether the list reached them or not (A had no 使い方 row), and
    # 注文率 is of those whose step day came: 使い方 1 of A, B, N; F2クーポン 1 of B, N
    assert steps[0][:9] == (1, "お礼", 3, 0, 3, 0, 1, 0, 0)
    assert steps[1][:9] == (2, "使い方", 14, 0, 0, 0, 0, 1, pytest.approx(1 / 3))
    assert steps[2][:9] == (3, "F2クーポン", 25, 1, 1, 0, 0, 1, 0.5)
    assert steps[3][:7] == ("F2", "F2クーポン", 3, 1, 1, 1, "F2-{顧客ID}")       # the coupon block
    assert ws.cell(rows.index(steps[2]) + 1, 9).number_format == "0.0%"


def test_bad_step_cells_are_named_and_nothing_is_written(tmp_path):
    path = make_book(tmp_path / "CRM.xlsx")
    run("followup", path, as_of="2024-06-04")
    before = sheet(path, "フォローリスト")
    # row 2: unknown trigger, row 3: days not a number, row 4: step number of row 2, unknown channel, bad coupon
    set_cells(path, "ステップ", {"C2": "購入後", "D3": "十四日", "B4": 1, "G4": "FAX", "H4": "F2-{名前}"})
    with pytest.raises(BadInput) as e:
        run("followup", path, as_of="2024-06-26")
    assert [p.cell for p in e.value.problems] == ["D3"]          # the sheet's own type check comes first
    set_cells(path, "ステップ", {"D3": 14})
    with pytest.raises(BadInput) as e:
        run("followup", path, as_of="2024-06-26")
    assert sorted((p.cell, p.key) for p in e.value.problems) == [
        ("B4", "st_dup_step"), ("C2", "bad_choice"), ("G4", "fu_bad_channel"), ("H4", "st_bad_placeholder")]
    msg = e.value.message("ja")
    assert "シート「ステップ」2行目 列「起点」(C2)" in msg and "{顧客ID}" in msg
    assert "Step" not in msg and "FAX" not in msg                   # no cell values echoed
    pd.testing.assert_frame_equal(sheet(path, "フォローリスト"), before)
    with pytest.raises(BadInput):
        run("steps", path, as_of="2024-06-26")


def test_an_old_list_without_the_coupon_column_still_refreshes(tmp_path):
    path = make_book(tmp_path / "CRM.xlsx", with_coupon=False)
    run("followup", path, as_of="2024-06-04")
    edit = sheet(path, "フォローリスト")
    assert "クーポン" in edit.columns
    drop_column(path, "フォローリスト", "クーポン")          # the list as it was before クーポン existed
    wb = openpyxl.load_workbook(path)
    ws = wb["フォローリスト"]
    heads = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        if row[heads.index("顧客ID")].value == "B":
            row[heads.index("結果メモ")].value = "電話済"
    wb.save(path)
    run("followup", path, as_of="2024-06-26")
    new = sheet(path, "フォローリスト")
    assert new.columns[-1] == "クーポン" and list(new.columns[:4]) == ["顧客ID", "氏名", "理由", "推奨アクション"]
    new = new.set_index("フォローID")
    assert new.loc["ステップ:F2:B:20240601:3", "クーポン"] == "F2-B"
    assert new.loc["ステップ:F2:B:20240601:1", "結果メモ"].startswith("電話済")
    r = run("steps", path, as_of="2024-07-05")     # orders without a クーポン column: nothing redeemed
    assert (r.counts["issued"], r.counts["redeemed"]) == (1, 0)


def drop_column(path, name, header):
    """The sheet as staff made it before `header` existed: rebuilt without that column."""
    df = sheet(path, name).drop(columns=[header])
    wb = openpyxl.load_workbook(path)
    del wb[name]
    add_table(wb.create_sheet(name), name,
              [list(df.columns)] + df.astype(object).where(df.notna(), None).values.tolist())
    wb.save(path)


def test_an_english_headed_old_list_gets_an_english_coupon_header(tmp_path):
    path = make_book(tmp_path / "CRM.xlsx")
    over = {"lang": "en", "header_lang": "en"}
    run("followup", path, as_of="2024-06-04", overrides=over)
    assert "step chain F2, step 1 of 3 'お礼': 3 days after first order (2024-06-01)" in set(
        sheet(path, "フォローリスト")["reason"])
    drop_column(path, "フォローリスト", "coupon")
    run("followup", path, as_of="2024-06-26", overrides=over)
    lst = sheet(path, "フォローリスト").set_index("follow_id")
    assert lst.columns[-1] == "coupon" and lst.loc["step:F2:B:20240601:3", "coupon"] == "F2-B"


def test_each_kind_of_bad_step_row_names_its_cell():
    head = ["チェーンID", "段目", "起点", "日数", "名称", "チャネル", "クーポン", "区分"]
    raw = pd.DataFrame([
        ["A:1", 1, "", 3, "x", "メール", "", ""],             # ':' in the chain ID
        ["B", 0, "", 3, "x", "メール", "", ""],               # step 0
        ["C", 1, "", -1, "x", "メール", "", ""],              # negative days
        ["D", 1, "初回購入", 3, "x", "メール", "", ""],
        ["D", 2, "登録", 14, "x", "メール", "", ""],          # a second trigger in chain D
        ["E", 1, "", 14, "x", "メール", "", ""],
        ["E", 2, "", 10, "x", "メール", "", "広報"],          # earlier than step 1; unknown 区分
        ["F", 1, "", 3, "x", "", "", ""],                     # no channel
    ], columns=head, index=range(2, 10))
    raw.attrs["letters"] = {h: chr(65 + i) for i, h in enumerate(head)}
    with pytest.raises(BadInput) as e:
        st.parse_steps(schema.conform(raw, st.STEPS_TABLE))
    assert sorted((p.cell, p.key) for p in e.value.problems) == [
        ("A2", "st_bad_chain"), ("B3", "st_bad_step"), ("C6", "st_mixed_trigger"), ("D4", "st_bad_days"),
        ("D8", "st_days_order"), ("F9", "fu_bad_channel"), ("H8", "bad_choice")]


def test_cli_steps_in_japanese_and_english(tmp_path, capsys):
    from xlcrm.cli import main
    path = make_book(tmp_path / "CRM.xlsx")
    assert main(["followup", str(path), "--as-of", "2024-06-26"]) == 0
    capsys.readouterr()
    assert main(["steps", str(path), "--as-of", "2024-07-05"]) == 0
    assert "ステップ状況を更新: 1チェーン" in capsys.readouterr().out
    assert main(["--lang", "en", "steps", str(path), "--as-of", "2024-07-05"]) == 0
    assert "1 of 1 coupons redeemed" in capsys.readouterr().out
    set_cells(path, "ステップ", {"G2": "FAX"})
    assert main(["steps", str(path)]) == 2
    assert "G2" in capsys.readouterr().err


def test_schema_reads_a_coupon_column_on_orders():
    raw = pd.DataFrame({"注文ID": ["O1"], "顧客ID": ["A"], "注文日": ["2024-06-01"], "金額": [100],
                        "クーポンコード": ["F2-A"]}, index=[2])
    assert schema.conform(raw, "orders")["coupon"].tolist() == ["F2-A"]
