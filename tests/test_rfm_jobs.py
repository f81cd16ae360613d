"""The rfm and lapse jobs on a real workbook file, and the `xlcrm rfm` / `xlcrm lapse` commands."""
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from xlcrm import bgnbd, cli, schema
from xlcrm.book import open_book
from xlcrm.jobs import JOBS, run
from xlcrm.jobs import rfm as jobs_rfm


def customers_sheet(path):
    with open_book(path) as book:
        return book.read_raw("顧客").set_index("顧客ID"), book.read_raw("変更履歴")


def test_rfm_job_writes_owned_columns_and_keeps_staff_columns(book_path):
    assert JOBS["rfm"] == "xlcrm.jobs.rfm:refresh_rfm"
    result = run("rfm", book_path)
    assert result.counts["customers"] == 3 and result.counts["scored"] == 2
    df, journal = customers_sheet(book_path)
    # C0001: orders 2024-01-05 and 2024/2/5 (¥3,980 each), C0002: R6.3.1 (12800円); as-of 2024-06-30 from 設定
    assert df.loc["C0001", "注文回数"] == 2 and df.loc["C0001", "購入金額"] == 7960
    assert str(df.loc["C0001", "最終注文日"])[:10] == "2024-02-05"
    assert df.loc["C0002", "最終注文からの日数"] == (pd.Timestamp("2024-06-30") - pd.Timestamp("2024-03-01")).days
    # a number (no "number stored as text" flag in Excel) reading as the three scores
    assert df.loc["C0001", "RFM"] == int("".join(str(int(df.loc["C0001", k])) for k in "RFM"))
    assert df.loc["C0001", "セグメント"] in {ja for _en, ja in __import__("xlcrm.rfm").rfm.SEGMENTS.values()}
    assert pd.isna(df.loc["C0003", "RFM"]) and pd.isna(df.loc["C0003", "セグメント"])  # no orders: blank
    assert df.loc["C0001", "スタッフメモ"] == "電話は夕方"                                # staff column untouched
    assert journal.iloc[-1]["処理"] == "RFM分析" and "RFM" in journal.iloc[-1]["内容"]


def test_rfm_job_follows_the_settings_sheet(book_path):
    result = run("rfm", book_path, overrides={"rfm_method": "fixed", "rfm_m_yen": (1000, 2000, 3000, 20000)})
    df, _ = customers_sheet(book_path)
    assert result.counts["method"] == "fixed"
    assert df.loc["C0001", "M"] == 4 and df.loc["C0002", "M"] == 4       # 7,960 and 12,800 yen: 3,001-20,000
    assert df.loc["C0001", "F"] == 2 and df.loc["C0002", "F"] == 1


def test_lapse_job_writes_status_next_date_and_reason(book_path):
    result = run("lapse", book_path)
    df, journal = customers_sheet(book_path)
    assert df.loc["C0001", "離脱状態"] in ("稼働", "離脱予兆", "離脱", "休眠")
    assert df.loc["C0001", "離脱状態"] == "離脱"       # monthly buyer, silent for 146 days
    assert str(df.loc["C0001", "次回注文予定日"])[:10] == "2024-03-07"      # 2024-02-05 + 31 days
    assert "いつもの購入間隔" in df.loc["C0001", "離脱判定の理由"]
    assert pd.isna(df.loc["C0003", "離脱状態"])
    # C0002's one order is 121 days old; the shop's only second order came after 31 days: lapsed too
    assert df.loc["C0002", "離脱状態"] == "離脱" and "2回目の注文" in df.loc["C0002", "離脱判定の理由"]
    assert result.counts["lapsed"] == 2 and journal.iloc[-1]["処理"] == "離脱判定"


def test_lapse_job_with_bgnbd_on_too_few_customers_falls_back_and_says_so(book_path):
    result = run("lapse", book_path, overrides={"lapse_method": "bgnbd"})
    assert result.counts["method"] == "rhythm" and result.counts["fallback"] == "bgnbd_too_few"
    assert "BG/NBD fit refused" in result.summary_en and "購入リズムで判定" in result.summary_ja
    df, journal = customers_sheet(book_path)
    assert df.loc["C0001", "離脱判定の理由"].startswith("BG/NBDを使えないため")
    assert "BG/NBD" in journal.iloc[-1]["内容"]


def refused_without_writing(path) -> str:
    """`run rfm` on a book with bad input: exit code 2, the book as it was; the Japanese message."""
    before = path.read_bytes()
    with pytest.raises(Exception) as e:
        run("rfm", path)
    assert getattr(e.value, "exit_code", None) == 2
    assert path.read_bytes() == before
    return e.value.message("ja")


def test_orders_of_unknown_customers_are_refused_before_writing(book_path, tmp_path):
    import openpyxl
    wb = openpyxl.load_workbook(book_path)
    ws = wb["注文"]
    ws.cell(7, 2, "O4"), ws.cell(7, 3, "C0099"), ws.cell(7, 4, "2024-05-01"), ws.cell(7, 5, 100)
    ws.tables["注文"].ref = "B3:I7"
    wb.save(book_path)
    assert "7行目" in refused_without_writing(book_path)


def test_rfm_reads_only_what_it_scores_a_bad_birth_date_does_not_stop_it_a_bad_amount_does(book_path):
    import openpyxl
    wb = openpyxl.load_workbook(book_path)
    wb["顧客"].cell(3, 8, "そのうち聞く")                # C0002's 生年月日: not a date, and not RFM's business
    wb.save(book_path)
    assert run("rfm", book_path).counts["scored"] == 2
    with pytest.raises(Exception) as e:                 # the customers job that does read it still names the cell
        with open_book(book_path) as book:
            book.read("customers")
    assert "H3" in e.value.message("ja")
    wb = openpyxl.load_workbook(book_path)
    wb["注文"].cell(5, 5, "たくさん")                    # O2's 金額: what RFM sums
    wb.save(book_path)
    assert "E5" in refused_without_writing(book_path)


# --- CLI ---------------------------------------------------------------------------------------------------------

CLEAN = "顧客ID,注文日,金額\nA1,2024-01-10,3000\nA1,2024-03-01,5000\nB2,2023-12-01,12000\nC3,2022-01-05,800\n"
MESSY = "会員番号,購入日,合計金額\nA1,令和6年1月10日,\"￥3,000\"\nA1,2024/3/1,5000円\nB2,R5.12.1,\"12,000\"\nC3,2022-01-05,800\n"


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "xlcrm.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=str(__import__("pathlib").Path(__file__).parents[1]))


def test_rfm_command_on_clean_and_messy_csv_gives_the_same_scores(tmp_path):
    (tmp_path / "clean.csv").write_text(CLEAN, encoding="utf-8")
    (tmp_path / "messy.csv").write_bytes(MESSY.encode("cp932"))          # Excel's Japanese CSV encoding
    outs = []
    for name in ("clean.csv", "messy.csv"):
        r = run_cli("rfm", tmp_path / name, "--as-of", "2024-03-31", "--out", tmp_path / f"{name}.out")
        assert r.returncode == 0, r.stderr
        outs.append(pd.read_csv(tmp_path / f"{name}.out", encoding="utf-8-sig", dtype={"rfm_code": str}))
    pd.testing.assert_frame_equal(outs[0], outs[1])
    out = outs[0].set_index("customer_id")
    core = jobs_rfm.scores(pd.DataFrame({
        "customer_id": ["A1", "A1", "B2", "C3"],
        "order_date": pd.to_datetime(["2024-01-10", "2024-03-01", "2023-12-01", "2022-01-05"]).astype("datetime64[ns]"),
        "amount": [3000.0, 5000, 12000, 800]}), "2024-03-31",
        {"method": "quintile", "frequency": "orders", "monetary": "total"}).set_index("customer_id")
    assert list(out.rfm_code) == list(core.rfm_code) and list(out.segment_ja) == list(core.segment_ja)
    assert out.loc["A1", "last_order"] == "2024-03-01" and out.loc["A1", "recency_days"] == 30


@pytest.mark.parametrize("text", [
    CLEAN.replace("2024-01-10", "2024/1/10").replace("2023-12-01", "2023/12/01"),      # slashes
    CLEAN.replace("2024-03-01", "2024-03-01 18:45:00"),                                # a time of day
    CLEAN.replace("A1,", " A1,", 1),                                                    # a padded id
    "\ufeff" + CLEAN.replace("顧客ID", "customer_id").replace("注文日", "order_date").replace("金額", "amount"),
])
def test_rfm_command_reads_the_ways_shops_write_dates_ids_and_headers(tmp_path, text):
    (tmp_path / "a.csv").write_text(CLEAN, encoding="utf-8")
    (tmp_path / "b.csv").write_text(text, encoding="utf-8")
    for name in "ab":
        assert cli.main(["rfm", str(tmp_path / f"{name}.csv"), "--as-of", "2024-03-31", "--out",
                         str(tmp_path / f"{name}.out")]) == 0
    assert (tmp_path / "a.out").read_bytes() == (tmp_path / "b.out").read_bytes()


def test_rfm_command_names_the_csv_line_of_a_bad_value(tmp_path):
    (tmp_path / "bad.csv").write_text(CLEAN + "D4,先週,100\nD5,2024-01-01,たくさん\n", encoding="utf-8")
    r = run_cli("--lang", "en", "rfm", tmp_path / "bad.csv", "--as-of", "2024-03-31", "--out", tmp_path / "o.csv")
    assert r.returncode == 2
    assert "row 6" in r.stderr and "row 7" in r.stderr and "date" in r.stderr and "amount" in r.stderr
    assert not (tmp_path / "o.csv").exists()


def test_rfm_command_reads_a_workbook_with_its_settings(book_path, tmp_path):
    r = run_cli("rfm", book_path, "--method", "fixed", "--out", tmp_path / "o.csv")
    assert r.returncode == 0, r.stderr
    out = pd.read_csv(tmp_path / "o.csv", encoding="utf-8-sig").set_index("customer_id")
    assert list(out.index) == ["C0001", "C0002"]
    assert out.loc["C0002", "recency_days"] == 121     # as-of 2024-06-30 from 設定; R6.3.1 = 2024-03-01
    # an earlier as-of date leaves out C0002, whose only order comes later
    r = run_cli("lapse", book_path, "--as-of", "2024-02-10", "--out", tmp_path / "l.csv")
    assert r.returncode == 0, r.stderr
    out = pd.read_csv(tmp_path / "l.csv", encoding="utf-8-sig")
    assert list(out.customer_id) == ["C0001"] and out.days_since_last[0] == 5


def test_fast_csv_headers_are_the_schema_names():
    for key, names in jobs_rfm.FAST_HEADERS.items():
        c = schema.ORDERS.by_key[key]
        assert set(names) == {c.key, c.ja}


def _bgnbd_orders(n, seed=11):
    """Orders drawn from the BG/NBD model itself (so the fit is accepted), one row per purchase day."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(0.5, 1 / 20.0, n)            # purchases per day
    p = rng.beta(0.8, 3.0, n)
    start = rng.integers(0, 400, n)
    rows = []
    for c in range(n):
        t, d = float(start[c]), int(start[c])
        rows.append((f"K{c}", d))
        while rng.random() > p[c]:
            t += rng.exponential(1 / lam[c])
            if t >= 500:
                break
            if int(t) != rows[-1][1]:
                rows.append((f"K{c}", int(t)))
    ids, days = zip(*rows)
    dates = (np.datetime64("2023-01-01") + np.array(days)).astype(str)
    return pd.DataFrame({"customer_id": ids, "order_date": dates, "amount": 1000})


def test_lapse_command_json_prints_the_bgnbd_fit(tmp_path):
    o = _bgnbd_orders(3000)
    o.to_csv(tmp_path / "o.csv", index=False)
    r = run_cli("lapse", tmp_path / "o.csv", "--as-of", "2024-05-15", "--method", "bgnbd", "--json",
                "--out", tmp_path / "l.csv")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["method"] == "bgnbd" and doc["fallback"] is None
    # the same fit straight from the core
    d = pd.to_datetime(o.order_date).to_numpy("datetime64[D]").astype(np.int64)
    g = pd.DataFrame({"c": o.customer_id, "d": d}).groupby("c").d
    end = np.datetime64("2024-05-15", "D").astype(np.int64)
    f = bgnbd.fit(*bgnbd.from_days(g.min().to_numpy(), g.max().to_numpy(), g.nunique().to_numpy(), end))
    for k in ("r", "alpha", "a", "b"):
        assert doc[k] == pytest.approx(getattr(f, k), rel=1e-6)
    assert doc["log_likelihood"] == pytest.approx(f.log_likelihood, rel=1e-9)
    rows = pd.read_csv(tmp_path / "l.csv", encoding="utf-8-sig")
    assert len(rows) == 3000 and rows.p_alive.notna().any() and set(rows.status) <= {"稼働", "離脱予兆", "離脱", "休眠"}


def test_lapse_command_json_without_out_lists_rows_and_says_when_bgnbd_is_refused(tmp_path, capsys):
    (tmp_path / "o.csv").write_text(CLEAN, encoding="utf-8")
    assert cli.main(["lapse", str(tmp_path / "o.csv"), "--as-of", "2024-03-31", "--method", "bgnbd", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["method"] == "rhythm" and doc["fallback"] == "bgnbd_too_few"
    assert "ordered twice" in doc["fallback_reason_en"]
    assert {r["customer_id"] for r in doc["rows"]} == {"A1", "B2", "C3"}
    a1 = next(r for r in doc["rows"] if r["customer_id"] == "A1")
    assert a1["expected_next"] == "2024-04-21" and a1["status"] == "稼働"
