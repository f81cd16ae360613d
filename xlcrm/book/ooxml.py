"""The workbook as a zip of XML parts: the safety checks every file passes before anything reads it.

A workbook may come from anywhere: no DTD (entity declarations), no zip bomb, no encrypted or legacy container
passes. The little XML parsed here is parsed with defusedxml.
"""
from __future__ import annotations

import io
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
