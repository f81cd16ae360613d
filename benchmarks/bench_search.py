"""Search quality and speed on synthetic Japanese customers, beside references measured in the same run.

    python benchmarks/bench_search.py [--n 100000] [--seed 7] [--only quality|speed|long]

Quality (issue 15): the labelled queries of benchmarks/search_queries.json (typed as staff type them: half-width
kana, hiragana readings, 異体字, readings without 濁点, phones with and without hyphens, postcodes, e-mail
fragments, typos, IDs; see make_search_queries.py) over the seeded demo shop of 1,000 customers, and the same
1,000 among 99,000 other demo customers (100,000). Recall@5 (share of a query's expected customers in the first
five), MRR (1 / rank of the first expected one, 0 beyond 20) and ms per query, for xlcrm (ties by last order /
contact / registration, as the job ranks them), a plain substring scan (every token in some column as typed, sheet
order: what Excel's filter finds) and rapidfuzz `process.extract` (WRatio over each row's fields joined).

Long cells: one 10,000-character name among 2,000 customers, for search (index + a typo) and dedupe.

Measures: normalising each field (xlcrm.normalize.series), building the index, and per-query latency for a mix of
queries (kana fragment + phone prefix, kanji with 異体字 + ward, e-mail prefix, full phone in another format,
last 4 digits, a typo). References on the same data: a naive pandas scan (`str.contains` over the raw columns,
which finds far less: no width/kana/異体字 folding) and rapidfuzz `process.extract` over all names.
Targets (issue 3): index build ≤ 3 s, ≤ 50 ms per query on 100,000 customers.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from xlcrm import normalize as N  # noqa: E402
from xlcrm import search as S  # noqa: E402

FAMILY = [("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"), ("伊藤", "イトウ"),
          ("伊東", "イトウ"), ("渡辺", "ワタナベ"), ("山本", "ヤマモト"), ("中村", "ナカムラ"), ("小林", "コバヤシ"),
          ("加藤", "カトウ"), ("吉田", "ヨシダ"), ("山田", "ヤマダ"), ("佐々木", "ササキ"), ("山口", "ヤマグチ"),
          ("斎藤", "サイトウ"), ("松本", "マツモト"), ("井上", "イノウエ"), ("木村", "キムラ"), ("林", "ハヤシ"),
          ("清水", "シミズ"), ("山崎", "ヤマザキ"), ("森", "モリ"), ("池田", "イケダ"), ("橋本", "ハシモト"),
          ("阿部", "アベ"), ("石川", "イシカワ"), ("山下", "ヤマシタ"), ("中島", "ナカジマ"), ("石井", "イシイ"),
          ("小川", "オガワ"), ("前田", "マエダ"), ("岡田", "オカダ"), ("長谷川", "ハセガワ"), ("藤田", "フジタ"),
          ("後藤", "ゴトウ"), ("近藤", "コンドウ"), ("村上", "ムラカミ"), ("遠藤", "エンドウ"), ("青木", "アオキ"),
          ("坂本", "サカモト"), ("福田", "フクダ"), ("太田", "オオタ"), ("西村", "ニシムラ"), ("藤井", "フジイ"),
          ("金子", "カネコ"), ("岡本", "オカモト"), ("藤原", "フジワラ"), ("中野", "ナカノ"), ("三浦", "ミウラ"),
          ("原田", "ハラダ"), ("松田", "マツダ"), ("竹内", "タケウチ"), ("上田", "ウエダ"), ("小野", "オノ"),
          ("大野", "オオノ"), ("浜田", "ハマダ"), ("沢田", "サワダ"), ("桜井", "サクライ"), ("渡部", "ワタナベ")]
GIVEN = [("太郎", "タロウ"), ("花子", "ハナコ"), ("一郎", "イチロウ"), ("さくら", "サクラ"), ("翔", "ショウ"),
         ("陽菜", "ヒナ"), ("大輔", "ダイスケ"), ("美咲", "ミサキ"), ("健太", "ケンタ"), ("由美", "ユミ"),
         ("直樹", "ナオキ"), ("恵子", "ケイコ"), ("誠", "マコト"), ("愛", "アイ"), ("拓也", "タクヤ"),
         ("真由美", "マユミ"), ("浩二", "コウジ"), ("京子", "キョウコ"), ("亮", "リョウ"), ("舞", "マイ"),
         ("隆", "タカシ"), ("洋子", "ヨウコ"), ("和也", "カズヤ"), ("明美", "アケミ"), ("修", "オサム"),
         ("智子", "トモコ"), ("悠斗", "ユウト"), ("結衣", "ユイ"), ("蓮", "レン"), ("葵", "アオイ")]
VARIANT = {"高": "髙", "崎": "﨑", "斎": "齋", "辺": "邊", "浜": "濱", "沢": "澤", "桜": "櫻", "島": "嶋"}
PLACES = [("東京都", "世田谷区桜"), ("東京都", "杉並区阿佐谷北"), ("東京都", "港区六本木"), ("神奈川県", "横浜市中区山下町"),
          ("大阪府", "大阪市北区梅田"), ("愛知県", "名古屋市中区栄"), ("北海道", "札幌市中央区北1条西"),
          ("福岡県", "福岡市博多区博多駅前"), ("京都府", "京都市下京区四条通"), ("埼玉県", "さいたま市浦和区高砂"),
          ("千葉県", "千葉市中央区富士見"), ("兵庫県", "神戸市中央区三宮町"), ("宮城県", "仙台市青葉区一番町"),
          ("広島県", "広島市中区紙屋町"), ("静岡県", "静岡市葵区追手町"), ("新潟県", "新潟市中央区万代")]
KANJI_NUM = "〇一二三四五六七八九"
HALF = str.maketrans(dict(zip("アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン",
                              "ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜﾝ")))


def _wide(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)


TOWN_KANJI = "山川田中本上下東西南北新大小高松竹梅桜森林岡原野村井沢浜島坂宮台丘谷池石橋寺門和平栄富"


def customers(n: int, seed: int = 7, towns: int = 20_000) -> pd.DataFrame:
    """n synthetic customers typed the way staff type them (widths, kana scripts, 異体字, phone formats), living
    in `towns` distinct towns (real lists of 100,000 customers span tens of thousands of 町丁)."""
    rng = random.Random(seed)
    town_names = [(pref, f"{ward[:ward.index('区') + 1] if '区' in ward else ward}"
                         f"{''.join(rng.choice(TOWN_KANJI) for _ in range(rng.randint(2, 3)))}")
                  for pref, ward in (rng.choice(PLACES) for _ in range(towns))]
    rows = []
    for i in range(n):
        (fam, fk), (giv, gk) = rng.choice(FAMILY), rng.choice(GIVEN)
        if rng.random() < 0.1:
            fam = "".join(VARIANT.get(c, c) for c in fam)
        name = fam + rng.choice([" ", "　", ""]) + giv
        kana = fk + rng.choice([" ", "　"]) + gk
        r = rng.random()
        if r < 0.1:
            kana = kana.translate(HALF)
        elif r < 0.2:
            kana = "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in kana)
        elif r < 0.3:
            kana = ""
        mob = f"0{rng.choice('789')}0{rng.randint(1000, 9999)}{rng.randint(0, 9999):04d}"
        fixed = f"0{rng.randint(3, 6)}{rng.randint(1000, 9999)}{rng.randint(0, 9999):04d}"
        fmt = rng.random()

        def show(p):
            if fmt < 0.5:
                return f"{p[:3]}-{p[3:7]}-{p[7:]}" if len(p) == 11 else f"{p[:2]}-{p[2:6]}-{p[6:]}"
            if fmt < 0.7:
                return p
            if fmt < 0.85:
                return _wide(f"{p[:3]}-{p[3:7]}-{p[7:]}")
            return f"({p[:3]}){p[3:7]}-{p[7:]}"
        pref, town = rng.choice(town_names)
        c, b, g = rng.randint(1, 9), rng.randint(1, 40), rng.randint(1, 30)
        a = rng.random()
        if a < 0.4:
            street = f"{town}{c}-{b}-{g}"
        elif a < 0.7:
            street = f"{town}{c}丁目{b}番{g}号"
        elif a < 0.85:
            street = f"{town}{KANJI_NUM[c]}丁目{b}番地{g}"
        else:
            street = _wide(f"{town}{c}-{b}-{g}")
        rows.append({
            "customer_id": f"C{i + 1:06d}", "name": name, "kana": kana,
            "phone": show(fixed) if rng.random() < 0.4 else "", "mobile": show(mob) if rng.random() < 0.8 else "",
            "email": f"user{i}.{gk.lower() if gk.isascii() else i % 97}@example{rng.randint(1, 9)}.jp"
            if rng.random() < 0.7 else "",
            "postcode": f"{rng.randint(100, 999)}-{rng.randint(0, 9999):04d}" if rng.random() < 0.8 else "",
            "prefecture": pref if rng.random() < 0.5 else "",
            "address": street,
            "building": f"ハイツ{rng.randint(1, 20)}号館{rng.randint(101, 909)}" if rng.random() < 0.3 else "",
        })
        if rows[-1]["prefecture"] == "":
            rows[-1]["address"] = pref + rows[-1]["address"]
    df = pd.DataFrame(rows)
    df.index = pd.RangeIndex(2, n + 2)  # sheet row numbers (row 1 is the header)
    return df


CPU: dict = {}  # label -> best CPU seconds of the last _t call (the machine may be shared: wall time varies)


def _t(f, *a, repeat=1, **kw):
    """Best wall-clock seconds of `repeat` runs, and the result; CPU seconds of that run in CPU['last']."""
    best = float("inf")
    out = None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = f(*a, **kw)
        wall = time.perf_counter() - t
        if wall < best:
            best, CPU["last"] = wall, time.process_time() - c
    return best, out


QUERIES = os.path.join(os.path.dirname(__file__), "search_queries.json")
RAW_COLUMNS = ["customer_id", "name", "kana", "phone", "mobile", "email", "postcode", "prefecture", "address",
               "building"]


def demo_shop(n_extra: int = 0):
    """The labelled demo shop (conformed, with last_active) and its raw cells; `n_extra` other demo customers
    (ids X…) appended below."""
    import json
    from xlcrm import demo, schema
    spec = json.load(open(QUERIES, encoding="utf-8"))["demo"]
    parts = [demo.make_demo(spec["customers"], seed=spec["seed"], as_of=spec["as_of"])]
    if n_extra:
        more = demo.make_demo(n_extra, seed=spec["seed"] + 1, as_of=spec["as_of"])
        for key, t in (("customers", schema.CUSTOMERS), ("orders", schema.ORDERS), ("contacts", schema.CONTACTS)):
            col = t.header("customer_id")
            more[key][col] = "X" + more[key][col].astype(str)
            for id_col in ("order_id", "contact_id"):
                if id_col in t.by_key and t.header(id_col) in more[key]:
                    more[key][t.header(id_col)] = "X" + more[key][t.header(id_col)].astype(str)
        parts.append(more)
    tables = {}
    for key in ("customers", "orders", "contacts"):
        raw = pd.concat([p[key] for p in parts], ignore_index=True)
        raw.index = pd.RangeIndex(2, 2 + len(raw))
        tables[key] = (raw, schema.conform(raw, key))
    c = tables["customers"][1]
    c["last_active"] = S.last_active(c, tables["orders"][1], tables["contacts"][1])
    return c, tables["customers"][0]


def _quality(ranked: list[list[str]], expected: list[list[str]]) -> tuple[float, float]:
    recall = statistics.mean(len(set(r[:5]) & set(e)) / len(e) for r, e in zip(ranked, expected))
    mrr = statistics.mean(next((1 / (i + 1) for i, x in enumerate(r[:20]) if x in e), 0.0)
                          for r, e in zip(ranked, expected))
    return recall, mrr


def quality() -> None:
    import json
    from rapidfuzz import utils
    queries = json.load(open(QUERIES, encoding="utf-8"))["queries"]
    expected = [q["expected"] for q in queries]
    print(f"quality: {len(queries)} labelled queries ({QUERIES.rsplit(os.sep, 1)[-1]}), recall@5 / MRR / ms per query")
    for extra in (0, 99_000):
        c, raw = demo_shop(extra)
        build, idx = _t(S.build_index, c)
        cols = [h for h in (schema_header(k) for k in RAW_COLUMNS) if h in raw.columns]
        text = {h: raw[h].fillna("").astype(str) for h in cols}
        joined = [" ".join(v) for v in zip(*text.values())]
        ids = raw[schema_header("customer_id")].astype(str).tolist()

        def xlcrm(q):
            return S.search(idx, q, 20)["customer_id"].tolist()

        def scan(q):  # every token somewhere in the cells as typed, in sheet order
            mask = pd.Series(True, index=raw.index)
            for tok in q.split():
                any_col = pd.Series(False, index=raw.index)
                for h in cols:
                    any_col |= text[h].str.contains(tok, regex=False)
                mask &= any_col
            return [ids[i] for i in np.flatnonzero(mask.to_numpy())[:20]]

        def fuzzy(q):
            return [ids[i] for _, _, i in process.extract(q, joined, scorer=fuzz.WRatio, processor=utils.default_process,
                                                        limit=20)]
        print(f"  {len(c):,} customers (xlcrm index build {build:.2f} s):")
        for label, f in (("xlcrm", xlcrm), ("plain substring scan", scan), ("rapidfuzz WRatio", fuzzy)):
            lat, cpu, ranked = [], [], []
            for q in queries:
                sec, got = _t(f, q["query"])
                lat.append(sec)
                cpu.append(CPU["last"])
                ranked.append(got)
            recall, mrr = _quality(ranked, expected)
            print(f"    {label:<22} recall@5 {recall:5.2f}  MRR {mrr:5.2f}  {statistics.median(lat) * 1e3:7.1f} ms median"
                  f" {max(lat) * 1e3:7.1f} ms max wall, {max(cpu) * 1e3:6.1f} ms max CPU")
            if label == "xlcrm":
                misses = [(q, r) for q, r, e in zip(queries, ranked, expected) if not set(r[:5]) & set(e)]
                # a miss where five or more customers score as high as the expected one is a tie no search can
                # break from the query alone (the same name and reading, several times over in 100,000)
                tied = 0
                for q, _ in misses:
                    full = S.search(idx, q["query"], 10**9)
                    best = full[full["customer_id"].isin(q["expected"])]["score"].max()
                    tied += bool(best == best and (full["score"] >= best).sum() >= 5)
                if misses:
                    print(f"      not in the first 5: {len(misses)}, of which {tied} tie with ≥ 5 customers at the "
                          "expected one's score; " + "; ".join(f"{q['query']} ({q['kind']})" for q, _ in misses))


def schema_header(key: str) -> str:
    from xlcrm import schema
    return schema.CUSTOMERS.header(key)


def long_cells() -> None:
    """One 10,000-character name among 2,000 demo customers: search index and a typo query, and dedupe."""
    from xlcrm import dedupe, demo, schema
    raw = demo.make_demo(2000, seed=3, as_of="2026-12-01")["customers"]
    raw.index = pd.RangeIndex(2, 2 + len(raw))
    normal = schema.conform(raw, "customers")
    long = normal.copy()
    long.loc[long.index[7], "name"] = ("髙橋たかはし" * 1_700)[:10_000]
    print("\none 10,000-character name among 2,000 customers (CPU seconds, best of 3; the caps: "
          f"normalize.NAME_MAX {N.NAME_MAX}, TEXT_MAX {N.TEXT_MAX}):")
    for label, f in (("search: index + typo query", lambda df: S.search(S.build_index(df), "たかはい", 20)),
                     ("dedupe.find_duplicates", dedupe.find_duplicates)):
        cpu = {}
        for k, df in (("normal", normal), ("long", long)):
            _t(f, df, repeat=3)
            cpu[k] = CPU["last"]
        print(f"  {label:<28} {cpu['normal']:6.2f} s -> {cpu['long']:6.2f} s  ({cpu['long'] / cpu['normal']:.2f}x)")


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--towns", type=int, default=20_000, help="distinct towns (default 20,000)")
    ap.add_argument("--only", choices=("quality", "speed", "long"), help="one part of the benchmark")
    args = ap.parse_args(argv)
    if args.only in (None, "quality"):
        quality()
    if args.only in (None, "long"):
        long_cells()
    if args.only not in (None, "speed"):
        return 0
    print()
    df = customers(args.n, args.seed, args.towns)
    target = df.iloc[len(df) // 2]
    mob = N.phone(target["mobile"]) or N.phone(target["phone"]) or "09012345678"
    print(f"customers: {len(df):,} (python {sys.version.split()[0]}, pandas {pd.__version__})\n")

    print("normalise one field (xlcrm.normalize.series, each distinct value once):")
    whole = df["prefecture"] + df["address"] + " " + df["building"]
    for col, f, values in (("name", N.name, df["name"]), ("kana", N.kana, df["kana"]),
                           ("mobile", N.phone, df["mobile"]), ("email", N.email, df["email"]),
                           ("postcode", N.postcode, df["postcode"]), ("address*", N.address_text, whole)):
        sec, _ = _t(N.series, values, f)
        print(f"  {col:<9} {sec * 1e3:8.1f} ms wall {CPU['last'] * 1e3:8.1f} ms CPU  ({values.nunique():,} distinct)")
    sec, _ = _t(N.address_frame, df["address"], df["prefecture"], df["building"])
    print(f"  {'address':<9} {sec * 1e3:8.1f} ms wall {CPU['last'] * 1e3:8.1f} ms CPU  (address_frame: split into "
          f"prefecture / city_rest / building / key, for dedupe)")
    print(f"  (* address_text: the flat form the search index uses; {len(N._SHAPES):,} address shapes folded)")
    ref, _ = _t(lambda: [s.str.normalize("NFKC").str.replace(" ", "") for s in (df["name"], df["kana"], whole)])
    print(f"  reference: pandas str.normalize('NFKC') + str.replace over name, kana, address: {ref * 1e3:.0f} ms "
          "(width only: no kana, 異体字, numerals)")

    build, idx = _t(S.build_index, df)
    build_cpu = CPU["last"]
    key_sec, _ = _t(S.table_key, df)
    S._CACHE.clear()
    reuse, _ = _t(S.index_for, df)
    reuse2, _ = _t(S.index_for, df)
    print(f"\nindex build: {build:.2f} s wall, {build_cpu:.2f} s CPU (target ≤ 3 s); table hash {key_sec * 1e3:.0f} ms; "
          f"index_for first {reuse:.2f} s, again {reuse2 * 1e3:.0f} ms (reused: only the hash)")

    email = next(e for e in df["email"].iloc[len(df) // 3:] if e)
    at = email.index("@")
    typo_email = email[:at - 2] + email[at - 1] + email[at - 2] + email[at:]  # two letters swapped
    fam = N.nfkc(target["name"]).split()[0] if " " in N.nfkc(target["name"]) else N.nfkc(target["name"])[:2]
    queries = [
        ("ﾀｶﾊｼ 090", "half-width kana + phone prefix"),
        ("髙橋 世田谷", "異体字 + ward"),
        ("user123.", "e-mail fragment"),
        (f"+81 {mob[1:3]}-{mob[3:7]}-{mob[7:]}", "full phone, +81 format"),
        (_wide(mob[-4:]), "last 4 digits, full-width"),
        ("たかはし はなこ", "hiragana full name"),
        ("渡辺 ケイコ 札幌", "3 tokens"),
        ("ヤマモト タロ", "kana fragment"),
        ("高端 花子", "typo (fuzzy fallback)"),
        (typo_email, "e-mail typo (fuzzy)"),
        (target["customer_id"], "customer ID"),
        (fam, "family name of one customer"),
    ]
    print(f"\nper query, best of 5 (target ≤ 50 ms); references on the same {len(df):,} rows:")
    print(f"  {'query':<24} {'what':<32} {'xlcrm':>8} {'CPU':>7} {'hits':>6} | {'pandas scan':>11} {'hits':>6}")
    raw_cols = ["customer_id", "name", "kana", "phone", "mobile", "email", "address"]
    lat = []
    for q, what in queries:
        sec, res = _t(S.search, idx, q, 20, repeat=5)
        cpu = CPU["last"]
        lat.append(sec)
        _, full = _t(S.search, idx, q, 10**9)

        def naive(q=q):  # every token somewhere in the raw columns, no folding (what a VLOOKUP/filter sees)
            mask = pd.Series(True, index=df.index)
            for tok in q.split():
                any_col = pd.Series(False, index=df.index)
                for c in raw_cols:
                    any_col |= df[c].str.contains(tok, regex=False)
                mask &= any_col
            return int(mask.sum())
        nsec, nhits = _t(naive, repeat=3)
        print(f"  {q[:24]:<24} {what:<32} {sec * 1e3:6.1f}ms {cpu * 1e3:5.1f}ms {len(full):>6} | "
              f"{nsec * 1e3:9.1f}ms {nhits:>6}")
    print(f"  median {statistics.median(lat) * 1e3:.1f} ms, max {max(lat) * 1e3:.1f} ms")

    names = df["name"].tolist()
    fsec, _ = _t(process.extract, "高端 花子", names, scorer=fuzz.WRatio, limit=20, repeat=3)
    fsec2, _ = _t(process.extract, "高端 花子", names, scorer=fuzz.ratio, limit=20, repeat=3)
    print(f"\nreference: rapidfuzz process.extract over all {len(names):,} names: WRatio {fsec * 1e3:.1f} ms, "
          f"ratio {fsec2 * 1e3:.1f} ms (no AND across fields, no folding)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
