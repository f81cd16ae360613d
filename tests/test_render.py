"""The demo book as office staff see it (#13 item 7): built with every job run, rendered once through LibreOffice
headless to PDF, then read the way staff read it — the printed pages' text — and the way Excel reads it — the
workbook's own parts (sheet XML, styles, defined names), not a library's view of them.

Fails on: ### in a printed cell; an English word printed that is neither the customers' own data nor a name in
ALLOWED; a decision column (判定, 状態, 有効, 担当者) without a drop-down on its rows; a number in an amount, count
or date column (or a report's figure) shown without a number format; a sheet staff see without page setup."""
from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.libreoffice,
              pytest.mark.skipif(shutil.which("soffice") is None or shutil.which("pdftotext") is None,
                                 reason="LibreOffice (soffice) and pdftotext are not installed")]

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
      "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships"}
R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
# names and abbreviations a Japanese office writes as they are
ALLOWED = {"ID", "RFM", "F2", "EC", "LINE", "SNS", "DM", "NPS", "URL", "CRM", "BG/NBD", "xlcrm"}
DECISIONS = ("判定", "状態", "有効", "担当者")
AMOUNT = re.compile(r"金額|売上|単価|合計額|購入額|平均額|LTV")
COUNT = re.compile(r"回数|人数|件数|日数|数量")
DATE = re.compile(r"日$|日時$|期限$|日付$")
BUILTIN_FORMATTED = set(range(1, 50)) - {49}     # Excel's built-in numFmtIds other than General (0) and text (49)


# --- the one render ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rendered(demo_book, tmp_path_factory):
    """(the demo book, its PDF's pages as text) — one LibreOffice run for every test here."""
    tmp = tmp_path_factory.mktemp("render")
    home = tmp / "home"
    home.mkdir()
    subprocess.run(["soffice", "--headless", "--norestore", f"-env:UserInstallation=file://{home}",
                    "--convert-to", "pdf", "--outdir", str(tmp), str(demo_book)],
                   check=True, capture_output=True, timeout=300, env={"HOME": str(home), "PATH": "/usr/bin:/bin"})
    pdf = tmp / (demo_book.stem + ".pdf")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    return demo_book, pdf, text.split("\f")


class Parts:
    """The workbook's parts as Excel reads them: sheets by name (XML), cell styles' number formats, defined names."""

    def __init__(self, path: Path):
        with zipfile.ZipFile(path) as z:
            self.raw = {n: z.read(n) for n in z.namelist() if n.endswith(".xml") or n.endswith(".rels")}
        wb = ET.fromstring(self.raw["xl/workbook.xml"])
        rels = {r.get("Id"): r.get("Target") for r in ET.fromstring(self.raw["xl/_rels/workbook.xml.rels"])}
        self.sheets, self.state, self.part, order = {}, {}, {}, []
        for s in wb.find("m:sheets", NS):
            target = rels[s.get(R_ID)].lstrip("/")
            target = target if target.startswith("xl/") else "xl/" + target
            self.sheets[s.get("name")] = ET.fromstring(self.raw[target])
            self.part[s.get("name")] = target
            self.state[s.get("name")] = s.get("state", "visible")
            order.append(s.get("name"))
        self.names = {}
        for d in wb.iter(f"{{{NS['m']}}}definedName"):
            sid = d.get("localSheetId")
            self.names[(order[int(sid)] if sid is not None else None, d.get("name"))] = d.text
        styles = ET.fromstring(self.raw["xl/styles.xml"])
        custom = {int(f.get("numFmtId")): f.get("formatCode") for f in styles.iter(f"{{{NS['m']}}}numFmt")}
        xfs = styles.find("m:cellXfs", NS)
        self.xf_format = []
        for xf in xfs:
            i = int(xf.get("numFmtId", "0"))
            self.xf_format.append(custom.get(i, i))
        ss = self.raw.get("xl/sharedStrings.xml")
        self.shared = ["".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t"))
                       for si in ET.fromstring(ss)] if ss else []

    def visible(self) -> list[str]:
        return [n for n, s in self.state.items() if s == "visible"]

    def cells(self, sheet: str):
        """(ref, kind, value, number format) of every cell with a value: kind 'n' (number), 's' (text), 'b', 'f'."""
        for c in self.sheets[sheet].iter(f"{{{NS['m']}}}c"):
            t, v, f = c.get("t", "n"), c.find("m:v", NS), c.find("m:f", NS)
            fmt = self.xf_format[int(c.get("s", "0"))]
            if t == "s" and v is not None:
                yield c.get("r"), "s", self.shared[int(v.text)], fmt
            elif t == "inlineStr":
                yield c.get("r"), "s", "".join(x.text or "" for x in c.iter(f"{{{NS['m']}}}t")), fmt
            elif t in ("str", "e") or f is not None:
                yield c.get("r"), "f", None if v is None else v.text, fmt
            elif v is not None:
                yield c.get("r"), t, v.text, fmt

    def grid(self, sheet: str) -> dict:
        return {_ref(r): (k, v, f) for r, k, v, f in self.cells(sheet)}

    def validations(self, sheet: str) -> list[tuple[str, list[str]]]:
        """(sqref, the list's options) of each list drop-down on the sheet."""
        out = []
        for dv in self.sheets[sheet].iter(f"{{{NS['m']}}}dataValidation"):
            if dv.get("type") == "list":
                f1 = dv.find("m:formula1", NS)
                out.append((dv.get("sqref"), (f1.text or "").strip('"').split(",")))
        return out

    def tables(self, sheet: str) -> list[tuple[int, int, int, int]]:
        """(first row, first col, last row, last col) of the sheet's Excel Tables."""
        root = self.sheets[sheet]
        parts = root.find("m:tableParts", NS)
        if parts is None:
            return []
        part = self.part[sheet]
        folder, _, file = part.rpartition("/")
        rels = {r.get("Id"): r.get("Target") for r in ET.fromstring(self.raw[f"{folder}/_rels/{file}.rels"])}
        out = []
        for p in parts:
            target = rels.get(p.get(R_ID), "")
            t = ET.fromstring(self.raw["xl/tables/" + target.rsplit("/", 1)[-1]])
            a, b = t.get("ref").split(":")
            (r0, c0), (r1, c1) = _ref(a), _ref(b)
            out.append((r0, c0, r1, c1))
        return out


def _ref(ref: str) -> tuple[int, int]:
    m = re.match(r"\$?([A-Z]+)\$?(\d+)", ref)
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)), col


def _covers(sqref: str, row: int, col: int) -> bool:
    for rng in sqref.split():
        a, _, b = rng.partition(":")
        (r0, c0), (r1, c1) = _ref(a), _ref(b or a)
        if r0 <= row <= r1 and c0 <= col <= c1:
            return True
    return False


@pytest.fixture(scope="module")
def parts(rendered):
    return Parts(rendered[0])


def _header_rows(parts: Parts, sheet: str):
    """(header row, {col: header}, last row) of each table on the sheet: its Excel Tables."""
    grid = parts.grid(sheet)
    for r0, c0, r1, c1 in parts.tables(sheet):
        yield r0, {c: grid[(r0, c)][1] for c in range(c0, c1 + 1) if (r0, c) in grid}, r1


# --- what the printed pages say -----------------------------------------------------------------------------------

def test_no_cell_prints_as_hashes(rendered):
    _, _, pages = rendered
    bad = [(i + 1, line.strip()[:120]) for i, page in enumerate(pages) for line in page.splitlines() if "###" in line]
    assert not bad, f"{len(bad)} printed lines show ### (a column too narrow for its number or date): {bad[:5]}"


def test_no_text_prints_in_a_serif_font(rendered):
    """A style without a font name renders serif (明朝 / Times) in LibreOffice: every font printed is a gothic."""
    if shutil.which("pdffonts") is None:
        pytest.skip("pdffonts is not installed")
    _, pdf, _ = rendered
    out = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    fonts = {line.split()[0].split("+")[-1] for line in out.splitlines()[2:] if line.strip()}
    serif = {f for f in fonts if re.search(r"Serif|Times|Mincho|Ming|Georgia|Cambria|Century", f, re.I)}
    assert fonts and not serif, serif


def _staff_words(parts: Parts) -> set[str]:
    """English words in what staff typed (the demo's customers, orders, contacts: e-mail addresses, products,
    a TRUE typed in 定期): their data, printed as typed."""
    words = set()
    for sheet in ("顧客", "注文", "対応履歴"):
        for _, kind, v, _ in parts.cells(sheet):
            if kind == "s":
                words |= set(re.findall(r"[A-Za-z][A-Za-z_/\-]{2,}", v))
            elif kind == "b":
                words |= {"TRUE", "FALSE"}
    # the header rows are xlcrm's, not staff's data: their words are checked like every other printed word
    heads = {h for s in ("顧客", "注文", "対応履歴") for _, hs, _ in _header_rows(parts, s) for h in hs.values()}
    return words - {w for h in heads for w in re.findall(r"[A-Za-z][A-Za-z_/\-]{2,}", str(h))}


def test_no_english_word_prints_in_japanese_mode_but_names_and_staffs_own_data(rendered, parts):
    _, _, pages = rendered
    data = _staff_words(parts)
    found = {}
    for i, page in enumerate(pages):
        for line in page.splitlines():
            line = re.sub(r"\S+@\S+|https?://\S+", "", line)               # addresses are the customers' own
            for w in re.findall(r"[A-Za-z][A-Za-z_/\-]{2,}", line):
                if w not in ALLOWED and w not in data and not w.startswith("xlcrm"):
                    found.setdefault(w, (i + 1, line.strip()[:100]))
    found.pop("search", None)      # 設定 names the command `xlcrm search` once
    assert not found, f"English printed in a Japanese book (word: (page, line)): {found}"


def test_every_header_xlcrm_writes_is_printed_whole(rendered, parts):
    """A header staff cannot read (cut off, or a column too narrow) is no header: every header of every table on
    a sheet staff see is printed, each in full on its page."""
    _, _, pages = rendered
    text = "\n".join(pages)
    missing = {}
    for sheet in parts.visible():
        area = parts.names.get((sheet, "_xlnm.Print_Area"))     # the columns printed, when the sheet names them
        for r0, heads, _ in _header_rows(parts, sheet):
            for c, h in heads.items():
                if area and not _covers(area.split("!")[-1].replace("$", ""), r0, c):
                    continue
                if isinstance(h, str) and h and h not in text:
                    missing.setdefault(sheet, []).append(h)
    assert not missing, missing


# --- what the book's parts say ------------------------------------------------------------------------------------

def test_every_decision_column_has_a_drop_down_on_every_row(parts):
    checked, bad = [], []
    for sheet in parts.visible():
        vals = parts.validations(sheet)
        for r0, heads, r1 in _header_rows(parts, sheet):
            for c, h in heads.items():
                if h not in DECISIONS or sheet == "顧客一覧(印刷用)":   # a copy to print, decided on 顧客
                    continue
                checked.append(f"{sheet}!{h}")
                rows = [r for r in (r0 + 1, (r0 + 1 + r1) // 2, r1) if r > r0]
                if not all(any(_covers(sq, r, c) for sq, opts in vals if opts and opts != [""]) for r in rows):
                    bad.append(f"{sheet}!{h}")
    assert {"重複候補!判定", "フォローリスト!状態", "フォローリスト!担当者", "ルール!有効", "ステップ!有効",
            "対応履歴!担当者", "対応履歴!状態"} <= set(checked), checked
    assert not bad, f"decision columns without a drop-down: {bad}"


def _formatted(fmt) -> bool:
    return fmt not in (0, "General") and (not isinstance(fmt, int) or fmt in BUILTIN_FORMATTED)


def test_every_amount_count_and_date_cell_carries_a_number_format(parts):
    """A number in an amount, count or date column (by its header) shows formatted: ¥1,480, 1,000, 2025/08/01 —
    never 1480 or 45870. Text staff typed (a 和暦 date) is theirs: データ整形 turns it into a date."""
    bad, seen = {}, set()
    for sheet in parts.visible():
        grid = parts.grid(sheet)
        for r0, heads, r1 in _header_rows(parts, sheet):
            for c, h in heads.items():
                h = str(h)
                if not (AMOUNT.search(h) or COUNT.search(h) or DATE.search(h)) or h.endswith("ID"):
                    continue
                for r in range(r0 + 1, r1 + 1):
                    kind, v, fmt = grid.get((r, c), (None, None, None))
                    if kind == "n":
                        seen.add(f"{sheet}!{h}")
                        if not _formatted(fmt) and not (COUNT.search(h) and abs(float(v)) < 1000):
                            bad.setdefault(f"{sheet}!{h}", []).append((r, v))
    assert {"注文!金額", "顧客!購入金額", "顧客!最終注文日", "フォローリスト!期限", "変更履歴!日時"} <= seen, seen
    assert not bad, {k: v[:3] for k, v in bad.items()}


def test_report_figures_of_a_thousand_or_more_show_separators(parts):
    """On the report sheets (no tables), every number of 1,000 or more is formatted: 1,000 and ¥26,380, not 1000."""
    bad = {}
    for sheet in parts.visible():
        if parts.tables(sheet):
            continue
        for ref, kind, v, fmt in parts.cells(sheet):
            if kind == "n" and abs(float(v)) >= 1000 and not _formatted(fmt):
                bad.setdefault(sheet, []).append((ref, v))
    assert not bad, {k: v[:5] for k, v in bad.items()}


def test_every_sheet_staff_see_prints_landscape_one_page_wide_with_its_headers(parts):
    bad = {}
    for sheet in parts.visible():
        root = parts.sheets[sheet]
        ps = root.find("m:pageSetup", NS)
        pr = root.find("m:sheetPr/m:pageSetUpPr", NS)
        why = []
        if ps is None or ps.get("orientation") != "landscape":
            why.append("not landscape")
        if pr is None or pr.get("fitToPage") not in ("1", "true") or (ps is not None and
                                                                     ps.get("fitToWidth", "1") != "1"):
            why.append("not one page wide")
        for r0, _, _ in _header_rows(parts, sheet):
            if not (parts.names.get((sheet, "_xlnm.Print_Titles")) or "").endswith(f"${r0}:${r0}"):
                why.append("header row not repeated")
        if why:
            bad[sheet] = why
    assert not bad, bad


def test_the_follow_up_list_prints_the_columns_staff_work_with(rendered):
    _, _, pages = rendered
    mine = [p for p in pages if p.strip() and "推奨アクション" in p.strip().splitlines()[0]
            and "顧客ID" in p.strip().splitlines()[0]]
    assert mine, "no page of フォローリスト"
    for p in mine:
        head = p.strip().splitlines()[0]
        assert "結果メモ" in head and "フォローID" not in head and "作成日時" not in head, head


def test_the_customer_print_list_prints_its_columns_legibly_with_the_header_on_every_page(rendered, parts):
    """顧客's 42 columns squeezed onto one page width are unreadable; 顧客一覧(印刷用) carries the chosen ones:
    every page of it starts with the whole header row, and the page is not shrunk below legibility."""
    from xlcrm.settings import PRINT_COLUMNS
    _, pdf, pages = rendered
    sheet = "顧客一覧(印刷用)"
    (r0, heads, r1), = _header_rows(parts, sheet)
    assert list(heads.values()) == PRINT_COLUMNS            # the demo's 顧客 has every default column
    first = next(i for i, p in enumerate(pages) if p.lstrip().startswith("顧客一覧(印刷用)"))
    ids = [v for (r, c), (k, v, f) in parts.grid(sheet).items() if c == 1 and r > r0]

    def continues(page: str) -> bool:    # a page of the list: its first line is the header row
        lines = [x for x in page.splitlines() if x.strip()]
        return bool(lines) and "顧客ID" in lines[0] and "フリガナ" in lines[0]
    mine = [first]
    while mine[-1] + 1 < len(pages) and continues(pages[mine[-1] + 1]):
        mine.append(mine[-1] + 1)
    printed = set()
    for i in mine:
        lines = [x for x in pages[i].splitlines() if x.strip()]
        head = next(x for x in lines if "顧客ID" in x)
        assert all(h in head for h in PRINT_COLUMNS[:7]), (i + 1, head)      # the header row, repeated
        printed |= set(re.findall(r"\bC\d{5}\b", pages[i]))
    assert printed == set(ids)                                   # every customer, on pages of their own sheet
    assert len(mine) <= len(ids) // 20 + 1                       # about 40 rows a page, not 300 squeezed onto one
    ws = parts.sheets[sheet]
    assert ws.find("m:pageSetup", NS).get("orientation") == "landscape"
    assert parts.names[(sheet, "_xlnm.Print_Titles")].endswith(f"${r0}:${r0}")
