"""The trained recall model: each batch memory layer against kvmem's streaming memory, autograd's
gradient against finite differences, and a tiny configuration that learns, deterministically."""

import numpy as np
import pytest

import kvmem
from autograd import value_and_grad

from kvmem import stats, trained

B, T = 2, 9


@pytest.fixture
def qkv():
    rng = np.random.default_rng(0)
    return rng.normal(size=(B, T, 5)), rng.normal(size=(B, T, 5)), rng.normal(size=(B, T, 4))


def streamed(make_memory, queries, keys, values):
    """Row t of sequence b: the streaming memory's read of q_t after storing pairs 0..t."""
    return np.array([kvmem.run(make_memory(), k, v, q) for q, k, v in zip(queries, keys, values)])


@pytest.mark.parametrize("layer, make_memory", [
    (lambda q, k, v: trained.cumulative_average_layer(v), kvmem.CumulativeAverage),
    (lambda q, k, v: trained.exponential_average_layer(v, 0.8), lambda: kvmem.ExponentialAverage(0.8)),
    (trained.linear_attention_layer, lambda: kvmem.LinearAttention(phi="elu+1")),
    (lambda q, k, v: trained.linear_attention_layer(q, k, v, "identity", normalise=False),
     lambda: kvmem.LinearAttention(phi="identity", normalise=False)),
    (lambda q, k, v: trained.linear_attention_layer(q, k, v, "unit", normalise=False),
     lambda: kvmem.LinearAttention(phi="unit", normalise=False)),
    (lambda q, k, v: trained.delta_rule_layer(q, k, v, np.full((B, T), 0.7)),
     lambda: kvmem.DeltaRule(beta=0.7, phi="unit")),
    (lambda q, k, v: trained.softmax_attention_layer(q, k, v, n_c=3), lambda: kvmem.SlidingWindow(3)),
    (trained.softmax_attention_layer, kvmem.FullCache),
], ids=["cumavg", "ema", "linear", "linear_identity", "linear_unit", "delta", "window", "full"])
def test_batch_layer_equals_the_streaming_memory(qkv, layer, make_memory):
    np.testing.assert_allclose(layer(*qkv), streamed(make_memory, *qkv), rtol=1e-9, atol=1e-10)


def test_gated_delta_layer_equals_the_gated_recurrence(qkv):
    queries, keys, values = qkv
    beta = np.random.default_rng(1).uniform(0.1, 0.9, (B, T))
    alpha = 0.8
    expected = np.zeros((B, T, values.shape[2]))
    for b in range(B):  # W_t = alpha W_{t-1} + beta_t (v_t - alpha W_{t-1} k_t) k_t^T, read W_t q_t
        W = np.zeros((values.shape[2], keys.shape[2]))
        for t in range(T):
            k = keys[b, t] / np.linalg.norm(keys[b, t])
            W = alpha * W + beta[b, t] * np.outer(values[b, t] - alpha * W @ k, k)
            expected[b, t] = W @ (queries[b, t] / np.linalg.norm(queries[b, t]))
    np.testing.assert_allclose(trained.delta_rule_layer(queries, keys, values, beta, alpha), expected,
                               rtol=1e-9, atol=1e-10)


TINY = trained.RecallConfig(n_pairs=3, vocab_size=12, d_model=4, d=4, steps=40, batch=8, lr=0.05, n_test=32)


@pytest.mark.parametrize("name", trained.MEMORIES)
def test_autograd_gradient_matches_finite_differences(name):
    rng = np.random.default_rng(2)
    params = trained.init_params(name, TINY, rng)
    task = TINY.sample(4, rng)
    loss, grads = value_and_grad(lambda p: trained.recall_loss(name, p, task, TINY))(params)
    direction = {k: rng.normal(size=np.shape(p)) for k, p in params.items()}
    eps = 1e-6

    def shifted(sign):
        return trained.recall_loss(name, {k: p + sign * eps * direction[k] for k, p in params.items()}, task, TINY)

    numeric = (shifted(+1) - shifted(-1)) / (2 * eps)
    analytic = sum(np.sum(grads[k] * direction[k]) for k in params)
    assert np.isfinite(loss)
    assert analytic == pytest.approx(numeric, rel=1e-5, abs=1e-8)


@pytest.mark.parametrize("name", trained.MEMORIES)
def test_a_tiny_model_learns_and_is_deterministic(name):
    params, losses = trained.train(name, TINY, seed=3)
    _, again = trained.train(name, TINY, seed=3)
    np.testing.assert_array_equal(losses, again)
    assert losses[-10:].mean() < losses[:10].mean() - 0.2


def test_full_attention_learns_recall_that_the_cumulative_average_cannot():
    config = trained.RecallConfig(n_pairs=4, vocab_size=24, d_model=8, d=8, steps=150, batch=16, lr=0.02, n_test=64)
    accuracy = {name: trained.held_out_accuracy(name, trained.train(name, config, seed=0)[0], config, seed=0)
                for name in ("full", "cumavg")}
    assert accuracy["full"] > 0.95
    assert accuracy["cumavg"] < 0.6  # its read ignores the query: at best the most common stored value


def test_state_sizes_match_at_d_squared():
    config = trained.RecallConfig(n_pairs=8, d=16)
    d, T = config.d, config.seq_len
    sizes = {name: trained.state_size(name, config) for name in trained.MEMORIES}
    for name in ("cumavg", "ema", "linear_identity", "linear_unit", "delta", "gated_delta", "window"):
        assert sizes[name] == d * d, name
    assert sizes["linear"] == d * d + d  # the matrix M and the normaliser z
    assert sizes["full"] == T * 2 * d    # every pair of the sequence


def test_cosine_schedule_falls_from_lr_to_near_zero():
    rates = [trained.learning_rate(0.1, t, 100, "cosine") for t in range(1, 101)]
    assert rates[0] == pytest.approx(0.1)
    assert rates[50] == pytest.approx(0.05)  # halfway: cos(pi / 2) = 0
    assert 0 < rates[-1] < 1e-4 and np.all(np.diff(rates) < 0)
    assert trained.learning_rate(0.1, 37, 100) == 0.1
    with pytest.raises(ValueError, match="unknown schedule 'step'"):
        trained.learning_rate(0.1, 1, 10, "step")


def test_feature_maps_match_their_definitions():
    x = np.array([[[-2.0, 0.0, 3.0]]])
    np.testing.assert_allclose(trained.feature_map(x, "elu+1"), [[[np.exp(-2.0), 1.0, 4.0]]])
    np.testing.assert_allclose(trained.feature_map(x, "identity"), x)
    np.testing.assert_allclose(trained.feature_map(x, "unit"), x / np.sqrt(13.0))
    with pytest.raises(ValueError, match="unknown feature map 'relu'"):
        trained.feature_map(x, "relu")


def test_unknown_memory_is_named():
    with pytest.raises(ValueError, match="unknown memory 'lstm'"):
        trained.train("lstm", TINY)


@pytest.mark.parametrize("p, df, tabled", [(0.975, 1, 12.706), (0.975, 4, 2.776), (0.975, 9, 2.262),
                                            (0.975, 29, 2.045), (0.95, 10, 1.812), (0.995, 5, 4.032)])
def test_t_quantile_matches_the_printed_table(p, df, tabled):
    # critical values of Student's t, as printed in every statistics table
    assert stats.t_quantile(p, df) == pytest.approx(tabled, abs=5e-4)


def test_t_interval_of_a_known_sample():
    mean, half = trained.t_interval([1.0, 2.0, 3.0, 4.0, 5.0])
    assert mean == 3.0
    assert half == pytest.approx(2.776 * np.sqrt(2.5) / np.sqrt(5), abs=1e-3)
    with pytest.raises(ValueError, match="at least 2 samples"):
        trained.t_interval([1.0])


def test_most_common_value_accuracy_by_hand():
    # pairs (1, 40) (2, 40) (3, 41), all three asked: answering 40 is right 2 times in 3
    inputs = np.array([[1, 40, 2, 40, 3, 41, 3, 1, 2]])
    targets = np.array([[-1, -1, -1, -1, -1, -1, 41, 40, 40]])
    assert trained.most_common_value_accuracy(kvmem.tasks.MQAR(inputs, targets), 3) == pytest.approx(2 / 3)
    # three different values: a tie of three, each guess right 1 time in 3
    inputs[0, 3] = 42
    targets[0, 8] = 42
    assert trained.most_common_value_accuracy(kvmem.tasks.MQAR(inputs, targets), 3) == pytest.approx(1 / 3)
