"""One contract for both engines: the same tests run against the file engine (what the saved file holds, read back
with openpyxl) and the live engine driven through an in-memory double of xlwings (tests/xlwings_double.py, whose
calls are checked against xlwings' own signatures). A probe per engine answers the questions a user would ask of
the sheet: which number format, which drop-down, which tint, which charts."""
from __future__ import annotations

import io
import re

import openpyxl
import pytest

import xlwings_double as xwd
from xlcrm.book import open_book
from xlcrm.book.base import CAPABILITIES, _parse_cell
from xlcrm.book.live import LiveBook
from xlcrm.book.report import Chart, Picture, Report


def _png(w=40, h=20) -> bytes:
    from PIL import Image
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (46, 117, 182)).save(buf, format="PNG")
    return buf.getvalue()


def _plain(ref: str) -> str:
    """'レポート'!$B$6:$B$8 -> B6:B8"""
    return ref.split("!")[-1].replace("$", "")


def _rgb(c) -> str | None:
    v = getattr(c, "rgb", c)
    return None if v is None else str(v)[-6:].upper()


class FileProbe:
    def __init__(self, book):
        self.book = book
        self.wb = None

    def done(self):
        self.book.save()
        self.wb = openpyxl.load_workbook(self.book.path)

    def value(self, sheet, cell):
        return self.wb[sheet][cell].value

    def sheets(self):
        return self.wb.sheetnames

    def sheet_state(self, sheet):
        return self.wb[sheet].sheet_state

    def number_format(self, sheet, cell):
        return self.wb[sheet][cell].number_format

    def width(self, sheet, col):
        return self.wb[sheet].column_dimensions[col].width

    def font(self, sheet, cell):
        f = self.wb[sheet][cell].font
        return bool(f.b), f.sz, _rgb(f.color) if f.color is not None else None

    def centred(self, sheet, cell):
        return self.wb[sheet][cell].alignment.horizontal == "center"

    def fill(self, sheet, cell):
        c = self.wb[sheet][cell]
        return (_rgb(c.fill.fgColor) if c.fill.fill_type == "solid" else None,
                _rgb(c.border.top.color) if c.border.top.style else None)

    def validations(self, sheet):
        return sorted((str(v.sqref), v.formula1.strip('"').split(","))
                      for v in self.wb[sheet].data_validations.dataValidation)

    def highlights(self, sheet):
        cf = self.wb[sheet].conditional_formatting
        return sorted((str(r.sqref), rule.formula[0], _rgb(rule.dxf.fill.bgColor) or _rgb(rule.dxf.fill.fgColor))
                      for r in cf for rule in r.rules if rule.type == "expression")

    def color_scales(self, sheet):
        return sorted(str(r.sqref) for r in self.wb[sheet].conditional_formatting
                      for rule in r.rules if rule.type == "colorScale")

    def charts(self, sheet):
        out = []
        for ch in self.wb[sheet]._charts:
            title = "".join(r.t for p in ch.title.tx.rich.p for r in (p.r or []))
            a = ch.anchor._from
            kind = "line" if ch.tagname == "lineChart" else "bar"
            out.append({"kind": kind, "title": title, "anchor": f"{chr(65 + a.col)}{a.row + 1}",
                        "values": [_plain(s.val.numRef.f) for s in ch.series],
                        "categories": _plain((ch.series[0].cat.numRef or ch.series[0].cat.strRef).f),
                        "top_down": kind == "bar" and ch.type == "bar" and ch.x_axis.scaling.orientation == "maxMin",
                        "number_format": ch.y_axis.numFmt.formatCode if ch.y_axis.numFmt else None})
        return out

    def pictures(self, sheet):
        return [f"{chr(65 + i.anchor._from.col)}{i.anchor._from.row + 1}" for i in self.wb[sheet]._images]

    def page(self, sheet):
        ws = self.wb[sheet]
        rows = ws.print_title_rows
        return {"landscape": ws.page_setup.orientation == "landscape",
                "one_page_wide": bool(ws.sheet_properties.pageSetUpPr.fitToPage) and ws.page_setup.fitToWidth == 1
                and ws.page_setup.fitToHeight == 0,
                "a4": str(ws.page_setup.paperSize) == "9",
                "title_rows": rows.replace("$", "") if rows else None}


class LiveProbe:
    def __init__(self, book):
        self.xl = book.xw

    def done(self):
        pass

    def _sh(self, sheet):
        return self.xl.sheets[sheet]

    def value(self, sheet, cell):
        return self._sh(sheet)._values.get(_parse_cell(cell))

    def sheets(self):
        return [s.name for s in self.xl.sheets]

    def sheet_state(self, sheet):
        return {2: "veryHidden", 0: "hidden", -1: "visible"}[self._sh(sheet).api.Visible]

    def number_format(self, sheet, cell):
        return self._sh(sheet)._formats.get(_parse_cell(cell), "General")

    def width(self, sheet, col):
        return self._sh(sheet)._widths.get(_parse_cell(col + "1")[1])

    def font(self, sheet, cell):
        f = self._sh(sheet)._fonts.get(_parse_cell(cell), {})
        return bool(f.get("bold")), f.get("size"), f.get("color")

    def centred(self, sheet, cell):
        return self._sh(sheet)._align.get(_parse_cell(cell)) == "center"

    def fill(self, sheet, cell):
        rc = _parse_cell(cell)
        b = self._sh(sheet)._borders.get(rc)
        return self._sh(sheet)._fills.get(rc), b["color"] if b else None

    def validations(self, sheet):
        return sorted((v["address"], v["options"]) for v in self._sh(sheet)._validations)

    def highlights(self, sheet):
        return sorted((r._address, r.formula.lstrip("="), r.fill_color) for r in self._sh(sheet)._rules
                      if r.type == "expression")

    def color_scales(self, sheet):
        return sorted(r._address for r in self._sh(sheet)._rules if r.type == "color_scale")

    def charts(self, sheet):
        return [{"kind": "line" if c.chart_type.startswith("line") else "bar", "title": c.title,
                 "anchor": _cell_at(self._sh(sheet), c.left, c.top),
                 "values": [s._values for s in c._series], "categories": c._categories,
                 "top_down": c.chart_type.startswith("bar_") and c.category_axis.reverse_order,
                 "number_format": c.value_axis.number_format} for c in self._sh(sheet)._charts]

    def pictures(self, sheet):
        return [p._anchor for p in self._sh(sheet)._pictures]

    def page(self, sheet):
        ps = self._sh(sheet).api.PageSetup.state
        rows = ps.get("PrintTitleRows")
        return {"landscape": ps.get("Orientation") == 2,
                "one_page_wide": ps.get("FitToPagesWide") == 1 and ps.get("FitToPagesTall") is False
                and ps.get("Zoom") is False,
                "a4": ps.get("PaperSize") == 9, "title_rows": rows.replace("$", "") if rows else None}


def _cell_at(sheet, left, top) -> str:
    """The cell whose top-left corner is at (left, top) points."""
    col, x = 1, 0.0
    while x < left - 0.01:
        x += sheet._widths.get(col, 8.43) * xwd.CHAR_WIDTH_PT
        col += 1
    row, y = 1, 0.0
    while y < top - 0.01:
        y += sheet._heights.get(row, xwd.ROW_HEIGHT_PT)
        row += 1
    from xlcrm.book.base import col_letter
    return f"{col_letter(col)}{row}"


@pytest.fixture(params=["file", "live"])
def engine(request, book_path):
    if request.param == "file":
        book = open_book(book_path)
        yield book, FileProbe(book)
        book.close()
    else:
        book = LiveBook(xwd.Book("顧客", "注文", "対応履歴", "設定"))
        yield book, LiveProbe(book)


def test_capabilities_are_named_and_each_one_works(engine):
    book, probe = engine
    caps = book.capabilities()
    assert caps <= CAPABILITIES and {"number_formats", "widths", "fonts", "fills", "validations",
                                     "conditional_formats", "bar_charts", "page_setup", "pictures"} <= caps
    if "line_charts" not in caps:
        book.write_range("R", "A1", [["月", "売上"], ["1月", 1], ["2月", 2]])
        assert book.add_line_chart("R", "D1", title="t", values="B1:B3", categories="A2:A3",
                                   series_in_first_row=True) is False
        probe.done()
        assert probe.charts("R") == []


def test_blocks_formats_fonts_and_widths(engine):
    book, probe = engine
    book.write_range("R", "A1", [["題"], ["注記"], [None], ["段階", "人数", "率"], ["見込み", 100, 1.0],
                                 ["初回", 40, 0.4]])
    book.format_sheet("R", number_formats={"C5:C6": "0.0%", "B5": "#,##0"}, bold=["A4"], notes=["A2"],
                      centre=["B4:C4"], widths={"A": 22, "B": 9})
    book.set_widths("R", {"A": 10, "C": 14}, at_least=True)       # A stays 22: staff's wider column is kept
    assert book.read_range("R", "A5", 2, 3) == [["見込み", 100, 1.0], ["初回", 40, 0.4]]
    probe.done()
    assert probe.value("R", "B5") == 100 and probe.value("R", "A3") is None
    assert [probe.number_format("R", c) for c in ("C5", "C6", "B5")] == ["0.0%", "0.0%", "#,##0"]
    assert probe.font("R", "A1")[:2] == (True, 16) and probe.font("R", "A4")[0]
    assert probe.font("R", "A2") == (False, 9, "595959") and not probe.font("R", "A5")[0]
    assert probe.centred("R", "C4") and not probe.centred("R", "C5")
    assert (probe.width("R", "A"), probe.width("R", "B"), probe.width("R", "C")) == (22, 9, 14)
    assert probe.page("R")["landscape"] and probe.page("R")["one_page_wide"]


def test_fill_with_a_thin_border(engine):
    book, probe = engine
    book.write_range("カルテ", "D2", [["種別", None]])
    book.fill("カルテ", "E2:E4", "FFF2CC", border="BFBFBF")
    probe.done()
    assert probe.fill("カルテ", "E3") == ("FFF2CC", "BFBFBF") and probe.fill("カルテ", "D3")[0] is None


def test_drop_down_is_replaced_not_piled_up(engine):
    book, probe = engine
    book.write_range("L", "A1", [["状態"], ["未着手"], ["完了"]])
    book.add_list_validation("L", "A2:A3", ["未着手", "対応中", "完了", "不要"])
    book.add_list_validation("L", "A2:A5", ["未着手", "対応中", "完了", "不要"])     # the list grew
    probe.done()
    assert probe.validations("L") == [("A2:A5", ["未着手", "対応中", "完了", "不要"])]


def test_formula_highlight_is_replaced_by_formula_and_by_match(engine):
    book, probe = engine
    book.write_range("L", "A1", [["状態", "期限"], ["未着手", None]])
    old = 'AND($A2="未着手",$B2<TODAY())'
    book.add_formula_highlight("L", "A2:B2", old, "FCE4E4", match=('"未着手"', "TODAY()"))
    book.add_formula_highlight("L", "A2:B3", old, "FCE4E4", match=('"未着手"', "TODAY()"))   # same rule: replaced
    moved = 'AND($B2="未着手",$C2<TODAY())'                                                  # its columns moved
    book.add_formula_highlight("L", "A2:C3", moved, "FCE4E4", match=('"未着手"', "TODAY()"))
    book.add_formula_highlight("L", "A2:C3", "$A2=1", "DDEBF7")                            # someone else's rule
    probe.done()
    assert probe.highlights("L") == [("A2:C3", "$A2=1", "DDEBF7"), ("A2:C3", moved, "FCE4E4")]


def test_color_scale(engine):
    book, probe = engine
    book.write_range("C", "A1", [[0.1, 0.5], [0.9, None]])
    book.add_color_scale("C", "A1:B2")
    probe.done()
    assert probe.color_scales("C") == ["A1:B2"]


def test_bar_chart_reads_its_block_top_down(engine):
    book, probe = engine
    book.write_range("F", "A6", [["見込み", 100], ["初回購入", 40], ["F2", 12]])
    assert book.add_bar_chart("F", "E4", title="ファネル", values="B6:B8", categories="A6:A8", series_name="人数")
    assert book.add_bar_chart("F", "E20", title="縦", values="B6:B8", categories="A6:A8", horizontal=False,
                              number_format="0%")
    probe.done()
    funnel, col = probe.charts("F")
    assert funnel == {"kind": "bar", "title": "ファネル", "anchor": "E4", "values": ["B6:B8"],
                      "categories": "A6:A8", "top_down": True, "number_format": "#,##0"}
    assert col["anchor"] == "E20" and not col["top_down"] and col["number_format"] == "0%"


def test_line_chart_with_series_names_in_the_first_row(engine):
    book, probe = engine
    book.write_range("S", "A1", [["月", "売上", "傾向"], ["1月", 10, 11], ["2月", 12, 12], ["3月", 15, 13]])
    drawn = book.add_line_chart("S", "E2", title="売上", values="B1:C4", categories="A2:A4", series_in_first_row=True,
                                colors=("2E75B6", "A5A5A5"), dashes=(None, "dash"), legend="bottom", y_min=None)
    probe.done()
    assert drawn == ("line_charts" in book.capabilities())
    if drawn:
        (ch,) = probe.charts("S")
        assert (ch["kind"], ch["title"], ch["values"], ch["categories"]) == ("line", "売上", ["B2:B4", "C2:C4"],
                                                                            "A2:A4")


def test_picture_at_its_anchor(engine):
    book, probe = engine
    book.write_range("P", "A1", [["x"]])
    assert book.add_picture("P", "D3", _png(), name="revenue", width_cm=17, height_cm=8.5)
    probe.done()
    assert probe.pictures("P") == ["D3"]


def test_page_setup(engine):
    book, probe = engine
    book.write_range("L", "A1", [["ID", "状態"], ["F1", "未着手"]])
    book.page_setup("L", landscape=True, fit_width=True, paper="A4", title_rows=(1, 1))
    probe.done()
    assert probe.page("L") == {"landscape": True, "one_page_wide": True, "a4": True, "title_rows": "1:1"}


def test_reset_sheet_blanks_values_charts_and_pictures_and_keeps_its_place(engine):
    book, probe = engine
    book.write_range("R", "A1", [["old"], [1], [2]])
    book.add_bar_chart("R", "D2", title="t", values="A2:A3", categories="A2:A3")
    book.add_picture("R", "D20", _png(), name="x", width_cm=5, height_cm=3)
    book.write_range("後", "A1", [["z"]])
    book.reset_sheet("R")
    book.write_range("R", "B2", [["new"]])
    probe.done()
    assert probe.sheets()[-2:] == ["R", "後"]
    assert probe.value("R", "A1") is None and probe.value("R", "B2") == "new"
    assert probe.charts("R") == [] and probe.pictures("R") == []


def _report(pictures_called: list) -> Report:
    def pictures():
        pictures_called.append(True)
        return [Picture("revenue", "E1", _png(), 17.0, 8.5), Picture("funnel", "E20", _png(), 15.0, 7.5)]
    return Report(
        [("A1", [["ダッシュボード"]]), ("A3", [["月", "売上"], ["1月", 10], ["2月", 12]]),
         ("A8", [["見込み", 100], ["初回購入", 40]])],
        number_formats={"B4:B5": "#,##0"}, bold=["A3"], notes=[], widths={"A": 20},
        charts=[Chart("line", "E1", "売上", values="B3:B5", categories="A4:A5", series_in_first_row=True, y_min=None),
                Chart("bar", "E20", "ファネル", values="B8:B9", categories="A8:A9")],
        color_scales=["B4:B5"], pictures=pictures)


def test_write_report_draws_native_charts_or_places_the_pictures(engine):
    book, probe = engine
    called = []
    n = book.write_report("ダッシュボード", _report(called))
    probe.done()
    assert probe.value("ダッシュボード", "A1") == "ダッシュボード" and probe.value("ダッシュボード", "B5") == 12
    assert probe.number_format("ダッシュボード", "B4") == "#,##0" and probe.width("ダッシュボード", "A") == 20
    if "line_charts" in book.capabilities():
        assert n == 2 and not called and probe.pictures("ダッシュボード") == []
        assert [c["title"] for c in probe.charts("ダッシュボード")] == ["売上", "ファネル"]
        assert probe.color_scales("ダッシュボード") == ["B4:B5"]
    else:   # pictures instead of every chart, not a mix
        assert n == 2 and called and probe.pictures("ダッシュボード") == ["E1", "E20"]
        assert probe.charts("ダッシュボード") == [] and probe.color_scales("ダッシュボード") == []


def test_a_second_write_report_leaves_one_set_of_charts(engine):
    book, probe = engine
    book.write_report("ダッシュボード", _report([]))
    book.write_report("ダッシュボード", _report([]))
    probe.done()
    assert len(probe.charts("ダッシュボード")) + len(probe.pictures("ダッシュボード")) == 2


def test_tables_written_and_read_back(engine):
    import pandas as pd
    book, probe = engine
    df = pd.DataFrame({"フォローID": ["F1", "F2"], "状態": ["未着手", "=1+1"], "電話番号": ["0312345678", "0120111222"]})
    loc = book.write_table("フォローリスト", df, key="フォローID")
    back = book.read_raw("フォローリスト")
    assert loc.rows == 2 and list(back["状態"]) == ["未着手", "=1+1"]     # customer text never becomes a formula
    assert list(back["電話番号"]) == ["0312345678", "0120111222"]


def test_a_job_layout_change_reorders_and_retires_columns_and_undo_restores_the_old_order(engine):
    import pandas as pd
    book, probe = engine
    old = pd.DataFrame({"顧客ID": ["C1", "C2"], "理由": ["a", "b"], "Reason": ["x", "y"], "判定": ["統合", None]})
    book.write_table("候補", old)
    book.write_cells("候補", {(2, 5): "staff"})           # a column staff typed beside it is not ours to drop
    book.write_table("候補", pd.DataFrame({"顧客ID": ["C1", "C2"], "判定": ["統合", None], "理由": ["a", "b"]}),
                     reorder=True, retire=("Reason",))
    assert list(book.read_raw("候補").columns) == ["顧客ID", "判定", "理由"]
    book.write_table("候補", pd.DataFrame({"顧客ID": ["C1"], "理由": ["a"]}))   # without reorder: staff's order kept
    assert list(book.read_raw("候補").columns) == ["顧客ID", "判定", "理由"]


def test_write_cells_sets_only_those_cells_and_undo_puts_back_what_they_held(engine):
    import datetime as dt

    import pandas as pd
    book, probe = engine
    book.write_table("注文表", pd.DataFrame({"注文ID": ["O1", "O2", "O3", "O4", "O5"],
                                             "注文日": ["令和7年7月30日", "2023/12/6", "２０２４／１／５", "不明", None],
                                             "金額": ["¥1,000", 500, "１，２００円", None, "-500"]}))
    book.journal("import", "取り込み", "import")
    book.save()                                            # typed yesterday; tidied today, as a change of its own
    new = {(2, 2): dt.datetime(2025, 7, 30), (3, 2): dt.datetime(2023, 12, 6), (4, 2): dt.datetime(2024, 1, 5),
           (2, 3): 1000, (4, 3): 1200, (6, 3): -500}
    fmts = {**{k: "yyyy/mm/dd" for k in new if k[1] == 2}, **{k: "#,##0" for k in new if k[1] == 3}}
    assert book.write_cells("注文表", new, number_formats=fmts) == 6
    book.journal("tidy", "整形", "tidy")
    book.save()
    probe.done()
    assert [probe.value("注文表", c) for c in ("B2", "B3", "B4", "B5", "C2", "C3", "C4")] == [
        dt.datetime(2025, 7, 30), dt.datetime(2023, 12, 6), dt.datetime(2024, 1, 5), "不明", 1000, 500, 1200]
    assert [probe.number_format("注文表", c) for c in ("B2", "B3", "B4", "C2", "C4")] == \
        ["yyyy/mm/dd"] * 3 + ["#,##0"] * 2
    assert book.undo_last() is not None
    book.save()
    back = book.read_raw("注文表")
    assert back["注文日"].tolist() == ["令和7年7月30日", "2023/12/6", "２０２４／１／５", "不明", None]
    assert back["金額"].tolist() == ["¥1,000", 500, "１，２００円", None, "-500"]     # text again, not a formula


def test_dress_table_formats_the_data_cells_by_header(engine):
    import pandas as pd
    book, probe = engine
    book.write_table("候補", pd.DataFrame({"顧客ID": ["C1", "C2"], "一致確率": [1.0, 0.25], "判定": [None, "別人"],
                                           "金額": [26380, 1480]}))
    loc = book.dress_table("候補", number_formats={"一致確率": "0.0%", "金額": '"¥"#,##0', "無い列": "0"},
                           widths={"判定": 8, "一致確率": 9}, lists={"判定": ["統合", "別人", "保留"]},
                           exact_widths=True)
    assert (loc.sheet, loc.header_row, loc.rows) == ("候補", 1, 2)
    probe.done()
    assert [probe.number_format("候補", c) for c in ("B2", "B3", "D3", "B1")] == ["0.0%", "0.0%", '"¥"#,##0',
                                                                                  "General"]
    assert (probe.width("候補", "B"), probe.width("候補", "C")) == (9, 8)
    assert probe.validations("候補") == [("C2:C3", ["統合", "別人", "保留"])]
    assert probe.page("候補") == {"landscape": True, "one_page_wide": True, "a4": True, "title_rows": "1:1"}


@pytest.mark.parametrize("kind", ["file", "live"])
def test_xlcrms_own_sheets_are_very_hidden(kind, book_path, request):
    import pandas as pd
    if kind == "file":
        book = open_book(book_path)
        probe = FileProbe(book)
    else:
        book = LiveBook(xwd.Book("顧客"))
        probe = LiveProbe(book)
    book.write_table("_状態", pd.DataFrame({"k": ["a"], "v": ["b"]}), hidden=True)
    probe.done()
    assert probe.sheet_state("_状態") == "veryHidden"


# --- the double itself ------------------------------------------------------------------------------------------

def test_the_double_refuses_what_xlwings_refuses():
    book = xwd.Book("S")
    sh = book.sheets["S"]
    with pytest.raises(TypeError):
        sh.charts.add(left=0, top=0, colour="red")              # no such keyword in xlwings' Charts.add
    with pytest.raises(TypeError):
        sh.range("A1").conditional_formats.add_custom("=A1>0", "#FFFFFF")   # fill_color is keyword-only
    with pytest.raises(AttributeError):
        sh.range("A1").colour = "#FFFFFF"                        # xlwings' Range has no 'colour'
    with pytest.raises(AttributeError):
        sh.api.PageSetup.Landscape = True                        # Excel's PageSetup has Orientation, not that


def test_every_member_of_the_double_exists_in_xlwings():
    import inspect
    import xlwings.main as xw
    doubles = [v for v in vars(xwd).values() if inspect.isclass(v) and issubclass(v, xwd._Double)
               and v is not xwd._Double]
    assert len(doubles) >= 20
    for cls in doubles:
        for name, attr in vars(cls).items():
            if name.startswith("_") or name == "XW":
                continue
            assert hasattr(cls.XW, name), (cls.__name__, name)
            if callable(attr) and not isinstance(attr, property):
                real = inspect.signature(getattr(cls.XW, name))
                mine = inspect.signature(inspect.unwrap(attr))
                assert list(mine.parameters) == list(real.parameters), (cls.__name__, name)
    assert all(cls.XW.__module__ == xw.__name__ for cls in doubles)


def test_live_engine_never_touches_com_except_page_setup():
    """xlwings' own API covers everything else: a COM call (Windows only) would go untested here. Besides page
    setup and page breaks and the user's name, only a very hidden sheet (xlwings knows shown and hidden only)."""
    import inspect as ins

    import xlcrm.book.live as live
    src = ins.getsource(live)
    assert sorted(set(re.findall(r"\.api\b[.\[]?\w*", src))) == [".api.HPageBreaks", ".api.PageSetup",
                                                                ".api.ResetAllPageBreaks", ".api.Rows",
                                                                ".api.UserName", ".api.Visible"]


def test_rows_appended_below_a_table_grow_it_look_like_the_rows_above_and_undo_away(engine):
    import datetime as dt
    import pandas as pd
    book, probe = engine
    book.write_table("履歴表", pd.DataFrame({"対応ID": ["R1", "R2"], "日時": [dt.datetime(2025, 1, 5, 10, 0)] * 2,
                                            "内容": ["電話", "メール"]}))
    book.set_number_formats("履歴表", {"B2:B3": "yyyy/mm/dd hh:mm"})
    book.save()
    book.append_rows("履歴表", pd.DataFrame({"内容": ["来店"], "対応ID": ["R3"],
                                             "日時": [dt.datetime(2025, 2, 1, 9, 30)]}))
    book.journal("contact", "対応を記録", "contact")
    book.save()
    probe.done()
    assert [probe.value("履歴表", c) for c in ("A4", "B4", "C4")] == ["R3", dt.datetime(2025, 2, 1, 9, 30), "来店"]
    assert probe.number_format("履歴表", "B4") == "yyyy/mm/dd hh:mm"        # the look of the rows above
    assert book.locate("履歴表").rows == 3                                 # the table grew over the new row
    assert book.undo_last() is not None
    book.save()
    assert book.read_raw("履歴表")["対応ID"].tolist() == ["R1", "R2"]
