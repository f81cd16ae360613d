"""Writes benchmarks/search_queries.json: queries typed the way office staff type them, each with the customers
it should find, over the seeded demo shop (`xlcrm.demo.make_demo(1000, seed=0, as_of=2026-12-01)`).

    python benchmarks/make_search_queries.py     # rewrites search_queries.json (deterministic)

Each query is made from one target customer's own record, in one of the ways staff look a customer up: the
reading in half-width kana or hiragana, the surname in its other 異体字 form, the reading without 濁点, a mobile
with and without hyphens, the last four digits after the reading, a landline's first digits, a postcode, an e-mail
fragment, a typo in the reading or in a kanji, the ID in full-width, a town and the surname, the name without a
space. `expected` = the target and the demo's planted duplicate records of the same person (demo_truth): finding
either is what the clerk wants. The file is the label set; this script only records how it was made.
"""
from __future__ import annotations

import json
import os
import random
import re
import sys
import unicodedata

import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from xlcrm import demo, schema  # noqa: E402
from xlcrm import normalize as N  # noqa: E402

SEED, N_CUSTOMERS, AS_OF = 0, 1000, "2026-12-01"
OUT = os.path.join(os.path.dirname(__file__), "search_queries.json")
HALF = str.maketrans(demo._half_kana_table())
HIRA = str.maketrans({chr(c): chr(c - 0x60) for c in range(ord("ァ"), ord("ヶ") + 1)})
LOOKALIKE = dict(zip("橋崎藤島田本村川井原木中", "端埼籐鳥由木材州丼源本仲"))  # one slip of the IME or the eye
KANA_SLIP = dict(zip("アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン",
                     "イウエオアキクケコカシスセソサチツテトタニヌネノナヒフヘホハミムメモマユヨヤリルレロランワ"))


def customers() -> pd.DataFrame:
    raw = demo.make_demo(N_CUSTOMERS, seed=SEED, as_of=AS_OF)["customers"]
    raw.index = pd.RangeIndex(2, 2 + len(raw))
    return schema.conform(raw, "customers")


def _parts(name: str) -> tuple[str, str, str, str, tuple]:
    """(surname as written, given, surname reading, given reading, other 異体字 forms) from demo's name lists."""
    for s in sorted(demo.SURNAMES, key=lambda s: -len(s[0])):
        for form in (s[0], *s[4]):
            if name.startswith(form):
                given = name[len(form):].strip(" 　")
                g = next((g for g in demo.GIVEN if g[0] == given), None)
                if g:
                    return form, given, s[1], g[1], tuple(f for f in (s[0], *s[4]) if f != form)
    return "", "", "", "", ()


def _slip(surname: str) -> str:
    """The surname with its first look-alike kanji swapped (高橋 → 高端); "" when it has none."""
    for i, ch in enumerate(surname):
        if ch in LOOKALIKE:
            return surname[:i] + LOOKALIKE[ch] + surname[i + 1:]
    return ""


def _unvoiced(k: str) -> str:
    """ヤマザキ → ヤマサキ: 濁点 and 半濁点 left off, nothing else."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", k).replace("\u3099", "").replace("\u309a", ""))


def _town(address: str) -> str:
    """The town of an address as staff would type it: 横浜市港北区日吉4-3-10 → 日吉."""
    t = N.address_text(address)
    t = next((t[len(p):] for p in N.PREFECTURES if t.startswith(p)), t)
    t = re.split(r"\d", t, maxsplit=1)[0]
    return re.split(r"[市区町村郡]", t)[-1] or t


def make() -> list[dict]:
    c = customers()
    truth = demo.demo_truth(N_CUSTOMERS, seed=SEED, as_of=AS_OF)
    dup = truth[truth["same_person"]]
    same: dict[str, set] = {}
    for a, b in zip(dup["id_a"], dup["id_b"]):
        group = same.get(a, {a}) | same.get(b, {b})
        for x in group:
            same[x] = group
    rng = random.Random(SEED)
    rows = list(c.itertuples())
    rng.shuffle(rows)
    out: list[dict] = []
    used: set[str] = set()

    def add(kind: str, q: str, r):
        out.append({"query": q, "kind": kind, "expected": sorted(same.get(r.customer_id, {r.customer_id}))})
        used.add(r.customer_id)

    def pick(ok, k: int = 5):
        got = 0
        for r in rows:
            if got == k:
                return
            if r.customer_id in used:
                continue
            fam, giv, fk, gk, other = _parts(r.name)
            if not fam:
                continue
            q = ok(r, fam, giv, fk, gk, other)
            if q:
                yield q, r
                got += 1

    mob = lambda r: N.phone(r.mobile) or (N.phone(r.phone) if N.phone_kind(r.phone) == "mobile" else "")  # noqa: E731
    land = lambda r: N.phone(r.phone) if N.phone_kind(r.phone) == "fixed" else ""  # noqa: E731
    kinds = {
        "half-width kana reading": lambda r, f, g, fk, gk, o: f"{fk} {gk}".translate(HALF),
        "hiragana reading": lambda r, f, g, fk, gk, o: f"{fk} {gk}".translate(HIRA),
        "other 異体字 form": lambda r, f, g, fk, gk, o: o and f"{o[0]} {g}",
        "reading without 濁点": lambda r, f, g, fk, gk, o: _unvoiced(fk) != fk and
        f"{_unvoiced(fk).translate(HIRA)} {g}",
        "mobile with hyphens": lambda r, f, g, fk, gk, o: mob(r) and f"{mob(r)[:3]}-{mob(r)[3:7]}-{mob(r)[7:]}",
        "mobile without hyphens": lambda r, f, g, fk, gk, o: mob(r) and f"{mob(r)}",
        "kana + last 4 digits": lambda r, f, g, fk, gk, o: (mob(r) or land(r)) and
        f"{fk.translate(HALF)} {(mob(r) or land(r))[-4:]}",
        "landline first digits + surname": lambda r, f, g, fk, gk, o: land(r) and f"{land(r)[:3]}-{land(r)[3:-4]} {f}",
        "postcode + surname": lambda r, f, g, fk, gk, o: N.postcode(r.postcode) and
        f"{N.postcode(r.postcode)[:3]}-{N.postcode(r.postcode)[3:]} {f}",
        "e-mail fragment": lambda r, f, g, fk, gk, o: r.email and len(r.email.split("@")[0]) >= 6 and
        r.email.split("@")[0][:max(6, len(r.email.split("@")[0]) - 2)].lower(),
        "typo in the reading": lambda r, f, g, fk, gk, o: len(gk) >= 3 and gk[-1] in KANA_SLIP and
        f"{fk} {gk[:-1] + KANA_SLIP[gk[-1]]}".translate(HIRA),
        "typo in a kanji": lambda r, f, g, fk, gk, o: _slip(f) and f"{_slip(f)} {g}",
        "ID in full-width": lambda r, f, g, fk, gk, o: "".join(chr(ord(ch) + 0xFEE0) for ch in r.customer_id),
        "ID in lower case": lambda r, f, g, fk, gk, o: r.customer_id.lower(),
        "town + surname": lambda r, f, g, fk, gk, o: r.address and len(_town(r.address)) >= 2 and
        f"{_town(r.address)} {f}",
        "name without a space": lambda r, f, g, fk, gk, o: f"{f}{g}",
    }
    for kind, ok in kinds.items():
        for q, r in pick(ok, 4):
            add(kind, q, r)
    return out


def main() -> int:
    queries = make()
    with open(OUT, "w", encoding="utf-8") as fh:
        json.dump({"demo": {"customers": N_CUSTOMERS, "seed": SEED, "as_of": AS_OF}, "queries": queries}, fh,
                  ensure_ascii=False, indent=1)
        fh.write("\n")
    print(f"{len(queries)} queries -> {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
