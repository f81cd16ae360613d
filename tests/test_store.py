"""The database store (#16): the same jobs over a DuckDB file and a real PostgreSQL server, the workbook as a view.

Every store is compared with the workbook path on the demo: same summaries, same RFM columns. PostgreSQL runs as a
throw-away cluster (tests/pgserver.py); the concurrent-edit tests use two real connections.
"""
from __future__ import annotations

import shutil
import threading
import time

import pandas as pd
import pytest

from xlcrm import schema
from xlcrm.book import open_book
from xlcrm.cli import main
from xlcrm.jobs import open_job_book, run
from xlcrm.jobs.demo import set_setting
from xlcrm.store import StoreError, open_store
from xlcrm.store import tables as tb
from xlcrm.store.migrate import migrate

AS_OF = {"as_of": "2025-08-01"}
JOBS = ("dedupe", "rfm", "lapse", "followup", "steps", "dashboard", "journey", "pipeline", "survey", "referrals",
        "print_list")


@pytest.fixture(params=["duckdb", "postgresql"])
def store_url(request, tmp_path) -> str:
    if request.param == "duckdb":
        return f"duckdb:{tmp_path / 'crm.duckdb'}"
    return request.getfixturevalue("pg_url")


def _copy(src, dst):
    shutil.copy(src, dst)
    return dst


def _frames(book_path):
    with open_book(book_path, read_only=True) as b:
        return {t.key: b.read(t.key).reset_index(drop=True) for t in tb.TRUTH}


def test_migration_round_trip(demo_book, tmp_path, store_url):
    """Book → store → a new book: every customer, order and contact comes back as it was, and each leg says its
    row counts and checksums agree."""
    r = migrate(str(demo_book), store_url)
    assert "一致" in r.summary_ja and r.counts["customers"] == 300
    again = pytest.raises(StoreError, migrate, str(demo_book), store_url)     # not over data already there
    assert again.value.key == "migrate_not_empty"
    out = tmp_path / "back.xlsx"
    back = migrate(store_url, str(out))
    assert "一致" in back.summary_ja
    want, got = _frames(demo_book), _frames(out)
    for k in want:
        w, g = want[k], got[k]
        assert list(g.columns) == list(w.columns), k
        for c in w.columns:
            a, b = w[c], g[c]
            if pd.api.types.is_float_dtype(a):
                assert a.fillna(-1.5).tolist() == pytest.approx(b.fillna(-1.5).tolist()), (k, c)
            else:
                assert a.astype(object).where(a.notna(), None).tolist() == \
                       b.astype(object).where(b.notna(), None).tolist(), (k, c)


def test_every_job_gives_the_workbook_numbers(demo_book, tmp_path, store_url, monkeypatch):
    """Each job run on the book and run over the store (the book a view) says the same; RFM, lapse and the
    follow-up list agree cell for cell; the store holds the results and one journal row per job."""
    plain = _copy(demo_book, tmp_path / "plain.xlsm")
    view = _copy(demo_book, tmp_path / "view.xlsm")
    migrate(str(view), store_url)
    for job in JOBS:
        monkeypatch.delenv("XLCRM_STORE", raising=False)
        a = run(job, plain, overrides=AS_OF)
        monkeypatch.setenv("XLCRM_STORE", store_url)
        b = run(job, view, overrides=AS_OF)
        assert b.summary_ja == a.summary_ja, job
    monkeypatch.delenv("XLCRM_STORE")
    with open_store(store_url) as st:
        stored = tb.read_truth(st, schema.CUSTOMERS).set_index("customer_id")
        follow = st.read_frame("フォローリスト")
        jobs = [r[0] for r in st.rows("SELECT job FROM journal ORDER BY \"at\"")]
    with open_book(plain, read_only=True) as b:
        mine = b.read("customers").set_index("customer_id")
        plain_follow = b.read_raw("フォローリスト")
    for col in ("R", "F", "M", "RFM", "セグメント", "離脱状態"):
        assert col in stored.columns, col
        x = mine[col].astype(object).where(mine[col].notna(), None).tolist()
        y = stored.loc[mine.index, col].astype(object).where(stored.loc[mine.index, col].notna(), None).tolist()
        assert [None if v == "" else v for v in x] == [None if v == "" else v for v in y], col
    assert sorted(follow["顧客ID"]) == sorted(plain_follow["顧客ID"])
    assert set(follow["_version"]) == {1}
    assert len(jobs) >= len(JOBS) and "RFM分析" in jobs
    with open_book(view, read_only=True) as b:       # the view shows each row's version
        assert "版" in b.read_raw("フォローリスト").columns


def test_rfm_in_sql_equals_the_numpy_core(demo_book, store_url):
    """The pushed-down RFM (window functions) gives xlcrm.rfm's numbers, for both scoring methods and both
    frequency/monetary choices."""
    from xlcrm import rfm as core
    from xlcrm.store import sql
    migrate(str(demo_book), store_url)
    orders = _frames(demo_book)["orders"]
    with open_store(store_url) as st:
        for opts in ({"method": "quintile"}, {"method": "fixed"},
                     {"method": "quintile", "frequency": "days", "monetary": "mean"}):
            want = core.score(core.summarize(orders, "2025-08-01", frequency=opts.get("frequency", "orders"),
                                             monetary=opts.get("monetary", "total")), method=opts["method"])
            got = sql.rfm(st, "2025-08-01", opts)
            want = want.sort_values("customer_id").reset_index(drop=True)
            for c in ("customer_id", "recency_days", "frequency", "orders", "tenure_days", "r", "f", "m",
                      "rfm_code", "segment_ja", "first_order", "last_order"):
                assert got[c].tolist() == want[c].tolist(), (opts, c)
            assert got["monetary"].tolist() == pytest.approx(want["monetary"].tolist())


def _edit_follow(path, row: int, status: str, operator: str) -> str:
    """Staff change 状態 of the follow-up list's `row`-th row in their own copy of the view; returns its フォローID."""
    with open_book(path) as b:
        raw = b.read_raw("フォローリスト").reset_index(drop=True)
        raw.loc[row, "状態"] = status
        b.write_table("フォローリスト", raw, key="フォローID")
        set_setting(b, "実行者名", operator)
        b.save()
    return str(raw.loc[row, "フォローID"])


def _two_views(demo_book, tmp_path, url, monkeypatch):
    """Two members of staff's copies of one view, after a follow-up refresh over the store `url`."""
    base = _copy(demo_book, tmp_path / "base.xlsm")
    migrate(str(base), url)
    monkeypatch.setenv("XLCRM_STORE", url)
    run("followup", base, overrides=AS_OF)
    return _copy(base, tmp_path / "sato.xlsm"), _copy(base, tmp_path / "suzuki.xlsm")


def test_two_staff_edit_the_same_row(demo_book, tmp_path, pg_url, monkeypatch):
    """Sato and Suzuki each change the same follow-up row in their own workbook: Sato's job saves first and wins;
    Suzuki's job is told which row and by whom, and Suzuki's value is kept in the journal. Another row Suzuki
    changed is saved."""
    sato, suzuki = _two_views(demo_book, tmp_path, pg_url, monkeypatch)
    fid = _edit_follow(sato, 0, "対応済", "佐藤")
    assert _edit_follow(suzuki, 0, "保留", "鈴木") == fid
    other = _edit_follow(suzuki, 1, "対応中", "鈴木")
    a = run("rfm", sato, overrides=AS_OF)
    assert "先に変更" not in a.summary_ja
    b = run("rfm", suzuki, overrides=AS_OF)
    assert fid in b.summary_ja and "佐藤" in b.summary_ja and "先に変更" in b.summary_ja
    with open_store(pg_url) as st:
        rows = st.read_frame("フォローリスト").set_index("フォローID")
        notes = [r[0] for r in st.rows("SELECT summary_ja FROM journal WHERE job LIKE '競合%'")]
    assert rows.loc[fid, "状態"] == "対応済" and rows.loc[fid, "_by"] == "佐藤" and rows.loc[fid, "_version"] == 2
    assert rows.loc[other, "状態"] == "対応中" and rows.loc[other, "_by"] == "鈴木"
    assert any("保留" in n and fid in n for n in notes)


def test_concurrent_edit_on_two_open_connections(demo_book, tmp_path, pg_url, monkeypatch):
    """Two jobs open at once on two connections: the second waits on the row the first changed, then finds a
    newer version and reports a conflict instead of overwriting."""
    sato, suzuki = _two_views(demo_book, tmp_path, pg_url, monkeypatch)
    fid = _edit_follow(sato, 3, "対応済", "佐藤")
    _edit_follow(suzuki, 3, "保留", "鈴木")
    found = {}
    with open_job_book(sato) as first:               # Sato's transaction holds the row
        def second():
            with open_job_book(suzuki) as book:
                found["conflicts"] = book.conflicts
                book.save()
        t = threading.Thread(target=second)
        t.start()
        time.sleep(1.0)
        assert t.is_alive(), "the second job must wait for the first one's row"
        first.save()
    t.join(30)
    assert [kw["id"] for _, kw in found["conflicts"]] == [fid]
    assert found["conflicts"][0][1]["who"] == "佐藤"


def test_server_gone_mid_job_leaves_everything_as_it_was(demo_book, tmp_path, pg_server, pg_url, monkeypatch):
    from xlcrm.jobs.rfm import refresh_rfm
    view = _copy(demo_book, tmp_path / "view.xlsm")
    migrate(str(view), pg_url)
    before = view.read_bytes()
    monkeypatch.setenv("XLCRM_STORE", pg_url)
    with open_store(pg_url) as st:
        journal, customers = (st.count("journal"), st.count("undo")), tb.read_truth(st, schema.CUSTOMERS)

    def job(book, settings):
        pg_server.stop()
        return refresh_rfm(book, settings)
    with pytest.raises(StoreError) as e:
        run(job, view, overrides=AS_OF)
    assert e.value.key == "store_lost" and pg_server.password not in e.value.message("ja")
    pg_server.start()
    assert view.read_bytes() == before
    with open_store(pg_url) as st:
        assert (st.count("journal"), st.count("undo")) == journal
        assert tb.read_truth(st, schema.CUSTOMERS).equals(customers)


def test_bad_addresses_and_logins_exit_2_without_the_secret(demo_book, tmp_path, pg_server, pg_url, capsys):
    view = _copy(demo_book, tmp_path / "view.xlsm")
    migrate(str(view), pg_url)
    good = pg_url
    port = pg_server.port
    cases = {
        "ログインできません": good.replace(f":{pg_server.password}@", ":WrongSecret123@"),
        "データベースがありません": pg_server.url(db="no_such_db"),
        "接続できません": f"postgresql://xlcrm_admin:Pw9secret@127.0.0.1:{port + 1 if port < 65535 else 1}/x",
        "読めません": "mysql://root:Pw9secret@localhost/crm",
    }
    for says, url in cases.items():
        code = main(["run", "rfm", str(view), "--store", url])
        err = capsys.readouterr().err
        assert code == 2, url
        assert says in err, err
        for secret in ("WrongSecret123", "Pw9secret", pg_server.password):
            assert secret not in err


def test_a_role_without_rights_is_refused(demo_book, tmp_path, pg_server, pg_url, capsys):
    view = _copy(demo_book, tmp_path / "view.xlsm")
    migrate(str(view), pg_url)
    db = pg_url.rsplit("/", 1)[1]
    pg_server.create_role("viewer", "Viewer-pw-1")
    with open_store(pg_url) as st:
        st.execute(f'GRANT CONNECT ON DATABASE "{db}" TO viewer')
        st.execute("GRANT SELECT ON journal, undo TO viewer")
    url = pg_server.url(user="viewer", password="Viewer-pw-1", db=db)
    code = main(["run", "rfm", str(view), "--store", url])
    err = capsys.readouterr().err
    assert code == 2 and "権限がありません" in err and "Viewer-pw-1" not in err


def test_undo_over_the_store_and_the_journal_is_append_only(demo_book, tmp_path, store_url, monkeypatch):
    view = _copy(demo_book, tmp_path / "view.xlsm")
    migrate(str(view), store_url)
    with open_store(store_url) as st:
        before = tb.read_truth(st, schema.CUSTOMERS)["セグメント"].tolist()
    monkeypatch.setenv("XLCRM_STORE", store_url)
    run("rfm", view, overrides={"as_of": "2025-01-01"})          # an earlier date: fewer orders, other segments
    with open_store(store_url) as st:
        assert tb.read_truth(st, schema.CUSTOMERS)["セグメント"].tolist() != before
    from xlcrm.jobs.io import undo
    assert undo(view).counts["undone"]
    with open_store(store_url) as st:
        assert tb.read_truth(st, schema.CUSTOMERS)["セグメント"].tolist() == before
        assert st.rows("SELECT count(*) FROM journal WHERE undoes IS NOT NULL")[0][0] == 1
        if st.dialect == "postgresql":
            with pytest.raises(Exception, match="append-only"):
                st.execute("DELETE FROM journal")


def test_orders_beyond_a_sheet_import_into_the_store_and_are_refused_back(demo_book, tmp_path, store_url,
                                                                          monkeypatch):
    migrate(str(demo_book), store_url)
    extra = pd.DataFrame({"注文ID": [f"X{i:07d}" for i in range(500)], "顧客ID": ["C00001"] * 500,
                          "注文日": ["2025-07-01"] * 500, "金額": ["¥1,200"] * 500})
    pq = tmp_path / "more.parquet"
    extra.to_parquet(pq)
    r = migrate(str(pq), store_url)
    assert r.counts["orders"] == 500
    from xlcrm.messages import BadInput
    with pytest.raises(BadInput, match="すでにあります"):        # the same ids again: refused, nothing added
        migrate(str(pq), store_url)
    with open_store(store_url) as st:
        assert st.count("orders") == r.counts["total"]
    monkeypatch.setattr(tb, "SHEET_ROWS", r.counts["total"] - 1)
    with pytest.raises(StoreError) as e:
        migrate(store_url, str(tmp_path / "out.xlsx"))
    assert e.value.key == "migrate_too_many_rows" and not (tmp_path / "out.xlsx").exists()


def test_store_setting_refuses_a_password(book_path):
    from xlcrm.messages import BadInput
    with open_book(book_path) as b:
        set_setting(b, "保存先", "postgresql://staff:hunter2@crm/crm")
        b.save()
    with pytest.raises(BadInput) as e, open_book(book_path) as b:
        b.settings()
    assert "パスワード" in e.value.message("ja") and "hunter2" not in e.value.message("ja")


def test_lapse_history_in_sql_equals_the_numpy_core(demo_book, store_url):
    """The purchase histories summed up in SQL (lag, percentile_cont) judge every customer as the workbook path
    does, for each method (BG/NBD fitted on them too)."""
    from xlcrm import lapse as core
    from xlcrm.store import sql
    migrate(str(demo_book), store_url)
    orders = _frames(demo_book)["orders"]
    with open_store(store_url) as st:
        for method in ("rhythm", "days", "bgnbd"):
            want = core.assess(orders, "2025-08-01", method=method).sort_values("customer_id").reset_index(drop=True)
            got = sql.lapse(st, "2025-08-01", {"method": method})
            assert list(got.columns) == list(want.columns)
            for c in want.columns:
                if pd.api.types.is_float_dtype(want[c]):
                    assert got[c].fillna(-1).tolist() == pytest.approx(want[c].fillna(-1).tolist()), (method, c)
                else:
                    assert got[c].tolist() == want[c].tolist(), (method, c)


def test_merge_and_its_undo_over_the_store(tmp_path, store_url, monkeypatch):
    """名寄せ over a store: staff decide 統合 on the view's 重複候補; the merge moves the orders and the contact to
    the master in the store and keeps the note; undo of the merge puts the store back row for row."""
    from dedupe_data import make_book
    from test_merge import decide
    p = make_book(tmp_path / "crm.xlsx")
    migrate(str(p), store_url)
    with open_store(store_url) as st:
        before = {t.key: tb.read_truth(st, t) for t in tb.TRUTH}
    monkeypatch.setenv("XLCRM_STORE", store_url)
    run("dedupe", p)
    decide(p, {"T0001|T0002": "統合"})
    r = run("merge", p)
    assert r.counts["groups"] == 1 and r.counts["orders"] == 1 and r.counts["contacts"] == 1
    with open_store(store_url) as st:
        cust = tb.read_truth(st, schema.CUSTOMERS).set_index("customer_id")
        orders = tb.read_truth(st, schema.ORDERS)
        contacts = tb.read_truth(st, schema.CONTACTS)
    assert "T0001" not in cust.index and cust.loc["T0002", "notes"] == "旧住所あり\n[T0001] 電話は夕方"
    assert len(orders) == len(before["orders"]) and set(orders["customer_id"]) == {"T0002", "T0003"}
    assert list(contacts["customer_id"]) == ["T0002"]
    assert main(["undo", str(p), "--merge", r.counts["ids"]]) == 0
    with open_store(store_url) as st:
        after = {t.key: tb.read_truth(st, t) for t in tb.TRUTH}
    for k in before:
        cols = list(before[k].columns)
        pd.testing.assert_frame_equal(after[k][cols], before[k], check_dtype=False, obj=k)


def test_contacts_recorded_by_staff_go_to_the_store(demo_book, tmp_path, store_url, monkeypatch, capsys):
    view = _copy(demo_book, tmp_path / "view.xlsm")
    migrate(str(view), store_url)
    with open_store(store_url) as st:
        n = st.count("contacts")
        cid = st.rows("SELECT customer_id FROM customers ORDER BY _row LIMIT 1")[0][0]
    code = main(["contact", str(view), "--customer", cid, "--type", "クレーム", "--summary", "届いた商品が破損",
                 "--store", store_url])
    assert code == 0, capsys.readouterr().err
    with open_store(store_url) as st:
        got = tb.read_truth(st, schema.CONTACTS)
        assert len(got) == n + 1 and got.iloc[-1]["customer_id"] == cid and got.iloc[-1]["type"] == "クレーム"
        assert st.rows("SELECT _version FROM contacts ORDER BY _row DESC LIMIT 1")[0][0] == 1
    with open_book(view, read_only=True) as b:         # the view shows it too
        assert len(b.read("contacts")) == n + 1


def test_a_second_row_with_the_same_id_is_refused_and_nothing_saved(demo_book, tmp_path, store_url, monkeypatch):
    """Two staff recording a contact at the same moment can pick the same next ID: the store's key refuses the
    second one with a message, and that job saves nothing."""
    view = _copy(demo_book, tmp_path / "view.xlsm")
    migrate(str(view), store_url)
    monkeypatch.setenv("XLCRM_STORE", store_url)
    before = view.read_bytes()
    with open_store(store_url) as st:
        row = tb.read_truth(st, schema.CONTACTS).iloc[[0]]
        n = st.count("contacts")
    dup = row.rename(columns={c.key: c.ja for c in schema.CONTACTS.columns})
    with pytest.raises(StoreError) as e, open_job_book(view) as book:
        book.append_rows("対応履歴", dup)
        book.save()
    assert e.value.key == "store_same_id"
    assert view.read_bytes() == before
    with open_store(store_url) as st:
        assert st.count("contacts") == n


def _set(path, item, value):
    with open_book(path) as b:
        set_setting(b, item, value)
        b.save()


def test_the_view_shows_the_customers_the_rule_names_and_staff_work_flows_back(demo_book, tmp_path, store_url,
                                                                               monkeypatch):
    """表示を更新 with 設定「表示する顧客」 = 担当者=<one>: the view holds those customers, their orders and contacts,
    each with its 版. A phone number corrected on the view and a customer typed in go to the store with the next
    job; a second member of staff correcting the same customer from an older view is told, not obeyed."""
    view = _copy(demo_book, tmp_path / "view.xlsm")
    migrate(str(view), store_url)
    with open_store(store_url) as st:
        staff = st.rows("SELECT staff, count(*) n FROM customers WHERE staff <> '' GROUP BY staff ORDER BY n DESC")[0]
        total_orders = st.count("orders")
    _set(view, "表示する顧客", f"担当者={staff[0]}")
    monkeypatch.setenv("XLCRM_STORE", store_url)
    r = run("view", view, overrides=AS_OF)
    assert r.counts["customers"] == (staff[1], 300) and r.counts["orders"][0] < total_orders
    other = _copy(view, tmp_path / "other.xlsm")
    with open_book(view, read_only=True) as b:
        cust = b.read_raw("顧客").reset_index(drop=True)
        orders = b.read("orders")
    assert set(cust["担当者"]) == {staff[0]} and "版" in cust.columns and set(cust["版"]) == {1}
    assert set(orders["customer_id"]) <= set(cust["顧客ID"])
    cid = cust.loc[0, "顧客ID"]
    with open_book(view) as b:                          # staff correct a phone and add a customer on the view
        raw = b.read_raw("顧客").reset_index(drop=True)
        raw.loc[0, "電話番号"] = "03-9999-0000"
        new = {c: None for c in raw.columns}
        new.update({"顧客ID": "C09999", "氏名": "新規 花子", "担当者": staff[0]})
        raw = pd.concat([raw, pd.DataFrame([new])], ignore_index=True)
        b.write_table("顧客", raw)
        set_setting(b, "実行者名", "佐藤")
        b.save()
    run("rfm", view, overrides=AS_OF)
    with open_store(store_url) as st:
        got = tb.read_truth(st, schema.CUSTOMERS).set_index("customer_id")
        assert got.loc[cid, "phone"] == "03-9999-0000" and got.loc["C09999", "name"] == "新規 花子"
        assert st.rows("SELECT _version, _by FROM customers WHERE customer_id = ?", (cid,))[0] == (2, "佐藤")
    with open_book(other) as b:                         # the same cell from a view that still shows 版 1
        raw = b.read_raw("顧客").reset_index(drop=True)
        raw.loc[0, "電話番号"] = "03-1111-2222"
        b.write_table("顧客", raw)
        set_setting(b, "実行者名", "鈴木")
        b.save()
    r = run("view", other, overrides=AS_OF)
    assert cid in r.summary_ja and "佐藤" in r.summary_ja and "先に変更" in r.summary_ja
    with open_store(store_url) as st:
        assert tb.read_truth(st, schema.CUSTOMERS).set_index("customer_id").loc[cid, "phone"] == "03-9999-0000"
    with open_book(other, read_only=True) as b:          # the refreshed view shows the winner's value
        assert b.read("customers").set_index("customer_id").loc[cid, "phone"] == "03-9999-0000"


def test_view_rule_mistakes_are_named_and_a_workbook_store_needs_no_view(demo_book, tmp_path, monkeypatch):
    from xlcrm.messages import BadInput
    view = _copy(demo_book, tmp_path / "view.xlsm")
    before = view.read_bytes()
    assert run("view", view).counts == {} and view.read_bytes() == before     # the book is the store
    url = f"duckdb:{tmp_path / 's.duckdb'}"
    migrate(str(view), url)
    monkeypatch.setenv("XLCRM_STORE", url)
    for rule, says in (("血液型=A", "血液型"), ("登録日>=きのう", "登録日")):
        _set(view, "表示する顧客", rule)
        with pytest.raises(BadInput) as e:
            run("view", view)
        assert says in e.value.message("ja") and "表示する顧客" in e.value.message("ja")
    _set(view, "表示する顧客", "担当者")
    with pytest.raises(BadInput) as e, open_book(view) as b:
        b.settings()
    assert "見出し=値" in e.value.message("ja")


def test_the_ribbon_runs_over_the_store_named_on_settings(demo_book, tmp_path):
    """Staff type the store on 設定「保存先」 and press RFM分析: the job runs over the store and says so in the
    message box; a store that cannot be reached is a message box naming it, and the book is not written."""
    from test_ribbon import FakeApp
    from xlcrm import ribbon
    view = _copy(demo_book, tmp_path / "view.xlsm")
    url = f"duckdb:{tmp_path / 'crm.duckdb'}"
    migrate(str(view), url)
    _set(view, "保存先", url)
    app = FakeApp()
    r = ribbon.dispatch("rfm", view, app, lang="ja")
    assert r is not None and app.alerts[-1]["mode"] == "info"
    with open_store(url) as st:
        assert "RFM分析" in [x[0] for x in st.rows("SELECT job FROM journal")][-1:]
    _set(view, "保存先", f"duckdb:{tmp_path / 'no' / 'such' / 'dir' / 'crm.duckdb'}")
    before = view.read_bytes()
    app = FakeApp()
    assert ribbon.dispatch("rfm", view, app, lang="ja") is None
    assert app.alerts[-1]["mode"] == "critical" and "接続できません" in app.alerts[-1]["prompt"]
    assert view.read_bytes() == before


def test_a_duckdb_file_in_use_elsewhere_is_refused_like_an_open_workbook(demo_book, tmp_path, capsys):
    """DuckDB lets one program write a file at a time: while another process holds it, a job exits 3 saying the
    file is in use (and to use PostgreSQL for a team), and writes nothing."""
    import subprocess
    import sys
    view = _copy(demo_book, tmp_path / "view.xlsm")
    db = tmp_path / "crm.duckdb"
    migrate(str(view), f"duckdb:{db}")
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(db)!r}); "
                               "print('open', flush=True); time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        before = view.read_bytes()
        code = main(["run", "rfm", str(view), "--store", f"duckdb:{db}"])
        err = capsys.readouterr().err
        assert code == 3 and "使用中" in err and "PostgreSQL" in err
        assert view.read_bytes() == before
    finally:
        holder.kill()


def test_a_book_written_from_the_store_is_left_alone_when_the_check_fails(demo_book, tmp_path, monkeypatch):
    """Store → book is written into a copy first and checked there; when what the copy reads back disagrees with the
    store, the book (an existing one, or the new one asked for) is not written at all."""
    url = f"duckdb:{tmp_path / 'crm.duckdb'}"
    migrate(str(demo_book), url)
    existing = _copy(demo_book, tmp_path / "existing.xlsm")
    before = existing.read_bytes()
    real = tb.frame_checksums
    monkeypatch.setattr(tb, "frame_checksums", lambda df, types: {**real(df, types), "": (-1, None)})
    for target in (existing, tmp_path / "new.xlsm"):
        with pytest.raises(StoreError) as e:
            migrate(url, str(target))
        assert e.value.key == "migrate_check_failed"
    assert existing.read_bytes() == before and not (tmp_path / "new.xlsm").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".xlcrm-migrate")] == []
