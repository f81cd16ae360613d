"""A generated report sheet as a value: blocks of cells, how to dress them, and the charts over them.

A report job computes its figures, lays them out as a `Report` and hands it to `book.write_report(sheet, report)`,
which blanks the sheet and draws everything through the engine's primitives. Nothing here knows an engine.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Chart:
    """A native chart over cells of the sheet.

    `values` is one or more columns ("B6:B10", "B64:D88"); with `series_in_first_row` its first row holds the
    series names (and `categories` starts one row lower). Colours are hex RGB per series; `dashes` per series of a
    line chart (None, "dash", "sysDot"); `legend` None (none), "bottom" or "right"; `y_min` None lets the engine
    scale the value axis (bars start at zero: an automatic scale magnifies small gaps)."""

    kind: str                       # "bar" | "line"
    anchor: str
    title: str
    values: str
    categories: str
    series_name: str = ""
    series_in_first_row: bool = False
    horizontal: bool = True         # bars: horizontal, read top-down in sheet order when `top_down`
    top_down: bool = True
    stacked: bool = False
    number_format: str | None = "#,##0"
    colors: tuple = ("2E75B6",)
    dashes: tuple = ()
    legend: str | None = None
    y_min: float | None = 0
    gridlines: bool = False
    gap_width: int = 40
    width_cm: float = 15.0
    height_cm: float = 7.5

    @property
    def capability(self) -> str:
        return f"{self.kind}_charts"


@dataclass(frozen=True)
class Picture:
    """A PNG placed at `anchor` (the live engine's stand-in for charts it does not draw natively)."""

    name: str
    anchor: str
    png: bytes
    width_cm: float
    height_cm: float


@dataclass
class Report:
    """What a report sheet shows. `blocks`: (top-left cell, rows of values); `bold`, `notes` (small grey) and
    `centre` list cells or ranges; `title` is the large title cell. `color_scales`: ranges tinted white → blue.
    `pictures`, when given, renders pictures to place instead of the charts and colour scales on an engine that
    lacks one of them (called only then: rendering is slow)."""

    blocks: list[tuple[str, list[list]]]
    number_formats: dict[str, str] = field(default_factory=dict)
    bold: list[str] = field(default_factory=list)
    title: str | None = "A1"
    notes: list[str] = field(default_factory=list)
    centre: list[str] = field(default_factory=list)
    widths: dict[str, float] = field(default_factory=dict)
    charts: list[Chart] = field(default_factory=list)
    color_scales: list[str] = field(default_factory=list)
    pictures: Callable[[], list[Picture]] | None = None
    # rows that begin a new printed page (a block of tables on pages of its own, never split from its header);
    # drawn by engines offering "page_breaks"
    page_breaks: list[int] = field(default_factory=list)
