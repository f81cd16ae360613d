"""Build `CRM.xlsm` from sources: sheet template, ribbon (customUI), VBA project, xlwings.conf sheet.

Sources (package data under `xlcrm/build/src/`): `customUI.xml` (the CRM tab), `XlcrmRibbon.bas` (the one ribbon
callback), `ThisWorkbook.cls`, `template.json` (layout; the tables themselves come from `xlcrm.schema.TABLES` and
the 設定 rows from `xlcrm.settings.sheet_rows()`). From the installed, exactly pinned xlwings we take
`xlwings.bas` (RunPython and the UDF plumbing; it loads the xlwings DLL of that same version, so it is read from
the installed wheel rather than vendored: a copy could drift from the pin) and `addin/Dictionary.cls` (needed
by xlwings.bas on macOS), and xlwings' own `generate_vba_wrapper` writes the UDF module from `xlcrm.udfs`.

Sheets are written with XlsxWriter (tables, validation, frozen panes, widths, fixed document dates); the zip is
then rewritten with the customUI part, fixed timestamps and a fixed part order, so a build is byte-for-byte
repeatable.
"""
from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
import io
import json
import math
import re
import unicodedata
import sys
import types
import zipfile
from pathlib import Path

from . import ovba

SRC = Path(__file__).with_name("src")
XLWINGS_VERSION = "0.37.8"  # the version the embedded xlwings.bas (and its DLL) belongs to; pyproject pins it
UDF_MODULE = "xlcrm.udfs"
CUSTOMUI_PART = "customUI/customUI.xml"
CUSTOMUI_NS = "http://schemas.microsoft.com/office/2006/01/customui"
CUSTOMUI_REL = "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility"
PROJECT_ID = "{6C1D2E3A-58B4-4C1B-9E0A-0C5A1E7D2B41}"  # fixed: the build is deterministic
_EPOCH = (1980, 1, 1, 0, 0, 0)
_DOC_DATE = dt.datetime(2024, 1, 1)


def template() -> dict:
    return json.loads((SRC / "template.json").read_text("utf-8"))


def _crlf(text: str) -> str:
    """Source as VBA stores it: CRLF line ends, ending with one."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n").split("\n")
    return "\r\n".join(lines) + "\r\n"


# --- VBA sources ------------------------------------------------------------------------------------------------

def _xlwings_dir() -> Path:
    # the installed distribution's files, without importing xlwings (its import loads matplotlib: 1.5 s per demo)
    from importlib import metadata
    try:
        version = metadata.version("xlwings")
    except metadata.PackageNotFoundError:
        raise RuntimeError(f"xlwings is not installed (pip install xlwings=={XLWINGS_VERSION})") from None
    if version != XLWINGS_VERSION:
        raise RuntimeError(f"xlwings {version} is installed; the workbook is built for "
                           f"xlwings=={XLWINGS_VERSION} (pip install xlwings=={XLWINGS_VERSION})")
    return Path(metadata.distribution("xlwings").locate_file("xlwings"))


def xlwings_bas() -> str:
    """xlwings' standalone VBA module (BSD-3, its licence text is inside the module)."""
    return _crlf((_xlwings_dir() / "xlwings.bas").read_bytes().decode("cp1252"))


def class_module_source(cls_text: str, base: str = "0{FCFB3D2A-A0FA-1068-A738-08002B3371B5}") -> str:
    """A .cls file as VBA stores a class module: no VERSION/BEGIN header, VB_Base after VB_Name, and
    VB_TemplateDerived/VB_Customizable after VB_Exposed (the order the VBE itself writes)."""
    lines = _crlf(cls_text).split("\r\n")
    while lines and not lines[0].startswith("Attribute "):
        lines.pop(0)  # VERSION 1.0 CLASS / BEGIN / MultiUse = -1 / END
    out = []
    for line in lines:
        out.append(line)
        if line.startswith("Attribute VB_Name "):
            out.append(f'Attribute VB_Base = "{base}"')
        elif line.startswith("Attribute VB_Exposed "):
            out += ["Attribute VB_TemplateDerived = False", "Attribute VB_Customizable = False"]
    return "\r\n".join(out)


def dictionary_cls() -> str:
    """Tim Hall's VBA-Dictionary (MIT, notice inside), shipped in xlwings; xlwings.bas uses it on macOS."""
    return class_module_source((_xlwings_dir() / "addin" / "Dictionary.cls").read_bytes().decode("cp1252"))


def _xlwings_udfs():
    """xlwings.udfs, importable on any platform: it imports pythoncom/pywintypes/win32com at module top only to
    run UDFs through COM, which generate_vba_wrapper never touches. Off Windows those three are stubbed for the
    import and the stubs removed again."""
    if sys.platform == "win32":
        return importlib.import_module("xlwings.udfs")
    names = ("pythoncom", "pywintypes", "win32com", "win32com.client")
    saved = {n: sys.modules.get(n) for n in (*names, "xlwings.udfs")}
    stubs = {n: types.ModuleType(n) for n in names}
    stubs["pythoncom"].CoInitialize = lambda: None
    stubs["pywintypes"].com_error = type("com_error", (Exception,), {})
    stubs["win32com.client"].Dispatch = None
    stubs["win32com"].client = stubs["win32com.client"]
    try:
        sys.modules.update(stubs)
        sys.modules.pop("xlwings.udfs", None)
        return importlib.import_module("xlwings.udfs")
    finally:
        import xlwings
        for n, m in saved.items():
            if m is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = m
        if saved["xlwings.udfs"] is None and hasattr(xlwings, "udfs"):
            del xlwings.udfs


def load_udf_module(module_name: str = UDF_MODULE, path: str | Path | None = None) -> types.ModuleType:
    """A fresh copy of the UDF module with xlwings' real decorators applied (on Linux `xw.func` and friends are
    no-ops, so the imported module carries no `__xlfunc__`). The copy is not put into sys.modules."""
    import xlwings as xw
    udfs = _xlwings_udfs()
    origin = str(path) if path else importlib.util.find_spec(module_name).origin
    spec = importlib.util.spec_from_file_location(module_name, origin)
    module = importlib.util.module_from_spec(spec)
    real = {"func": udfs.xlfunc, "arg": udfs.xlarg, "ret": udfs.xlret, "sub": udfs.xlsub, "script": udfs.xlsub}
    saved = {k: getattr(xw, k, None) for k in real}
    try:
        for k, v in real.items():
            setattr(xw, k, v)
        spec.loader.exec_module(module)
    finally:
        for k, v in saved.items():
            setattr(xw, k, v)
    return module


def udf_wrapper_source(module_name: str = UDF_MODULE, path: str | Path | None = None) -> str:
    """The `xlwings_udfs` VBA module exactly as xlwings' ImportUDFs writes it, without Excel or the VBE."""
    udfs = _xlwings_udfs()
    f = io.StringIO()
    # the header ImportUDFs writes before calling generate_vba_wrapper (xlwings/udfs.py import_udfs)
    f.write('Attribute VB_Name = "xlwings_udfs"\n')
    f.write("'Autogenerated code by xlwings - changes will be lost with next import!\n")
    f.write('#Const App = "Microsoft Excel" \'Adjust when using outside of Excel\n')
    udfs.generate_vba_wrapper(module_name, load_udf_module(module_name, path), f,
                              types.SimpleNamespace(Name="CRM.xlsm"))
    return _crlf(f.getvalue())


def document_module(name: str, base: str) -> str:
    return _crlf("\n".join([f'Attribute VB_Name = "{name}"', f'Attribute VB_Base = "{base}"',
                            "Attribute VB_GlobalNameSpace = False", "Attribute VB_Creatable = False",
                            "Attribute VB_PredeclaredId = True", "Attribute VB_Exposed = True",
                            "Attribute VB_TemplateDerived = False", "Attribute VB_Customizable = True"]))


SHEET_BASE = "0{00020820-0000-0000-C000-000000000046}"


def _vba_hex(text: str, indent: str = "        ", width: int = 96) -> list[str]:
    """`codes = "..."` lines holding `text` as UTF-16 code units in hex (FromHex in the module decodes them)."""
    hexed = text.encode("utf-16-be").hex().upper()
    chunks = [hexed[i:i + width] for i in range(0, len(hexed), width)] or [""]
    return [f'{indent}codes = "{chunks[0]}"'] + [f'{indent}codes = codes & "{c}"' for c in chunks[1:]]


def ribbon_texts_vba() -> str:
    """`XlcrmText(key)`: the ribbon module's texts, generated from xlcrm/messages.py (its `vba_*` keys, Japanese
    and English) and the names the module looks up (the settings sheet and its language row, the doctor button's
    label). VBA source is stored in code page 1252, so Japanese cannot be written into it as text."""
    from .. import messages, schema, settings
    from ..ribbon import labels
    fixed = {"settings_sheet": schema.TABLES["settings"].ja,
             "settings_lang": next(s.ja for s in settings.SPECS if s.key == "lang"),
             "doctor_label": labels()["doctor"]}
    out = ["", "' --- generated by xlcrm.build from xlcrm/messages.py: do not edit ---",
           "Private Function XlcrmText(ByVal key As String) As String",
           "    Dim codes As String",
           "    Select Case key"]
    for key, value in fixed.items():
        out += [f'    Case "{key}"'] + _vba_hex(value)
    out += ["    Case Else", "        Select Case BookLang() & \":\" & key"]
    for key in sorted(k for k in messages.CATALOGUE if k.startswith("vba_")):
        for lang, value in zip(("ja", "en"), messages.CATALOGUE[key]):
            out += [f'        Case "{lang}:{key}"'] + _vba_hex(value, "            ")
    out += ["        End Select", "    End Select", "    XlcrmText = FromHex(codes)", "End Function"]
    return "\n".join(out)


def ribbon_module_source() -> str:
    """XlcrmRibbon.bas with its generated texts."""
    return _crlf((SRC / "XlcrmRibbon.bas").read_text("ascii").rstrip("\n") + "\n" + ribbon_texts_vba())


def vba_modules(n_sheets: int) -> list[ovba.Module]:
    """Every module of the workbook's VBA project, in project order."""
    mods = [ovba.Module("ThisWorkbook", _crlf((SRC / "ThisWorkbook.cls").read_text("ascii")), "document")]
    mods += [ovba.Module(f"Sheet{i}", document_module(f"Sheet{i}", SHEET_BASE), "document")
             for i in range(1, n_sheets + 1)]
    mods += [ovba.Module("XlcrmRibbon", ribbon_module_source()),
             ovba.Module("xlwings", xlwings_bas()),
             ovba.Module("xlwings_udfs", udf_wrapper_source()),
             ovba.Module("Dictionary", dictionary_cls(), "class")]
    return mods


def syntax_problems() -> list:
    """Syntax errors of every module of the workbook's VBA project, on each platform (needs the `build` extra's
    antlr4-vba; see xlcrm/build/vbasyntax.py)."""
    from . import vbasyntax
    return vbasyntax.project_problems(vba_modules(_count_sheets()))


def customui_xml() -> bytes:
    return (SRC / "customUI.xml").read_bytes()


# --- sheets -----------------------------------------------------------------------------------------------------

def _sheet_bytes(vba_bin: bytes) -> tuple[bytes, int]:
    """The workbook as XlsxWriter writes it (before the customUI post-processing) and its number of sheets."""
    import xlsxwriter

    from .. import schema, settings

    t = template()
    buf = io.BytesIO()
    font = t["font"]
    wb = xlsxwriter.Workbook(buf, {"default_format_properties": {
        "font_name": font["name"], "font_size": font["size"], "font_charset": font["charset"]}})
    wb.set_properties({"title": "顧客管理 (xlcrm)", "author": "xlcrm", "created": _DOC_DATE})
    wb.set_calc_mode("auto")

    def fmt(**kw):
        # no font scheme: a "minor" scheme font shows the theme's body font, whatever its name says
        return wb.add_format({"font_name": font["name"], "font_size": font["size"],
                              "font_charset": font["charset"], "font_scheme": "none", **kw})

    header = fmt(**t["header"])
    num_fmts = {k: fmt(num_format=v) for k, v in t["number_formats"].items()}
    plain = fmt()
    n_sheets = 0

    def table_sheet(key: str):
        nonlocal n_sheets
        tab = schema.TABLES[key]
        ws = wb.add_worksheet(tab.ja)
        n_sheets += 1
        ws.set_vba_name(f"Sheet{n_sheets}")
        ws.set_tab_color(t["tab_colors"][key])
        columns = []
        for i, c in enumerate(tab.columns):
            width = t["widths_by_key"].get(c.key) or t["widths_by_kind"].get(c.kind, 14)
            width = max(width, 2 * len(c.ja) + 4)  # full-width header plus the filter button
            f = num_fmts.get(c.kind, plain)
            if c.kind == "raw":  # 設定's 値: numbers and words typed there line up on the left, a long list wraps
                f = fmt(align="left", text_wrap=True, valign="top")
            elif key == "settings":   # 説明 wraps inside its column: printed, the page stays one readable width
                f = fmt(text_wrap=True, valign="top")
            ws.set_column(i, i, width, f)
            columns.append({"header": c.ja, "format": f, "header_format": header})
            choices = c.choices or (tuple(t["bool_choices"]) if c.kind == "bool" else ())
            if choices:
                ws.data_validation(1, i, 1048575, i, {
                    "validate": "list", "source": list(choices), "error_type": "warning",
                    "error_title": c.ja, "error_message": "次のいずれかを選んでください: " + " / ".join(choices),
                    "input_title": c.ja, "input_message": " / ".join(choices)})
        rows = []
        if key == "settings":
            df = settings.sheet_rows("ja")
            rows = [["" if v is None else v for v in r] for r in df[["key", "value", "explanation"]].values.tolist()]
        last = max(len(rows), 1)  # an Excel table needs at least one data row
        ws.add_table(0, 0, last, len(tab.columns) - 1, {
            "name": tab.ja, "style": t["table_style"], "columns": columns,
            **({"data": rows} if rows else {})})
        ws.set_row(0, 20)
        page_setup(ws)
        r, c = t["freeze"][key]
        ws.freeze_panes(r, c)
        if key == "settings":
            wrap = fmt(text_wrap=True, valign="top")
            ws.set_column(2, 2, t["widths_by_key"]["explanation"], wrap)
            # a row as tall as its wrapped 値 / 説明 need: neither Excel nor LibreOffice fits wrapped rows on opening
            w = t["widths_by_key"]
            for i, r in enumerate(rows, start=1):
                lines = max(math.ceil(_width(r[1]) / (w["value"] * 1.1)),
                            math.ceil(_width(r[2]) / (w["explanation"] * 1.1)))
                if lines > 1:
                    ws.set_row(i, 18.75 * lines)
            # a setting of a few values: a drop-down of its Japanese labels on its own 値 cell
            for i, spec in enumerate(settings.SPECS, start=1):
                if spec.choices:
                    ws.data_validation(i, 1, i, 1, {
                        "validate": "list", "source": spec.labels("ja"), "error_type": "warning",
                        "error_title": spec.ja, "error_message": "次のいずれかを選んでください: " + " / ".join(spec.labels("ja")),
                        "input_title": spec.ja, "input_message": " / ".join(spec.labels("ja"))})
        return ws

    def page_setup(ws):  # A4 landscape, one page wide: staff print these lists
        ws.set_paper(9)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(0)

    first = None
    for key in t["sheet_order"]:
        if key in schema.TABLES:
            ws = table_sheet(key)
            first = first or ws
        elif key == "search":
            s = t["search"]
            ws = wb.add_worksheet(s["sheet"])
            n_sheets += 1
            ws.set_vba_name(f"Sheet{n_sheets}")
            ws.set_tab_color(t["tab_colors"]["search"])
            ws.set_column(0, 0, 12)
            ws.set_column(1, 1, 36)
            ws.set_column(2, 10, 16)
            ws.write(0, 0, s["title"], fmt(bold=True, font_size=14))
            ws.write(1, 0, s["label"], header)
            ws.write_blank(1, 1, None, fmt(bg_color="#FFF2CC", border=2, num_format="@"))
            ws.write(2, 1, s["hint"], fmt(font_color="#595959", font_size=9))
            ws.write(s["results_row"] - 2, 0, s["results_label"], fmt(bold=True))
            wb.define_name(s["name"], f"='{s['sheet']}'!$B$2")
            wb.define_name(s["results_name"], f"='{s['sheet']}'!$A${s['results_row']}")
            ws.freeze_panes(s["results_row"] - 1, 0)
            page_setup(ws)
        elif key == "xlwings.conf":
            conf = t["xlwings_conf"]
            ws = wb.add_worksheet("xlwings.conf")
            n_sheets += 1
            ws.set_vba_name(f"Sheet{n_sheets}")
            ws.set_column(0, 0, 28)
            left = fmt(align="left")
            ws.set_column(1, 1, 40, left)
            ws.set_column(3, 3, 90)
            for i, (k, v) in enumerate(conf["rows"]):
                ws.write_string(i, 0, k)
                if isinstance(v, bool):
                    ws.write_boolean(i, 1, v, left)
                elif v != "":
                    ws.write_string(i, 1, v, left)
            for i, note in enumerate(conf["notes"]):
                ws.write_string(i, 3, note, fmt(font_color="#595959"))
            page_setup(ws)
            ws.very_hidden()     # xlwings reads it; staff never need it (setup.bat / set-interpreter write it)
    first.activate()
    wb.set_vba_name("ThisWorkbook")
    wb.add_vba_project(io.BytesIO(vba_bin), is_stream=True)
    wb.close()
    return buf.getvalue(), n_sheets


THEME_PART = "xl/theme/theme1.xml"


def _japanese_theme(parts: dict[str, bytes], name: str) -> None:
    """The theme's body and heading fonts in Japanese (`name`, for Latin letters too): a style Excel makes from
    the theme (a new cell style, a chart) shows the workbook's font, not Calibri / ＭＳ Ｐゴシック."""
    xml = parts[THEME_PART].decode("utf-8")
    xml = re.sub(r'<a:latin typeface="[^"]*"', f'<a:latin typeface="{name}"', xml)
    xml = re.sub(r'<a:ea typeface="[^"]*"', f'<a:ea typeface="{name}"', xml)
    xml = re.sub(r'<a:font script="Jpan" typeface="[^"]*"', f'<a:font script="Jpan" typeface="{name}"', xml)
    parts[THEME_PART] = xml.encode("utf-8")


def _count_sheets() -> int:
    return len(template()["sheet_order"])


def _add_customui(parts: dict[str, bytes]) -> None:
    rels = parts["_rels/.rels"].decode("utf-8")
    rel = f'<Relationship Id="rIdXlcrmUI" Type="{CUSTOMUI_REL}" Target="{CUSTOMUI_PART}"/>'
    parts["_rels/.rels"] = rels.replace("</Relationships>", rel + "</Relationships>").encode("utf-8")
    ct = parts["[Content_Types].xml"].decode("utf-8")
    if 'Extension="xml"' not in ct:  # customUI.xml is typed by the Default for .xml
        raise RuntimeError("[Content_Types].xml has no Default for .xml")
    parts[CUSTOMUI_PART] = customui_xml()


def _zip(parts: dict[str, bytes]) -> bytes:
    """A zip with fixed timestamps and attributes; [Content_Types].xml first (some readers expect it), the rest
    sorted."""
    out = io.BytesIO()
    order = ["[Content_Types].xml"] + sorted(p for p in parts if p != "[Content_Types].xml")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name in order:
            zi = zipfile.ZipInfo(name, _EPOCH)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.create_system = 0
            zi.external_attr = 0
            z.writestr(zi, parts[name], compresslevel=6)
    return out.getvalue()


def workbook_parts() -> dict[str, bytes]:
    """Every part of the workbook by zip name (what `build_workbook` writes)."""
    n = _count_sheets()
    vba_bin = ovba.vba_project(vba_modules(n), PROJECT_ID)
    raw, n_sheets = _sheet_bytes(vba_bin)
    assert n_sheets == n, (n_sheets, n)
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    _add_customui(parts)
    _japanese_theme(parts, template()["font"]["name"])
    return parts


def workbook_bytes() -> bytes:
    return _zip(workbook_parts())


def _width(text) -> int:
    """Characters a text takes in a cell: full-width ones count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(text))


def build_workbook(path: str | Path = "workbook/CRM.xlsm") -> Path:
    """Write the workbook built from sources to `path` (replaced atomically) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = workbook_bytes()
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path


def is_current(path: str | Path) -> bool:
    """True if the workbook at `path` holds exactly the parts a fresh build writes (compared part by part, so a
    different zlib producing other deflate bytes does not count as a difference)."""
    try:
        with zipfile.ZipFile(path) as z:
            have = {i.filename: z.read(i) for i in z.infolist()}
    except (OSError, zipfile.BadZipFile):
        return False
    return have == workbook_parts()


def xlwings_version_in_vba(vba_source: str) -> str | None:
    """The `XLWINGS_VERSION` constant of an xlwings.bas text (what the workbook's VBA expects)."""
    m = re.search(r'XLWINGS_VERSION\s+As\s+String\s*=\s*"([^"]+)"', vba_source)
    return m.group(1) if m else None
