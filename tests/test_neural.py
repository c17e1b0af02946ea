"""Outer-product memories, the delta rule, the MLP memory and the RNN state."""

import numpy as np
import pytest

import kvmem
from kvmem.neural import elu_plus_one, mlp_forward
from kvmem.tasks import associative_recall, cosine, expected_recall_cosine, recall_cosines


def test_linear_attention_state_is_the_sum_of_outer_products():
    rng = np.random.default_rng(8)
    keys, values = rng.normal(size=(12, 4)), rng.normal(size=(12, 3))
    memory = kvmem.LinearAttention(phi="elu+1")
    kvmem.run(memory, keys, values)
    phi = np.array([[x + 1 if x > 0 else np.exp(x) for x in k] for k in keys])
    np.testing.assert_allclose(memory.M, sum(np.outer(v, f) for v, f in zip(values, phi)), rtol=1e-12)
    q = rng.normal(size=4)
    phi_q = elu_plus_one(q)
    similarity = phi @ phi_q  # kernel attention: weights phi(k_j).phi(q), normalised
    np.testing.assert_allclose(memory.read(q), similarity @ values / similarity.sum(), rtol=1e-12)


@pytest.mark.parametrize("d", [8, 32])
def test_orthogonal_keys_are_recalled_exactly_up_to_d_pairs(d):
    for n_pairs in (1, d // 2, d):
        keys, values = associative_recall(n_pairs, d, seed=n_pairs, orthogonal=True)
        memory = kvmem.LinearAttention(phi="identity", normalise=False)
        kvmem.run(memory, keys, values)
        for k, v in zip(keys, values):
            np.testing.assert_allclose(memory.read(k), v, atol=1e-12)


def test_more_than_d_orthogonal_keys_cannot_exist():
    with pytest.raises(ValueError, match="orthogonal"):
        associative_recall(9, 8, orthogonal=True)


@pytest.mark.parametrize("n_pairs", [16, 64, 256])
def test_random_key_recall_follows_the_crosstalk_law(n_pairs):
    d = 64
    measured = np.mean([
        recall_cosines(kvmem.LinearAttention(phi="identity", normalise=False),
                       *associative_recall(n_pairs, d, seed=seed)).mean()
        for seed in range(4)
    ])
    assert measured == pytest.approx(expected_recall_cosine(n_pairs, d), abs=0.04)


def test_delta_rule_with_beta_one_overwrites_a_stored_key():
    rng = np.random.default_rng(9)
    keys, values = associative_recall(6, 16, seed=1)
    memory = kvmem.DeltaRule(beta=1.0)
    kvmem.run(memory, keys, values)
    new_value = rng.normal(size=16)
    memory.update(keys[2], new_value)
    np.testing.assert_allclose(memory.read(keys[2]), new_value, atol=1e-12)
    # A plain outer-product memory piles the new value on top of the old one instead.
    plain = kvmem.LinearAttention(phi="unit", normalise=False)
    kvmem.run(plain, keys, values)
    plain.update(keys[2], new_value)
    assert not np.allclose(plain.read(keys[2]), new_value, atol=1e-3)


def test_delta_rule_update_formula():
    rng = np.random.default_rng(10)
    memory = kvmem.DeltaRule(beta=0.3, phi="identity")
    keys, values = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    W = np.zeros((2, 3))
    for k, v in zip(keys, values):
        memory.update(k, v)
        W = W + 0.3 * np.outer(v - W @ k, k)
    np.testing.assert_allclose(memory.W, W, rtol=1e-12)


def test_mlp_gradients_match_finite_differences():
    rng = np.random.default_rng(11)
    memory = kvmem.MLPMemory(d_hidden=5, seed=3)
    memory._init_params(4, 3)
    params = {name: p + 0.1 * rng.normal(size=p.shape) for name, p in memory.params.items()}
    key, value = rng.normal(size=4), rng.normal(size=3)
    _, grads = kvmem.mlp_loss_and_gradients(params, key, value)

    def loss(p):
        return float(np.sum((mlp_forward(p, key)[0] - value) ** 2))

    eps = 1e-6
    for name, p in params.items():
        numeric = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            plus = {**params, name: p.copy()}
            minus = {**params, name: p.copy()}
            plus[name][idx] += eps
            minus[name][idx] -= eps
            numeric[idx] = (loss(plus) - loss(minus)) / (2 * eps)
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-5, atol=1e-8, err_msg=name)


def test_mlp_memory_learns_a_pair_at_test_time():
    rng = np.random.default_rng(12)
    key, value = rng.normal(size=8), rng.normal(size=8)
    memory = kvmem.MLPMemory(d_hidden=16, theta=0.05, eta=0.5, seed=0)
    memory.update(key, value)
    first = np.sum((memory.read(key) - value) ** 2)
    for _ in range(50):
        memory.update(key, value)
    assert np.sum((memory.read(key) - value) ** 2) < 0.01 * first


def test_mlp_memory_decay_shrinks_weights_without_data():
    memory = kvmem.MLPMemory(d_hidden=4, theta=1e-12, eta=0.0, alpha=0.5, seed=0)
    memory.update(np.ones(2), np.zeros(2))
    norm = np.linalg.norm(memory.params["W1"])
    memory.update(np.ones(2), np.zeros(2))
    assert np.linalg.norm(memory.params["W1"]) == pytest.approx(0.5 * norm, rel=1e-6)


def test_rnn_state_is_fixed_and_bounded():
    rng = np.random.default_rng(13)
    memory = kvmem.RNNMemory(d_hidden=32, rho=0.9, seed=0)
    kvmem.run(memory, rng.normal(size=(200, 4)) * 100, rng.normal(size=(200, 4)))
    assert memory.state_size == 32
    assert np.all(np.abs(memory.r) <= 1)  # tanh saturates at 1.0 in floating point
    assert np.max(np.abs(np.linalg.eigvals(memory.W_r))) == pytest.approx(0.9)


def test_infini_attention_mixes_window_and_linear_memory():
    rng = np.random.default_rng(14)
    keys, values = rng.normal(size=(20, 4)), rng.normal(size=(20, 3))
    memory = kvmem.InfiniAttention(n_c=6, gate=0.3)
    kvmem.run(memory, keys, values)
    long_term = kvmem.LinearAttention()
    kvmem.run(long_term, keys[:14], values[:14])
    q = rng.normal(size=4)
    expected = 0.3 * kvmem.attend(q, keys[14:], values[14:]) + 0.7 * long_term.read(q)
    np.testing.assert_allclose(memory.read(q), expected, rtol=1e-12)


def test_cosine():
    assert cosine(np.array([1.0, 0.0]), np.array([2.0, 0.0])) == pytest.approx(1.0)
    assert cosine(np.array([1.0, 0.0]), np.array([0.0, 3.0])) == pytest.approx(0.0)


# --- Statistics over seeds, tuning, and the chapter 6 comparison ---------------------------

from kvmem import experiments  # noqa: E402


@pytest.mark.parametrize("df, table, tolerance", [(1, 12.7062, 1e-4), (3, 3.1824, 1e-4), (4, 2.7764, 1e-3), (5, 2.5706, 1e-3), (9, 2.2622, 2e-4), (29, 2.0452, 1e-4), (100, 1.9840, 1e-4)])
def test_t_quantile_matches_the_printed_t_table(df, table, tolerance):
    assert experiments.t_quantile_975(df) == pytest.approx(table, abs=tolerance)


def test_mean_interval_is_t_times_the_standard_error():
    samples = np.array([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [2.0, 2.0, 2.0, 2.0, 2.0, 2.0]])
    mean, half = experiments.mean_interval(samples)
    np.testing.assert_allclose(mean, [3.5, 2.0])
    s = np.sqrt(np.sum((samples[0] - 3.5) ** 2) / 5)  # the sample standard deviation, by its definition
    np.testing.assert_allclose(half, [experiments.t_quantile_975(5) * s / np.sqrt(6), 0.0])
    with pytest.raises(ValueError, match="at least 2 samples"):
        experiments.mean_interval(np.ones((3, 1)))


def test_a_95_percent_interval_covers_the_true_mean_about_95_times_in_100():
    rng = np.random.default_rng(21)
    draws = rng.normal(loc=3.0, size=(4000, 30))
    mean, half = experiments.mean_interval(draws)
    assert np.mean(np.abs(mean - 3.0) <= half) == pytest.approx(0.95, abs=0.015)


def test_capacity_samples_follow_the_crosstalk_law_within_their_intervals():
    n_pairs = [2, 16, 64, 256]
    mean, half = experiments.mean_interval(experiments.capacity_samples(32, n_pairs, seeds=range(30)))
    assert np.all(np.abs(mean - expected_recall_cosine(np.array(n_pairs), 32)) <= half + 1e-3)


def test_recall_samples_and_the_old_mean_agree():
    factories = {"linear": lambda: kvmem.LinearAttention(phi="identity", normalise=False)}
    samples = experiments.recall_samples(factories, [4, 64], d=16, seeds=range(3))["linear"]
    assert samples.shape == (2, 3)
    np.testing.assert_allclose(samples.mean(axis=1), experiments.recall_experiment(factories, [4, 64], d=16, seeds=3)["linear"])


def test_tune_returns_every_combination_best_first():
    scored = experiments.tune(kvmem.DeltaRule, {"beta": [0.1, 1.0]}, [64], d=16, seeds=range(2))
    assert sorted(s["beta"] for s, _ in scored) == [0.1, 1.0]
    assert scored[0][1] >= scored[1][1]
    by_hand = experiments.recall_samples({"": lambda: kvmem.DeltaRule(beta=scored[0][0]["beta"])}, [64], 16, range(2))
    assert scored[0][1] == pytest.approx(by_hand[""].mean())


@pytest.mark.parametrize("memory", [lambda: kvmem.RNNMemory(d_hidden=16), kvmem.CumulativeAverage])
def test_a_read_that_ignores_the_query_recalls_exactly_one_pair_in_n(memory):
    # Every query gets the same read, hence the same nearest value: exactly one of N pairs is right.
    for n in (4, 32):
        keys, values = associative_recall(n, 16, seed=n, key_norm=4.0)
        assert experiments.recall_accuracy(memory(), keys, values) == pytest.approx(1 / n)


def test_gradient_descent_on_a_linear_memory_is_the_delta_rule():
    # One step of size beta on 1/2 ||W k - v||^2, whose gradient is -(v - W k) k^T, is the delta
    # rule with phi = identity: TTT-Linear with one pair per step.
    rng = np.random.default_rng(22)
    keys, values, beta = rng.normal(size=(6, 5)), rng.normal(size=(6, 3)), 0.05

    def loss(W, k, v):
        return 0.5 * np.sum((W @ k - v) ** 2)

    W = np.zeros((3, 5))
    memory = kvmem.DeltaRule(beta=beta, phi="identity")
    eps = 1e-6
    for k, v in zip(keys, values):
        gradient = np.zeros_like(W)  # by central finite differences, independent of the formula
        for idx in np.ndindex(W.shape):
            step = np.zeros_like(W)
            step[idx] = eps
            gradient[idx] = (loss(W + step, k, v) - loss(W - step, k, v)) / (2 * eps)
        W = W - beta * gradient
        memory.update(k, v)
    np.testing.assert_allclose(memory.W, W, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("exercise_id, wrong", [
    ("6.1", lambda keys, values: keys @ values.T),
    ("6.1", lambda keys, values: keys.T @ values),
    ("6.3", lambda W, k, v, beta: W + beta * np.outer(v - k @ W, k)),
    ("6.3", lambda W, k, v, beta: W + beta * np.outer(k, v - W @ k)),
    ("6.3", lambda W, k, v, beta: W + beta * np.outer(v - W.T @ k, k)),
])
def test_visible_checks_catch_transposed_answers(exercise_id, wrong, capsys):
    from kvmem.grading.feedback import visible_checks_pass

    assert not visible_checks_pass(exercise_id, wrong)


def test_intervals_apart_only_when_the_intervals_do_not_overlap():
    base = np.array([0.0, 1.0, 2.0, 3.0])  # mean 1.5, s = 1.29, half-width t(3) * s / 2 = 2.05
    a = np.array([base + 5.0, base + 1.0, base - 5.0])
    b = np.array([base, base, base])
    np.testing.assert_array_equal(experiments.intervals_apart(a, b), [1, 0, -1])


def test_interval_table_prints_mean_and_half_width():
    table = experiments.interval_table({"x": np.array([[1.0, 3.0]])}, ["N = 1"], digits=1)
    half = experiments.t_quantile_975(1) * np.sqrt(2) / np.sqrt(2)
    assert table.splitlines()[-1] == f"| x | 2.0 ± {half:.1f} |"


def test_an_empty_mlp_memory_reads_zero_and_output_scale_restores_a_random_start():
    rng = np.random.default_rng(23)
    memory = kvmem.MLPMemory(d_hidden=400, seed=1)
    memory._init_params(8, 5)
    np.testing.assert_array_equal(mlp_forward(memory.params, rng.normal(size=8))[0], np.zeros(5))
    random_start = kvmem.MLPMemory(d_hidden=400, seed=1, output_scale=2.0)
    random_start._init_params(8, 5)
    assert np.std(random_start.params["W2"]) == pytest.approx(2.0 / np.sqrt(400), rel=0.05)
    with pytest.raises(ValueError, match="output_scale"):
        kvmem.MLPMemory(output_scale=-1.0)


def test_mlp_memory_update_follows_the_momentum_and_decay_formula():
    # S = eta S - theta g; W = (1 - alpha) W + S, with g from the finite-difference-checked gradients.
    rng = np.random.default_rng(24)
    memory = kvmem.MLPMemory(d_hidden=6, theta=0.01, eta=0.7, alpha=0.05, seed=2, output_scale=1.0)
    keys, values = rng.normal(size=(3, 4)), rng.normal(size=(3, 2))
    memory._init_params(4, 2)
    params = {name: p.copy() for name, p in memory.params.items()}
    momentum = {name: np.zeros_like(p) for name, p in params.items()}
    for k, v in zip(keys, values):
        _, grads = kvmem.mlp_loss_and_gradients(params, k, v)
        momentum = {name: 0.7 * momentum[name] - 0.01 * grads[name] for name in params}
        params = {name: 0.95 * params[name] + momentum[name] for name in params}
        memory.update(k, v)
    for name in params:
        np.testing.assert_allclose(memory.params[name], params[name], rtol=1e-12, atol=1e-15)


def test_infini_attention_without_normaliser_reads_the_plain_outer_product_sum():
    rng = np.random.default_rng(25)
    keys, values = rng.normal(size=(12, 4)), rng.normal(size=(12, 3))
    memory = kvmem.InfiniAttention(n_c=5, gate=0.25, phi="identity", normalise=False)
    kvmem.run(memory, keys, values)
    M = sum(np.outer(v, k) for k, v in zip(keys[:7], values[:7]))  # the 7 pairs that left the window
    q = rng.normal(size=4)
    np.testing.assert_allclose(memory.read(q), 0.25 * kvmem.attend(q, keys[7:], values[7:]) + 0.75 * M @ q, rtol=1e-12)


def test_elu_plus_one_features_of_unrelated_keys_are_far_from_orthogonal():
    # Why a normalised elu+1 memory barely separates pairs: E[phi(x)] > 0 for x ~ N(0, 1), so
    # phi(k).phi(k') ~ d E[phi]^2 for unrelated keys, against d E[phi^2] for a key with itself.
    x = np.random.default_rng(26).normal(size=(200_000,))
    mean_phi = np.mean(elu_plus_one(x))
    mean_phi2 = np.mean(elu_plus_one(x) ** 2)
    keys = np.random.default_rng(27).normal(size=(400, 32))
    f = elu_plus_one(keys)
    G = f @ f.T
    assert np.mean(np.diag(G)) == pytest.approx(32 * mean_phi2, rel=0.05)
    assert (G.sum() - np.trace(G)) / (400 * 399) == pytest.approx(32 * mean_phi**2, rel=0.05)


def test_recall_by_age_splits_the_hits_into_older_and_newest_pairs():
    ages = experiments.recall_by_age({"cumavg": kvmem.CumulativeAverage}, n_pairs=20, n_recent=5, d=16, seeds=range(4))
    old, recent = ages["cumavg"]
    np.testing.assert_allclose(15 * old + 5 * recent, 1.0)  # exactly one hit in all 20 pairs, per seed
    window = experiments.recall_by_age({"window": lambda: kvmem.SlidingWindow(5)}, 20, 5, d=16, seeds=range(4))
    np.testing.assert_array_equal(window["window"][1], 1.0)  # long keys: the window recalls its own pairs


def test_linear_attention_without_normaliser_keeps_only_M():
    # Without the normaliser the read is M q, which needs no z: the state is the d_v x d_k matrix.
    rng = np.random.default_rng(31)
    keys, values = rng.normal(size=(9, 5)), rng.normal(size=(9, 3))
    plain = kvmem.LinearAttention(phi="identity", normalise=False)
    kvmem.run(plain, keys, values)
    assert set(plain.state) == {"M"}
    assert plain.state_size == 3 * 5
    M = sum(np.outer(v, k) for k, v in zip(keys, values))  # the definition, summed afresh
    q = rng.normal(size=5)
    np.testing.assert_allclose(plain.read(q), M @ q, rtol=1e-12)
    normalised = kvmem.LinearAttention(phi="identity", normalise=True)
    kvmem.run(normalised, keys, values)
    assert normalised.state_size == 3 * 5 + 5  # M and z = sum_j phi(k_j)
    np.testing.assert_allclose(normalised.state["z"], keys.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(normalised.read(q), M @ q / (keys.sum(axis=0) @ q), rtol=1e-12)


@pytest.mark.parametrize("eta", [0.0, 0.3])
def test_mlp_memory_state_holds_the_momentum_only_when_it_is_carried(eta):
    rng = np.random.default_rng(32)
    d_k, d_v, h = 4, 3, 6
    memory = kvmem.MLPMemory(d_hidden=h, theta=0.01, eta=eta, alpha=0.1, seed=3, output_scale=1.0)
    keys, values = rng.normal(size=(3, d_k)), rng.normal(size=(3, d_v))
    memory._init_params(d_k, d_v)
    params = {name: p.copy() for name, p in memory.params.items()}
    for k, v in zip(keys, values):
        memory.update(k, v)
        if eta == 0:  # S_i = -theta g: nothing carried from the step before
            _, grads = kvmem.mlp_loss_and_gradients(params, k, v)
            params = {name: 0.9 * params[name] - 0.01 * grads[name] for name in params}
    n_params = h * d_k + h + d_v * h + d_v
    if eta == 0:
        assert set(memory.state) == {"W1", "b1", "W2", "b2"}
        assert memory.state_size == n_params
        for name in params:
            np.testing.assert_allclose(memory.params[name], params[name], rtol=1e-12, atol=1e-15)
    else:
        assert set(memory.state) == {"W1", "b1", "W2", "b2", "S_W1", "S_b1", "S_W2", "S_b2"}
        assert memory.state_size == 2 * n_params


def test_mlp_gradients_match_autograd():
    # A second, independent algorithm: reverse-mode autodiff of the same loss.
    import autograd
    import autograd.numpy as anp

    rng = np.random.default_rng(33)
    memory = kvmem.MLPMemory(d_hidden=7, seed=4, output_scale=1.0)
    memory._init_params(5, 3)
    key, value = rng.normal(size=5), rng.normal(size=3)

    def loss(params):
        hidden = anp.tanh(anp.dot(params["W1"], key) + params["b1"])
        return anp.sum((anp.dot(params["W2"], hidden) + params["b2"] - value) ** 2)

    expected = autograd.grad(loss)(memory.params)
    value_by_hand, grads = kvmem.mlp_loss_and_gradients(memory.params, key, value)
    assert value_by_hand == pytest.approx(float(loss(memory.params)), rel=1e-12)
    for name in ("W1", "b1", "W2", "b2"):
        np.testing.assert_allclose(grads[name], expected[name], rtol=1e-10, atol=1e-12, err_msg=name)


def test_sign_invariant_recall_writes_each_fact_under_both_signs_with_one_value():
    task = kvmem.tasks.sign_invariant_recall(5, 400, 8, seed=3, noise=0.0)
    np.testing.assert_allclose(np.linalg.norm(task.directions, axis=1), np.sqrt(8))
    np.testing.assert_allclose(task.values, task.fact_values[task.facts])
    signs = np.sum(task.keys * task.directions[task.facts], axis=1) / 8  # +1 or -1 with no noise
    np.testing.assert_allclose(np.abs(signs), 1.0)
    assert 0.4 < np.mean(signs > 0) < 0.6
    noisy = kvmem.tasks.sign_invariant_recall(5, 400, 8, seed=3, noise=0.1)
    residual = np.abs(noisy.keys) - np.abs(task.directions[noisy.facts])
    assert np.std(residual) == pytest.approx(0.1, rel=0.1)
    with pytest.raises(ValueError, match="noise"):
        kvmem.tasks.sign_invariant_recall(5, 10, 8, noise=-1.0)


class _FixedRead(kvmem.Memory):
    """A memory that reads read(q) for a given function: to test the accuracy measure alone."""

    def __init__(self, read):
        super().__init__()
        self._read = read

    def _update(self, key, value):
        pass

    def read(self, query):
        return self._read(query)

    def _state(self):
        return {}


def test_no_linear_read_answers_both_signs_but_a_sign_blind_one_can():
    """read(-q) = -read(q): of +u_p and -u_p at most one is nearest w_p, so accuracy <= 1/2."""
    rng = np.random.default_rng(5)
    task = kvmem.tasks.sign_invariant_recall(6, 10, 8, seed=5)
    for _ in range(50):
        M = rng.normal(size=(8, 8))
        assert kvmem.experiments.sign_recall_accuracy(_FixedRead(lambda q: M @ q), task.directions,
                                                      task.fact_values) <= 0.5
    # the matrix that stores every fact under +u_p answers exactly the + half
    store = task.fact_values.T @ np.linalg.pinv(task.directions.T)
    assert kvmem.experiments.sign_recall_accuracy(_FixedRead(lambda q: store @ q), task.directions,
                                                  task.fact_values) == 0.5
    # a read that depends on |u_p . q| only answers both
    oracle = _FixedRead(lambda q: task.fact_values[np.argmax(np.abs(task.directions @ q))])
    assert kvmem.experiments.sign_recall_accuracy(oracle, task.directions, task.fact_values) == 1.0


def test_sign_recall_curve_reads_after_each_checkpoint():
    task = kvmem.tasks.sign_invariant_recall(4, 50, 8, seed=1)
    memory = kvmem.DeltaRule(beta=1.0)
    curve = kvmem.experiments.sign_recall_curve(memory, task, [10, 50])
    assert memory.count == 50 and curve.shape == (2,) and np.all(curve <= 0.5)
    with pytest.raises(ValueError, match="checkpoints must increase"):
        kvmem.experiments.sign_recall_curve(kvmem.DeltaRule(), task, [20, 10])


def test_mlp_with_a_fixed_first_layer_is_the_delta_rule_on_its_features():
    """W2 and b2 follow the delta rule with beta = 2 theta on the features [tanh(W1 k + b1); 1]."""
    rng = np.random.default_rng(11)
    keys, values = rng.normal(size=(20, 4)), rng.normal(size=(20, 3))
    mlp = kvmem.MLPMemory(d_hidden=6, theta=0.02, eta=0.0, seed=2, train_first_layer=False)
    mlp._init_params(4, 3)
    W1, b1 = mlp.params["W1"].copy(), mlp.params["b1"].copy()
    delta = kvmem.DeltaRule(beta=0.04, phi=lambda k: np.append(np.tanh(W1 @ k + b1), 1.0))
    kvmem.run(mlp, keys, values)
    kvmem.run(delta, keys, values)
    np.testing.assert_array_equal(mlp.params["W1"], W1)
    np.testing.assert_array_equal(mlp.params["b1"], b1)
    np.testing.assert_allclose(np.column_stack([mlp.params["W2"], mlp.params["b2"]]), delta.W, rtol=1e-10, atol=1e-12)
    with_momentum = kvmem.MLPMemory(d_hidden=6, eta=0.5, train_first_layer=False)
    kvmem.run(with_momentum, keys, values)
    assert set(with_momentum.state) == {"W1", "b1", "W2", "b2", "S_W2", "S_b2"}


def test_a_trained_first_layer_learns_what_no_linear_memory_can():
    """On 4 sign-invariant facts the MLP (16 hidden units) ends far above 1/2 after 1,000 writes."""
    task = kvmem.tasks.sign_invariant_recall(4, 1000, 32, seed=7)
    mlp = kvmem.MLPMemory(d_hidden=16, theta=0.04, eta=0.0, output_scale=1.0, seed=0)
    fixed = kvmem.MLPMemory(d_hidden=16, theta=0.04, eta=0.0, output_scale=1.0, seed=0, train_first_layer=False)
    assert kvmem.experiments.sign_recall_curve(mlp, task, [1000])[0] >= 0.875
    assert kvmem.experiments.sign_recall_curve(fixed, task, [1000])[0] <= 0.625


def test_unit_squares_is_even_and_of_length_one():
    x = np.array([3.0, -4.0, 0.0])
    np.testing.assert_allclose(kvmem.neural.unit_squares(x), np.array([9.0, 16.0, 0.0]) / np.hypot(9.0, 16.0))
    np.testing.assert_array_equal(kvmem.neural.unit_squares(-x), kvmem.neural.unit_squares(x))
