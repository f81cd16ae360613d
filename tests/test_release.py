"""`xlcrm release`: the folder a shop sets Windows + Excel up from, tested as far as Linux allows.

The folder is built once for the module (pip wheel + workbook build). The wheel goes into a fresh venv through
the very pip line setup.ps1 runs, and the venv's Python then runs the xlcrm command lines that setup.ps1 runs,
with the variables filled in as on a Japanese PC (OneDrive\\ドキュメント, spaces, brackets). PowerShell itself
does not run here: setup.ps1 and setup.bat are parsed with real grammars (tree-sitter) and checked for the
Windows pitfalls (BOM, CRLF, -LiteralPath, typo'd variables that PowerShell would read as $null).
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

from xlcrm import doctor, release
from xlcrm.cli import main

ROOT = Path(__file__).resolve().parents[1]
PIN = next(re.fullmatch(r"xlwings==(.+)", d).group(1)
           for d in tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["dependencies"]
           if d.startswith("xlwings=="))
CONF_PYTHON = r"%LOCALAPPDATA%\xlcrm\venv\Scripts\python.exe"


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    out = tmp_path_factory.mktemp("release") / "xlcrm-配布 0.1"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["--lang", "ja", "release", "--out", str(out)]) == 0
    return out, buf.getvalue()


def _wheel(folder: Path) -> Path:
    (wheel,) = folder.glob("xlcrm-*.whl")
    return wheel


# --- the folder ----------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_release_folder_holds_what_a_shop_needs(released):
    folder, printed = released
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted([_wheel(folder).name, "CRM.xlsm", "setup.bat", "setup.ps1", release.README_NAME])
    assert "配布フォルダーを作りました" in printed and _wheel(folder).name in printed
    assert "PyPI" in printed   # says the dependencies are not in the folder
    # the wheel carries the package data the workbook and the ribbon need, not only .py files
    with zipfile.ZipFile(_wheel(folder)) as z:
        inside = set(z.namelist())
    for data in ("xlcrm/build/src/customUI.xml", "xlcrm/build/src/XlcrmRibbon.bas",
                 "xlcrm/build/src/ThisWorkbook.cls", "xlcrm/build/src/template.json",
                 "xlcrm/release/setup.ps1", "xlcrm/release/setup.bat", "xlcrm/release/README.txt"):
        assert data in inside
    assert set(release.package_files(ROOT / "xlcrm")) <= inside
    # CRM.xlsm: the macro workbook with its ribbon and the VBA of exactly the pinned xlwings
    book = folder / "CRM.xlsm"
    assert doctor.vba_xlwings_version(book) == PIN
    with zipfile.ZipFile(book) as z:
        assert {"customUI/customUI.xml", "xl/vbaProject.bin"} <= set(z.namelist())
    assert doctor.read_conf(book)[0] == ["Interpreter_Win", "python"]   # until setup.ps1 points it at the venv


def test_release_refuses_a_folder_that_is_not_empty(tmp_path, capsys):
    (tmp_path / "old.txt").write_text("x")
    assert main(["--lang", "en", "release", "--out", str(tmp_path)]) == 2
    assert "not an empty folder" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["old.txt"]
    assert main(["release", "--out", str(tmp_path / "new"), "--with-deps", "--python", "3.9"]) == 2
    assert not (tmp_path / "new").exists()


@pytest.mark.slow
def test_a_wheel_missing_package_data_is_refused(released, tmp_path, monkeypatch):
    # a package-data glob that misses a file (here: a .csv added to the package) must stop the release
    wheel = Path(shutil.copy2(_wheel(released[0]), tmp_path))
    assert release.check_wheel(wheel, ROOT / "xlcrm") == wheel
    real = release.package_files
    monkeypatch.setattr(release, "package_files", lambda p: real(p) + ["xlcrm/build/src/new-data.csv"])
    with pytest.raises(release.XlcrmError) as e:
        release.check_wheel(wheel, ROOT / "xlcrm")
    assert e.value.key == "rel_wheel_incomplete" and "new-data.csv" in e.value.message("en")
    assert not wheel.exists()


# --- the wheel in a fresh environment, driven by setup.ps1's own command lines --------------------------------

def _ps_tokens(script: str, start: str) -> list[str]:
    """The arguments of the one `& $VenvPython ...` line of setup.ps1 that begins with `start`."""
    lines = [ln.strip() for ln in script.splitlines() if ln.strip().startswith(f"& $VenvPython {start}")]
    assert len(lines) == 1, (start, lines)
    return lines[0].split()[2:]


def _fill(tokens: list[str], variables: dict[str, list[str]]) -> list[str]:
    """PowerShell's argument passing for these lines: $x is one argument, @x splats an array, quotes go."""
    out = []
    for t in tokens:
        if t[0] in "$@":
            out += variables[t[1:]]
        else:
            out.append(t.strip("'\""))
    return out


@pytest.fixture(scope="module")
def venv(released, tmp_path_factory):
    """A fresh venv with the released wheel, installed by setup.ps1's pip line. The dependencies come from this
    test run's environment through a .pth file added afterwards (the wheel carries none of them; downloading
    them again is what setup.ps1 does on Windows), so `import xlcrm` can only find the installed wheel."""
    folder, _ = released
    home = tmp_path_factory.mktemp("venv") / "環境 [test]"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(home)], check=True)
    python = home / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if subprocess.run([python, "-m", "pip", "--version"], capture_output=True).returncode != 0:
        pytest.skip("no pip for the test venv")
    script = (folder / "setup.ps1").read_text("utf-8-sig")
    pip = re.findall(r"'([^']+)'", re.search(r"^\$pip = @\((.*)\)$", script, re.M).group(1))
    args = _fill(_ps_tokens(script, "@pip --force-reinstall"), {"pip": pip, "Wheel": [str(_wheel(folder))]})
    assert args[-3:] == ["--force-reinstall", "--no-deps", str(_wheel(folder))]
    subprocess.run([python, *args], check=True, capture_output=True, cwd=home)
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python, home, script


@pytest.mark.slow
def test_the_installed_wheel_runs_the_command(venv):
    python, home, _ = venv
    where = subprocess.run([python, "-c", "import xlcrm.build as b; print(b.__file__); print(b.SRC.is_dir())"],
                           check=True, capture_output=True, text=True, cwd=home).stdout.split("\n")
    assert Path(where[0]).is_relative_to(home) and where[1] == "True"   # the wheel, with its data, not the checkout
    xlcrm = home / ("Scripts/xlcrm.exe" if os.name == "nt" else "bin/xlcrm")
    helptext = subprocess.run([xlcrm, "--help"], check=True, capture_output=True, text=True, cwd=home).stdout
    assert "set-interpreter" in helptext and "release" in helptext


@pytest.mark.slow
def test_setup_points_a_copy_in_a_japanese_onedrive_folder_at_the_venv(released, venv, tmp_path, monkeypatch):
    folder, _ = released
    python, home, script = venv
    docs = tmp_path / "Users" / "山田 花子" / "OneDrive" / "ドキュメント" / "顧客管理 [2026]"
    docs.mkdir(parents=True)
    book = docs / "CRM.xlsm"
    shutil.copy2(folder / "CRM.xlsm", book)
    variables = {"Workbook": [str(book)], "ConfPython": [CONF_PYTHON]}
    args = _fill(_ps_tokens(script, "-m xlcrm.cli set-interpreter"), variables)
    done = subprocess.run([python, *args], capture_output=True, text=True, cwd=home,
                          env={**os.environ, "XLCRM_LANG": "ja"})
    assert done.returncode == 0, done.stderr
    assert "Interpreter_Win" in done.stdout
    conf = doctor.read_conf(book)
    assert conf[0] == ["Interpreter_Win", CONF_PYTHON]
    assert [k for k, _ in conf[:10]][1:] == ["Interpreter_Mac", "PYTHONPATH", "Conda Path", "Conda Env",
                                            "UDF Modules", "Debug UDFs", "Use UDF Server", "Show Console",
                                            "Add_Workbook_To_PYTHONPATH"]
    assert doctor.vba_xlwings_version(book) == PIN   # still the macro workbook
    # on that PC, xlwings (and doctor) expand %LOCALAPPDATA% to the user's own folder
    monkeypatch.setenv("LOCALAPPDATA", r"C:\Users\山田 花子\AppData\Local")
    venv_python = r"C:\Users\山田 花子\AppData\Local\xlcrm\venv\Scripts\python.exe"
    f = doctor.check(book, platform="win32", exists=lambda p: p == venv_python,
                     probe=lambda p: {"xlwings": PIN, "xlcrm": True})
    assert [x.key for x in f if x.level == doctor.ERROR] == []
    assert venv_python in doctor.report(f, "ja")
    # the workbook open in Excel (owner file): exit 3, which setup.ps1 turns into "close it in Excel"
    (docs / "~$CRM.xlsm").write_bytes(b"owner")
    locked = subprocess.run([python, *args], capture_output=True, text=True, cwd=home)
    assert locked.returncode == 3
    assert "if ($rc -eq 3)" in script


@pytest.mark.slow
def test_setup_check_line_runs_doctor_on_the_book(released, venv, tmp_path):
    folder, _ = released
    python, home, script = venv
    book = tmp_path / "CRM.xlsm"
    shutil.copy2(folder / "CRM.xlsm", book)
    subprocess.run([python, "-m", "xlcrm.cli", "set-interpreter", str(book), "--python", str(python)],
                   check=True, capture_output=True, cwd=home)
    args = _fill(_ps_tokens(script, "-m xlcrm.cli doctor"), {"Workbook": [str(book)]})
    done = subprocess.run([python, *args], capture_output=True, text=True, cwd=home,
                          env={**os.environ, "XLCRM_LANG": "en"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"xlwings {PIN}" in done.stdout


# --- the scripts' text -------------------------------------------------------------------------------------------

def _parse(grammar: str, source: bytes):
    ts = pytest.importorskip("tree_sitter")
    lang = pytest.importorskip(f"tree_sitter_{grammar}")
    return ts.Parser(ts.Language(lang.language())).parse(source).root_node


def _nodes(node, kind: str):
    if node.type == kind:
        yield node
    for child in node.children:
        yield from _nodes(child, kind)


def _errors(root) -> list[str]:
    bad = [n for n in _nodes(root, "ERROR")]
    bad += [n for t in ("variable", "command", "string_literal") for n in _nodes(root, t) if n.is_missing]
    return [f"line {n.start_point[0] + 1}: {n.text[:60]!r}" for n in bad] or (["error"] if root.has_error else [])


@pytest.fixture(scope="module")
def ps1(released):
    folder, _ = released
    return (folder / "setup.ps1").read_bytes()


@pytest.mark.slow
def test_setup_ps1_is_valid_powershell_that_windows_powershell_5_reads(ps1):
    assert ps1.startswith(b"\xef\xbb\xbf")   # UTF-8 BOM: without it PowerShell 5.1 reads the Japanese as cp932
    assert b"\n" not in ps1.replace(b"\r\n", b"")
    text = ps1[3:].decode("utf-8").replace("\r\n", "\n")
    text.encode("cp932")   # every message shows in a Japanese console font
    assert _errors(_parse("powershell", ps1[3:])) == []
    broken = ps1[3:].replace(b"{", b"", 1)   # the parser does catch a real mistake
    assert _errors(_parse("powershell", broken)) != []
    assert "@@" not in text


@pytest.mark.slow
def test_setup_ps1_uses_only_variables_it_sets(ps1):
    # PowerShell reads a misspelt variable as $null, silently: every variable used must be assigned somewhere
    root = _parse("powershell", ps1[3:])
    used = {n.text.decode().lstrip("$@").split(":")[0].lower() for n in _nodes(root, "variable")}
    text = ps1[3:].decode("utf-8").replace("\r\n", "\n")
    assigned = {m.lower() for m in re.findall(r"\$(\w+)\s*=[^=]", text)}
    assigned |= {m.lower() for m in re.findall(r"\[[\w\[\].]+\]\$(\w+)", text)}         # typed parameters
    assigned |= {m.lower() for m in re.findall(r"foreach \(\$(\w+) in", text)}
    automatic = {"env", "null", "true", "false", "_", "lastexitcode", "psscriptroot", "executioncontext",
                 "outputencoding"}
    assert used - assigned - automatic == set()
    assert {"venvpython", "workbook", "confpython", "xlwingsversion"} <= used
    # inside "...", PowerShell reads letters right after a variable as part of its name ("$VenvDirを" is the
    # variable VenvDirを): Python's \w has the same Unicode letters, the grammar above does not
    in_strings = {m.lower() for lit in _nodes(root, "expandable_string_literal")
                  for m in re.findall(r"\$(\w+)", lit.text.decode())}
    assert in_strings and in_strings - assigned - automatic == set()


@pytest.mark.slow
def test_setup_ps1_passes_paths_whole(ps1):
    """Paths (a user name, OneDrive\\ドキュメント, spaces, [brackets]) reach every command unchanged: cmdlets get
    -LiteralPath (-Path reads [ ] as wildcards), native programs get variables (one argument each, never a
    command line built as a string), and no path variable sits in a single-quoted string where it would not
    expand."""
    root = _parse("powershell", ps1[3:])
    text = ps1[3:].decode("utf-8").replace("\r\n", "\n")
    path_cmdlets = {"test-path", "remove-item", "unblock-file", "get-childitem", "copy-item", "move-item",
                    "get-item", "get-content", "set-content", "new-item"}
    checked = 0
    for cmd in _nodes(root, "command"):
        name = cmd.child_by_field_name("command_name")
        if name is None or name.text.decode().lower() not in path_cmdlets:
            continue
        elements = cmd.child_by_field_name("command_elements")
        params = [p.text.decode().lower() for p in _nodes(elements, "command_parameter")] if elements else []
        has_variable = elements is not None and any(True for _ in _nodes(elements, "variable"))
        assert "-path" not in params, cmd.text
        if has_variable:
            assert "-literalpath" in params, cmd.text
        checked += 1
    assert checked >= 6
    assert not re.search(r"Invoke-Expression|\biex\b|Start-Process|cmd(\.exe)? /c", text, re.I)
    path_vars = ("Workbook", "VenvDir", "VenvPython", "Wheel", "WheelDir", "Here")
    for lit in _nodes(root, "verbatim_string_characters"):
        assert not any(f"${v}" in lit.text.decode() for v in path_vars), lit.text


@pytest.mark.slow
def test_setup_ps1_installs_the_pinned_xlwings_into_a_private_venv(ps1):
    text = ps1[3:].decode("utf-8").replace("\r\n", "\n")
    assert re.search(r"^\$XlwingsVersion = '([^']+)'$", text, re.M).group(1) == PIN
    installs = [ln for ln in text.splitlines() if ln.strip().startswith("& $VenvPython @pip")]
    assert len(installs) == 3
    assert all('"xlwings==$XlwingsVersion"' in ln for ln in installs[:2])           # offline and online
    assert "--no-index --find-links $WheelDir $Wheel" in installs[0]
    assert '"xlwings64-$XlwingsVersion.dll"' in text                                  # checked at the venv root
    assert "Join-Path -Path $env:LOCALAPPDATA -ChildPath 'xlcrm\\venv'" in text
    assert "$VenvPython = Join-Path -Path $VenvDir -ChildPath 'Scripts\\python.exe'" in text
    assert "& $Python.Executable -m venv $VenvDir" in text
    # the xlcrm commands run with the venv's Python, and write its path (under %LOCALAPPDATA%) into the book
    assert "& $VenvPython -m xlcrm.cli set-interpreter $Workbook --python $ConfPython" in text
    assert "$ConfPython = '%LOCALAPPDATA%' + $VenvPython.Substring($local.Length)" in text
    assert "Unblock-File -LiteralPath $Workbook" in text


@pytest.mark.slow
def test_setup_ps1_refuses_the_store_python_in_japanese(ps1):
    text = ps1[3:].decode("utf-8").replace("\r\n", "\n")
    # the py launcher first, newest supported first; then python.exe on PATH
    order = [text.index(s) for s in ("'-3.13', '-3.12', '-3.11', '-3'", "@('python.exe', 'python3.exe')")]
    assert order == sorted(order)
    assert "return ($Path -like '*\\WindowsApps\\*')" in text
    assert "if (Test-StorePath $info.Executable) { $sawStore = $true; continue }" in text
    assert "$info.Version -lt $MinVersion" in text and "$MinVersion = 311" in text
    for words in ("Microsoft Store 版", "python.org", "Add python.exe to PATH", "Excel から使えません"):
        assert words in text


@pytest.mark.slow
def test_setup_bat_runs_the_script_bypassing_the_policy(released):
    raw = (released[0] / "setup.bat").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\n" not in raw.replace(b"\r\n", b"")
    head, _, tail = raw.partition(b"chcp 65001")
    assert tail and head.isascii()       # cmd reads what follows in UTF-8 only after chcp 65001
    tail.decode("utf-8").encode("cp932")
    text = raw.decode("utf-8").replace("\r\n", "\n")
    assert 'powershell.exe -NoProfile -ExecutionPolicy Bypass -File "%~dp0setup.ps1" %*' in text
    assert 'if not exist "%~dp0setup.ps1"' in text and "pause" in text
    assert _errors(_parse("batch", raw)) == []


@pytest.mark.slow
def test_readme_tells_the_steps_in_japanese(released):
    folder, _ = released
    raw = (folder / release.README_NAME).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\n" not in raw.replace(b"\r\n", b"")
    text = raw.decode("utf-8-sig").replace("\r\n", "\n")
    for words in ("setup.bat", "許可する", "コンテンツの有効化", "編集を有効にする", "保護ビュー",
                  r"OneDrive\ドキュメント", "Add python.exe to PATH", "Microsoft Store", f"xlwings {PIN}",
                  _wheel(folder).name, "インターネット接続"):
        assert words in text, words
    assert "@@" not in text


# --- dependency wheels for Windows (no network: wheels made here) ---------------------------------------------

def _fake_wheel(folder: Path, filename: str, requires: list[str]) -> None:
    name, version = filename.split("-")[:2]
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(
        f"Requires-Dist: {r}\n" for r in requires)
    with zipfile.ZipFile(folder / filename, "w") as z:
        z.writestr(f"{name}-{version}.dist-info/METADATA", meta)


def test_windows_only_dependencies_are_found(tmp_path):
    _fake_wheel(tmp_path, f"xlwings-{PIN}-cp312-cp312-win_amd64.whl",
                ['pywin32>=224; platform_system == "Windows"', 'psutil>=2.0.0; platform_system == "Darwin"'])
    _fake_wheel(tmp_path, "pandas-3.1.1-cp312-cp312-win_amd64.whl",
                ["numpy>=2.0.2", 'tzdata; sys_platform == "win32"', 'pytest; extra == "test"'])
    _fake_wheel(tmp_path, "numpy-2.5.5-cp312-cp312-manylinux_2_28_x86_64.whl", [])   # not for Windows
    _fake_wheel(tmp_path, "tzdata-2026.6-py2.py3-none-any.whl", [])
    roots = [f"xlwings=={PIN}", "pandas>=3.0"]
    assert release.missing_for_windows(roots, tmp_path, "3.12") == ["numpy>=2.0.2", "pywin32>=224"]
    _fake_wheel(tmp_path, "numpy-2.5.5-cp312-cp312-win_amd64.whl", [])
    _fake_wheel(tmp_path, "pywin32-311-cp312-cp312-win_amd64.whl", [])
    assert release.missing_for_windows(roots, tmp_path, "3.12") == []
    # a cp312 wheel does not serve Python 3.13
    assert release.missing_for_windows(roots, tmp_path, "3.13") == ["pandas>=3.0", f"xlwings=={PIN}"]
