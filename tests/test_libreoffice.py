"""LibreOffice headless opens the built CRM.xlsm, loads its VBA project and renders every sheet."""
from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from xlcrm import schema
from xlcrm.build import build_workbook, vba_modules

pytestmark = [pytest.mark.libreoffice, pytest.mark.skipif(shutil.which("soffice") is None,
                                                         reason="LibreOffice (soffice) is not installed")]


def _convert(src: Path, fmt: str, tmp: Path) -> Path:
    home = tmp / "home"  # a clean profile: no first-start dialogs, no user macros
    home.mkdir(exist_ok=True)
    subprocess.run(["soffice", "--headless", "--norestore", f"-env:UserInstallation=file://{home}",
                    "--convert-to", fmt, "--outdir", str(tmp), str(src)],
                   check=True, capture_output=True, timeout=180, env={"HOME": str(home), "PATH": "/usr/bin:/bin"})
    out = tmp / (src.stem + "." + fmt)
    assert out.exists() and out.stat().st_size > 0
    return out


@pytest.fixture(scope="module")
def lo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lo")
    book = build_workbook(tmp / "CRM.xlsm")
    return tmp, book


def test_opens_and_converts_to_pdf_with_every_sheet(lo):
    tmp, book = lo
    pdf = _convert(book, "pdf", tmp)
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                              check=True).stdout
        for t in schema.TABLES.values():
            for c in t.columns:
                assert c.ja in text, (t.ja, c.ja)
        for word in ("顧客検索", "検索語", "バックアップ保存数", "注文数が多い"):
            assert word in text
        assert "UDF Modules" not in text          # xlwings.conf is very hidden: no page of its own
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "50", str(pdf), str(tmp / "page")], check=True, timeout=120)
        pages = sorted(tmp.glob("page-*.png"))
        assert len(pages) >= 5  # one page or more per sheet staff see
        assert all(p.read_bytes().startswith(b"\x89PNG") for p in pages)


def test_libreoffice_loads_every_vba_module(lo):
    tmp, book = lo
    ods = _convert(book, "ods", tmp)
    with zipfile.ZipFile(ods) as z:
        basic = {Path(n).stem for n in z.namelist() if n.startswith("Basic/VBAProject/") and n.endswith(".xml")}
        ribbon = z.read("Basic/VBAProject/XlcrmRibbon.xml").decode("utf-8")
    assert {m.name for m in vba_modules(6)} <= basic
    assert "Public Sub CrmAction(control As IRibbonControl)" in ribbon
