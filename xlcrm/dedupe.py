"""名寄せ (dedupe): find records of one person entered more than once, explain why, cluster them with stable IDs.

Pipeline (pure pandas/numpy, DataFrames in and out):

1. `prepare`: each input column has a *kind* (name, kana, phone, email, address, birth_date, …); the values are
   normalised once per distinct value through `xlcrm.normalize` into comparable features.
2. `candidate_pairs`: blocking on several normalised keys (phone, e-mail, name + birth date, given name + birth date
   for a married surname, kana + postcode, address, …) so that 100,000 rows never meet 5·10⁹ pairs.
3. `compare`: each pair gets one *level* per field (exact / after 異体字 folding / same reading only / fuzzy /
   different / missing), as the registry `COMPARISONS` says: per field its levels and how each is decided.
4. `fit`: Fellegi–Sunter weights with no labels, as splink does it: u (chance agreement) from random pairs,
   m (agreement among true matches) by EM sessions each blocked on one field, then the match prior.
5. `match_weight`, `reasons`: weight, probability and a reason a clerk can read in Japanese and English.
6. `cluster`: connected components over accepted pairs, cut where they would chain unrelated people or join a
   pair staff decided are different people; cluster IDs kept stable across runs.

Different kanji with the same reading (伊藤/伊東) is its own weak level, never "equal".

Households: the model treats fields as independent, but a family shares its surname, address, landline, e-mail
and (twins) birth date. Two records whose Japanese given names disagree outright (not a variant, not one reading in
other kanji) or whose sex differs are two people (`two_people`); for them that shared agreement counts nothing
(`match_weight(apart=…)`), so their probability stays low, and when they share a home they are labelled
同一世帯(別人) (`status` "household"), shown, never proposed as a match.

Marriages: the other way round, one Japanese given name under another surname with the same mobile or e-mail
(`new_surname`) is one person's marriage, and the home that changed with it (address, building, prefecture) is not
counted against the pair a second time (`match_weight(new_surname=…)`).
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
from rapidfuzz.distance import JaroWinkler, Levenshtein
from rapidfuzz.process import cpdist

from . import normalize

KINDS = ("name", "family_name", "given_name", "kana", "phone", "email", "postcode", "prefecture", "address",
         "building", "birth_date", "sex", "id_number", "other")

# Our customer table's columns (English keys after schema.conform) and their kinds: no --map needed.
SCHEMA_KINDS = {
    "name": "name", "kana": "kana", "birth_date": "birth_date", "postcode": "postcode", "prefecture": "prefecture",
    "address": "address", "building": "building", "phone": "phone", "mobile": "phone", "email": "email",
    "gender": "sex",
}

# --- 1. features ---------------------------------------------------------------------------------------------------


def _per_unique(values, fn) -> np.ndarray:
    """fn applied once per distinct value (a 100,000-row list holds far fewer distinct values); object array."""
    codes, uniq = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    out = np.empty(len(uniq) + 1, object)
    out[:-1] = np.fromiter(map(fn, uniq), dtype=object, count=len(uniq))  # tuples stay one object each
    out[-1] = fn(None)
    return out[codes]


def _cell_text(v) -> str:
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if hasattr(v, "strftime"):
        return v.strftime("%Y%m%d")
    s = str(v).strip()
    return "" if s.lower() in ("nan", "none", "nat", "<na>") else s


_NULL_TEXT = frozenset(("nan", "none", "nat", "<na>"))


def _cells_text(values) -> np.ndarray:
    """_cell_text per value, once per distinct value; text cells (nearly all) without a call each."""
    codes, uniq = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    out = np.empty(len(uniq) + 1, object)
    done = [u.strip() if type(u) is str else _cell_text(u) for u in uniq]
    out[:-1] = ["" if len(s) <= 4 and s.lower() in _NULL_TEXT else s for s in done]
    out[-1] = ""
    return out[codes]


# what str.strip() strips: the characters str.isspace() calls space (tests/test_dedupe.py checks the list against
# all of Unicode; spelled out because that scan took 70 ms of every import)
_PY_SPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
             "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")


def _arrow_cells_text(s: pd.Series) -> np.ndarray:
    """_cells_text of a pandas string column held by Arrow, in Arrow's kernels: str.strip's own characters
    trimmed, nan/none/nat/<na> in any case blank, missing blank."""
    import pyarrow as pa
    import pyarrow.compute as pc
    t = pc.utf8_trim(pa.array(s), _PY_SPACE)
    null = pc.and_(pc.less_equal(pc.utf8_length(t), 4),
                   pc.is_in(pc.utf8_lower(t), value_set=pa.array(sorted(_NULL_TEXT))))
    return pc.if_else(pc.fill_null(null, True), "", t).to_numpy(zero_copy_only=False).astype(object)


def _col(df: pd.DataFrame, cols: list[str]) -> pd.Series:
    """The columns joined by a space, as text ("" for blank); object dtype (fast to compare and join)."""
    if not cols:
        return pd.Series(np.full(len(df), "", object), index=df.index, dtype=object)
    out = None
    for c in cols:
        s = df[c]
        arrow = isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow"
        v = _arrow_cells_text(s) if arrow else _cells_text(s.to_numpy(dtype=object))
        out = v if out is None else np.array([f"{x} {y}".strip() for x, y in zip(out, v)], object)
    return pd.Series(out, index=df.index, dtype=object)


def _norm(s: pd.Series, fn) -> pd.Series:
    """fn (a normalize function) over a text column, once per distinct value; "" for blank. (Not
    normalize.series: that returns pandas' Arrow strings, slow to compare pair by pair.)"""
    return pd.Series(_per_unique(s.to_numpy(dtype=object), lambda x: (fn(x) or "") if x else ""),
                     index=s.index, dtype=object)


def _norm_bulk(s: pd.Series, fn) -> pd.Series:
    """Like _norm, fn taking all distinct values at once (normalize.phones) and returning an array."""
    codes, uniq = pd.factorize(s.to_numpy(dtype=object), use_na_sentinel=True)
    out = np.empty(len(uniq) + 1, object)
    out[:-1] = fn(uniq) if len(uniq) else []
    out[-1] = ""
    return pd.Series(out[codes], index=s.index, dtype=object)


def _split_series(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(family, given) per row via normalize.split_name, called once per distinct value."""
    codes, uniq = pd.factorize(s.to_numpy(dtype=object))
    fam = np.empty(len(uniq) + 1, object)
    giv = np.empty(len(uniq) + 1, object)
    for k, u in enumerate(uniq):
        a, b = normalize.split_name(u) if u else ("", "")
        if not a and not b:  # no space typed: the whole name, split later against the other record's
            a = normalize.nfkc(u) if u else ""
        fam[k], giv[k] = a or "", b or ""
    fam[-1] = giv[-1] = ""
    return (pd.Series(fam[codes], index=s.index, dtype=object),
            pd.Series(giv[codes], index=s.index, dtype=object))


def _split_by_known_families(fam: pd.Series, giv: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Split names typed without a space (小林由美) at the longest family name that others typed with a space
    (小林 由美): the list learns its own surnames, no dictionary needed. Latin names are left alone."""
    split = (giv != "") & (fam != "")
    known = set(_per_unique(fam[split].to_numpy(dtype=object), lambda x: normalize.name_plain(x) if x else ""))
    known.discard("")
    if not known:
        return fam, giv
    longest = max(map(len, known))

    def cut(whole):
        if not whole or not _has_japanese(whole):
            return (whole or "", "")
        w = normalize.name_plain(whole)
        for k in range(min(longest, len(w) - 1), 0, -1):
            if w[:k] in known:
                return (w[:k], w[k:])
        return (whole, "")
    one = (giv == "") & (fam != "")
    if not one.any():
        return fam, giv
    res = _per_unique(fam[one].to_numpy(dtype=object), lambda x: cut(x) if x else ("", ""))
    fam, giv = fam.copy(), giv.copy()
    fam[one] = [r[0] for r in res]
    giv[one] = [r[1] for r in res]
    return fam, giv


def _fold_latin(s: str) -> str:
    return s.lower()


def _name_key(s: str) -> str:
    """A name as written: width, case, kana script and spaces folded, 異体字 kept (髙橋 ≠ 高橋 here)."""
    return normalize.name_plain(s)


def _name_variant(s: str) -> str:
    """A name after 異体字 folding too (髙橋→高橋): equal here means the same name in another form."""
    return normalize.name(s)


_DIGITS = re.compile(r"\d+")
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uff66-\uff9f]")


_ANY_DIGIT = re.compile(r"\d")


def _mobiles(digits: np.ndarray) -> np.ndarray:
    """_is_mobile per value of an object array of national digits, once per distinct value, in numpy."""
    codes, uniq = pd.factorize(digits)
    u = np.asarray(uniq, dtype=object).astype(str) if len(uniq) else np.empty(0, "U1")
    ok = np.zeros(len(uniq) + 1, bool)
    ok[:-1] = (np.char.str_len(u) == 11) & np.isin(u.astype("U3"), ("060", "070", "080", "090"))
    return ok[codes]


def _is_mobile(digits: str) -> bool:
    return bool(digits) and len(digits) == 11 and digits[:3] in ("060", "070", "080", "090")


def _has_japanese(s) -> bool:
    return bool(s) and _JAPANESE.search(s) is not None
_DATE_RE = re.compile(r"(\d{4})\D?(\d{1,2})\D?(\d{1,2})")


def _date_key(s: str) -> str:
    """YYYYMMDD from 1956-04-09, 1956/4/9, 19560409 or a timestamp; "" when unreadable."""
    m = _DATE_RE.search(normalize.nfkc(s) if s else "")
    if not m:
        return ""
    y, mo, d = m.groups()
    return f"{y}{int(mo):02d}{int(d):02d}"


_SEX = {"男": "m", "男性": "m", "m": "m", "male": "m", "man": "m", "女": "f", "女性": "f", "f": "f", "female": "f",
        "woman": "f"}


def _sex(s: str) -> str:
    """m / f from 男・男性・M・male and 女・女性・F・female; "" for anything else (blank, その他, 1/2 codes)."""
    return _SEX.get(_fold_latin(normalize.nfkc(s)).strip(), "")


def _digits_or_text(s: str) -> str:
    return _fold_latin(normalize.nfkc(s)).replace(" ", "")


PARALLEL_FROM = 20_000   # rows; below this a second process costs more than it saves
CHILD_SHARE = 0.6        # of the rows whose addresses the second process folds (it also starts and sends back)


def prepare(df: pd.DataFrame, kinds: dict[str, str]) -> "Features":
    """Comparable features, one row per input row (same index). `kinds` maps input column -> kind.

    On a large table the addresses are folded in a second process (fork, where the OS has it) while this one
    folds names, phones, dates and e-mail: the two halves take about as long, and shops have two cores."""
    by_kind: dict[str, list[str]] = {}
    for c, k in kinds.items():
        if k not in KINDS:
            raise ValueError(f"unknown kind {k!r}")
        if k != "other" and c in df.columns:
            by_kind.setdefault(k, []).append(c)
    cols = {k: [_col(df, [c]) for c in v] for k, v in by_kind.items() if k not in PLACE_KINDS}
    place_cols = {k: by_kind.get(k, []) for k in PLACE_KINDS}
    global _FORKED
    pool = None
    split = 0
    if len(df) >= PARALLEL_FROM and (os.cpu_count() or 1) >= 2 and "fork" in mp.get_all_start_methods():
        pool = ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("fork"))
        # the child folds the first rows' addresses; this process the person features, then the other rows'
        # addresses (the halves measured: names, phones, e-mail ≈ 1.3 s, all addresses ≈ 2.5 s at 100,000 rows)
        split = int(len(df) * CHILD_SHARE)
        _FORKED = (df.iloc[:split], place_cols)  # the child is forked in submit and finds its input here
        try:
            later = pool.submit(_place_job)
        finally:
            _FORKED = None
    try:
        f = _person_features(cols, kinds, df)
        if pool is None:
            place = _place_job(df, place_cols)
        else:
            mine = _place_job(df.iloc[split:], place_cols)
            try:
                theirs = later.result()
            except Exception:  # noqa: BLE001 — redone here: a real error in the work raises again, in this process
                theirs = _place_job(df.iloc[:split], place_cols)  # a forked child can die when the parent held
            place = {c: _joined_fixed(theirs[c], mine[c]) for c in mine}  # threads (a DuckDB session)
    finally:
        if pool is not None:
            pool.shutdown()
    out, codes = {}, {}
    for c, v in f.items():
        if c.endswith(("_mobile", "_isfam")):
            out[c] = np.asarray(v, bool)
        else:
            out[c], codes[c] = _fixed_width(np.asarray(v, dtype=object))
    for c, (v, k) in place.items():
        out[c], codes[c] = v, k
    return Features(out, df.index, codes)


PLACE_KINDS = ("prefecture", "address", "building")
_FORKED: tuple | None = None


def _place_job(df: pd.DataFrame | None = None, place_cols: dict | None = None) -> dict:
    """The place features of `df` (in the second process: of the table it was forked with), each column as
    _fixed_width gives it: numpy buffers travel back between processes much faster than Python strings."""
    if df is None:
        df, place_cols = _FORKED
    cols = {k: [_col(df, [c]) for c in place_cols.get(k, [])] for k in PLACE_KINDS}
    f = _place_features(cols, df.index)
    return {c: _fixed_width(np.asarray(v, dtype=object)) for c, v in f.items()}


def _fixed_width(v: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """A text column as fixed-width unicode (what v.astype(str) gives) and its integer codes (Features.codes):
    converted once per distinct value, the codes found on the way (hashing Python strings, not numpy's)."""
    k, u = pd.factorize(v)
    if len(v) == 0 or (k < 0).any():  # a None among the values: astype(str) says "None"
        return v.astype(str), None
    u = u.astype(str)
    codes = k.astype(np.int64)
    blank = np.flatnonzero(u == "")
    if len(blank):
        codes[codes == blank[0]] = -1
    return u[k], codes


def _joined_fixed(a: tuple, b: tuple) -> tuple[np.ndarray, np.ndarray | None]:
    """Two `_fixed_width` results of consecutive rows as one: values end to end, codes made common (each half
    coded its own distinct values; blanks stay -1)."""
    (v1, k1), (v2, k2) = a, b
    v = np.concatenate([v1, v2])
    if k1 is None or k2 is None:
        return v, None
    uniques = []
    for vals, k in ((v1, k1), (v2, k2)):
        u = np.zeros(int(k.max()) + 1 if len(k) else 0, dtype=v.dtype)
        u[k[k >= 0]] = vals[k >= 0]
        uniques.append(u)
    common = pd.factorize(np.concatenate(uniques).astype(object))[0]
    m1, m2 = common[:len(uniques[0])], common[len(uniques[0]):]
    codes = [np.where(k >= 0, m[np.maximum(k, 0)], -1) if len(m) else k for k, m in ((k1, m1), (k2, m2))]
    return v, np.concatenate(codes).astype(np.int64)


def _joined(parts: list[pd.Series], index) -> pd.Series:
    if not parts:
        return pd.Series(np.full(len(index), "", object), index=index, dtype=object)
    out = parts[0]
    for p in parts[1:]:
        out = pd.Series([f"{x} {y}".strip() for x, y in zip(out, p)], index=index, dtype=object)
    return out


def _person_features(cols: dict, kinds: dict, df: pd.DataFrame) -> dict:
    f: dict[str, pd.Series] = {}
    idx = df.index
    # names: family and given parts when the data has them (or a space to split on), the whole name otherwise
    if "family_name" in cols or "given_name" in cols:
        fam_raw, giv_raw = _joined(cols.get("family_name", []), idx), _joined(cols.get("given_name", []), idx)
    else:
        fam_raw, giv_raw = _split_series(_joined(cols.get("name", []), idx))
    kana_raw = _joined(cols.get("kana", []), idx)
    kfam, kgiv = _split_series(kana_raw)
    blank = lambda s: _per_unique(s.to_numpy(object), lambda x: x is not None and x.strip() == "").astype(bool)  # noqa
    no_name = blank(fam_raw) & blank(giv_raw)
    fam_raw, giv_raw = fam_raw.where(~no_name, kfam), giv_raw.where(~no_name, kgiv)  # only the reading was typed
    fam_raw, giv_raw = _split_by_known_families(fam_raw, giv_raw)
    f["fam"] = _norm(fam_raw, _name_key)
    f["giv"] = _norm(giv_raw, _name_key)
    f["fam_v"] = _norm(f["fam"], _name_variant)
    f["giv_v"] = _norm(f["giv"], _name_variant)
    # which names this list types as family names more often than as given names: 中島 in 陽太 中島 is the
    # family name typed last, 琴音 in 琴音 佐藤 the given name typed first (_name_pairs, swapped entries)
    n = len(idx)
    k, u = pd.factorize(np.concatenate([f["fam_v"].to_numpy(object), f["giv_v"].to_numpy(object)]))
    cf, cg = np.bincount(k[:n], minlength=len(u)), np.bincount(k[n:], minlength=len(u))
    f["fam_isfam"], f["giv_isfam"] = cf[k[:n]] >= cg[k[:n]], cf[k[n:]] >= cg[k[n:]]
    # family and given in a fixed order, so a swapped entry (ryan joel / joel ryan) shares a blocking key
    fv, gv = f["fam_v"], f["giv_v"]
    lo, hi = fv.where(fv <= gv, gv), gv.where(fv <= gv, fv)
    f["name_set"] = (lo + "\x1f" + hi).where((lo != "") & (hi != ""), "")
    # the reading compares strictly (normalize.kana): kana_loose makes 大野 (オオノ) and 小野 (オノ) one name
    f["kana"] = _norm(kana_raw, normalize.kana)
    f["kana_fam"] = _norm(kfam.where(kgiv != "", ""), normalize.kana)
    f["kana_giv"] = _norm(kgiv, normalize.kana)
    # a record typed given name first (明美 鈴木) when the list says so, its "given" name being typed as a family
    # name elsewhere and its "family" name as a given name: put back in order once, here
    rev = f["giv_isfam"] & ~f["fam_isfam"] & (f["fam_v"] != "").to_numpy() & (f["giv_v"] != "").to_numpy()
    if rev.any():
        for a, b in (("fam", "giv"), ("fam_v", "giv_v"), ("kana_fam", "kana_giv"), ("fam_isfam", "giv_isfam")):
            x, y = np.asarray(f[a]), np.asarray(f[b])
            x, y = np.where(rev, y, x), np.where(rev, x, y)
            f[a], f[b] = (x, y) if x.dtype == bool else (pd.Series(x, index=idx, dtype=object),
                                                         pd.Series(y, index=idx, dtype=object))
    f["full"] = f["fam"] + f["giv"]
    f["full_v"] = f["fam_v"] + f["giv_v"]
    f["dob"] = _norm(_joined(cols.get("birth_date", []), idx), _date_key)
    f["email"] = _norm(_joined(cols.get("email", []), idx), normalize.email)
    f["email_local"] = _norm(f["email"], lambda x: x.split("@")[0])
    # a local part without digits is mostly the name spelt out (taro.yamada): it says nothing the name does not,
    # and strangers with one name share it. Only one with digits (taro1985, emi766) is evidence of its own
    f["email_local_id"] = _norm(f["email_local"], lambda x: x if _ANY_DIGIT.search(x) else "")
    f["idnum"] = _norm(_joined(cols.get("id_number", []), idx), _digits_or_text)
    f["sex"] = _norm(_joined(cols.get("sex", []), idx), _sex)
    # phones: every phone column is one set per person (staff type the mobile into 電話番号 and vice versa)
    phones = cols.get("phone", [])
    for i in range(max(2, len(phones))):
        raw = phones[i] if i < len(phones) else _joined([], idx)
        f[f"ph{i}"] = _norm_bulk(raw, normalize.phones)
        # mobile from the national digits (070/080/090/060 + 8): phone_kind would parse every raw value again
        f[f"ph{i}_mobile"] = _mobiles(f[f"ph{i}"].to_numpy(object))
    f["postcode"] = _norm_bulk(_joined(cols.get("postcode", []), idx), _postcodes)
    for c, k in kinds.items():
        if k == "other" and c in df.columns:
            f["other:" + c] = _norm(_col(df, [c]), _digits_or_text)
    return f


def _place_features(cols: dict, idx) -> dict:
    f: dict[str, pd.Series] = {}
    pref = _joined(cols.get("prefecture", []), idx)
    addr = _joined(cols.get("address", []), idx)
    bldg = _joined(cols.get("building", []), idx)
    # the street (municipality + 丁目-番-号) is compared without the prefecture: staff leave 都道府県 blank as
    # often as they fill it. The Japanese parser (丁目/番/号, building split off) only for addresses written in
    # Japanese: it would read "7 wallaby place" as house number 7 in a building called wallaby place
    jp = _per_unique(addr, _has_japanese).astype(bool)
    latin = lambda x: " ".join(_fold_latin(normalize.nfkc(x)).split()) if x else ""  # noqa: E731
    pref_n, addr_n, bldg_n = (np.empty(len(idx), dtype=object) for _ in range(3))
    other = ~jp
    if other.any():
        pref_n[other], addr_n[other] = _per_unique(pref[other], latin), _per_unique(addr[other], latin)
        bldg_n[other] = _per_unique(bldg[other], lambda x: latin(x).replace(" ", ""))
    if jp.any():
        pref_n[jp], addr_n[jp], bldg_n[jp], _ = normalize.address_columns(addr[jp], pref[jp], bldg[jp])
    for c, v in (("pref", pref_n), ("addr", addr_n), ("building", bldg_n)):
        f[c] = pd.Series(v, index=idx, dtype=object)
    # the address as house numbers and words apart: 1-2-3 vs 1-2-4 is a neighbour, 1-2-3 vs 1-2-3 a typo away
    f["addr_digits"] = _norm(f["addr"], lambda x: " ".join(_DIGITS.findall(x)))
    f["addr_text"] = _norm(f["addr"], lambda x: _DIGITS.sub("#", x))
    return {k: np.asarray(v) for k, v in f.items()}


class Features:
    """Comparable features as numpy arrays (fixed-width unicode compares fast), one row per input row."""

    def __init__(self, cols: dict[str, np.ndarray], index: pd.Index, codes: dict[str, np.ndarray] | None = None):
        self._cols, self.index = cols, index
        self._cache: dict = {("#codes", k): c for k, c in (codes or {}).items() if c is not None}

    @property
    def columns(self) -> list[str]:
        return list(self._cols)

    def __getitem__(self, k: str) -> np.ndarray:
        return self._cols[k]

    def __contains__(self, k: str) -> bool:
        return k in self._cols

    def __len__(self) -> int:
        return len(self.index)

    def codes(self, k: str) -> np.ndarray:
        """Integer code per row for column k (equal values, equal codes); -1 for blank."""
        if ("#codes", k) not in self._cache:
            c, _ = pd.factorize(self._cols[k])
            c = c.astype(np.int64)
            c[self._cols[k] == ""] = -1
            self._cache[("#codes", k)] = c
        return self._cache[("#codes", k)]

    def shared_codes(self, ks: tuple[str, ...]) -> dict[str, np.ndarray]:
        """Integer codes for several columns in one code space (a phone in 電話番号 equals one in 携帯電話)."""
        if ("#shared", ks) not in self._cache:
            allv = np.concatenate([self._cols[k] for k in ks])
            c, _ = pd.factorize(allv)
            c = c.astype(np.int64)
            c[allv == ""] = -1
            n = len(self)
            self._cache[("#shared", ks)] = {k: c[t * n:(t + 1) * n] for t, k in enumerate(ks)}
        return self._cache[("#shared", ks)]

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self._cols, index=self.index)

    def names(self) -> "_NameVocab":
        """The list's names, readings and whole names in one code space (_name_pairs)."""
        if "#names" not in self._cache:
            self._cache["#names"] = _NameVocab(self)
        return self._cache["#names"]

    def dob_int(self) -> np.ndarray | None:
        """The birth date YYYYMMDD as an integer per row (-1 for blank); None when some date is not 8 digits."""
        if "#dob_int" not in self._cache:
            v = self._cols["dob"]
            has = v != ""
            ok = bool((np.char.str_len(v[has]) == 8).all()) and bool(np.char.isdigit(v[has]).all())
            out = None
            if ok:
                out = np.full(len(v), -1, np.int64)
                out[has] = v[has].astype(np.int64)
            self._cache["#dob_int"] = out
        return self._cache["#dob_int"]


def _postcode(s: str) -> str:
    p = normalize.postcode(s)
    return p if p else _digits_or_text(s)


def _postcodes(values: np.ndarray) -> np.ndarray:
    """_postcode over distinct values at once (normalize.postcodes), "" for blank as _norm gives."""
    out = normalize.postcodes(values)
    for k in np.flatnonzero(out == ""):
        v = values[k]
        out[k] = (_digits_or_text(v) or "") if v else ""
    return out


# --- 2. blocking ---------------------------------------------------------------------------------------------------

# Each rule: features that must be equal and non-blank. Several rules, because each one alone misses the
# duplicates where that field was mistyped (one key caps recall at 0.55–0.76 on FEBRL3).
BLOCKING_RULES: tuple[tuple[str, ...], ...] = (
    ("phone",), ("email",), ("idnum",),
    ("full_v", "dob"), ("giv_v", "dob"), ("fam_v", "dob"), ("kana", "dob"),
    ("kana", "postcode"), ("full_v", "postcode"), ("fam_v", "postcode"), ("giv_v", "postcode"),
    ("addr",), ("dob", "postcode"), ("dob", "addr"), ("name_set", "pref"),
    ("email_local",), ("dob",), ("postcode",),
)
# Single weak keys, for lists with no phone or e-mail (FEBRL): where a list has contact data, a duplicate shares a
# phone, an e-mail or a name + birth date / postcode, and these add 45% more pairs for no recall (measured on the
# Japanese benchmark: 0 true pairs lost without them).
FALLBACK_RULES = frozenset({("dob",), ("postcode",)})
MAX_BLOCK = 60   # a key shared by more rows (a shop's own phone, 田中 alone) says little: skipped, not exploded


def _key_rows(f: pd.DataFrame, rule: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(row positions, key codes) for one rule; a record with two phones appears once per phone."""
    n = len(f)
    if rule == ("phone",):
        cols = [c for c in f.columns if re.fullmatch(r"ph\d+", c)]
        pos = np.concatenate([np.arange(n)] * len(cols))
        codes, _ = pd.factorize(np.concatenate([f[c] for c in cols]))
        codes[np.concatenate([f[c] == "" for c in cols])] = -1
    else:
        if any(c not in f.columns for c in rule):
            return np.empty(0, np.int64), np.empty(0, np.int64)
        pos = np.arange(n)
        codes = None
        for c in rule:  # combine per-column integer codes: no string concatenation over 100,000 rows
            k = f.codes(c)
            codes = k if codes is None else np.where((codes < 0) | (k < 0), -1, codes * (k.max() + 1) + k)
    keep = codes >= 0
    pos, codes = pos[keep], codes[keep]
    codes, _ = pd.factorize(codes)
    return pos, codes


def _pairs_within(pos: np.ndarray, codes: np.ndarray, max_block: int) -> np.ndarray:
    """All pairs of positions sharing a code (blocks above max_block skipped), as an (m, 2) array."""
    if len(pos) == 0:
        return np.empty((0, 2), np.int64)
    sizes = np.bincount(codes)
    ok = (sizes[codes] >= 2) & (sizes[codes] <= max_block)
    pos, codes = pos[ok], codes[ok]
    order = np.argsort(codes, kind="stable")
    pos, codes = pos[order], codes[order]
    out = []
    live = np.arange(len(codes))  # rows whose block may still reach k rows further down (sorted by code)
    for k in range(1, max_block):
        live = live[live + k < len(codes)]
        live = live[codes[live] == codes[live + k]]
        if not len(live):
            break
        out.append(np.stack([pos[live], pos[live + k]], axis=1))
    return np.concatenate(out) if out else np.empty((0, 2), np.int64)


def candidate_pairs(f: pd.DataFrame, rules=BLOCKING_RULES, max_block: int = MAX_BLOCK,
                    only: np.ndarray | None = None) -> np.ndarray:
    """Distinct pairs (i < j, row positions) sharing at least one blocking key.

    `only`: boolean mask of rows of interest (new rows); pairs not touching one are dropped (incremental check).
    """
    n = len(f)
    if n < 2:  # nothing to pair (and an empty table has no codes to combine)
        return np.empty((0, 2), np.int64)
    chunks = []
    contact = any(c in f.columns and (f[c] != "").any() for c in ("ph0", "ph1", "email"))
    for rule in rules:
        if contact and rule in FALLBACK_RULES:
            continue
        pos, codes = _key_rows(f, rule)
        if only is not None and len(pos):
            # keep only blocks that contain a row of interest: new rows meet everything, old rows only new ones
            hit = np.zeros(codes.max() + 1, bool) if len(codes) else np.zeros(0, bool)
            hit[codes[only[pos]]] = True
            sel = hit[codes]
            pos, codes = pos[sel], codes[sel]
        p = _pairs_within(pos, codes, max_block)
        if len(p):
            chunks.append(p)
    if not chunks:
        return np.empty((0, 2), np.int64)
    p = np.concatenate(chunks)
    p = p[p[:, 0] != p[:, 1]]
    lo, hi = np.minimum(p[:, 0], p[:, 1]), np.maximum(p[:, 0], p[:, 1])
    code = np.sort(lo.astype(np.int64) * n + hi)  # sort + adjacent compare: faster than np.unique's hash here
    code = code[np.r_[True, code[1:] != code[:-1]]]
    out = np.stack([code // n, code % n], axis=1)
    if only is not None:
        out = out[only[out[:, 0]] | only[out[:, 1]]]
    return out


# --- 3. comparison levels ------------------------------------------------------------------------------------------

_DOB_LEVELS = ("exact", "one_edit", "swapped_md", "different")
_ADDR_LEVELS = ("exact", "fuzzy_high", "postcode_only", "near", "different")
_NAME_LEVELS = ("exact", "variant", "swapped", "fuzzy_high", "reading", "fuzzy_low", "different")
LEVEL_TEXT = {  # (ja, en) appended to the field name in a reason
    "exact": ("一致", "equal"),
    "variant": ("(異体字)一致", "equal after variant folding"),
    "swapped": ("(姓名入替)一致", "equal with family/given swapped"),
    "fuzzy_high": ("(表記ゆれ)ほぼ一致", "nearly equal (typo)"),
    "reading": ("読みのみ一致", "same reading, different characters"),
    "fuzzy_low": ("やや類似", "somewhat similar"),
    "one_edit": ("(1文字違い)ほぼ一致", "one character off"),
    "swapped_md": ("(月日入替)ほぼ一致", "month and day swapped"),
    "mobile": ("(携帯)一致", "equal (mobile)"),
    "landline": ("(固定)一致", "equal (landline)"),
    "local": ("(@前のみ)一致", "equal before the @"),
    "postcode_only": ("(郵便番号のみ)一致", "same postcode only"),
    "near": ("(同じ町・番地違い)近い", "same area, other house number"),
    "different": ("不一致", "different"),
}


def _workers(n: int) -> int:
    return -1 if n > 50_000 else 1  # threads only pay for themselves on long arrays


def _distinct_pairs(a: np.ndarray, b: np.ndarray, scorer, dtype) -> np.ndarray:
    """scorer(a[k], b[k]) for every k, computed once per distinct (a, b): candidate pairs repeat the same two
    names, towns and dates many times over (322,757 pairs at 100,000 customers hold far fewer distinct ones)."""
    if len(a) == 0:
        return np.empty(0, dtype)
    codes, uniq = pd.factorize(np.concatenate([a, b]).astype(object))
    n = len(a)
    pair = codes[:n].astype(np.int64) * len(uniq) + codes[n:]
    pcodes, first = pd.factorize(pair)
    ua, ub = uniq[first // len(uniq)], uniq[first % len(uniq)]
    got = cpdist(list(ua), list(ub), scorer=scorer, workers=_workers(len(ua)))
    return got[pcodes]  # cpdist's own dtype (float32 similarities): thresholds compare as they always did


def _jw(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return _distinct_pairs(a, b, JaroWinkler.normalized_similarity, np.float64)


def _lev(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return _distinct_pairs(a, b, Levenshtein.distance, np.int64)


def _ascii(a: np.ndarray) -> np.ndarray:
    """str.isascii per element of a fixed-width unicode array, without a call each."""
    a = np.asarray(a)
    if len(a) == 0 or a.dtype.kind != "U" or a.dtype.itemsize == 0:
        return np.fromiter((str(x).isascii() for x in a), bool, len(a))
    return a.view(np.uint32).reshape(len(a), -1).max(axis=1) < 128


def _levels_simple(a, b, levels, high=0.9, low=0.75) -> np.ndarray:
    """exact / one_edit / fuzzy_high / fuzzy_low / different over two string arrays; -1 where either is blank."""
    out = np.full(len(a), levels.index("different"), np.int8)
    miss = (a == "") | (b == "")
    eq = a == b
    out[eq] = levels.index("exact")
    rest = ~eq & ~miss
    idx = np.flatnonzero(rest)
    if len(idx):
        if "one_edit" in levels:
            d = _lev(a[idx], b[idx])
            out[idx[d <= 1]] = levels.index("one_edit")
        if "fuzzy_high" in levels:
            s = _jw(a[idx], b[idx])
            hi = s >= high
            if "fuzzy_low" in levels:
                out[idx[(s >= low) & ~hi]] = levels.index("fuzzy_low")
            out[idx[hi]] = levels.index("fuzzy_high")
    out[miss] = -1
    return out


def _name_levels(a, b, av, bv, swapped, ak, bk, vocab: "_NameVocab") -> np.ndarray:
    """Name-part levels: exact, 異体字/kana-folded equal, equal once one record's family and given names are
    swapped back (`swapped`: that pair's parts were compared crosswise), typo, same reading only, somewhat
    similar, different. The reading (ak/bk) is used only when the written names differ. Names come as codes of
    `vocab` (-1 blank)."""
    L = {n: i for i, n in enumerate(_NAME_LEVELS)}
    out = np.full(len(a), L["different"], np.int8)
    miss = (a < 0) | (b < 0)
    s = np.zeros(len(a))
    # a slip of a letter in a latin name is a typo; in a name of two or three kanji one character more or less is
    # another name (伊藤/伊東, 健/健太): Japanese names get no fuzzy levels, a mistyped one still reads the same
    latin = vocab.ascii[av]
    idx = np.flatnonzero(~miss & (av != bv) & latin)  # the similarity counts only for latin names
    if len(idx):
        s[idx] = _jw(vocab.text[av[idx]], vocab.text[bv[idx]])
    out[(s >= 0.75) & latin] = L["fuzzy_low"]
    out[(ak >= 0) & (ak == bk) & (av != bv)] = L["reading"]
    out[(s >= 0.9) & latin & (vocab.length[av] >= 4)] = L["fuzzy_high"]
    out[av == bv] = L["variant"]
    out[a == b] = L["exact"]
    out[swapped & (av == bv)] = L["swapped"]
    out[miss] = -1
    return out


def _addr_levels(a, b, pa, pb, da, db, ta, tb, words) -> np.ndarray:
    """exact address / a typo in the words (numbers equal) / same postcode only / same words, other house number
    (a neighbour, not a match) / different; -1 when neither address nor postcode is on both sides.

    Address, postcode, house numbers and words come as integer codes (Features.codes: -1 blank, equal text equal
    code); words(k) gives the words of pairs k as text, for the similarity."""
    L = {n: k for k, n in enumerate(_ADDR_LEVELS)}
    n = len(a)
    out = np.full(n, L["different"], np.int8)
    has_a = (a >= 0) & (b >= 0)
    has_p = (pa >= 0) & (pb >= 0)
    out[has_p & (pa == pb)] = L["postcode_only"]
    idx = np.flatnonzero(has_a & (a != b))
    if len(idx):
        da, db, ta, tb = da[idx], db[idx], ta[idx], tb[idx]
        near = (ta == tb) & (da != db)
        same_numbers = np.flatnonzero(da == db)  # the similarity of the words is read only there
        typo = np.zeros(len(idx), bool)
        typo[same_numbers] = _jw(*words(idx[same_numbers])) >= 0.85
        cur = out[idx]
        cur = np.where(near & (cur != L["postcode_only"]), L["near"], cur)
        cur = np.where(typo, L["fuzzy_high"], cur)
        out[idx] = cur
    out[has_a & (a == b)] = L["exact"]
    out[~has_a & ~has_p] = -1
    return out


NAME_COLUMNS = ("fam", "giv", "fam_v", "giv_v", "kana_fam", "kana_giv", "kana", "full", "full_v")


class _NameVocab:
    """Every name, reading and whole name of the list in one code space (-1 blank; one text, one code across the
    columns, so a given name can be compared with a family name), with what _name_levels reads of each."""

    def __init__(self, f: "Features"):
        cols = [c for c in NAME_COLUMNS if c in f]
        per_col, texts = {}, []
        for c in cols:
            k = f.codes(c)
            first = np.full(k.max() + 2 if len(k) else 1, -1, np.int64)
            has = np.flatnonzero(k >= 0)
            first[k[has][::-1]] = has[::-1]
            used = np.flatnonzero(first >= 0)
            per_col[c] = (k, used)
            texts.append(f[c][first[used]].astype(object))
        allu = np.concatenate(texts) if texts else np.empty(0, object)
        shared, vocab = pd.factorize(allu)
        self.codes, at = {}, 0
        for c in cols:
            k, used = per_col[c]
            m = np.full(k.max() + 2 if len(k) else 1, -1, np.int64)
            m[used] = shared[at:at + len(used)]
            at += len(used)
            self.codes[c] = np.where(k >= 0, m[k], -1)
        self._set(list(vocab))

    def _set(self, words: list[str]):
        self.words = words
        self.text = np.array(words + [""], dtype=object)   # code -1 reads the last: ""
        self.ascii = np.array([w.isascii() for w in self.words] + [True], bool)
        self.length = np.array([len(w) for w in self.words] + [0], np.int64)
        self._index = None

    def code(self, w: str) -> int:
        """The code of a text, added when new (a name split against the other record's surname)."""
        if not w:
            return -1
        if self._index is None:
            self._index = {x: k for k, x in enumerate(self.words)}
        k = self._index.get(w)
        if k is None:
            k = len(self.words)
            self._set(self.words + [w])
            self._index = {x: n for n, x in enumerate(self.words)}
        return k


def _name_pairs(f: "Features", i, j) -> dict[str, tuple]:
    """Per pair, the arguments of _name_levels for the family, given and whole-name comparisons, as codes of the
    list's name vocabulary (f.names()).

    A name typed without a space (山田太郎) is split where the other record's family name ends (山田 太郎); the
    reading (フリガナ) is compared per part when it was typed with a space, as a whole otherwise. The reading is
    not a comparison of its own: it says the same as the name, and counting it twice would call every pair of
    same-name strangers a match."""
    V = f.names()
    both = lambda c: (np.take(V.codes[c], i), np.take(V.codes[c], j))  # noqa: E731
    (fam_i, fam_j), (giv_i, giv_j) = both("fam"), both("giv")
    (fv_i, fv_j), (gv_i, gv_j) = both("fam_v"), both("giv_v")
    for fa, ga, fva, gva, fb, fvb in ((fam_i, giv_i, fv_i, gv_i, fam_j, fv_j), (fam_j, giv_j, fv_j, gv_j, fam_i, fv_i)):
        one = np.flatnonzero((ga < 0) & (fa >= 0) & (fb >= 0) & (fb != fa))
        for k in one:
            whole, wv, other = V.text[fa[k]], V.text[fva[k]], V.text[fvb[k]]
            if wv.startswith(other) and len(wv) > len(other):
                cut = len(other)
                fa[k], ga[k], fva[k], gva[k] = (V.code(whole[:cut]), V.code(whole[cut:]), V.code(wv[:cut]),
                                                V.code(wv[cut:]))
    (kf_i, kf_j), (kg_i, kg_j) = both("kana_fam"), both("kana_giv")
    k_i, k_j = both("kana")
    # one record typed the given name first (真由美 林 against 林 真由美, also after a marriage: 真由美 林 against
    # 佐藤 真由美): its parts, written and read, are put back in order and the parts then equal are 姓名入替. Which
    # record is swapped: the one that has the shared name in the slot the list does not mostly type it in
    cross = (fv_i != fv_j) & (gv_i != gv_j) & (fv_i >= 0) & (fv_j >= 0) & (gv_i >= 0) & (gv_j >= 0)
    gf, fg = cross & (gv_i == fv_j), cross & (fv_i == gv_j)
    isfam_gi, isfam_fi = np.take(f["giv_isfam"], i), np.take(f["fam_isfam"], i)
    swap_i = (gf & ~fg & isfam_gi) | (fg & ~gf & ~isfam_fi)
    swap_j = (gf | fg) & ~swap_i
    swap = swap_i | swap_j
    if swap.any():
        fam_i, giv_i = np.where(swap_i, giv_i, fam_i), np.where(swap_i, fam_i, giv_i)
        fv_i, gv_i = np.where(swap_i, gv_i, fv_i), np.where(swap_i, fv_i, gv_i)
        kf_i, kg_i = np.where(swap_i, kg_i, kf_i), np.where(swap_i, kf_i, kg_i)
        fam_j, giv_j = np.where(swap_j, giv_j, fam_j), np.where(swap_j, fam_j, giv_j)
        fv_j, gv_j = np.where(swap_j, gv_j, fv_j), np.where(swap_j, fv_j, gv_j)
        kf_j, kg_j = np.where(swap_j, kg_j, kf_j), np.where(swap_j, kf_j, kg_j)
    whole_reading = (kf_i < 0) | (kf_j < 0)
    rk_fi = np.where(whole_reading, k_i, kf_i)
    rk_fj = np.where(whole_reading, k_j, kf_j)
    rk_gi = np.where(whole_reading, k_i, kg_i)
    rk_gj = np.where(whole_reading, k_j, kg_j)
    # still one word on a side: compare whole names in the family comparison, given names then missing
    nosplit = (giv_i < 0) | (giv_j < 0)
    (full_i, full_j), (fullv_i, fullv_j) = both("full"), both("full_v")  # a re-split keeps them
    return {
        "family": (np.where(nosplit, full_i, fam_i), np.where(nosplit, full_j, fam_j),
                   np.where(nosplit, fullv_i, fv_i), np.where(nosplit, fullv_j, fv_j), swap & ~nosplit,
                   np.where(nosplit, k_i, rk_fi), np.where(nosplit, k_j, rk_fj), V),
        "given": (np.where(nosplit, -1, giv_i), np.where(nosplit, -1, giv_j), gv_i, gv_j, swap & ~nosplit,
                  rk_gi, rk_gj, V),
        "name": (full_i, full_j, fullv_i, fullv_j, np.zeros(len(i), bool), k_i, k_j, V),
    }


class _PairData:
    """The features of both records of each pair, each column fetched once (numpy fancy indexing)."""

    def __init__(self, f: Features, pairs: np.ndarray):
        # contiguous index arrays and np.take: 4x faster than fancy indexing a unicode array with a strided index
        self.f, self.i, self.j = f, np.ascontiguousarray(pairs[:, 0]), np.ascontiguousarray(pairs[:, 1])
        self._names = None

    def __call__(self, col: str) -> tuple[np.ndarray, np.ndarray]:
        v = self.f[col]
        return np.take(v, self.i), np.take(v, self.j)

    def codes(self, col: str) -> tuple[np.ndarray, np.ndarray]:
        """Features.codes of both records: equal text, equal code; -1 blank."""
        v = self.f.codes(col)
        return np.take(v, self.i), np.take(v, self.j)

    def names(self) -> dict[str, tuple]:
        if self._names is None:
            self._names = _name_pairs(self.f, self.i, self.j)
        return self._names


def _decide_name(part: str):
    return lambda d, c: _name_levels(*d.names()[part])


def _decide_dob(d: _PairData, c) -> np.ndarray:
    a, b = d("dob")
    di = d.f.dob_int()
    x, y = (None, None) if di is None else (di[d.i], di[d.j])
    if x is None:  # not all YYYYMMDD (never from _date_key): as strings
        lv = _levels_simple(a, b, ("exact", "one_edit", "different"))
    else:
        # 8 digits on both sides: one edit is one digit changed (an insertion or a deletion changes the length)
        lv = np.full(len(x), 2, np.int8)
        both = (x >= 0) & (y >= 0)
        off = np.zeros(len(x), np.int8)
        xx, yy = x.copy(), y.copy()
        for _ in range(8):
            off += (xx % 10) != (yy % 10)
            xx //= 10
            yy //= 10
        lv[both & (off <= 1)] = 1
        lv[both & (x == y)] = 0
        lv[~both] = -1
    lv = np.where(lv == 2, 3, lv).astype(np.int8)
    k = np.flatnonzero(lv == 3)
    if len(k):
        # YYYYMMDD as integers: same year, month and day swapped (4/9 typed for 9/4)
        if x is None:
            xk, yk = a[k].astype("U8").astype(np.int64), b[k].astype("U8").astype(np.int64)
        else:
            xk, yk = x[k], y[k]
        swapped = (xk // 10000 == yk // 10000) & (xk // 100 % 100 == yk % 100) & (xk % 100 == yk // 100 % 100)
        lv[k[swapped]] = 2
    return lv


def _decide_phone(d: _PairData, c) -> np.ndarray:
    """mobile / landline / different over every phone column at once: a phone in 電話番号 equals one in 携帯電話."""
    f, i, j = d.f, d.i, d.j
    phs = [c2 for c2 in f.columns if re.fullmatch(r"ph\d+", c2)]
    codes = f.shared_codes(tuple(phs))  # one code space over all phone columns: compare ints, not text
    n = len(i)
    mobile_eq, land_eq, any_i, any_j = (np.zeros(n, bool) for _ in range(4))
    for p in phs:
        v, mob = codes[p], f[p + "_mobile"]
        vi = v[i]
        any_i |= vi >= 0
        any_j |= v[j] >= 0
        for q in phs:
            eq = (vi >= 0) & (vi == codes[q][j])
            mobile_eq |= eq & mob[i]
            land_eq |= eq & ~mob[i]
    lv = np.full(n, 2, np.int8)
    lv[land_eq] = 1
    lv[mobile_eq] = 0
    lv[~(any_i & any_j)] = -1
    return lv


def _decide_email(d: _PairData, c) -> np.ndarray:
    e, loc = d.f.codes("email"), d.f.codes("email_local_id")
    i, j = d.i, d.j
    lv = np.full(len(i), 2, np.int8)
    lv[(loc[i] >= 0) & (loc[i] == loc[j])] = 1
    lv[e[i] == e[j]] = 0
    lv[(e[i] < 0) | (e[j] < 0)] = -1
    return lv


def _decide_addr(d: _PairData, c) -> np.ndarray:
    words = d.f["addr_text"]
    return _addr_levels(*d.codes("addr"), *d.codes("postcode"), *d.codes("addr_digits"), *d.codes("addr_text"),
                        lambda k: (np.take(words, d.i[k]), np.take(words, d.j[k])))


def _decide_exact(col: str):
    def decide(d: _PairData, c) -> np.ndarray:
        a, b = d(col)
        lv = np.where(a == b, 0, 1).astype(np.int8)
        lv[(a == "") | (b == "")] = -1
        return lv
    return decide


def _decide_simple(col: str):
    return lambda d, c: _levels_simple(*d(col), c.levels)


@dataclass(frozen=True)
class Comparison:
    """One field compared pair by pair: its levels (strongest first; the last is "different"; -1 = missing on
    either side) and how each pair's level is decided.

    shared: agreeing levels a family at one address shares (surname, address, landline, family e-mail, a twin's
    birth date). Between two people told apart by a given name or a sex that disagree they are no evidence of one
    person: their agreement is what a household looks like. home: agreement here puts two people in one household."""
    key: str
    ja: str                          # field name as a clerk says it
    en: str
    levels: tuple[str, ...]
    match_levels: tuple[str, ...]    # levels that count as agreement in the reason text
    decide: Callable[["_PairData", "Comparison"], np.ndarray] = field(compare=False, repr=False, default=None)
    applies: Callable[[Callable[[str], bool]], bool] = field(compare=False, repr=False, default=None)
    shared: tuple[str, ...] = ()
    home: bool = False


# The comparisons, in the order reasons list them. `applies` is given has(feature) -> the list has that feature.
COMPARISONS: tuple[Comparison, ...] = (
    Comparison("family", "姓", "family name", _NAME_LEVELS, _NAME_LEVELS[:4], _decide_name("family"),
               lambda has: has("giv"), shared=_NAME_LEVELS[:5]),
    Comparison("given", "名", "given name", _NAME_LEVELS, _NAME_LEVELS[:4], _decide_name("given"),
               lambda has: has("giv")),
    Comparison("name", "氏名", "name", _NAME_LEVELS, _NAME_LEVELS[:4], _decide_name("name"),
               lambda has: has("fam") and not has("giv")),
    Comparison("dob", "生年月日", "birth date", _DOB_LEVELS, _DOB_LEVELS[:3], _decide_dob,
               lambda has: has("dob"), shared=("exact",)),
    Comparison("sex", "性別", "sex", ("exact", "different"), ("exact",), _decide_exact("sex"),
               lambda has: has("sex")),
    Comparison("phone", "電話", "phone", ("mobile", "landline", "different"), ("mobile", "landline"), _decide_phone,
               lambda has: has("ph0") or has("ph1"), shared=("landline",), home=True),
    Comparison("email", "メール", "e-mail", ("exact", "local", "different"), ("exact", "local"), _decide_email,
               lambda has: has("email"), shared=("exact", "local"), home=True),
    # one comparison for where someone lives: address and postcode say the same thing twice, and counting them as
    # independent evidence would merge every family at one address
    Comparison("addr", "住所", "address", _ADDR_LEVELS, _ADDR_LEVELS[:3], _decide_addr,
               lambda has: has("addr") or has("postcode"), shared=_ADDR_LEVELS[:4], home=True),
    # with an address, the prefecture says nothing more (a move changes both): counted once, in 住所
    Comparison("pref", "都道府県", "prefecture", ("exact", "different"), ("exact",), _decide_exact("pref"),
               lambda has: has("pref") and not (has("addr") or has("postcode")), shared=("exact",)),
    Comparison("building", "建物", "building", ("exact", "fuzzy_high", "different"), ("exact", "fuzzy_high"),
               _decide_simple("building"), lambda has: has("building"), shared=("exact", "fuzzy_high"), home=True),
    Comparison("idnum", "番号", "ID number", ("exact", "one_edit", "different"), ("exact", "one_edit"),
               _decide_simple("idnum"), lambda has: has("idnum")),
)


def _comparisons(f: Features) -> list[Comparison]:
    """The comparisons this list's features allow: the registry's, then one per column of kind "other"."""
    has = lambda c: c in f.columns and bool((f[c] != "").any())  # noqa: E731
    out = [c for c in COMPARISONS if c.applies(has)]
    for col in f.columns:
        if col.startswith("other:") and has(col):
            nm = col.split(":", 1)[1]
            out.append(Comparison(col, nm, nm, ("exact", "fuzzy_high", "different"), ("exact", "fuzzy_high"),
                                  _decide_simple(col)))
    return out


def compare(f: Features, pairs: np.ndarray, comps: list[Comparison] | None = None) -> pd.DataFrame:
    """One int8 level column per comparison (-1 = missing on either side), one row per pair."""
    comps = comps if comps is not None else _comparisons(f)
    d = _PairData(f, pairs)
    return pd.DataFrame({c.key: c.decide(d, c) for c in comps})

# --- 4. the model --------------------------------------------------------------------------------------------------

@dataclass
class Model:
    """Fellegi–Sunter m/u probabilities per comparison level and the prior match rate among candidate pairs."""

    m: dict[str, np.ndarray] = field(default_factory=dict)
    u: dict[str, np.ndarray] = field(default_factory=dict)
    prior: float = 1e-4       # P(two records picked at random are one person), as splink states it
    iterations: int = 0

    def to_json(self) -> str:
        return json.dumps({"m": {k: v.tolist() for k, v in self.m.items()},
                           "u": {k: v.tolist() for k, v in self.u.items()}, "prior": self.prior},
                          separators=(",", ":"))

    @classmethod
    def from_json(cls, s: str) -> "Model":
        d = json.loads(s)
        return cls({k: np.array(v) for k, v in d["m"].items()}, {k: np.array(v) for k, v in d["u"].items()},
                   float(d["prior"]))


def _u_random(f: pd.DataFrame, comps: list[Comparison], sample: int, seed: int) -> dict[str, np.ndarray]:
    """u: how often each level occurs between two records picked at random (almost never the same person).

    The exact level's u is the chance two random values are equal, Σ p_v² over the value frequencies (exact, and
    cheap); the other levels share the remaining mass as seen in a random sample of pairs."""
    n = len(f)
    rng = np.random.default_rng(seed)
    k = min(sample, n * (n - 1) // 2)
    i = rng.integers(0, n, k)
    j = rng.integers(0, n, k)
    keep = i != j
    pairs = np.stack([i[keep], j[keep]], axis=1)
    lv = compare(f, pairs, comps)
    u = {}
    for c in comps:
        x = lv[c.key].to_numpy()
        cnt = np.bincount(x[x >= 0], minlength=len(c.levels)).astype(float)
        # a level never seen among random pairs (an exact phone) still happens by chance: smooth it
        uu = (cnt + 0.5) / (cnt.sum() + 0.5 * len(c.levels))
        col = _EXACT_COL.get(c.key, c.key if c.key in f.columns else None)
        if col is not None and c.levels[0] == "exact":
            v = f.codes(col)
            v = v[v >= 0]
            if len(v) > 1:
                cnt = np.bincount(v)
                p = np.sort(cnt[cnt > 0])[::-1].astype(float) / len(v)  # value_counts' order, so the same sum
                exact = float(max((p * p).sum() - 1 / len(v), 0.0)) + 1e-9  # without a record meeting itself
                uu = np.concatenate([[exact], uu[1:] / uu[1:].sum() * (1 - exact)])
        u[c.key] = uu
    return u


_EXACT_COL = {"family": "fam", "given": "giv", "name": "full", "dob": "dob", "email": "email", "addr": "addr"}


# EM sessions, as splink trains: each blocks on one field and leaves the comparisons of that field (and the fields
# it determines) out, so the latent class EM finds is "same person", not "same name" or "same birthday".
TRAINING_SESSIONS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("dob",), ("dob",)),
    (("name_set",), ("family", "given", "name")),
    (("full_v",), ("family", "given", "name")),
)
MAX_TRAINING_PAIRS = 50_000


def _em(arr: dict[str, np.ndarray], comps: list[Comparison], m: dict, u: dict, ignore: set[str], frozen: set[str],
        prior: float, max_iter: int) -> tuple[dict, float, int]:
    """EM for m and the prior, u held fixed. Comparisons in `ignore` (the session's blocked fields) are not
    evidence; those in `frozen` are evidence with the m an earlier session estimated, and stay as they are."""
    n = len(next(iter(arr.values()))) if arr else 0
    m = {k: v.copy() for k, v in m.items()}
    it = 0
    for it in range(1, max_iter + 1):
        logbf = np.zeros(n)
        for c in comps:
            if c.key in ignore:
                continue
            x = arr[c.key]
            bf = np.log(m[c.key] / u[c.key])
            logbf += np.where(x >= 0, bf[np.clip(x, 0, None)], 0.0)
        p = 1 / (1 + np.exp(-np.clip(np.log(prior / (1 - prior)) + logbf, -50, 50)))
        new_prior = float(np.clip(p.mean(), 1e-6, 1 - 1e-6))
        delta = abs(new_prior - prior)
        prior = new_prior
        for c in comps:
            if c.key in ignore or c.key in frozen:
                continue
            x = arr[c.key]
            ok = x >= 0
            cnt = np.bincount(x[ok], weights=p[ok], minlength=len(c.levels))
            newm = (cnt + 1e-3) / (cnt.sum() + 1e-3 * len(c.levels))
            delta = max(delta, float(np.abs(newm - m[c.key]).max()))
            m[c.key] = newm
        if delta < 1e-5:
            break
    return m, prior, it


def fit(f: Features, pairs: np.ndarray, levels: pd.DataFrame, comps: list[Comparison], *, u_sample: int = 30_000,
        max_iter: int = 40, seed: int = 0) -> Model:
    """u from random pairs; m by EM sessions, one per training block, as splink trains; then the match rate
    among the candidate pairs by EM with m and u held fixed. No labels.

    Sessions run in turn and a comparison keeps the m of the first session that could estimate it: pairs sharing a
    birth date teach everything but the birth date; pairs sharing a name then teach only the birth date, with the
    rest held fixed. Estimating e-mail or address among same-name pairs would learn "same name" instead of "same
    person": strangers with one name share e-mail local parts (taro.yamada) and towns more than chance."""
    u = _u_random(f, comps, u_sample, seed)
    m = {}
    for c in comps:
        # start from "true matches mostly agree": geometric decay from the exact level
        w = np.array([0.5 ** r for r in range(len(c.levels))], float)
        w[-1] = 0.05
        m[c.key] = w / w.sum()
    rng = np.random.default_rng(seed)
    learned: set[str] = set()
    iters = 0
    # pairs the names or sex already tell apart (families, twins) teach nothing about one person: left out, or
    # the twins sharing a birth date, address and landline would teach the birth-date session that one person's
    # records share a landline rather than a mobile
    known_apart = two_people(levels, f, pairs)
    for rule, leave_out in TRAINING_SESSIONS:
        ignore = {c.key for c in comps if c.key in leave_out}
        if all(c.key in learned or c.key in ignore for c in comps) or any(c not in f.columns for c in rule):
            continue
        # the session's pairs are the candidates that share its key
        same = np.ones(len(pairs), bool)
        for c in rule:
            k = f.codes(c)
            same &= (k[pairs[:, 0]] >= 0) & (k[pairs[:, 0]] == k[pairs[:, 1]])
        sel = np.flatnonzero(same & ~known_apart)
        if len(sel) < 50:
            continue
        if len(sel) > MAX_TRAINING_PAIRS:
            sel = np.sort(rng.choice(sel, MAX_TRAINING_PAIRS, replace=False))
        arr = {c.key: levels[c.key].to_numpy()[sel] for c in comps}
        m, _, it = _em(arr, comps, m, u, ignore, learned, 0.1, max_iter)
        iters += it
        learned |= {c.key for c in comps if c.key not in ignore}
    # the match rate among candidates, m and u fixed: every comparison counts as evidence here
    arr = {c.key: levels[c.key].to_numpy() for c in comps}
    prior, it = _prior_only(arr, comps, m, u, max_iter)
    # EM's prior is the match rate among candidate pairs, which depends on how wide the blocking was. Scores use
    # the rate among all pairs instead (blocking keeps nearly every true pair), so a pair must carry enough
    # evidence to beat the odds of two random customers being one person, whatever the blocking.
    n = len(f)
    total = max(n * (n - 1) / 2, 1.0)
    return Model(m, u, float(np.clip(prior * len(levels) / total, 1e-9, 0.5)), iters + it)


def _prior_only(arr, comps, m, u, max_iter) -> tuple[float, int]:
    """The match rate among candidate pairs by EM with m and u held fixed."""
    n = len(next(iter(arr.values()))) if arr else 0
    logbf = np.zeros(n)
    for c in comps:
        x = arr[c.key]
        bf = np.log(m[c.key] / u[c.key])
        logbf += np.where(x >= 0, bf[np.clip(x, 0, None)], 0.0)
    prior, it = 0.1, 0
    if n == 0:
        return prior, it          # no candidate pairs: nothing to estimate from
    for it in range(1, max_iter + 1):
        p = 1 / (1 + np.exp(-np.clip(np.log(prior / (1 - prior)) + logbf, -50, 50)))
        new = float(np.clip(p.mean(), 1e-6, 1 - 1e-6))
        if abs(new - prior) < 1e-7:
            prior = new
            break
        prior = new
    return prior, it


def match_weight(model: Model, levels: pd.DataFrame, comps: list[Comparison],
                 apart: np.ndarray | None = None, new_surname: np.ndarray | None = None) -> np.ndarray:
    """log2 Bayes factor of each pair plus the prior odds (splink's match weight).

    apart: pairs already told apart as two people (`two_people`). For them the agreement of a shared field
    (surname, address, landline, e-mail, birth date) counts for nothing: among two members of one family it is
    what they share, not chance, so its Bayes factor is 1 there (it still counts against them when it
    disagrees). This is the dependence the independent-fields model leaves out."""
    w = np.full(len(levels), np.log2(model.prior / (1 - model.prior)))
    for c in comps:
        x = levels[c.key].to_numpy()
        bf = _log2_bf(model, c)
        term = np.where(x >= 0, bf[np.clip(x, 0, None)], 0.0)
        if apart is not None and c.shared:
            shared = apart & np.isin(x, [c.levels.index(n) for n in c.shared])
            term = np.where(shared, np.minimum(term, 0.0), term)
        if new_surname is not None and c.key in MOVES_WITH_A_MARRIAGE:
            term = np.where(new_surname, np.maximum(term, 0.0), term)
        w += term
    return w


# What changes with a marriage beside the surname: the home (address, postcode, building, prefecture). For one
# Japanese given name typed alike under another surname, with her mobile or e-mail kept, a home that disagrees is
# the same event as the surname, the marriage, already counted once there: it counts nothing more (counted twice,
# such women stayed below the threshold: 29 of 2,731 true pairs lost on the JP benchmark). Phones and e-mail still
# count: a mobile stays with the person. A given name and birth date alone are not enough (`new_surname`).
MOVES_WITH_A_MARRIAGE = frozenset({"addr", "building", "pref"})


def new_surname(levels: pd.DataFrame, f: Features, pairs: np.ndarray, apart: np.ndarray) -> np.ndarray:
    """Pairs that look like one person after a marriage: the Japanese given name equal (or a 異体字 of it), the
    family name different, the mobile or the e-mail equal, and nothing telling them apart (`two_people`)."""
    n = len(levels)
    if "given" not in levels.columns or "family" not in levels.columns or n == 0:
        return np.zeros(n, bool)
    given, family = levels["given"].to_numpy(), levels["family"].to_numpy()
    out = np.isin(given, (_NAME_LEVELS.index("exact"), _NAME_LEVELS.index("variant")))
    out &= family == _NAME_LEVELS.index("different")
    out &= ~apart
    # and something of her own that a marriage leaves: her mobile or her e-mail. A given name and a birth date
    # alone are shared by chance too often (at 100,000 customers, hundreds of pairs of strangers)
    kept = np.zeros(n, bool)
    if "phone" in levels.columns:
        kept |= levels["phone"].to_numpy() == 0
    if "email" in levels.columns:
        kept |= np.isin(levels["email"].to_numpy(), (0, 1))
    out &= kept
    k = np.flatnonzero(out)
    if len(k):
        jp = _giv_japanese(f)
        out[k] = jp[pairs[k, 0]] & jp[pairs[k, 1]]
    return out


def _log2_bf(model: Model, c: Comparison) -> np.ndarray:
    """log2 m/u per level, a near agreement (異体字, 姓名入替, a typo) capped at the exact agreement's: rarer among
    random pairs than the exact one, it would otherwise weigh more (one name typed in the other order is no more
    evidence of one person than the name typed the same way)."""
    bf = np.log2(model.m[c.key] / model.u[c.key])
    if c.levels[0] in c.match_levels:
        near = [c.levels.index(n) for n in c.match_levels[1:]]
        bf[near] = np.minimum(bf[near], bf[0])
    return bf


def two_people(levels: pd.DataFrame, f: Features | None = None, pairs: np.ndarray | None = None) -> np.ndarray:
    """Pairs the names or the sex say are two people, whatever else they share: a given name that disagrees
    outright (not a variant, another reading of the same name or a 異体字; written and read differently), a
    different sex, or one reading in other kanji with another birth date (洋子/陽子, mother and daughter).

    Given names in Latin letters are left out: there a letter slip is a typo (FEBRL's 'jsohua'), and nothing
    tells a typo from another name."""
    n = len(levels)
    lv = lambda k: levels[k].to_numpy() if k in levels.columns else np.full(n, -1)  # noqa: E731
    given = lv("given")
    out = lv("sex") == 1
    out |= (given == _NAME_LEVELS.index("reading")) & (lv("dob") == len(_DOB_LEVELS) - 1)
    diff = given == _NAME_LEVELS.index("different")
    if diff.any() and f is not None and pairs is not None:
        k = np.flatnonzero(diff)
        jp = _giv_japanese(f)
        diff[k] = jp[pairs[k, 0]] & jp[pairs[k, 1]]
    return out | diff


def _giv_japanese(f: Features) -> np.ndarray:
    """Which rows' given names are written in Japanese (cached on the features: read by every session)."""
    if "#giv_jp" not in f._cache:
        codes = f.codes("giv")
        out = np.zeros(len(f), bool)
        has = codes >= 0
        if has.any():
            first = np.zeros(codes.max() + 1, np.int64)
            first[codes[has][::-1]] = np.flatnonzero(has)[::-1]
            jp = np.fromiter((_has_japanese(x) for x in f["giv"][first]), bool, len(first))
            out[has] = jp[codes[has]]
        f._cache["#giv_jp"] = out
    return f._cache["#giv_jp"]


HOUSEHOLD_LABEL = ("同一世帯(別人)", "same household (different people)")


def reasons(levels: pd.DataFrame, comps: list[Comparison], household: np.ndarray | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """Reason text per pair (ja, en): agreeing fields first, then the differing ones; for a household
    (同一世帯(別人)) the label and what tells the two apart first, then what they share. Built once per distinct
    combination of levels (a few hundred), not per pair."""
    if len(levels) == 0:
        return np.empty(0, object), np.empty(0, object)
    keys = [c.key for c in comps]
    lv = levels[keys].to_numpy().astype(np.int64) + 1   # 0 = missing
    code = np.zeros(len(lv), np.int64) if household is None else np.asarray(household, np.int64)
    for k in range(lv.shape[1]):
        code = code * 16 + lv[:, k]
    _, first, inv = np.unique(code, return_index=True, return_inverse=True)
    combos = lv[first] - 1
    house = np.zeros(len(first), bool) if household is None else np.asarray(household, bool)[first]
    ja, en = [], []
    for row, hh in zip(combos, house):
        agree_ja, agree_en, diff_ja, diff_en = [], [], [], []
        for c, x in zip(comps, row):
            if x < 0:
                continue
            name = c.levels[x]
            t_ja, t_en = LEVEL_TEXT[name]
            if name in c.match_levels or name == "reading":
                agree_ja.append(c.ja + t_ja)
                agree_en.append(f"{c.en} {t_en}")
            elif name == "different" or name == "fuzzy_low":
                diff_ja.append(c.ja + t_ja)
                diff_en.append(f"{c.en} {t_en}")
        if hh:
            ja.append(f"{HOUSEHOLD_LABEL[0]}: " + "・".join(diff_ja + agree_ja))
            en.append(f"{HOUSEHOLD_LABEL[1]}: " + ", ".join(diff_en + agree_en))
        else:
            ja.append("・".join(agree_ja + diff_ja))
            en.append(", ".join(agree_en + diff_en))
    inv = np.asarray(inv).reshape(-1)
    return np.array(ja, object)[inv], np.array(en, object)[inv]


# --- 5. households, clusters ---------------------------------------------------------------------------------------

def _household(levels: pd.DataFrame, comps: list[Comparison], apart: np.ndarray) -> np.ndarray:
    """Two people (`two_people`) who share an address, a landline, an e-mail address or a building and nothing
    personal (a mobile, an ID number): one household, 同一世帯(別人). Twins too: a birth date is shared there."""
    n = len(levels)
    home = np.zeros(n, bool)
    for c in comps:
        if c.home:
            x = levels[c.key].to_numpy()
            home |= np.isin(x, [c.levels.index(s) for s in c.shared])
    lv = lambda k: levels[k].to_numpy() if k in levels.columns else np.full(n, -1)  # noqa: E731
    personal = (lv("phone") == 0) | np.isin(lv("idnum"), (0, 1))
    return apart & home & ~personal


def _pairs_in(ids: np.ndarray, pairs: np.ndarray, decided: set[frozenset] | None) -> np.ndarray:
    """Which pairs (row positions) are among the decided id pairs."""
    if not decided or len(pairs) == 0:
        return np.zeros(len(pairs), bool)
    n = len(ids)
    pos = {x: k for k, x in enumerate(ids)}
    codes = []
    for d in decided:
        a, b = tuple(d) if len(d) == 2 else (None, None)
        if a in pos and b in pos:
            i, j = sorted((pos[a], pos[b]))
            codes.append(i * n + j)
    lo, hi = np.minimum(pairs[:, 0], pairs[:, 1]), np.maximum(pairs[:, 0], pairs[:, 1])
    return np.isin(lo.astype(np.int64) * n + hi, np.array(codes, np.int64))


def cluster(ids: np.ndarray, pairs: np.ndarray, accept: np.ndarray, weight: np.ndarray, *,
            cannot_link: set[frozenset] | None = None, previous: dict[str, str] | None = None,
            max_size: int = 8) -> np.ndarray:
    """A cluster id per row: connected components over accepted pairs.

    Guard against chaining: a component larger than `max_size`, or holding a pair staff decided 別人, is cut by
    dropping its weakest accepted links until it no longer does. IDs: each cluster keeps the id it had in
    `previous` (customer_id -> cluster_id) when most of its members had it; otherwise it is named after its
    smallest member id, so re-running on the same data gives the same ids.
    """
    n = len(ids)
    cannot_link = cannot_link or set()
    e = pairs[accept]
    w = weight[accept]
    order = np.argsort(-w, kind="stable")
    e, w = e[order], w[order]
    labels = _components(n, e)
    # cut bad components
    sid = {x: k for k, x in enumerate(ids)}
    cl_pos = [(sid[a], sid[b]) for a, b in (tuple(s) for s in cannot_link if len(s) == 2) if a in sid and b in sid]
    for _ in range(50):
        sizes = np.bincount(labels, minlength=n)
        bad = set(np.flatnonzero(sizes > max_size).tolist())
        bad |= {labels[a] for a, b in cl_pos if labels[a] == labels[b]}
        if not bad:
            break
        in_bad = np.isin(labels[e[:, 0]], list(bad)) if len(e) else np.zeros(0, bool)
        if not in_bad.any():
            break
        # drop the weakest quarter of the links inside each bad component (edges are sorted strongest first):
        # a chain breaks at its weakest links, and a strongly knit group of true duplicates keeps its core
        drop = np.zeros(len(e), bool)
        for comp in bad:
            idx = np.flatnonzero(labels[e[:, 0]] == comp)
            if len(idx):
                drop[idx[-max(1, len(idx) // 4):]] = True
        e, w = e[~drop], w[~drop]
        labels = _components(n, e)
    return _stable_ids(ids, labels, previous)


def _components(n: int, e: np.ndarray) -> np.ndarray:
    """A component number per node of the undirected graph with edges `e`, numbered as scipy's
    `csgraph.connected_components` numbers them: in the order of each component's smallest node (int32).

    In numpy because scipy.sparse.csgraph takes 0.35 s to import (a quarter of `xlcrm run dedupe`'s 1.5 s, #12).
    Each node points at a smaller node of its component (or itself: a root); every edge between two trees hangs
    the larger root under the smaller, then every node is pointed at its root, until no edge joins two trees —
    each root is then its component's smallest node."""
    if len(e) == 0:
        return np.arange(n)
    a, b = e[:, 0], e[:, 1]
    parent = np.arange(n)
    while True:
        ra, rb = parent[a], parent[b]
        join = ra != rb
        if not join.any():
            return np.unique(parent, return_inverse=True)[1].astype(np.int32)
        np.minimum.at(parent, np.maximum(ra, rb)[join], np.minimum(ra, rb)[join])
        while True:             # point every node at its root
            up = parent[parent]
            if np.array_equal(up, parent):
                break
            parent = up


def _stable_ids(ids: np.ndarray, labels: np.ndarray, previous: dict[str, str] | None) -> np.ndarray:
    if len(ids) == 0:
        return np.empty(0, object)
    ids = ids.astype(str)
    # the smallest member id per cluster, in natural order (C9 before C10): sort by label, length, text
    order = np.lexsort((ids, np.char.str_len(ids), labels))
    first = order[np.r_[True, labels[order][1:] != labels[order][:-1]]]
    smallest = np.empty(labels.max() + 1, object)
    smallest[labels[first]] = ids[first]
    out = smallest[labels]
    if previous:
        df = pd.DataFrame({"lab": labels, "prev": pd.Series(ids).map(previous).to_numpy(object)})
        votes = (df.dropna().groupby(["lab", "prev"]).size().reset_index(name="k")
                 .sort_values(["k", "prev"], ascending=[False, True]))
        keep, taken = {}, set()
        for lab, pv, _k in votes.itertuples(index=False):
            if lab in keep or pv in taken:
                continue
            keep[lab] = pv
            taken.add(pv)
        mapped = pd.Series(labels).map(keep)
        out = np.where(mapped.notna(), mapped.to_numpy(object), out)
    return out


# --- 6. the whole run ----------------------------------------------------------------------------------------------

@dataclass
class Result:
    pairs: pd.DataFrame        # one row per scored candidate pair (id_a, id_b, weight, probability, reasons, …)
    clusters: pd.DataFrame     # one row per input record: id, cluster_id, cluster_size, match_score, match_reason
    model: Model
    n_candidates: int


def find_duplicates(df: pd.DataFrame, kinds: dict[str, str] | None = None, *, id_column: str = "customer_id",
                    threshold: float = 0.5, review_threshold: float = 0.05, cannot_link: set[frozenset] | None = None,
                    must_link: set[frozenset] | None = None, previous: dict[str, str] | None = None,
                    model: Model | None = None, only_new: np.ndarray | None = None,
                    rules=BLOCKING_RULES) -> Result:
    """Score candidate pairs and cluster the records of `df`.

    threshold: match probability at or above which a pair is the same person; pairs between review_threshold and
    threshold are kept for review. cannot_link / must_link: pairs of ids staff decided (別人 / 統合).
    model: reuse weights from an earlier run instead of fitting (incremental checks). only_new: boolean mask of
    rows to check; pairs between two old rows are not formed.
    """
    kinds = kinds or {c: k for c, k in SCHEMA_KINDS.items() if c in df.columns}
    ids = (df[id_column].astype(str).to_numpy(object) if id_column in df.columns
           else np.array([str(x) for x in df.index], object))
    f = prepare(df, kinds)
    comps = _comparisons(f)
    pairs = candidate_pairs(f, rules, only=only_new)
    levels = compare(f, pairs, comps)
    if model is None:
        model = fit(f, pairs, levels, comps)
    apart = two_people(levels, f, pairs)
    married = new_surname(levels, f, pairs, apart)
    w = match_weight(model, levels, comps, apart, married)
    prob = 1 / (1 + np.power(2.0, -w))
    household = _household(levels, comps, apart)
    # what a household pair would score if its names and sex were not told apart: the sheet shows the households
    # a clerk could take for one person twice (high), not every family with its own e-mails and birth dates
    alike = prob.copy()
    if household.any():
        k = np.flatnonzero(household)
        alike[k] = 1 / (1 + np.power(2.0, -match_weight(model, levels.iloc[k], comps)))
    decided_no = _pairs_in(ids, pairs, cannot_link)
    decided_yes = _pairs_in(ids, pairs, must_link)
    accept = ((prob >= threshold) & ~household & ~decided_no) | decided_yes
    cid = cluster(ids, pairs, accept, w + decided_yes * 1000.0, cannot_link=cannot_link, previous=previous)
    # only the pairs someone will look at get a reason and a row: accepted, for review, households, decided
    keep = np.flatnonzero((prob >= review_threshold) | household | decided_yes | decided_no | accept)
    ja, en = reasons(levels.iloc[keep], comps, household=household[keep])
    pk = pairs[keep]
    status = np.where(accept[keep], "match", np.where(household[keep], "household", "review"))
    pair_df = pd.DataFrame({
        "id_a": ids[pk[:, 0]], "id_b": ids[pk[:, 1]], "pos_a": pk[:, 0], "pos_b": pk[:, 1],
        "match_weight": w[keep], "match_probability": prob[keep], "household": household[keep],
        "alike_probability": alike[keep], "accepted": accept[keep], "status": status, "reason_ja": ja, "reason_en": en})
    for c in comps:
        pair_df["level_" + c.key] = levels[c.key].to_numpy()[keep]
    # per record: its best accepted link (score and reason), within its cluster
    cl = pd.DataFrame({"id": ids, "cluster_id": cid})
    cl["cluster_size"] = cl.groupby("cluster_id")["id"].transform("size")
    acc = pair_df[pair_df["accepted"].to_numpy() & (cid[pk[:, 0]] == cid[pk[:, 1]])]
    long = pd.concat([acc[["pos_a", "match_probability", "reason_ja", "reason_en"]].rename(columns={"pos_a": "pos"}),
                      acc[["pos_b", "match_probability", "reason_ja", "reason_en"]].rename(columns={"pos_b": "pos"})])
    best = long.sort_values("match_probability", ascending=False).drop_duplicates("pos").set_index("pos")
    pos = np.arange(len(ids))
    cl["match_score"] = best["match_probability"].reindex(pos).fillna(0.0).to_numpy()
    cl["match_reason_ja"] = best["reason_ja"].reindex(pos).fillna("").to_numpy()
    cl["match_reason_en"] = best["reason_en"].reindex(pos).fillna("").to_numpy()
    cl.index = df.index
    keep_pairs = pair_df[(pair_df["match_probability"] >= review_threshold) | pair_df["household"]
                         | decided_yes[keep] | decided_no[keep]]
    return Result(keep_pairs.reset_index(drop=True), cl, model, len(pairs))
