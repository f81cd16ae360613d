"""One connection to a database store (DuckDB file or PostgreSQL), speaking each dialect where they differ.

Tables keep xlcrm's typed frames: schema columns under their English keys (text as '' when blank, dates as
timestamps, amounts as doubles, flags as booleans), columns staff added under their own header, and `_row`, the
row's place in the sheet. Tables staff edit carry row versions: `_version` (1, 2, …), `_by` (who made it),
`_at` (when). Frames go in as Arrow (DuckDB scans it; PostgreSQL takes it through COPY) and come out as pandas.
"""
from __future__ import annotations

import datetime as dt
import io
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from .. import schema
from .url import StoreBusy, StoreError, StoreURL, keyring_password, redact

VERSION_COLUMNS = ("_version", "_by", "_at")

_KIND_SQL = {"date": "TIMESTAMP", "datetime": "TIMESTAMP", "amount": "DOUBLE PRECISION",
             "number": "DOUBLE PRECISION", "bool": "BOOLEAN"}


def q(name: str) -> str:
    """A quoted identifier (Japanese headers and staff's own words are column names too)."""
    return '"' + str(name).replace('"', '""') + '"'


def sql_type_of(col: schema.Column | None, s: pd.Series) -> str:
    """The column type for a schema column, or for staff's column from its values."""
    if col is not None:
        return _KIND_SQL.get(col.kind, "TEXT")
    if pd.api.types.is_bool_dtype(s.dtype):
        return "BOOLEAN"
    if pd.api.types.is_numeric_dtype(s.dtype):
        return "DOUBLE PRECISION"
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return "TIMESTAMP"
    vals = [v for v in s.tolist() if v is not None and v == v and v != ""]
    if vals and all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in vals):
        return "DOUBLE PRECISION"
    if vals and all(isinstance(v, (dt.datetime, dt.date, pd.Timestamp)) for v in vals):
        return "TIMESTAMP"
    return "TEXT"


def to_sql_values(s: pd.Series, sqltype: str) -> pd.Series:
    """`s` as the column type holds it (None for blank dates, numbers and flags)."""
    if sqltype == "TIMESTAMP":
        return pd.to_datetime(s, errors="coerce").astype("datetime64[us]")
    if sqltype == "DOUBLE PRECISION":
        return pd.to_numeric(s.map(lambda v: None if v == "" else v) if s.dtype == object else s,
                             errors="coerce").astype("float64")
    if sqltype == "BOOLEAN":
        return s.astype("boolean")
    if s.dtype == object:
        return s.map(lambda v: None if v is None or (isinstance(v, float) and v != v) else str(v)).astype(object)
    return s.astype(object).where(s.notna(), None)


class Store:
    """A connection with one transaction open while a job runs (`begin` … `commit`/`rollback`)."""

    def __init__(self, url: StoreURL, *, connect_timeout: int = 10):
        self.url = url
        self.dialect = url.kind
        self.shown = url.shown
        self._in_tx = False
        if url.kind == "duckdb":
            import duckdb
            try:
                self.con = duckdb.connect(url.target)
            except Exception as e:  # noqa: BLE001 — a locked file or not a DuckDB file: name the file
                if "lock" in str(e).lower():
                    raise StoreBusy("store_in_use", url=self.shown) from None
                raise StoreError("store_unreachable", url=self.shown, why=_first_line(e)) from None
        elif url.kind == "postgresql":
            import psycopg
            kw = {"connect_timeout": connect_timeout, "application_name": "xlcrm"}
            pw = keyring_password(url.target)
            if pw is not None and urlsplit(url.target).password is None:    # a typed password wins
                kw["password"] = pw
            try:
                self.con = psycopg.connect(url.target, autocommit=True, **kw)
            except psycopg.OperationalError as e:
                raise StoreError(_pg_error_key(e), url=self.shown, why=redact(_first_line(e))) from None
            except psycopg.ProgrammingError:
                raise StoreError("store_bad_url", url=self.shown) from None
        else:
            raise StoreError("store_bad_url", url=self.shown)

    # --- statements ---------------------------------------------------------------------------------------
    def execute(self, sql: str, params=()):
        """Run one statement (`?` placeholders in both dialects); returns the cursor."""
        try:
            if self.dialect == "duckdb":
                return self.con.execute(sql, list(params))
            cur = self.con.cursor()
            cur.execute(sql.replace("?", "%s") if params else sql, tuple(params) if params else None)
            return cur
        except Exception as e:
            self._lost(e)
            raise

    def rows(self, sql: str, params=()) -> list[tuple]:
        return list(self.execute(sql, params).fetchall())

    def query(self, sql: str, params=()) -> pd.DataFrame:
        """A result set as a DataFrame (column names as selected)."""
        if self.dialect == "duckdb":
            try:
                return self.con.execute(sql, list(params)).df()
            except Exception as e:
                self._lost(e)
                raise
        cur = self.execute(sql, params)
        names = [d.name for d in cur.description]
        return pd.DataFrame.from_records(cur.fetchall(), columns=names, coerce_float=True)

    def _lost(self, e: Exception) -> None:
        """A server that went away mid-job, or a role without the right: StoreError naming the store (the
        transaction was not committed)."""
        if type(e).__name__ in ("UniqueViolation", "ConstraintException"):   # psycopg, duckdb
            raise StoreError("store_same_id", url=self.shown) from None
        if self.dialect == "postgresql":
            import psycopg
            if isinstance(e, psycopg.errors.InsufficientPrivilege):
                raise StoreError("store_denied", url=self.shown, why=redact(_first_line(e))) from None
            if isinstance(e, psycopg.OperationalError) or getattr(self.con, "closed", False):
                raise StoreError("store_lost", url=self.shown, why=redact(_first_line(e))) from None

    # --- transactions -------------------------------------------------------------------------------------
    def begin(self) -> None:
        if not self._in_tx:
            self.execute("BEGIN")
            self._in_tx = True

    def commit(self) -> None:
        if self._in_tx:
            self.execute("COMMIT")
            self._in_tx = False

    def rollback(self) -> None:
        if self._in_tx:
            self._in_tx = False
            try:
                self.execute("ROLLBACK")
            except Exception:  # noqa: BLE001 — a connection that is gone has rolled back by itself
                pass

    def close(self) -> None:
        self.rollback()
        try:
            self.con.close()
        except Exception:  # noqa: BLE001
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- tables -------------------------------------------------------------------------------------------
    def has_table(self, name: str) -> bool:
        if self.dialect == "postgresql":      # information_schema lists only tables the role may use
            return bool(self.rows("SELECT to_regclass(?) IS NOT NULL", (q(name),))[0][0])
        sql = "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND table_name = ?"
        return bool(self.rows(sql, (name,))[0][0])

    def columns(self, name: str) -> list[tuple[str, str]]:
        """(column, SQL type) in table order."""
        schema_ = "main" if self.dialect == "duckdb" else "public"
        got = self.rows("SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? "
                        "AND table_name = ? ORDER BY ordinal_position", (schema_, name))
        return [(c, _canonical_type(t)) for c, t in got]

    def count(self, name: str) -> int:
        return int(self.rows(f"SELECT count(*) FROM {q(name)}")[0][0])

    def create_table(self, name: str, cols: list[tuple[str, str]], *, key: str | None = None,
                     versioned: bool = False, replace: bool = False) -> None:
        if replace:
            self.execute(f"DROP TABLE IF EXISTS {q(name)}")
        parts = [f"{q(c)} {t}" + (" PRIMARY KEY" if c == key else "") for c, t in cols]
        if versioned:
            parts += ['"_version" BIGINT NOT NULL DEFAULT 1', '"_by" TEXT', '"_at" TIMESTAMP']
        self.execute(f"CREATE TABLE IF NOT EXISTS {q(name)} ({', '.join(parts)})")

    def analyze(self, name: str) -> None:
        """Fresh statistics for a table just filled (PostgreSQL plans a join with a new temporary table as if it
        held a handful of rows otherwise)."""
        if self.dialect == "postgresql":
            self.execute(f"ANALYZE {q(name)}")

    def add_column(self, name: str, col: str, sqltype: str) -> None:
        self.execute(f"ALTER TABLE {q(name)} ADD COLUMN {q(col)} {sqltype}")

    def insert_frame(self, name: str, df: pd.DataFrame, types: dict[str, str] | None = None) -> int:
        """Append the rows of `df` (columns named as the table's) in bulk."""
        if not len(df):
            return 0
        import pyarrow as pa
        types = types or dict(self.columns(name))
        data = {c: to_sql_values(df[c], types.get(c, "TEXT")) for c in df.columns}
        arrow = pa.table({c: pa.array(v.tolist() if v.dtype == object else v,
                                      type=_arrow_type(types.get(c, "TEXT")), from_pandas=True)
                          for c, v in data.items()})
        cols = ", ".join(q(c) for c in df.columns)
        if self.dialect == "duckdb":
            self.con.register("_xlcrm_in", arrow)
            try:
                self.execute(f"INSERT INTO {q(name)} ({cols}) SELECT {cols} FROM _xlcrm_in")
            finally:
                try:
                    self.con.unregister("_xlcrm_in")
                except Exception:  # noqa: BLE001 — a failed statement aborted the transaction: its error is the one
                    pass
            return len(df)
        import pyarrow.csv as pacsv
        buf = io.BytesIO()
        pacsv.write_csv(arrow, buf, write_options=pacsv.WriteOptions(include_header=False))
        try:
            with self.con.cursor().copy(f"COPY {q(name)} ({cols}) FROM STDIN WITH (FORMAT csv)") as cp:
                cp.write(buf.getvalue())
        except Exception as e:
            self._lost(e)
            raise
        return len(df)

    def read_frame(self, name: str, *, order: str | None = "_row", where: str = "", params=()) -> pd.DataFrame:
        """A whole table (or the rows `where` keeps) with its columns typed as xlcrm's frames are."""
        types = dict(self.columns(name))
        sql = f"SELECT * FROM {q(name)}" + (f" WHERE {where}" if where else "")
        if order and order in types:
            sql += f" ORDER BY {q(order)}"
        df = self._copy_out(sql, types) if self.dialect == "postgresql" and not params else self.query(sql, params)
        for c, t in types.items():
            if c not in df.columns:
                continue
            if t == "TIMESTAMP":
                df[c] = pd.to_datetime(df[c]).astype("datetime64[ns]")
            elif t == "DOUBLE PRECISION":
                df[c] = pd.to_numeric(df[c]).astype("float64")
            elif t == "BOOLEAN":
                df[c] = df[c].astype("boolean")
            elif t == "BIGINT":
                df[c] = pd.to_numeric(df[c]).astype("Int64") if df[c].isna().any() else df[c].astype("int64")
            else:
                df[c] = df[c].astype(object).where(df[c].notna(), None)
        return df


    def _copy_out(self, sql: str, types: dict) -> pd.DataFrame:
        """A PostgreSQL result through COPY … TO STDOUT as CSV, parsed by Arrow: ten times faster than fetching
        tuples. Text stays text (an id 00123 is not a number); "" stays "" and NULL stays missing."""
        import pyarrow as pa
        import pyarrow.csv as pacsv
        buf = io.BytesIO()
        try:
            with self.con.cursor().copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER)") as cp:
                for chunk in cp:
                    buf.write(chunk)
        except Exception as e:
            self._lost(e)
            raise
        buf.seek(0)
        table = pacsv.read_csv(buf, read_options=pacsv.ReadOptions(block_size=1 << 24),
                               convert_options=pacsv.ConvertOptions(
                                   column_types={c: _arrow_type(t) for c, t in types.items()},
                                   strings_can_be_null=True, quoted_strings_can_be_null=False,
                                   true_values=["t"], false_values=["f"]))
        return table.to_pandas(types_mapper={pa.string(): pd.StringDtype("python")}.get).astype(
            {c: object for c, t in types.items() if t == "TEXT"})


def _arrow_type(sqltype: str):
    import pyarrow as pa
    return {"TIMESTAMP": pa.timestamp("us"), "DOUBLE PRECISION": pa.float64(), "BOOLEAN": pa.bool_(),
            "BIGINT": pa.int64()}.get(sqltype, pa.string())


def _canonical_type(t: str) -> str:
    t = t.upper()
    if t.startswith("TIMESTAMP"):
        return "TIMESTAMP"
    if t in ("DOUBLE", "DOUBLE PRECISION", "FLOAT", "REAL", "NUMERIC", "DECIMAL") or t.startswith("DECIMAL"):
        return "DOUBLE PRECISION"
    if t in ("BIGINT", "INTEGER", "INT", "SMALLINT", "HUGEINT"):
        return "BIGINT"
    if t == "BOOLEAN":
        return "BOOLEAN"
    return "TEXT"


def _first_line(e: Exception) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0][:300]


def _pg_error_key(e: Exception) -> str:
    """Which fix to ask for: the password/role, the database name, or the server address."""
    s = str(e).lower()
    if "password" in s or "authentication" in s or "role" in s and "does not exist" in s:
        return "store_bad_login"
    if "database" in s and "does not exist" in s:
        return "store_no_database"
    if "invalid" in s and ("dsn" in s or "uri" in s or "connection option" in s):
        return "store_bad_url"
    return "store_unreachable"
