"""The workbook as a zip of XML parts: safety checks before parsing, and repairs after openpyxl saves.

openpyxl 3.1.5 keeps the 2006 ribbon relationship (`…/2006/relationships/ui/extensibility`) but drops the 2007
one that points at `customUI/customUI14.xml`, orphaning the ribbon. `restore_parts` puts back every package-level
relationship of the original that the saved file lacks, with its parts and content types.
All XML here is parsed with defusedxml: the workbook may come from anywhere.
"""
from __future__ import annotations

import io
import os
import posixpath
import zipfile
import zlib
from pathlib import Path

from defusedxml import ElementTree as ET

from ..messages import BadFile

MAX_UNPACKED = 2 * 1024 ** 3     # 2 GiB unpacked: the largest legal sheet (1,048,576 rows) fits well below this
MAX_RATIO = 200                  # deflate rarely exceeds ~100:1 on real sheets; bombs are 1000:1 and more
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted (password) OOXML and old .xls are OLE containers

REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
UI_TYPES = ("http://schemas.microsoft.com/office/2006/relationships/ui/extensibility",
            "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility")


def check_package(path: Path, data: bytes | None = None) -> None:
    """Refuse what is not a workbook, is password-protected, would unpack into a bomb, or declares a DTD.

    `data`: the file's bytes when the caller already holds them (then exactly those bytes are checked).
    """
    name = path.name
    if data is None:
        data = Path(path).read_bytes()
    head = data[:8]
    src = io.BytesIO(data)
    if head == OLE_MAGIC:
        # Excel wraps a password-protected .xlsx in an OLE file holding an 'EncryptedPackage' stream; an old
        # binary .xls is an OLE file with a 'Workbook' (or 'Book') stream: not a workbook we read, not "protected".
        legacy = not _has_ole_stream(data, "EncryptedPackage") and (
            _has_ole_stream(data, "Workbook") or _has_ole_stream(data, "Book\0"))
        raise BadFile("book_xls" if legacy else "book_encrypted", name=name)
    if not zipfile.is_zipfile(src):
        raise BadFile(_not_a_workbook(path, data), name=name)
    try:
        with zipfile.ZipFile(src) as z:
            infos = z.infolist()
            names = {i.filename for i in infos}
            if "[Content_Types].xml" not in names or not any(n.startswith("xl/workbook") for n in names):
                ods = "mimetype" in names and z.read("mimetype").startswith(b"application/vnd.oasis.opendocument")
                raise BadFile("book_ods" if ods else "not_a_workbook", name=name)
            total = sum(i.file_size for i in infos)
            packed = sum(i.compress_size for i in infos) or 1
            if total > MAX_UNPACKED or (total > 50 * 1024 ** 2 and total / packed > MAX_RATIO):
                raise BadFile("book_too_large", name=name)
            for info in infos:
                if _declares_dtd(z, info):
                    raise BadFile("book_unsafe", name=name)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error, NotImplementedError):
        raise BadFile("not_a_workbook", name=name) from None


def _not_a_workbook(path: Path, data: bytes) -> str:
    """The message key for a file that is no zip at all: empty, a CSV given where a book belongs, or anything."""
    if not data.strip():
        return "book_empty"
    if path.suffix.lower() in (".csv", ".txt", ".tsv"):
        return "book_is_csv"
    return "not_a_workbook"


_PROLOG_LIMIT = 1 << 20  # a real part's prolog is an XML declaration; a megabyte of comments before the root is not


def _declares_dtd(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """True if an XML part has a DOCTYPE (entity declarations: billion laughs, external entities).

    OOXML never uses DTDs, so refusing them outright protects every reader we use — calamine (quick-xml),
    openpyxl (defusedxml, unless OPENPYXL_DEFUSEDXML=False) and this module — whatever each does with entities.
    Only the prolog is read: a DOCTYPE must come before the root element.
    """
    if info.is_dir():
        return False
    buf = b""
    with z.open(info) as f:
        while len(buf) < _PROLOG_LIMIT:
            chunk = f.read(4096)
            if not chunk:
                break
            buf += chunk
            text = _xml_text(buf)
            if text is None:
                return False  # not XML (vbaProject.bin, images)
            verdict = _prolog_verdict(text)
            if verdict is not None:
                return verdict
    return len(buf) >= _PROLOG_LIMIT  # no root element within the limit: refuse; a part that just ends: harmless


def _xml_text(data: bytes) -> str | None:
    """The start of a part as text if it looks like XML (UTF-8 or UTF-16, with or without BOM), else None."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or data[1:2] == b"\0" or data[:1] == b"\0":
        enc = "utf-16" if data.startswith((b"\xff\xfe", b"\xfe\xff")) else (
            "utf-16-le" if data[1:2] == b"\0" else "utf-16-be")
        text = data[: len(data) // 2 * 2].decode(enc, errors="ignore")
    else:
        text = data.decode("utf-8", errors="ignore")
    text = text.lstrip("\ufeff \t\r\n")
    return text if text.startswith("<") else None


def _prolog_verdict(text: str) -> bool | None:
    """True: a DOCTYPE before the root; False: the root starts first; None: read more."""
    i = 0
    while True:
        j = text.find("<", i)
        if j < 0 or j + 1 >= len(text):
            return None
        nxt = text[j + 1]
        if nxt == "?":          # XML declaration or processing instruction
            k = text.find("?>", j)
        elif text.startswith("<!--", j):
            k = text.find("-->", j)
        elif nxt == "!":        # <!DOCTYPE (any case) or some other declaration: never valid in OOXML
            return True
        else:
            return False        # the root element
        if k < 0:
            return None
        i = k + 2


def _has_ole_stream(data: bytes, stream: str) -> bool:
    """Whether an OLE compound file names `stream` in its directory (names are stored as UTF-16LE)."""
    return stream.encode("utf-16-le") in data


def _rels(z: zipfile.ZipFile, part: str) -> list[dict]:
    try:
        root = ET.fromstring(z.read(part))
    except KeyError:
        return []
    return [dict(el.attrib) for el in root.findall(f"{{{REL_NS}}}Relationship")]


def _rels_path(part: str) -> str:
    d, f = posixpath.split(part)
    return posixpath.join(d, "_rels", f + ".rels")


def _resolve(base_dir: str, target: str) -> str:
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base_dir, target))


def _content_types(z: zipfile.ZipFile):
    root = ET.fromstring(z.read("[Content_Types].xml"))
    defaults = {el.get("Extension").lower(): el.get("ContentType") for el in root.findall(f"{{{CT_NS}}}Default")}
    overrides = {el.get("PartName"): el.get("ContentType") for el in root.findall(f"{{{CT_NS}}}Override")}
    return defaults, overrides


def _part_closure(z: zipfile.ZipFile, part: str) -> list[str]:
    """A part and every part its relationships point to (a ribbon's images), recursively."""
    out, todo = [], [part]
    while todo:
        p = todo.pop()
        if p in out or p not in z.namelist():
            continue
        out.append(p)
        rp = _rels_path(p)
        if rp in z.namelist():
            out.append(rp)
            for r in _rels(z, rp):
                if r.get("TargetMode") != "External":
                    todo.append(_resolve(posixpath.dirname(p), r["Target"]))
    return out


def restore_parts(original: Path, saved: Path) -> None:
    """Put back into `saved` the ribbon relationships (and their parts) of `original` that a save dropped."""
    with zipfile.ZipFile(original) as zo:
        missing_rels = []
        with zipfile.ZipFile(saved) as zs:
            have = {(r["Type"], _resolve("", r["Target"])) for r in _rels(zs, "_rels/.rels")}
            for r in _rels(zo, "_rels/.rels"):
                if r["Type"] in UI_TYPES and (r["Type"], _resolve("", r["Target"])) not in have:
                    missing_rels.append(r)
        if not missing_rels:
            return
        parts = []
        for r in missing_rels:
            parts += _part_closure(zo, _resolve("", r["Target"]))
        d_orig, o_orig = _content_types(zo)
        _rewrite(saved, zo, missing_rels, parts, d_orig, o_orig)


def parts_temp(saved: Path) -> Path:
    """Where `restore_parts` builds its repaired copy of `saved` (the caller cleans it up if a save fails)."""
    return saved.with_name(saved.name + ".parts")


def _rewrite(saved: Path, zo: zipfile.ZipFile, rels: list[dict], parts: list[str], d_orig, o_orig) -> None:
    tmp = parts_temp(saved)
    os.close(os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600))  # private, like `saved` itself
    with zipfile.ZipFile(saved) as zs, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zt:
        present = set(zs.namelist())
        used_ids = {r["Id"] for r in _rels(zs, "_rels/.rels")}
        for info in zs.infolist():
            data = zs.read(info.filename)
            if info.filename == "_rels/.rels":
                data = _add_rels(data, rels, used_ids)
            elif info.filename == "[Content_Types].xml":
                data = _add_content_types(data, parts, d_orig, o_orig)
            zt.writestr(info, data)
        for p in parts:
            if p not in present:
                zt.writestr(zo.getinfo(p), zo.read(p))
    tmp.replace(saved)


def _add_rels(data: bytes, rels: list[dict], used_ids: set) -> bytes:
    text = data.decode("utf-8")
    add = []
    for r in rels:
        rid = r["Id"]
        n = 1
        while rid in used_ids:
            rid, n = f"rIdUi{n}", n + 1
        used_ids.add(rid)
        add.append(f'<Relationship Id="{rid}" Type="{r["Type"]}" Target="{r["Target"]}"/>')
    return text.replace("</Relationships>", "".join(add) + "</Relationships>").encode("utf-8")


def _add_content_types(data: bytes, parts: list[str], d_orig: dict, o_orig: dict) -> bytes:
    root = ET.fromstring(data)
    defaults = {el.get("Extension").lower() for el in root.findall(f"{{{CT_NS}}}Default")}
    overrides = {el.get("PartName") for el in root.findall(f"{{{CT_NS}}}Override")}
    add = []
    for p in parts:
        pn = "/" + p
        ext = posixpath.splitext(p)[1].lstrip(".").lower()
        if pn in o_orig and pn not in overrides:
            add.append(f'<Override PartName="{pn}" ContentType="{o_orig[pn]}"/>')
        elif pn not in o_orig and ext not in defaults and ext in d_orig:
            add.append(f'<Default Extension="{ext}" ContentType="{d_orig[ext]}"/>')
            defaults.add(ext)
    text = data.decode("utf-8")
    return text.replace("</Types>", "".join(add) + "</Types>").encode("utf-8")


def ribbon_parts(path: Path) -> dict[str, bytes]:
    """The ribbon parts of a workbook and the relationship types pointing at them (for tests and doctor)."""
    with zipfile.ZipFile(path) as z:
        out = {}
        for r in _rels(z, "_rels/.rels"):
            if r["Type"] in UI_TYPES:
                p = _resolve("", r["Target"])
                if p in z.namelist():
                    out[r["Type"]] = z.read(p)
        return out
