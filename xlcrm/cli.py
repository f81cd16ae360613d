"""The `xlcrm` command: the jobs of the ribbon, headless, on a workbook file or CSVs.

Each subcommand parses its arguments, calls one job or core function and prints the result. Heavy modules are
imported inside the subcommand, so `xlcrm rfm orders.csv` does not pay for openpyxl or matplotlib.
Exit codes: 0 ok, 2 bad input (the message names sheet, row and column), 3 workbook locked or changed, 1 other.
"""
from __future__ import annotations

import argparse
import gc
import os
import sys

from .messages import XlcrmError, default_lang, text


def _date(s: str):
    """--as-of accepts whatever a cell accepts: 2024-04-01, 2024/4/1, 令和6年4月1日, R6.4.1."""
    import pandas as pd
    from . import schema
    try:
        d = schema.parse_date(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"日付として読めません / not a date: {s}") from None
    return None if d is None else pd.Timestamp(d)


def _print_result(result, lang: str) -> None:
    print(result.summary(lang))


def _as_of_overrides(args) -> dict | None:
    """--as-of as a settings override (None: 基準日 on 設定, else today)."""
    return {"as_of": args.as_of} if getattr(args, "as_of", None) is not None else None


def _snapshot_note(path, lang: str) -> None:
    """After a read-only command: one line on stderr when the book is open in Excel (read as last saved)."""
    from pathlib import Path

    from .book.file import open_elsewhere
    if open_elsewhere(Path(path)):
        print(text("oc_snapshot", lang, name=Path(path).name), file=sys.stderr)


# --- foundation: demo, import, export, undo ---------------------------------------------------------------------

def _add_foundation(sub) -> None:
    p = sub.add_parser("demo", help="デモ用ブックを作り全ジョブを実行 / make a demo workbook and run every job")
    p.add_argument("--out", default="CRM-demo.xlsm", help="出力先 / output path (default: CRM-demo.xlsm)")
    p.add_argument("--customers", type=int, default=1000, help="顧客数 / number of customers (default 1000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--as-of", type=_date, default=None, help="基準日 / as-of date (default: today)")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("import", help="CSVを取り込む / import customers, orders, contacts CSVs",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    _lazy_epilog(p, _accepted_headers)
    p.add_argument("csv", nargs="+", help="CSV files (UTF-8, UTF-8 BOM or cp932)")
    p.add_argument("--into", required=True, help="取り込み先のブック / target workbook")
    p.add_argument("--update", action="store_true", help="既存IDの行も上書き / overwrite rows whose ID exists")
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser("export", help="表をCSVに書き出す / export a table to CSV")
    p.add_argument("book")
    p.add_argument("--table", required=True,
                   help="表の名前、または 宛名ラベル(〒・住所・建物名・氏名 様)/ table name (顧客, 注文, フォローリスト, "
                        "...) or 宛名ラベル, the address-label layout")
    p.add_argument("--out", required=True)
    p.add_argument("--encoding", choices=["utf-8-sig", "utf-8", "cp932"], default="utf-8-sig",
                   help="utf-8-sig(BOM付き、Excel向け)/ utf-8(BOMなし)/ cp932(Shift_JIS、DM・宛名ソフト向け)")
    p.add_argument("--strict", action="store_true",
                   help="文字コードにない文字を置き換えずに中止 / refuse characters the encoding lacks instead of "
                        "replacing them with the nearest one (𠮷→吉)")
    p.add_argument("--as-typed", action="store_true",
                   help="入力どおりの値で書き出す(既定は日付 yyyy/mm/dd・金額は数値・電話と郵便番号は同じ形) / "
                        "cells as typed (default: clean values)")
    p.set_defaults(func=_cmd_export)

    from .jobs import JOBS   # a dict of names: cheap to import
    p = sub.add_parser("run", help="リボンのボタンと同じ処理をブックに実行 / run a ribbon job on a workbook")
    p.add_argument("job", metavar="JOB", help="ジョブ / job: " + ", ".join(JOBS))
    p.add_argument("book")
    p.add_argument("--as-of", type=_date, default=None, help="基準日 / as-of date (default: 設定 or today)")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("tidy", help="データ整形: 文字の日付・金額を日付・数値に直す / turn dates and amounts typed as "
                                    "text into real dates and numbers",
                       description="顧客・注文・対応履歴の、文字で入った日付(令和7年7月30日, 2023/12/6, 全角数字)と"
                                   "金額(¥1,000)を、その場で日付・数値に直します。読めないセルは一覧にします。"
                                   "xlcrm undo で元に戻せます。 / In 顧客, 注文 and 対応履歴: dates and amounts typed as "
                                   "text become dates and numbers in place; cells that cannot be read are listed. "
                                   "Undo with xlcrm undo.")
    p.add_argument("book")
    p.set_defaults(func=_cmd_tidy)

    p = sub.add_parser("undo", help="直前の変更を取り消す / undo the last change")
    p.add_argument("book")
    p.add_argument("--change", help="取り消す変更ID / change id from 変更履歴 (default: the last one)")
    p.set_defaults(func=_cmd_undo)


def _add_store(sub) -> None:
    p = sub.add_parser("migrate", help="ブックと保存先(DuckDB・PostgreSQL)の間でデータを移す / move data between a "
                                       "workbook and a store")
    p.add_argument("source", help="ブック、保存先URL、または注文のCSV/Parquet / workbook, store URL, or orders CSV/Parquet")
    p.add_argument("--to", required=True, dest="dest", help="移し先: 保存先URL(duckdb:FILE, postgresql://…)かブック / "
                                                          "destination: store URL or workbook")
    p.add_argument("--replace", action="store_true", help="保存先の顧客・注文・対応履歴を置き換える / replace the "
                                                          "store's tables")
    p.set_defaults(func=_cmd_migrate)


def _cmd_migrate(args) -> int:
    from .store.migrate import migrate
    _print_result(migrate(args.source, args.dest, replace=args.replace), args.lang)
    return 0


def _cmd_tidy(args) -> int:
    from .jobs import run
    _print_result(run("tidy", args.book), args.lang)
    return 0


def _lazy_epilog(p: argparse.ArgumentParser, make) -> None:
    """Fill `p`'s epilog only when its help is shown (`make` may import pandas; parsing must not)."""
    plain = p.format_help

    def format_help():
        p.epilog = make()
        return plain()
    p.format_help = format_help


def _accepted_headers() -> str:
    """Each table's headers `import` recognises (required ones marked *), Japanese, English key and aliases."""
    from . import schema
    lines = ["見出し(* は必須、ほかの列もそのまま取り込みます)/ accepted headers (* required; other columns are kept):"]
    for t in (schema.CUSTOMERS, schema.ORDERS, schema.CONTACTS):
        lines.append(f"  {t.ja} ({t.key}):")
        for c in t.columns:
            names = " / ".join((c.ja, c.key, *c.aliases))
            lines.append(f"    {'*' if c.required else ' '} {names}")
    return "\n".join(lines)


def _cmd_demo(args) -> int:
    from .jobs.demo import run_demo
    for line in run_demo(args.out, customers=args.customers, seed=args.seed, as_of=args.as_of, lang=args.lang):
        print(line)
    return 0


def _cmd_import(args) -> int:
    from .jobs.io import import_csvs
    _print_result(import_csvs(args.into, args.csv, update=args.update), args.lang)
    return 0


def _cmd_export(args) -> int:
    from .jobs.io import export_table
    _print_result(export_table(args.book, args.table, args.out, encoding=args.encoding, strict=args.strict,
                               as_typed=args.as_typed), args.lang)
    _snapshot_note(args.book, args.lang)
    return 0


def _cmd_run(args) -> int:
    from .jobs import JOBS, READS_FIRST, run
    if args.job not in JOBS:
        print(f"ジョブ「{args.job}」はありません / no job '{args.job}': {', '.join(sorted(JOBS))}", file=sys.stderr)
        return 2
    if args.job in READS_FIRST and not os.environ.get("XLCRM_STORE") and not getattr(args, "store", None):
        from .book.ahead import read_ahead      # a large book's first sheets parse while pandas loads
        read_ahead(args.book, READS_FIRST[args.job])
    _print_result(run(args.job, args.book, overrides=_as_of_overrides(args)), args.lang)
    return 0


def _cmd_undo(args) -> int:
    from .jobs.io import undo
    _print_result(undo(args.book, args.change), args.lang)
    return 0


# --- search ------------------------------------------------------------------------------------------------------

def _positive_int(s: str) -> int:
    try:
        n = int(s)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"1以上の整数で指定してください / must be a whole number ≥ 1: {s}")
    return n


def _add_search(sub) -> None:
    p = sub.add_parser("search", help="顧客を検索(読み取りのみ) / search customers (read-only)")
    p.add_argument("book", help="ブック / workbook (.xlsx/.xlsm)")
    p.add_argument("query", help="検索語: 名前・フリガナ・電話(下4桁も)・メール・住所・ID の一部 / any fragment")
    p.add_argument("--limit", type=_positive_int, default=None, help="表示件数 / rows (default: 設定 検索の表示件数, 20)")
    p.add_argument("--json", action="store_true", help="JSONで出力 / print JSON")
    p.set_defaults(func=_cmd_search)


def _cmd_search(args) -> int:
    import json
    import pandas as pd
    from .jobs.search import count_line, search_book
    res = search_book(args.book, args.query, args.limit, lang=args.lang)
    if args.json:
        records = [{"row": int(r), **{k: (v.item() if hasattr(v, "item") else v) for k, v in rec.items()}}
                   for r, rec in zip(res.index, res.to_dict("records"))]
        print(json.dumps({"total": int(res.attrs.get("total", len(res))), "shown": len(res),
                          "message": count_line(res, "cli", args.lang), "results": records},
                         ensure_ascii=False, indent=1))
    elif len(res):
        with pd.option_context("display.unicode.east_asian_width", True, "display.width", 200,
                               "display.max_colwidth", 40):
            print(res.to_string(index=False))
        print(count_line(res, "cli", args.lang))
    else:
        from .messages import text
        print(text("search_no_results", args.lang))
    _snapshot_note(args.book, args.lang)
    return 0


# --- dedupe ------------------------------------------------------------------------------------------------------

def _add_dedupe(sub) -> None:
    p = sub.add_parser("dedupe", help="名寄せ: 重複候補を探す / find duplicate customers",
                       description="BOOK: 重複候補シートと重複警告列を作る / writes the 重複候補 sheet. "
                                   "INPUT.csv|.xlsx --out clusters.csv: 任意の表を名寄せ / dedupe any table.")
    p.add_argument("target", help="ブック、または CSV / Excel の表 / workbook, or a CSV / Excel table with --out")
    p.add_argument("--out", help="クラスタCSVの出力先(表モード) / clusters CSV to write (table mode)")
    p.add_argument("--id", dest="id_column", help="ID列 / id column (default: 顧客ID / customer_id, else row number)")
    p.add_argument("--map", nargs="+", metavar="COLUMN=KIND", default=[],
                   help="列の種類 / column kinds: name, family_name, given_name, kana, phone, email, postcode, "
                        "prefecture, address, building, birth_date, id_number, other")
    p.add_argument("--threshold", type=float, default=None, help="一致確率のしきい値 / match probability (0-1)")
    p.add_argument("--new-only", action="store_true",
                   help="前回以降に追加された顧客だけ確認 / check only customers added since the last run")
    p.set_defaults(func=_cmd_dedupe)

    p = sub.add_parser("merge", help="判定=統合 のグループを統合 / merge groups decided 統合 on 重複候補")
    p.add_argument("book")
    p.set_defaults(func=_cmd_merge)

    # `xlcrm undo BOOK --merge [ID]`: the foundation's undo command, plus undoing one merge from 統合履歴
    undo = sub.choices.get("undo")
    if undo is not None:
        undo.add_argument("--merge", nargs="?", const="", default=None, metavar="ID",
                          help="統合を取り消す(統合ID省略で直近) / undo a merge from 統合履歴 (default: the latest)")
        plain = undo.get_default("func")

        def _undo(args, _plain=plain):
            if getattr(args, "merge", None) is None:
                return _plain(args)
            from .jobs import run
            _print_result(run("undo_merge", args.book, merge_id=args.merge or None), args.lang)
            return 0
        undo.set_defaults(func=_undo)


def _cmd_dedupe(args) -> int:
    if args.out:
        from .jobs.dedupe import dedupe_table, parse_map
        _print_result(dedupe_table(args.target, args.out, id_column=args.id_column, mapping=parse_map(args.map),
                                   threshold=args.threshold or 0.5, lang=args.lang), args.lang)
        return 0
    from .jobs import run
    overrides = {"dedupe_threshold": args.threshold} if args.threshold else None
    _print_result(run("dedupe", args.target, overrides=overrides, new_only=args.new_only), args.lang)
    return 0


def _cmd_merge(args) -> int:
    from .jobs import run
    _print_result(run("merge", args.book), args.lang)
    return 0


# --- rfm / lapse -------------------------------------------------------------------------------------------------

def _as_of(s: str):
    """--as-of for rfm/lapse: ISO dates without importing pandas (the CSV path avoids it); the rest via `_date`."""
    import datetime as dt
    try:
        return dt.date.fromisoformat(s)
    except ValueError:
        return _date(s)


def _add_rfm(sub) -> None:
    p = sub.add_parser("rfm", help="RFMスコアをCSVに書き出す / write RFM scores to CSV")
    p.add_argument("input", help="ブック(.xlsx/.xlsm)または注文CSV / workbook or orders CSV (顧客ID, 注文日, 金額)")
    p.add_argument("--as-of", type=_as_of, default=None, help="基準日 / as-of date (default: 設定 or today)")
    p.add_argument("--method", choices=["quintile", "fixed"], default=None,
                   help="quintile(五分位)/ fixed(設定の区切り) (default: 設定 or quintile)")
    p.add_argument("--out", required=True, help="出力CSV / output CSV ('-' = stdout)")
    p.set_defaults(func=_cmd_rfm)

    p = sub.add_parser("lapse", help="離脱・休眠を判定 / lapse and dormancy status per customer")
    p.add_argument("input", help="ブック(.xlsx/.xlsm)または注文CSV / workbook or orders CSV")
    p.add_argument("--as-of", type=_as_of, default=None, help="基準日 / as-of date (default: 設定 or today)")
    from .lapse import REGISTRY
    p.add_argument("--method", choices=[m.name for m in REGISTRY], default=None,
                   help=" / ".join(f"{m.name}({m.label_ja})" for m in REGISTRY) + " (default: 設定 or rhythm)")
    p.add_argument("--out", default=None, help="出力CSV / output CSV (default: stdout)")
    p.add_argument("--json", action="store_true",
                   help="JSONで要約(bgnbdは r, alpha, a, b, 対数尤度)/ JSON summary (bgnbd: r, alpha, a, b, log-likelihood)")
    p.set_defaults(func=_cmd_lapse)


def _cmd_rfm(args) -> int:
    from .jobs.rfm import is_workbook, rfm_file
    result = rfm_file(args.input, args.out, as_of=args.as_of, method=args.method)
    if args.out != "-":
        _print_result(result, args.lang)
    else:
        _print_dates_note(result, args.lang)
    if is_workbook(args.input):     # a CSV has no owner file, and its fast path must not load the book layer
        _snapshot_note(args.input, args.lang)
    return 0


def _cmd_lapse(args) -> int:
    from .jobs.lapse import lapse_file
    from .jobs.rfm import is_workbook
    result = lapse_file(args.input, args.out, as_of=args.as_of, method=args.method, as_json=args.json)
    if args.out is not None and not args.json:
        _print_result(result, args.lang)
    elif not args.json:   # the JSON carries it
        _print_dates_note(result, args.lang)
    if is_workbook(args.input):
        _snapshot_note(args.input, args.lang)
    return 0


def _print_dates_note(result, lang: str) -> None:
    """Orders after the as-of date or today, when stdout carries the data: said on stderr instead."""
    note = result.counts["dates"].note(lang)
    if note:
        print(note, file=sys.stderr)


# --- follow-up / dashboard ---------------------------------------------------------------------------------------

def _add_followup(sub) -> None:
    p = sub.add_parser("followup", help="フォローリストを更新 / refresh the follow-up list")
    p.add_argument("book")
    p.add_argument("--as-of", type=_date, default=None, help="基準日 / as-of date (default: 設定 or today)")
    p.add_argument("--campaign", help="キャンペーンIDを付けて作る(対照群を抽出) / generate as a campaign with a control group")
    p.add_argument("--rules", help="キャンペーンに使うルールID(カンマ区切り) / rule ids for the campaign, e.g. dormant,winback")
    p.add_argument("--control-pct", type=float, default=None, help="対照群の割合(%%) / control group share (%%)")
    p.add_argument("--seed", type=int, default=None, help="対照群の乱数シード / seed of the control draw")
    p.set_defaults(func=_cmd_followup)

    p = sub.add_parser("contact", help="対応履歴に記録 / record a contact")
    p.add_argument("book")
    p.add_argument("--customer", required=True, help="顧客ID / customer ID")
    p.add_argument("--type", required=True, help="種別: 問い合わせ / クレーム / フォロー / DM / その他")
    p.add_argument("--summary", required=True, help="内容 / what happened")
    p.add_argument("--staff", default="", help="担当者 / staff")
    p.add_argument("--channel", default="", help="チャネル: 電話 / メール / DM / LINE / 来店")
    p.add_argument("--status", default="", help="状態: 未対応 / 対応中 / 完了 (クレームは未対応から)")
    p.add_argument("--at", type=_date, default=None, help="日時 / when (default: now)")
    p.set_defaults(func=_cmd_contact)

    p = sub.add_parser("card", help="顧客カルテを表示 / fill the customer card sheet for one customer")
    p.add_argument("book")
    p.add_argument("--customer", required=True)
    p.set_defaults(func=_cmd_card)

    p = sub.add_parser("campaign-report", help="キャンペーンの効果(対象群と対照群の比較) / campaign effect vs control")
    p.add_argument("book")
    p.add_argument("--campaign", required=True)
    p.add_argument("--as-of", type=_date, default=None)
    p.set_defaults(func=_cmd_campaign_report)

    p = sub.add_parser("dashboard", help="ダッシュボードを更新 / refresh the dashboard sheet")
    p.add_argument("book")
    p.add_argument("--as-of", type=_date, default=None)
    p.set_defaults(func=_cmd_dashboard)

    p = sub.add_parser("report", help="ダッシュボードのグラフをPNGで書き出す / dashboard charts as PNG files")
    p.add_argument("book")
    p.add_argument("--out", required=True, help="出力フォルダ / output folder")
    p.add_argument("--as-of", type=_date, default=None)
    p.set_defaults(func=_cmd_report)


def _cmd_followup(args) -> int:
    from .jobs import run
    over = _as_of_overrides(args) or {}
    if args.control_pct is not None:
        over["control_pct"] = args.control_pct
    if args.seed is not None:
        over["campaign_seed"] = args.seed
    _print_result(run("followup", args.book, overrides=over or None, campaign=args.campaign, rules=args.rules),
                  args.lang)
    return 0


def _cmd_contact(args) -> int:
    from .jobs import run
    _print_result(run("record_contact", args.book, customer=args.customer, type=args.type, summary=args.summary,
                      staff=args.staff, channel=args.channel, status=args.status, at=args.at), args.lang)
    return 0


def _cmd_card(args) -> int:
    from .jobs import run
    from .jobs.followup import customer_card
    _print_result(run(customer_card, args.book, customer=args.customer), args.lang)
    return 0


def _cmd_campaign_report(args) -> int:
    from .jobs import run
    from .jobs.followup import campaign_report
    _print_result(run(campaign_report, args.book, overrides=_as_of_overrides(args), campaign=args.campaign),
                  args.lang)
    return 0


def _cmd_dashboard(args) -> int:
    from .jobs import run
    _print_result(run("dashboard", args.book, overrides=_as_of_overrides(args)), args.lang)
    return 0


def _cmd_report(args) -> int:
    from .jobs.dashboard import report
    _print_result(report(args.book, args.out, overrides=_as_of_overrides(args)), args.lang)
    _snapshot_note(args.book, args.lang)
    return 0


# --- journey / channels / store visits ---------------------------------------------------------------------------

def _add_journey(sub) -> None:
    p = sub.add_parser("journey", help="顧客ジャーニー・チャネル分析・来店回数を更新 / refresh the journey sheet and store visits")
    p.add_argument("book", help="ブック(.xlsx/.xlsm) / workbook")
    p.add_argument("--as-of", type=_date, default=None, help="基準日 / as-of date (default: 設定 or today)")
    p.set_defaults(func=_cmd_journey)


def _cmd_journey(args) -> int:
    from .jobs import run
    overrides = _as_of_overrides(args)
    _print_result(run("journey", args.book, overrides=overrides), args.lang)
    return 0


# --- timed steps (ステップメール) ------------------------------------------------------------------------------------

def _add_steps(sub) -> None:
    p = sub.add_parser("steps", help="ステップ(段階フォロー)の状況を更新 / refresh the step-chain progress sheet")
    p.add_argument("book", help="ブック(.xlsx/.xlsm) / workbook")
    p.add_argument("--as-of", type=_date, default=None, help="基準日 / as-of date (default: 設定 or today)")
    p.set_defaults(func=_cmd_steps)


def _cmd_steps(args) -> int:
    from .jobs import run
    _print_result(run("steps", args.book, overrides=_as_of_overrides(args)), args.lang)
    return 0


# --- sales pipeline (商談) ----------------------------------------------------------------------------------------

def _add_pipeline(sub) -> None:
    p = sub.add_parser("pipeline", help="商談パイプライン(担当者別・段階別・停滞)と顧客の商談段階を更新 / refresh the "
                                        "sales pipeline sheet and each customer's stage")
    p.add_argument("book", help="ブック(.xlsx/.xlsm) / workbook")
    p.add_argument("--as-of", type=_date, default=None, help="基準日 / as-of date (default: 設定 or today)")
    p.add_argument("--staff", default=None, help="この担当者の数字だけ表示 / show one owner's figures only")
    p.add_argument("--json", action="store_true", help="数字をJSONで出力 / print the figures as JSON")
    p.set_defaults(func=_cmd_pipeline)


def _cmd_pipeline(args) -> int:
    import json

    from .jobs import run
    overrides = _as_of_overrides(args)
    result = run("pipeline", args.book, overrides=overrides, staff=args.staff)
    view = result.counts["view"]
    if args.json:
        print(json.dumps(view, ensure_ascii=False, indent=1))
        return 0
    _print_result(result, args.lang)
    if args.staff is not None:
        from .messages import text
        from .pipeline import OPEN_STAGES
        row = next(r for r in view["by_staff"] if r["owner"] == args.staff.strip())
        cols = text("pl_staff_cols", args.lang).split("|")
        print(f"{cols[0]}: {row['owner']}")
        keys = (*OPEN_STAGES, "open", "won", "lost", "win_rate", "avg_days_to_win", "stalled")
        for label, k in zip(cols[1:], keys):
            v = row[k]
            print(f"  {label}: {'-' if v is None else f'{v:.0%}' if k == 'win_rate' else f'{v:.0f}'}")
        if view["stalled"]:
            print(text("pl_stalled", args.lang, days=view["stall_days"]))
        for s in view["stalled"]:
            print(f"  {s['customer_id']}  {text('pl_stage_' + s['stage'], args.lang)}  {s['since']}  {s['days']}")
# --- surveys / satisfaction ---------------------------------------------------------------------------------------

def _add_survey(sub) -> None:
    p = sub.add_parser("survey", help="アンケート・レビューの満足度を更新 / refresh the satisfaction sheet (満足度)")
    p.add_argument("book", help="ブック(.xlsx/.xlsm) / workbook")
    p.add_argument("--as-of", type=_date, default=None, help="基準日 / as-of date (default: 設定 or today)")
    p.add_argument("--json", action="store_true",
                   help="集計をJSONで出力(ブックには書かない) / print the figures as JSON (read-only)")
    p.set_defaults(func=_cmd_survey)


def _cmd_survey(args) -> int:
    overrides = _as_of_overrides(args)
    if args.json:
        import json

        from .jobs.surveys import report
        print(json.dumps(report(args.book, overrides=overrides), ensure_ascii=False, indent=1))
        _snapshot_note(args.book, args.lang)
        return 0
    from .jobs import run
    _print_result(run("survey", args.book, overrides=overrides), args.lang)
    return 0


# --- referrals (紹介) ------------------------------------------------------------------------------------------

def _add_referrals(sub) -> None:
    p = sub.add_parser("referrals", help="紹介シートと顧客の紹介人数を更新 / refresh the referrals sheet and 紹介人数")
    p.add_argument("book", help="ブック(.xlsx/.xlsm) / workbook")
    p.add_argument("--as-of", type=_date, default=None, help="基準日 / as-of date (default: 設定 or today)")
    p.add_argument("--json", action="store_true", help="結果をJSONで出力 / print the figures as JSON")
    p.set_defaults(func=_cmd_referrals)


def _cmd_referrals(args) -> int:
    import json

    from .jobs import run
    overrides = _as_of_overrides(args)
    result = run("referrals", args.book, overrides=overrides)
    if args.json:
        print(json.dumps(result.counts, ensure_ascii=False, indent=1))
    else:
        _print_result(result, args.lang)
    return 0


# --- workbook build / doctor -------------------------------------------------------------------------------------

def _add_build(sub) -> None:
    p = sub.add_parser("build-workbook", help="CRM.xlsm をソースから作る / build CRM.xlsm from sources")
    p.add_argument("--out", default="workbook/CRM.xlsm", help="出力先 / output path (default: workbook/CRM.xlsm)")
    p.add_argument("--check", action="store_true",
                   help="書かずに、既存のファイルがソースと同じか調べる / only check that --out is current (exit 1 if not)")
    p.set_defaults(func=_cmd_build)

    p = sub.add_parser("doctor", help="Excel連携の環境チェック / check Python, xlwings and the workbook set-up")
    p.add_argument("book", nargs="?", default=None, help="調べるブック / workbook to check (optional)")
    p.set_defaults(func=_cmd_doctor)

    p = sub.add_parser("set-interpreter",
                       help="xlwings.conf にこのPythonの場所を書く / write this Python's path into xlwings.conf")
    p.add_argument("book")
    p.add_argument("--python", default=None, help="Pythonの場所 / interpreter path (default: this Python)")
    p.add_argument("--mac", action="store_true", help="Interpreter_Mac に書く / write Interpreter_Mac")
    p.set_defaults(func=_cmd_set_interpreter)

    p = sub.add_parser("release", help="Windows用の配布フォルダーを作る(wheel・CRM.xlsm・setup.bat) / "
                                       "build the Windows set-up folder (wheel, CRM.xlsm, setup.bat)")
    p.add_argument("--out", required=True, help="出力先(新しい、または空のフォルダー) / output folder, new or empty")
    p.add_argument("--with-deps", action="store_true",
                   help="依存パッケージのWindows用wheelも入れる(オフラインで入れられる) / bundle the dependencies' "
                        "Windows wheels (offline set-up)")
    p.add_argument("--python", action="append", dest="pythons", metavar="3.X",
                   help="--with-deps の対象Python(繰り返し可) / Python versions for --with-deps "
                        "(repeatable; default 3.11 3.12 3.13)")
    p.set_defaults(func=_cmd_release)


def _cmd_build(args) -> int:
    from pathlib import Path

    from . import build
    from .build import vbasyntax
    from .messages import text
    # the VBA must parse before anything is written or called current: Excel compiles it only when staff open it
    if vbasyntax.available():
        problems = build.syntax_problems()
        if problems:
            print(text("build_vba_syntax", args.lang, n=len(problems)), file=sys.stderr)
            for p in problems[:20]:
                print(f"  {p}", file=sys.stderr)
            return 1
    else:
        print(text("build_vba_unchecked", args.lang), file=sys.stderr)
    if args.check:
        current = build.is_current(args.out)
        print(text("build_current" if current else "build_stale", args.lang, path=args.out))
        return 0 if current else 1
    print(text("build_done", args.lang, path=Path(build.build_workbook(args.out))))
    return 0


def _cmd_doctor(args) -> int:
    from . import doctor
    findings = doctor.check(args.book)
    print(doctor.report(findings, args.lang))
    return doctor.exit_code(findings)


def _cmd_set_interpreter(args) -> int:
    from . import doctor
    print(doctor.set_interpreter(args.book, args.python, "darwin" if args.mac else None))
    return 0


def _cmd_release(args) -> int:
    from . import release
    pythons = tuple(args.pythons) if args.pythons else release.PYTHONS
    print(release.make_release(args.out, with_deps=args.with_deps, pythons=pythons).summary(args.lang))
    return 0


# the commands that run a job on a book (jobs.run / open_job_book), so can run it over a database store
STORE_COMMANDS = {"run", "tidy", "dedupe", "merge", "undo", "followup", "contact", "card", "campaign-report",
                  "dashboard", "journey", "steps", "pipeline", "survey", "referrals"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xlcrm", description="xlcrm: Excelで顧客管理 / customer management in Excel")
    parser.add_argument("--lang", choices=["ja", "en"], default=None, help="メッセージの言語 / message language")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_foundation, _add_search, _add_dedupe, _add_rfm, _add_followup, _add_journey, _add_pipeline,
                _add_survey, _add_referrals, _add_steps, _add_build, _add_store):
        add(sub)
    for p in sub.choices.values():   # global options after the subcommand too: `xlcrm dashboard BOOK --lang en`
        p.add_argument("--lang", choices=["ja", "en"], default=argparse.SUPPRESS,
                       help="メッセージの言語 / message language")
        if p.prog.split()[-1] in STORE_COMMANDS:
            p.add_argument("--store", default=argparse.SUPPRESS, metavar="URL",
                           help="保存先(設定「保存先」より優先): workbook, duckdb:FILE, postgresql://… / the store, "
                                "over 設定 保存先")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.lang = args.lang or default_lang()
    store_was = os.environ.get("XLCRM_STORE")
    if getattr(args, "store", None):      # every job reads it where it opens its book (xlcrm.store.chosen)
        os.environ["XLCRM_STORE"] = args.store
    try:
        return int(args.func(args) or 0)
    except XlcrmError as e:
        print(e.message(args.lang), file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # noqa: BLE001 — a traceback's message may quote a cell: only its type, unless debugging
        if os.environ.get("XLCRM_DEBUG"):
            raise
        print(text("unexpected", args.lang, kind=type(e).__name__) + " (XLCRM_DEBUG=1: details)", file=sys.stderr)
        return 1
    finally:
        if getattr(args, "store", None):   # main() called twice in one process: the second runs without it
            if store_was is None:
                os.environ.pop("XLCRM_STORE", None)
            else:
                os.environ["XLCRM_STORE"] = store_was


def console(argv: list[str] | None = None) -> int:
    """`xlcrm` as a program of its own (the console script, `python -m xlcrm.cli`): `main`, then the process ends.

    Before it ends, every object is moved out of the garbage collector's sight (gc.freeze): the interpreter's last
    collections at exit would otherwise walk everything pandas and the job made — 0.15–0.2 s of each command
    (#12). What they would have freed, the operating system frees. Not in `main`: tests and the ribbon's
    long-lived Python call that many times in one process."""
    try:
        return main(argv)
    finally:
        gc.freeze()


if __name__ == "__main__":
    sys.exit(console())
