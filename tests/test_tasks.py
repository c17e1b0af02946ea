"""The synthetic tasks are seeded and mean what they say."""

import numpy as np
import pytest

import kvmem
from kvmem import tasks


def test_tasks_are_reproducible():
    a = tasks.associative_recall(10, 8, seed=3)
    b = tasks.associative_recall(10, 8, seed=3)
    np.testing.assert_array_equal(a.keys, b.keys)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.allclose(a.keys, tasks.associative_recall(10, 8, seed=4).keys)


def test_unit_and_orthonormal_vectors():
    np.testing.assert_allclose(np.linalg.norm(tasks.unit_vectors(50, 7, seed=1), axis=1), 1.0)
    q = tasks.orthonormal_vectors(5, 7, seed=1)
    np.testing.assert_allclose(q @ q.T, np.eye(5), atol=1e-12)


def test_topic_shift_tokens_sit_near_their_topic():
    task = tasks.topic_shift(n=200, d=32, shift_at=120, noise=0.3, seed=0)
    before = tasks.cosine(task.keys[:120], task.topics[0]).mean()
    after = tasks.cosine(task.keys[120:], task.topics[1]).mean()
    assert before > 0.9 and after > 0.9
    with pytest.raises(ValueError, match="shift_at"):
        tasks.topic_shift(n=10, d=4, shift_at=10)


def test_fact_at_distance_puts_the_fact_first():
    task = tasks.fact_at_distance(distance=7, d=16, seed=2)
    assert task.keys.shape == (8, 16)
    np.testing.assert_array_equal(task.query, task.keys[0])
    np.testing.assert_array_equal(task.target, task.values[0])


def test_cumulative_average_repeats_the_early_dominant_theme_and_a_window_does_not():
    themes = tasks.orthonormal_vectors(3, 16, seed=0)
    prompt = np.array([0] * 300 + [1] * 60)  # a long early theme, then a recent one
    from_average = tasks.generate_themes(kvmem.CumulativeAverage(), themes, prompt, n_steps=100, seed=1)
    from_window = tasks.generate_themes(kvmem.WindowAverage(32), themes, prompt, n_steps=100, seed=1)
    assert np.mean(from_average == 0) > 0.9
    assert np.mean(from_window == 1) > 0.9


# Multi-query associative recall, checked against its definition sequence by sequence.

def _pairs_of(inputs, n_pairs):
    """The stored pairs of one sequence as a dict key -> value, read off the first 2N tokens."""
    return dict(zip(inputs[0:2 * n_pairs:2].tolist(), inputs[1:2 * n_pairs:2].tolist()))


@pytest.mark.parametrize("vocab_size, n_pairs, seq_len, n_queries", [(16, 3, 10, 2), (64, 8, 40, 8), (80, 32, 96, 32)])
def test_mqar_answers_every_query_with_the_value_stored_with_its_key(vocab_size, n_pairs, seq_len, n_queries):
    task = tasks.mqar(vocab_size, n_pairs, seq_len, n_queries, n_sequences=20, seed=1)
    assert task.inputs.shape == task.targets.shape == (20, seq_len)
    half = vocab_size // 2
    for inputs, targets in zip(task.inputs, task.targets):
        pairs = _pairs_of(inputs, n_pairs)
        assert len(pairs) == n_pairs                                   # distinct keys
        assert all(1 <= k < half <= v < vocab_size for k, v in pairs.items())
        asked = np.flatnonzero(targets >= 0)
        assert len(asked) == n_queries and asked.min() >= 2 * n_pairs  # queries after the pairs
        assert len(set(inputs[asked].tolist())) == n_queries           # distinct keys asked
        for position in asked:
            assert targets[position] == pairs[inputs[position]]
        rest = np.setdiff1d(np.arange(2 * n_pairs, seq_len), asked)
        assert np.all(inputs[rest] == tasks.FILLER)


def test_mqar_is_seeded():
    a, b, c = (tasks.mqar(32, 6, 20, 4, n_sequences=5, seed=s) for s in (7, 7, 8))
    np.testing.assert_array_equal(a.inputs, b.inputs)
    np.testing.assert_array_equal(a.targets, b.targets)
    assert not np.array_equal(a.inputs, c.inputs)


def test_mqar_draws_every_key_token_and_queries_in_every_order():
    task = tasks.mqar(12, 5, 15, 5, n_sequences=400, seed=0)
    assert set(task.inputs[:, 0].tolist()) == set(range(1, 6))          # all 5 key tokens used
    assert len({tuple(row[10:].tolist()) for row in task.inputs}) > 50  # many query orders


@pytest.mark.parametrize("args, match", [
    ((3, 1, 4, 1), "vocab_size must be at least 4"),
    ((16, 8, 30, 2), "distinct keys do not fit"),
    ((16, 3, 10, 4), "must not exceed n_pairs"),
    ((16, 3, 7, 2), "seq_len=7 is too short"),
    ((16, 0, 10, 1), "n_pairs must be a positive integer"),
    ((16, 3, 10, 2.5), "n_queries must be a positive integer"),
])
def test_mqar_rejects_impossible_parameters(args, match):
    with pytest.raises(ValueError, match=match):
        tasks.mqar(*args)
