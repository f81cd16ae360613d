"""The Book jobs run on when the truth is in a store: the workbook becomes a view.

`StoredBook(book, store)` answers `read`/`read_raw` of 顧客 / 注文 / 対応履歴 from the store and sends
`update_columns`, `append_rows` and `write_table` of them to the store (and the same change to the workbook's
sheet, so the view shows it). Tables jobs generate are written to the workbook as before and copied into the store
under the sheet's name; those staff edit (フォローリスト's 状態・担当者・期限・結果メモ, 重複候補's 判定) carry a row
version, shown in the sheet's 版 column.

A job is one transaction: opened when the book is opened, committed by `save` before the workbook is saved, rolled
back on any error (a server that goes away mid-job leaves both as they were). Staff edits in the view reach the
store when the next job opens the book: a row changed in the store since the sheet showed it (another member of
staff saved first) is not overwritten — the job is told which row and by whom, and the edit it could not save is
kept in the journal. The journal is append-only; undo writes a new row naming the change it undid.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid

import numpy as np
import pandas as pd

from .. import messages, schema
from ..book.base import UNDO_KEEP, col_letter, job_label
from . import tables as tb
from .db import Store, q, sql_type_of
from .url import StoreError

VERSION_HEADER = "版"
# generated tables staff edit: sheet -> (key header, editable headers)
EDITABLE = {"フォローリスト": ("フォローID", ("状態", "担当者", "期限", "結果メモ")),
            "重複候補": ("ペアキー", ("判定",))}


def _truth(name) -> schema.Table | None:
    for t in tb.TRUTH:
        if name in (t.key, t.ja):
            return t
    return None


def _blank(v) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v) or v == ""


def _same(a, b) -> bool:
    if _blank(a) and _blank(b):
        return True
    if _blank(a) or _blank(b):
        return False
    if isinstance(a, (dt.datetime, dt.date)) or isinstance(b, (dt.datetime, dt.date)):
        try:
            return pd.Timestamp(a) == pd.Timestamp(b)
        except (ValueError, TypeError):
            return False
    if isinstance(a, (int, float, np.number)) and isinstance(b, (int, float, np.number)):
        return float(a) == float(b)
    return str(a) == str(b)


class StoredBook:
    """A Book whose 顧客 / 注文 / 対応履歴 live in `store`; everything else is the workbook `book`'s."""

    def __init__(self, book, store: Store):
        self._book = book
        self.store = store
        self._ops: list[dict] = []         # undo before-images of store tables
        self._journal: list[tuple[str, str, str]] = []
        self._touched: set[str] = set()
        self.conflicts: list[tuple[str, dict]] = []
        store.begin()
        if not store.has_table(tb.JOURNAL):
            tb.ensure_system_tables(store)
        if not store.has_table(schema.CUSTOMERS.key):
            raise StoreError("store_empty", url=store.shown)
        for t in tb.TRUTH:
            self._sync_truth(t)
        self._sync_edits()

    def __getattr__(self, name):
        return getattr(self._book, name)

    @property
    def notices(self):
        return list(getattr(self._book, "notices", [])) + self.conflicts

    def _who(self) -> str:
        try:
            return self._book._journal_voice()[1]
        except Exception:  # noqa: BLE001
            return self._book.user()

    # --- reading ------------------------------------------------------------------------------------------
    def read(self, name: str, *, required: bool = True, columns=None):
        t = _truth(name)     # the store's tables come typed: `columns` is for the book's
        if t is None:
            return self._book.read(name, required=required, columns=columns)
        self._book._step("step_reading", sheet=t.ja)
        if not self.store.has_table(t.key):
            if required:
                raise messages.BadInput([messages.Problem(t.ja, None, t.ja, "missing_table", table=t.ja)])
            return None
        df = self.store.read_frame(t.key)
        rows = df["_row"].to_numpy() + 1
        df = tb.drop_system(df)
        df.index = pd.Index(rows)
        df.attrs["sheet"] = t.ja
        df.attrs["letters"] = {}
        return df

    def read_raw(self, name: str):
        t = _truth(name)
        if t is not None:
            df = self.read(t.key, required=False)
            if df is None:
                return None
            return tb.as_cells(df, t)
        if name in EDITABLE and self.store.has_table(name):
            df = tb.drop_system(self.store.read_frame(name))
            df.index = pd.RangeIndex(2, 2 + len(df))
            df.attrs["sheet"] = name
            view = self._book.read_raw(name)
            df.attrs["letters"] = view.attrs.get("letters", {}) if view is not None else {}
            return df
        return self._book.read_raw(name)

    def pushdown(self, what: str, **kw):
        if what in ("rfm", "lapse"):
            from . import sql
            self._book._step("step_reading", sheet=schema.ORDERS.ja)
            n = self.store.count(schema.CUSTOMERS.key)
            loc = self._book.locate(schema.ORDERS.ja)     # name an order by its cell in the view, as the book would
            heads = schema.header_map([str(h) for h in loc.headers if h], schema.ORDERS) if loc else {}
            at = {k: h for h, k in heads.items()}.get("order_date")
            letter = col_letter(loc.first_col + [str(h) for h in loc.headers].index(at)) if at else ""
            check = sql.date_check(self.store, kw["as_of"], letter=letter, header_row=loc.header_row if loc else 1)
            return getattr(sql, what)(self.store, kw["as_of"], kw["opts"]), n, check
        return None

    # --- writing the truth --------------------------------------------------------------------------------
    def _keys_of(self, t: schema.Table, columns) -> dict:
        """Frame column -> store column: a schema header or alias becomes its English key."""
        hmap = schema.header_map([str(c) for c in columns], t)
        return {c: hmap.get(str(c), str(c)) for c in columns}

    def update_columns(self, name: str, df: pd.DataFrame, *, key: str) -> dict:
        t = _truth(name)
        if t is None:
            return self._book.update_columns(name, df, key=key)
        st = self.store
        names = self._keys_of(t, df.columns)
        src = df.rename(columns=names).drop_duplicates(names[key])
        k = names[key]
        types = dict(st.columns(t.key))
        cols = [c for c in src.columns if c != k]
        for c in cols:
            if c not in types:
                types[c] = sql_type_of(t.by_key.get(c), src[c])
                st.add_column(t.key, c, types[c])
        self._ops.append({"op": "columns", "table": t.key, "key": k, "cols": cols,
                          "image": self._image(t.key, [k, *cols])})
        stage = "_xlcrm_upd"
        st.execute(f"DROP TABLE IF EXISTS {q(stage)}")
        st.execute(f"CREATE TEMPORARY TABLE {q(stage)} ({q(k)} TEXT, "
                   + ", ".join(f"{q(c)} {types[c]}" for c in cols) + ")")
        st.insert_frame(stage, src[[k, *cols]], types={k: "TEXT", **{c: types[c] for c in cols}})
        st.analyze(stage)
        sets = ", ".join(f"{q(c)} = u.{q(c)}" for c in cols)
        st.execute(f"UPDATE {q(t.key)} SET {sets} FROM {q(stage)} u WHERE {q(t.key)}.{q(k)} = u.{q(k)}")
        # NOT EXISTS, not NOT IN: PostgreSQL runs NOT IN over a subquery larger than work_mem row by row
        st.execute(f"UPDATE {q(t.key)} SET " + ", ".join(f"{q(c)} = NULL" for c in cols)
                   + f" WHERE NOT EXISTS (SELECT 1 FROM {q(stage)} u WHERE u.{q(k)} = {q(t.key)}.{q(k)})")
        matched = int(st.rows(f"SELECT count(*) FROM {q(stage)} u JOIN {q(t.key)} ON {q(t.key)}.{q(k)} = u.{q(k)}")
                      [0][0])
        st.execute(f"DROP TABLE {q(stage)}")
        self._touched.add(t.key)
        if self._book.locate(t.ja) is not None:
            return self._book.update_columns(name, df, key=key)
        return {"matched": matched, "unmatched": int(len(src) - matched)}

    def append_rows(self, name: str, df: pd.DataFrame, *, text_columns=()):
        t = _truth(name)
        if t is None:
            return self._book.append_rows(name, df, text_columns=text_columns)
        body = df.rename(columns=self._keys_of(t, df.columns)).reset_index(drop=True)
        typed = schema.conform(body.rename(columns={c.key: c.ja for c in t.columns}), t, sheet=t.ja,
                               check_ids=False)
        self._insert_rows(t, typed)
        return self._book.append_rows(name, df, text_columns=text_columns)

    def _insert_rows(self, t: schema.Table, typed: pd.DataFrame) -> None:
        """Rows (typed, English keys) added at the end of the store's table `t`, version 1 by whoever runs the job."""
        last = tb.add_rows(self.store, t.key, typed, self._who())
        self._ops.append({"op": "appended", "table": t.key, "after_row": last})
        self._touched.add(t.key)

    def write_table(self, name: str, df: pd.DataFrame, **kw):
        t = _truth(name)
        st = self.store
        if t is not None:
            typed = schema.conform(df.reset_index(drop=True), t, sheet=t.ja).reset_index(drop=True)
            self._ops.append({"op": "table", "table": t.key, "image": self._image(t.key)})
            versions = dict(st.rows(f"SELECT {q(t.id_column)}, _version FROM {q(t.key)}"))
            typed["_row"] = np.arange(1, len(typed) + 1, dtype=np.int64)
            typed["_version"] = [int(versions.get(i, 0)) + 1 for i in typed[t.id_column]]
            typed["_by"], typed["_at"] = self._who(), pd.Timestamp.now().floor("s")
            types = tb.ensure_columns(st, t.key, typed)
            st.execute(f"DELETE FROM {q(t.key)}")
            st.insert_frame(t.key, typed, types=types)
            self._touched.add(t.key)
            loc = self._book.locate(t.ja)
            if loc is not None and VERSION_HEADER in [str(h) for h in loc.headers]:   # the view shows the new 版
                df = df.drop(columns=[VERSION_HEADER], errors="ignore").assign(
                    **{VERSION_HEADER: typed["_version"].to_numpy()})
            return self._book.write_table(name, df, **kw)
        if kw.get("hidden") or name.startswith("_"):
            return self._book.write_table(name, df, **kw)
        body = df
        if name in EDITABLE:
            body = self._versioned(name, df)
        loc = self._book.write_table(name, body, **kw)
        if name not in EDITABLE:
            self._mirror(name, df)
        return loc

    def _image(self, table: str, cols: list[str] | None = None) -> str:
        """A before-image of `table` (or of its columns `cols`) copied inside the store, for undo: no row leaves the
        database, so a million customers' RFM columns are kept in a second, not a minute of JSON."""
        name = f"_undo_{uuid.uuid4().hex[:16]}"
        what = ", ".join(q(c) for c in cols) if cols else "*"
        self.store.execute(f"CREATE TABLE {q(name)} AS SELECT {what} FROM {q(table)}")
        self.store.analyze(name)
        return name

    def _mirror(self, name: str, df: pd.DataFrame) -> None:
        """A generated table copied into the store under its sheet's name (replaced whole)."""
        body = df.reset_index(drop=True)
        body.columns = [str(c) for c in body.columns]
        cols = [(c, sql_type_of(None, body[c])) for c in body.columns] + [("_row", "BIGINT")]
        self.store.create_table(name, cols, replace=True)
        body = body.assign(_row=np.arange(1, len(body) + 1, dtype=np.int64))
        self.store.insert_frame(name, body, types=dict(cols))

    def _versioned(self, name: str, df: pd.DataFrame) -> pd.DataFrame:
        """Write a table staff edit into the store with row versions (a row whose editable cells changed gets the
        next version, by whoever ran the job); returns the frame for the sheet, with its 版 column."""
        st = self.store
        key, editable = EDITABLE[name]
        body = df.reset_index(drop=True).copy()
        body.columns = [str(c) for c in body.columns]
        body = body.drop(columns=[VERSION_HEADER], errors="ignore")
        old = st.read_frame(name) if st.has_table(name) else None
        now, who = pd.Timestamp.now().floor("s"), self._who()
        versions, bys, ats = [], [], []
        prev = {} if old is None or key not in old.columns else {
            str(r[key]): r for r in old.to_dict("records")}
        for r in body.to_dict("records"):
            o = prev.get(str(r.get(key)))
            if o is None:
                versions.append(1), bys.append(who), ats.append(now)
            elif all(_same(r.get(c), o.get(c)) for c in editable if c in body.columns):
                versions.append(int(o["_version"])), bys.append(o["_by"]), ats.append(o["_at"])
            else:
                versions.append(int(o["_version"]) + 1), bys.append(who), ats.append(now)
        cols = [(c, sql_type_of(None, body[c])) for c in body.columns] + [("_row", "BIGINT")]
        st.create_table(name, cols, versioned=True, replace=True)
        stored = body.assign(_row=np.arange(1, len(body) + 1, dtype=np.int64), _version=versions, _by=bys,
                             _at=pd.to_datetime(pd.Series(ats, dtype=object)))
        st.insert_frame(name, stored, types={**dict(cols), "_version": "BIGINT", "_by": "TEXT", "_at": "TIMESTAMP"})
        return body.assign(**{VERSION_HEADER: versions})

    # --- staff edits in the view --------------------------------------------------------------------------
    def _sync_edits(self) -> None:
        """Edits staff made in the view's editable tables go to the store, row version by row version."""
        st = self.store
        for name, (key, editable) in EDITABLE.items():
            if not st.has_table(name) or self._book.locate(name) is None:
                continue
            view = self._book.read_raw(name)
            if view is None or VERSION_HEADER not in view.columns or key not in view.columns:
                continue
            stored = st.read_frame(name)
            by_key = {str(r[key]): r for r in stored.to_dict("records")}
            cols = [c for c in editable if c in view.columns and c in stored.columns]
            for r in view.to_dict("records"):
                o = by_key.get(str(r.get(key)))
                if o is None:
                    continue
                changed = [c for c in cols if not _same(r.get(c), o.get(c))]
                if not changed:
                    continue
                seen = schema.parse_number(r.get(VERSION_HEADER))
                if seen is not None and int(seen) == int(o["_version"]):
                    if self._save_edit(name, key, str(r.get(key)), {c: r.get(c) for c in changed}, int(seen)):
                        continue
                    o = st.read_frame(name, where=f"{q(key)} = ?", params=(str(r.get(key)),)).to_dict("records")[0]
                self._conflict(name, key, r, o, changed)

    def _sync_truth(self, t: schema.Table) -> None:
        """Staff's work on the view's 顧客 / 注文 / 対応履歴 goes to the store once the view carries its 版 column
        (written by 表示を更新): a corrected cell updates the row, version by version (a row changed in the store
        since is a conflict, told and journaled); a row typed in with a new ID and no 版 is added. A row whose ID
        the store no longer has (merged away by someone else) is left out, not brought back."""
        st, key = self.store, t.id_column
        loc = self._book.locate(t.ja)
        if loc is None or VERSION_HEADER not in [str(h) for h in loc.headers] or not st.has_table(t.key):
            return
        view = self._book.read(t.key)
        ids = view[key].astype(str).to_numpy(dtype=object)
        stored = st.read_frame(t.key).set_index(key)
        stored.index = pd.Index(stored.index.astype(str).to_numpy(dtype=object), dtype=object)
        here = pd.Index(ids, dtype=object).isin(stored.index)
        seen = pd.to_numeric(view[VERSION_HEADER], errors="coerce").to_numpy(dtype=float)
        new = view[~here & np.isnan(seen)]
        if len(new):
            self._insert_rows(t, new.drop(columns=[VERSION_HEADER]))
        view, seen, ids = view[here], seen[here], ids[here]
        if not len(view):
            return
        theirs = stored.loc[ids]
        cols = [c.key for c in t.columns if c.key != key and c.key in view.columns and c.key in stored.columns]
        diff = {c: _canon(view[c]) != _canon(theirs[c]) for c in cols}
        rows = np.flatnonzero(np.logical_or.reduce(list(diff.values()))) if diff else []
        heads = {c.key: c.ja for c in t.columns}
        for i in rows:
            changed = [c for c in cols if diff[c][i]]
            mine, o, rid = view.iloc[i], theirs.iloc[i], ids[i]
            if not np.isnan(seen[i]) and int(seen[i]) == int(o["_version"]):
                if self._save_edit(t.key, key, rid, {c: mine[c] for c in changed}, int(seen[i])):
                    self._touched.add(t.key)
                    continue
                o = st.read_frame(t.key, where=f"{q(key)} = ?", params=(rid,)).iloc[0]
            self._conflict(t.ja, heads[key], {heads[key]: rid, **{heads[c]: mine[c] for c in changed}},
                           dict(o), [heads[c] for c in changed])

    def refresh_view(self, rule) -> dict:
        """Rewrite the view's 顧客 (the customers 設定「表示する顧客」 names), and the 注文 and 対応履歴 of those
        customers, from the store, each row with its 版 — up to a sheet's rows each (the newest orders and
        contacts first). Returns {table: (shown, in the store)}."""
        from ..jobs.io import _text_headers
        from .rule import where
        st, out = self.store, {}
        cond, params = where(rule, dict(st.columns(schema.CUSTOMERS.key)))
        cust = st.read_frame(schema.CUSTOMERS.key, where=cond, params=params).iloc[:tb.SHEET_ROWS]
        out["customers"] = (len(cust), st.count(schema.CUSTOMERS.key))
        frames = {schema.CUSTOMERS.key: cust}
        stage = "_xlcrm_shown"
        st.execute(f"DROP TABLE IF EXISTS {q(stage)}")
        st.execute(f"CREATE TEMPORARY TABLE {q(stage)} (customer_id TEXT)")
        st.insert_frame(stage, cust[["customer_id"]], types={"customer_id": "TEXT"})
        st.analyze(stage)
        for t, date in ((schema.ORDERS, "order_date"), (schema.CONTACTS, "at")):
            if not st.has_table(t.key):
                continue
            sub = f"customer_id IN (SELECT customer_id FROM {q(stage)})"
            n = int(st.rows(f"SELECT count(*) FROM {q(t.key)} WHERE {sub}")[0][0])
            if n > tb.SHEET_ROWS:       # the newest rows that fit, still in the store's order
                sub += (f" AND _row IN (SELECT _row FROM {q(t.key)} WHERE {sub} ORDER BY {q(date)} DESC, _row DESC "
                        f"LIMIT {tb.SHEET_ROWS})")
            frames[t.key] = st.read_frame(t.key, where=sub)
            out[t.key] = (len(frames[t.key]), st.count(t.key))
        st.execute(f"DROP TABLE {q(stage)}")
        for t in tb.TRUTH:
            if t.key not in frames:
                continue
            df = frames[t.key]
            body = tb.as_cells(tb.drop_system(df), t)
            body[VERSION_HEADER] = df["_version"].to_numpy()
            self._book.write_table(t.ja, body.reset_index(drop=True), text_columns=_text_headers(t, body.columns))
        return out

    def _save_edit(self, table: str, key: str, rid: str, values: dict, seen: int) -> bool:
        """Staff's new `values` for row `rid`, saved only if the row is still at version `seen` (then the next
        version, by whoever runs the job). False: someone saved the row first."""
        sets = ", ".join(f"{q(c)} = ?" for c in values)
        cur = self.store.execute(f"UPDATE {q(table)} SET {sets}, _version = _version + 1, _by = ?, _at = ? "
                                 f"WHERE {q(key)} = ? AND _version = ?",
                                 [_param(v) for v in values.values()]
                                 + [self._who(), dt.datetime.now().replace(microsecond=0), rid, seen])
        return _rowcount(cur) == 1

    def _conflict(self, name, key, mine: dict, theirs: dict, changed: list) -> None:
        at = theirs.get("_at")
        kw = {"table": name, "column": key, "id": str(mine.get(key)), "who": theirs.get("_by") or "?",
              "at": pd.Timestamp(at).strftime("%Y/%m/%d %H:%M") if at is not None and at == at else "?",
              "version": int(theirs.get("_version") or 0), "columns": "、".join(changed)}
        self.conflicts.append(("store_conflict", kw))
        lost = "、".join(f"{c}={'' if _blank(mine.get(c)) else mine.get(c)}" for c in changed)
        self._journal.append(("conflict", messages.text("store_conflict", "ja", **kw) + f"(保存できなかった値: {lost})",
                              messages.text("store_conflict", "en", **kw) + f" (not saved: {lost})"))

    # --- journal, saving, undo ----------------------------------------------------------------------------
    def journal(self, job: str, summary_ja: str, summary_en: str = "") -> None:
        self._journal.append((job, summary_ja, summary_en))
        self._book.journal(job, summary_ja, summary_en)

    def save(self, *, last: bool = False):
        st = self.store
        if self._journal or self._ops:
            now = dt.datetime.now().replace(microsecond=0)
            change_id = now.strftime("%Y%m%d-%H%M%S-") + f"{uuid.uuid4().int % 100000:05d}"
            lang, who = self._book._journal_voice()
            jobs = self._journal or [("(write)", "", "")]
            for job, ja, en in jobs:
                tb.journal_row(st, job_label(job, lang), ja, en or None, who=who,
                               change_id=change_id if self._ops else "", at=now)
            if self._ops:      # the before-images are tables in the store: the ops only name them
                st.insert_frame(tb.UNDO, pd.DataFrame({"change_id": [change_id], "job": [job_label(jobs[0][0], lang)],
                                                       "ops": [json.dumps(self._ops, ensure_ascii=False)]}))
                self._prune_undo()
        self._journal, self._ops = [], []
        st.commit()
        return self._book.save(last=last)

    def _prune_undo(self) -> None:
        """Keep the newest UNDO_KEEP changes undoable; older ones' before-images are dropped."""
        st = self.store
        ids = [r[0] for r in st.rows(f"SELECT change_id FROM {q(tb.UNDO)} ORDER BY change_id")]
        for old in ids[:-UNDO_KEEP]:
            for op in self._ops_of(old):
                if op.get("image"):
                    st.execute(f"DROP TABLE IF EXISTS {q(op['image'])}")
            st.execute(f"DELETE FROM {q(tb.UNDO)} WHERE change_id = ?", (old,))

    def _ops_of(self, change_id: str) -> list[dict]:
        return json.loads(self.store.rows(f"SELECT ops FROM {q(tb.UNDO)} WHERE change_id = ?", (change_id,))[0][0])

    def undo_last(self, change_id: str | None = None) -> str | None:
        st = self.store
        undone = {r[0] for r in st.rows(f"SELECT undoes FROM {q(tb.JOURNAL)} WHERE undoes IS NOT NULL")}
        ids = [r[0] for r in st.rows(f"SELECT change_id FROM {q(tb.UNDO)} ORDER BY change_id")
               if r[0] not in undone]
        if change_id is None:
            change_id = ids[-1] if ids else None
        if change_id is None or change_id not in ids:
            return None
        for op in reversed(self._ops_of(change_id)):
            self._restore(op)
        lang, who = self._book._journal_voice()
        tb.journal_row(st, job_label("undo", lang), f"変更 {change_id} を取り消しました", f"Change {change_id} undone",
                       who=who, undoes=change_id)
        if any(self._shows(t) for t in tb.TRUTH if t.key in self._touched):   # the view shows the store as it is
            self.refresh_view(self._book.settings().store_view)
        self._book.journal("undo", f"変更 {change_id} を取り消しました", f"Change {change_id} undone")
        return change_id

    def _shows(self, t: schema.Table) -> bool:
        """Whether the view's sheet of `t` holds rows (an empty table keeps one blank row)."""
        loc = self._book.locate(t.ja)
        if loc is None or not loc.rows:
            return False
        return loc.rows > 1 or len(self._book.read_raw(t.ja)) > 0

    def _restore(self, op: dict) -> None:
        st, name = self.store, op["table"]
        self._touched.add(name)
        if op["op"] == "appended":
            st.execute(f"DELETE FROM {q(name)} WHERE _row > ?", (int(op["after_row"]),))
        elif op["op"] == "columns":
            sets = ", ".join(f"{q(c)} = u.{q(c)}" for c in op["cols"])
            st.execute(f"UPDATE {q(name)} SET {sets} FROM {q(op['image'])} u WHERE {q(name)}.{q(op['key'])} = "
                       f"u.{q(op['key'])}")
        elif op["op"] == "table":
            cols = ", ".join(q(c) for c, _ in st.columns(op["image"]))
            st.execute(f"DELETE FROM {q(name)}")
            st.execute(f"INSERT INTO {q(name)} ({cols}) SELECT {cols} FROM {q(op['image'])}")

    def close(self) -> None:
        self.store.close()


def _canon(s: pd.Series) -> np.ndarray:
    """Values as comparable text: blanks as "", dates as ISO text, whole numbers without ".0"."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return np.asarray(s.dt.strftime("%Y-%m-%dT%H:%M:%S").fillna(""), dtype=object)

    def one(v):
        if _blank(v):
            return ""
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            return str(int(v))
        if isinstance(v, (dt.datetime, pd.Timestamp)):
            return pd.Timestamp(v).strftime("%Y-%m-%dT%H:%M:%S")
        return str(v)
    return np.asarray([one(v) for v in s.tolist()], dtype=object)


def _param(v):
    if _blank(v):
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v


def _rowcount(cur) -> int:
    n = getattr(cur, "rowcount", None)
    if n is None or n < 0:       # DuckDB: the statement returns the count as a row
        try:
            return int(cur.fetchone()[0])
        except Exception:  # noqa: BLE001
            return 0
    return int(n)
