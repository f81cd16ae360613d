"""An in-memory double of the xlwings objects the live engine uses (no Excel on Linux).

Each class stands for one xlwings class (`XW`). Its public methods must exist there, and every call is bound to
xlwings' own signature (`inspect.signature`) before it runs, so a call that xlwings would refuse (a misspelt
keyword, a missing argument) fails here too; its properties must be properties there, and setting an attribute
xlwings does not have fails. Excel's own COM objects (`sheet.api.PageSetup`) are not part of xlwings: the double
knows their few properties by the names Microsoft documents.

The double keeps the state a user would see (values, formats, drop-downs, rules, charts, pictures, page setup) so
the contract tests can ask the same questions of it as of a saved file.
"""
from __future__ import annotations

import functools
import inspect
from pathlib import Path

import xlwings.main as xw

from xlcrm.book.base import _parse_cell, col_letter

CHAR_WIDTH_PT, ROW_HEIGHT_PT = 5.25, 15.0       # Excel's defaults for Calibri 11 (positions of charts)


def _checked(cls):
    """Bind every public method of a double to its xlwings counterpart's signature; check its properties."""
    real = cls.XW
    for name, attr in list(vars(cls).items()):
        if name.startswith("_") and name not in ("__iter__", "__len__", "__getitem__"):
            continue
        if name == "XW":
            continue
        assert hasattr(real, name), f"xlwings.{real.__name__} has no {name}"
        if isinstance(attr, property):
            assert isinstance(inspect.getattr_static(real, name), property), f"{real.__name__}.{name}"
        elif callable(attr):
            setattr(cls, name, _bound(inspect.signature(getattr(real, name)), attr))
    return cls


def _bound(sig, fn):
    @functools.wraps(fn)
    def call(self, *args, **kwargs):
        sig.bind(self, *args, **kwargs)      # TypeError exactly where xlwings would raise it
        return fn(self, *args, **kwargs)
    return call


class _Double:
    XW = object

    def __setattr__(self, name, value):
        if not name.startswith("_"):
            prop = inspect.getattr_static(self.XW, name, None)
            if not isinstance(prop, property) or prop.fset is None:
                raise AttributeError(f"xlwings.{self.XW.__name__}.{name} cannot be set")
        object.__setattr__(self, name, value)


def _colour(v):
    """xlwings colours: '#RRGGBB', (r, g, b) or an int; kept as 'RRGGBB'."""
    if isinstance(v, tuple):
        return "".join(f"{x:02X}" for x in v)
    if isinstance(v, str):
        return v.lstrip("#").upper()
    return v


# --- cells ----------------------------------------------------------------------------------------------------------

def _areas(cell1, cell2=None) -> list[tuple[int, int, int, int]]:
    """(r0, c0, r1, c1) per area of an xlwings range address."""
    if isinstance(cell1, Range):
        first = cell1._areas[0]
    elif isinstance(cell1, tuple):
        first = (cell1[0], cell1[1], cell1[0], cell1[1])
    else:
        out = []
        for part in str(cell1).replace("$", "").split(","):
            a, _, b = part.partition(":")
            b = b or a
            if a.isdigit():                                   # "1:1": whole rows
                out.append((int(a), 1, int(b), 16384))
            elif a.isalpha():                                 # "A:A": whole columns
                out.append((1, _parse_cell(a + "1")[1], 1048576, _parse_cell(b + "1")[1]))
            else:
                (r0, c0), (r1, c1) = _parse_cell(a), _parse_cell(b)
                out.append((r0, c0, r1, c1))
        if cell2 is None:
            return out
        first = out[0]
    if cell2 is None:
        return [first]
    last = _areas(cell2)[0]
    return [(min(first[0], last[0]), min(first[1], last[1]), max(first[2], last[2]), max(first[3], last[3]))]


def _cells(areas):
    for r0, c0, r1, c1 in areas:
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                yield r, c


def _address(area) -> str:
    r0, c0, r1, c1 = area
    a = f"{col_letter(c0)}{r0}"
    return a if (r0, c0) == (r1, c1) else f"{a}:{col_letter(c1)}{r1}"


@_checked
class Font(_Double):
    XW = xw.Font

    def __init__(self, rng):
        self._rng = rng

    def _set(self, key, v):
        for rc in self._rng._all():
            self._rng._sheet._fonts.setdefault(rc, {})[key] = v

    bold = property(lambda self: self._rng._first(self._rng._sheet._fonts, {}).get("bold"),
                    lambda self, v: self._set("bold", v))
    size = property(lambda self: self._rng._first(self._rng._sheet._fonts, {}).get("size"),
                    lambda self, v: self._set("size", v))
    color = property(lambda self: self._rng._first(self._rng._sheet._fonts, {}).get("color"),
                     lambda self, v: self._set("color", _colour(v)))


@_checked
class Borders(_Double):
    XW = xw.Borders

    def __init__(self, rng):
        self._rng = rng

    def set(self, which="all", *, line_style=None, weight=None, color=None):
        for rc in self._rng._all():
            self._rng._sheet._borders[rc] = {"which": which, "line_style": line_style, "weight": weight,
                                             "color": _colour(color)}


@_checked
class DataValidation(_Double):
    XW = xw.DataValidation

    def __init__(self, rng):
        self._rng = rng

    def set_list(self, source, *, in_cell_dropdown=True):
        cells = set(self._rng._all())
        sh = self._rng._sheet
        for v in sh._validations:             # Excel keeps one validation per cell
            v["cells"] -= cells
        sh._validations = [v for v in sh._validations if v["cells"]]
        sh._validations.append({"cells": cells, "options": list(source), "address": self._rng.address})

    def delete(self):
        cells = set(self._rng._all())
        sh = self._rng._sheet
        for v in sh._validations:
            v["cells"] -= cells
        sh._validations = [v for v in sh._validations if v["cells"]]


@_checked
class ConditionalFormat(_Double):
    XW = xw.ConditionalFormat

    def __init__(self, sheet, cells, address, kind, formula=None, fill=None, colors=None):
        self._sheet, self._cells, self._address = sheet, cells, address
        self._type, self._formula, self._fill, self._colors = kind, formula, fill, colors

    type = property(lambda self: self._type)
    formula = property(lambda self: self._formula)
    fill_color = property(lambda self: self._fill)
    colors = property(lambda self: self._colors)

    def delete(self):
        self._sheet._rules.remove(self)


@_checked
class ConditionalFormats(_Double):
    XW = xw.ConditionalFormats

    def __init__(self, rng):
        self._rng = rng

    def _mine(self):
        areas = self._rng._areas
        return [rule for rule in self._rng._sheet._rules
                if any(r0 <= r <= r1 and c0 <= c <= c1 for r, c in rule._cells for r0, c0, r1, c1 in areas)]

    def __iter__(self):
        return iter(self._mine())

    def __len__(self):
        return len(self._mine())

    def __getitem__(self, key):
        return self._mine()[key]

    def add_custom(self, formula, *, fill_color=None, font_color=None, font_bold=None, font_italic=None,
                   stop_if_true=False):
        assert formula.startswith("="), formula
        rule = ConditionalFormat(self._rng._sheet, set(self._rng._all()), self._rng.address, "expression",
                                 formula=formula, fill=_colour(fill_color))
        self._rng._sheet._rules.append(rule)
        return rule

    def add_color_scale(self, colors, *, thresholds=None, threshold_type="number"):
        rule = ConditionalFormat(self._rng._sheet, set(self._rng._all()), self._rng.address, "color_scale",
                                 colors=[_colour(c) for c in colors])
        self._rng._sheet._rules.append(rule)
        return rule


class _Count:
    def __init__(self, n):
        self.count = n


@_checked
class Range(_Double):
    XW = xw.Range

    def __init__(self, sheet, areas, ndim=None):
        self._sheet, self._areas, self._ndim = sheet, areas, ndim

    def _all(self):
        r0, c0, r1, c1 = self._areas[0]
        if r1 - r0 > 5000 or c1 - c0 > 5000:      # a whole row or column: only the cells in use
            return [(r, c) for (r, c) in self._sheet._used_cells() if r0 <= r <= r1 and c0 <= c <= c1]
        return list(_cells(self._areas))

    def _first(self, store, default=None):
        r0, c0 = self._areas[0][:2]
        return store.get((r0, c0), default)

    def options(self, convert=None, **options):
        return Range(self._sheet, self._areas, options.get("ndim"))

    @property
    def value(self):
        r0, c0, r1, c1 = self._areas[0]
        grid = [[self._sheet._values.get((r, c)) for c in range(c0, c1 + 1)] for r in range(r0, r1 + 1)]
        if self._ndim == 2:
            return grid
        if len(grid) == 1 and len(grid[0]) == 1:
            return grid[0][0]
        if self._ndim == 1 or len(grid) == 1:
            return grid[0] if len(grid) == 1 else [row[0] for row in grid]
        return grid

    @value.setter
    def value(self, v):
        r0, c0 = self._areas[0][:2]
        rows = v if isinstance(v, list) and v and isinstance(v[0], list) else [v if isinstance(v, list) else [v]]
        for i, row in enumerate(rows):
            for j, x in enumerate(row):
                if isinstance(x, str) and x.startswith("'"):
                    x = x[1:]                     # Excel keeps the text, not the apostrophe
                elif isinstance(x, str) and x[:1] == "=":
                    raise AssertionError(f"{x!r} would become a formula")
                if x is None or x == "":
                    self._sheet._values.pop((r0 + i, c0 + j), None)
                else:
                    self._sheet._values[(r0 + i, c0 + j)] = x

    @property
    def number_format(self):
        return self._first(self._sheet._formats, "General")

    @number_format.setter
    def number_format(self, fmt):
        for rc in self._all():
            self._sheet._formats[rc] = fmt

    @property
    def column_width(self):
        return self._sheet._widths.get(self._areas[0][1])

    @column_width.setter
    def column_width(self, w):
        for c in range(self._areas[0][1], self._areas[0][3] + 1):
            self._sheet._widths[c] = w

    @property
    def row_height(self):
        return self._sheet._heights.get(self._areas[0][0], ROW_HEIGHT_PT)

    @row_height.setter
    def row_height(self, h):
        for r in range(self._areas[0][0], self._areas[0][2] + 1):
            self._sheet._heights[r] = h

    @property
    def horizontal_alignment(self):
        return self._first(self._sheet._align)

    @horizontal_alignment.setter
    def horizontal_alignment(self, v):
        assert v in ("general", "left", "center", "right", "fill", "justify", "center_across_selection",
                     "distributed"), v
        for rc in self._all():
            self._sheet._align[rc] = v

    @property
    def color(self):
        return self._first(self._sheet._fills)

    @color.setter
    def color(self, v):
        for rc in self._all():
            self._sheet._fills[rc] = _colour(v)

    font = property(lambda self: Font(self))
    borders = property(lambda self: Borders(self))
    data_validation = property(lambda self: DataValidation(self))
    conditional_formats = property(lambda self: ConditionalFormats(self))
    row = property(lambda self: self._areas[0][0])
    column = property(lambda self: self._areas[0][1])
    rows = property(lambda self: _Count(self._areas[0][2] - self._areas[0][0] + 1))
    address = property(lambda self: ",".join(_address(a) for a in self._areas))
    left = property(lambda self: sum(self._sheet._widths.get(c, 8.43) * CHAR_WIDTH_PT
                                     for c in range(1, self._areas[0][1])))
    top = property(lambda self: sum(self._sheet._heights.get(r, ROW_HEIGHT_PT) for r in range(1, self._areas[0][0])))

    def clear_contents(self):
        for rc in self._all():
            self._sheet._values.pop(rc, None)


# --- charts and pictures --------------------------------------------------------------------------------------------

@_checked
class ChartAxis(_Double):
    XW = xw.ChartAxis

    def __init__(self):
        self._state = {}

    reverse_order = property(lambda self: self._state.get("reverse_order", False),
                             lambda self, v: self._state.__setitem__("reverse_order", v))
    number_format = property(lambda self: self._state.get("number_format"),
                             lambda self, v: self._state.__setitem__("number_format", v))
    minimum_scale = property(lambda self: self._state.get("minimum_scale"),
                             lambda self, v: self._state.__setitem__("minimum_scale", v))


@_checked
class ChartLegend(_Double):
    XW = xw.ChartLegend

    def __init__(self):
        self._visible, self._position = True, "right"

    visible = property(lambda self: self._visible, lambda self, v: object.__setattr__(self, "_visible", v))
    position = property(lambda self: self._position, lambda self, v: object.__setattr__(self, "_position", v))


@_checked
class ChartSeries(_Double):
    XW = xw.ChartSeries

    def __init__(self, values: str):
        self._values, self._name, self._fill, self._line = values, None, None, None

    name = property(lambda self: self._name, lambda self, v: object.__setattr__(self, "_name", v))
    fill_color = property(lambda self: self._fill, lambda self, v: object.__setattr__(self, "_fill", _colour(v)))
    line_color = property(lambda self: self._line, lambda self, v: object.__setattr__(self, "_line", _colour(v)))


@_checked
class ChartSeriesCollection(_Double):
    XW = xw.ChartSeriesCollection

    def __init__(self, items):
        self._items = items

    def __iter__(self):
        return iter(self._items)

    def __len__(self):
        return len(self._items)

    def __getitem__(self, key):
        return self._items[key]


CHART_TYPES = {"bar_clustered", "bar_stacked", "column_clustered", "column_stacked", "line", "line_markers"}


@_checked
class Chart(_Double):
    XW = xw.Chart

    def __init__(self, sheet, left, top, width, height):
        self._sheet, self._box = sheet, (left, top, width, height)
        self._type, self._title, self._series = None, None, []
        self._legend, self._cat, self._val = ChartLegend(), ChartAxis(), ChartAxis()
        self._categories = None

    @property
    def chart_type(self):
        return self._type

    @chart_type.setter
    def chart_type(self, v):
        assert v in CHART_TYPES, v
        object.__setattr__(self, "_type", v)

    title = property(lambda self: self._title, lambda self, v: object.__setattr__(self, "_title", v))
    legend = property(lambda self: self._legend)
    category_axis = property(lambda self: self._cat)
    value_axis = property(lambda self: self._val)
    series = property(lambda self: ChartSeriesCollection(self._series))
    left = property(lambda self: self._box[0])
    top = property(lambda self: self._box[1])
    width = property(lambda self: self._box[2])
    height = property(lambda self: self._box[3])

    def set_source_data(self, source, plot_by=None):
        """Excel's reading of a two-area source: the first area is the categories, each column of the second a
        series (by columns); a first row of text holds the series names."""
        assert isinstance(source, Range) and len(source._areas) == 2, "categories and values, as two areas"
        cat, val = source._areas
        assert (cat[0], cat[2]) == (val[0], val[2]), "categories and values cover the same rows"
        names = [self._sheet._values.get((val[0], c)) for c in range(val[1], val[3] + 1)]
        top = val[0] + 1 if all(isinstance(n, str) for n in names) else val[0]
        series = [ChartSeries(_address((top, c, val[2], c))) for c in range(val[1], val[3] + 1)]
        for s, n in zip(series, names):
            if top > val[0]:
                s.name = n
        object.__setattr__(self, "_categories", _address((top, cat[1], cat[2], cat[3])))
        object.__setattr__(self, "_series", series)

    def delete(self):
        self._sheet._charts.remove(self)


@_checked
class Charts(_Double):
    XW = xw.Charts

    def __init__(self, sheet):
        self._sheet = sheet

    def __iter__(self):
        return iter(list(self._sheet._charts))

    def __len__(self):
        return len(self._sheet._charts)

    def __getitem__(self, key):
        return self._sheet._charts[key]

    def add(self, left=0, top=0, width=355, height=211, chart_type=None, source=None, plot_by=None, name=None,
            anchor=None, style=227):
        c = Chart(self._sheet, left, top, width, height)
        self._sheet._charts.append(c)
        return c


@_checked
class Picture(_Double):
    XW = xw.Picture

    def __init__(self, sheet, name, png, anchor, width, height):
        self._sheet, self._name, self._png, self._anchor = sheet, name, png, anchor
        self._size = (width, height)

    name = property(lambda self: self._name)
    width = property(lambda self: self._size[0])
    height = property(lambda self: self._size[1])

    def delete(self):
        self._sheet._pictures.remove(self)


@_checked
class Pictures(_Double):
    XW = xw.Pictures

    def __init__(self, sheet):
        self._sheet = sheet

    def __iter__(self):
        return iter(list(self._sheet._pictures))

    def __len__(self):
        return len(self._sheet._pictures)

    def __getitem__(self, key):
        return self._sheet._pictures[key]

    def add(self, image, link_to_file=False, save_with_document=True, left=None, top=None, width=None, height=None,
            name=None, update=False, scale=None, format=None, anchor=None, export_options=None):
        png = Path(image).read_bytes()          # xlwings reads the file while adding it
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        old = next((p for p in self._sheet._pictures if name and p.name == name), None)
        if old is not None:
            assert update, f"a picture named {name} exists (xlwings raises unless update=True)"
            old.delete()
        p = Picture(self._sheet, name, png, anchor.address if anchor is not None else None, width, height)
        self._sheet._pictures.append(p)
        return p


# --- tables ---------------------------------------------------------------------------------------------------------

@_checked
class Table(_Double):
    XW = xw.Table

    def __init__(self, sheet, name, area):
        self._sheet, self._name, self._area = sheet, name, area

    name = property(lambda self: self._name)
    range = property(lambda self: Range(self._sheet, [self._area]))
    header_row_range = property(lambda self: Range(self._sheet, [(self._area[0], self._area[1], self._area[0],
                                                                   self._area[3])]))

    @property
    def data_body_range(self):
        r0, c0, r1, c1 = self._area
        return None if r1 == r0 else Range(self._sheet, [(r0 + 1, c0, r1, c1)])

    def resize(self, range):
        object.__setattr__(self, "_area", range._areas[0])


@_checked
class Tables(_Double):
    XW = xw.Tables

    def __init__(self, sheet):
        self._sheet = sheet

    def __iter__(self):
        return iter(list(self._sheet._tables))

    def __len__(self):
        return len(self._sheet._tables)

    def __getitem__(self, key):
        return self._sheet._tables[key] if isinstance(key, int) else next(t for t in self._sheet._tables
                                                                            if t.name == key)

    def add(self, source=None, name=None, source_type=None, link_source=None, has_headers=True, destination=None,
            table_style_name="TableStyleMedium2"):
        t = Table(self._sheet, name, source._areas[0])
        self._sheet._tables.append(t)
        return t


# --- Excel's COM PageSetup (not part of xlwings: the properties Microsoft documents) ------------------------------

PAGE_SETUP_PROPERTIES = {"Orientation", "Zoom", "FitToPagesWide", "FitToPagesTall", "PaperSize", "PrintTitleRows",
                         "PrintArea", "CenterHorizontally", "LeftMargin", "RightMargin", "TopMargin", "BottomMargin"}


class ComPageSetup:
    def __init__(self):
        object.__setattr__(self, "state", {})

    def __setattr__(self, name, value):
        if name not in PAGE_SETUP_PROPERTIES:
            raise AttributeError(f"Excel's PageSetup has no {name}")
        self.state[name] = value


class ComRow:
    """A row of Excel's Worksheet.Rows(n): what HPageBreaks.Add takes as Before."""

    def __init__(self, n: int):
        self.Row = n


class ComHPageBreaks:
    """Excel's Worksheet.HPageBreaks: Add(Before) puts a manual page break above the row `Before` starts."""

    def __init__(self):
        self.rows: list[int] = []

    def Add(self, Before):
        assert isinstance(Before, ComRow), Before
        self.rows.append(Before.Row)
        return self

    @property
    def Count(self):
        return len(self.rows)


class ComSheet:
    """Excel's Worksheet object: its PageSetup, HPageBreaks / Rows / ResetAllPageBreaks, and Visible (-1 shown,
    0 hidden, 2 very hidden)."""

    def __init__(self, sheet=None):
        object.__setattr__(self, "PageSetup", ComPageSetup())
        object.__setattr__(self, "HPageBreaks", ComHPageBreaks())
        object.__setattr__(self, "_sheet", sheet)

    def Rows(self, n: int) -> ComRow:
        return ComRow(n)

    def ResetAllPageBreaks(self):
        self.HPageBreaks.rows.clear()

    def __setattr__(self, name, value):
        if name != "Visible":
            raise AttributeError(f"the double's Worksheet has no {name}")
        assert value in (-1, 0, 2, True, False), value
        object.__setattr__(self._sheet, "_visible", {-1: True, 0: False, 2: "very"}.get(value, value))

    @property
    def Visible(self):
        v = self._sheet._visible
        return 2 if v == "very" else -1 if v else 0


@_checked
class PageSetup(_Double):
    XW = xw.PageSetup

    def __init__(self, sheet):
        self._sheet = sheet

    print_area = property(lambda self: self._sheet.api.PageSetup.state.get("PrintArea"),
                          lambda self, v: self._sheet.api.PageSetup.state.__setitem__("PrintArea", v))


# --- sheets and the book --------------------------------------------------------------------------------------------

@_checked
class Sheet(_Double):
    XW = xw.Sheet

    def __init__(self, book, name):
        self._book, self._name = book, name
        self._visible = True
        self._reset()

    def _reset(self):
        for k in ("_values", "_formats", "_fonts", "_align", "_fills", "_borders", "_widths", "_heights"):
            object.__setattr__(self, k, {})
        for k in ("_validations", "_rules", "_charts", "_pictures", "_tables"):
            object.__setattr__(self, k, [])
        object.__setattr__(self, "_api", ComSheet(self))

    def _used_cells(self):
        keys = set(self._values) | set(self._formats) | set(self._fonts) | set(self._fills)
        return sorted(keys)

    name = property(lambda self: self._name)
    visible = property(lambda self: self._visible, lambda self, v: object.__setattr__(self, "_visible", v))
    api = property(lambda self: self._api)
    tables = property(lambda self: Tables(self))
    charts = property(lambda self: Charts(self))
    pictures = property(lambda self: Pictures(self))
    page_setup = property(lambda self: PageSetup(self))
    cells = property(lambda self: Range(self, [(1, 1, 1048576, 16384)]))

    @property
    def used_range(self):
        if not self._values:
            return Range(self, [(1, 1, 1, 1)])
        rows = [r for r, _ in self._values]
        cols = [c for _, c in self._values]
        return Range(self, [(min(rows), min(cols), max(rows), max(cols))])

    def range(self, cell1, cell2=None):
        return Range(self, _areas(cell1, cell2))

    def clear(self):
        """Excel's Sheet.Cells.Clear: values, formats, validations and conditional formats go; charts and
        pictures (shapes) stay."""
        keep = {k: getattr(self, k) for k in ("_charts", "_pictures", "_tables")}
        self._reset()
        for k, v in keep.items():
            object.__setattr__(self, k, v)


@_checked
class Sheets(_Double):
    XW = xw.Sheets

    def __init__(self, book):
        self._book = book

    def __iter__(self):
        return iter(list(self._book._sheets))

    def __len__(self):
        return len(self._book._sheets)

    def __getitem__(self, key):
        if isinstance(key, int):
            return self._book._sheets[key]
        for s in self._book._sheets:
            if s.name.lower() == key.lower():
                return s
        raise KeyError(key)

    def add(self, name=None, before=None, after=None):
        assert name not in [s.name for s in self._book._sheets], f"Excel refuses a second sheet {name}"
        s = Sheet(self._book, name)
        at = self._book._sheets.index(after) + 1 if after is not None else (
            self._book._sheets.index(before) if before is not None else 0)
        self._book._sheets.insert(at, s)
        return s


@_checked
class Book(_Double):
    XW = xw.Book

    def __init__(self, *sheet_names, fullname="CRM.xlsm"):
        self._fullname = fullname
        self._sheets = []
        for n in sheet_names or ("Sheet1",):
            self._sheets.append(Sheet(self, n))

    sheets = property(lambda self: Sheets(self))
    fullname = property(lambda self: self._fullname)

