"""BG/NBD maximum-likelihood fit on 1,000,000 customers: xlcrm.bgnbd (analytic gradient, x-only terms summed per
distinct x) against the textbook approach lifetimes takes — the same log-likelihood minimised by scipy without a
gradient (Nelder-Mead) — in the same run, on data drawn from the model (CDNOW-like parameters).

    python benchmarks/bench_bgnbd.py              # 1,000,000 customers
    python benchmarks/bench_bgnbd.py --n 100000
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from scipy import optimize, special  # noqa: E402

from xlcrm import bgnbd  # noqa: E402


def simulate(n, r=0.243, alpha=4.414, a=0.793, b=2.426, seed=0, whole_days=True):
    """(x, t_x, T) in weeks for customers who joined over 78 weeks, drawn from BG/NBD itself; with `whole_days`
    t_x and T are recorded in whole days, as they are when they come from order dates."""
    rng = np.random.default_rng(seed)
    lam, p = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    T = rng.uniform(1, 78, n)
    x, tx, t = np.zeros(n), np.zeros(n), np.zeros(n)
    alive = np.ones(n, bool)
    while alive.any():
        t = t + rng.exponential(1 / lam)
        ok = alive & (t < T)
        x[ok] += 1
        tx[ok] = t[ok]
        alive = ok & (rng.random(n) > p)
    if whole_days:
        tx, T = np.floor(tx * 7) / 7, np.floor(T * 7) / 7
    return x, tx, T


def reference_fit(x, tx, T):
    """lifetimes' way: negative log-likelihood per customer, log-parameters, Nelder-Mead without a gradient."""
    def nll(logp):
        r, alpha, a, b = np.exp(logp)
        a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
        a2 = special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b) - special.gammaln(a + b + x)
        a3 = -(r + x) * np.log(alpha + T)
        with np.errstate(divide="ignore"):
            a4 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + tx),
                          -np.inf)
        return -(a1 + a2 + np.logaddexp(a3, a4)).sum()
    res = optimize.minimize(nll, np.zeros(4), method="Nelder-Mead", options={"maxiter": 2000, "xatol": 1e-6,
                                                                              "fatol": 1e-6})
    return np.exp(res.x), -res.fun


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--no-reference", action="store_true", help="skip the slow gradient-free reference")
    ap.add_argument("--continuous", action="store_true", help="t_x and T as exact reals (no repeated rows)")
    args = ap.parse_args()
    x, tx, T = simulate(args.n, whole_days=not args.continuous)
    print(f"{args.n:,} customers, {int((x > 0).sum()):,} with repeat purchases")
    t = time.perf_counter()
    f = bgnbd.fit(x, tx, T)
    t_fit = time.perf_counter() - t
    print(f"xlcrm.bgnbd.fit      {t_fit:6.2f} s  r={f.r:.4f} alpha={f.alpha:.4f} a={f.a:.4f} b={f.b:.4f} "
          f"LL={f.log_likelihood:.2f}  (target <= 5 s; truth 0.243 4.414 0.793 2.426)")
    t = time.perf_counter()
    ev = bgnbd.expected_purchases(f, 13, x, tx, T)
    pa = bgnbd.p_alive(f, x, tx, T)
    print(f"P(alive) + expected purchases for all customers: {time.perf_counter() - t:.2f} s "
          f"(mean P(alive) {pa.mean():.3f}, mean E[X(13 weeks)] {ev.mean():.3f})")
    if not args.no_reference:
        t = time.perf_counter()
        (r, alpha, a, b), ll = reference_fit(x, tx, T)
        print(f"reference Nelder-Mead {time.perf_counter() - t:6.2f} s  r={r:.4f} alpha={alpha:.4f} a={a:.4f} b={b:.4f} "
              f"LL={ll:.2f}")


if __name__ == "__main__":
    main()
