"""Confidence intervals against textbook values."""

import math

import numpy as np
import pytest
from memory_agents.suite.stats import mean_interval, student_t_cdf, student_t_ppf, wilson_interval


@pytest.mark.parametrize(
    "df, q975", [(1, 12.7062), (2, 4.3027), (5, 2.5706), (9, 2.2622), (30, 2.0423), (1000, 1.9623)]
)
def test_t_quantiles_match_tables(df, q975):
    assert student_t_ppf(0.975, df) == pytest.approx(q975, abs=1e-4)
    assert student_t_cdf(q975, df) == pytest.approx(0.975, abs=1e-5)
    assert student_t_ppf(0.025, df) == pytest.approx(-q975, abs=1e-4)


def test_wilson_known_values_and_edges():
    lo, hi = wilson_interval(8, 10)  # standard example: [0.4902, 0.9433]
    assert lo == pytest.approx(0.4902, abs=1e-4) and hi == pytest.approx(0.9433, abs=1e-4)
    lo, hi = wilson_interval(0, 20)
    assert lo == 0.0 and 0.1 < hi < 0.2  # not the degenerate [0, 0]
    lo, hi = wilson_interval(20, 20)
    assert hi == 1.0 and 0.8 < lo < 0.9
    with pytest.raises(ValueError, match="successes must be in"):
        wilson_interval(11, 10)
    with pytest.raises(ValueError, match="n must be"):
        wilson_interval(0, 0)


def test_mean_interval_matches_t_formula():
    x = np.array([0.1, 0.4, 0.35, 0.8, 0.5])
    mean, lo, hi = mean_interval(x)
    half = 2.7764 * x.std(ddof=1) / math.sqrt(5)
    assert (
        mean == pytest.approx(x.mean())
        and hi - mean == pytest.approx(half, rel=1e-4)
        and mean - lo == pytest.approx(half, rel=1e-4)
    )
    assert mean_interval([0.7]) == (0.7, 0.7, 0.7)
    with pytest.raises(ValueError, match="empty"):
        mean_interval([])
