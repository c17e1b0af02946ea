"""The shared recurrence S_i = S_{i-1} A_i + beta_i v_i k_i^T: every row of the table against a
loop written from its paper's equation (or the book's own memory for it), the three forms
against each other, the delta rule against a finite-difference gradient, and bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kvmem
from kvmem import recurrence as R


def sequence(seed, n, d_k, d_v, unit_keys=False):
    rng = np.random.default_rng(seed)
    queries, keys, values = rng.normal(size=(n, d_k)), rng.normal(size=(n, d_k)), rng.normal(size=(n, d_v))
    if unit_keys:
        keys /= np.linalg.norm(keys, axis=1, keepdims=True)
    return queries, keys, values


def all_forms(row, queries, keys, values, chunk):
    return {form: R.outputs(row, queries, keys, values, form, **options)
            for form, options in [("recurrent", {}), ("parallel", {}), ("parallel", {"block": 3}),
                                  ("chunkwise", {"chunk": chunk})]}


# --- each row against its own definition -------------------------------------------------------


def test_cumulative_average_row_with_a_constant_key_is_chapter_2s_prefix_mean():
    _, _, values = sequence(0, 30, 1, 3)
    ones = np.ones((30, 1))
    for form in R.FORMS:
        got = R.outputs(R.cumulative_average(), ones, ones, values, form, **({"chunk": 7} if form == "chunkwise" else {}))
        np.testing.assert_allclose(got, kvmem.prefix_mean(values), rtol=1e-12, atol=1e-14)


def test_cumulative_average_row_is_the_average_outer_product():
    queries, keys, values = sequence(1, 20, 3, 2)
    got = R.outputs(R.cumulative_average(), queries, keys, values, "chunkwise", chunk=6)
    for i in range(20):
        S = sum(np.outer(values[j], keys[j]) for j in range(i + 1)) / (i + 1)
        np.testing.assert_allclose(got[i], S @ queries[i], rtol=1e-12, atol=1e-14)


def test_exponential_average_row_is_chapter_4s_memory():
    _, _, values = sequence(2, 25, 1, 4)
    ones = np.ones((25, 1))
    expected = kvmem.run(kvmem.ExponentialAverage(0.8), np.zeros((25, 1)), values, np.zeros((25, 1)))
    got = R.outputs(R.exponential_average(0.8), ones, ones, values, "parallel")
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


def test_linear_attention_row_is_chapter_6s_memory_without_normaliser():
    queries, keys, values = sequence(3, 25, 4, 3)
    expected = kvmem.run(kvmem.LinearAttention(phi="identity", normalise=False), keys, values, queries)
    np.testing.assert_allclose(R.outputs(R.linear_attention(), queries, keys, values, "chunkwise", chunk=4),
                               expected, rtol=1e-12, atol=1e-12)


def test_retnet_row_is_retention():
    """Sun et al. (2023), eq. (1)-(2): o_n = sum_{m<=n} gamma^(n-m) (q_n . k_m) v_m."""
    queries, keys, values = sequence(4, 30, 4, 3)
    gamma = 0.9
    expected = np.array([sum(gamma ** (n - m) * (queries[n] @ keys[m]) * values[m] for m in range(n + 1))
                         for n in range(30)])
    np.testing.assert_allclose(R.outputs(R.retnet(gamma), queries, keys, values, "chunkwise", chunk=8),
                               expected, rtol=1e-12, atol=1e-12)


def test_gla_row_is_gated_linear_attention():
    """Yang et al. (2024): S_t = (alpha_t^T 1) * S_{t-1} + k_t^T v_t (S is d_k x d_v), o_t = q_t S_t."""
    queries, keys, values = sequence(5, 20, 4, 3)
    row = R.gla(4)
    alpha, beta = row(keys)
    assert alpha.shape == (20, 4) and np.all((alpha > 0) & (alpha < 1)) and np.all(beta == 1)
    S = np.zeros((4, 3))
    expected = []
    for t in range(20):
        S = alpha[t][:, None] * S + np.outer(keys[t], values[t])
        expected.append(queries[t] @ S)
    np.testing.assert_allclose(R.outputs(row, queries, keys, values, "parallel"), expected, rtol=1e-12, atol=1e-12)


def test_mamba2_row_is_the_ssd_matrix():
    """Dao and Gu (2024): y_t = sum_{s<=t} C_t^T (a_t ... a_{s+1}) B_s Delta_s x_s, with
    a_t = exp(Delta_t A); here B = k, C = q, x = v and A = -1."""
    queries, keys, values = sequence(6, 20, 4, 3)
    row = R.mamba2(4)
    alpha, step_size = row(keys)
    np.testing.assert_allclose(alpha, np.exp(-step_size))
    expected = [sum(np.prod(alpha[s + 1: t + 1]) * (queries[t] @ keys[s]) * step_size[s] * values[s]
                    for s in range(t + 1)) for t in range(20)]
    np.testing.assert_allclose(R.outputs(row, queries, keys, values, "chunkwise", chunk=6), expected,
                               rtol=1e-12, atol=1e-12)


def test_delta_rule_row_is_chapter_6s_delta_rule():
    queries, keys, values = sequence(7, 30, 5, 3, unit_keys=True)
    expected = kvmem.run(kvmem.DeltaRule(beta=0.7, phi="identity"), keys, values, queries)
    for form in R.FORMS:
        np.testing.assert_allclose(R.outputs(R.delta_rule(0.7), queries, keys, values, form), expected,
                                   rtol=1e-11, atol=1e-12)


def test_gated_deltanet_row_is_its_paper_equation():
    """Yang et al. (2025): S_t = S_{t-1} (alpha_t (I - beta_t k_t k_t^T)) + beta_t v_t k_t^T, o_t = S_t q_t."""
    queries, keys, values = sequence(8, 25, 4, 3, unit_keys=True)
    row = R.gated_deltanet(4)
    alpha, beta = row(keys)
    assert np.all((alpha > 0) & (alpha < 1)) and np.all((beta > 0) & (beta < 1))
    S = np.zeros((3, 4))
    expected = []
    for t in range(25):
        S = S @ (alpha[t] * (np.eye(4) - beta[t] * np.outer(keys[t], keys[t]))) + beta[t] * np.outer(values[t], keys[t])
        expected.append(S @ queries[t])
    np.testing.assert_allclose(R.outputs(row, queries, keys, values, "chunkwise", chunk=5), expected,
                               rtol=1e-11, atol=1e-12)


def test_memory_interface_gives_the_recurrent_outputs():
    queries, keys, values = sequence(9, 15, 4, 2, unit_keys=True)
    for row in R.table_rows(4):
        memory = R.GatedLinearMemory(row)
        got = kvmem.run(memory, keys, values, queries)
        np.testing.assert_allclose(got, R.outputs(row, queries, keys, values, "recurrent"), rtol=1e-13, atol=1e-14)
        assert memory.state_size == 2 * 4 and memory.count == 15


# --- the three forms agree ---------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 40), d_k=st.integers(1, 6), d_v=st.integers(1, 4),
       chunk=st.integers(1, 50), which=st.integers(0, 7))
def test_recurrent_parallel_and_chunkwise_forms_agree(seed, n, d_k, d_v, chunk, which):
    row = R.table_rows(d_k)[which]
    queries, keys, values = sequence(seed, n, d_k, d_v, unit_keys=row.delta)
    forms = all_forms(row, queries, keys, values, chunk)
    reference = forms["recurrent"]
    scale = 1.0 + np.abs(reference).max()
    for got in forms.values():
        np.testing.assert_allclose(got, reference, rtol=0, atol=1e-12 * n * scale)


def test_a_chunk_boundary_anywhere_gives_the_same_outputs():
    queries, keys, values = sequence(10, 64, 8, 8, unit_keys=True)
    for row in (R.retnet(0.97), R.gated_deltanet(8)):
        reference = R.outputs(row, queries, keys, values, "recurrent")
        for chunk in (1, 2, 3, 16, 63, 64, 100):
            np.testing.assert_allclose(R.outputs(row, queries, keys, values, "chunkwise", chunk=chunk), reference,
                                       rtol=1e-11, atol=1e-12)


# --- the weight of a pair as a product of gates --------------------------------------------------


def test_cumulative_average_weights_telescope_to_one_over_i_plus_one():
    alpha, beta = R.cumulative_average()(np.ones((12, 1)))
    weights = R.pair_weights(alpha, beta)
    i, j = np.indices((12, 12))
    np.testing.assert_allclose(weights, np.where(j <= i, 1.0 / (i + 1), 0.0), rtol=1e-13, atol=1e-15)


def test_exponential_weights_are_one_minus_lambda_times_lambda_to_the_age():
    alpha, beta = R.exponential_average(0.7)(np.ones((10, 1)))
    weights = R.pair_weights(alpha, beta)
    i, j = np.indices((10, 10))
    np.testing.assert_allclose(weights, np.where(j <= i, 0.3 * 0.7 ** (i - j), 0.0), rtol=1e-13, atol=1e-15)


def test_pair_weights_rebuild_the_state():
    queries, keys, values = sequence(11, 10, 3, 2)
    row = R.mamba2(3)
    weights = R.pair_weights(*row(keys))
    S = sum(weights[-1, j] * np.outer(values[j], keys[j]) for j in range(10))
    np.testing.assert_allclose(S @ queries[-1], R.outputs(row, queries, keys, values, "recurrent")[-1], rtol=1e-12)


# --- the delta rule is a gradient step ------------------------------------------------------------


def test_delta_gradient_matches_finite_differences():
    rng = np.random.default_rng(12)
    S, key, value = rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=3)
    h = 1e-6
    numeric = np.zeros_like(S)
    for index in np.ndindex(S.shape):
        bump = np.zeros_like(S)
        bump[index] = h
        numeric[index] = (R.delta_loss(S + bump, key, value) - R.delta_loss(S - bump, key, value)) / (2 * h)
    np.testing.assert_allclose(R.delta_gradient(S, key, value), numeric, rtol=1e-7, atol=1e-8)


def test_one_delta_rule_update_is_one_gradient_step_on_the_recall_loss():
    queries, keys, values = sequence(13, 9, 4, 3, unit_keys=True)
    memory = R.GatedLinearMemory(R.delta_rule(0.6))
    kvmem.run(memory, keys[:-1], values[:-1])
    before = memory.S.copy()
    memory.update(keys[-1], values[-1])
    h = 1e-6
    gradient = np.zeros_like(before)
    for index in np.ndindex(before.shape):
        bump = np.zeros_like(before)
        bump[index] = h
        gradient[index] = (R.delta_loss(before + bump, keys[-1], values[-1])
                           - R.delta_loss(before - bump, keys[-1], values[-1])) / (2 * h)
    np.testing.assert_allclose(memory.S, before - 0.6 * gradient, rtol=1e-7, atol=1e-8)
    # and the step lowers the loss
    assert R.delta_loss(memory.S, keys[-1], values[-1]) < R.delta_loss(before, keys[-1], values[-1])


# --- the scan -----------------------------------------------------------------------------------


def titans_loop(W, Z, keys, values, theta, eta, alpha):
    """Titans on a linear memory, written from the paper's equations with the gradient of
    1/2 ||W k - v||^2 spelled out: Z <- eta Z - theta (W k - v) k^T, W <- (1 - alpha) W + Z."""
    for key, value in zip(keys, values):
        Z = eta * Z - theta * np.outer(W @ key - value, key)
        W = (1 - alpha) * W + Z
    return W, Z


@pytest.mark.parametrize("theta, eta, alpha", [(0.3, 0.9, 0.05), (0.5, 0.0, 0.0), (0.1, 0.5, 0.2)])
def test_titans_transition_is_the_papers_step_on_the_joint_state(theta, eta, alpha):
    rng = np.random.default_rng(31)
    W, Z = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    keys, values = rng.normal(size=(6, 4)), rng.normal(size=(6, 3))
    joint = np.hstack([W, Z])
    for key, value in zip(keys, values):
        A, B = R.titans_transition(key, value, theta, eta, alpha)
        joint = joint @ A + B
    np.testing.assert_allclose(joint, np.hstack(titans_loop(W, Z, keys, values, theta, eta, alpha)), rtol=1e-12, atol=1e-12)


def test_titans_transition_is_the_output_layer_of_the_mlp_memory():
    """MLPMemory's output layer [W2, b2] is linear in the hidden units [a; 1] computed before the
    step, so its update (loss without the 1/2: theta doubled) is the Titans row on that key."""
    rng = np.random.default_rng(32)
    keys, values = rng.normal(size=(8, 5)), rng.normal(size=(8, 3))
    mlp = kvmem.MLPMemory(d_hidden=7, theta=0.05, eta=0.6, alpha=0.02, output_scale=1.0)
    for key, value in zip(keys[:-1], values[:-1]):
        mlp.update(key, value)

    def output_layer():
        p, m = mlp.params, mlp.momentum
        return np.hstack([p["W2"], p["b2"][:, None], m["W2"], m["b2"][:, None]])

    phi = np.append(np.tanh(mlp.params["W1"] @ keys[-1] + mlp.params["b1"]), 1.0)
    A, B = R.titans_transition(phi, values[-1], 2 * mlp.theta, mlp.eta, mlp.alpha)
    predicted = output_layer() @ A + B
    mlp.update(keys[-1], values[-1])
    np.testing.assert_allclose(predicted, output_layer(), rtol=1e-12, atol=1e-13)


def test_ttt_linear_step_is_the_delta_rule_row_with_twice_the_rate():
    rng = np.random.default_rng(33)
    keys, values = rng.normal(size=(9, 4)), rng.normal(size=(9, 2))
    keys /= np.linalg.norm(keys, axis=1, keepdims=True)
    theta, W = 0.3, np.zeros((2, 4))
    memory = R.GatedLinearMemory(R.delta_rule(2 * theta))
    for key, value in zip(keys, values):
        W = W - theta * 2 * np.outer(W @ key - value, key)  # gradient of ||W k - v||^2
        memory.update(key, value)
    np.testing.assert_allclose(memory.S, W, rtol=1e-12, atol=1e-14)


def test_combine_is_associative():
    rng = np.random.default_rng(14)
    x, y, z = [(rng.normal(size=(3, 3)), rng.normal(size=(2, 3))) for _ in range(3)]
    left, right = R.combine(R.combine(x, y), z), R.combine(x, R.combine(y, z))
    for a, b in zip(left, right):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("which", range(8))
def test_scan_of_the_steps_gives_every_state(which):
    queries, keys, values = sequence(15, 13, 3, 2, unit_keys=True)
    row = R.table_rows(3)[which]
    alpha, beta = row(keys)
    prefixes = R.scan(R.transitions(keys, values, alpha, beta, row.delta))
    got = np.array([B @ q for (_, B), q in zip(prefixes, queries)])
    np.testing.assert_allclose(got, R.outputs(row, queries, keys, values, "recurrent"), rtol=1e-12, atol=1e-13)


def test_scan_with_addition_is_the_prefix_sum():
    x = list(np.arange(1.0, 12.0))
    assert R.scan(x, lambda a, b: a + b) == list(np.cumsum(x))


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("change, problem", [
    (dict(alpha=np.full(5, 0.5)), "alpha must have shape"),
    (dict(beta=np.ones((6, 1))), "beta must have shape"),
    (dict(alpha=np.full(6, 1.5)), r"alpha must lie in \(0, 1\]"),
    (dict(alpha=np.array([0.5, 0.5, 0.0, 0.5, 0.5, 0.5])), r"alpha must lie in \(0, 1\]"),
    (dict(alpha=np.full(6, np.nan)), "alpha contains NaN"),
    (dict(beta=-np.ones(6)), "beta must be >= 0"),
    (dict(queries=np.ones((6, 2))), "queries must have the shape of keys"),
    (dict(values=np.ones((5, 2))), "same number of positions"),
    (dict(keys=np.full((6, 3), np.inf)), "keys contains inf"),
    (dict(keys=np.ones((0, 3)), values=np.ones((0, 2)), queries=np.ones((0, 3))), "empty sequence"),
])
def test_bad_inputs_get_errors_that_name_the_problem(change, problem):
    args = dict(queries=np.ones((6, 3)), keys=np.ones((6, 3)), values=np.ones((6, 2)), alpha=np.full(6, 0.5),
                beta=np.ones(6)) | change
    for form in R.FORMS.values():
        with pytest.raises(ValueError, match=problem):
            form(**args)


def test_delta_rule_rejects_long_keys_and_channel_gates():
    queries, keys, values = sequence(16, 6, 3, 2)
    with pytest.raises(ValueError, match="normalise the keys"):
        R.outputs(R.delta_rule(1.0), queries, 10 * keys, values, "chunkwise")
    with pytest.raises(ValueError, match="scalar gate"):
        R.recurrent_outputs(queries, keys, values, np.full((6, 3), 0.5), np.full(6, 0.1), delta=True)


def test_bad_options_are_named():
    queries, keys, values = sequence(17, 6, 3, 2)
    with pytest.raises(ValueError, match="form must be one of"):
        R.outputs(R.retnet(0.9), queries, keys, values, "sideways")
    with pytest.raises(ValueError, match="chunk must be a positive integer"):
        R.outputs(R.retnet(0.9), queries, keys, values, "chunkwise", chunk=0)
    with pytest.raises(ValueError, match="gamma must lie in"):
        R.retnet(1.5)
    with pytest.raises(ValueError, match="row must be"):
        R.GatedLinearMemory("retnet")
    with pytest.raises(ValueError, match="is empty"):
        R.GatedLinearMemory(R.retnet(0.9)).read(np.ones(3))
    with pytest.raises(ValueError, match=r"lam must lie in \(0, 1\)"):
        R.exponential_average(0.0)
    for make, name in ((lambda: R.mamba2(3, a=0.0), "a"), (lambda: R.gated_deltanet(3, a=-1.0), "a"),
                       (lambda: R.gla(3, tau=0), "tau")):
        with pytest.raises(ValueError, match=f"{name} must be a finite number > 0"):
            make()


def test_delta_rule_memory_rejects_a_long_key():
    memory = R.GatedLinearMemory(R.delta_rule(1.0))
    memory.update(np.array([1.0, 0.0]), np.array([1.0]))
    with pytest.raises(ValueError, match="normalise the keys"):
        memory.update(np.array([3.0, 0.0]), np.array([1.0]))


# --- the hybrid read with a count -----------------------------------------------------------------

from kvmem.summary_count import CountedSummaryWindow, counted_weights  # noqa: E402


def test_counts_of_one_give_ordinary_attention_weights():
    rng = np.random.default_rng(18)
    keys, query = rng.normal(size=(7, 4)), rng.normal(size=4)
    np.testing.assert_allclose(counted_weights(query, keys, np.ones(7)), kvmem.attention_weights(query, keys), rtol=1e-13)


def test_a_pair_with_count_c_weighs_as_c_copies_of_itself():
    rng = np.random.default_rng(19)
    keys, query = rng.normal(size=(4, 3)), rng.normal(size=3)
    copies = np.vstack([np.repeat(keys[:1], 5, axis=0), keys[1:]])
    weights = counted_weights(query, keys, np.array([5.0, 1.0, 1.0, 1.0]))
    np.testing.assert_allclose(weights[0], kvmem.attention_weights(query, copies)[:5].sum(), rtol=1e-13)


def test_counted_read_is_full_attention_when_the_evicted_keys_coincide():
    rng = np.random.default_rng(20)
    keys, values, query = rng.normal(size=(30, 4)), rng.normal(size=(30, 3)), rng.normal(size=4)
    keys[:24] = keys[0]  # the 24 pairs that leave a window of 6 share one key
    memory = CountedSummaryWindow(6)
    kvmem.run(memory, keys, values)
    np.testing.assert_allclose(memory.read(query), kvmem.attend(query, keys, values), rtol=1e-12)
    without = CountedSummaryWindow(6, log_count=False)
    kvmem.run(without, keys, values)
    assert np.linalg.norm(without.read(query) - kvmem.attend(query, keys, values)) > 1e-3


@pytest.mark.parametrize("counts, problem", [(np.array([1.0, 0.0, 1.0]), "counts must be >= 1"),
                                             (np.ones(2), "counts must have dimension 3"),
                                             (np.array([1.0, np.nan, 1.0]), "counts contains NaN")])
def test_counted_weights_name_bad_counts(counts, problem):
    with pytest.raises(ValueError, match=problem):
        counted_weights(np.ones(2), np.ones((3, 2)), counts)


def test_counted_memory_before_any_eviction_is_attention_over_the_window():
    rng = np.random.default_rng(21)
    keys, values, query = rng.normal(size=(5, 4)), rng.normal(size=(5, 2)), rng.normal(size=4)
    memory = CountedSummaryWindow(8)
    kvmem.run(memory, keys, values)
    np.testing.assert_allclose(memory.read(query), kvmem.attend(query, keys, values), rtol=1e-13)
    assert memory.state_size == 5 * 6
