"""Statistics over seeds: every comparison in the book that draws a conclusion shows a 95%
confidence interval from Student's t (no scipy: the quantile is found from the density)."""

from __future__ import annotations

from math import lgamma, pi

import numpy as np

from .checks import positive_int


def t_quantile(p: float, df: int) -> float:
    """The p-quantile (1/2 < p < 1) of Student's t with df degrees of freedom: the x with
    P(0 < T < x) = p - 1/2 for the density
    f(t) = Gamma((df+1)/2) / (sqrt(df pi) Gamma(df/2)) (1 + t^2/df)^(-(df+1)/2),
    found by bisection on a Simpson-rule integral."""
    df = positive_int(df, "df")
    if not 0.5 < p < 1:
        raise ValueError(f"p must lie in (1/2, 1); got {p}")
    log_scale = lgamma((df + 1) / 2) - lgamma(df / 2) - 0.5 * np.log(df * pi)
    grid = np.linspace(0.0, 1.0, 4001)

    def area(x: float) -> float:  # P(0 < T < x)
        f = np.exp(log_scale) * (1 + (grid * x) ** 2 / df) ** (-(df + 1) / 2)
        return float(x * (grid[1] - grid[0]) / 3 * (f[0] + f[-1] + 4 * f[1:-1:2].sum() + 2 * f[2:-1:2].sum()))

    low, high = 0.0, 1.0
    while area(high) < p - 0.5:
        high *= 2
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if area(mid) < p - 0.5 else (low, mid)
    return (low + high) / 2


def t_quantile_975(df: int) -> float:
    """t_{0.975, df}: the multiplier of a two-sided 95% interval."""
    return t_quantile(0.975, df)


def mean_and_interval(samples, axis: int = 0, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Mean along `axis` and the half-width of its confidence interval,
    t_{(1+level)/2, n-1} * s / sqrt(n), with s the sample standard deviation of n samples."""
    samples = np.asarray(samples, dtype=float)
    n = samples.shape[axis]
    if n < 2:
        raise ValueError(f"a confidence interval needs at least 2 samples along axis {axis}; got {n}")
    half = t_quantile((1 + level) / 2, n - 1) * samples.std(axis=axis, ddof=1) / np.sqrt(n)
    return samples.mean(axis=axis), half


def mean_interval(samples, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """`mean_and_interval` over the last axis (seeds last)."""
    return mean_and_interval(samples, axis)


def median_and_interval(samples, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median and a 95% confidence interval for it along `axis`, free of any distribution.

    With n samples sorted, the interval runs from the r-th smallest to the r-th largest, with r
    the largest rank for which P(Binomial(n, 1/2) < r) <= 0.025: the true median lies below the
    r-th smallest sample only when fewer than r samples fall below it. Needs n >= 6.
    """
    from math import comb

    samples = np.sort(np.asarray(samples, dtype=float), axis=axis)
    n = samples.shape[axis]
    below = np.cumsum([comb(n, j) for j in range(n + 1)]) / 2**n  # below[j] = P(Bin(n, 1/2) <= j)
    ranks = [r for r in range(1, n // 2 + 1) if below[r - 1] <= 0.025]
    if not ranks:
        raise ValueError(f"a 95% interval for the median needs at least 6 samples along axis {axis}; got {n}")
    r = ranks[-1]
    low, high = np.take(samples, r - 1, axis=axis), np.take(samples, n - r, axis=axis)
    return np.median(samples, axis=axis), low, high
