"""The store's tables: 顧客 / 注文 / 対応履歴 as xlcrm's typed frames, the append-only journal, undo's
before-images, and the tables jobs generate (フォローリスト, 重複候補, …) under their sheet's name.

Per-column checksums (`checksums`) are computed by the database itself and, for the same rows, from a frame in
Python (`frame_checksums`): a migration compares the two, so what arrived is known to be what was sent.
"""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from .. import schema
from .db import VERSION_COLUMNS, Store, q, sql_type_of

TRUTH = (schema.CUSTOMERS, schema.ORDERS, schema.CONTACTS)
JOURNAL = "journal"
UNDO = "undo"
SHEET_ROWS = 1_048_576 - 1      # a sheet's rows below its header
SYSTEM_COLUMNS = ("_row", *VERSION_COLUMNS)


def layout(t: schema.Table, df: pd.DataFrame) -> list[tuple[str, str]]:
    """(column, type) for table `t` holding `df`: the schema's columns, staff's columns, and `_row`."""
    cols = [(c.key, sql_type_of(c, None)) for c in t.columns]
    cols += [(str(c), sql_type_of(None, df[c])) for c in df.columns if c not in t.by_key and c != "_row"]
    return cols + [("_row", "BIGINT")]


def ensure_system_tables(store: Store) -> None:
    """The journal (append-only: PostgreSQL refuses UPDATE and DELETE on it) and the undo before-images."""
    store.create_table(JOURNAL, [("change_id", "TEXT"), ("at", "TIMESTAMP"), ("job", "TEXT"), ("who", "TEXT"),
                                 ("summary_ja", "TEXT"), ("summary_en", "TEXT"), ("undoes", "TEXT")])
    store.create_table(UNDO, [("change_id", "TEXT"), ("job", "TEXT"), ("ops", "TEXT")])
    if store.dialect == "postgresql":
        store.execute("""
            CREATE OR REPLACE FUNCTION xlcrm_journal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'xlcrm journal is append-only'; END $$""")
        store.execute("DROP TRIGGER IF EXISTS journal_append_only ON journal")
        store.execute("CREATE TRIGGER journal_append_only BEFORE UPDATE OR DELETE ON journal "
                      "FOR EACH ROW EXECUTE FUNCTION xlcrm_journal_append_only()")


def write_truth(store: Store, t: schema.Table, df: pd.DataFrame, *, versioned: bool = True, who: str = "") -> None:
    """Create table `t` for `df` (English keys) and fill it; the rows keep their order in `_row`."""
    body = df.reset_index(drop=True).copy()
    for c in t.columns:
        if c.key not in body.columns:
            body[c.key] = pd.NaT if c.kind in ("date", "datetime") else ("" if sql_type_of(c, None) == "TEXT"
                                                                          else None)
    cols = layout(t, body)
    store.create_table(t.key, cols, key=t.id_column, versioned=versioned, replace=True)
    if versioned:
        add_rows(store, t.key, body, who)
    else:
        store.insert_frame(t.key, body.assign(_row=np.arange(1, len(body) + 1, dtype=np.int64)), types=dict(cols))


def add_rows(store: Store, name: str, typed: pd.DataFrame, who: str) -> int:
    """Append `typed` (columns as the table's; new ones added) to the versioned table `name`, each row version 1 by
    `who`, numbered on from the last `_row`. Returns that last row number before them."""
    last = int(store.rows(f"SELECT coalesce(max(_row), 0) FROM {q(name)}")[0][0])
    body = typed.reset_index(drop=True).assign(_row=np.arange(last + 1, last + 1 + len(typed), dtype=np.int64),
                                               _version=1, _by=who, _at=pd.Timestamp.now().floor("s"))
    store.insert_frame(name, body, types=ensure_columns(store, name, body))
    return last


def ensure_columns(store: Store, name: str, df: pd.DataFrame) -> dict[str, str]:
    """The table's column types, after adding the columns of `df` it lacks (staff's own, typed from the values)."""
    types = dict(store.columns(name))
    for c in df.columns:
        if str(c) not in types:
            types[str(c)] = sql_type_of(None, df[c])
            store.add_column(name, str(c), types[str(c)])
    return types


def drop_system(df: pd.DataFrame) -> pd.DataFrame:
    """`df` without the store's own columns (_row and the row version)."""
    return df.drop(columns=[c for c in SYSTEM_COLUMNS if c in df.columns])


def as_cells(df: pd.DataFrame, t: schema.Table) -> pd.DataFrame:
    """A typed frame of `t` as cells to write: Japanese headers, flags as TRUE/FALSE or blank (定期's "" would read
    back as blank, not False)."""
    out = df.rename(columns={c.key: c.ja for c in t.columns})
    for c in t.columns:
        if c.kind == "bool" and c.ja in out.columns:
            out[c.ja] = out[c.ja].astype(object).where(out[c.ja].notna(), None)
    out.attrs = dict(df.attrs)
    return out


def journal_row(store: Store, job: str, summary_ja: str, summary_en: str | None = None, *, who: str = "",
                change_id: str = "", undoes: str | None = None, at=None) -> None:
    """One row appended to the store's journal (it takes no other kind of write)."""
    store.insert_frame(JOURNAL, pd.DataFrame([{
        "change_id": change_id, "at": at or dt.datetime.now().replace(microsecond=0), "job": job, "who": who,
        "summary_ja": summary_ja, "summary_en": summary_en, "undoes": undoes}]))


def read_truth(store: Store, t: schema.Table) -> pd.DataFrame | None:
    """Table `t` as the workbook path reads it (English keys, typed), rows in sheet order; None if absent."""
    if not store.has_table(t.key):
        return None
    return drop_system(store.read_frame(t.key)).reset_index(drop=True)


# --- checksums ---------------------------------------------------------------------------------------------------

def _epoch_sql(store: Store, col: str) -> str:
    if store.dialect == "duckdb":
        return f"epoch({col})"
    return f"extract(epoch from {col})"


def checksums(store: Store, name: str, columns: list[str] | None = None, *, where: str = "", params=()) -> dict:
    """{column: (non-blank count, figure)} computed by the database: sum for numbers and flags, sum of epoch
    seconds for timestamps, total characters for text; plus {"": row count}. `where` checks some rows only."""
    types = dict(store.columns(name))
    cols = [c for c in (columns or types) if c in types and not c.startswith("_")]
    parts = ["count(*)"]
    for c in cols:
        qc, t = q(c), types[c]
        if t == "TEXT":
            parts += [f"count(nullif({qc}, ''))", f"sum(length({qc}))"]
        elif t == "TIMESTAMP":
            parts += [f"count({qc})", f"sum({_epoch_sql(store, qc)})"]
        elif t == "BOOLEAN":
            parts += [f"count({qc})", f"sum(CASE WHEN {qc} THEN 1 ELSE 0 END)"]
        else:
            parts += [f"count({qc})", f"sum({qc})"]
    row = store.rows(f"SELECT {', '.join(parts)} FROM {q(name)}" + (f" WHERE {where}" if where else ""), params)[0]
    out = {"": (int(row[0]), None)}
    for i, c in enumerate(cols):
        n, v = row[1 + 2 * i], row[2 + 2 * i]
        out[c] = (int(n or 0), float(v or 0))
    return out


def frame_checksums(df: pd.DataFrame, types: dict[str, str]) -> dict:
    """The same figures as `checksums`, from a frame about to be stored."""
    out = {"": (len(df), None)}
    for c, t in types.items():
        if c.startswith("_") or c not in df.columns:
            continue
        s = df[c]
        if t == "TEXT":
            v = s.map(lambda x: "" if x is None or (isinstance(x, float) and x != x) else str(x))
            out[c] = (int((v != "").sum()), float(v.str.len().sum()))
        elif t == "TIMESTAMP":
            d = pd.to_datetime(s, errors="coerce").astype("datetime64[us]")
            secs = d.dropna().astype("int64") / 1e6
            out[c] = (int(d.notna().sum()), float(secs.sum()))
        elif t == "BOOLEAN":
            b = s.astype("boolean")
            out[c] = (int(b.notna().sum()), float(b.fillna(False).astype(int).sum()))
        else:
            x = pd.to_numeric(s.map(lambda v: None if v == "" else v) if s.dtype == object else s, errors="coerce")
            out[c] = (int(x.notna().sum()), float(x.sum()))
    return out


def differences(a: dict, b: dict) -> list[str]:
    """Columns whose checksums disagree (sums compared to 1e-9 relative: a database adds in its own order)."""
    bad = []
    for c, (n, v) in a.items():
        m, w = b.get(c, (None, None))
        if n != m or (v is not None and not math.isclose(v, w or 0.0, rel_tol=1e-9, abs_tol=1e-6)):
            bad.append(c or "行数")
    return bad
