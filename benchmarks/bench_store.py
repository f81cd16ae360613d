"""RFM in a database store (#16): xlcrm.store.sql.rfm against a hand-written SQL reference, on DuckDB and PostgreSQL.

    python benchmarks/bench_store.py                              # DuckDB 50,000,000 orders, PostgreSQL 10,000,000
    python benchmarks/bench_store.py --orders 1000000 --pg-orders 1000000
    python benchmarks/bench_store.py --skip-pg                    # DuckDB only
    python benchmarks/bench_store.py --orders 10000000 --pg-orders 10000000 --jobs   # and the whole jobs

The tables are the ones `xlcrm migrate` makes: a tiny store is written first with
xlcrm.store.tables.write_truth (so the DDL — column types, PRIMARY KEY on the ID, row versions — is exactly
xlcrm's), emptied, and filled inside the database with INSERT … SELECT over generate_series: customers =
orders / 10, order dates uniform over three years (2021-01-01 … 2023-12-31), amounts ¥500 … ¥30,000, about 2 %
returns (negative amounts). As-of date 2024-01-01.

Timed (each twice, the best reported; wall clock):
  xlcrm    xlcrm.store.sql.rfm(store, as_of, {"method": "quintile"}): the one SQL statement, one row per customer
           fetched into pandas, segments named (the path `xlcrm rfm --store …` takes);
  ref      the same figures written by hand (GROUP BY + rank() windows), the result fetched as Arrow
           (DuckDB: .arrow(); PostgreSQL: COPY (…) TO STDOUT as CSV read by pyarrow);
  book     DuckDB only, N ≤ 10,000,000: the workbook path's core, rfm.score(rfm.summarize(orders, as_of)) on
           the orders read into pandas (the read timed apart).
"peak RSS" is this Python process's high-water mark after the step (resource.getrusage; it never goes down, and
a PostgreSQL server's own memory is not in it). No timed asserts: the script prints a Markdown table and
whether xlcrm's r/f/m equal the reference's for every customer.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from xlcrm import rfm as rfm_core  # noqa: E402
from xlcrm import schema  # noqa: E402
from xlcrm.store import sql as store_sql  # noqa: E402
from xlcrm.store.db import Store  # noqa: E402
from xlcrm.store.tables import write_truth  # noqa: E402
from xlcrm.store.url import parse  # noqa: E402

AS_OF = "2024-01-01"
DAYS = 1095                   # 2021-01-01 + 0 … 1094 days

# The hand-written reference: the same definition of a purchase (positive amounts; returns reduce the money,
# floored at 0) and the same quintile rule (1 + floor(5 × (rank − 1) / n)), nothing else.
REF_SQL = """
WITH s AS (
    SELECT customer_id,
           DATE '{as_of}' - max(CASE WHEN amount > 0 THEN CAST(order_date AS DATE) END) AS recency_days,
           sum(CASE WHEN amount > 0 THEN 1 ELSE 0 END) AS frequency,
           GREATEST(sum(amount), 0) AS monetary
    FROM orders WHERE CAST(order_date AS DATE) <= DATE '{as_of}'
    GROUP BY customer_id HAVING sum(CASE WHEN amount > 0 THEN 1 ELSE 0 END) > 0
)
SELECT customer_id, recency_days, frequency, monetary,
       CAST(1 + floor(5.0 * (rank() OVER (ORDER BY recency_days DESC) - 1) / count(*) OVER ()) AS BIGINT) AS r,
       CAST(1 + floor(5.0 * (rank() OVER (ORDER BY frequency) - 1) / count(*) OVER ()) AS BIGINT) AS f,
       CAST(1 + floor(5.0 * (rank() OVER (ORDER BY monetary) - 1) / count(*) OVER ()) AS BIGINT) AS m
FROM s ORDER BY customer_id
"""


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024      # Linux: KiB


def best_of(fn, runs: int = 2):
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def make_tables(store: Store) -> None:
    """customers and orders as write_truth lays them out (one row each), then emptied."""
    cust = pd.DataFrame({"customer_id": ["C00000000"], "name": ["山田 太郎"]})
    orders = pd.DataFrame({"order_id": ["O000000000"], "customer_id": ["C00000000"],
                           "order_date": [pd.Timestamp("2021-01-01")], "amount": [1000.0]})
    write_truth(store, schema.CUSTOMERS, cust)
    write_truth(store, schema.ORDERS, orders)
    store.execute("DELETE FROM orders")
    store.execute("DELETE FROM customers")


def fill_duckdb(store: Store, n: int, c: int) -> None:
    # hash() is deterministic, so the same N gives the same data in every run.
    store.execute(f"""
        INSERT INTO customers (customer_id, name, _row, _version, _by, _at)
        SELECT 'C' || lpad(CAST(i AS VARCHAR), 8, '0'), '顧客' || CAST(i AS VARCHAR), i + 1, 1, 'bench',
               TIMESTAMP '2024-01-01'
        FROM range({c}) t(i)""")
    store.execute(f"""
        INSERT INTO orders (order_id, customer_id, order_date, amount, product, quantity, channel, subscription,
                            coupon, _row, _version, _by, _at)
        SELECT 'O' || lpad(CAST(i AS VARCHAR), 10, '0'),
               'C' || lpad(CAST(hash(i) % {c} AS VARCHAR), 8, '0'),
               TIMESTAMP '2021-01-01' + to_days(CAST(hash(i + 7919) % {DAYS} AS INTEGER)),
               CASE WHEN hash(i + 104729) % 100 < 2 THEN -1 ELSE 1 END
                   * CAST(500 + hash(i + 1299709) % 29501 AS DOUBLE),
               '商品A', 1, 'EC', false, '', i + 1, 1, 'bench', TIMESTAMP '2024-01-01'
        FROM range({n}) t(i)""")


def fill_pg(store: Store, n: int, c: int) -> None:
    store.execute("SELECT setseed(0.16)")
    store.execute(f"""
        INSERT INTO customers (customer_id, name, _row, _version, _by, _at)
        SELECT 'C' || lpad(i::text, 8, '0'), '顧客' || i::text, i + 1, 1, 'bench', TIMESTAMP '2024-01-01'
        FROM generate_series(0, {c - 1}) i""")
    store.execute(f"""
        INSERT INTO orders (order_id, customer_id, order_date, amount, product, quantity, channel, subscription,
                            coupon, _row, _version, _by, _at)
        SELECT 'O' || lpad(i::text, 10, '0'),
               'C' || lpad(floor(random() * {c})::bigint::text, 8, '0'),
               TIMESTAMP '2021-01-01' + floor(random() * {DAYS}) * INTERVAL '1 day',
               CASE WHEN random() < 0.02 THEN -1 ELSE 1 END * (500 + floor(random() * 29501)),
               '商品A', 1, 'EC', false, '', i + 1, 1, 'bench', TIMESTAMP '2024-01-01'
        FROM generate_series(0, {n - 1}) i""")
    store.execute("ANALYZE customers")
    store.execute("ANALYZE orders")


def ref_duckdb(store: Store, sql: str | None = None):
    return store.con.sql(sql or REF_SQL.format(as_of=AS_OF)).to_arrow_table()


def xlcrm_sql_text() -> str:
    """xlcrm's own statement (store.sql.rfm_query) with the as-of date written in: to time it alone, as Arrow."""
    return store_sql.rfm_query({"method": "quintile"}).replace("?", f"DATE '{AS_OF}'")


def ref_pg(store: Store, sql: str | None = None):
    import io

    import pyarrow.csv as pacsv
    buf = io.BytesIO()
    with store.con.cursor().copy(f"COPY ({sql or REF_SQL.format(as_of=AS_OF)}) TO STDOUT WITH (FORMAT csv, HEADER)") as cp:
        for chunk in cp:
            buf.write(chunk)
    buf.seek(0)
    return pacsv.read_csv(buf, convert_options=pacsv.ConvertOptions(
        column_types={"customer_id": "string"}))


def agreement(xl: pd.DataFrame, ref) -> str:
    """How many customers have the same r, f, m (and the same recency/frequency/monetary) on both sides."""
    rt = ref.to_pandas() if hasattr(ref, "to_pandas") else ref
    if len(xl) != len(rt):
        return f"DIFFERENT customer counts: xlcrm {len(xl):,}, reference {len(rt):,}"
    same_id = (xl["customer_id"].astype(str).to_numpy() == rt["customer_id"].astype(str).to_numpy()).all()
    if not same_id:
        return "DIFFERENT customers (ids do not line up)"
    ok = np.ones(len(xl), dtype=bool)
    for c in ("r", "f", "m", "recency_days", "frequency"):
        ok &= xl[c].to_numpy(np.int64) == rt[c].to_numpy(np.int64)
    ok &= np.isclose(xl["monetary"].to_numpy(np.float64), rt["monetary"].to_numpy(np.float64))
    return f"{int(ok.sum()):,} / {len(xl):,} customers agree on r, f, m and the figures"


def time_rfm(label: str, n: int, store: Store, ref, fetched: str, rows: list, notes: list) -> pd.DataFrame:
    """The three RFM timings beside each other — the hand-written reference, xlcrm's statement alone (both fetched
    the same way), the whole `store.sql.rfm` — and whether xlcrm's scores equal the reference's."""
    t, expected = best_of(lambda: ref(store))
    rows.append((label, f"{n:,}", f"ref: hand-written SQL, {fetched}", t, peak_mb()))
    t, _ = best_of(lambda: ref(store, xlcrm_sql_text()))
    rows.append((label, f"{n:,}", f"xlcrm's statement alone, {fetched}", t, peak_mb()))
    t, xl = best_of(lambda: store_sql.rfm(store, AS_OF, {"method": "quintile"}))
    rows.append((label, f"{n:,}", "xlcrm: store.sql.rfm (SQL + pandas + segments)", t, peak_mb()))
    notes.append(f"{label} agreement: {agreement(xl, expected)} ({len(xl):,} customers with a purchase)")
    return xl


def run_duckdb(n: int, rows: list, notes: list, workdir: Path, book_limit: int, jobs: bool = False) -> None:
    c = max(n // 10, 1)
    path = workdir / "bench_store.duckdb"
    store = Store(parse(f"duckdb:{path}"))
    make_tables(store)
    t0 = time.perf_counter()
    fill_duckdb(store, n, c)
    store.execute("CHECKPOINT")
    gen = time.perf_counter() - t0
    size = path.stat().st_size / 2**20
    rows.append(("DuckDB", f"{n:,}", "generate (INSERT … SELECT range, PRIMARY KEY kept)", gen, peak_mb()))
    notes.append(f"DuckDB file: {size:,.0f} MB for {n:,} orders / {c:,} customers")

    xl = time_rfm("DuckDB", n, store, ref_duckdb, "fetched as Arrow", rows, notes)
    if n <= book_limit:
        t, orders = best_of(lambda: store.read_frame("orders"), runs=1)
        rows.append(("DuckDB", f"{n:,}", "book: read orders into pandas (read_frame)", t, peak_mb()))
        t, book = best_of(lambda: rfm_core.score(rfm_core.summarize(orders, AS_OF)))
        rows.append(("DuckDB", f"{n:,}", "book: rfm.score(rfm.summarize(orders)) in pandas/numpy", t, peak_mb()))
        notes.append(f"DuckDB workbook core vs xlcrm store path: {agreement(xl, book)}")
        del orders, book
    else:
        rows.append(("DuckDB", f"{n:,}", f"book: skipped (N > {book_limit:,}: the orders frame would not fit "
                     "beside the rest in memory)", None, None))
    del xl
    store.close()
    if jobs:
        run_jobs(f"duckdb:{path}", "DuckDB", n, rows, workdir)
    path.unlink(missing_ok=True)
    Path(str(path) + ".wal").unlink(missing_ok=True)


def run_jobs(url: str, label: str, n: int, rows: list, workdir: Path) -> None:
    """The whole ribbon jobs over the store, as `xlcrm run JOB BOOK --store URL` runs them (in this process): RFM and
    lapse (pushed down), the follow-up refresh (reads 顧客/注文/対応履歴 into pandas), and undo of the last one.
    The view is a fresh workbook from the template (no customers shown), so the figures are the store's work."""
    import shutil

    from xlcrm.jobs import run
    from xlcrm.jobs.io import undo
    view = workdir / f"view-{label}.xlsm"
    shutil.copy(ROOT / "workbook" / "CRM.xlsm", view)
    os.environ["XLCRM_STORE"] = url
    try:
        for job in ("rfm", "lapse", "followup"):
            t, _ = best_of(lambda job=job: run(job, view, overrides={"as_of": AS_OF}), runs=1)
            rows.append((label, f"{n:,}", f"whole job: xlcrm run {job} --store (one run)", t, peak_mb()))
        t, _ = best_of(lambda: undo(view), runs=1)
        rows.append((label, f"{n:,}", "whole job: xlcrm undo (the follow-up refresh) --store", t, peak_mb()))
    finally:
        os.environ.pop("XLCRM_STORE", None)


def run_pg(n: int, rows: list, notes: list, jobs: bool = False, workdir: Path | None = None) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from pgserver import PgServer
    server = PgServer.launch()
    try:
        notes.append(f"PostgreSQL: throw-away cluster from tests/pgserver.py (sized for tests: fsync off, "
                     f"shared_buffers 16MB), started in {server.startup_seconds:.1f} s")
        try:
            ver = server._admin().execute("SHOW server_version").fetchone()[0]
            notes.append(f"PostgreSQL server version {ver}")
        except Exception:  # noqa: BLE001
            pass
        url = server.create_database("bench_store")
        store = Store(parse(url))
        c = max(n // 10, 1)
        make_tables(store)
        t0 = time.perf_counter()
        fill_pg(store, n, c)
        rows.append(("PostgreSQL", f"{n:,}", "generate (INSERT … SELECT generate_series, PRIMARY KEY kept) "
                     "+ ANALYZE", time.perf_counter() - t0, peak_mb()))
        size = store.rows("SELECT pg_total_relation_size('orders')")[0][0] / 2**20
        notes.append(f"PostgreSQL orders table with its index: {size:,.0f} MB")
        time_rfm("PostgreSQL", n, store, ref_pg, "COPY TO STDOUT → Arrow", rows, notes)
        store.close()
        if jobs:
            run_jobs(url, "PostgreSQL", n, rows, workdir)
    finally:
        server.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=50_000_000, help="DuckDB orders (customers = orders / 10)")
    ap.add_argument("--pg-orders", type=int, default=10_000_000, help="PostgreSQL orders (customers = / 10)")
    ap.add_argument("--book-limit", type=int, default=10_000_000,
                    help="run the workbook core beside the store only up to this many orders")
    ap.add_argument("--skip-duckdb", action="store_true")
    ap.add_argument("--skip-pg", action="store_true")
    ap.add_argument("--workdir", default=None, help="where the DuckDB file goes (default: a temp dir)")
    ap.add_argument("--jobs", action="store_true", help="also time the whole jobs (rfm, lapse, followup, undo)")
    a = ap.parse_args(argv)

    rows: list = []
    notes: list = [f"machine: {os.cpu_count()} cores (os.cpu_count), as-of {AS_OF}"]
    import duckdb
    notes.append(f"duckdb {duckdb.__version__}, pandas {pd.__version__}, numpy {np.__version__}")
    with tempfile.TemporaryDirectory(prefix="xlcrm-bench-store-", dir=a.workdir) as tmp:
        if not a.skip_duckdb:
            run_duckdb(a.orders, rows, notes, Path(tmp), a.book_limit, a.jobs)
        if not a.skip_pg:
            run_pg(a.pg_orders, rows, notes, a.jobs, Path(tmp))

    print("| store | orders | step | best of 2 (s) | peak RSS so far (MB) |")
    print("|---|---:|---|---:|---:|")
    for store, n, step, t, mb in rows:
        print(f"| {store} | {n} | {step} | {'—' if t is None else f'{t:.2f}'} | "
              f"{'—' if mb is None else f'{mb:,.0f}'} |")
    print()
    for s in notes:
        print(f"- {s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
