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
