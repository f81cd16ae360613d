"""Customer journey funnel, channel analysis and store visits: hand-checked numbers on a six-customer shop, the
job on a workbook (ジャーニー sheet, 来店回数 / 最終来店日 on 顧客), bad input, the CLI, a demo workbook whose
tables must agree with its 注文 sheet, and the sheet as LibreOffice renders it."""
from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from xlcrm import journey as jr
from xlcrm import schema
from xlcrm.jobs import run
from xlcrm.messages import BadInput

from conftest import add_table

AS_OF = "2024-06-30"
# (order id, customer, date, channel, amount, 定期)
ORDER_ROWS = [
    ("O01", "A", "2024-01-05", "EC", 1000, ""),
    ("O02", "A", "2024-01-05", "EC", 500, ""),        # same day: one purchase, not F2
    ("O03", "A", "2024-02-10", "ＥＣ ", 1000, ""),     # full-width and a space: still EC
    ("O04", "B", "2024-01-20", "電話", 2000, "定期"),
    ("O05", "B", "2024-02-20", "電話", 2000, "定期"),  # two days + 定期 -> repeat
    ("O06", "C", "2024-02-01", "店舗", 3000, ""),
    ("O07", "C", "2024-03-01", "店舗", 3000, ""),
    ("O08", "C", "2024-03-01", "店舗", 500, ""),       # two receipts of one visit
    ("O09", "C", "2024-04-01", "EC", 3000, ""),
    ("O10", "C", "2024-05-01", "店舗", 1000, ""),
    ("O11", "D", "2024-02-15", "店舗", 1000, ""),
    ("O12", "F", "2024-07-10", "EC", 9999, ""),       # after the as-of date: F is still only a prospect
]
CUSTOMER_IDS = ["A", "B", "C", "D", "E", "F"]


def frames():
    c = pd.DataFrame({"customer_id": CUSTOMER_IDS, "name": [f"客{i}" for i in CUSTOMER_IDS]})
    c.index = range(2, 2 + len(c))
    o = pd.DataFrame(ORDER_ROWS, columns=["order_id", "customer_id", "order_date", "channel", "amount",
                                          "subscription"])
    o.index = range(2, 2 + len(o))
    return schema.conform(c, "customers"), schema.conform(o, "orders")


SCORED = pd.DataFrame({"customer_id": ["A", "B", "C", "D"], "segment": ["Loyal", "At risk", "Champions", "New"]})


def test_funnel_counts_conversion_and_drop_off_by_hand():
    c, o = frames()
    d = jr.build(c, o, AS_OF, SCORED)
    f = d["funnel"].set_index("step")
    # prospects A-F; bought: A B C D; F2: A B C; repeat: B (定期), C (4 days); top: C (Champions). A is Loyal
    # but has only two days and no 定期, so it never reaches the repeat step.
    assert f["customers"].tolist() == [6, 4, 3, 2, 1]
    assert f["drop_off"].iloc[1:].tolist() == [2, 1, 1, 1]
    np.testing.assert_allclose(f["conversion"].iloc[1:], [4 / 6, 3 / 4, 2 / 3, 1 / 2])
    np.testing.assert_allclose(f["overall"], [1, 4 / 6, 3 / 6, 2 / 6, 1 / 6])
    assert np.isnan(f.loc["prospect", "conversion"])


def test_funnel_by_first_order_month_and_acquisition_channel():
    c, o = frames()
    d = jr.build(c, o, AS_OF, SCORED, window_days=90)
    m = d["by_month"]
    assert m.loc["2024-01", ["first", "f2", "repeat", "top"]].tolist() == [2, 2, 1, 0]   # A, B
    assert m.loc["2024-02", ["first", "f2", "repeat", "top"]].tolist() == [2, 1, 1, 1]   # C, D
    assert m.loc["2024-02", "f2_rate"] == 0.5
    # February ends 2024-02-29; + 90 days = 2024-05-29, before the as-of date: complete
    assert m["complete"].tolist() == [True, True]
    assert jr.month_complete(pd.Index(["2024-03", "2024-04"]), AS_OF, 90).tolist() == [True, False]
    ch = d["by_channel"]
    assert ch.index.tolist() == ["店舗", "EC", "電話"]      # most first purchases first
    assert ch.loc["店舗", ["first", "f2", "repeat", "top"]].tolist() == [2, 1, 1, 1]
    assert ch.loc["EC", ["first", "f2", "repeat", "top"]].tolist() == [1, 1, 0, 0]
    assert ch.loc["電話", ["first", "f2", "repeat", "top"]].tolist() == [1, 1, 1, 0]


def test_channel_analysis_by_hand():
    c, o = frames()
    ch = jr.build(c, o, AS_OF, SCORED)["channels"]
    assert ch.index.tolist() == ["店舗", "EC", "電話"]      # by revenue
    assert ch.loc["店舗"].to_dict() == {"orders": 5, "revenue": 8500.0, "buyers": 2, "first_purchases": 2, "f2": 1,
                                       "f2_rate": 0.5, "repeaters": 1, "repeat_rate": 0.5}
    # EC: A on two days (a repeater through EC), C once; A was acquired by EC and bought again
    assert ch.loc["EC"].to_dict() == {"orders": 4, "revenue": 5500.0, "buyers": 2, "first_purchases": 1, "f2": 1,
                                     "f2_rate": 1.0, "repeaters": 1, "repeat_rate": 0.5}
    assert ch.loc["電話", ["orders", "revenue", "repeat_rate"]].tolist() == [2, 4000.0, 1.0]


def test_blank_channel_is_its_own_row_and_a_channel_without_first_purchases_has_no_f2_rate():
    c, o = frames()
    o.loc[o["order_id"] == "O11", "channel"] = ""
    o.loc[o["order_id"] == "O09", "channel"] = "紹介"
    ch = jr.build(c, o, AS_OF)["channels"]
    assert ch.loc[jr.NO_CHANNEL, "first_purchases"] == 1
    assert ch.loc["紹介", "first_purchases"] == 0 and np.isnan(ch.loc["紹介", "f2_rate"])


def test_returns_and_zero_rows_are_not_purchases_but_returns_reduce_revenue_and_are_visits():
    c, o = frames()
    extra = pd.DataFrame([("R1", "D", "2024-03-20", "店舗", -1000, ""), ("Z1", "A", "2024-03-01", "EC", 0, ""),
                          ("R2", "E", "2024-03-02", "EC", -500, "")],
                         columns=["order_id", "customer_id", "order_date", "channel", "amount", "subscription"])
    extra.index = range(100, 103)
    o = pd.concat([o, schema.conform(extra, "orders")])
    d = jr.build(c, o, AS_OF, SCORED)
    # D's return is no second purchase, A's ¥0 row no third day, E's return no first purchase
    assert d["funnel"]["customers"].tolist() == [6, 4, 3, 2, 1]
    ch = d["channels"]
    assert ch.loc["店舗", ["orders", "revenue"]].tolist() == [5, 7500.0]
    assert ch.loc["EC", ["orders", "buyers", "revenue"]].tolist() == [4, 2, 5000.0]
    assert jr.visits(c, o, AS_OF).set_index("customer_id").loc["D", "visit_count"] == 2


def test_store_visits_count_days_not_receipts():
    c, o = frames()
    v = jr.visits(c, o, AS_OF).set_index("customer_id")
    assert v["visit_count"].to_dict() == {"A": 0, "B": 0, "C": 3, "D": 1, "E": 0, "F": 0}
    assert v.loc["C", "last_visit"] == pd.Timestamp("2024-05-01")
    assert pd.isna(v.loc["A", "last_visit"])
    # an earlier as-of date sees fewer visits; another store channel name counts when configured
    assert jr.visits(c, o, "2024-03-31").set_index("customer_id").loc["C", "visit_count"] == 2
    assert jr.visits(c, o, AS_OF, store_channels=("店舗", "EC")).set_index("customer_id").loc["A", "visit_count"] == 2


def test_without_rfm_scores_nobody_is_top_and_without_orders_everyone_is_a_prospect():
    c, o = frames()
    assert jr.build(c, o, AS_OF)["funnel"]["customers"].tolist() == [6, 4, 3, 2, 0]
    d = jr.build(c, o.iloc[:0], AS_OF)
    assert d["funnel"]["customers"].tolist() == [6, 0, 0, 0, 0]
    assert d["channels"].empty and d["by_month"].empty and d["visits"]["visit_count"].sum() == 0


# --- the job on a workbook ---------------------------------------------------------------------------------------

def write_book(path, order_rows=ORDER_ROWS):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "顧客"
    add_table(ws, "顧客", [["顧客ID", "区分", "氏名"]] + [[i, "見込み" if i == "E" else "顧客", f"客{i}"]
                                                         for i in CUSTOMER_IDS])
    add_table(wb.create_sheet("注文"), "注文", [["注文ID", "顧客ID", "注文日", "金額", "チャネル", "定期"]]
              + [[oid, cid, d, amt, ch, sub] for oid, cid, d, ch, amt, sub in order_rows])
    add_table(wb.create_sheet("設定"), "設定", [["項目", "値", "説明"], ["基準日", AS_OF, ""]])
    wb.save(path)
    return path


def sheet_cells(path, sheet="ジャーニー"):
    ws = openpyxl.load_workbook(path)[sheet]
    return {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None}


def customers_sheet(path):
    ws = openpyxl.load_workbook(path)["顧客"]
    rows = list(ws.values)
    return pd.DataFrame(rows[1:], columns=rows[0]).set_index("顧客ID")


def test_job_writes_the_journey_sheet_and_visit_columns(tmp_path):
    p = write_book(tmp_path / "b.xlsx")
    r = run("journey", p)
    assert [r.counts[s] for s in jr.STEPS[:4]] == [6, 4, 3, 2]
    assert r.counts["visitors"] == 2 and r.counts["worst"] == "first"
    assert "見込み6人" in r.summary_ja and "6 prospects" in r.summary_en
    v = sheet_cells(p)
    assert v["A1"] == "カスタマージャーニー" and v["A4"] == "ファネル(全体)"
    funnel = {v[f"A{i}"]: (v.get(f"B{i}"), v.get(f"C{i}"), v.get(f"D{i}")) for i in range(6, 11)}
    assert funnel["見込み"] == (6, None, None)
    assert funnel["初回購入"] == (4, pytest.approx(4 / 6), 2)
    assert funnel["F2(2回目購入)"][0] == 3
    texts = set(v.values())
    assert {"チャネル分析", "獲得チャネル別ファネル", "初回購入月別ファネル", "店舗", "電話"} <= texts
    store = min(int(k[1:]) for k in v if k.startswith("A") and v[k] == "店舗")   # the channel table comes first
    assert (v[f"B{store}"], v[f"C{store}"], v[f"I{store}"]) == (5, 8500, 0.5)
    cs = customers_sheet(p)
    assert cs.loc["C", "来店回数"] == 3 and cs.loc["A", "来店回数"] == 0
    assert cs.loc["C", "最終来店日"] == dt.datetime(2024, 5, 1) and pd.isna(cs.loc["A", "最終来店日"])
    assert cs.loc["C", "氏名"] == "客C"      # the rest of 顧客 is untouched
    with zipfile.ZipFile(p) as z:
        assert sum(n.startswith("xl/charts/chart") for n in z.namelist()) == 1


def test_refresh_replaces_the_sheet_and_follows_the_as_of_date(tmp_path):
    p = write_book(tmp_path / "b.xlsx")
    run("journey", p)
    run("journey", p, overrides={"as_of": pd.Timestamp("2024-01-31")})
    v = sheet_cells(p)
    assert v["B7"] == 2 and v["B8"] == 0           # only A and B had bought by the end of January
    assert "2024-03" not in set(v.values())        # no month rows left over from the first refresh
    assert customers_sheet(p).loc["C", "来店回数"] == 0
    with zipfile.ZipFile(p) as z:
        assert sum(n.startswith("xl/charts/chart") for n in z.namelist()) == 1


def test_english_labels(tmp_path):
    p = write_book(tmp_path / "b.xlsx")
    r = run("journey", p, overrides={"lang": "en"})
    v = sheet_cells(p)
    assert v["A1"] == "Customer journey" and {"Channels", "First purchase", "Funnel by acquisition channel"} <= set(
        v.values())
    assert "Journey refreshed" in r.summary("en")


def test_bad_order_date_stops_before_anything_is_written(tmp_path):
    rows = list(ORDER_ROWS)
    rows[3] = ("O04", "B", "いつか", "電話", 2000, "定期")
    p = write_book(tmp_path / "b.xlsx", rows)
    before = p.read_bytes()
    with pytest.raises(BadInput) as e:
        run("journey", p)
    prob = e.value.problems[0]
    assert (prob.sheet, prob.row, prob.column) == ("注文", 5, "注文日")
    assert "いつか" not in e.value.message("ja")     # cell references only, never the value
    assert p.read_bytes() == before


def test_order_for_an_unknown_customer_is_bad_input(tmp_path):
    p = write_book(tmp_path / "b.xlsx", ORDER_ROWS + [("O13", "Z", "2024-03-03", "EC", 100, "")])
    with pytest.raises(BadInput) as e:
        run("journey", p)
    assert e.value.problems[0].sheet == "注文" and e.value.problems[0].row == 14
    assert "ジャーニー" not in openpyxl.load_workbook(p).sheetnames


def test_cli(tmp_path, capsys):
    from xlcrm.cli import main
    p = write_book(tmp_path / "b.xlsx")
    assert main(["--lang", "en", "journey", str(p), "--as-of", "2024-01-31"]) == 0
    assert "2 first purchases" in capsys.readouterr().out
    assert main(["journey", str(tmp_path / "missing.xlsx")]) != 0


# --- a demo workbook ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from xlcrm.jobs.demo import run_demo
    p = tmp_path_factory.mktemp("demo") / "CRM-demo.xlsx"
    lines = list(run_demo(p, customers=300, seed=3, as_of="2024-06-30"))
    assert any(x.startswith("[journey]") for x in lines)
    return p


@pytest.mark.slow
def test_demo_tables_agree_with_the_order_sheet(demo):
    from xlcrm.book import open_book
    from xlcrm.jobs.journey import compute
    with open_book(demo) as book:
        s = book.settings()
        d = compute(book, s, s.as_of_date())
        orders = book.read("orders")
    counts = d["funnel"]["customers"].to_numpy()
    assert (np.diff(counts) <= 0).all() and counts[-1] > 0          # a funnel, and someone reaches 優良
    upto = orders[orders["order_date"] <= pd.Timestamp("2024-06-30")]
    bought = upto[upto["amount"] > 0]          # the demo has returns: no purchases, but net revenue
    assert len(bought) < len(upto)
    assert counts[1] == bought["customer_id"].nunique()
    assert d["by_channel"]["first"].sum() == d["by_month"]["first"].sum() == counts[1]
    assert d["channels"]["orders"].sum() == len(bought)
    assert d["channels"]["revenue"].sum() == pytest.approx(upto["amount"].sum())
    assert set(d["channels"].index) <= {"EC", "電話", "店舗", "SNS", "紹介", "LINE", jr.NO_CHANNEL}
    store = upto[upto["channel"] == "店舗"]
    cs = customers_sheet(demo)
    assert cs["来店回数"].sum() == len(store.drop_duplicates(["customer_id", "order_date"]))
    assert (cs["来店回数"] > 0).sum() == store["customer_id"].nunique()


@pytest.mark.slow
@pytest.mark.libreoffice
@pytest.mark.skipif(not shutil.which("soffice"), reason="LibreOffice not installed")
def test_libreoffice_renders_the_journey_sheet(demo, tmp_path):
    wb = openpyxl.load_workbook(demo)
    for name in wb.sheetnames:
        if name != "ジャーニー":
            wb.remove(wb[name])
    p = tmp_path / "j.xlsx"
    wb.save(p)
    env = {**os.environ, "HOME": str(tmp_path / "home")}
    subprocess.run(["soffice", "--headless", "--convert-to",
                    'pdf:calc_pdf_Export:{"SinglePageSheets":{"type":"boolean","value":"true"}}',
                    "--outdir", str(tmp_path), str(p)], check=True, env=env, capture_output=True, timeout=180)
    page = "".join(subprocess.run(["pdftotext", str(tmp_path / "j.pdf"), "-"], capture_output=True,
                                  text=True).stdout.split())
    assert page.startswith("カスタマージャーニー")
    assert page.count("ファネル(全体)") >= 2        # the block title and the chart title
    for label in ("チャネル分析", "獲得チャネル別ファネル", "初回購入月別ファネル", "定期・リピート", "¥"):
        assert label in page, label
