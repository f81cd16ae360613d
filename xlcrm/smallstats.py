"""The few textbook statistics the jobs need — Wilson's interval, Newcombe's interval for a difference of two
proportions, Fisher's exact test on a 2×2 table — without importing statsmodels or scipy.stats.

Importing `statsmodels.stats.proportion` takes 1.2 s and `scipy.stats` 1 s (python -X importtime; pandas itself
0.6 s), which alone put `xlcrm run steps`, `survey` and `referrals` over their 1.5 s (#12). Each function here
is the library's own computation, step for step and in the same number types, so it returns the very same
floats (tests/test_smallstats.py compares them bit for bit with statsmodels and scipy):

- `wilson` is statsmodels `proportion_confint(method="wilson")`,
- `newcombe_diff` is statsmodels `confint_proportions_2indep(method="newcomb", compare="diff")`,
- `fisher_exact` is scipy `stats.fisher_exact` on a 2×2 table, two-sided, on the hypergeometric functions scipy
  itself calls (scipy.special's Boost ufuncs: 0.25 s to import instead of 1 s).
"""
from __future__ import annotations

import numpy as np

__all__ = ["z_two_sided", "wilson", "newcombe_diff", "fisher_exact"]

# The normal quantile scipy gives for the tail areas xlcrm asks for: stats.norm.isf(q) (= -scipy.special.ndtri(q))
# at q = 0.05 / 2 (statsmodels' default alpha) and q = (1 - 0.95) / 2 (a 95% level; 1 - 0.95 is not exactly 0.05).
# Any other tail asks scipy.special.
_NORM_ISF = {0.025: 1.9599639845400545, (1 - 0.95) / 2: 1.959963984540054}


def z_two_sided(alpha: float) -> float:
    """The standard normal quantile with `alpha / 2` above it, as scipy's `stats.norm.isf(alpha / 2)`."""
    q = alpha / 2.0
    if q in _NORM_ISF:
        return np.float64(_NORM_ISF[q])
    from scipy.special import ndtri   # 0.25 s to import: only for a level other than 95%
    return -ndtri(np.float64(q))


def wilson(count, nobs, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson's score interval for count / nobs (statsmodels `proportion_confint(count, nobs, alpha,
    method="wilson")`, two-sided)."""
    count_a, nobs_a = np.asarray(count, dtype=np.double), np.asarray(nobs, dtype=np.double)   # as statsmodels' array_like
    q_ = count_a / nobs_a
    crit = z_two_sided(alpha)
    crit2 = crit**2
    denom = 1 + crit2 / nobs_a
    center = (q_ + crit2 / (2 * nobs_a)) / denom
    dist = crit * np.sqrt(q_ * (1.0 - q_) / nobs_a + crit2 / (4.0 * nobs_a**2))
    dist /= denom
    ci_low = np.clip(center - dist, 0, 1)
    ci_upp = np.clip(center + dist, 0, 1)
    return float(ci_low), float(ci_upp)


def newcombe_diff(count1, nobs1, count2, nobs2, alpha: float = 0.05) -> tuple[float, float]:
    """Newcombe's hybrid score interval for count1 / nobs1 − count2 / nobs2 (Newcombe 1998, method 10; statsmodels
    `confint_proportions_2indep(..., method="newcomb", compare="diff", alpha=alpha)`)."""
    p1 = count1 / nobs1
    p2 = count2 / nobs2
    diff = p1 - p2
    low1, upp1 = wilson(count1, nobs1, alpha=alpha)
    low2, upp2 = wilson(count2, nobs2, alpha=alpha)
    d_low = np.sqrt((p1 - low1) ** 2 + (upp2 - p2) ** 2)
    d_upp = np.sqrt((p2 - low2) ** 2 + (upp1 - p1) ** 2)
    return diff - d_low, diff + d_upp


def fisher_exact(table) -> tuple[float, float]:
    """(odds ratio, two-sided p) of Fisher's exact test on a 2×2 table of counts, as scipy's
    `stats.fisher_exact(table)` computes them (scipy/stats/_stats_py.py, BSD licence)."""
    try:   # scipy.special's hypergeometric ufuncs, the ones scipy.stats.hypergeom calls
        from scipy.special._ufuncs import _hypergeom_cdf, _hypergeom_pmf, _hypergeom_sf   # 0.25 s; see the top
    except ImportError:   # a scipy without them: the real thing, however long it takes to import
        from scipy.stats import fisher_exact as scipy_fisher   # 1 s; see the top
        res = scipy_fisher(table)
        return float(res.statistic), float(res.pvalue)
    c = np.asarray(table, dtype=np.int64)
    if c.shape != (2, 2) or np.any(c < 0):
        raise ValueError("a 2×2 table of counts")
    if 0 in c.sum(axis=0) or 0 in c.sum(axis=1):
        return np.nan, 1.0
    oddsratio = c[0, 0] * c[1, 1] / (c[1, 0] * c[0, 1]) if c[1, 0] > 0 and c[0, 1] > 0 else np.inf
    n1 = c[0, 0] + c[0, 1]
    n2 = c[1, 0] + c[1, 1]
    n = c[0, 0] + c[1, 0]
    M = n1 + n2
    lo, hi = max(n - n2, 0), min(n1, n)     # hypergeom's support

    # scipy.stats.hypergeom's pmf / cdf / sf at integers: 0 or 1 outside the support, the ufunc clipped inside
    def pmf(x):
        return np.clip(_hypergeom_pmf(x, n1, n, M), 0, 1) if lo <= x <= hi else np.float64(0.0)

    def cdf(x):
        return np.float64(1.0) if x >= hi else np.clip(_hypergeom_cdf(x, n1, n, M), 0, 1) if x >= lo else \
            np.float64(0.0)

    def sf(x):
        return np.float64(1.0) if x < lo else np.clip(_hypergeom_sf(x, n1, n, M), 0, 1) if x < hi else \
            np.float64(0.0)

    mode = int((n + 1) * (n1 + 1) / (n1 + n2 + 2))
    pexact = pmf(c[0, 0])
    pmode = pmf(mode)
    epsilon = 1e-14
    gamma = 1 + epsilon
    if np.abs(pexact - pmode) / np.maximum(pexact, pmode) <= epsilon:
        return float(oddsratio), 1.0
    if c[0, 0] < mode:
        plower = cdf(c[0, 0])
        if pmf(n) > pexact * gamma:
            return float(oddsratio), float(plower)
        guess = _binary_search(lambda x: -pmf(x), -pexact * gamma, mode, n)
        pvalue = plower + sf(guess)
    else:
        pupper = sf(c[0, 0] - 1)
        if pmf(0) > pexact * gamma:
            return float(oddsratio), float(pupper)
        guess = _binary_search(pmf, pexact * gamma, 0, mode)
        pvalue = pupper + cdf(guess)
    return float(oddsratio), float(min(pvalue, 1.0))


def _binary_search(a, d, lo, hi):
    """The i in [lo, hi] with a(i) <= d < a(i + 1), `a` ascending (scipy.stats._binomtest's search)."""
    while lo < hi:
        mid = lo + (hi - lo) // 2
        midval = a(mid)
        if midval < d:
            lo = mid + 1
        elif midval > d:
            hi = mid - 1
        else:
            return mid
    if a(lo) <= d:
        return lo
    return lo - 1
