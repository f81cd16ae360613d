"""Jobs that move data in and out of the workbook: CSV import and export, and undo of the last change."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from .. import messages, schema
from ..book import open_book
from ..csvio import ENCODINGS, _cell_text, closest_table, guess_table, read_csv, write_csv
from ..messages import BadFile, BadInput, Problem
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
        if not p.is_file():
            raise BadFile("csv_not_found", name=p.name)
        raw = read_csv(p)
        key = guess_table(list(raw.columns))
        if key is None:
            table, missing = closest_table(list(raw.columns))
            if not missing:   # every table's required columns present, and two fit equally well
                raise BadInput([Problem(p.name, None, "", "csv_unknown_table", name=p.name)])
            raise BadInput([Problem(p.name, None, "", "csv_closest_table", name=p.name, table=table,
                                    missing="、".join(missing))])
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
            counts[key] = {"added": added, "updated": updated}
            if added or updated:
                book.write_table(t.ja, body, key=None, text_columns=_text_headers(t, body.columns))
        summary_ja = "、".join(f"{schema.table(k).ja} 追加{v['added']}件 更新{v['updated']}件" for k, v in counts.items())
        summary_en = ", ".join(f"{k}: {v['added']} added, {v['updated']} updated" for k, v in counts.items())
        if not any(v["added"] or v["updated"] for v in counts.values()):   # nothing to add: the book stays as it is
            return JobResult("取り込む行がありません(ブックは変更していません): " + summary_ja,
                             "Nothing to import (the workbook is unchanged): " + summary_en, counts)
        book.journal("import", "CSV取り込み: " + summary_ja, "CSV import: " + summary_en)
        book.save()
    return JobResult("取り込みました: " + summary_ja, "Imported: " + summary_en, counts)


def _text_headers(t: schema.Table, headers) -> tuple:
    hmap = schema.header_map(headers, t)
    return tuple(h for h, k in hmap.items() if k in t.by_key and t.by_key[k].kind in ("id", "phone", "postcode"))


LABELS = "宛名ラベル"   # the named export: one address label per customer (--table 宛名ラベル or labels)
_SHOWN = 10              # cells listed per substitution in the summary; the rest are counted


def export_table(book_path, table: str, out, *, encoding: str = "utf-8-sig", strict: bool = False,
                 as_typed: bool = False) -> JobResult:
    """Write one table of the book — or the address-label layout — to CSV for mail-merge, DM or label tools.

    Values are exported clean (dates yyyy/mm/dd, amounts as numbers, phones 090-1234-5678, postcodes 123-4567,
    flags 可/不可; a cell that cannot be read stays as typed and is counted); `as_typed` writes the cells as staff
    typed them. Characters the encoding lacks become their nearest counterpart, each listed with its cell in the
    summary; `strict` refuses them instead. Formula-like cells are neutralised. A book open in Excel is read as
    last saved.
    """
    label = ENCODINGS.get(encoding.lower(), (None, encoding))[1]
    kept: list = []
    skipped = None
    with open_book(book_path, read_only=True) as book:
        if table.strip() in (LABELS, "labels"):
            name = LABELS
            frame, skipped = address_labels(book, kept)
            numbers = ()
        else:
            try:
                t = schema.table(table)
            except KeyError:
                t = None
            name = t.ja if t else table
            raw = book.read_raw(name)
            if raw is None and t is not None:
                raw = book.read_raw(t.key)
            if raw is None:
                raise BadInput([Problem(name, None, name, "missing_table", table=name)])
            frame = raw if as_typed or t is None or t.key == "settings" else clean_values(raw, t, kept)
            numbers = [h for h, k in schema.header_map(raw.columns, t).items()
                       if k in t.by_key and t.by_key[k].kind == "amount"] if t is not None else ()
    subs: list = []
    write_csv(frame, out, encoding=encoding, strict=strict, substitutions=subs, numbers=numbers)
    n, out_name = len(frame), Path(out).name
    lines = {g: [messages.text("export_done", g, table=name, n=n, out=out_name, encoding=label)] for g in ("ja", "en")}
    if skipped is not None:
        for g in lines:
            lines[g].append(messages.text("export_labels_skipped", g, **skipped))
    if kept:
        for g in lines:
            lines[g].append(messages.text("export_kept_as_typed", g, n=len(kept), sheet=kept[0][0], cell=kept[0][1]))
    if subs:
        for g in lines:
            lines[g] += _substitution_lines(subs, label, g)
    return JobResult("\n".join(lines["ja"]), "\n".join(lines["en"]),
                     {"rows": n, "substituted": len(subs), "kept_as_typed": len(kept), "skipped": skipped})


def _substitution_lines(subs, label: str, lang: str) -> list[str]:
    """One line per (character → replacement), with the cells it happened in (the first few, then a count)."""
    by_pair: dict = {}
    for s in subs:
        for pair in dict.fromkeys(s.pairs):
            by_pair.setdefault(pair, []).append(s)
    out = [messages.text("export_substituted", lang, n=len(subs), encoding=label)]
    for (was, now), cells in by_pair.items():
        shown = ", ".join(f"{c.sheet}!{c.cell}" for c in cells[:_SHOWN])
        more = messages.text("more_problems", lang, n=len(cells) - _SHOWN) if len(cells) > _SHOWN else ""
        now = messages.text("export_as_number", lang) if now is None else now or messages.text("export_dropped", lang)
        out.append(f"  {was} → {now}: {shown}{' ' + more if more else ''}")
    return out


# phonenumbers and xlcrm.normalize (its regular expressions compiled at import) cost 0.06–0.1 s to import; every
# job imports this module for sheet_values, only an export that cleans phone numbers and postcodes needs them.
def _fmt_phone(s: str) -> str | None:
    import phonenumbers   # see above

    from .. import normalize   # see above
    d = normalize.phone(s)
    if not d:
        return None
    return phonenumbers.format_number(phonenumbers.parse(d, "JP"), phonenumbers.PhoneNumberFormat.NATIONAL)


def _fmt_postcode(s: str) -> str | None:
    from .. import normalize   # see above _fmt_phone
    d = normalize.postcode(s)
    return f"{d[:3]}-{d[3:]}" if d else None


def _clean_column(values: pd.Series, c: schema.Column, sheet: str, letters: dict, header: str,
                  kept: list) -> pd.Series:
    """A column's cells in one format; a cell that cannot be read keeps its text and is added to `kept`."""
    problems: list = []
    parsed = schema.parse_column(values, c, sheet, problems, letters, header)
    if c.kind in ("date", "datetime"):
        day = parsed.dt.strftime("%Y/%m/%d")
        text = day if c.kind == "date" else day.where(parsed == parsed.dt.normalize(), parsed.dt.strftime("%Y/%m/%d %H:%M"))
        out = text.where(parsed.notna(), "").astype(object)
    elif c.kind in ("amount", "number"):
        out = pd.Series([_cell_text(v) for v in parsed.tolist()], index=values.index, dtype=object)
    elif c.kind == "bool":
        yes, no = _BOOL_TEXT.get(c.key, ("可", "不可"))
        out = parsed.map(lambda v: "" if v is pd.NA else (yes if v else no)).astype(object)
    elif c.kind in ("phone", "postcode"):
        fmt = _fmt_phone if c.kind == "phone" else _fmt_postcode
        codes, uniques = pd.factorize(parsed)
        done = np.array([fmt(u) or u for u in uniques] + [""], dtype=object)
        out = pd.Series(done[codes], index=values.index, dtype=object)
    else:
        out = parsed.astype(object)
    bad = [p.row for p in problems]
    if bad:
        out.loc[bad] = [schema.parse_text(v) if not isinstance(v, str) else v for v in values.loc[bad]]
        kept += [(p.sheet, p.cell or f"{header}{p.row}") for p in problems]
    return out


def _clean_extra(v):
    """A cell of a column the schema does not know (a job's or staff's): dates as yyyy/mm/dd, the rest as is."""
    if isinstance(v, dt.datetime):
        return v.strftime("%Y/%m/%d") if v.time() == dt.time() else v.strftime("%Y/%m/%d %H:%M")
    if isinstance(v, dt.date):
        return v.strftime("%Y/%m/%d")
    return v


def clean_values(raw: pd.DataFrame, t: schema.Table, kept: list) -> pd.DataFrame:
    """The sheet's table with the schema's columns in one format each (see `export_table`); other columns as
    they are. Same headers, rows and attrs, so problems still name the sheet's cells."""
    sheet = raw.attrs.get("sheet", t.ja)
    letters = raw.attrs.get("letters", {})
    hmap = schema.header_map(raw.columns, t)
    out = {}
    for h in raw.columns:
        k = hmap[h]
        out[h] = _clean_column(raw[h], t.by_key[k], sheet, letters, h, kept) if k in t.by_key else \
            raw[h].map(_clean_extra)
    df = pd.DataFrame(out, index=raw.index)
    df.attrs = dict(raw.attrs)
    return df


def address_labels(book, kept: list) -> tuple[pd.DataFrame, dict]:
    """〒, 住所 (都道府県 + 住所), 建物名, 氏名 + 様: one row per customer a DM may go to.

    Customers marked DM不可 and those without an address are left out (counted). Rows and the letters of the
    source columns are kept, so a substitution names the 顧客 cell to fix."""
    raw = book.read_raw(schema.CUSTOMERS.ja)
    if raw is None:
        raise BadInput([Problem(schema.CUSTOMERS.ja, None, schema.CUSTOMERS.ja, "missing_table",
                                table=schema.CUSTOMERS.ja)])
    t = schema.CUSTOMERS
    hmap = schema.header_map(raw.columns, t)
    head = {k: h for h, k in hmap.items() if k in t.by_key}
    for k in ("name", "address"):
        if k not in head:
            raise BadInput([Problem(t.ja, None, t.by_key[k].ja, "missing_column", name=f"{t.by_key[k].ja} ({k})")])
    clean = clean_values(raw, t, kept)

    def col(k):
        return clean[head[k]].astype(str).str.strip() if k in head else pd.Series("", index=clean.index)

    pref, addr = col("prefecture"), col("address")
    full = np.where([a.startswith(p) for p, a in zip(pref, addr)], addr, pref + addr)
    name = col("name")
    honorific = np.where(name.str.endswith("様") | name.eq(""), name, name + " 様")
    dm_no = col("dm_ok").eq("不可") if "dm_ok" in head else pd.Series(False, index=clean.index)
    no_addr = addr.eq("") & ~dm_no
    keep = ~(dm_no | no_addr)
    labels = pd.DataFrame({"〒": col("postcode"), "住所": full, "建物名": col("building"), "氏名": honorific},
                          index=clean.index)[keep.to_numpy()]
    letters = raw.attrs.get("letters", {})
    labels.attrs = {"sheet": raw.attrs.get("sheet", t.ja),
                    "letters": {lab: letters.get(head.get(k), "") for lab, k in
                                (("〒", "postcode"), ("住所", "address"), ("建物名", "building"), ("氏名", "name"))}}
    return labels, {"dm": int(dm_no.sum()), "no_address": int(no_addr.sum())}


def undo(book_path, change_id: str | None = None) -> JobResult:
    """Restore what the last (or the named) change in 変更履歴 overwrote."""
    from . import open_job_book    # jobs/__init__ imports this module's callers: a cycle at import time
    with open_job_book(book_path) as book:
        done = book.undo_last(change_id)
        if done is None:
            return JobResult("取り消せる変更はありません。", "Nothing to undo.", {"undone": None})
        book.save()
    return JobResult(f"変更 {done} を取り消しました。", f"Change {done} undone.", {"undone": done})
