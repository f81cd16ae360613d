"""The demo: a workbook built from the template, filled with synthetic customers typed the way staff type
them, and every job run on it — the README's first command."""
from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from .. import demo as data   # xlcrm.demo: the made-up shop
from .. import schema
from ..book import open_book, sharing_reads
from ..build import build_workbook
from ..messages import text
from . import JOBS, run
from .io import _text_headers

# the jobs a demo runs, in the order a shop would: clean the list, score it, then act on it
DEMO_JOBS = ("dedupe", "rfm", "lapse", "followup", "steps", "dashboard", "journey", "pipeline", "survey",
             "referrals", "print_list")


# the demo holds out 10% of each step chain so ステップ状況 shows its control-group block (a new book: 0, off)
DEMO_STEP_CONTROL_PCT = 10


def set_setting(book, item: str, value) -> None:
    """Set one 設定 row's 値 by its 項目 (appended when the sheet lacks it), staff's other rows kept."""
    raw = book.read_raw("設定")
    cols = list(raw.columns)
    hit = raw[cols[0]].astype(str).str.strip().eq(item)
    if hit.any():
        raw.loc[hit, cols[1]] = value
    else:
        raw = pd.concat([raw, pd.DataFrame([{cols[0]: item, cols[1]: value}])], ignore_index=True)
    book.write_table("設定", raw, key=cols[0])


def run_demo(out, *, customers: int = 1000, seed: int = 0, as_of=None, lang: str = "ja"):
    """Build the demo workbook at `out` and run every job that exists; yields one line per step."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        out.unlink()
    build_workbook(out)
    yield f"{'ブックを作成' if lang == 'ja' else 'Built workbook'}: {out}"
    frames = data.make_demo(customers=customers, seed=seed, as_of=as_of)
    with open_book(out, backups=0) as book:
        for key in ("customers", "orders", "contacts"):
            t = schema.table(key)
            df = frames[key]
            book.write_table(t.ja, df, text_columns=_text_headers(t, df.columns))
        book.journal("demo", f"デモデータ 顧客{len(frames['customers'])}件", f"demo data, {len(frames['customers'])} customers")
        set_setting(book, "ステップ対照群の割合(%)", DEMO_STEP_CONTROL_PCT)
        # the shop's staff: the フォローリスト's 担当者 drop-down, and who 変更履歴 says ran the jobs
        set_setting(book, "担当者一覧", "、".join(data.STAFF))
        set_setting(book, "実行者名", data.STAFF[0])
        if lang == "en":          # `xlcrm --lang en demo`: the words the jobs write are English too
            set_setting(book, "言語", "英語")
        book.save()
    yield (f"デモデータ: 顧客 {len(frames['customers'])}件 / 注文 {len(frames['orders'])}件 / 対応履歴 {len(frames['contacts'])}件"
           if lang == "ja" else
           f"Demo data: {len(frames['customers'])} customers / {len(frames['orders'])} orders / "
           f"{len(frames['contacts'])} contacts")
    overrides = {"as_of": as_of} if as_of is not None else None
    with sharing_reads():       # 注文, which no job here writes, is read once for all of them
        for tag in DEMO_JOBS:
            if tag not in JOBS:
                continue
            t0 = time.perf_counter()
            result = run(tag, out, overrides=overrides)
            yield f"[{tag}] {result.summary(lang)} ({time.perf_counter() - t0:.1f}s)"
    yield text("done", lang)
