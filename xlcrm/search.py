"""Customer search: any fragment, any script or width, phones in any format, a typo — ranked and explained.

`build_index(customers)` folds every searchable column once (xlcrm.normalize) into plain arrays;
`index_for(customers)` returns the same index again until those columns change (keyed on a hash of them);
`search(index, query, limit)` returns the best rows with a score (0–100) and why they matched, and in
`.attrs["total"]` how many rows matched in all. `last_active(customers, orders, contacts)` is the optional
`last_active` column that breaks ties (without it 登録日, when the table has one).

A query is split at spaces; every token must match some field of a row (AND across tokens, OR across fields).
Per token the best field wins, with these weights, in three tiers a person would rank the same way:

  exact and prefix (ID, phone, e-mail, name, フリガナ; ≥ 70): ID exact 100 · phone exact 95 · e-mail exact 95 ·
    name exact 90 · kana exact 85 · phone last digits 80 · e-mail start 78 · name start 75 · kana start 72 ·
    ID start 70;
  parts and readings: name part 65 · e-mail part 62 · kana part 60 · postcode 60 · reading start 55 (フリガナ up to
    long vowels and 濁点: やまさき finds ヤマザキ) · phone part 50 · address part 50 · reading part 45 ·
    digits inside an e-mail 42;
  fuzzy (rapidfuzz) ≤ 40: only for a token with fewer than 5 other hits and no exact one, and only above a
  similarity cut-off (one slip in four characters; beside other hits at least 70%, so イトウ does not bring サトウ),
  so spelling neighbours never crowd out real matches.

Rows rank by score (several tokens: their mean), then the most recently active customer (`last_active`: latest
order, else latest contact or registration; unknown last), then sheet order.

How it is fast enough (≤ 50 ms a query on 100,000 customers): a text field is one string joined by a separator;
`re.finditer` finds a token in it in C and `np.searchsorted` maps hits to rows. Phones and postcodes are digit
matrices compared column-wise in numpy. Typos: tokens with no hit are scored by rapidfuzz against the rows that
share most of their characters (a character → rows table), not against all rows.
"""
from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from . import messages
from . import normalize as N

# columns of the customers table the index reads; a change in any of them rebuilds the index
COLUMNS = ("customer_id", "name", "kana", "phone", "mobile", "email", "postcode", "prefecture", "address",
           "building")
# dates that break ties between equal scores, the first present wins (see `last_active`)
ACTIVITY_COLUMNS = ("last_active", "registered_on")
RESULT_COLUMNS = ["customer_id", "name", "kana", "phone", "email", "address", "score", "matched"]

_SEP = "\x1f"  # joins values into one string; never in a normalised value (control characters are dropped)

# reasons, in the order they are listed in `matched`
REASONS = ("id", "phone", "email", "name", "kana", "address", "fuzzy")
_REASON_CODE = {r: i + 1 for i, r in enumerate(REASONS)}
W = {  # see the module docstring
    "id_exact": 100, "phone_exact": 95, "email_exact": 95, "name_exact": 90, "kana_exact": 85, "phone_suffix": 80,
    "email_start": 78, "name_start": 75, "kana_start": 72, "id_start": 70,
    "name_part": 65, "email_part": 62, "kana_part": 60, "postcode": 60, "reading_start": 55, "phone_part": 50,
    "address_part": 50, "reading_part": 45, "digits_in_text": 42,
    "fuzzy": 40,
}
EXACT_MIN = W["id_start"]  # the lowest score of an exact or prefix match
_FUZZY_CANDIDATES = 3000  # rows scored by rapidfuzz for one token at most (those sharing most characters)
FUZZY_IF_FEWER = 5        # a token with this many other hits is not a typo: no fuzzy neighbours


class _TextField:
    """One normalised column as a single joined string, for substring search in C."""

    def __init__(self, values: np.ndarray, postings: bool = False):
        self.values = values
        lengths = np.fromiter((len(v) for v in values), dtype=np.int64, count=len(values))
        self.lengths = lengths
        self.starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1])).astype(np.int64)
        self.blob = _SEP.join(values.tolist())
        self.chars = self.char_rows = None
        if postings:  # character → rows, for choosing fuzzy candidates
            codes = np.frombuffer(self.blob.encode("utf-32-le"), dtype=np.uint32)
            rows = np.repeat(np.arange(len(values), dtype=np.int32), lengths + 1)[:len(codes)]
            keep = codes != ord(_SEP)
            codes, rows = codes[keep], rows[keep]
            order = np.lexsort((rows, codes))
            self.chars, self.char_rows = codes[order], rows[order]

    def find(self, token: str):
        """Rows containing `token`, and for each whether it is the whole value / its start / its end."""
        if not token or len(self.values) == 0:
            return _EMPTY
        pos = np.fromiter((m.start() for m in re.finditer(re.escape(token), self.blob)), dtype=np.int64)
        if pos.size == 0:
            return _EMPTY
        rows = np.searchsorted(self.starts, pos, side="right") - 1
        offset = pos - self.starts[rows]
        start = offset == 0
        end = offset + len(token) == self.lengths[rows]
        return rows, start & end, start, end

    def sharing(self, token: str, need: int) -> np.ndarray:
        """Rows sharing at least `need` distinct characters with `token`, most shared first (capped)."""
        slices = []
        for ch in set(token):
            lo, hi = np.searchsorted(self.chars, ord(ch), "left"), np.searchsorted(self.chars, ord(ch), "right")
            slices.append(self.char_rows[lo:hi])
        # occurrences, not distinct characters: a repeated character counts twice (cheap, and only ranks candidates)
        counts = np.bincount(np.concatenate(slices), minlength=len(self.values)) if slices else \
            np.zeros(len(self.values), np.int64)
        rows = np.flatnonzero(counts >= need)
        if rows.size > _FUZZY_CANDIDATES:
            rows = rows[np.argsort(-counts[rows], kind="stable")[:_FUZZY_CANDIDATES]]
        return rows


_EMPTY = (np.empty(0, np.int64),) + (np.empty(0, bool),) * 3


class _DigitField:
    """Digit strings (phones, postcodes) as a uint8 matrix: substring search is a few numpy compares."""

    def __init__(self, values: np.ndarray, width: int):
        self.values = values
        self.width = width
        m = np.full((len(values), width), 255, dtype=np.uint8)
        lengths = np.zeros(len(values), dtype=np.int64)
        joined = "".join(v[:width].ljust(width, "\xff") for v in values)
        if joined:
            raw = np.frombuffer(joined.encode("latin-1"), dtype=np.uint8).reshape(len(values), width)
            m = np.where(raw == 255, 255, raw - ord("0")).astype(np.uint8)
            lengths = (m != 255).sum(axis=1)
        self.cols = [np.ascontiguousarray(m[:, j]) for j in range(width)]  # one contiguous array per position
        self.lengths = lengths

    def find(self, digits: str):
        k = len(digits)
        n = len(self.values)
        if not k or k > self.width or n == 0:
            return _EMPTY
        d = [ord(c) - ord("0") for c in digits]
        hit = np.zeros(n, bool)
        start = np.zeros(n, bool)
        end = np.zeros(n, bool)
        for o in range(self.width - k + 1):
            here = self.cols[o] == d[0]
            for j in range(1, k):
                here &= self.cols[o + j] == d[j]
            hit |= here
            if o == 0:
                start |= here
            end |= here & (self.lengths == o + k)
        rows = np.flatnonzero(hit)
        return rows, start[rows] & end[rows], start[rows], end[rows]


@dataclass
class SearchIndex:
    key: str
    rows: np.ndarray          # the customers' index (sheet row numbers)
    display: pd.DataFrame     # customer_id, name, kana, phone, email, address as shown in results
    id: _TextField
    name: _TextField
    kana: _TextField
    reading: _TextField       # kana_unvoiced: up to long vowels and 濁点
    email: _TextField
    address: _TextField
    phone: _DigitField
    mobile: _DigitField
    postcode: _DigitField
    active: np.ndarray        # last activity as int64 days, unknown = the smallest int64 (ranks last)

    def __len__(self) -> int:
        return len(self.rows)


def _col(df: pd.DataFrame, c: str) -> pd.Series:
    if c not in df.columns:
        return pd.Series("", index=df.index, dtype="str")
    col = df[c]
    if col.dtype == "str" and not col.hasnans:
        return col  # a conformed table: text with "" for blank
    return col.map(N._text).astype("str")


def table_key(customers: pd.DataFrame) -> str:
    """A hash of the searchable columns and the row numbers: equal keys, same index.

    Arrow-backed text columns (pandas' default) are hashed through their buffers (zero-copy, ~10 ms for 100,000
    rows); anything else through pandas' row hashing (~30x slower). Equal tables held differently may hash
    differently — that only costs a rebuild."""
    h = hashlib.blake2b(digest_size=16)
    idx = customers.index
    if isinstance(idx, pd.RangeIndex):
        h.update(f"range:{idx.start}:{idx.stop}:{idx.step}".encode())
    else:
        h.update(pd.util.hash_pandas_object(idx.to_series(), index=False).to_numpy().tobytes())
    for c in COLUMNS + ACTIVITY_COLUMNS:
        if c not in customers.columns:
            continue
        col = customers[c]
        h.update(f"|{c}|{len(col)}|".encode())
        if col.dtype == "str" and getattr(col.dtype, "storage", "") == "pyarrow":
            import pyarrow as pa  # present whenever pandas stores text in it
            arr = pa.array(col)
            h.update(f"{arr.offset}".encode())
            for buf in arr.buffers():
                if buf is not None:
                    h.update(memoryview(buf))
        else:
            h.update(pd.util.hash_pandas_object(col, index=False).to_numpy().tobytes())
    return h.hexdigest()


_NOT_DIGIT = re.compile(r"\D+")
_EXTENSION = re.compile(r"(?:内線|ext\.?|x|#).*$", re.IGNORECASE)


def _phone_digits(s) -> str:
    """Search form of a phone: the valid national number, else the digits typed (+81 as 0, no extension): a
    number phonenumbers rejects is still what staff will type to find the customer."""
    p = N.phone(s)
    if p:
        return p  # a valid number, with notes and second numbers dropped
    t = N.nfkc(s)
    if not t:
        return ""
    if not t.isascii() or "x" in t or "X" in t or "#" in t:
        t = _EXTENSION.sub("", t)
    d = _NOT_DIGIT.sub("", t)
    if t.startswith("+81"):
        d = "0" + d[2:].lstrip("0")  # +81 (0)90… and +81 90… both
    return d[:11]


def _id_key(s) -> str:
    return N.nfkc(s).casefold().replace(_SEP, "")


def build_index(customers: pd.DataFrame, key: str | None = None) -> SearchIndex:
    """Fold every searchable column of the customers table once."""
    c = {k: _col(customers, k) for k in COLUMNS}
    arr = lambda s: s.to_numpy(dtype=object)  # noqa: E731
    kana = N.series(c["kana"], N.kana)
    whole_address = c["prefecture"] + c["address"] + " " + c["building"]
    both = (c["phone"] != "") & (c["mobile"] != "") & (c["phone"] != c["mobile"])
    shown_phone = c["phone"].where(c["phone"] != "", c["mobile"]).where(~both, c["phone"] + " / " + c["mobile"])
    shown_address = (c["prefecture"] + c["address"] + (" " + c["building"]).where(c["building"] != "", "")).str.strip()
    display = pd.DataFrame({"customer_id": c["customer_id"], "name": c["name"], "kana": c["kana"],
                            "phone": shown_phone, "email": c["email"], "address": shown_address})
    return SearchIndex(
        key=key or table_key(customers),
        rows=customers.index.to_numpy(),
        display=display.reset_index(drop=True),
        id=_TextField(arr(N.series(c["customer_id"], _id_key))),
        name=_TextField(arr(N.series(c["name"], N.name)), postings=True),
        kana=_TextField(arr(kana), postings=True),
        reading=_TextField(arr(N.series(kana, N.kana_unvoiced))),
        email=_TextField(arr(N.series(c["email"], N.email)), postings=True),
        address=_TextField(arr(N.series(whole_address, N.address_text))),
        phone=_DigitField(arr(N.series(c["phone"], _phone_digits)), 11),
        mobile=_DigitField(arr(N.series(c["mobile"], _phone_digits)), 11),
        postcode=_DigitField(arr(N.series(c["postcode"], N.postcode)), 7),
        active=_activity(customers),
    )


_UNKNOWN = np.iinfo(np.int64).min


def _activity(customers: pd.DataFrame) -> np.ndarray:
    """The first activity column present as int64 days since 1970 (unknown = smallest); unknown for every row
    when there is none."""
    for c in ACTIVITY_COLUMNS:
        if c in customers.columns:
            d = pd.to_datetime(customers[c], errors="coerce")
            days = d.to_numpy(dtype="datetime64[D]").astype(np.int64)
            return np.where(d.isna().to_numpy(), _UNKNOWN, days)
    return np.full(len(customers), _UNKNOWN, np.int64)


def last_active(customers: pd.DataFrame, orders: pd.DataFrame | None = None,
                contacts: pd.DataFrame | None = None) -> pd.Series:
    """Each customer's latest order date, else the later of their latest contact and registration (登録日); NaT
    when none is known. Index = the customers'; orders / contacts of unknown customers are ignored."""
    ids = customers["customer_id"] if "customer_id" in customers else pd.Series(dtype="str")

    def latest(df, col):
        if df is None or len(df) == 0 or col not in df or "customer_id" not in df:
            return pd.Series(pd.NaT, index=customers.index, dtype="datetime64[ns]")
        by = pd.to_datetime(df[col], errors="coerce").groupby(df["customer_id"].to_numpy()).max()
        return pd.Series(ids.map(by).to_numpy(dtype="datetime64[ns]"), index=customers.index)
    ordered = latest(orders, "order_date")
    touched = latest(contacts, "at").dt.normalize()
    reg = (pd.to_datetime(customers["registered_on"], errors="coerce") if "registered_on" in customers
           else pd.Series(pd.NaT, index=customers.index, dtype="datetime64[ns]"))
    other = pd.concat([touched, reg.astype("datetime64[ns]")], axis=1).max(axis=1)
    return ordered.fillna(other).rename("last_active")


_CACHE: OrderedDict[str, SearchIndex] = OrderedDict()
_CACHE_SIZE = 2


def index_for(customers: pd.DataFrame) -> SearchIndex:
    """The index of this table, built once and reused until the searchable columns change."""
    key = table_key(customers)
    hit = _CACHE.get(key)
    if hit is not None:
        _CACHE.move_to_end(key)
        return hit
    idx = build_index(customers, key)
    _CACHE[key] = idx
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return idx


# --- query -------------------------------------------------------------------------------------------------------

_DIGITS_ONLY = re.compile(r"[\d\-‐‑‒–—―−ー()（）+\s]+")


def tokens(query: str) -> list[str]:
    """The tokens of a query; a whole query that is one phone number stays one token ('090 1234 5678')."""
    q = N.nfkc(query).replace(_SEP, "")
    if not q:
        return []
    if " " in q and _DIGITS_ONLY.fullmatch(q) and N.phone(q):
        return [q]
    return q.split()


class _Scores:
    """Best score and reason per row for one token."""

    def __init__(self, n: int):
        self.score = np.zeros(n, dtype=np.float32)
        self.reason = np.zeros(n, dtype=np.int8)

    def add(self, rows: np.ndarray, weights, reason: str):
        if rows.size == 0:
            return
        w = np.broadcast_to(np.asarray(weights, dtype=np.float32), rows.shape)
        cand = np.zeros_like(self.score)
        np.maximum.at(cand, rows, w)
        better = cand > self.score
        self.score[better] = cand[better]
        self.reason[better] = _REASON_CODE[reason]

    def add_text(self, found, exact: int, start: int, part: int, reason: str, end: int | None = None):
        rows, is_exact, is_start, is_end = found
        if rows.size == 0:
            return
        w = np.full(rows.shape, part, dtype=np.float32)
        if end is not None:
            w[is_end] = end
        w[is_start] = np.maximum(w[is_start], start)
        w[is_exact] = exact
        self.add(rows, w, reason)


def _score_token(idx: SearchIndex, tok: str) -> _Scores:
    """Every field's matches for one token; fuzzy ones too when the token looks like a typo (see FUZZY_IF_FEWER)."""
    n = len(idx)
    s = _Scores(n)
    # identifiers
    s.add_text(idx.id.find(_id_key(tok)), W["id_exact"], W["id_start"] if re.search(r"[^\d]", tok) else 0, 0, "id")
    digits = re.sub(r"[\-‐‑‒–—―−ー()（）\s]", "", tok)
    if digits.startswith("+"):
        digits = _phone_digits(tok) if digits.startswith("+81") else ""
    if digits.isascii() and digits.isdigit() and len(digits) >= 2:
        for field in (idx.phone, idx.mobile):
            s.add_text(field.find(digits), W["phone_exact"], W["phone_part"], W["phone_part"], "phone",
                       end=W["phone_suffix"] if len(digits) >= 4 else W["phone_part"])
        if len(digits) == 7:
            s.add_text(idx.postcode.find(digits), W["postcode"], 0, 0, "address")
        elif len(digits) >= 3:
            s.add_text(idx.postcode.find(digits), W["address_part"], W["address_part"], 0, "address")
    e = N.email(tok)
    if e.isascii():
        if e.isdigit():  # '090' inside user2090@… is a weaker hint than in a phone number
            s.add_text(idx.email.find(e), W["email_exact"], W["digits_in_text"], W["digits_in_text"], "email")
        else:
            s.add_text(idx.email.find(e), W["email_exact"], W["email_start"], W["email_part"], "email")
    # names and readings
    nm = N.name(tok)
    s.add_text(idx.name.find(nm), W["name_exact"], W["name_start"], W["name_part"], "name")
    k = N.kana(tok)
    if _has_kana(k):
        s.add_text(idx.kana.find(k), W["kana_exact"], W["kana_start"], W["kana_part"], "kana")
        s.add_text(idx.reading.find(N.kana_unvoiced(k)), W["reading_start"], W["reading_start"], W["reading_part"],
                   "kana")
    # address
    a = _address_token(tok)
    if a and not (a.isascii() and a.isdigit() and len(a) < 3):
        s.add_text(idx.address.find(a), W["address_part"], W["address_part"], W["address_part"], "address")
    hits = np.count_nonzero(s.score)
    if hits < FUZZY_IF_FEWER and (hits == 0 or s.score.max() < W["kana_exact"]) and not _digits_only(tok):
        _fuzzy(idx, tok, s, floor=70.0 if hits else 60.0)  # beside real hits only close neighbours; adds only
        # rows without a better match: fuzzy scores are below every other
    return s


def _digits_only(tok: str) -> bool:
    """A phone, postcode or number fragment: a slip in it is no nearer to a name or e-mail than any other digits."""
    return not any(ch.isalpha() for ch in tok)


def _has_kana(t: str) -> bool:
    return any("\u30a1" <= ch <= "\u30fa" for ch in t)


def _address_token(tok: str) -> str:
    return N.address_text(tok)


def _fuzzy(idx: SearchIndex, tok: str, s: _Scores, floor: float = 60.0):
    """Typos: rapidfuzz over the rows sharing most characters with the token (names, kana, e-mail), at least
    `floor` similar (and one slip in four characters at most)."""
    nm, k, e = N.name(tok), N.kana(tok), N.email(tok)
    for field, t in ((idx.name, nm), (idx.kana, k if _has_kana(k) else ""), (idx.email, e if e.isascii() else "")):
        if len(t) < 3 or field.chars is None:
            continue  # one wrong character of two is not a typo but a different word
        cutoff = max(floor, 100.0 * (1 - 1.5 / len(t)))
        if field is idx.email and "@" in t.strip("@"):
            rows = _same_local_or_domain(field, t)  # ASCII letters are everywhere: share a whole part instead
        else:
            rows = field.sharing(t, need=max(2, len(set(t)) - 2))
        if rows.size == 0:
            continue
        choices = field.values[rows].tolist()
        scorer = fuzz.partial_ratio if field is not idx.email else fuzz.ratio
        hits = process.extract(t, choices, scorer=scorer, limit=None, score_cutoff=cutoff)
        if hits:
            pos = np.fromiter((h[2] for h in hits), dtype=np.int64, count=len(hits))
            sc = np.fromiter((h[1] for h in hits), dtype=np.float32, count=len(hits))
            s.add(rows[pos], W["fuzzy"] * sc / 100.0, "fuzzy")


def _same_local_or_domain(field: _TextField, e: str) -> np.ndarray:
    """Rows whose e-mail has the same part before or after '@' (a typo is rarely in both)."""
    local, _, domain = e.rpartition("@")
    rows, _, start, end = field.find("@" + domain)
    by_domain = rows[end]
    rows, _, start, _ = field.find(local + "@")
    out = np.union1d(by_domain, rows[start])
    if out.size > _FUZZY_CANDIDATES * 10:
        out = out[:_FUZZY_CANDIDATES * 10]
    return out


def search(index: SearchIndex, query: str, limit: int = 20, lang: str | None = None) -> pd.DataFrame:
    """The best `limit` customers for `query`, best first: RESULT_COLUMNS, index = the customers' row numbers;
    `.attrs["total"]` = how many matched in all."""
    toks = tokens(query)
    n = len(index)
    if not toks or n == 0 or limit <= 0:
        return _frame(index, np.empty(0, np.int64), np.empty(0, np.float32), [], lang)
    total = np.zeros(n, dtype=np.float32)
    alive = np.ones(n, dtype=bool)
    reasons = []
    for tok in toks:
        s = _score_token(index, tok)
        alive &= s.score > 0
        if not alive.any():
            break
        total += s.score
        reasons.append(s.reason)
    if not alive.any():
        if len(toks) == 1:
            return _frame(index, np.empty(0, np.int64), np.empty(0, np.float32), [], lang)
        # '高端 太郎': a typo in a short token; try the whole query as one fuzzy name
        s = _Scores(n)
        _fuzzy(index, "".join(toks), s)
        toks, total, alive, reasons = [query], s.score, s.score > 0, [s.reason]
    if len(toks) > 1:  # the whole query as one name or reading: 'ヤマダ タロウ' is that exact name
        whole = _Scores(n)
        whole.add_text(index.name.find(N.name(query)), W["name_exact"], 0, 0, "name")
        whole.add_text(index.kana.find(N.kana(query)), W["kana_exact"], 0, 0, "kana")
        total = np.maximum(total / len(toks), np.where(alive, whole.score, 0))
    rows = np.flatnonzero(alive)
    order = _rank(total[rows], index.active[rows], rows)[:limit]
    shown = rows[order]
    why = [[r[i] for r in reasons] for i in shown]
    return _frame(index, shown, total[shown], why, lang, total=len(rows))


def _rank(score: np.ndarray, active: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Best score first; among equal scores the most recently active (unknown last), then sheet order. Row
    positions are unique, so the order is total: the same query gives the same list every time."""
    return np.lexsort((rows, -active.astype(np.float64), -score))


def _frame(index: SearchIndex, rows, scores, why, lang, total: int = 0) -> pd.DataFrame:
    out = index.display.iloc[rows].copy()
    out["score"] = np.round(scores.astype(np.float64), 1)
    labels = {i + 1: messages.text(f"search_reason_{r}", lang) for i, r in enumerate(REASONS)}
    out["matched"] = pd.Series(["・".join(labels[c] for c in sorted(set(w)) if c) for w in why],
                               index=out.index, dtype="str")
    out.index = pd.Index(index.rows[rows], name=None)
    out = out[RESULT_COLUMNS]
    out.attrs["total"] = int(total)
    return out
