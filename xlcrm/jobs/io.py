"""Jobs that move data in and out of the workbook: CSV import and export, and undo of the last change."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .. import schema
from ..book import open_book
from ..csvio import guess_table, read_csv, write_csv
from ..messages import BadInput, Problem
from . import JobResult

_BOOL_TEXT = {"dm_ok": ("可", "不可"), "mail_ok": ("可", "不可"), "subscription": ("定期", "")}


def sheet_values(df: pd.DataFrame, t: schema.Table, headers: dict[str, str]) -> pd.DataFrame:
    """A conformed table as cell values under the given headers: flags as staff write them (可/不可)."""
    out = {}
    for k in df.columns:
        s = df[k]
        if k in _BOOL_TEXT:
            yes, no = _BOOL_TEXT[k]
            s = s.map(lambda v: "" if v is pd.NA or v is None else (yes if v else no)).astype(object)
        out[headers.get(k, t.header(k) if k in t.by_key else k)] = s
    return pd.DataFrame(out, index=df.index)


def import_csvs(book_path, csv_paths, *, update: bool = False) -> JobResult:
    """Read customer/order/contact CSVs (UTF-8, BOM or cp932), check every cell, then add them to the book.

    Rows whose ID is already in the book are skipped (or overwritten with `update`); staff columns are kept.
    Nothing is written if any CSV has a problem.
    """
    incoming: dict[str, pd.DataFrame] = {}
    for p in map(Path, csv_paths):
        raw = read_csv(p)
        key = guess_table(list(raw.columns))
        if key is None:
            raise BadInput([Problem(p.name, None, "", "csv_unknown_table", name=p.name)])
        incoming[key] = schema.conform(raw, key, sheet=p.name)
    counts = {}
    with open_book(book_path) as book:
        customers = book.read("customers", required=False)
        known = pd.concat([x["customer_id"] for x in (customers, incoming.get("customers")) if x is not None])
        for key in ("orders", "contacts"):
            if key in incoming:
                schema.check_references(pd.DataFrame({"customer_id": known.unique()}), incoming[key],
                                        incoming[key].attrs["sheet"])
        for key in ("customers", "orders", "contacts"):
            if key not in incoming:
                continue
            t = schema.table(key)
            new = incoming[key]
            raw = book.read_raw(t.ja)
            if raw is None:
                body = sheet_values(new, t, {})
                added, updated = len(body), 0
            else:
                hmap = schema.header_map(raw.columns, t)
                headers = {k: h for h, k in hmap.items()}
                existing_ids = raw[headers[t.id_column]].map(schema.parse_text)
                new_ids = new[t.id_column]
                fresh = new[~new_ids.isin(set(existing_ids)).to_numpy()]
                body = raw.reset_index(drop=True)
                updated = 0
                if update:
                    repl = sheet_values(new[new_ids.isin(set(existing_ids)).to_numpy()], t, headers)
                    pos = pd.Series(range(len(existing_ids)), index=existing_ids.to_numpy())
                    for _, row in repl.iterrows():
                        i = pos[row[headers[t.id_column]]]
                        for h, v in row.items():
                            if h in body.columns:
                                body.at[i, h] = v
                        updated += 1
                add = sheet_values(fresh, t, headers).reset_index(drop=True)
                body = pd.concat([body, add.reindex(columns=list(body.columns) +
                                                    [c for c in add.columns if c not in body.columns])],
                                 ignore_index=True)
                added = len(add)
            book.write_table(t.ja, body, key=None, text_columns=_text_headers(t, body.columns))
            counts[key] = {"added": added, "updated": updated}
        summary_ja = "、".join(f"{schema.table(k).ja} 追加{v['added']}件 更新{v['updated']}件" for k, v in counts.items())
        summary_en = ", ".join(f"{k}: {v['added']} added, {v['updated']} updated" for k, v in counts.items())
        book.journal("import", "CSV取り込み: " + summary_ja, "CSV import: " + summary_en)
        book.save()
    return JobResult("取り込みました: " + summary_ja, "Imported: " + summary_en, counts)


def _text_headers(t: schema.Table, headers) -> tuple:
    hmap = schema.header_map(headers, t)
    return tuple(h for h, k in hmap.items() if k in t.by_key and t.by_key[k].kind in ("id", "phone", "postcode"))


def export_table(book_path, table: str, out, *, encoding: str = "utf-8-sig") -> JobResult:
    """Write one table of the book to CSV for mail-merge or DM tools (formula-like cells neutralised).
    A book open in Excel is read as last saved."""
    with open_book(book_path, read_only=True) as book:
        try:
            name = schema.table(table).ja
        except KeyError:
            name = table
        raw = book.read_raw(name)
        if raw is None:
            raise BadInput([Problem(name, None, name, "missing_table", table=name)])
    write_csv(raw, out, encoding=encoding)
    n = len(raw)
    return JobResult(f"{name} を {n}行 書き出しました: {Path(out).name}", f"Exported {n} rows of {name} to {Path(out).name}",
                     {"rows": n})


def undo(book_path, change_id: str | None = None) -> JobResult:
    """Restore what the last (or the named) change in 変更履歴 overwrote."""
    with open_book(book_path) as book:
        done = book.undo_last(change_id)
        if done is None:
            return JobResult("取り消せる変更はありません。", "Nothing to undo.", {"undone": None})
        book.save()
    return JobResult(f"変更 {done} を取り消しました。", f"Change {done} undone.", {"undone": done})
