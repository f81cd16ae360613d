"""Read and write a 100,000-row × 12-column customer table: xlcrm's file engine beside the libraries it could use.

    python benchmarks/bench_book_io.py [--rows 100000] [--repeat 1] [--keep DIR]

Writes: xlcrm's file engine (open_book → write_table → save: openpyxl, then the ribbon-part repair, a calamine
check and an atomic replace), plain openpyxl (normal and write-only) and XlsxWriter in constant-memory mode (the
fastest pure-Python writer; the reference). Reads, all of the file xlcrm wrote: python-calamine, openpyxl (normal
and read-only), pandas.read_excel(engine="calamine"), and xlcrm's own `read_raw` (calamine) and `read` (calamine
plus parsing every value with schema.conform). The same table as a cp932 CSV: xlcrm.csvio beside pandas'
C reader and writer. Prints seconds (best of --repeat) per step.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import openpyxl
import pandas as pd
import python_calamine as pc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xlcrm import schema  # noqa: E402
from xlcrm.book import open_book  # noqa: E402
from xlcrm.csvio import read_csv, write_csv  # noqa: E402
from xlcrm.demo import make_demo  # noqa: E402

COLUMNS = ("customer_id", "kind", "name", "kana", "birth_date", "postcode", "prefecture", "address", "phone",
           "email", "dm_ok", "registered_on")
TEXT = ("顧客ID", "郵便番号", "電話番号")  # ids, postcodes and phones stay text (a number format eats their 0)


def customer_table(rows: int) -> pd.DataFrame:
    """A typed customer table (as a job would write it) with Japanese headers: demo data, conformed."""
    raw = make_demo(rows, seed=0, as_of="2026-06-30")["customers"]
    typed = schema.conform(raw.set_axis(range(2, rows + 2)), "customers")[list(COLUMNS)]
    typed["dm_ok"] = typed["dm_ok"].map(lambda v: "" if v is pd.NA else ("可" if v else "不可")).astype(object)
    return schema.to_sheet(typed, "customers")


def cell_rows(df: pd.DataFrame) -> list[list]:
    cols = [df[c].astype(object).where(df[c].notna(), None).to_numpy() for c in df.columns]
    return [[(c[i].to_pydatetime() if isinstance(c[i], pd.Timestamp) else c[i]) for c in cols] for i in range(len(df))]


def empty_book(path: Path) -> Path:
    wb = openpyxl.Workbook()
    wb.active.title = "設定"
    wb.save(path)
    return path


# --- writers --------------------------------------------------------------------------------------------------

def write_xlcrm(df, path):
    empty_book(path)
    with open_book(path, backups=0) as book:
        book.write_table("顧客", df, text_columns=TEXT)
        book.save()


def write_openpyxl(df, path, rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "顧客"
    ws.append(list(df.columns))
    for r in rows:
        ws.append(r)
    wb.save(path)


def write_openpyxl_write_only(df, path, rows):
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("顧客")
    ws.append(list(df.columns))
    for r in rows:
        ws.append(r)
    wb.save(path)


def write_xlsxwriter(df, path, rows):
    import xlsxwriter
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                         "strings_to_formulas": False})
    ws = wb.add_worksheet("顧客")
    date = wb.add_format({"num_format": "yyyy/mm/dd"})
    ws.write_row(0, 0, list(df.columns))
    for i, r in enumerate(rows, start=1):
        for j, v in enumerate(r):
            if v is None:
                continue
            if hasattr(v, "year"):
                ws.write_datetime(i, j, v, date)
            else:
                ws.write(i, j, v)
    wb.close()


# --- readers --------------------------------------------------------------------------------------------------

def read_calamine(path):
    wb = pc.CalamineWorkbook.from_path(str(path))
    rows = wb.get_sheet_by_name("顧客").to_python()
    wb.close()
    return len(rows) - 1


def read_openpyxl(path, read_only: bool):
    wb = openpyxl.load_workbook(path, read_only=read_only, data_only=True)
    n = sum(1 for _ in wb["顧客"].iter_rows(values_only=True)) - 1
    wb.close()
    return n


def read_pandas_calamine(path):
    return len(pd.read_excel(path, sheet_name="顧客", engine="calamine"))


def read_xlcrm_raw(path):
    with open_book(path) as book:
        return len(book.read_raw("顧客"))


def read_xlcrm_typed(path):
    with open_book(path) as book:
        return len(book.read("customers"))


def best(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--keep", type=Path, help="directory to keep the written files in")
    a = ap.parse_args(argv)
    work = a.keep or Path(tempfile.mkdtemp(prefix="xlcrm-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    df = customer_table(a.rows)
    rows = cell_rows(df)
    print(f"{len(df):,} rows × {df.shape[1]} columns; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    results = []
    book = work / "xlcrm.xlsx"
    writes = [
        ("write", "xlcrm file engine (openpyxl + repair + atomic save)", lambda: write_xlcrm(df, book), book),
        ("write", "openpyxl, normal", lambda: write_openpyxl(df, work / "opx.xlsx", rows), work / "opx.xlsx"),
        ("write", "openpyxl, write_only", lambda: write_openpyxl_write_only(df, work / "opxw.xlsx", rows),
         work / "opxw.xlsx"),
        ("write", "XlsxWriter, constant_memory (reference)", lambda: write_xlsxwriter(df, work / "xw.xlsx", rows),
         work / "xw.xlsx"),
    ]
    for kind, label, fn, path in writes:
        s, _ = best(fn, a.repeat)
        results.append((kind, label, s, f"{path.stat().st_size / 1e6:.1f} MB"))
        print(f"  {kind:5s} {label:55s} {s:7.2f} s", flush=True)
    reads = [
        ("read", "python-calamine (sheet to_python)", lambda: read_calamine(book)),
        ("read", "openpyxl, normal", lambda: read_openpyxl(book, False)),
        ("read", "openpyxl, read_only", lambda: read_openpyxl(book, True)),
        ("read", "pandas.read_excel(engine='calamine')", lambda: read_pandas_calamine(book)),
        ("read", "xlcrm read_raw (calamine, table)", lambda: read_xlcrm_raw(book)),
        ("read", "xlcrm read (calamine + conform: every value parsed)", lambda: read_xlcrm_typed(book)),
    ]
    for kind, label, fn in reads:
        s, n = best(fn, a.repeat)
        assert n == len(df), (label, n)
        results.append((kind, label, s, f"{n:,} rows"))
        print(f"  {kind:5s} {label:55s} {s:7.2f} s", flush=True)

    csv_path = work / "customers.csv"
    sjis = df.copy()
    sjis["氏名"] = sjis["氏名"].str.replace("𠮷", "吉")  # 𠮷 is not in cp932: write_csv would (rightly) refuse
    csvs = [
        ("write", "xlcrm write_csv cp932 (checks + neutralise + atomic)", lambda: write_csv(sjis, csv_path, "cp932")),
        ("write", "pandas DataFrame.to_csv cp932 (reference)",
         lambda: sjis.to_csv(work / "pd.csv", index=False, encoding="cp932", errors="strict")),
        ("read", "xlcrm read_csv (detect + line numbers)", lambda: len(read_csv(csv_path))),
        ("read", "pandas.read_csv C engine, dtype=str (reference)",
         lambda: len(pd.read_csv(csv_path, dtype=str, keep_default_na=False, encoding="cp932"))),
    ]
    for kind, label, fn in csvs:
        s, _ = best(fn, a.repeat)
        results.append((f"csv {kind}", label, s, ""))
        print(f"  {kind:5s} {label:55s} {s:7.2f} s", flush=True)

    print()
    print("| step | engine | seconds | |")
    print("|---|---|---:|---|")
    for kind, label, s, note in results:
        print(f"| {kind} | {label} | {s:.2f} | {note} |")
    if not a.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
