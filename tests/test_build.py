"""The workbook built from sources: VBA that reads back exactly, correct package parts, the sheet template,
determinism, and the committed workbook/CRM.xlsm being current. No Excel needed."""
from __future__ import annotations

import io
import random
import re
import struct
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import olefile
import openpyxl
import pytest
from oletools.olevba import VBA_Parser, decompress_stream

import xlwings
from xlcrm import schema, settings
from xlcrm.build import (CUSTOMUI_PART, CUSTOMUI_REL, XLWINGS_VERSION, build_workbook, is_current, ovba,
                         udf_wrapper_source, vba_modules, workbook_bytes, xlwings_version_in_vba)

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "workbook" / "CRM.xlsm"
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
      "r": "http://schemas.openxmlformats.org/package/2006/relationships",
      "ct": "http://schemas.openxmlformats.org/package/2006/content-types"}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return build_workbook(tmp_path_factory.mktemp("build") / "CRM.xlsm")


@pytest.fixture(scope="module")
def parts(built) -> dict[str, bytes]:
    with zipfile.ZipFile(built) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


# --- MS-OVBA compression: what ms-ovba 0.0.1 got wrong ------------------------------------------------------------

@pytest.mark.parametrize("data", [
    b"", b"a", b"abc" * 5, b"#aaabcdefaaaaghijaaaaaklaaamnopqaaaaaaaaaaaarstuvwxyzaaa",  # MS-OVBA 3.2 example
    bytes(range(256)) * 40,                       # long matches at every distance across chunk borders
    b"x" * 4096, b"x" * 4097, b"y" * 12000,       # chunk borders, maximum-length copy tokens
])
def test_compression_round_trips_through_oletools(data):
    assert bytes(decompress_stream(bytearray(ovba.compress(data)))) == data
    assert ovba.decompress(ovba.compress(data)) == data


def test_compression_of_random_text_round_trips():
    rng = random.Random(7)
    words = ["Dim ", "As String", "End Sub\r\n", "RunPython ", "xlwings", " = ", "'", "If ", "Then\r\n"]
    for n in (100, 700, 4095, 4096, 4097, 9000, 50000):
        data = "".join(rng.choice(words) for _ in range(n))[:n].encode()
        assert bytes(decompress_stream(bytearray(ovba.compress(data)))) == data


def test_incompressible_full_chunk_becomes_a_raw_chunk():
    data = random.Random(1).randbytes(4096 * 2)
    packed = ovba.compress(data)
    assert struct.unpack_from("<H", packed, 1)[0] & 0x8000 == 0  # raw chunk flag
    assert bytes(decompress_stream(bytearray(packed))) == data


def test_a_module_over_600_bytes_survives(tmp_path):
    # the ms_ovba_compression 1.0.1 bug: copy tokens past distance 16 decoded to garbage
    src = "Attribute VB_Name = \"Big\"\r\n" + "".join(f"Sub S{i}()\r\n    x = {i}\r\nEnd Sub\r\n" for i in range(200))
    bin_ = ovba.vba_project([ovba.Module("Big", src)])
    (tmp_path / "v.bin").write_bytes(bin_)
    got = {name: code for _, _, name, code in VBA_Parser(str(tmp_path / "v.bin")).extract_macros()}
    assert got == {"Big.bas": src}


# --- the VBA project of the built workbook ------------------------------------------------------------------------

def test_oletools_reads_back_every_module_exactly(built):
    expected = {m.name: m.source for m in vba_modules(6)}
    got = {}
    for _, stream, name, code in VBA_Parser(str(built)).extract_macros():
        got[stream.split("/")[-1]] = code
    assert got == expected
    assert set(expected) >= {"ThisWorkbook", "XlcrmRibbon", "xlwings", "xlwings_udfs", "Dictionary"}


def test_our_reader_agrees_and_reads_excel_saved_projects(parts):
    assert ovba.read_modules(parts["xl/vbaProject.bin"]) == {m.name: m.source for m in vba_modules(6)}
    shipped = Path(xlwings.__file__).parent / "quickstart_standalone.xlsm"  # saved by Excel, with p-code
    with zipfile.ZipFile(shipped) as z:
        mods = ovba.read_modules(z.read("xl/vbaProject.bin"))
    assert xlwings_version_in_vba(mods["xlwings"]) == xlwings.__version__


def test_embedded_xlwings_bas_is_the_installed_pinned_one(parts):
    mods = ovba.read_modules(parts["xl/vbaProject.bin"])
    shipped = (Path(xlwings.__file__).parent / "xlwings.bas").read_bytes().decode("cp1252")
    assert mods["xlwings"] == shipped.rstrip("\r\n") + "\r\n"
    assert xlwings_version_in_vba(mods["xlwings"]) == XLWINGS_VERSION == xlwings.__version__
    assert f'"xlwings64-{XLWINGS_VERSION}.dll"' in mods["xlwings"]
    pin = re.search(r'"xlwings==([^"]+)"', (ROOT / "pyproject.toml").read_text()).group(1)
    assert pin == XLWINGS_VERSION


def _decrypt(hexstr: str) -> bytes:
    """MS-OVBA 2.4.3.3 data decryption (the inverse of what the writer does)."""
    data = bytes.fromhex(hexstr)
    seed, version_enc, proj_key_enc = data[:3]
    assert version_enc ^ seed == 2
    unenc1, enc1, enc2 = proj_key_enc ^ seed, proj_key_enc, version_enc
    out = bytearray()
    for e in data[3:]:
        b = e ^ ((enc2 + unenc1) & 0xFF)
        out.append(b)
        enc2, enc1, unenc1 = enc1, e, b
    ignored = (seed & 6) // 2
    length = struct.unpack("<I", out[ignored:ignored + 4])[0]
    body = bytes(out[ignored + 4:])
    assert len(body) == length
    return body


def test_project_stream_lists_modules_and_is_unprotected(parts):
    ole = olefile.OleFileIO(parts["xl/vbaProject.bin"], raise_defects=olefile.DEFECT_INCORRECT)
    assert sorted("/".join(e) for e in ole.listdir()) == sorted(
        ["PROJECT", "PROJECTwm", "VBA/_VBA_PROJECT", "VBA/dir"] + [f"VBA/{m.name}" for m in vba_modules(6)])
    text = ole.openstream("PROJECT").read().decode("cp1252")
    assert "Document=ThisWorkbook/&H00000000" in text
    assert "Module=XlcrmRibbon" in text and "Module=xlwings_udfs" in text and "Class=Dictionary" in text
    props = dict(re.findall(r'^(CMG|DPB|GC)="([0-9A-F]+)"', text, re.M))
    assert _decrypt(props["CMG"]) == b"\x00\x00\x00\x00"  # no protection
    assert _decrypt(props["DPB"]) == b"\x00"                # no password
    assert _decrypt(props["GC"]) == b"\xff"                 # visible
    # source only: Excel compiles on open (MS-OVBA 2.3.4.1: version 0xFFFF, no performance cache)
    assert ole.openstream("VBA/_VBA_PROJECT").read() == b"\xcc\x61\xff\xff\x00\x00\x00"


def test_dir_stream_references_the_office_library_for_IRibbonControl(parts):
    ole = olefile.OleFileIO(parts["xl/vbaProject.bin"])
    d = ovba.decompress(ole.openstream("VBA/dir").read())
    assert b"{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}" in d  # Microsoft Office Object Library
    assert b"{00020430-0000-0000-C000-000000000046}" in d  # OLE Automation (stdole)


def test_sheet_code_names_match_the_document_modules(parts):
    wb = ET.fromstring(parts["xl/workbook.xml"])
    assert wb.find("m:workbookPr", NS).get("codeName") == "ThisWorkbook"
    names = {ET.fromstring(v).find("m:sheetPr", NS).get("codeName")
             for k, v in parts.items() if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", k)}
    docs = {m.name for m in vba_modules(6) if m.kind == "document"} - {"ThisWorkbook"}
    assert names == docs


# --- package parts ------------------------------------------------------------------------------------------------

def test_content_types_and_relationships(parts):
    ct = ET.fromstring(parts["[Content_Types].xml"])
    overrides = {o.get("PartName"): o.get("ContentType") for o in ct.findall("ct:Override", NS)}
    defaults = {d.get("Extension"): d.get("ContentType") for d in ct.findall("ct:Default", NS)}
    assert overrides["/xl/workbook.xml"] == "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
    assert defaults["bin"] == "application/vnd.ms-office.vbaProject"
    assert defaults["xml"] == "application/xml"  # types customUI/customUI.xml
    for part in parts:  # every part has a content type
        if not part.endswith(".rels") and not part.endswith(".bin") and not part.endswith(".xml"):
            assert "/" + part in overrides, part
    root = ET.fromstring(parts["_rels/.rels"]).findall("r:Relationship", NS)
    ui = [r for r in root if r.get("Type") == CUSTOMUI_REL]
    assert len(ui) == 1 and ui[0].get("Target") == CUSTOMUI_PART and CUSTOMUI_PART in parts
    assert len({r.get("Id") for r in root}) == len(root)
    wbrels = ET.fromstring(parts["xl/_rels/workbook.xml.rels"]).findall("r:Relationship", NS)
    assert [r.get("Target") for r in wbrels
            if r.get("Type") == "http://schemas.microsoft.com/office/2006/relationships/vbaProject"] == ["vbaProject.bin"]
    for r in wbrels:
        assert "xl/" + r.get("Target") in parts, r.get("Target")


def test_zip_is_deterministic_and_ordered(parts, built):
    with zipfile.ZipFile(built) as z:
        infos = z.infolist()
    assert infos[0].filename == "[Content_Types].xml"
    assert [i.filename for i in infos[1:]] == sorted(i.filename for i in infos[1:])
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    core = parts["docProps/core.xml"].decode()
    assert "2024-01-01T00:00:00Z" in core


def test_building_twice_gives_identical_bytes(built):
    assert workbook_bytes() == built.read_bytes()


def test_committed_workbook_is_current():
    """workbook/CRM.xlsm must be what the sources build: run `xlcrm build-workbook` after changing a source,
    xlcrm/udfs.py or the schema/settings."""
    from xlcrm.build import workbook_parts
    assert COMMITTED.exists()
    if not is_current(COMMITTED):
        with zipfile.ZipFile(COMMITTED) as z:
            have = {i.filename: z.read(i) for i in z.infolist()}
        want = workbook_parts()
        differ = sorted(k for k in have.keys() | want.keys() if have.get(k) != want.get(k))
        pytest.fail(f"workbook/CRM.xlsm is stale in {differ}: run `python -m xlcrm.cli build-workbook`")


def test_is_current_notices_a_change(tmp_path, built):
    p = tmp_path / "old.xlsm"
    with zipfile.ZipFile(built) as zi, zipfile.ZipFile(p, "w") as zo:
        for i in zi.infolist():
            data = zi.read(i)
            if i.filename == CUSTOMUI_PART:
                data = data.replace(b'label="CRM"', b'label="CRM2"')
            zo.writestr(i, data)
    assert not is_current(p)


# --- the sheets ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def wb(built):
    return openpyxl.load_workbook(built, keep_vba=True)


def test_schema_tables_with_japanese_headers(wb):
    for t in schema.TABLES.values():
        ws = wb[t.ja]
        assert list(ws.tables) == [t.ja]
        ref = ws.tables[t.ja].ref
        headers = [c.value for c in next(ws[ref].__iter__())]
        assert headers == [c.ja for c in t.columns]
        assert ws.freeze_panes is not None and ws.freeze_panes.endswith("2")


def _column_format(ws, i: int) -> str:
    """Number format of column i (1-based); adjacent equal columns are stored as one <col min max>."""
    for d in ws.column_dimensions.values():
        if d.min is not None and d.min <= i <= d.max:
            return d.number_format
    return "General"


def test_text_columns_keep_leading_zeros(wb):
    for t in schema.TABLES.values():
        ws = wb[t.ja]
        for i, c in enumerate(t.columns, start=1):
            fmt = _column_format(ws, i)
            if c.kind in ("id", "phone", "postcode"):
                assert fmt == "@", (t.ja, c.ja)
            if c.kind == "date":
                assert fmt == "yyyy/mm/dd", (t.ja, c.ja)


def test_validation_lists(wb):
    from openpyxl.utils import get_column_letter
    want = {("顧客", "区分"): "顧客,見込み", ("顧客", "DM可否"): "可,不可", ("顧客", "メール可否"): "可,不可",
            ("対応履歴", "状態"): ",".join(schema.CONTACT_STATUS), ("対応履歴", "種別"): ",".join(schema.CONTACT_TYPES),
            ("注文", "定期"): "可,不可"}
    for (sheet, header), values in want.items():
        t = schema.table(sheet)
        col = get_column_letter([c.ja for c in t.columns].index(header) + 1)
        dvs = [dv for dv in wb[sheet].data_validations.dataValidation if str(dv.sqref).startswith(f"{col}2:")]
        assert len(dvs) == 1 and dvs[0].type == "list" and dvs[0].formula1 == f'"{values}"', (sheet, header)


def test_settings_table_holds_the_default_settings(wb):
    ws = wb["設定"]
    rows = [[c.value for c in r] for r in ws[ws.tables["設定"].ref]][1:]
    expected = settings.sheet_rows("ja")
    assert [r[0] for r in rows] == list(expected["key"])
    assert [r[2] for r in rows] == list(expected["explanation"])


def test_settings_with_a_few_values_show_japanese_labels_with_a_drop_down(wb):
    ws = wb["設定"]
    rows = {ws.cell(r, 1).value: (r, ws.cell(r, 2).value) for r in range(2, ws.max_row + 1)}
    shown = {k: v for k, (_, v) in rows.items()}
    assert (shown["統合の主レコード"], shown["RFM方式"], shown["離脱判定の方式"], shown["言語"]) == \
        ("注文数が多い", "五分位", "購入リズム", "日本語")
    assert not any(re.fullmatch(r"[a-z_]{3,}", str(v)) for v in shown.values())      # no most_orders, quintile
    lists = {str(v.sqref): v.formula1.strip('"').split(",") for v in ws.data_validations.dataValidation}
    for spec in settings.SPECS:
        r, value = rows[spec.ja]
        if spec.choices:
            assert lists[f"B{r}"] == spec.labels("ja") and value in spec.labels("ja"), spec.ja
            assert settings.load(_settings_table(spec.ja, value))[spec.key] == spec.default   # the label reads back
        else:
            assert f"B{r}" not in lists, spec.ja
    assert ws.column_dimensions["B"].width >= 24                                  # 注文数が多い fits


def _settings_table(key, value):
    import pandas as pd
    t = pd.DataFrame({"key": [key], "value": [value]})
    t.index = [2]
    return t


def test_every_font_is_named_japanese_and_the_theme_too(parts):
    styles = parts["xl/styles.xml"].decode("utf-8")
    fonts = re.findall(r"<font>.*?</font>", re.search(r"<fonts[^>]*>(.*?)</fonts>", styles, re.S).group(1), re.S)
    assert fonts and all('<name val="游ゴシック"/>' in f and "<scheme" not in f for f in fonts)
    theme = parts["xl/theme/theme1.xml"].decode("utf-8")
    for kind in ("minorFont", "majorFont"):
        block = re.search(f"<a:{kind}>(.*?)</a:{kind}>", theme, re.S).group(1)
        assert '<a:latin typeface="游ゴシック"' in block and '<a:ea typeface="游ゴシック"' in block
        assert '<a:font script="Jpan" typeface="游ゴシック"/>' in block


def test_xlwings_conf_is_very_hidden_and_the_first_sheet_is_shown(wb):
    assert wb["xlwings.conf"].sheet_state == "veryHidden"
    assert [ws.sheet_state for ws in wb.worksheets if ws.title != "xlwings.conf"] == ["visible"] * 5
    assert wb.active.title == "顧客"


def test_search_sheet_has_the_named_query_cell(wb):
    dn = wb.defined_names["検索語"]
    assert list(dn.destinations) == [("検索", "$B$2")]
    assert wb["検索"]["A2"].value == "検索語"
    assert list(wb.defined_names["検索結果"].destinations) == [("検索", "$A$5")]


def test_xlwings_conf_sheet_as_xlwings_reads_it(wb):
    ws = wb["xlwings.conf"]
    rows = []
    for r in range(1, ws.max_row + 1):
        if ws.cell(r, 1).value is None:
            break
        rows.append((ws.cell(r, 1).value, ws.cell(r, 2).value))
    conf = dict(rows)
    assert all(ws.cell(r, 1).value is None for r in range(len(rows) + 1, ws.max_row + 1))  # no key after a gap
    assert conf["UDF Modules"] == "xlcrm.udfs"
    assert {"Interpreter_Win", "Interpreter_Mac"} <= set(conf)
    assert conf["Add_Workbook_To_PYTHONPATH"] is False  # the macros import the installed package only


def test_openpyxl_save_keeps_the_ribbon_and_vba(built, tmp_path):
    """The file engine saves with openpyxl: the 2006 customUI relationship and vbaProject.bin must survive."""
    out = tmp_path / "saved.xlsm"
    openpyxl.load_workbook(built, keep_vba=True).save(out)
    with zipfile.ZipFile(out) as z, zipfile.ZipFile(built) as b:
        assert CUSTOMUI_REL in z.read("_rels/.rels").decode()
        assert z.read(CUSTOMUI_PART) == b.read(CUSTOMUI_PART)
        assert z.read("xl/vbaProject.bin") == b.read("xl/vbaProject.bin")


# --- UDF wrappers -------------------------------------------------------------------------------------------------

SAMPLE_UDFS = '''
from __future__ import annotations
import xlwings as xw

@xw.func
@xw.arg("last_order", ndim=2)
def RFM_SCORE(last_order, frequency, monetary, as_of=None):
    return [[1]]

@xw.func
def CRM_SEARCH(query, limit=20):
    return [[query]]

@xw.func
def CRM_WHO(x, caller):
    return caller

@xw.func
def CRM_CONCAT(sep, *parts):
    return sep.join(parts)

def not_a_udf(x):
    return x
'''


def _wrappers(vba: str) -> dict[str, tuple[list[str], str, list[str]]]:
    """Function name -> (VBA parameters, Python function named in CallUDF, arguments passed)."""
    out = {}
    for m in re.finditer(r"^(?:Function|Sub) (\w+)\(([^\r\n]*)\)\r\n(.*?)^End (?:Function|Sub)", vba, re.M | re.S):
        params = [re.sub(r"^(Optional|ParamArray) |\(\)$", "", p.strip()) for p in m.group(2).split(",") if p.strip()]
        call = re.search(r'XLPy\.CallUDF[ (]"xlcrm\.udfs", "(\w+)", (?:Array\(([^)]*)\)|argsArray)', m.group(3))
        if call.group(2) is None:  # *args: xlwings packs everything into argsArray
            passed = re.search(r"argsArray = Array\(([^\r\n]*)\)\r\n", m.group(3)).group(1)
            passed = [a.strip() for a in passed.split(",") if a.strip()] + [params[-1]]
        else:
            passed = [a.strip() for a in call.group(2).split(",") if a.strip()]
        out[m.group(1)] = (params, call.group(1), passed)
    return out


def _check_wrappers(vba: str, functions: dict) -> None:
    import inspect
    for name, (params, target, passed) in _wrappers(vba).items():
        assert target == name
        py = list(inspect.signature(functions[target]).parameters)
        assert params == [p for p in py if p != "caller"], name  # xlwings fills `caller` itself
        assert passed == ["Nothing" if p == "caller" else p for p in py], name


def test_udf_wrapper_generated_by_xlwings_matches_the_python_functions(tmp_path):
    src = tmp_path / "udfs_sample.py"
    src.write_text(SAMPLE_UDFS)
    vba = udf_wrapper_source("xlcrm.udfs", src)
    assert vba.startswith('Attribute VB_Name = "xlwings_udfs"\r\n')
    ns: dict = {}
    exec(SAMPLE_UDFS, ns)
    assert set(_wrappers(vba)) == {"RFM_SCORE", "CRM_SEARCH", "CRM_WHO", "CRM_CONCAT"}
    _check_wrappers(vba, ns)
    assert "Function CRM_SEARCH(query, Optional limit)" in vba
    assert "Function CRM_WHO(x)" in vba and "Function CRM_CONCAT(sep, ParamArray parts())" in vba


def test_built_udf_wrappers_name_existing_functions_of_xlcrm_udfs(parts):
    import xlcrm.udfs as udfs
    vba = ovba.read_modules(parts["xl/vbaProject.bin"])["xlwings_udfs"]
    assert vba == udf_wrapper_source()  # what xlcrm/udfs.py holds now
    _check_wrappers(vba, vars(udfs))


def test_udf_generation_leaves_no_stubs_behind():
    import sys
    udf_wrapper_source()
    if sys.platform != "win32":
        assert "pythoncom" not in sys.modules and "xlwings.udfs" not in sys.modules
    assert xlwings.func.__module__ == "xlwings"  # the no-op decorators are back


def test_cfb_container_has_no_defects(parts):
    ole = olefile.OleFileIO(io.BytesIO(parts["xl/vbaProject.bin"]), raise_defects=olefile.DEFECT_POTENTIAL)
    assert ole.openstream("PROJECTwm").read().endswith(b"\x00\x00")
    assert len(parts["xl/vbaProject.bin"]) % 512 == 0


def _dir_records(vba_bin: bytes) -> list[int]:
    d = ovba.decompress(olefile.OleFileIO(vba_bin).openstream("VBA/dir").read())
    ids, pos = [], 0
    while pos + 6 <= len(d):
        rid, size = struct.unpack_from("<HI", d, pos)
        ids.append(rid)
        pos += 6 + (6 if rid == 0x09 else size)
    assert pos == len(d)  # no stray bytes after the terminator
    return ids


def test_dir_stream_has_the_record_layout_excel_writes(parts):
    """Same record sequence as the dir stream Excel wrote into xlwings' quickstart (references aside)."""
    with zipfile.ZipFile(Path(xlwings.__file__).parent / "quickstart_addin_ribbon.xlam") as z:
        excel = _dir_records(z.read("xl/vbaProject.bin"))
    ours = _dir_records(parts["xl/vbaProject.bin"])
    refs = {0x16, 0x3E, 0x0D, 0x0E, 0x2F, 0x30, 0x33}

    def shape(ids):
        head = ids[:ids.index(0x0F)]
        modules = ids[ids.index(0x0F):]
        return [i for i in head if i not in refs], modules

    (excel_head, excel_mods), (our_head, our_mods) = shape(excel), shape(ours)
    assert our_head == excel_head
    one_module = excel_mods[2:excel_mods.index(0x2B) + 1]  # after PROJECTMODULES and the cookie
    assert our_mods[:2] == excel_mods[:2] == [0x0F, 0x13] and our_mods[-1] == excel_mods[-1] == 0x10
    per_module = [one_module[:-2] + [t, 0x2B] for t in (0x21, 0x22)]
    body = our_mods[2:-1]
    while body:
        chunk = body[:body.index(0x2B) + 1]
        assert chunk in per_module, chunk
        body = body[len(chunk):]
