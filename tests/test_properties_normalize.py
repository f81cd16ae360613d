"""Hostile text through the normalisers (xlcrm.normalize): every one is total — any cell value in, a str out — and
none backtracks catastrophically on a 10,000-character cell. (tests/test_normalize.py covers what they fold.)"""
from __future__ import annotations

import math
import signal

import pytest
from hypothesis import given, settings, strategies as st

normalize = pytest.importorskip("xlcrm.normalize")

NAMES = [n for n in ("nfkc", "itaiji", "name_plain", "name", "kana", "kana_loose", "kana_unvoiced", "phone", "phone_kind", "postcode",
                     "email", "address", "address_text", "prefecture", "split_name") if callable(getattr(normalize, n, None))]

ANY_CELL = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-10 ** 20, max_value=10 ** 20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=60),  # includes control characters, lone surrogates, combining marks
    st.text(alphabet="０１２３４５６７８９ｰー－―‐-〒㈱①髙﨑々ｱｶﾞヴゔ　 \t\n\x0b\u200b\u202e😀👨‍👩‍👧", max_size=40),
)


@pytest.mark.parametrize("fn", NAMES)
@settings(max_examples=300)
@given(v=ANY_CELL)
def test_normalisers_are_total(fn, v):
    out = getattr(normalize, fn)(v)
    assert isinstance(out, (str, tuple, dict)) or out is None or (isinstance(out, float) and math.isnan(out))


# long, repetitive, almost-matching inputs: the shapes that make a backtracking regex explode
ADVERSARIAL = [
    "0" * 10_000, "0-" * 5_000, "(0" * 5_000, "１" * 10_000, "ー" * 10_000, "ア" * 10_000 + "!",
    "東京都" * 3_000, "1丁目" * 2_500, "a@" * 5_000, "@" * 10_000, "a" * 9_999 + "@", "〒" + "1" * 9_999,
    "様" * 10_000, " " * 10_000, "\u3000" * 10_000, "𠮷" * 5_000, "1-" * 4_999 + "x", "々" * 10_000,
]


@pytest.mark.parametrize("fn", NAMES)
def test_no_normaliser_hangs_on_a_10000_character_cell(fn):
    f = getattr(normalize, fn)

    def stuck(*_):
        raise TimeoutError(f"{fn} took over 60 s on a 10,000-character cell (regex backtracking?)")
    old = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(60)  # a hang guard, not a speed test: linear code takes milliseconds here
    try:
        for s in ADVERSARIAL:
            assert isinstance(f(s), (str, tuple, dict))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
