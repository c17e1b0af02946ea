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
    assert np.all(np.abs(memory.h) <= 1)  # tanh saturates at 1.0 in floating point
    assert np.max(np.abs(np.linalg.eigvals(memory.W_h))) == pytest.approx(0.9)


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
