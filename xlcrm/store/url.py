"""Store addresses as staff and admins write them: `workbook`, `duckdb:<file>`, `postgresql://…`.

A password never comes from the workbook: it comes from the URL typed on the command line, the libpq password file
(~/.pgpass, PGPASSFILE) or service file (PGSERVICEFILE, `postgresql:///?service=crm`), or the OS keyring
(service "xlcrm", user name = the URL without its password) when the `keyring` package is installed. Every message
shows an address through `redact`, so no secret is ever printed or logged.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ..messages import XlcrmError

WORKBOOK = "workbook"
KINDS = ("workbook", "duckdb", "postgresql")


class StoreError(XlcrmError):
    """A store that cannot be used as given (bad address, refused credentials, server gone): the message names
    what to fix, never a password. Exit 2 (the user fixes the address or the connection file)."""

    exit_code = 2


class StoreBusy(StoreError):
    """A DuckDB file another program is writing (DuckDB lets one process write a file at a time): like a workbook
    open elsewhere, exit 3 — wait, or share through PostgreSQL."""

    exit_code = 3


@dataclass(frozen=True)
class StoreURL:
    kind: str              # workbook | duckdb | postgresql
    target: str            # the DuckDB file, or the libpq URL (with its password, when one was typed)

    @property
    def shown(self) -> str:
        """The address as messages show it: a password replaced by ***."""
        return redact(self.target if self.kind != "duckdb" else f"duckdb:{self.target}")


def redact(url: str) -> str:
    """`url` with any password replaced by *** (user:secret@host → user:***@host; password=… → password=***)."""
    s = re.sub(r"(?i)(password=)[^&\s]*", r"\1***", str(url))
    try:
        parts = urlsplit(s)
    except ValueError:
        return re.sub(r"//([^:/@]*):[^@]*@", r"//\1:***@", s)
    if parts.password is not None:
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        netloc = f"{parts.username or ''}:***@{host}"
        s = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return s


def parse(url: str | None) -> StoreURL:
    """The store an address names; StoreError('store_bad_url') for anything else."""
    s = (url or "").strip()
    low = s.lower()
    if low in ("", WORKBOOK, "ブック", "book"):
        return StoreURL(WORKBOOK, "")
    if low.startswith("duckdb:"):
        path = s[len("duckdb:"):]
        if path.startswith("//"):
            path = path[2:]
        if not path or path == ":memory:":
            raise StoreError("store_bad_url", url=redact(s))
        return StoreURL("duckdb", str(Path(path).expanduser()))
    if low.startswith(("postgresql://", "postgres://", "postgresql:", "postgres:")):
        try:
            parts = urlsplit(s)
            parts.port   # noqa: B018 — a port that is not a number raises here
        except ValueError:
            raise StoreError("store_bad_url", url=redact(s)) from None
        return StoreURL("postgresql", s)
    raise StoreError("store_bad_url", url=redact(s))


def chosen(settings_value: str | None = None) -> StoreURL:
    """The store in force: `--store` (carried in XLCRM_STORE), else 設定「保存先」, else the workbook."""
    return parse(os.environ.get("XLCRM_STORE") or settings_value)


def keyring_password(url: str) -> str | None:
    """The password the OS keyring holds for `url` (service "xlcrm"), when keyring is installed and has one."""
    try:
        import keyring
    except ImportError:
        return None
    try:
        return keyring.get_password("xlcrm", redact(url).replace(":***@", "@"))
    except Exception:  # noqa: BLE001 — no backend on this machine: libpq's own files still apply
        return None
