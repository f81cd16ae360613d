"""The file engine keeps the customer's workbook: on books other programs made, a job rewrites only its own parts.

For every book of the corpus (XlsxWriter with VBA, openpyxl, LibreOffice from xlsx and from ods) and every job:
parts the job does not own stay byte for byte, formulas keep their cached values, a second run with nothing changed
writes nothing, and a LibreOffice round trip gives the same figures.
"""
from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import python_calamine as pc

from xlcrm import jobs
from xlcrm.book import open_book
from xlcrm.messages import BadInput

from corpus import books

KINDS = ["xlsxwriter", "openpyxl", "libreoffice", "libreoffice_ods"]
JOBS = {"rfm": {}, "followup": {}, "dashboard": {},
        "record_contact": {"customer": "C0001", "type": "フォロー", "summary": "電話でフォローしました"}}
lo_needed = pytest.mark.skipif(not books.has_libreoffice(), reason="LibreOffice not installed")


def _kind_param(kind):
    return pytest.param(kind, marks=lo_needed) if kind.startswith("libreoffice") else kind


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Each corpus book built once per module (LibreOffice takes seconds); tests copy it."""
    made = {}

    def get(kind):
        if kind not in made:
            made[kind] = books.build(kind, tmp_path_factory.mktemp(kind))
        return made[kind]
    return get


def _copy(src: Path, tmp: Path) -> Path:
    dst = tmp / ("CRM" + src.suffix)
    shutil.copyfile(src, dst)
    return dst


def _entries(path: Path) -> dict[str, tuple]:
    """Each zip entry's stored form: (CRC, compressed size, compressed bytes) — equal means copied raw."""
    with zipfile.ZipFile(path) as z, open(path, "rb") as f:
        out = {}
        for i in z.infolist():
            f.seek(i.header_offset + 26)
            n, m = int.from_bytes(f.read(2), "little"), int.from_bytes(f.read(2), "little")
            f.seek(i.header_offset + 30 + n + m)
            out[i.filename] = (i.CRC, i.compress_size, f.read(i.compress_size))
        return out


def _sheet_parts(path: Path) -> dict[str, str]:
    """sheet name -> part path."""
    with zipfile.ZipFile(path) as z:
        wb = z.read("xl/workbook.xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
    targets = {m.group(1): m.group(2) for m in re.finditer(r'<Relationship[^>]*Id="([^"]+)"[^>]*Target="([^"]+)"', rels)}
    targets.update({m.group(2): m.group(1) for m in
                    re.finditer(r'<Relationship[^>]*Target="([^"]+)"[^>]*Id="([^"]+)"', rels)})
    out = {}
    for m in re.finditer(r'<sheet [^>]*name="([^"]+)"[^>]*r:id="([^"]+)"', wb):
        t = targets[m.group(2)]
        out[m.group(1)] = t.lstrip("/") if t.startswith("/") else "xl/" + t
    return out


def _formula_cells(xml: str) -> dict[str, str]:
    """ref -> the whole cell text, for every formula cell."""
    return {m.group(1): m.group(0) for m in
            re.finditer(r'<c r="([A-Z]+\d+)"[^>]*>(?:(?!</c>).)*?<f[ >/](?:(?!</c>).)*</c>', xml, re.S)}


def _values(path: Path) -> dict[str, list]:
    wb = pc.CalamineWorkbook.from_path(str(path))
    return {s: wb.get_sheet_by_name(s).to_python() for s in wb.sheet_names}


def _run(kind_path: Path, job: str):
    return jobs.run(job, kind_path, **JOBS[job])


OWNED_ALWAYS = {"[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml",
                "xl/calcChain.xml", "docProps/app.xml"}


@pytest.mark.parametrize("job", list(JOBS))
@pytest.mark.parametrize("kind", [_kind_param(k) for k in KINDS])
def test_a_job_rewrites_only_its_own_parts(corpus, tmp_path, kind, job):
    book = _copy(corpus(kind), tmp_path)
    before, sheets_before, values_before = _entries(book), _sheet_parts(book), _values(book)
    with zipfile.ZipFile(book) as z:
        xml_before = {s: z.read(p).decode() for s, p in sheets_before.items()}
    _run(book, job)
    after, values_after = _entries(book), _values(book)
    written = {s for s in sheets_before if values_before.get(s) != values_after.get(s)}
    with zipfile.ZipFile(book) as z:
        xml_after = {s: z.read(p).decode() for s, p in sheets_before.items()}
    owned_parts = set(OWNED_ALWAYS)
    for s in written | {"変更履歴", "_xlcrm_undo"}:
        if s in sheets_before:
            p = sheets_before[s]
            owned_parts |= {p, p.replace("worksheets/", "worksheets/_rels/") + ".rels"}
    with zipfile.ZipFile(book) as z:   # the tables on sheets the job wrote are its own
        for s in written:
            rels = sheets_before[s].replace("worksheets/", "worksheets/_rels/") + ".rels"
            if rels in z.namelist():
                owned_parts |= {"xl/" + t.replace("../", "").lstrip("/").removeprefix("xl/")
                                for t in re.findall(r'Target="([^"]*tables/[^"]+)"', z.read(rels).decode())}
    changed = sorted(p for p in before if p not in owned_parts and before[p] != after.get(p))
    assert changed == [], f"{job} on a {kind} book changed parts it does not own"
    # untouched sheets read the same; formulas keep their text and cached values everywhere (注文!金額, メモ)
    for s in sheets_before:
        if s not in written and s in values_before:
            assert values_after[s] == values_before[s], s
        lost = {ref for ref, cell in _formula_cells(xml_before[s]).items()
                if "<v" in cell and _formula_cells(xml_after[s]).get(ref) != cell}
        assert not lost, f"{s}: formula cells changed {sorted(lost)[:5]}"
    # the written sheets' formulas still there: 注文!金額 reads as its amounts
    with open_book(book) as b:
        amounts = b.read("orders")["amount"].tolist()
    assert amounts == [r[3] for r in books.orders()]


@pytest.mark.parametrize("job", ["rfm", "followup", "dashboard"])
@pytest.mark.parametrize("kind", [_kind_param(k) for k in KINDS])
def test_a_second_run_with_nothing_changed_writes_nothing(corpus, tmp_path, kind, job):
    book = _copy(corpus(kind), tmp_path)
    _run(book, job)
    first = book.read_bytes()
    backups = sorted((tmp_path / "CRM_backup").glob("*")) if (tmp_path / "CRM_backup").exists() else []
    _run(book, job)
    assert book.read_bytes() == first, f"a second {job} rewrote the {kind} book"
    assert sorted((tmp_path / "CRM_backup").glob("*")) == backups if backups else True


@lo_needed
@pytest.mark.parametrize("kind", ["xlsxwriter", "openpyxl"])
def test_a_refresh_after_a_libreoffice_round_trip_gives_the_same_figures(corpus, tmp_path, kind):
    book = _copy(corpus(kind), tmp_path)
    if book.suffix == ".xlsm":    # LibreOffice keeps the VBA of an .xlsm only as .xlsm; the figures are what matter
        book = book.rename(book.with_suffix(".xlsx"))
        with zipfile.ZipFile(book) as z:
            assert "xl/vbaProject.bin" in z.namelist()
    jobs.run("rfm", book)
    jobs.run("followup", book)
    with open_book(book) as b:
        rfm_before, fu_before = b.read_raw("顧客"), b.read_raw("フォローリスト")
    again = books.libreoffice(book, tmp_path / "round")
    jobs.run("rfm", again)
    jobs.run("followup", again)
    with open_book(again) as b:
        rfm_after, fu_after = b.read_raw("顧客"), b.read_raw("フォローリスト")
    cols = [c for c in rfm_before.columns if c.startswith(("R", "F", "M", "RFM", "セグメント", "購入"))]
    assert cols
    pd.testing.assert_frame_equal(rfm_after[cols].reset_index(drop=True), rfm_before[cols].reset_index(drop=True),
                                  check_dtype=False)
    assert len(fu_after) == len(fu_before)
    assert fu_after.iloc[:, :4].astype(str).equals(fu_before.iloc[:, :4].astype(str))


def test_libreoffice_booleans_stored_as_formulas_read_as_booleans_every_time(tmp_path):
    """LibreOffice stores TRUE/FALSE as formulas with cached values; after an xlcrm save they must still read."""
    if not books.has_libreoffice():
        pytest.skip("LibreOffice not installed")
    import openpyxl
    src = books.openpyxl_book(tmp_path / "src.xlsx")
    wb = openpyxl.load_workbook(src)
    ws = wb["顧客"]
    ws.cell(1, ws.max_column + 1, "定期")
    for r in range(2, ws.max_row + 1):
        ws.cell(r, ws.max_column, r % 2 == 0)
    t = ws.tables["顧客"]
    t.ref = f"A1:{books._col(ws.max_column)}{ws.max_row}"
    t.tableColumns = []
    t._initialise_columns()
    for cell, col in zip(ws[1], t.tableColumns):
        col.name = str(cell.value)
    wb.save(src)
    book = books.libreoffice(src, tmp_path)
    with zipfile.ZipFile(book) as z:
        assert re.search(rb"<f[^>]*>(TRUE|FALSE)\(\)</f>", z.read(_sheet_parts(book)["顧客"]))
    jobs.run("rfm", book)
    with open_book(book) as b:
        first = b.read_raw("顧客")["定期"].tolist()
    jobs.run("rfm", book)
    with open_book(book) as b:
        assert b.read_raw("顧客")["定期"].tolist() == first == [r % 2 == 0 for r in range(2, 2 + len(first))]


def test_a_formula_without_a_cached_value_is_named_with_what_to_do(tmp_path):
    import openpyxl
    src = books.openpyxl_book(tmp_path / "CRM.xlsx")
    wb = openpyxl.load_workbook(src)
    wb["注文"]["D3"] = "=3500+480"        # openpyxl never calculates: no cached value is stored
    wb.save(src)
    before = src.read_bytes()
    with pytest.raises(BadInput) as e:
        jobs.run("rfm", src)
    p = e.value.problems[0]
    assert (p.sheet, p.row, p.column) == ("注文", 3, "金額")
    assert "LibreOffice" in e.value.message("ja") and "保存し直して" in e.value.message("ja")
    assert src.read_bytes() == before


def test_writing_values_formulas_depend_on_sets_recalculation_and_says_so(corpus, tmp_path):
    src = corpus("xlsxwriter")    # XlsxWriter asks for a full recalculation on load itself: take that away first
    book = books.rewrite_parts(src, tmp_path / "CRM.xlsm", {"xl/workbook.xml": lambda b: b.replace(
        b' fullCalcOnLoad="1"', b"")})
    result = jobs.run("record_contact", book, **JOBS["record_contact"])   # メモ uses 顧客 and 注文, not 対応履歴
    with zipfile.ZipFile(book) as z:
        assert b"fullCalcOnLoad" not in z.read("xl/workbook.xml")
    assert "再計算" not in result.summary_ja
    result = jobs.run("rfm", book)                                        # 顧客 feeds メモ!A4
    with zipfile.ZipFile(book) as z:
        assert b'fullCalcOnLoad="1"' in z.read("xl/workbook.xml")
    assert "再計算" in result.summary_ja


def test_cells_the_job_writes_take_their_columns_format(corpus, tmp_path):
    """New rows of 対応履歴 look like the rows above (the date column stays a date); RFM dates are dates."""
    import openpyxl
    book = _copy(corpus("xlsxwriter"), tmp_path)
    jobs.run("record_contact", book, **JOBS["record_contact"])
    jobs.run("rfm", book)
    wb = openpyxl.load_workbook(book)
    ws = wb["対応履歴"]
    assert ws.cell(ws.max_row, 3).is_date and ws.cell(ws.max_row, 3).number_format == ws.cell(2, 3).number_format
    cust = wb["顧客"]
    headers = [c.value for c in cust[1]]
    dated = [h for h in headers if h and str(h).endswith("日") and h != "生年月日"]
    assert dated
    for h in dated:
        cell = cust.cell(2, headers.index(h) + 1)
        if cell.value is not None:
            assert cell.is_date, h


def test_a_truly_broken_file_is_refused_with_exit_2(tmp_path, corpus):
    from xlcrm import cli
    book = _copy(corpus("openpyxl"), tmp_path)
    data = book.read_bytes()
    book.write_bytes(data[: len(data) // 2])
    assert cli.main(["run", "rfm", str(book)]) == 2


def test_the_vba_project_and_pictures_survive_byte_for_byte(corpus, tmp_path):
    book = _copy(corpus("xlsxwriter"), tmp_path)
    before = _entries(book)
    for job in ("rfm", "followup", "dashboard"):
        _run(book, job)
    after = _entries(book)
    kept = [p for p in before if p.endswith((".bin", ".png", ".vml")) or "/drawings/" in p or "/charts/" in p
            or "comments" in p]
    assert kept and all(after.get(p) == before[p] for p in kept)


def test_a_report_whose_only_change_is_its_refresh_time_is_not_rewritten(corpus, tmp_path, monkeypatch):
    import datetime as dt

    import xlcrm.jobs.dashboard as dash
    book = _copy(corpus("openpyxl"), tmp_path)

    import types
    real = dt.datetime

    class Later(real):
        shift = dt.timedelta(0)

        @classmethod
        def now(cls, tz=None):
            return real.now(tz) + cls.shift
    monkeypatch.setattr(dash, "dt", types.SimpleNamespace(**{**vars(dt), "datetime": Later}))
    _run(book, "dashboard")
    first = book.read_bytes()
    Later.shift = dt.timedelta(hours=3)             # the same figures, three hours later
    _run(book, "dashboard")
    assert book.read_bytes() == first
    jobs.run("dashboard", book, overrides={"as_of": pd.Timestamp("2024-07-31")})   # other figures
    with open_book(book) as b:
        cells = [v for row in b.read_range("ダッシュボード", "A1", 2, 8) for v in row if isinstance(v, str)]
    stamp = (real.now() + Later.shift).strftime("%Y-%m-%d %H")   # a real change writes, with the new time
    assert any(stamp in v for v in cells), cells


def test_a_column_a_job_adds_to_a_table_looks_like_its_header(tmp_path):
    import openpyxl
    from openpyxl.styles import Font, PatternFill
    src = books.openpyxl_book(tmp_path / "CRM.xlsx")
    wb = openpyxl.load_workbook(src)
    for cell in wb["顧客"][1]:
        cell.font, cell.fill = Font(bold=True, color="FFFFFF"), PatternFill("solid", fgColor="1F4E78")
    wb.save(src)
    jobs.run("rfm", src)
    ws = openpyxl.load_workbook(src)["顧客"]
    last = ws.cell(1, ws.max_column)
    assert last.value and last.font.b and last.fill.fgColor.rgb.endswith("1F4E78")
    assert not ws.cell(2, ws.max_column).font.b      # the data below does not take the header's look


def _rendered_both_ways(monkeypatch, src: Path, tmp_path: Path, write, sheets) -> dict:
    """The parts of `sheets` after `write(book)` on a copy of `src`, rendered by the lean path (lean-True) and by
    the general path (lean-False); the journal's sheets aside (their times and change ids differ)."""
    from xlcrm.book import file as file_engine
    parts = {}
    for lean in (True, False):
        monkeypatch.setattr(file_engine, "LEAN_ROWS", lean)
        path = tmp_path / f"lean-{lean}{src.suffix}"
        shutil.copy(src, path)
        with open_book(path) as book:
            write(book)
            book.save()
        with open_book(path) as book:
            names = [book._sheet_part(s) for s in sheets]
        with zipfile.ZipFile(path) as z:
            parts[lean] = [z.read(name) for name in names]
    return parts


def test_columns_added_at_a_tables_right_take_the_lean_path_and_it_writes_what_the_general_path_writes(
        tmp_path, monkeypatch):
    """Every kind of value a job writes, rows with and without cells near the new columns (a staff note right of
    the table on some rows, a styled cell, an empty row), a format asked on the column — rendered by the lean path
    and by the general path, the part is the same bytes, and the values read back are what was written."""
    import datetime as dt

    import openpyxl
    from openpyxl.styles import Font
    src = books.openpyxl_book(tmp_path / "src.xlsx")
    wb = openpyxl.load_workbook(src)
    ws = wb["顧客"]
    width = ws.max_column
    for i in range(40):                                # more customers, some with a few cells only
        r = ws.max_row + 1
        ws.cell(r, 1, f"X{i:03d}"), ws.cell(r, 2, "顧客"), ws.cell(r, 3, f"客 {i}")
        if i % 4:
            ws.cell(r, width, "備考あり")
    for t in ws.tables.values():
        t.ref = re.sub(r"\d+$", str(ws.max_row), t.ref)
    for r in range(2, ws.max_row + 1):
        ws.cell(r, 1).font = Font(bold=r % 2 == 0)
    ws.cell(3, width + 3, "メモ")                     # staff's note right of the table: that row is not lean
    wb.save(src)
    ids = [row[0].value for row in ws.iter_rows(min_row=2) if row[0].value]
    kinds = [3, 2.5, 4.0, "A&B <x>", " 前後に空白 ", None, dt.datetime(2024, 5, 6), dt.datetime(2024, 5, 6, 9, 30),
             True, "_x0041_", 1e20, "=1+1"]
    df = pd.DataFrame({"customer_id": ids,
                       "値": [kinds[i % len(kinds)] for i in range(len(ids))],
                       "日付": [dt.datetime(2024, 1, 1 + i % 28) if i % 3 else None for i in range(len(ids))]})
    from xlcrm.book.sheetxml import SheetXml
    lean_rows = []
    append_cells = SheetXml.append_cells
    monkeypatch.setattr(SheetXml, "append_cells", lambda self, r, cells: (lean_rows.append(r),
                                                                          append_cells(self, r, cells)))
    def write(book):
        book.update_columns("customers", df, key="customer_id")
        book.dress_table("customers", number_formats={"日付": "yyyy/mm/dd"}, widths={}, print_setup=False)
    parts = _rendered_both_ways(monkeypatch, src, tmp_path, write, ("顧客",))
    assert parts[True] == parts[False]
    # every row but the first (it takes after the header) and the one with staff's note took the lean path
    assert len(ids) == 44 and sorted(lean_rows) == list(range(4, 46))
    rows = pc.CalamineWorkbook.from_path(str(tmp_path / "lean-True.xlsx")).get_sheet_by_name("顧客").to_python()
    col = rows[0].index("値")
    for i, cid in enumerate(ids):       # as Excel reads them (calamine: openpyxl leaves _x005F_ escapes as they are)
        want, have = df["値"][i], rows[i + 1][col]
        if type(have) is dt.date:       # a day shown as a date reads as a date
            have = dt.datetime.combine(have, dt.time())
        assert have == want or (want is None and have == ""), (cid, want, have)
    got = openpyxl.load_workbook(tmp_path / "lean-True.xlsx")["顧客"]
    day = [c.value for c in got[1]].index("日付") + 1
    assert got.cell(5, day).number_format == "yyyy/mm/dd" and got.cell(3, width + 3).value == "メモ"


def test_a_row_patched_from_its_right_end_keeps_the_cells_before_as_they_were():
    """Jobs writing columns at the right of long rows read only those cells; the rest of the row stays its exact
    text, and spans (Excel writes them) still cover every cell."""
    from xlcrm.book.sheetxml import cells_of, patch_row, tail_start
    row = ('<row r="7" spans="1:4"><c r="A7" s="3" t="s"><v>0</v></c><c r="B7"><f>A7*2</f><v>4</v></c>'
           '<c r="C7" t="inlineStr"><is><t>r="D7"</t></is></c><c r="D7" s="5"><v>1</v></c></row>')
    start = tail_start(row, 7, 4)
    assert row[start:].startswith('<c r="D7"')
    out = patch_row(row, 7, {4: '<c r="D7" s="5"><v>2</v></c>', 6: '<c r="F7"><v>9</v></c>'},
                    existing=cells_of(row, "", start), start=start)
    assert out == row.replace("1:4", "1:6").replace("<v>1</v></c></row>", '<v>2</v></c><c r="F7"><v>9</v></c></row>')
    assert tail_start(row, 7, 9) is None            # no cell near: the whole row is read
    assert [c for c, *_ in cells_of(row)] == [1, 2, 3, 4]


def test_a_new_tables_guessed_widths_fit_dates_and_give_way_to_the_jobs_own(tmp_path):
    """A date column of a table the engine creates is as wide as 2024/04/01 shows, not as its Python text; a width
    the job gives afterwards replaces the guess even when it is narrower."""
    import datetime as dt
    import openpyxl
    p = tmp_path / "b.xlsx"
    openpyxl.Workbook().save(p)
    with open_book(p) as book:
        book.write_table("一覧", pd.DataFrame({"日付": [dt.datetime(2024, 4, 1)] * 3, "理由": ["あ" * 40] * 3}))
        book.dress_table("一覧", widths={"理由": 30})
        book.save()
    ws = openpyxl.load_workbook(p)["一覧"]
    assert 8 <= ws.column_dimensions["A"].width <= 13
    assert ws.column_dimensions["B"].width == 30


def test_page_breaks_are_written_and_replaced_not_piled_up(tmp_path):
    import openpyxl
    p = tmp_path / "b.xlsx"
    openpyxl.Workbook().save(p)
    for rows in ([10, 25], [12]):
        with open_book(p) as book:
            book.write_table("一覧", pd.DataFrame({"番号": list(range(40))}))
            book.page_breaks("一覧", rows)
            book.save()
    ws = openpyxl.load_workbook(p)["一覧"]
    assert [b.id for b in ws.row_breaks.brk] == [11]


def test_a_format_asked_of_a_column_reaches_every_row_of_a_sheet_written_with_a_namespace_prefix(tmp_path):
    """Rows whose cells look alike are weighed once; in a sheet whose elements carry a prefix (<x:c>) the rows
    must still be told apart by their cells' styles: B3 (General) gets the percentage B2 already had."""
    import openpyxl
    p = tmp_path / "b.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "一覧"
    ws.append(["名前", "率"])
    ws.append(["あ", 0.5])
    ws.append(["い", 0.25])
    wb.save(p)
    with zipfile.ZipFile(p) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    xml = parts["xl/worksheets/sheet1.xml"].decode()
    xml = re.sub(r"<(/?)(?![?!])(\w+)(?=[\s/>])", r"<\1x:\2", xml).replace(f'xmlns="{main}"', f'xmlns:x="{main}"')
    parts["xl/worksheets/sheet1.xml"] = xml.encode()
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in parts.items():
            z.writestr(n, data)
    for cells in ("B2:B2", "B2:B3"):       # B2 already as asked the second time, B3 not yet
        with open_book(p) as book:
            book.set_number_formats("一覧", {cells: "0.0%"})
            book.save()
    ws = openpyxl.load_workbook(p)["一覧"]
    assert [ws["B2"].number_format, ws["B3"].number_format] == ["0.0%", "0.0%"]


def test_a_run_of_jobs_reads_a_large_sheet_no_job_changed_once_and_a_changed_one_again(tmp_path, monkeypatch):
    """The demo runs job after job on one book: 注文 (no job writes it) is parsed once; rows a save adds are handed
    to the next job with the rest; after 注文 changes on disk by other hands it is parsed again. The figures
    follow each change."""
    from xlcrm.book import file as file_engine
    from xlcrm.book import sharing_reads
    path = books.openpyxl_book(tmp_path / "CRM.xlsx")
    n = 25_000
    orders = pd.DataFrame({"注文ID": [f"O{i:06d}" for i in range(n)], "顧客ID": ["C0001", "C0002"] * (n // 2),
                           "注文日": pd.Timestamp("2024-01-05"), "金額": 1000})
    with open_book(path) as book:
        book.write_table("注文", orders)
        book.save()
    other = shutil.copyfile(path, tmp_path / "other.xlsx")
    with open_book(other) as book:      # the same book as another program leaves it: C0002's orders gone
        book.write_table("注文", orders[orders["顧客ID"].eq("C0001")])
        book.save()
    from xlcrm import schema
    parsed, conformed = [], []
    real = file_engine._parsed
    monkeypatch.setattr(file_engine, "_parsed", lambda cal, sheet: (parsed.append(sheet), real(cal, sheet))[1])
    real_conform = schema.conform
    monkeypatch.setattr(schema, "conform", lambda raw, t, **kw: (conformed.append(kw.get("sheet")),
                                                                  real_conform(raw, t, **kw))[1])
    with sharing_reads():
        first = jobs.run("rfm", path)
        jobs.run("lapse", path)
        assert parsed.count("注文") == 1 and first.counts["scored"] == 2
        assert conformed.count("注文") == 1         # conformed once too: rfm and lapse read the same columns
        with open_book(path) as book:               # each reader has its own copy
            book.read("orders")["amount"] = 0
            assert book.read("orders")["amount"].eq(1000).all()
        with open_book(path) as book:       # one more order, for a customer who had none
            book.append_rows("注文", pd.DataFrame({"注文ID": ["O999999"], "顧客ID": ["C0003"],
                                                  "注文日": [pd.Timestamp("2024-02-01")], "金額": [500]}))
            book.save()
        again = jobs.run("rfm", path)
        assert parsed.count("注文") == 1 and again.counts["scored"] == 3    # the rows written, handed over
        shutil.copyfile(other, path)        # the book changed by another program: 注文 parsed again
        back = jobs.run("rfm", path)
    assert parsed.count("注文") == 2 and back.counts["scored"] == 1
    assert not file_engine._SHARED and not file_engine._FRAMES        # let go when the run ends


def test_tables_written_below_every_row_on_disk_take_the_lean_path_and_it_writes_what_the_general_path_writes(
        tmp_path, monkeypatch):
    """A table that grows below the rows on disk (顧客 given more customers), one written afresh on a sheet of the
    book and one on a new sheet — every kind of value, blanks in formatted columns, a formula column and a row
    height on some rows — rendered by the lean path and by the general path: the same bytes."""
    import datetime as dt

    from xlcrm.book import file as file_engine
    src = books.openpyxl_book(tmp_path / "src.xlsx")
    kinds = [3, 2.5, 4.0, "A&B <x>", " 前後に空白 ", None, dt.datetime(2024, 5, 6), dt.datetime(2024, 5, 6, 9, 30),
             True, "_x0041_", 1e20, "=1+1"]
    n = 60
    grown = pd.DataFrame({"顧客ID": [f"G{i:03d}" for i in range(n)], "氏名": [f"客 {i}" for i in range(n)],
                          "値": [kinds[i % len(kinds)] for i in range(n)],
                          "日付": [dt.datetime(2024, 1, 1 + i % 28) if i % 3 else None for i in range(n)]})
    report = pd.DataFrame({"番号": list(range(n)), "値": [kinds[(i * 5) % len(kinds)] for i in range(n)],
                           "リンク": [f'=HYPERLINK("#A{i}","{i}")' if i % 7 == 0 else None for i in range(n)]})
    calls = []
    lean_column = file_engine._lean_column
    monkeypatch.setattr(file_engine, "_lean_column", lambda *a: (calls.append(a[1][0]), lean_column(*a))[1])
    def write(book):
        book.write_table("顧客", grown, key="顧客ID", text_columns=("顧客ID",))
        book.dress_table("顧客", number_formats={"日付": "yyyy/mm/dd", "値": "#,##0"}, widths={}, print_setup=False)
        for name in ("注文", "新しい一覧"):
            book.write_table(name, report, formula_columns=("リンク",))
            book.dress_table(name, number_formats={"値": "0.0"}, widths={}, print_setup=False)
        book.set_row_heights("新しい一覧", {20: 30})
    parts = _rendered_both_ways(monkeypatch, src, tmp_path, write, ("顧客", "注文", "新しい一覧"))
    assert parts[True] == parts[False]
    assert len(calls) > 10      # runs of rows below the table took the lean path


def test_a_part_written_in_pieces_reads_back_as_its_bytes(tmp_path):
    """A large sheet goes into the zip piece by piece (never joined), deflated a few MB at a time on two threads:
    the archive is sound (CRCs), reads back as the part's bytes — also with LibreOffice's and Python's readers
    elsewhere in the suite — and a part put back as it was (same bytes, in pieces) is copied raw."""
    import io
    import zlib
    from xlcrm.book.package import Package, Pieces, _deflated
    src = io.BytesIO()
    with zipfile.ZipFile(src, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.xml", b"<a>" + b"x" * 100 + b"</a>")
        z.writestr("b.xml", b"<b/>")
    rng = __import__("random").Random(7)
    body = ([b"<a>"] + [bytes(rng.randrange(256) for _ in range(1000)) for _ in range(300)]
            + [b"y" * 1024] * (9 << 10) + [b"", b"</a>"])      # rows of a sheet, 9 MB and more
    whole = b"".join(body)
    crc, chunks = _deflated(body, 1, size=1 << 20)      # ten stretches and more
    assert len(chunks) > 8 and crc == zlib.crc32(whole)
    assert zlib.decompress(b"".join(chunks), -15) == whole
    for data in (whole, Pieces(body)):
        pkg = Package(src.getvalue())
        pkg.put("a.xml", data)
        pkg.put("b.xml", Pieces([b"<b", b"/>"]))      # as it was
        assert "b.xml" not in pkg.new and pkg.read("a.xml") == whole
        out = io.BytesIO()
        pkg.write(out)
        z = zipfile.ZipFile(io.BytesIO(out.getvalue()))
        assert z.testzip() is None and z.read("a.xml") == whole and z.read("b.xml") == b"<b/>"
        assert z.getinfo("b.xml").compress_size == zipfile.ZipFile(src).getinfo("b.xml").compress_size
    assert Pieces(body) == whole and Pieces(body) != whole.replace(b"y</a>", b"z</a>")


@pytest.mark.parametrize("kind", [_kind_param(k) for k in ("xlsxwriter", "openpyxl", "libreoffice")])
def test_where_the_rows_are_is_found_a_few_mb_at_a_time_as_from_the_whole_part(kind, corpus):
    """row_index (worked out while a larger sheet is read, the part never held whole) gives SheetXml's rows for
    books of every program in the corpus, however the part is cut — a tag, a row or </sheetData> across the cut."""
    from xlcrm.book.sheetxml import SheetXml, row_index
    seen = 0
    with zipfile.ZipFile(corpus(kind)) as z:
        for part in [n for n in z.namelist() if re.fullmatch(r"xl/worksheets/[^/]+\.xml", n)]:
            data = z.read(part)
            want = SheetXml(data).rows()
            for size in (7, 64, 1000, len(data) + 1):
                assert row_index(data[i:i + size] for i in range(0, len(data), size)) == want, (part, size)
                seen += bool(want[0])
    assert seen >= 8


def test_sheets_read_ahead_and_made_ready_to_write_give_the_same_book(tmp_path, monkeypatch):
    """RFM reads 顧客 and 注文 at once in the background and makes 顧客 ready to write while 注文 is still being read
    (as on a 100,000-customer book): the book it writes is byte for byte the one read the plain way, the first time
    (the lean path) and again."""
    import itertools
    from xlcrm.book import file as file_engine
    from xlcrm.jobs.demo import run_demo
    from xlcrm.jobs.rfm import refresh_rfm
    src = tmp_path / "src.xlsm"
    list(itertools.islice(run_demo(src, customers=300, seed=3, as_of="2025-08-01"), 2))     # data, no jobs
    made = {}
    for ahead in (True, False):
        monkeypatch.setattr(file_engine, "PREFETCH_BYTES", 0 if ahead else 1 << 40)
        path = tmp_path / f"ahead-{ahead}.xlsm"
        shutil.copyfile(src, path)
        for _ in range(2):
            with open_book(path) as book:
                refresh_rfm(book, book.settings(), as_of="2025-08-01")
                assert (book._sheets["顧客"].rows is not None) is ahead     # where its rows are, found ahead
                book.save()
        with open_book(path) as book:    # 顧客 and 注文 (the journal's times and change ids differ)
            parts = [book._sheet_part(s) for s in ("顧客", "注文")]
        with zipfile.ZipFile(path) as z:
            made[ahead] = [z.read(part) for part in parts]
    assert made[True] == made[False]


def test_the_demos_jobs_read_the_cells_the_job_before_wrote_as_calamine_reads_them_from_the_file(
        tmp_path, monkeypatch):
    """In the demo's run of jobs, a sheet a job wrote (顧客, after each job that scores it) is handed to the next
    job as calamine would read it from the new file, not parsed again: after every save, each sheet carried over
    equals the sheet read from the file, value for value and type for type (numbers as floats, days as dates).
    Sheets of 150 rows count as large here: the 200-customer book's large sheets are those of a 100,000-customer
    book (顧客, 注文, 対応履歴, フォローリスト)."""
    import datetime as dt

    from xlcrm.book import file as file_engine
    from xlcrm.jobs.demo import run_demo
    monkeypatch.setattr(file_engine, "SHARE_ROWS", 150)
    parsed, carried, free = [], [], []
    real_parsed, real_carry = file_engine._parsed, file_engine.FileBook._carry
    monkeypatch.setattr(file_engine, "_parsed", lambda cal, sheet: (parsed.append(sheet), real_parsed(cal, sheet))[1])

    def carry(book):
        before = set(file_engine._SHARED)
        real_carry(book)
        cal = pc.CalamineWorkbook.from_path(str(book.path))
        names = {book._sheet_part(n): n for n in book.sheet_names()}
        for key in set(file_engine._SHARED) - before:
            name = names[key[1]]
            grid, read = file_engine._SHARED[key], real_parsed(cal, name)
            assert [[(type(v), v) for v in row] for row in grid] == [[(type(v), v) for v in row] for row in read], name
            carried.append(name)
            if key in file_engine._FORMULA_FREE:     # known to hold no formula: not scanned again by the next job
                with zipfile.ZipFile(book.path) as z:
                    assert not file_engine._has_formula(z.read(key[1])), name
                free.append(name)
        cal.close()
    monkeypatch.setattr(file_engine.FileBook, "_carry", carry)
    out = tmp_path / "demo.xlsm"
    lines = run_demo(out, customers=200, seed=4, as_of="2025-08-01")
    for line in lines:
        if line.startswith("デモデータ"):
            parsed.clear()      # the jobs begin
    assert line == "完了しました。"
    assert carried.count("顧客") >= 6 and "対応履歴" in carried and free.count("顧客") == carried.count("顧客")
    # 顧客 was parsed by the first job only: each later one took the cells the one before wrote
    assert parsed.count("顧客") == 1

    # a number written in a cell formatted as a date reads back as a day: that sheet is left to calamine
    from xlcrm.book import sharing_reads
    path = tmp_path / "dated.xlsx"
    with open_book(books.openpyxl_book(path)) as book:
        book.write_table("一覧", pd.DataFrame({"番号": [1, 2, 3], "日": [1, 2, 3], "数": [1, 2, 3]}))
        book.set_number_formats("一覧", {"B2:B4": "yyyy/mm/dd"})
        book.save()
    carried.clear()
    monkeypatch.setattr(file_engine, "SHARE_ROWS", 0)
    with sharing_reads():
        for column, carried_after in (("日", []), ("数", ["一覧"])):
            with open_book(path) as book:
                book.update_columns("一覧", pd.DataFrame({"番号": [1, 2, 3], column: [40000, 40001, 40002]}),
                                    key="番号")
                book.save()
            assert carried == carried_after, column
    assert pc.CalamineWorkbook.from_path(str(path)).get_sheet_by_name("一覧").to_python()[1][1] == dt.date(2009, 7, 6)


def test_xlcrm_run_parses_the_first_sheets_while_it_loads_and_writes_the_book_the_plain_way_does(
        corpus, tmp_path, monkeypatch):
    """`xlcrm run rfm` on a large book starts parsing 顧客 and 注文 before pandas and the job load; the book takes
    those over (nothing is parsed twice) and the other sheets are scanned for formulas while 注文 is read. The book
    written is the one the plain way writes: 顧客 byte for byte, and the recalculation メモ's formulas on 顧客 need."""
    from xlcrm import cli
    from xlcrm.book import ahead
    from xlcrm.book import file as file_engine
    src = books.rewrite_parts(corpus("xlsxwriter"), tmp_path / "src.xlsm", {"xl/workbook.xml": lambda b: b.replace(
        b' fullCalcOnLoad="1"', b"")})
    monkeypatch.setattr(file_engine, "PREFETCH_BYTES", 0)
    early, parsed = [], []
    real_early, real_parsed = ahead.parsed, file_engine._parsed
    monkeypatch.setattr(ahead, "parsed", lambda cal, sheet: (early.append(sheet), real_early(cal, sheet))[1])
    monkeypatch.setattr(file_engine, "_parsed", lambda cal, sheet: (parsed.append(sheet), real_parsed(cal, sheet))[1])
    made = {}
    for first in (True, False):
        monkeypatch.setattr(ahead, "AHEAD_BYTES", 0 if first else 1 << 40)
        book = shutil.copyfile(src, tmp_path / f"first-{first}.xlsm")
        early.clear(), parsed.clear()
        assert cli.main(["run", "rfm", str(book)]) == 0
        if first:
            assert sorted(early) == ["注文", "顧客"] and "顧客" not in parsed and "注文" not in parsed
        else:
            assert early == [] and {"顧客", "注文"} <= set(parsed)
        with open_book(book) as b:
            part = b._sheet_part("顧客")
        with zipfile.ZipFile(book) as z:
            made[first] = z.read(part), b'fullCalcOnLoad="1"' in z.read("xl/workbook.xml")
    assert made[True] == made[False] and made[True][1]
    assert ahead.take(tmp_path / "first-True.xlsm") is None       # taken once, by the book the job opened


def test_reading_ahead_leaves_a_file_that_is_no_workbook_to_the_job_to_name(tmp_path, monkeypatch, capsys):
    from xlcrm import cli
    from xlcrm.book import ahead
    monkeypatch.setattr(ahead, "AHEAD_BYTES", 0)
    bad = tmp_path / "CRM.xlsx"
    bad.write_bytes(b"PK\x03\x04" + b"\x00" * 400)
    assert cli.main(["run", "rfm", str(bad)]) == 2
    assert "CRM.xlsx" in capsys.readouterr().err and ahead._AHEAD == {}
