"""BG/NBD against the paper (Fader, Hardie & Lee 2005) on CDNOW, from the raw transactions."""
import subprocess
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest

from xlcrm import bgnbd, lapse


@pytest.fixture(scope="module")
def cdnow(tmp_path_factory):
    """CDNOW_sample.txt from the lifetimes wheel on PyPI (never committed)."""
    d = tmp_path_factory.mktemp("cdnow")
    r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "lifetimes==0.11.3", "-d", str(d),
                        "-q"], capture_output=True, text=True, timeout=300)
    wheels = list(d.glob("*.whl"))
    if r.returncode or not wheels:
        pytest.skip(f"could not download the lifetimes wheel for CDNOW (no PyPI access?): {r.stderr[-300:]}")
    with zipfile.ZipFile(wheels[0]) as z, z.open("lifetimes/datasets/CDNOW_sample.txt") as f:
        df = pd.read_csv(f, sep=r"\s+", header=None, names=["cid", "sid", "date", "qty", "amount"])
    return pd.DataFrame({"customer_id": df.cid.astype(str),
                         "order_date": pd.to_datetime(df.date.astype(str)).astype("datetime64[ns]"),
                         "amount": df.amount.astype(float)})


def _paper_data(orders):
    end = np.datetime64("1997-09-30", "D").astype(np.int64)
    d = orders.order_date.to_numpy("datetime64[D]").astype(np.int64)
    keep = d <= end
    g = pd.DataFrame({"c": orders.customer_id[keep], "d": d[keep]}).groupby("c").d
    return bgnbd.from_days(g.min().to_numpy(), g.max().to_numpy(), g.nunique().to_numpy(), end, 7.0)


def test_cdnow_reproduces_the_paper(cdnow):
    x, t_x, T = _paper_data(cdnow)
    assert len(x) == 2357
    f = bgnbd.fit(x, t_x, T)
    # paper, Table/section 5: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4
    assert f"{f.r:.3g} {f.alpha:.4g} {f.a:.3g} {f.b:.4g}" == "0.243 4.414 0.793 2.426"
    assert round(f.log_likelihood, 1) == -9582.4
    # paper, section 5: a customer with x = 2, t_x = 30.43, T = 38.86 expects 1.226 purchases in the next 39 weeks
    e = bgnbd.expected_purchases(f, 39, np.array([2.0]), np.array([30.43]), np.array([38.86]))
    assert round(float(e[0]), 3) == 1.226


def test_cdnow_through_lapse_assess(cdnow):
    # the paper counts CDNOW's $0 transactions as purchases; a shop's ¥0 row (a sample) is none (xlcrm.purchases)
    assert cdnow.amount.eq(0).any()
    df = lapse.assess(cdnow.assign(amount=cdnow.amount.clip(lower=0.01)), "1997-09-30", method="bgnbd")
    fit = df.attrs["fit"]
    assert df.attrs["method"] == "bgnbd" and df.attrs["fallback"] is None
    assert round(fit["r"], 3) == 0.243 and round(fit["b"], 2) == 2.43
    rep = df[df.p_alive.notna()]
    assert rep.p_alive.between(0, 1).all() and (rep.p_no_purchase >= 1 - rep.p_alive - 1e-12).all()
    # a repeater with P(alive) under 20 % is 離脱 (or 休眠 when over a year silent)
    low = rep[rep.p_alive < 0.2]
    assert len(low) and set(low.status) <= {"離脱", "休眠"}


def _simulate(n, r, alpha, a, b, rng, weeks=78):
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    T = rng.uniform(1, weeks, n)
    x, tx, t = np.zeros(n), np.zeros(n), np.zeros(n)
    alive = np.ones(n, bool)
    while alive.any():
        t = t + rng.exponential(1 / lam)
        ok = alive & (t < T)
        x[ok] += 1
        tx[ok] = t[ok]
        alive = ok & (rng.random(n) > p)
    return x, tx, T


def test_recovers_parameters_of_data_that_follow_the_model():
    x, tx, T = _simulate(20000, 0.5, 5.0, 0.6, 3.0, np.random.default_rng(7))
    f = bgnbd.fit(x, tx, T)
    assert f.r == pytest.approx(0.5, rel=0.1) and f.alpha == pytest.approx(5.0, rel=0.15)
    assert f.a == pytest.approx(0.6, rel=0.25) and f.b == pytest.approx(3.0, rel=0.35)


def test_refuses_degenerate_fit_on_regular_buyers_who_never_leave():
    # subscription-like customers: an order every ~4 weeks, nobody drops out — not what BG/NBD assumes
    rng = np.random.default_rng(5)
    n = 5000
    T = rng.uniform(8, 104, n)
    gap = rng.gamma(20, 4.3 / 20, n)
    x = np.floor(T / gap)
    with pytest.raises(bgnbd.DegenerateFit) as e:
        bgnbd.fit(x, x * gap, T)
    assert e.value.reason in ("bgnbd_degenerate", "bgnbd_at_bound", "bgnbd_unidentified")


def test_check_refuses_the_fits_seen_in_the_field():
    # lifetimes returned a = 0.002, b = 36.5 and pymc-marketing a = 0.0004, b = 78 on such data, without a word
    for a, b in ((0.002, 36.5), (0.0004, 78.0)):
        with pytest.raises(bgnbd.DegenerateFit, match="bgnbd_degenerate"):
            bgnbd.check(bgnbd.Fit(0.5, 5.0, a, b, -1000.0, 1000, True, 7.0, (0.1, 0.1, 0.1, 0.1)))


def test_lapse_falls_back_to_rhythm_and_says_why():
    rng = np.random.default_rng(5)
    rows = []
    for c in range(300):
        start = rng.integers(0, 200)
        for k in range(0, 400, 28):
            if start + k < 600:
                rows.append((f"S{c}", np.datetime64("2022-01-01") + int(start + k), 3980.0))
    o = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])
    o["order_date"] = o.order_date.astype("datetime64[ns]")
    df = lapse.assess(o, "2023-09-01", method="bgnbd")
    assert df.attrs["method"] == "rhythm" and df.attrs["fallback"]
    assert df.reason_en.str.startswith("BG/NBD not used").all()
    assert df.reason_ja.str.startswith("BG/NBDを使えないため購入リズムで判定").all()
    assert df.p_alive.isna().all()


@pytest.mark.slow
def test_pilot_start_on_large_data_reaches_the_same_optimum(monkeypatch):
    x, tx, T = _simulate(220_000, 0.3, 4.0, 0.8, 2.5, np.random.default_rng(2))
    tx, T = np.floor(tx * 7) / 7, np.floor(T * 7) / 7           # whole days, as from order dates
    with_pilot = bgnbd.fit(x, tx, T)
    monkeypatch.setattr(bgnbd, "_SAMPLE", 10**9)
    without = bgnbd.fit(x, tx, T)
    for k in ("r", "alpha", "a", "b"):
        assert getattr(with_pilot, k) == pytest.approx(getattr(without, k), rel=1e-5)
    assert with_pilot.log_likelihood == pytest.approx(without.log_likelihood, abs=1e-3)
