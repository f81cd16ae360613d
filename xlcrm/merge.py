"""Merge (統合) records staff decided are one person, and undo it exactly — pure pandas over the raw tables.

The tables are the sheets as typed (headers as written, raw cell values, staff's own columns included), so a merge
moves cell values and nothing else, and undo puts back the very values that were there. Each merge writes one row
per absorbed record to the 統合履歴 journal with full before-images as JSON:
the absorbed customer row, the master row before it was filled in, the order and contact rows re-pointed, and the
customers whose 紹介者ID named the absorbed record (now the master; blank on the master itself, who cannot have
referred themself).
"""
from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd

from . import schema

HISTORY = "統合履歴"
HISTORY_COLUMNS = ["統合ID", "日時", "主顧客ID", "統合元顧客ID", "統合元の行", "主の変更前", "付け替えた注文", "付け替えた対応",
                   "取消", "付け替えた紹介者"]   # the last came later: older 統合履歴 sheets lack it
MASTER_RULES = ("most_orders", "oldest", "newest")


# --- JSON of cell values -------------------------------------------------------------------------------------------

def _cell(v):
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, np.generic):
        return _cell(v.item())
    if isinstance(v, pd.Timestamp):
        v = v.to_pydatetime()
    if isinstance(v, (dt.datetime, dt.date)):
        return {"$date": v.isoformat()}
    if isinstance(v, dt.time):
        return {"$time": v.isoformat()}
    return v


def _uncell(v):
    if isinstance(v, dict) and "$date" in v:
        return dt.datetime.fromisoformat(v["$date"])
    if isinstance(v, dict) and "$time" in v:
        return dt.time.fromisoformat(v["$time"])
    return v


def _row_json(row: pd.Series) -> str:
    return json.dumps({str(k): _cell(v) for k, v in row.items()}, ensure_ascii=False)


def _moved_json(df: pd.DataFrame, id_h: str, ref_h: str) -> str:
    """[[order id, customer cell as it was], …]: re-pointed rows are found again by their own id, not position."""
    return json.dumps([[schema.parse_text(a), _cell(b)] for a, b in zip(df[id_h], df[ref_h])], ensure_ascii=False)


# --- planning ------------------------------------------------------------------------------------------------------

def _header(raw: pd.DataFrame, table: str, key: str) -> str:
    hmap = schema.header_map(list(raw.columns), schema.table(table))
    for h, k in hmap.items():
        if k == key:
            return h
    raise KeyError(key)


def _ids(raw: pd.DataFrame, header: str) -> pd.Series:
    return raw[header].map(schema.parse_text)


def plan(groups: list[list[str]], customers: pd.DataFrame, orders: pd.DataFrame | None,
         rule: str = "most_orders") -> list[tuple[str, list[str]]]:
    """(master, others) per group of customer ids, the master chosen by `rule`:

    most_orders — the record with most orders (the one the shop actually uses), then the oldest registration;
    oldest — the earliest 登録日; newest — the latest 登録日. Ties go to the smallest customer id."""
    if rule not in MASTER_RULES:
        raise ValueError(rule)
    counts = orders["customer_id"].value_counts() if orders is not None and len(orders) else pd.Series(dtype=int)
    reg = customers.set_index("customer_id")["registered_on"] if "registered_on" in customers else pd.Series(dtype="datetime64[ns]")
    out = []
    for g in groups:
        g = [x for x in dict.fromkeys(g)]
        far = pd.Timestamp.max

        def key(cid):
            n = int(counts.get(cid, 0))
            r = reg.get(cid, pd.NaT)
            r_old = far if pd.isna(r) else r
            r_new = pd.Timestamp.min if pd.isna(r) else r
            natural = (len(cid), cid)
            if rule == "most_orders":
                return (-n, r_old, natural)
            if rule == "oldest":
                return (r_old, natural)
            return (-(r_new.value), natural)
        ranked = sorted(g, key=key)
        out.append((ranked[0], ranked[1:]))
    return out


def groups_from_decisions(pairs: list[tuple[str, str]], cannot: set[frozenset] = frozenset()) -> tuple[
        list[list[str]], list[list[str]]]:
    """Connected groups over pairs decided 統合; groups containing a pair decided 別人 are held back (returned
    second) so that a chain A=B, B=C never merges A with a C staff said is someone else."""
    parent: dict[str, str] = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    comp: dict[str, list[str]] = {}
    for x in list(parent):
        comp.setdefault(find(x), []).append(x)
    ok, held = [], []
    for members in comp.values():
        s = set(members)
        bad = any(len(c) == 2 and c <= s for c in cannot)
        (held if bad else ok).append(sorted(members, key=lambda c: (len(c), c)))
    return ok, held


# --- applying ------------------------------------------------------------------------------------------------------

def _blank(v) -> bool:
    return schema.is_blank(v) if not isinstance(v, (dt.datetime, dt.date)) else False


def apply(plans: list[tuple[str, list[str]]], customers: pd.DataFrame, orders: pd.DataFrame | None,
          contacts: pd.DataFrame | None, *, merge_id: str, now: dt.datetime,
          notes_header: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None,
                                                    pd.DataFrame]:
    """Merge each (master, others): the master's empty cells filled from the others (in plan order), the others'
    notes appended to the master's, orders and contacts re-pointed, the others' rows removed.

    Tables are raw (headers as typed, index = sheet rows). Returns the three tables and the 統合履歴 rows."""
    cust = customers.copy()
    o = orders.copy() if orders is not None else None
    c = contacts.copy() if contacts is not None else None
    cid_h = _header(cust, "customers", "customer_id")
    notes_h = notes_header
    if notes_h is None:
        try:
            notes_h = _header(cust, "customers", "notes")
        except KeyError:
            notes_h = None
    ids = _ids(cust, cid_h)
    o_h = _header(o, "orders", "customer_id") if o is not None else None
    c_h = _header(c, "contacts", "customer_id") if c is not None else None
    oid_h = _header(o, "orders", "order_id") if o is not None else None
    ctid_h = _header(c, "contacts", "contact_id") if c is not None else None
    try:
        ref_h = _header(cust, "customers", "referrer_id")
    except KeyError:
        ref_h = None
    refs = _ids(cust, ref_h) if ref_h is not None else None
    o_ids = _ids(o, o_h) if o is not None else None
    c_ids = _ids(c, c_h) if c is not None else None
    history, drop = [], []
    for k, (master, others) in enumerate(plans, start=1):
        mid = f"{merge_id}-{k}" if len(plans) > 1 else merge_id
        mrow_idx = ids.index[ids.eq(master).to_numpy()]
        if len(mrow_idx) == 0:
            continue
        mi = mrow_idx[0]
        before_master = cust.loc[mi].copy()
        group = {master, *others}
        for other in others:
            orow_idx = ids.index[ids.eq(other).to_numpy()]
            if len(orow_idx) == 0:
                continue
            oi = orow_idx[0]
            orow = cust.loc[oi]
            for h in cust.columns:
                if h == cid_h:
                    continue
                mv, ov = cust.at[mi, h], orow[h]
                if h == ref_h and schema.parse_text(ov) in group:
                    continue    # referred by a record of this very person: not a referral once merged
                if h == notes_h and not _blank(ov):
                    # never lose a note: the absorbed record's notes follow the master's, marked with its id
                    add = f"[{other}] {ov}"
                    cust.at[mi, h] = add if _blank(mv) else f"{mv}\n{add}"
                elif _blank(mv) and not _blank(ov):
                    cust.at[mi, h] = ov
            moved_o = o.loc[o_ids.eq(other).to_numpy()] if o is not None else pd.DataFrame()
            moved_c = c.loc[c_ids.eq(other).to_numpy()] if c is not None else pd.DataFrame()
            if o is not None and len(moved_o):
                o.loc[moved_o.index, o_h] = _like(o[o_h], moved_o.index, master)
            if c is not None and len(moved_c):
                c.loc[moved_c.index, c_h] = _like(c[c_h], moved_c.index, master)
            referred = []
            if ref_h is not None:
                hit = refs.eq(other) & ~ids.isin(others)
                for r in cust.index[hit.to_numpy()]:
                    referred.append([ids[r], _cell(cust.at[r, ref_h])])
                    cust.at[r, ref_h] = None if ids[r] == master else _like(cust[ref_h], [r], master)[0]
                    refs[r] = "" if ids[r] == master else master
            history.append({
                "統合ID": mid, "日時": now, "主顧客ID": master, "統合元顧客ID": other,
                "統合元の行": json.dumps([int(oi), json.loads(_row_json(orow))], ensure_ascii=False),
                "主の変更前": "",
                "付け替えた注文": _moved_json(moved_o, oid_h, o_h) if len(moved_o) else "[]",
                "付け替えた対応": _moved_json(moved_c, ctid_h, c_h) if len(moved_c) else "[]",
                "取消": None, "付け替えた紹介者": json.dumps(referred, ensure_ascii=False)})
            drop.append(oi)
        # the master's before-image once per merge, on its first history row
        first = next((h for h in history if h["統合ID"] == mid), None)
        if first is not None:
            first["主の変更前"] = json.dumps([int(mi), json.loads(_row_json(before_master))], ensure_ascii=False)
    cust = cust.drop(index=drop)
    return cust, o, c, pd.DataFrame(history, columns=HISTORY_COLUMNS)


def _like(col: pd.Series, idx, value: str):
    """The new id, typed like the old cells (a number cell stays a number when the id is digits)."""
    old = col.loc[idx]
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in old) and value.isdigit():
        return [int(value)] * len(idx)
    return [value] * len(idx)


def undo(merge_id: str, customers: pd.DataFrame, orders: pd.DataFrame | None, contacts: pd.DataFrame | None,
         history: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None, int]:
    """Put back what merge `merge_id` changed: the master row as it was, the absorbed rows at their old places,
    orders and contacts pointing at their old customer again. Returns the tables and how many records came back.

    Rows typed after the merge stay; an order re-pointed by the merge and deleted since cannot come back and is
    skipped (the others are still restored). A 紹介者ID is put back only while it still says what the merge wrote
    (the master, or blank on the master itself): one staff have changed since is theirs."""
    rows = history[history["統合ID"].astype(str) == merge_id]
    cust = customers.copy()
    o = orders.copy() if orders is not None else None
    c = contacts.copy() if contacts is not None else None
    cid_h = _header(cust, "customers", "customer_id")
    try:
        ref_h = _header(cust, "customers", "referrer_id")
    except KeyError:
        ref_h = None
    restored = []
    for _, h in rows.iterrows():
        if h.get("主の変更前"):
            mi, before = json.loads(h["主の変更前"])
            ids = _ids(cust, cid_h)
            where = ids.index[ids.eq(str(h["主顧客ID"])).to_numpy()]
            if len(where):
                for k, v in before.items():
                    if k in cust.columns:
                        cust.at[where[0], k] = _uncell(v)
        oi, orow = json.loads(h["統合元の行"])
        restored.append((oi, {k: _uncell(v) for k, v in orow.items()}))
        for table, name, id_key, field in ((o, "orders", "order_id", "付け替えた注文"),
                                           (c, "contacts", "contact_id", "付け替えた対応")):
            if table is None:
                continue
            hdr, id_h = _header(table, name, "customer_id"), _header(table, name, id_key)
            where = pd.Series(table.index, index=_ids(table, id_h).to_numpy())
            where = where[~where.index.duplicated()]
            for rid, old in json.loads(h[field] or "[]"):
                if rid in where.index:
                    table.at[where[rid], hdr] = _uncell(old)
        moved = h.get("付け替えた紹介者")
        if ref_h is not None and isinstance(moved, str) and moved:
            ids = _ids(cust, cid_h)
            master = str(h["主顧客ID"])
            for cid, old in json.loads(moved):
                for r in ids.index[ids.eq(cid).to_numpy()]:
                    now_ = schema.parse_text(cust.at[r, ref_h])
                    if now_ == (master if cid != master else ""):
                        cust.at[r, ref_h] = _uncell(old)
    if restored:
        # absorbed rows go back to their old places, lowest first: each insert shifts the rows below it, as it did
        # when the merge removed them
        start = int(min(cust.index.min() if len(cust) else restored[0][0], min(i for i, _ in restored)))
        rows = [r for _, r in cust.iterrows()]
        for oi, row in sorted(restored, key=lambda t: t[0]):
            rows.insert(min(oi - start, len(rows)), pd.Series(row).reindex(cust.columns))
        cust = pd.DataFrame(rows, columns=cust.columns).reset_index(drop=True)
        cust.index = pd.RangeIndex(start, start + len(cust))
    return cust, o, c, len(restored)


def merged_into(history: pd.DataFrame | None) -> dict[str, str]:
    """{absorbed customer ID: the master it now lives in} from 統合履歴, merges undone left out, chains followed
    (A merged into B, B later into C: A -> C)."""
    if history is None or not len(history):
        return {}
    live = history[history["取消"].map(schema.is_blank)] if "取消" in history else history
    into = {schema.parse_text(a): schema.parse_text(m) for a, m in zip(live["統合元顧客ID"], live["主顧客ID"])}
    out = {}
    for a in into:
        m, seen = into[a], {a}
        while m in into and m not in seen:
            seen.add(m)
            m = into[m]
        out[a] = m
    return out
