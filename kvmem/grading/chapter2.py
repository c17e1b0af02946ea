"""Exercises of chapter 2, The cumulative average."""

import numpy as np

from ..cumavg import cumulative_average, prefix_mean
from ..influence import influence
from ..windows import weighted_window_average, window_average
from .spec import Exercise

def _sequences(rng):
    return [(rng.normal(size=(n, d)), int(rng.integers(0, n))) for n, d in ((7, 3), (1, 5), (40, 2))]


def _token_weights(t, i, n_c):
    """The weight of token t in Mem_i: (cumulative average, window of n_c), read off influence."""
    average = influence(cumulative_average, i + 1)[i, t]
    window = influence(lambda k, v: window_average(k, v, n_c), i + 1)[i, t]
    return (average, window)


EXERCISES = [
    Exercise(
        id="2.1", points=2, kind="function", name="cumulative_average_at",
        task="return the cumulative-average key at position i",
        reference=lambda keys, i: keys[: int(i) + 1].mean(axis=0),
        cases=_sequences,
        visible=[(np.arange(10.0).reshape(5, 2), 2), (np.arange(10.0).reshape(5, 2), 0)],
        wrong="    return keys[: i + 1].sum(axis=0) / (i + 2)",
    ),
    Exercise(
        id="2.2", points=2, kind="value", name="weighted_key",
        task="compute the weighted-window key at i = 9",
        reference=lambda keys, beta: weighted_window_average(keys, keys, beta)[0][-1],  # inputs: kvmem.variants
        wrong="weighted_key = np.array([14.0, 26.0])",
    ),
    Exercise(
        id="2.3", points=2, kind="function", name="all_prefix_means",
        task="return the cumulative average at every position, by prefix sums",
        reference=lambda x: prefix_mean(x),
        cases=lambda rng: [(rng.normal(size=(n, d)),) for n, d in ((50, 3), (1, 4), (200, 1))],
        visible=[(np.arange(12.0).reshape(4, 3),)],
        wrong="    return np.cumsum(x, axis=0) / x.shape[0]",
    ),
    Exercise(
        id="2.4", points=1, kind="choice", name="weight_choice",
        task="choose how tokens 0 and 999 weigh in Mem_999, and justify it",
        reference="C",
        options=("A: token 0 weighs more: it has been averaged in longer",
                 "B: token 999 weighs more: it is the most recent",
                 "C: they weigh the same, 1/1000",
                 "D: they weigh the same, 1/999"),
        rubric=(("names the mechanism: every token enters the average with the same factor 1/(i+1)", 1),),
        wrong='weight_choice = "B"\nweight_choice_why = "Recent tokens count more."',
    ),
    Exercise(
        id="2.5", points=2, kind="value", name="token_15_weights",
        task="compute the weight of token t in Mem_i: (cumulative average, window of n_c)",
        reference=_token_weights,  # inputs: kvmem.variants
        wrong="token_15_weights = (1 / 40, 1 / 20)",
    ),
    Exercise(
        id="2.6", points=0, kind="experiment", name="plot_query_sweep",
        task="plot the read of a cumulative average and of a hybrid memory as the query turns",
    ),
    Exercise(
        id="2.7", points=0, kind="written", name="window_from_prefix_sums",
        task="derive the window average from two prefix sums, count its cost, and explain its float32 cancellation",
        rubric=(("derives (S_i - S_{i-n_c}) / n_c: the terms up to i - n_c cancel", 1),
                ("counts O(n d) for all positions whatever n_c (prefix sums, then one subtraction and division each), against O(n n_c d) summing each window afresh", 1),
                ("explains the cancellation: S_i near 10^7 is stored to within about 2^-24 * 10^7, about 0.6, so the difference, only about n_c = 4, loses most digits, while a direct sum of 4 keys near 1 keeps about 7", 1)),
    ),
    Exercise(
        id="2.8", points=0, kind="written", name="block_length",
        task="choose the block length of a blocked prefix sum, count its additions, and explain when it is faster",
        rubric=(("finds R = sqrt(n) = 1,024 from f(R) = R - 1 + n/R and a chain of 2,047 steps against n = 1,048,576", 1),
                ("counts about 2 n d additions (n d in step 1, n d in step 3, n d / R in step 2) against (n - 1) d for np.cumsum", 1),
                ("explains that the gain on narrow rows comes from many independent additions per step, not fewer additions, and that wide rows leave no idle time to remove", 1)),
    ),
]
