"""The workbook layer: a book seen as tables, through one of two engines.

`open_book(path)` gives the file engine (calamine reads, the package edited in place, atomic save with backup);
`open_book(xw_book)` gives the live engine over a running Excel (used by the ribbon). Both offer the same methods.
Importing the package loads no pandas (ahead.py starts reading before it is loaded).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import Book


def __getattr__(name: str):
    if name in ("JOURNAL", "Book", "TableLoc"):
        from . import base
        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_book(target, **kwargs) -> Book:
    """A Book for a path (file engine) or an xlwings Book (live engine)."""
    if isinstance(target, (str, bytes)) or hasattr(target, "__fspath__"):
        from .file import FileBook
        return FileBook(target, **kwargs)
    from .live import LiveBook
    return LiveBook(target, **kwargs)


def sharing_reads():
    """For a run of jobs on one book in one process (the demo): a large sheet that no job changes is read once."""
    from .file import sharing_reads as sharing
    return sharing()


__all__ = ["open_book", "sharing_reads", "Book", "TableLoc", "JOURNAL"]
