"""The demo: a workbook built from the template, filled with synthetic customers typed the way staff type
them, and every job run on it — the README's first command."""
from __future__ import annotations

import time
from pathlib import Path

from .. import schema
from ..book import open_book
from ..messages import text
from . import JOBS, run
from .io import _text_headers

# the jobs a demo runs, in the order a shop would: clean the list, score it, then act on it
DEMO_JOBS = ("dedupe", "rfm", "lapse", "followup", "steps", "dashboard", "journey", "pipeline", "survey",
             "referrals")


def run_demo(out, *, customers: int = 1000, seed: int = 0, as_of=None, lang: str = "ja"):
    """Build the demo workbook at `out` and run every job that exists; yields one line per step."""
    from ..build import build_workbook
    from ..demo import make_demo
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        out.unlink()
    build_workbook(out)
    yield f"{'ブックを作成' if lang == 'ja' else 'Built workbook'}: {out}"
    frames = make_demo(customers=customers, seed=seed, as_of=as_of)
    with open_book(out, backups=0) as book:
        for key in ("customers", "orders", "contacts"):
            t = schema.table(key)
            df = frames[key]
            book.write_table(t.ja, df, text_columns=_text_headers(t, df.columns))
        book.journal("demo", f"デモデータ 顧客{len(frames['customers'])}件", f"demo data, {len(frames['customers'])} customers")
        book.save()
    yield (f"デモデータ: 顧客 {len(frames['customers'])}件 / 注文 {len(frames['orders'])}件 / 対応履歴 {len(frames['contacts'])}件"
           if lang == "ja" else
           f"Demo data: {len(frames['customers'])} customers / {len(frames['orders'])} orders / "
           f"{len(frames['contacts'])} contacts")
    overrides = {"as_of": as_of} if as_of is not None else None
    for tag in DEMO_JOBS:
        if tag not in JOBS:
            continue
        t0 = time.perf_counter()
        result = run(tag, out, overrides=overrides)
        yield f"[{tag}] {result.summary(lang)} ({time.perf_counter() - t0:.1f}s)"
    yield text("done", lang)
