"""Write a source-only `vbaProject.bin` (MS-OVBA inside an MS-CFB container), deterministically.

Why our own writer: ms-ovba 0.0.1 (the only PyPI package that writes this format) corrupts every module over
~600 bytes (its compressor computes `0xFFFF << bit_count + 3` where MS-OVBA 2.4.1.3.19.1 says
`(0xFFFF >> bit_count) + 3`), orders document-module attributes wrongly, has no class modules, writes temp files
into the working directory and pulls in two more packages. What a source-only project needs is short: the
compression of MS-OVBA 2.4.1, the `dir`/`PROJECT`/`PROJECTwm`/`_VBA_PROJECT` streams of 2.3 and a small CFB
writer. No p-code is written (`_VBA_PROJECT` version 0xFFFF, module offsets 0): Excel compiles the source on
open, as it does for the vbaProject.bin files xlwings itself ships. Everything here is a pure function of the
module list, so building twice gives the same bytes.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

# --- MS-OVBA 2.4.1 compression ----------------------------------------------------------------------------------

_CHUNK = 4096


def _copy_token_layout(distance: int) -> tuple[int, int]:
    """(bit_count, maximum match length) for a match at `distance` bytes into the chunk (2.4.1.3.19.1)."""
    bit_count = max((distance - 1).bit_length(), 4)
    return bit_count, (0xFFFF >> bit_count) + 3


def _compress_chunk(chunk: bytes) -> bytes:
    out = bytearray()
    heads: dict[bytes, list[int]] = {}  # 3-byte prefix -> earlier positions in this chunk (newest last)
    pos, n = 0, len(chunk)
    while pos < n:
        flag_at = len(out)
        out.append(0)
        flags = 0
        for bit in range(8):
            if pos >= n:
                break
            best_len, best_off = 0, 0
            if pos + 3 <= n:
                _, max_len = _copy_token_layout(pos)
                for cand in reversed(heads.get(chunk[pos:pos + 3], ())[-64:]):
                    length = 3
                    limit = min(max_len, n - pos)
                    while length < limit and chunk[cand + length] == chunk[pos + length]:
                        length += 1
                    if length > best_len:
                        best_len, best_off = length, pos - cand
                        if length == limit:
                            break
            step = best_len if best_len >= 3 else 1
            if best_len >= 3:
                bit_count, _ = _copy_token_layout(pos)
                token = ((best_off - 1) << (16 - bit_count)) | (best_len - 3)
                out += struct.pack("<H", token)
                flags |= 1 << bit
            else:
                out.append(chunk[pos])
            for p in range(pos, min(pos + step, n - 2)):
                heads.setdefault(chunk[p:p + 3], []).append(p)
            pos += step
        out[flag_at] = flags
    return bytes(out)


def compress(data: bytes) -> bytes:
    """A CompressedContainer (MS-OVBA 2.4.1.1.1) holding `data`."""
    out = bytearray(b"\x01")
    for start in range(0, len(data), _CHUNK):
        chunk = data[start:start + _CHUNK]
        body = _compress_chunk(chunk)
        if len(body) <= _CHUNK:
            out += struct.pack("<H", 0xB000 | (len(body) + 2 - 3)) + body
        elif len(chunk) == _CHUNK:  # incompressible: a raw chunk, which is always exactly 4096 bytes
            out += struct.pack("<H", 0x3000 | (_CHUNK + 2 - 3)) + chunk
        else:  # a short raw chunk would be padded with zeros that decompress as source text
            raise ValueError("incompressible final chunk")
    return bytes(out)


def decompress(data: bytes) -> bytes:
    """The bytes inside a CompressedContainer (MS-OVBA 2.4.1.3.1)."""
    if not data or data[0] != 1:
        raise ValueError("not a compressed container")
    out, pos = bytearray(), 1
    while pos + 2 <= len(data):
        header = struct.unpack_from("<H", data, pos)[0]
        end = min(pos + (header & 0x0FFF) + 3, len(data))
        pos += 2
        start = len(out)
        if not header & 0x8000:
            out += data[pos:pos + _CHUNK]
            pos += _CHUNK
            continue
        while pos < end:
            flags = data[pos]
            pos += 1
            for bit in range(8):
                if pos >= end:
                    break
                if not (flags >> bit) & 1:
                    out.append(data[pos])
                    pos += 1
                    continue
                token = struct.unpack_from("<H", data, pos)[0]
                pos += 2
                bit_count, _ = _copy_token_layout(len(out) - start)
                length = (token & (0xFFFF >> bit_count)) + 3
                offset = (token >> (16 - bit_count)) + 1
                for _ in range(length):
                    out.append(out[-offset])
    return bytes(out)


def read_modules(vba_bin: bytes) -> dict[str, str]:
    """{module name: source} of a vbaProject.bin, ours or one Excel saved (with p-code before the source)."""
    import olefile
    ole = olefile.OleFileIO(vba_bin)
    d = decompress(ole.openstream("VBA/dir").read())
    pos, codepage, mods, current = 0, 1252, [], None
    while pos + 6 <= len(d):
        rid, size = struct.unpack_from("<HI", d, pos)
        if rid == 0x09:  # PROJECTVERSION: its size field says 4, but 6 bytes follow
            size = 6
        body = d[pos + 6:pos + 6 + size]
        pos += 6 + size
        if rid == 0x03:
            codepage = struct.unpack("<H", body)[0]
        elif rid == 0x19:
            current = {"name": body}
            mods.append(current)
        elif rid == 0x1A and current is not None:
            current["stream"] = body
        elif rid == 0x31 and current is not None:
            current["offset"] = struct.unpack("<I", body)[0]
        elif rid == 0x10:
            break
    enc = f"cp{codepage}"
    out = {}
    for m in mods:
        raw = ole.openstream("VBA/" + m["stream"].decode(enc)).read()
        out[m["name"].decode(enc)] = decompress(raw[m.get("offset", 0):]).decode(enc)
    return out


# --- MS-OVBA 2.4.3 data encryption (the CMG / DPB / GC lines of the PROJECT stream) -----------------------------

def _encrypt(data: bytes, project_id: str, seed: int) -> str:
    proj_key = sum(project_id.encode("ascii")) & 0xFF
    out = bytearray([seed, seed ^ 2, seed ^ proj_key])
    unenc1, enc1, enc2 = proj_key, seed ^ proj_key, seed ^ 2
    for b in bytes((seed & 6) // 2) + struct.pack("<I", len(data)) + data:  # ignored bytes, length, data
        e = b ^ ((enc2 + unenc1) & 0xFF)
        out.append(e)
        enc2, enc1, unenc1 = enc1, e, b
    return out.hex().upper()


# --- the VBA project --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Module:
    name: str
    source: str          # as VBA stores it: CRLF line ends, Attribute lines first
    kind: str = "module"  # module (.bas), class (.cls) or document (ThisWorkbook, sheets)


# Type libraries every Excel VBA project references; IRibbonControl lives in the Office library.
REFERENCES = (
    ("stdole", "*\\G{00020430-0000-0000-C000-000000000046}#2.0#0#C:\\Windows\\System32\\stdole2.tlb#OLE Automation"),
    ("Office", "*\\G{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}#2.0#0#C:\\Program Files\\Common Files\\Microsoft Shared"
               "\\OFFICE16\\MSO.DLL#Microsoft Office 16.0 Object Library"),
)
CODEPAGE = 1252  # module text is ASCII; Japanese strings live in Python, not in the VBA


def _rec(rid: int, data: bytes = b"") -> bytes:
    return struct.pack("<HI", rid, len(data)) + data


def _mbcs(s: str) -> bytes:
    return s.encode("cp1252")


def _utf16(s: str) -> bytes:
    return s.encode("utf-16-le")


def _dir_stream(modules: list[Module], project_name: str) -> bytes:
    d = bytearray()
    d += _rec(0x01, struct.pack("<I", 1))                 # SYSKIND: Win32 (Excel rewrites it for 64-bit)
    d += _rec(0x02, struct.pack("<I", 0x409))             # LCID
    d += _rec(0x14, struct.pack("<I", 0x409))             # LCIDINVOKE
    d += _rec(0x03, struct.pack("<H", CODEPAGE))
    d += _rec(0x04, _mbcs(project_name))
    d += _rec(0x05) + _rec(0x40)                          # doc string (MBCS, Unicode)
    d += _rec(0x06) + _rec(0x3D)                          # help file 1, 2
    d += _rec(0x07, struct.pack("<I", 0))                 # help context
    d += _rec(0x08, struct.pack("<I", 0))                 # lib flags
    d += struct.pack("<HIIH", 0x09, 4, 1, 0)              # PROJECTVERSION: Reserved=4, major, minor
    d += _rec(0x0C) + _rec(0x3C)                          # constants (MBCS, Unicode)
    for name, libid in REFERENCES:
        d += _rec(0x16, _mbcs(name)) + _rec(0x3E, _utf16(name))
        lib = _mbcs(libid)
        d += _rec(0x0D, struct.pack("<I", len(lib)) + lib + struct.pack("<IH", 0, 0))
    d += _rec(0x0F, struct.pack("<H", len(modules)))
    d += _rec(0x13, struct.pack("<H", 0xFFFF))            # project cookie
    for m in modules:
        d += _rec(0x19, _mbcs(m.name)) + _rec(0x47, _utf16(m.name))
        d += _rec(0x1A, _mbcs(m.name)) + _rec(0x32, _utf16(m.name))   # stream name = module name
        d += _rec(0x1C) + _rec(0x48)                      # doc string
        d += _rec(0x31, struct.pack("<I", 0))             # offset of the source in the stream: no p-code
        d += _rec(0x1E, struct.pack("<I", 0))             # help context
        d += _rec(0x2C, struct.pack("<H", 0xFFFF))        # cookie
        d += _rec(0x21 if m.kind == "module" else 0x22)   # procedural / document or class
        d += _rec(0x2B)                                   # module terminator
    d += _rec(0x10)                                       # dir terminator: id 0x0010 + Reserved 0 (6 bytes)
    return compress(bytes(d))


def _project_stream(modules: list[Module], project_id: str, project_name: str) -> bytes:
    lines = [f'ID="{project_id}"']
    for m in modules:
        lines.append({"document": f"Document={m.name}/&H00000000", "class": f"Class={m.name}"}
                     .get(m.kind, f"Module={m.name}"))
    lines += [f'Name="{project_name}"', 'HelpContextID="0"', 'VersionCompatible32="393222000"',
              # unprotected, no password, visible; fixed seeds keep the build deterministic
              'CMG="%s"' % _encrypt(struct.pack("<I", 0), project_id, 0x11),
              'DPB="%s"' % _encrypt(bytes([0x00]), project_id, 0x22),
              'GC="%s"' % _encrypt(bytes([0xFF]), project_id, 0x33),
              "", "[Host Extender Info]", "&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000",
              "", "[Workspace]"]
    lines += [f"{m.name}=0, 0, 0, 0, C" for m in modules]
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def _project_wm(modules: list[Module]) -> bytes:
    return b"".join(_mbcs(m.name) + b"\x00" + _utf16(m.name) + b"\x00\x00" for m in modules) + b"\x00\x00"


def vba_project(modules: list[Module], project_id: str = "{00000000-0000-0000-0000-000000000000}",
                project_name: str = "VBAProject") -> bytes:
    """The bytes of a vbaProject.bin holding `modules` (source only; Excel compiles on open)."""
    names = [m.name.lower() for m in modules]
    if len(set(names)) != len(names):
        raise ValueError("duplicate module name")
    vba = {"_VBA_PROJECT": b"\xcc\x61\xff\xff\x00\x00\x00", "dir": _dir_stream(modules, project_name)}
    for m in modules:
        vba[m.name] = compress(m.source.encode("cp1252"))
    return cfb({"PROJECT": _project_stream(modules, project_id, project_name),
                "PROJECTwm": _project_wm(modules), "VBA": vba})


# --- MS-CFB version 3 writer ------------------------------------------------------------------------------------

_SECTOR, _MINI, _CUTOFF = 512, 64, 4096
_FREE, _END, _FATSECT, _NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def _cfb_key(name: str):
    return len(name), name.upper()  # MS-CFB 2.6.4: shorter names first, then case-insensitive order


def cfb(tree: dict) -> bytes:
    """A compound file from {name: bytes | {name: ...}} (dicts are storages). No timestamps, all-black tree."""
    entries = [{"name": "Root Entry", "type": 5, "data": b"", "kids": []}]

    def add(parent: int, items: dict):
        for name in sorted(items, key=_cfb_key):
            v = items[name]
            entries.append({"name": name, "type": 1 if isinstance(v, dict) else 2,
                            "data": b"" if isinstance(v, dict) else v, "kids": []})
            i = len(entries) - 1
            entries[parent]["kids"].append(i)
            if isinstance(v, dict):
                add(i, v)
    add(0, tree)
    for e in entries:
        e.update(left=_NOSTREAM, right=_NOSTREAM, child=_NOSTREAM, start=_END, size=len(e["data"]))

    def balance(ids: list[int]) -> int:
        if not ids:
            return _NOSTREAM
        mid = len(ids) // 2
        entries[ids[mid]]["left"] = balance(ids[:mid])
        entries[ids[mid]]["right"] = balance(ids[mid + 1:])
        return ids[mid]
    for e in entries:
        if e["kids"]:
            e["child"] = balance(e["kids"])  # kids are already in CFB order

    # small streams go into the mini stream (64-byte mini sectors chained by the mini FAT)
    mini, minifat = bytearray(), []
    for e in entries:
        if e["type"] == 2 and 0 < e["size"] < _CUTOFF:
            n = -(-e["size"] // _MINI)
            e["start"] = len(minifat)
            minifat += [len(minifat) + k + 1 for k in range(n - 1)] + [_END]
            mini += e["data"] + b"\x00" * (n * _MINI - e["size"])
    entries[0]["size"] = len(mini)
    big = [e for e in entries if e["type"] == 2 and e["size"] >= _CUTOFF]

    def nsec(nbytes: int) -> int:
        return -(-nbytes // _SECTOR)
    n_dir = nsec(len(entries) * 128)
    n_minifat = nsec(len(minifat) * 4)
    n_mini = nsec(len(mini))
    n_data = n_dir + n_minifat + n_mini + sum(nsec(e["size"]) for e in big)
    n_fat = 1
    while n_fat * (_SECTOR // 4) < n_fat + n_data:
        n_fat += 1
    if n_fat > 109:
        raise ValueError("compound file too large for a header-only DIFAT")

    fat: list[int] = [_FATSECT] * n_fat
    blobs: list[bytes] = []

    def place(data: bytes, count: int) -> int:
        first = len(fat)
        fat.extend(list(range(first + 1, first + count)) + [_END])
        blobs.append(data + b"\x00" * (count * _SECTOR - len(data)))
        return first

    dir_start_at = len(fat)
    fat.extend(list(range(dir_start_at + 1, dir_start_at + n_dir)) + [_END])  # directory written last, below
    minifat_start = place(b"".join(struct.pack("<I", x) for x in minifat)
                          + struct.pack("<I", _FREE) * (n_minifat * _SECTOR // 4 - len(minifat)),
                          n_minifat) if n_minifat else _END
    if n_mini:
        entries[0]["start"] = place(bytes(mini), n_mini)
    for e in big:
        e["start"] = place(e["data"], nsec(e["size"]))
    fat += [_FREE] * (n_fat * _SECTOR // 4 - len(fat))

    directory = bytearray()
    for e in entries:
        name = _utf16(e["name"])
        directory += struct.pack("<64sHBBIII16sIQQIQ", name, len(name) + 2, e["type"], 1, e["left"], e["right"],
                                 e["child"], b"\x00" * 16, 0, 0, 0,
                                 0 if e["type"] == 1 else e["start"], e["size"])
    while len(directory) < n_dir * _SECTOR:
        directory += struct.pack("<64sHBBIII16sIQQIQ", b"", 0, 0, 0, _NOSTREAM, _NOSTREAM, _NOSTREAM,
                                 b"\x00" * 16, 0, 0, 0, 0, 0)

    header = struct.pack("<8s16sHHHHH6sIIIIIIIII", bytes.fromhex("D0CF11E0A1B11AE1"), b"\x00" * 16,
                         0x3E, 3, 0xFFFE, 9, 6, b"\x00" * 6, 0, n_fat, dir_start_at, 0, _CUTOFF,
                         minifat_start, n_minifat, _END, 0)
    header += b"".join(struct.pack("<I", i) for i in range(n_fat)) + struct.pack("<I", _FREE) * (109 - n_fat)
    fat_bytes = b"".join(struct.pack("<I", x) for x in fat)
    # sector order: FAT, directory, then the placed blobs in allocation order
    return header + fat_bytes + bytes(directory) + b"".join(blobs)
