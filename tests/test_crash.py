"""Kill the writer at random points of a save, many times: the book on disk is always the old or the new one."""
from __future__ import annotations

import random
import signal
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest

from xlcrm.book import open_book

WRITER = textwrap.dedent("""
    import sys, pandas as pd
    from xlcrm.book import open_book
    path = sys.argv[1]
    n = 0
    while True:
        n += 1
        with open_book(path, backups=2) as b:
            b.write_table("メモ", pd.DataFrame({"回": [n] * 2000, "文": ["あいうえお" * 4] * 2000}))
            b.journal("crash-test", str(n), str(n))
            b.save()
        print(n, flush=True)
""")


@pytest.mark.slow
def test_killed_writer_never_leaves_a_broken_book(book_path, tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    with open_book(book_path) as b:
        customers = b.read_raw("顧客")
    rng = random.Random(7)
    import os
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    kills = 0
    for i in range(12):
        p = subprocess.Popen([sys.executable, str(script), str(book_path)], stdout=subprocess.PIPE, env=env)
        if i == 0:      # one save completes whatever the machine's load, so there is a backup to find below
            assert p.stdout.readline().strip() == b"1"
        time.sleep(rng.uniform(0.8, 3.0))
        p.send_signal(signal.SIGKILL)
        p.wait()
        kills += 1
        with open_book(book_path) as b:  # opens: neither torn nor locked by the dead writer
            assert b.read_raw("顧客").equals(customers)
            memo = b.read_raw("メモ")
            if memo is not None:
                assert len(memo) == 2000 and memo["回"].nunique() == 1
    assert kills == 12
    assert any(book_path.with_name("CRM_backup").iterdir())
    # a later job writes normally: no stale lock, temp files of the dead writers cleaned up
    with open_book(book_path) as b:
        b.write_table("メモ", pd.DataFrame({"回": [0]}))
        b.save()
    leftovers = [p.name for p in book_path.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []
