"""The cost model of benchmarks/chunk_sizes.py: the fit recovers known costs, and its best chunk
size is where the derivative of a/C + b + cC vanishes."""

import numpy as np

from benchmarks.chunk_sizes import fit_cost_model, model_per_token


def test_fit_recovers_the_costs_of_exact_data():
    chunks = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
    a, b, c = 9e-6, 4e-7, 1.2e-8
    per_token = [a / C + b + c * C for C in chunks]
    model = fit_cost_model(chunks, per_token)
    np.testing.assert_allclose([model["a_per_chunk_s"], model["b_per_token_s"], model["c_per_token_per_C_s"]],
                               [a, b, c], rtol=1e-8)
    assert abs(model["model_best_chunk"] - np.sqrt(a / c)) < 1e-6
    assert model["model_max_relative_error"] < 1e-10


def test_best_chunk_minimises_the_model():
    model = fit_cost_model([1, 4, 16, 64, 256], [5e-6, 1.6e-6, 9e-7, 1.3e-6, 3.5e-6])
    grid = np.geomspace(1, 512, 20_001)
    best_on_grid = grid[np.argmin(model_per_token(model, grid))]
    assert abs(best_on_grid / model["model_best_chunk"] - 1) < 1e-3
