"""名寄せ jobs: find duplicates (重複候補 sheet + 重複警告 column), merge what staff decided, undo a merge; and the
same matcher on any CSV / Excel table from the command line.

Staff decide on the 重複候補 sheet, column 判定: 統合 (merge) / 別人 (different people) / 保留 (hold). Decisions are
keyed by the pair of customer ids, so they survive re-runs; a pair decided 別人 is never proposed (or clustered)
again, and its row stays on the sheet as the record of that decision.
"""
from __future__ import annotations

import datetime as dt
import json
import unicodedata
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from .. import dedupe, merge, schema
from ..book.base import col_letter
from ..csvio import read_csv
from ..messages import BadFile, BadInput, Problem, text
from . import JobResult
from .formats import DATETIME, RATE, dress_customer_columns

CANDIDATES = "重複候補"
STATE = "_xlcrm_dedupe"   # hidden: customer_id -> cluster_id of the last run, and the fitted model
WARN = "重複警告"
# 判定 as staff may type it (folded): the drop-down's three words, and the ways of saying them
DECISIONS = {**{w: "統合" for w in ("統合", "統合する", "する", "○", "〇", "◯", "はい", "同一人物", "同じ", "merge",
                                     "yes", "y")},
             **{w: "別人" for w in ("別人", "別", "しない", "統合しない", "×", "✕", "x", "いいえ", "違う", "different",
                                     "no", "n")},
             **{w: "保留" for w in ("保留", "△", "あとで", "未定", "hold", "later")}}
CHOICES = ("統合", "別人", "保留")
HOUSEHOLD_CHOICES = ("別人", "保留")   # two people of one household are never offered as a merge
# 判定 right after the IDs, where staff decide without scrolling; Reason (English) only in English mode
COLUMNS = ["グループ", "顧客ID", "相手ID", "判定", "氏名", "相手氏名", "一致確率", "区分", "理由", "Reason", "ペアキー"]
WIDTHS = {"グループ": 10, "顧客ID": 10, "相手ID": 10, "判定": 8, "氏名": 14, "相手氏名": 14, "一致確率": 9, "区分": 15,
          "理由": 60, "Reason": 60, "ペアキー": 16}
# 同一世帯(別人): two people of one household (a given name or the sex disagrees; address, e-mail … shared).
# Shown so staff see why they are not proposed; 判定 is left blank, a merge happens only if staff write 統合.
KIND_MATCH, KIND_REVIEW, KIND_DECIDED = "同一人物候補", "要確認", "判定済み"
KIND_HOUSEHOLD = dedupe.HOUSEHOLD_LABEL[0]


def _pair_key(a: str, b: str) -> str:
    if (len(b), b) < (len(a), a):
        a, b = b, a
    return f"{a}|{b}"


def _decisions(book) -> tuple[dict[str, str], pd.DataFrame | None]:
    """Staff decisions on the 重複候補 sheet by pair key; BadInput naming the cell for anything unreadable."""
    raw = book.read_raw(CANDIDATES)
    if raw is None or raw.empty or "判定" not in raw.columns:
        return {}, raw
    out, problems = {}, []
    letter = raw.attrs.get("letters", {}).get("判定", "")
    for row, a, b, d in zip(raw.index, raw.get("顧客ID", ""), raw.get("相手ID", ""), raw["判定"]):
        s = schema.parse_text(d)
        if not s:
            continue
        k = unicodedata.normalize("NFKC", s).strip().lower()
        if k not in DECISIONS:
            problems.append(Problem(CANDIDATES, int(row), "判定", "dedupe_bad_decision",
                                    cell=f"{letter}{row}" if letter else ""))
            continue
        out[_pair_key(schema.parse_text(a), schema.parse_text(b))] = DECISIONS[k]
    if problems:
        raise BadInput(problems)
    return out, raw


def _state(book) -> tuple[dict[str, str], dedupe.Model | None]:
    raw = book.read_raw(STATE)
    if raw is None or raw.empty:
        return {}, None
    ids = raw["customer_id"].map(schema.parse_text)
    cl = raw["cluster_id"].map(schema.parse_text)
    model = None
    m = ids.eq("#model")
    if m.any():
        try:
            model = dedupe.Model.from_json(cl[m].iloc[0])
        except (ValueError, KeyError):
            model = None
    return dict(zip(ids[~m], cl[~m])), model


def dedupe_book(book, settings, *, new_only: bool = False) -> JobResult:
    """Find duplicate customers. Full run: the 重複候補 sheet and the 重複警告 column for everyone. new_only: only
    customers added since the last run are checked against everyone (the last run's model is reused), and only
    their 重複警告 cells are set."""
    customers = book.read("customers")
    if len(customers) < 2:  # a new shop's book: nothing to compare, nothing to write
        return JobResult(text("dedupe_too_few", "ja", n=len(customers)), text("dedupe_too_few", "en", n=len(customers)),
                         {"groups": 0, "records": 0, "review": 0, "households": 0})
    decisions, _ = _decisions(book)
    previous, model = _state(book)
    ids = customers["customer_id"].to_numpy(object)
    if new_only and previous and model is not None:
        return _check_new(book, customers, previous, model, settings)
    cannot = {frozenset(k.split("|")) for k, v in decisions.items() if v == "別人"}
    must = {frozenset(k.split("|")) for k, v in decisions.items() if v == "統合"}
    res = dedupe.find_duplicates(customers, threshold=settings.dedupe_threshold,
                                 review_threshold=settings.dedupe_review, cannot_link=cannot,
                                 must_link=must, previous=previous)
    names = dict(zip(ids, customers["name"].to_numpy(object)))
    p = res.pairs
    cid = dict(zip(res.clusters["id"], res.clusters["cluster_id"]))
    size = dict(zip(res.clusters["id"], res.clusters["cluster_size"]))
    rows = []
    review_at = settings.dedupe_review
    # a household pair alike below the review line and without staff's decision is not shown: a million of them
    # at 100,000 customers are dropped at once, and the rest read as lists (pandas hands out the values of its
    # Arrow-backed text one call at a time)
    decided = {x for k in decisions for x in k.split("|")}
    shown = ~(p["household"].to_numpy(bool) & (p["alike_probability"].to_numpy(float) < review_at))
    if decided:
        shown |= schema.isin(p["id_a"], decided) | schema.isin(p["id_b"], decided)
    p = p[shown]
    cols = [p[c].tolist() for c in ("id_a", "id_b", "household", "alike_probability", "accepted",
                                    "match_probability", "reason_ja", "reason_en")]
    for id_a, id_b, household, alike, accepted, prob, reason_ja, reason_en in zip(*cols):
        key = _pair_key(id_a, id_b)
        dec = decisions.pop(key, "")
        if household:  # shown when, names and sex aside, it looks like one person twice
            if alike < review_at and not dec:
                continue
            kind = KIND_HOUSEHOLD
        elif dec == "別人":
            kind = KIND_DECIDED
        elif accepted and cid[id_a] == cid[id_b]:
            kind = KIND_MATCH
        else:
            kind = KIND_REVIEW
        group = cid[id_a] if (cid[id_a] == cid[id_b] and size[id_a] > 1 and kind == KIND_MATCH) else ""
        rows.append([group, id_a, id_b, dec, names.get(id_a, ""), names.get(id_b, ""),
                     round(float(prob), 4), kind, reason_ja, reason_en, key])
    # decisions about pairs no longer proposed are kept: they are the record of what staff decided
    for key, dec in decisions.items():
        a, b = key.split("|")
        if a in names and b in names:
            rows.append(["", a, b, dec, names[a], names[b], None, KIND_DECIDED, "", "", key])
    order = {KIND_MATCH: 0, KIND_REVIEW: 1, KIND_HOUSEHOLD: 2, KIND_DECIDED: 3}
    table = pd.DataFrame(rows, columns=COLUMNS)
    table["_o"] = table["区分"].map(order)
    table["_g"] = table["グループ"].map(lambda g: (len(g), g) if g else (10**9, ""))
    table = table.sort_values(["_o", "_g", "一致確率"], ascending=[True, True, False], kind="stable")
    table = table.drop(columns=["_o", "_g"]).reset_index(drop=True)
    english = settings.lang == "en"
    shown = table if english else table.drop(columns=["Reason"])
    loc = book.write_table(CANDIDATES, shown, key="ペアキー", text_columns=("顧客ID", "相手ID", "グループ", "ペアキー"),
                           reorder=True, retire=() if english else ("Reason",))
    dress_candidates(book, loc, table["区分"].eq(KIND_HOUSEHOLD).to_numpy())
    # 重複警告 on 顧客: the group for clustered records, the best candidate for records only to check
    warn = dict.fromkeys(ids.tolist(), "")
    multi = res.clusters[res.clusters["cluster_size"] > 1]
    warn.update(zip(multi["id"].tolist(), [f"重複候補 {g}" for g in multi["cluster_id"].tolist()]))
    review = table[table["区分"] == KIND_REVIEW]
    for a, b in zip(review["顧客ID"].tolist(), review["相手ID"].tolist()):
        for x, y in ((a, b), (b, a)):
            if x in warn and not warn[x]:
                warn[x] = f"要確認 {y}"
    book.update_columns("customers", pd.DataFrame({"customer_id": ids, WARN: [warn[i] for i in ids.tolist()]}),
                        key="customer_id")
    dress_customer_columns(book, {WARN: (None, 16)})
    state = pd.DataFrame({"customer_id": list(res.clusters["id"]) + ["#model"],
                          "cluster_id": list(res.clusters["cluster_id"]) + [res.model.to_json()]})
    book.write_table(STATE, state, hidden=True, text_columns=("customer_id", "cluster_id"))
    groups = int(multi["cluster_id"].nunique())
    counts = {"groups": groups, "records": int(len(multi)), "review": int((table["区分"] == KIND_REVIEW).sum()),
              "households": int(res.pairs["household"].sum()), "candidates": int(res.n_candidates)}
    book.journal("dedupe", text("dedupe_done", "ja", **counts), text("dedupe_done", "en", **counts))
    return JobResult(text("dedupe_done", "ja", **counts), text("dedupe_done", "en", **counts), counts)


def dress_candidates(book, loc, household) -> None:
    """判定 as a drop-down (統合 / 別人 / 保留; a household pair offers only 別人 / 保留), 一致確率 as a percentage,
    widths that show 判定 beside the IDs, printed landscape with the header on every page."""
    if loc is None:
        return
    book.dress_table(CANDIDATES, number_formats={"一致確率": RATE}, widths=WIDTHS, exact_widths=True, header=True)
    if not loc.rows or "validations" not in book.capabilities() or "判定" not in loc.headers:
        return
    letter = col_letter(loc.first_col + loc.headers.index("判定"))
    first = loc.header_row + 1
    rows = [first + i for i in range(min(loc.rows, len(household)))]
    for options, pick in ((CHOICES, ~household), (HOUSEHOLD_CHOICES, household)):
        for i, rng in enumerate(_row_ranges([r for r, p in zip(rows, pick) if p], letter)):
            book.add_list_validation(CANDIDATES, rng, options, replace=i == 0)


def _row_ranges(rows: list[int], letter: str) -> list[str]:
    """Rows of one column as ranges of adjacent rows: [2, 3, 4, 9] -> ["D2:D4", "D9:D9"]."""
    out = []
    for r in rows:
        if out and r == out[-1][1] + 1:
            out[-1][1] = r
        else:
            out.append([r, r])
    return [f"{letter}{a}:{letter}{b}" for a, b in out]


def _check_new(book, customers, previous, model, settings) -> JobResult:
    ids = customers["customer_id"].to_numpy(object)
    new = ~pd.Series(ids).isin(list(previous)).to_numpy()
    res = dedupe.find_duplicates(customers, threshold=settings.dedupe_threshold,
                                 review_threshold=settings.dedupe_review, model=model, only_new=new,
                                 previous=previous)
    warn = {}
    p = res.pairs[~res.pairs["household"]].sort_values("match_probability", ascending=False)
    for r in p.itertuples(index=False):
        for x, y in ((r.id_a, r.id_b), (r.id_b, r.id_a)):
            if x in warn or x in previous:
                continue
            label = "重複の可能性" if r.accepted else "要確認"
            warn[x] = f"{label} {y}({r.reason_ja})"
    # only the new rows' cells: the rest of the column keeps what the last full run wrote
    raw_warn = book.read_raw("顧客")
    old = {}
    if raw_warn is not None and WARN in raw_warn.columns:
        hmap = schema.header_map(list(raw_warn.columns), schema.CUSTOMERS)
        id_h = next(h for h, k in hmap.items() if k == "customer_id")
        old = dict(zip(raw_warn[id_h].map(schema.parse_text), raw_warn[WARN].map(schema.parse_text)))
    col = [warn.get(x, "") if is_new else old.get(x, "") for x, is_new in zip(ids, new)]
    book.update_columns("customers", pd.DataFrame({"customer_id": ids, WARN: col}), key="customer_id")
    counts = {"new": int(new.sum()), "warned": len(warn)}
    book.journal("dedupe", text("dedupe_new_done", "ja", **counts), text("dedupe_new_done", "en", **counts))
    return JobResult(text("dedupe_new_done", "ja", **counts), text("dedupe_new_done", "en", **counts), counts)


# --- merge / undo ----------------------------------------------------------------------------------------------

def _dates_as_dates(df: pd.DataFrame | None) -> pd.DataFrame | None:
    """Columns holding only dates (and blanks) as datetime64, so the book writes them as dates: as plain objects
    the workbook layer takes '2024-01-05' for digits-and-hyphens text and writes the serial number as text."""
    if df is None:
        return None
    out = df.copy()
    for c in out.columns:
        vals = [v for v in out[c] if not schema.is_blank(v)]
        if vals and all(isinstance(v, (dt.date, dt.datetime)) for v in vals):
            out[c] = pd.to_datetime(pd.Series([None if schema.is_blank(v) else v for v in out[c]], index=out.index,
                                              dtype=object))
    return out


def _raw(book, key: str) -> pd.DataFrame | None:
    t = schema.table(key)
    raw = book.read_raw(t.ja)
    return _dates_as_dates(raw if raw is not None else book.read_raw(t.key))


def merge_book(book, settings) -> JobResult:
    """Merge every group of pairs decided 統合 on the 重複候補 sheet (see xlcrm.merge)."""
    decisions, cand = _decisions(book)
    pairs = [tuple(k.split("|")) for k, v in decisions.items() if v == "統合"]
    if not pairs:
        return JobResult(text("merge_nothing", "ja"), text("merge_nothing", "en"), {"groups": 0})
    cannot = {frozenset(k.split("|")) for k, v in decisions.items() if v == "別人"}
    groups, held = merge.groups_from_decisions(pairs, cannot)
    customers = book.read("customers")
    orders = book.read("orders", required=False)
    book.read("contacts", required=False)     # a bad 対応履歴 cell stops the merge before anything is written
    known = set(customers["customer_id"])
    groups = [[x for x in g if x in known] for g in groups]
    groups = [g for g in groups if len(g) > 1]
    plans = merge.plan(groups, customers, orders, settings.merge_master)
    now = dt.datetime.now().replace(microsecond=0)
    merge_id = "M" + now.strftime("%Y%m%d%H%M%S") + f"{uuid.uuid4().int % 1000:03d}"   # digits only, as a 変更ID
    cust_raw, ord_raw, con_raw = _raw(book, "customers"), _raw(book, "orders"), _raw(book, "contacts")
    cust_new, ord_new, con_new, hist = merge.apply(plans, cust_raw, ord_raw, con_raw, merge_id=merge_id, now=now)
    book.write_table("顧客", cust_new.reset_index(drop=True))
    n_orders = sum(len(json.loads(x)) for x in hist["付け替えた注文"])
    n_contacts = sum(len(json.loads(x)) for x in hist["付け替えた対応"])
    if ord_new is not None and n_orders:
        book.write_table("注文", ord_new.reset_index(drop=True))
    if con_new is not None and n_contacts:
        book.write_table("対応履歴", con_new.reset_index(drop=True))
    _append_history(book, hist)
    absorbed = set(hist["統合元顧客ID"])
    if cand is not None and len(cand):
        keep = ~(cand["顧客ID"].map(schema.parse_text).isin(absorbed) | cand["相手ID"].map(schema.parse_text).isin(absorbed))
        book.write_table(CANDIDATES, cand[keep.to_numpy()].reset_index(drop=True), key="ペアキー",
                         text_columns=("顧客ID", "相手ID", "グループ", "ペアキー"))
    ids = sorted(set(hist["統合ID"]))
    n_referrers = sum(len(json.loads(x)) for x in hist["付け替えた紹介者"])
    counts = {"groups": len(plans), "records": len(hist), "orders": n_orders, "contacts": n_contacts,
              "referrers": n_referrers, "ids": ", ".join(ids), "held": len(held)}
    ja, en = text("merge_done", "ja", **counts), text("merge_done", "en", **counts)
    if held:
        ja += text("merge_conflict", "ja", n=len(held))
        en += " " + text("merge_conflict", "en", n=len(held))
    book.journal("merge", ja, en)
    return JobResult(ja, en, counts)


HISTORY_WIDTHS = {"統合ID": 20, "日時": 16, "主顧客ID": 10, "統合元顧客ID": 12, "統合元の行": 30, "主の変更前": 30,
                  "付け替えた注文": 20, "付け替えた対応": 20, "取消": 16, "付け替えた紹介者": 20}


def _append_history(book, rows: pd.DataFrame) -> None:
    old = book.read_raw(merge.HISTORY)
    if old is not None and len(old):
        old = old.reindex(columns=merge.HISTORY_COLUMNS)
        rows = pd.concat([old.reset_index(drop=True), rows], ignore_index=True)
    book.write_table(merge.HISTORY, rows, text_columns=("統合ID", "主顧客ID", "統合元顧客ID", "統合元の行", "主の変更前",
                                                        "付け替えた注文", "付け替えた対応", "付け替えた紹介者"))
    book.dress_table(merge.HISTORY, number_formats={"日時": DATETIME, "取消": DATETIME}, widths=HISTORY_WIDTHS,
                     header=True)


def undo_merge_book(book, settings, *, merge_id: str | None = None) -> JobResult:
    """Undo merge `merge_id` (default: the latest not yet undone) from its before-images in 統合履歴."""
    hist = book.read_raw(merge.HISTORY)
    if hist is None or hist.empty:
        return JobResult(text("undo_merge_none", "ja"), text("undo_merge_none", "en"), {"records": 0})
    hist = hist.copy()
    hist["統合ID"] = hist["統合ID"].map(schema.parse_text)
    open_ = hist[hist["取消"].map(schema.is_blank)]
    if merge_id is None:
        if open_.empty:
            return JobResult(text("undo_merge_none", "ja"), text("undo_merge_none", "en"), {"records": 0})
        merge_id = open_["統合ID"].iloc[-1]
    elif merge_id not in set(open_["統合ID"]):
        raise BadInput(key="undo_merge_unknown", id=merge_id)
    cust_raw, ord_raw, con_raw = _raw(book, "customers"), _raw(book, "orders"), _raw(book, "contacts")
    cust, o, c, n = merge.undo(merge_id, cust_raw, ord_raw, con_raw, hist)
    book.write_table("顧客", cust.reset_index(drop=True))
    if o is not None:
        book.write_table("注文", o.reset_index(drop=True))
    if c is not None:
        book.write_table("対応履歴", c.reset_index(drop=True))
    hist.loc[hist["統合ID"] == merge_id, "取消"] = dt.datetime.now().replace(microsecond=0)
    book.write_table(merge.HISTORY, hist.reset_index(drop=True),
                     text_columns=("統合ID", "主顧客ID", "統合元顧客ID", "統合元の行", "主の変更前", "付け替えた注文", "付け替えた対応",
                                   "付け替えた紹介者"))
    counts = {"id": merge_id, "records": n}
    ja, en = text("undo_merge_done", "ja", **counts), text("undo_merge_done", "en", **counts)
    book.journal("undo_merge", ja, en)
    return JobResult(ja, en, counts)


# --- any table ---------------------------------------------------------------------------------------------------

def parse_map(items: list[str] | None) -> dict[str, str]:
    """COLUMN=KIND pairs from the command line."""
    out = {}
    for it in items or []:
        col, sep, kind = it.rpartition("=")
        kind = kind.strip().lower()
        if not sep or not col or kind not in dedupe.KINDS:
            raise BadInput(key="dedupe_bad_map", kinds=", ".join(dedupe.KINDS))
        out[col.strip()] = kind
    return out


def read_any(path: Path) -> pd.DataFrame:
    """A CSV (UTF-8, BOM or cp932; index = file line) or the first sheet of an Excel file (index = sheet row)."""
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls", ".ods"):
        df = pd.read_excel(path, dtype=object, engine="calamine").fillna("")
        df.index = pd.RangeIndex(2, 2 + len(df))
        return df
    return read_csv(path)


def table_kinds(columns, mapping: dict[str, str]) -> dict[str, str]:
    """Kinds per input column: our schema's headers (ja or en) need no --map; --map adds or overrides."""
    kinds = {}
    for h, k in schema.header_map(list(columns), schema.CUSTOMERS).items():
        if k in dedupe.SCHEMA_KINDS:
            kinds[h] = dedupe.SCHEMA_KINDS[k]
    for col, kind in mapping.items():
        if col not in columns:
            raise BadInput(key="dedupe_unknown_column", column=col)
        kinds[col] = kind
    return kinds


def dedupe_table(input_path, out_path, *, id_column: str | None = None, mapping: dict[str, str] | None = None,
                 threshold: float = 0.5, lang: str = "ja") -> JobResult:
    """Dedupe any table: writes customer_id, cluster_id, match_score, match_reason per input row (UTF-8 CSV)."""
    path, out = Path(input_path), Path(out_path)
    if not path.exists():
        raise BadFile("book_not_found", name=path.name)
    df = read_any(path)
    df.columns = [str(c).strip() for c in df.columns]
    kinds = table_kinds(df.columns, mapping or {})
    if id_column is None:
        hmap = schema.header_map(list(df.columns), schema.CUSTOMERS)
        id_column = next((h for h, k in hmap.items() if k == "customer_id"), None)
    if id_column is not None and id_column not in df.columns:
        raise BadInput(key="dedupe_unknown_column", column=id_column)
    if id_column is None:
        id_column = "__row__"
        df[id_column] = [str(i) for i in df.index]  # the line / row number as the file shows it
    kinds.pop(id_column, None)
    if not kinds:
        raise BadInput(key="dedupe_no_fields")
    ids = df[id_column].map(schema.parse_text)
    bad = ids.eq("") | ids.duplicated(keep="first")
    if bad.any():
        first = {v: i for i, v in zip(ids.index[::-1], ids[::-1])}
        raise BadInput([Problem(path.name, int(i), id_column, "duplicate_id" if ids[i] else "empty_id",
                                other=first.get(ids[i], "")) for i in ids.index[bad.to_numpy()]])
    df[id_column] = ids
    res = dedupe.find_duplicates(df, kinds, id_column=id_column, threshold=threshold)
    cl = res.clusters
    outdf = pd.DataFrame({"customer_id": cl["id"].to_numpy(), "cluster_id": cl["cluster_id"].to_numpy(),
                          "match_score": np.round(cl["match_score"].to_numpy(), 4),
                          "match_reason": cl["match_reason_en" if lang == "en" else "match_reason_ja"].to_numpy()})
    out.parent.mkdir(parents=True, exist_ok=True)
    outdf.to_csv(out, index=False, encoding="utf-8-sig")
    counts = {"records": len(outdf), "clusters": int(outdf["cluster_id"].nunique()),
              "dupes": int(len(outdf) - outdf["cluster_id"].nunique()), "out": out.name}
    return JobResult(text("dedupe_table_done", "ja", **counts), text("dedupe_table_done", "en", **counts), counts)
