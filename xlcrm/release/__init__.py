"""`xlcrm release --out DIR`: the folder a shop sets Windows + Excel up from, with no package index for xlcrm.

DIR gets the xlcrm wheel (built from this source tree with pip; every data file of the package is checked to be
in it), CRM.xlsm (built from sources exactly as `xlcrm build-workbook` does: the build is deterministic, so it
equals a current workbook/CRM.xlsm), setup.bat + setup.ps1 (the templates beside this file: find a python.org
Python 3.11+, make a private venv under %LOCALAPPDATA%, install the wheel and the exact xlwings the workbook's
VBA loads, point xlwings.conf at that venv, remove the Mark of the Web) and はじめにお読みください.txt.
With `with_deps`, DIR/wheels gets the Windows wheels of every dependency for the given Python versions, so the
set-up needs no network at all.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..messages import BadInput, XlcrmError, text

HERE = Path(__file__).parent
PACKAGE = HERE.parent
README_NAME = "はじめにお読みください.txt"
PYTHONS = ("3.11", "3.12", "3.13")
_BOM = "\ufeff"


@dataclass
class Release:
    folder: Path
    wheel: Path
    workbook: Path
    deps: list[Path] = field(default_factory=list)
    pythons: tuple[str, ...] = ()
    seconds: float = 0.0

    def summary(self, lang: str | None = None) -> str:
        lines = [text("rel_done", lang, path=self.folder, seconds=self.seconds)]
        for p in (self.wheel, self.workbook, self.folder / "setup.bat", self.folder / "setup.ps1",
                  self.folder / README_NAME):
            lines.append(f"  {p.name}  ({_size(p.stat().st_size)})")
        if self.deps:
            lines.append(text("rel_deps", lang, n=len(self.deps), pythons=", ".join(self.pythons),
                              size=_size(sum(p.stat().st_size for p in self.deps))))
        else:
            lines.append(text("rel_no_deps", lang))
        return "\n".join(lines)


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} KB"


# --- the source tree and its pins ------------------------------------------------------------------------------

def source_root() -> Path:
    """The checkout this package runs from: a wheel is built from sources, so an installed copy cannot release."""
    root = PACKAGE.parent
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file() or _pyproject(root).get("project", {}).get("name") != "xlcrm":
        raise XlcrmError("rel_no_source", path=root)
    return root


def _pyproject(root: Path) -> dict:
    return tomllib.loads((root / "pyproject.toml").read_text("utf-8"))


def pinned_xlwings(root: Path) -> str:
    """The X of `xlwings==X` in pyproject.toml; it must be the version the workbook's VBA is built for."""
    from ..build import XLWINGS_VERSION
    for dep in _pyproject(root)["project"]["dependencies"]:
        m = re.fullmatch(r"\s*xlwings\s*==\s*([0-9][\w.]*)\s*", dep)
        if m:
            if m.group(1) != XLWINGS_VERSION:
                raise RuntimeError(f"pyproject pins xlwings=={m.group(1)}; the workbook is built for {XLWINGS_VERSION}")
            return m.group(1)
    raise RuntimeError("pyproject.toml must pin xlwings==X (the workbook's VBA loads that version's DLL)")


# --- the wheel ---------------------------------------------------------------------------------------------------

def _pip(args: list[str], what: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "pip", *args, "--disable-pip-version-check"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-8:])
        raise XlcrmError("rel_pip_failed", what=what, detail=tail)


def package_files(package: Path = PACKAGE) -> list[str]:
    """Every file of the package as the wheel names it (xlcrm/...), bytecode caches left out."""
    return sorted(f"{package.name}/{p.relative_to(package).as_posix()}" for p in package.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")


def _has_build_backend(root: Path) -> bool:
    """Whether this Python already has what pyproject's [build-system] requires: then pip builds without an
    isolated environment (no download, a few seconds instead of half a minute)."""
    from importlib.metadata import PackageNotFoundError, version

    from packaging.requirements import Requirement
    for spec in _pyproject(root).get("build-system", {}).get("requires", []):
        req = Requirement(spec)
        try:
            if not req.specifier.contains(version(req.name), prereleases=True):
                return False
        except PackageNotFoundError:
            return False
    return True


def build_wheel(root: Path, out: Path) -> Path:
    """`pip wheel --no-deps` on a clean copy of the sources (a stale build/ in the checkout cannot leak in);
    refuses a wheel that lacks any file of the package (the ribbon XML, VBA sources, template.json, these
    set-up templates: whatever pyproject's package-data globs miss)."""
    with tempfile.TemporaryDirectory(prefix="xlcrm-wheel-") as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(root / name, src / name)
        shutil.copytree(root / "xlcrm", src / "xlcrm", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        isolation = ["--no-build-isolation"] if _has_build_backend(root) else []
        _pip(["wheel", "--no-deps", "--quiet", *isolation, "--wheel-dir", str(out), str(src)], "pip wheel")
    wheels = sorted(out.glob("xlcrm-*.whl"))
    if len(wheels) != 1:
        raise XlcrmError("rel_pip_failed", what="pip wheel", detail=", ".join(p.name for p in wheels) or "-")
    return check_wheel(wheels[0], root / "xlcrm")


def check_wheel(wheel: Path, package: Path) -> Path:
    """The wheel, if it holds every file of the package; else it is deleted and the missing files named."""
    with zipfile.ZipFile(wheel) as z:
        missing = sorted(set(package_files(package)) - set(z.namelist()))
    if missing:
        wheel.unlink()
        raise XlcrmError("rel_wheel_incomplete", n=len(missing), files=", ".join(missing[:5]))
    return wheel


def wheel_requirements(wheel: Path) -> list[str]:
    """Requires-Dist of a wheel (extras' requirements included, with their markers)."""
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        meta = z.read(name).decode("utf-8")
    return [line.split(":", 1)[1].strip() for line in meta.splitlines() if line.startswith("Requires-Dist:")]


# --- dependency wheels for Windows (optional) ---------------------------------------------------------------------

def _windows_env(python: str) -> dict:
    return {"python_version": python, "python_full_version": f"{python}.0", "sys_platform": "win32",
            "platform_system": "Windows", "os_name": "nt", "platform_machine": "AMD64",
            "implementation_name": "cpython", "platform_python_implementation": "CPython"}


def _windows_tags(python: str) -> set:
    from packaging import tags
    v = tuple(int(x) for x in python.split("."))
    return set(tags.cpython_tags(v, platforms=["win_amd64"])) | set(
        tags.compatible_tags(v, interpreter=f"cp{v[0]}{v[1]}", platforms=["win_amd64"]))


def missing_for_windows(requirements: list[str], wheel_dir: Path, python: str) -> list[str]:
    """Requirements (transitively, from the wheels' metadata) that no wheel in `wheel_dir` satisfies on 64-bit
    Windows CPython `python`. Needed because `pip download --platform` evaluates environment markers for this
    machine, not the target: xlwings' `pywin32; platform_system == "Windows"` is skipped on Linux."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name, parse_wheel_filename
    env, ok = _windows_env(python), _windows_tags(python)
    have: dict[str, list] = {}
    for w in wheel_dir.glob("*.whl"):
        name, version, _, wtags = parse_wheel_filename(w.name)
        if not ok.isdisjoint(wtags):
            have.setdefault(canonicalize_name(name), []).append((version, w))
    missing, seen = [], set()
    todo = [(Requirement(r), frozenset()) for r in requirements]
    while todo:
        req, extras = todo.pop()
        if req.marker is not None and not any(req.marker.evaluate({**env, "extra": e}) for e in (extras or {""})):
            continue
        bare = f"{req.name}{'[' + ','.join(sorted(req.extras)) + ']' if req.extras else ''}{req.specifier}"
        if bare in seen:
            continue
        seen.add(bare)
        fits = sorted((v, w) for v, w in have.get(canonicalize_name(req.name), [])
                      if req.specifier.contains(v, prereleases=True))
        if not fits:
            missing.append(bare)
            continue
        todo += [(Requirement(r), frozenset(req.extras)) for r in wheel_requirements(fits[-1][1])]
    return sorted(missing)


def download_windows_wheels(requirements: list[str], dest: Path, pythons: tuple[str, ...]) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    for python in pythons:
        todo, before = missing_for_windows(requirements, dest, python), None
        while todo:
            if todo == before:   # pip downloaded nothing that helps: say what cannot be had
                raise XlcrmError("rel_pip_failed", what=f"pip download (Python {python})", detail=", ".join(todo))
            _pip(["download", "--quiet", "--only-binary=:all:", "--platform", "win_amd64", "--implementation", "cp",
                  "--python-version", python, "--dest", str(dest), *todo], f"pip download (Python {python})")
            before, todo = todo, missing_for_windows(requirements, dest, python)
    return sorted(dest.glob("*.whl"))


# --- the folder --------------------------------------------------------------------------------------------------

def render(name: str, values: dict[str, str]) -> str:
    """A template beside this module with its @@KEY@@ placeholders filled; every one must be."""
    out = (HERE / name).read_text("utf-8")
    for key, value in values.items():
        out = out.replace(f"@@{key}@@", value)
    left = re.findall(r"@@\w+@@", out)
    if left:
        raise RuntimeError(f"{name}: unfilled {', '.join(sorted(set(left)))}")
    return out


def _write(path: Path, content: str, *, bom: bool) -> None:
    """CRLF line ends (cmd.exe misreads labels in LF-only batch files; Notepad and PowerShell accept both)."""
    body = content.replace("\r\n", "\n").replace("\n", "\r\n")
    path.write_bytes(((_BOM if bom else "") + body).encode("utf-8"))


def make_release(out: str | Path, *, with_deps: bool = False, pythons: tuple[str, ...] = PYTHONS) -> Release:
    start = time.perf_counter()
    folder = Path(out)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise BadInput(key="rel_not_empty", path=folder)
    for python in pythons:
        if not re.fullmatch(r"3\.1[1-9]", python):
            raise BadInput(key="rel_bad_python", version=python)
    root = source_root()
    xlwings_version = pinned_xlwings(root)
    folder.mkdir(parents=True, exist_ok=True)

    wheel = build_wheel(root, folder)
    version = wheel.name.split("-")[1]
    from ..build import build_workbook
    workbook = Path(build_workbook(folder / "CRM.xlsm"))

    deps: list[Path] = []
    if with_deps:
        deps = download_windows_wheels(wheel_requirements(wheel), folder / "wheels", pythons)

    values = {"XLWINGS_VERSION": xlwings_version, "XLCRM_VERSION": version, "WHEEL": wheel.name}
    _write(folder / "setup.ps1", render("setup.ps1", values), bom=True)      # Windows PowerShell 5.1 needs the BOM
    _write(folder / "setup.bat", render("setup.bat", values), bom=False)     # cmd would run the BOM as a command
    readme = {**values,
              "WHEELS_LINE": ("  wheels\\                      必要な部品一式(インターネットなしで入れられます)\n"
                              if deps else ""),
              "NETWORK_LINE": ("  ・インターネット接続は要りません(部品は wheels フォルダーにあります。"
                               f"Python {' / '.join(pythons)} 用)" if deps else
                               "  ・インターネット接続(セットアップのときだけ。必要な部品を取得します)")}
    _write(folder / README_NAME, render("README.txt", readme), bom=True)      # Notepad, any Windows version
    return Release(folder, wheel, workbook, deps, tuple(pythons) if deps else (), time.perf_counter() - start)
