"""Jobs: one function per user action — read tables, call the core, write the tables the job owns.

The ribbon button, the CLI subcommand and the tests call the same job. `JOBS` maps a ribbon tag to the job's
import path, so the ribbon dispatcher and the CLI need no import of every domain up front.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class JobResult:
    """What a job did: a short summary in both languages and counts for tests and the status bar."""

    summary_ja: str
    summary_en: str
    counts: dict = field(default_factory=dict)

    def summary(self, lang: str = "ja") -> str:
        return self.summary_en if lang == "en" else self.summary_ja


# ribbon tag -> "module:function"; each function has the signature job(book, settings, **options) -> JobResult
JOBS: dict[str, str] = {
}
