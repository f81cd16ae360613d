"""A workbook file as a zip package edited in place: parts a job does not write are copied byte for byte.

The file engine reads what it needs from the original archive, collects the parts it rewrites, and `write`s a new
archive in which every other entry is copied raw — its compressed bytes, CRC and sizes as they were, never
inflated and deflated again. Relationships and content types are edited as text, so elements and attributes this
module does not know (other programs' extensions) stay as they are.
"""
from __future__ import annotations

import io
import posixpath
import re
import struct
import zipfile
import zlib
from html import escape, unescape

REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
OFFICE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
T_SHEET = OFFICE_REL + "/worksheet"
T_TABLE = OFFICE_REL + "/table"
T_DRAWING = OFFICE_REL + "/drawing"
T_CHART = OFFICE_REL + "/chart"
T_IMAGE = OFFICE_REL + "/image"
T_CALCCHAIN = OFFICE_REL + "/calcChain"
T_STYLES = OFFICE_REL + "/styles"
T_STRINGS = OFFICE_REL + "/sharedStrings"
CT_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_TABLE = "application/vnd.openxmlformats-officedocument.spreadsheetml.table+xml"
CT_DRAWING = "application/vnd.openxmlformats-officedocument.drawing+xml"
CT_CHART = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"
CT_STYLES = "application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"

_ATTR = re.compile(r'([\w:.-]+)\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')
_REL = re.compile(r"<(?:\w+:)?Relationship\b[^>]*?/>|<(?:\w+:)?Relationship\b[^>]*>.*?</(?:\w+:)?Relationship>", re.S)


def attrs(tag_text: str) -> dict[str, str]:
    """The attributes of one start tag's text, unescaped."""
    return {m.group(1): unescape(m.group(2) if m.group(2) is not None else m.group(3))
            for m in _ATTR.finditer(tag_text)}


def set_attr(tag: str, name: str, value: str | None) -> str:
    """`tag` (a start tag's text, '<x a="1">' or '<x/>') with attribute `name` set, or removed when None."""
    pat = re.compile(r'\s' + re.escape(name) + r'\s*=\s*(?:"[^"]*"|\'[^\']*\')')
    tag = pat.sub("", tag)
    if value is None:
        return tag
    end = len(tag) - (2 if tag.endswith("/>") else 1)
    return f'{tag[:end]} {name}="{escape(str(value))}"{tag[end:]}'


def rels_path(part: str) -> str:
    d, f = posixpath.split(part)
    return posixpath.join(d, "_rels", f + ".rels")


def resolve(part: str, target: str) -> str:
    """The package path a relationship of `part` points at."""
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(part), target))


class Rels:
    """One .rels part as text: relationships listed, removed and added without touching the others."""

    def __init__(self, text: str | None):
        self.text = text if text is not None else (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="{REL_NS}"></Relationships>')

    def items(self) -> list[dict]:
        return [attrs(m.group(0).split(">", 1)[0]) for m in _REL.finditer(self.text)]

    def by_type(self, rtype: str) -> list[dict]:
        return [r for r in self.items() if r.get("Type") == rtype]

    def get(self, rid: str) -> dict | None:
        return next((r for r in self.items() if r.get("Id") == rid), None)

    def remove(self, rid: str) -> None:
        self.text = "".join(self._without(rid))

    def _without(self, rid):
        last = 0
        for m in _REL.finditer(self.text):
            if attrs(m.group(0).split(">", 1)[0]).get("Id") == rid:
                yield self.text[last:m.start()]
                last = m.end()
        yield self.text[last:]

    def add(self, rtype: str, target: str) -> str:
        used = {r.get("Id") for r in self.items()}
        n = 1
        while f"rId{n}" in used:
            n += 1
        rid = f"rId{n}"
        el = f'<Relationship Id="{rid}" Type="{rtype}" Target="{escape(target)}"/>'
        if re.search(r"<(?:\w+:)?Relationships\b[^>]*/>", self.text):
            self.text = re.sub(r"<((?:\w+:)?Relationships\b[^>]*?)\s*/>", r"<\1></Relationships>", self.text, 1)
        i = self.text.rfind("</")
        self.text = self.text[:i] + el + self.text[i:]
        return rid


class Pieces:
    """A part's bytes as the pieces they are made of, in order: a 137 MB sheet goes into the zip piece by piece,
    never joined into one more copy of itself."""

    __slots__ = ("pieces", "size")
    __hash__ = None

    def __init__(self, pieces):
        self.pieces = [p for p in pieces if p]
        self.size = sum(map(len, self.pieces))

    def __len__(self) -> int:
        return self.size

    def __bytes__(self) -> bytes:
        return b"".join(self.pieces)

    def __eq__(self, other) -> bool:
        if isinstance(other, Pieces):
            other = bytes(other)
        if not isinstance(other, bytes):
            return NotImplemented
        if len(other) != self.size:
            return False
        at = 0
        for p in self.pieces:
            if other[at:at + len(p)] != p:
                return False
            at += len(p)
        return True


class Package:
    """The parts of one .xlsx/.xlsm: the original archive plus what a job replaced, added or removed."""

    def __init__(self, data: bytes):
        self.data = data
        self.zip = zipfile.ZipFile(io.BytesIO(data))
        self.infos = {i.filename: i for i in self.zip.infolist()}
        self.new: dict[str, bytes | Pieces] = {}
        self.removed: set[str] = set()

    def has(self, part: str) -> bool:
        return part in self.new or (part in self.infos and part not in self.removed)

    def read(self, part: str) -> bytes:
        if part in self.new:
            data = self.new[part]
            return bytes(data) if isinstance(data, Pieces) else data
        if part in self.removed:
            raise KeyError(part)
        return self.zip.read(part)

    def stored_size(self, part: str | None) -> int:
        """The part's compressed size in the file (0 when it is not there as it came)."""
        info = self.infos.get(part) if part and part not in self.new and part not in self.removed else None
        return info.compress_size if info else 0

    def chunks(self, part: str, size: int = 4 << 20):
        """The part's bytes a few MB at a time (a 170 MB sheet is scanned without being held whole)."""
        if isinstance(self.new.get(part), Pieces):
            yield from self.new[part].pieces
            return
        if part in self.new or part in self.removed:
            yield self.read(part)
            return
        with self.zip.open(part) as f:
            while chunk := f.read(size):
                yield chunk

    def text(self, part: str) -> str | None:
        return self.read(part).decode("utf-8") if self.has(part) else None

    def put(self, part: str, data: bytes | str | Pieces) -> None:
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.removed.discard(part)
        if part in self.infos and self.infos[part].file_size == len(data) and data == self.zip.read(part):
            self.new.pop(part, None)       # back to what it was: copied raw
        else:
            self.new[part] = data

    def remove(self, part: str) -> None:
        self.new.pop(part, None)
        if part in self.infos:
            self.removed.add(part)

    def rels(self, part: str) -> Rels:
        return Rels(self.text(rels_path(part)))

    def put_rels(self, part: str, rels: Rels) -> None:
        self.put(rels_path(part), rels.text)

    def names(self) -> list[str]:
        return [n for n in self.infos if n not in self.removed] + [n for n in self.new if n not in self.infos]

    def free_name(self, pattern: str) -> str:
        """The lowest numbered free part name for `pattern` ("xl/charts/chart{}.xml")."""
        taken = set(self.names())
        n = 1
        while pattern.format(n) in taken:
            n += 1
        return pattern.format(n)

    def changed(self) -> bool:
        return bool(self.new or self.removed)

    # --- content types ---------------------------------------------------------------------------------------
    def set_override(self, part: str, content_type: str | None) -> None:
        """Add (or with None remove) the content-type Override of `part`. An Override already there with the
        same type stays where it is (a part removed and written again keeps its entry, byte for byte)."""
        text = self.read("[Content_Types].xml").decode("utf-8")
        pn = "/" + part
        pat = re.compile(r'<(?:\w+:)?Override\b[^>]*PartName="' + re.escape(pn) + r'"[^>]*/>')
        found = pat.search(text)
        if found and content_type is not None and attrs(found.group(0)).get("ContentType") == content_type:
            return
        text = pat.sub("", text)
        if content_type is not None:
            i = text.rfind("</")
            text = text[:i] + f'<Override PartName="{pn}" ContentType="{content_type}"/>' + text[i:]
        self.put("[Content_Types].xml", text)

    def drop_stale_overrides(self, parts: set[str]) -> None:
        """Remove the Overrides of those of `parts` that no longer exist."""
        for part in sorted(parts):
            if not self.has(part):
                self.set_override(part, None)

    def ensure_default(self, ext: str, content_type: str) -> None:
        text = self.read("[Content_Types].xml").decode("utf-8")
        if re.search(r'<(?:\w+:)?Default\b[^>]*Extension="' + re.escape(ext) + '"', text, re.I):
            return
        i = text.rfind("</")
        self.put("[Content_Types].xml", text[:i] + f'<Default Extension="{ext}" ContentType="{content_type}"/>'
                 + text[i:])

    # --- writing ---------------------------------------------------------------------------------------------
    def write(self, out) -> None:
        """The package into the binary file `out`: entries in their original order, untouched ones raw."""
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as z:
            for name, info in self.infos.items():
                if name in self.removed:
                    continue
                if name in self.new:
                    zi = zipfile.ZipInfo(name, info.date_time)
                    zi.external_attr = info.external_attr
                    _write_new(z, zi, self.new[name])
                else:
                    _copy_raw(self.data, info, z)
            for name, data in self.new.items():
                if name not in self.infos:
                    _write_new(z, zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data)


def _write_new(z: zipfile.ZipFile, zi: zipfile.ZipInfo, data: bytes | Pieces) -> None:
    """One written part, deflated: bytes as writestr writes them; a large part's Pieces a few MB at a time on
    two threads (`_deflated`)."""
    zi.compress_type = zipfile.ZIP_DEFLATED
    if not isinstance(data, Pieces):
        z.writestr(zi, data, compresslevel=_level(data))
        return
    zi.CRC, chunks = _deflated(data.pieces, _level(data) or zlib.Z_DEFAULT_COMPRESSION)
    zi.file_size, zi.compress_size = len(data), sum(map(len, chunks))
    _write_raw(z, zi, chunks)


def _deflated(pieces: list, level: int, size: int = 8 << 20) -> tuple[int, list[bytes]]:
    """The CRC and the raw deflate stream of `pieces`, compressed `size` bytes at a time, two at once (zlib lets go
    of Python's lock: a 137 MB sheet in about half the time). Each stretch is a deflate stream of its own ended by
    a sync flush — byte-aligned and not final — so one after the other they are one stream, as pigz writes it."""
    import concurrent.futures

    def squeeze(buf: bytes, last: bool) -> bytes:
        co = zlib.compressobj(level, zlib.DEFLATED, -15)
        return co.compress(buf) + co.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)

    stretches, held, n = [], [], 0
    for p in pieces:
        held.append(p)
        n += len(p)
        if n >= size:
            stretches.append(held)
            held, n = [], 0
    if held or not stretches:
        stretches.append(held)
    if len(stretches) == 1:
        buf = b"".join(stretches[0])
        return zlib.crc32(buf), [squeeze(buf, True)]
    crc, out, pending = 0, [], []
    with concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="xlcrm-deflate") as pool:
        for i, stretch in enumerate(stretches):
            buf = b"".join(stretch)
            crc = zlib.crc32(buf, crc)
            pending.append(pool.submit(squeeze, buf, i == len(stretches) - 1))
            del buf
            if len(pending) > 3:    # a few stretches held at a time, not the whole part twice
                out.append(pending.pop(0).result())
        out.extend(f.result() for f in pending)
    return crc, out


def _level(data) -> int | None:
    """zlib's fastest level for a large part (a 137 MB 顧客 sheet: 0.7 s instead of 1.9 s, a quarter larger), its
    default for the rest."""
    return 1 if len(data) > 8 << 20 else None


def _copy_raw(data: bytes, info: zipfile.ZipInfo, z: zipfile.ZipFile) -> None:
    """Copy one entry's compressed bytes into `z` as they are (zipfile offers no raw copy)."""
    off = info.header_offset
    name_len, extra_len = struct.unpack("<HH", data[off + 26:off + 30])
    start = off + 30 + name_len + extra_len
    zi = zipfile.ZipInfo(info.filename, info.date_time)
    zi.compress_type = info.compress_type
    zi.CRC, zi.compress_size, zi.file_size = info.CRC, info.compress_size, info.file_size
    zi.external_attr, zi.create_system, zi.comment = info.external_attr, info.create_system, info.comment
    zi.flag_bits = info.flag_bits & ~0x08          # sizes go in the local header: no data descriptor
    _write_raw(z, zi, [memoryview(data)[start:start + info.compress_size]])


def _write_raw(z: zipfile.ZipFile, zi: zipfile.ZipInfo, chunks: list) -> None:
    """An entry whose CRC, sizes and compressed bytes are known, into `z`: zipfile's header code is used, and the
    entry is registered so the central directory lists it."""
    zip64 = zi.file_size > zipfile.ZIP64_LIMIT or zi.compress_size > zipfile.ZIP64_LIMIT
    zi.header_offset = z.fp.tell()
    z.fp.write(zi.FileHeader(zip64))
    for chunk in chunks:
        z.fp.write(chunk)
    z.filelist.append(zi)
    z.NameToInfo[zi.filename] = zi
    z.start_dir = z.fp.tell()
    z._didModify = True
