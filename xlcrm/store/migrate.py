"""`xlcrm migrate`: a workbook's 顧客 / 注文 / 対応履歴 and journal into a store, a store back into a workbook,
and orders from CSV or Parquet straight into a store (beyond a sheet's 1,048,576 rows).

Each move runs in one transaction and is checked before it is committed: the row count and, per column, the
database's own checksum against the one computed from what was sent. A check that fails rolls everything back.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from .. import schema
from ..jobs import JobResult
from ..messages import BadFile, BadInput, Problem, text
from . import tables as tb
from .db import Store, q
from .url import StoreError, parse

BOOK_SUFFIXES = (".xlsx", ".xlsm")
DATA_SUFFIXES = (".csv", ".parquet", ".pq")


def migrate(source: str, dest: str, *, replace: bool = False) -> JobResult:
    """Move data from `source` to `dest` (a workbook path or a store URL each; a CSV/Parquet of orders as source)."""
    src_kind = _kind(source)
    dst_kind = _kind(dest)
    if src_kind == "book" and dst_kind == "store":
        return book_to_store(source, dest, replace=replace)
    if src_kind == "store" and dst_kind == "book":
        return store_to_book(source, dest)
    if src_kind == "data" and dst_kind == "store":
        return orders_to_store(source, dest)
    raise StoreError("migrate_bad_pair", source=parse(source).shown if src_kind == "store" else Path(source).name,
                     dest=parse(dest).shown if dst_kind == "store" else Path(dest).name)


def _kind(s: str) -> str:
    low = str(s).lower()
    if low.startswith(("duckdb:", "postgresql:", "postgres:")):
        return "store"
    if low.endswith(BOOK_SUFFIXES):
        return "book"
    if low.endswith(DATA_SUFFIXES):
        return "data"
    parse(s)   # raises store_bad_url for anything else
    return "store"


def _frames_of_book(path) -> tuple[dict, pd.DataFrame | None]:
    from ..book import JOURNAL, open_book
    p = Path(path)
    if not p.is_file():
        raise BadFile("book_not_found", name=p.name)
    with open_book(p, read_only=True) as book:
        frames = {t.key: book.read(t.key, required=t is not schema.CONTACTS) for t in tb.TRUTH}
        journal = book.read_raw(JOURNAL)
    for t in (schema.ORDERS, schema.CONTACTS):
        if frames.get(t.key) is not None:
            schema.check_references(frames["customers"], frames[t.key], t.ja)
    return {k: v for k, v in frames.items() if v is not None}, journal


def _journal_frame(journal: pd.DataFrame | None) -> pd.DataFrame:
    cols = ["change_id", "at", "job", "who", "summary_ja", "summary_en", "undoes"]
    if journal is None or journal.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    def col(h):
        return journal[h].tolist() if h in journal.columns else [None] * len(journal)
    return pd.DataFrame({"change_id": [str(v or "") for v in col("変更ID")], "at": col("日時"), "job": col("処理"),
                         "who": col("実行者"), "summary_ja": col("内容"), "summary_en": [None] * len(journal),
                         "undoes": [None] * len(journal)})


def book_to_store(path, url: str, *, replace: bool = False) -> JobResult:
    frames, journal = _frames_of_book(path)
    u = parse(url)
    with Store(u) as st:
        st.begin()
        if not replace:
            for t in tb.TRUTH:
                if st.has_table(t.key) and st.count(t.key):
                    raise StoreError("migrate_not_empty", url=u.shown, table=t.ja, n=st.count(t.key))
        tb.ensure_system_tables(st)
        lines_ja, lines_en = [], []
        for t in tb.TRUTH:
            df = frames.get(t.key, pd.DataFrame({c.key: pd.Series(dtype=object) for c in t.columns}))
            tb.write_truth(st, t, df, who="migrate")
            _verify(st, t.key, df, t.ja)
            ncols = len([c for c, _ in st.columns(t.key) if not c.startswith("_")])
            lines_ja.append(text("migrate_table", "ja", table=t.ja, n=len(df), cols=ncols))
            lines_en.append(text("migrate_table", "en", table=t.key, n=len(df), cols=ncols))
        jf = _journal_frame(journal)
        st.insert_frame(tb.JOURNAL, jf)
        tb.journal_row(st, "移行", f"ブック「{Path(path).name}」から移行", f"migrated from {Path(path).name}")
        st.commit()
    kw = {"src": Path(path).name, "dest": u.shown, "journal": len(jf)}
    ja = text("migrate_in_done", "ja", **kw) + "\n" + "\n".join(lines_ja)
    en = text("migrate_in_done", "en", **kw) + "\n" + "\n".join(lines_en)
    return JobResult(ja, en, {k: len(v) for k, v in frames.items()})


def _verify(st: Store, name: str, df: pd.DataFrame, label: str) -> None:
    """Compare the database's checksums of what it now holds with the frame's; StoreError (rolled back) if not."""
    bad = tb.differences(tb.frame_checksums(df, dict(st.columns(name))), tb.checksums(st, name))
    if bad:
        raise StoreError("migrate_check_failed", table=label, columns="、".join(bad))


def store_to_book(url: str, path) -> JobResult:
    from ..book import open_book
    from ..build import build_workbook
    from ..jobs.io import _text_headers
    u = parse(url)
    with Store(u) as st:
        counts = {t.key: st.count(t.key) for t in tb.TRUTH if st.has_table(t.key)}
        if schema.CUSTOMERS.key not in counts:
            raise StoreError("store_empty", url=u.shown)
        too_big = [(t, counts[t.key]) for t in tb.TRUTH if counts.get(t.key, 0) > tb.SHEET_ROWS]
        if too_big:
            t, n = too_big[0]
            raise StoreError("migrate_too_many_rows", table=t.ja, n=n, limit=tb.SHEET_ROWS)
        frames = {t.key: tb.read_truth(st, t) for t in tb.TRUTH if t.key in counts}
        sums = {t.key: tb.checksums(st, t.key) for t in tb.TRUTH if t.key in counts}
        types = {t.key: dict(st.columns(t.key)) for t in tb.TRUTH if t.key in counts}
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)

    def write(target: Path, **kw) -> None:
        with open_book(target, **kw) as book:
            for t in tb.TRUTH:
                if t.key in frames:
                    body = tb.as_cells(frames[t.key], t)
                    book.write_table(t.ja, body, text_columns=_text_headers(t, body.columns))
            book.journal("migrate", f"保存先 {u.shown} から書き出し", f"written from the store {u.shown}")
            book.save()

    # first into a copy beside the book, read back as any job will and checked: the book itself is written only
    # when the checksums agree
    with tempfile.TemporaryDirectory(dir=p.parent, prefix=".xlcrm-migrate-") as tmp:
        trial = Path(tmp) / p.name
        if p.exists():
            shutil.copy2(p, trial)
        else:
            build_workbook(trial)
        write(trial, backups=0)
        with open_book(trial, read_only=True) as book:
            for t in tb.TRUTH:
                if t.key in frames:
                    bad = tb.differences(sums[t.key], tb.frame_checksums(book.read(t.key), types[t.key]))
                    if bad:
                        raise StoreError("migrate_check_failed", table=t.ja, columns="、".join(bad))
        if p.exists():
            write(p)            # the book's own save: lock check, backup, atomic replace
        else:
            os.replace(trial, p)
    kw = {"src": u.shown, "dest": p.name}
    lines = {lang: [text("migrate_table", lang, table=t.ja if lang == "ja" else t.key, n=counts[t.key],
                         cols=len([c for c in types[t.key] if not c.startswith("_")]))
                    for t in tb.TRUTH if t.key in counts] for lang in ("ja", "en")}
    return JobResult("\n".join([text("migrate_out_done", "ja", **kw), *lines["ja"]]),
                     "\n".join([text("migrate_out_done", "en", **kw), *lines["en"]]), counts)


CHUNK = 500_000      # orders checked and stored per step: memory stays that of one chunk, whatever the file


def _chunks(path: Path):
    """The orders file as raw frames of up to CHUNK rows, each indexed by the row (CSV: the line) it came from.

    CSV (UTF-8, BOM or cp932) is streamed by Arrow, every cell as text; a file Arrow cannot stream exactly (a cell
    with a line break in it) is read whole by csvio, which names lines as staff see them. Parquet comes in its own
    record batches, typed."""
    import pyarrow as pa
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq
        start = 2
        for batch in pq.ParquetFile(path).iter_batches(batch_size=CHUNK):
            df = batch.to_pandas()
            df.index = pd.RangeIndex(start, start + len(df))
            start += len(df)
            yield df
        return
    import pyarrow.csv as pacsv
    from ..jobs.rfm import _detect_encoding
    from ..csvio import read_csv
    enc = _detect_encoding(path)
    try:
        names = pacsv.open_csv(path, read_options=pacsv.ReadOptions(encoding=enc)).schema.names
        reader = pacsv.open_csv(path, read_options=pacsv.ReadOptions(encoding=enc, block_size=1 << 25),
                                parse_options=pacsv.ParseOptions(ignore_empty_lines=False),
                                convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                                     strings_can_be_null=False))
        line, pending = 2, []
        for batch in reader:
            df = batch.to_pandas().astype(object)
            df.index = pd.RangeIndex(line, line + len(df))
            line += len(df)
            df = df[(df != "").any(axis=1)]              # blank lines: skipped, as csvio skips them
            pending.append(df)
            if sum(map(len, pending)) >= CHUNK:
                yield pd.concat(pending)
                pending = []
        if pending:
            yield pd.concat(pending)
    except pa.ArrowInvalid:       # a line break inside a cell, a ragged row: the careful reader names it
        yield read_csv(path)


def orders_to_store(path, url: str) -> JobResult:
    """Append the orders of a CSV or Parquet file to the store's 注文, chunk by chunk in one transaction: every
    cell checked as the sheet's are, every customer known to the store, no order ID it already has; the checksums
    of all rows added compared with the file's at the end. Nothing is added if anything fails."""
    p = Path(path)
    if not p.is_file():
        raise BadFile("csv_not_found", name=p.name)
    u = parse(url)
    t = schema.ORDERS
    with Store(u) as st:
        st.begin()
        if not st.has_table(schema.CUSTOMERS.key):
            raise StoreError("store_empty", url=u.shown)
        if not st.has_table(t.key):
            tb.write_truth(st, t, pd.DataFrame({c.key: pd.Series(dtype=object) for c in t.columns}), who="migrate")
        first = None
        want, added = None, 0
        for raw in _chunks(p):
            df = schema.conform(raw, t, sheet=p.name)
            _refuse(df, _unknown_customers(st, df), "customer_id", "unknown_customer", p.name)
            _refuse(df, _existing_ids(st, df["order_id"]), "order_id", "store_id_exists", p.name)
            last = tb.add_rows(st, t.key, df, "migrate")
            first = last if first is None else first
            added += len(df)
            sums = tb.frame_checksums(df, dict(st.columns(t.key)))
            want = sums if want is None else {c: (want.get(c, (0, 0.0))[0] + n, None if v is None else
                                                  (want.get(c, (0, 0.0))[1] or 0.0) + v)
                                              for c, (n, v) in sums.items()}
        if want is not None:
            bad = tb.differences(want, tb.checksums(st, t.key, where="_row > ?", params=(first,)))
            if bad:
                raise StoreError("migrate_check_failed", table=t.ja, columns="、".join(bad))
        tb.ensure_system_tables(st)
        tb.journal_row(st, "取り込み", f"注文 {added:,}件を「{p.name}」から取り込み", f"{added:,} orders imported")
        st.commit()
        total = st.count(t.key)
    kw = {"n": added, "name": p.name, "dest": u.shown, "total": total}
    return JobResult(text("migrate_orders_done", "ja", **kw), text("migrate_orders_done", "en", **kw),
                     {"orders": added, "total": total})


def _refuse(df: pd.DataFrame, bad: set, col: str, key: str, name: str) -> None:
    """BadInput naming the first five rows whose `col` is in `bad` (and how many more), if any."""
    if not bad:
        return
    hit = df[col].isin(bad).to_numpy()
    rows = df.index[hit][:5]
    raise BadInput([Problem(name, int(r), schema.ORDERS.header(col), key) for r in rows],
                   omitted=max(0, int(hit.sum()) - len(rows)))


def _unknown_customers(st: Store, df: pd.DataFrame) -> set:
    ids = pd.DataFrame({"customer_id": pd.unique(df["customer_id"])})
    _stage(st, "_xlcrm_ids", ids)
    got = st.rows(f"SELECT i.customer_id FROM _xlcrm_ids i LEFT JOIN {q('customers')} c "
                  "ON c.customer_id = i.customer_id WHERE c.customer_id IS NULL")
    st.execute("DROP TABLE _xlcrm_ids")
    return {r[0] for r in got}


def _existing_ids(st: Store, ids: pd.Series) -> set:
    _stage(st, "_xlcrm_ids", pd.DataFrame({"order_id": ids.to_numpy()}))
    got = st.rows(f"SELECT i.order_id FROM _xlcrm_ids i JOIN {q('orders')} o ON o.order_id = i.order_id")
    st.execute("DROP TABLE _xlcrm_ids")
    return {r[0] for r in got}


def _stage(st: Store, name: str, df: pd.DataFrame) -> None:
    """A temporary one-column table of ids, for joins the database does."""
    st.execute(f"CREATE TEMPORARY TABLE {q(name)} ({', '.join(q(c) + ' TEXT' for c in df.columns)})")
    st.insert_frame(name, df, types={c: "TEXT" for c in df.columns})
    st.analyze(name)
