"""xlcrm.smallstats gives the very floats statsmodels and scipy give (it exists only to spare their import time)."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from xlcrm import smallstats as ss


def same(a, b) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@pytest.mark.parametrize("alpha", [0.05, 1 - 0.95, 0.1, 1 - 0.9, 0.01, 0.2])
def test_the_normal_quantile_is_scipys(alpha):
    assert ss.z_two_sided(alpha) == stats.norm.isf(alpha / 2)


@pytest.mark.parametrize("alpha", [0.05, 1 - 0.95, 0.1])
def test_wilson_is_statsmodels_bit_for_bit(alpha):
    for nobs in [1, 2, 3, 7, 20, 21, 99, 100, 1000, 12345]:
        for count in sorted({0, 1, 2, nobs // 3, nobs // 2, nobs - 1, nobs}):
            if 0 <= count <= nobs:
                assert ss.wilson(count, nobs, alpha=alpha) == \
                    proportion_confint(count, nobs, alpha=alpha, method="wilson"), (count, nobs)


@pytest.mark.parametrize("alpha", [0.05, 1 - 0.95, 0.1])
def test_newcombe_is_statsmodels_bit_for_bit(alpha):
    sizes = [1, 2, 5, 20, 37, 100, 1000]
    for n1, n2 in itertools.product(sizes, sizes):
        for k1, k2 in itertools.product(sorted({0, 1, n1 // 2, n1}), sorted({0, 1, n2 // 3, n2})):
            if k1 <= n1 and k2 <= n2:
                want = confint_proportions_2indep(k1, n1, k2, n2, method="newcomb", compare="diff", alpha=alpha)
                got = ss.newcombe_diff(k1, n1, k2, n2, alpha=alpha)
                assert all(same(float(a), float(b)) for a, b in zip(got, want)), (k1, n1, k2, n2)


def test_fisher_exact_is_scipys_bit_for_bit():
    rng = np.random.default_rng(12)
    tables = [[[0, 0], [0, 0]], [[0, 5], [0, 7]], [[3, 0], [0, 4]], [[1, 9], [11, 3]], [[8, 2], [1, 5]],
              [[7, 12], [0, 0]], [[10, 10], [10, 10]], [[2, 7], [8, 2]], [[500, 480], [470, 510]],
              [[0, 30], [25, 0]], [[1, 0], [0, 1]], [[5, 5], [5, 6]]]
    tables += rng.integers(0, 25, size=(300, 2, 2)).tolist() + rng.integers(0, 400, size=(60, 2, 2)).tolist()
    for t in tables:
        want = stats.fisher_exact(t)
        odds, p = ss.fisher_exact(t)
        assert same(odds, float(want.statistic)) and p == float(want.pvalue), t


def test_fisher_exact_wants_a_two_by_two_table_of_counts():
    with pytest.raises(ValueError):
        ss.fisher_exact([[1, 2, 3], [4, 5, 6]])
    with pytest.raises(ValueError):
        ss.fisher_exact([[1, -2], [4, 5]])
