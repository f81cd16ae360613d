"""The workbook's styles part, edited as text: cell formats are derived from existing ones and appended once.

A cell the file engine writes keeps its column's look (its cell format, `xf`) with only what the job asks changed —
a number format, bold, a fill. Each derived format is built as text in one canonical form and looked up before it
is appended, so running a job again finds the formats its last run added and the part stays byte for byte the same.
Everything else in the part (named styles, table styles, colours, other programs' extensions) is never touched.
"""
from __future__ import annotations

import re
from html import escape

from .package import attrs

# built-in number formats (ECMA-376 18.8.30) a job asks for by code
BUILTIN = {"General": 0, "0": 1, "0.00": 2, "#,##0": 3, "#,##0.00": 4, "0%": 9, "0.00%": 10, "@": 49}
MINIMAL_STYLES = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                  '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                  '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
                  '<fills count="2"><fill><patternFill patternType="none"/></fill>'
                  '<fill><patternFill patternType="gray125"/></fill></fills>'
                  '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
                  '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
                  '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
                  '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
                  "</styleSheet>")
_DATE_IDS = set(range(14, 23)) | set(range(27, 37)) | set(range(45, 48)) | set(range(50, 59))
_SECTIONS = ("numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles", "dxfs",
             "tableStyles", "colors", "extLst")


def is_date_format(code: str) -> bool:
    """Whether a number format code shows a date or time (quoted text and [colour] parts ignored)."""
    bare = re.sub(r'"[^"]*"|\[[^\]]*\]|\\.', "", code).lower()
    return bool(re.search(r"[ymdhse]", bare.replace("general", ""))) and "#" not in bare and "0.0" not in bare


class Styles:
    """styles.xml: cell formats by index, derived formats appended without duplicates."""

    def __init__(self, text: str):
        self.text = text
        m = re.search(r"<(\w+:)?styleSheet\b", text)
        self.p = (m.group(1) or "") if m else ""
        self.changed = False
        self._lists = {}

    # --- sections as lists of element texts --------------------------------------------------------------------
    def _span(self, name: str):
        """(start, content_start, content_end, end) of a section, or None."""
        p = re.escape(self.p)
        m = re.search(rf"<{p}{name}\b[^>]*?(/?)>", self.text)
        if m is None:
            return None
        if m.group(1):
            return m.start(), m.end(), m.end(), m.end()
        close = self.text.index(f"</{self.p}{name}>", m.end())
        return m.start(), m.end(), close, close + len(f"</{self.p}{name}>")

    def items(self, name: str, child: str) -> list[str]:
        if name not in self._lists:
            span = self._span(name)
            if span is None:
                self._lists[name] = []
            else:
                body = self.text[span[1]:span[2]]
                p = re.escape(self.p)
                pat = re.compile(rf"<{p}{child}\b(?:[^>]*?/>|[^>]*?>.*?</{p}{child}>)", re.S)
                self._lists[name] = [m.group(0) for m in pat.finditer(body)]
        return self._lists[name]

    def _append(self, name: str, child: str, element: str) -> int:
        """Append `element` to section `name` (created where the schema puts it when missing); its index."""
        items = self.items(name, child)
        if element in items:
            return items.index(element)
        span = self._span(name)
        if span is None:
            later = [s for s in _SECTIONS[_SECTIONS.index(name) + 1:]]
            at = None
            for s in later:
                sp = self._span(s)
                if sp is not None:
                    at = sp[0]
                    break
            if at is None:
                at = self.text.rindex(f"</{self.p}styleSheet>")
            self.text = self.text[:at] + f'<{self.p}{name} count="0"></{self.p}{name}>' + self.text[at:]
            span = self._span(name)
        start, cstart, cend, end = span
        if cstart == end:       # <dxfs count="0"/>
            head = self.text[start:end][:-2].rstrip() + ">"
            self.text = self.text[:start] + head + f"</{self.p}{name}>" + self.text[end:]
            start, cstart, cend, end = self._span(name)
        self.text = self.text[:cend] + element + self.text[cend:]
        items.append(element)
        head = self.text[start:cstart]
        new_head = re.sub(r'\scount="\d+"', f' count="{len(items)}"', head) if "count=" in head else head
        self.text = self.text[:start] + new_head + self.text[cstart:]
        self.changed = True
        return len(items) - 1

    # --- reading ---------------------------------------------------------------------------------------------
    def xf(self, s: int) -> dict:
        xfs = self.items("cellXfs", "xf")
        return attrs(xfs[s].split(">", 1)[0]) if 0 <= s < len(xfs) else {}

    def format_code(self, s: int) -> str:
        fid = int(self.xf(s).get("numFmtId", 0) or 0)
        for el in self.items("numFmts", "numFmt"):
            a = attrs(el)
            if int(a.get("numFmtId", -1)) == fid:
                return a.get("formatCode", "")
        inv = {v: k for k, v in BUILTIN.items()}
        return inv.get(fid, "yyyy/m/d" if fid in _DATE_IDS else "General")

    def is_date(self, s: int) -> bool:
        fid = int(self.xf(s).get("numFmtId", 0) or 0)
        return fid in _DATE_IDS or (fid >= 164 and is_date_format(self.format_code(s)))

    # --- deriving ----------------------------------------------------------------------------------------------
    def num_fmt_id(self, code: str) -> int:
        if code in BUILTIN:
            return BUILTIN[code]
        ids = []
        for el in self.items("numFmts", "numFmt"):
            a = attrs(el)
            ids.append(int(a.get("numFmtId", 0)))
            if a.get("formatCode") == code:
                return int(a["numFmtId"])
        new = max([163] + ids) + 1
        self._append("numFmts", "numFmt", f'<{self.p}numFmt numFmtId="{new}" formatCode="{escape(code)}"/>')
        return new

    def derive(self, s: int, *, num_fmt: str | None = None, font: tuple | None = None, fill: str | None = None,
               border: str | None = None, halign: str | None = None) -> int:
        """The index of the cell format `s` with the given changes (appended once, found again later).
        `font`: (bold, size or None to keep, colour or None to keep)."""
        xfs = self.items("cellXfs", "xf")
        if not xfs:
            self._append("cellXfs", "xf", f'<{self.p}xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>')
        base = xfs[s] if 0 <= s < len(xfs) else xfs[0]
        a = attrs(base.split(">", 1)[0])
        inner = base.split(">", 1)[1].rsplit("<", 1)[0] if not base.split(">", 1)[0].endswith("/") else ""
        if num_fmt is not None:
            a["numFmtId"] = str(self.num_fmt_id(num_fmt))
            a["applyNumberFormat"] = "1"
        if font is not None:
            a["fontId"] = str(self._font(int(a.get("fontId", 0) or 0), *font))
            a["applyFont"] = "1"
        if fill is not None:
            a["fillId"] = str(self._append("fills", "fill", f'<{self.p}fill><{self.p}patternFill patternType="solid">'
                                           f'<{self.p}fgColor rgb="FF{fill}"/><{self.p}bgColor indexed="64"/>'
                                           f'</{self.p}patternFill></{self.p}fill>'))
            a["applyFill"] = "1"
        if border is not None:
            side = "".join(f'<{self.p}{x} style="thin"><{self.p}color rgb="FF{border}"/></{self.p}{x}>'
                           for x in ("left", "right", "top", "bottom"))
            a["borderId"] = str(self._append("borders", "border",
                                             f"<{self.p}border>{side}<{self.p}diagonal/></{self.p}border>"))
            a["applyBorder"] = "1"
        if halign is not None:
            inner = re.sub(rf"<{re.escape(self.p)}alignment\b[^>]*/>", "", inner)
            inner = f'<{self.p}alignment horizontal="{halign}"/>' + inner
            a["applyAlignment"] = "1"
        order = ["numFmtId", "fontId", "fillId", "borderId", "xfId"]
        keys = [k for k in order if k in a] + sorted(k for k in a if k not in order)
        head = f"<{self.p}xf " + " ".join(f'{k}="{escape(a[k])}"' for k in keys)
        element = f"{head}>{inner}</{self.p}xf>" if inner else f"{head}/>"
        if element == base:
            return s if 0 <= s < len(xfs) else 0
        return self._append("cellXfs", "xf", element)

    def _font(self, f: int, bold: bool, size, color) -> int:
        fonts = self.items("fonts", "font")
        base = fonts[f] if 0 <= f < len(fonts) else (fonts[0] if fonts else f"<{self.p}font/>")
        inner = "" if base.split(">", 1)[0].endswith("/") else base.split(">", 1)[1].rsplit("<", 1)[0]
        p = re.escape(self.p)
        inner = re.sub(rf"<{p}b\b[^>]*/>", "", inner)
        add = f"<{self.p}b/>" if bold else ""
        if size is not None:
            inner = re.sub(rf"<{p}sz\b[^>]*/>", "", inner)
            add += f'<{self.p}sz val="{size:g}"/>'
        if color is not None:
            inner = re.sub(rf"<{p}color\b[^>]*/>", "", inner)
            add += f'<{self.p}color rgb="FF{color}"/>'
        return self._append("fonts", "font", f"<{self.p}font>{add}{inner}</{self.p}font>")

    def dxf_fill(self, color: str) -> int:
        """A differential format (for a conditional format) that tints the cell."""
        return self._append("dxfs", "dxf", f'<{self.p}dxf><{self.p}fill><{self.p}patternFill patternType="solid">'
                            f'<{self.p}fgColor rgb="FF{color}"/><{self.p}bgColor rgb="FF{color}"/>'
                            f"</{self.p}patternFill></{self.p}fill></{self.p}dxf>")

