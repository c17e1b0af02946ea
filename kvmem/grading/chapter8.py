"""Exercises of chapter 8, Choosing a memory."""

import numpy as np

from ..experiments import nearest_value_accuracy
from .spec import Exercise


def _dequantised(x, bits, axis):
    """KIVI-style asymmetric quantisation and back: the reference is the library's own."""
    from ..serving import dequantise, quantise

    return dequantise(*quantise(np.asarray(x, dtype=float), int(bits), int(axis)))


def _quantise_cases(rng):
    """Non-square matrices (so that a swapped axis gives a wrong shape of scales) with channels of
    very different ranges and one constant channel (step s = 0), for every bit width and axis."""
    cases = []
    for bits in (2, 4, 8):
        for axis in (0, 1):
            x = rng.normal(size=(int(rng.integers(3, 9)), 5)) * rng.uniform(0.1, 10, size=5)
            x[:, int(rng.integers(0, 5))] = rng.normal()
            cases.append((x, bits, axis))
    return cases


def _state_numbers(kind, n, d, n_c):
    """The library's own count (`state_size`) after n pairs: the numbers chapter 8's tables print."""
    from .. import CumulativeAverage, FullCache, LinearAttention, SlidingWindow, run

    memory = {"full": FullCache, "window": lambda: SlidingWindow(int(n_c)),
              "cumulative": CumulativeAverage, "linear": LinearAttention}[kind]()
    run(memory, np.ones((int(n), int(d))), np.ones((int(n), int(d))))
    return memory.state_size


def _state_cases(rng):
    return [(kind, int(rng.integers(1, 500)), int(rng.integers(1, 64)), int(rng.integers(1, 100)))
            for kind in ("full", "window", "cumulative", "linear")]


def _accuracy_cases(rng):
    """Reads that point at their own value for some rows and at another row's value for the rest,
    so that the accuracy lies strictly between 0 and 1; the values' lengths differ, so that a dot
    product instead of a cosine picks wrong rows."""
    cases = []
    for n in (6, 12):
        values = rng.normal(size=(n, 8)) * rng.uniform(0.2, 5, size=(n, 1))
        moved = rng.choice(n, size=n // 2, replace=False)
        source = np.arange(n)
        source[moved] = np.roll(moved, 1)  # each moved row reads the next moved row's value
        reads = values[source] * rng.uniform(0.5, 2, size=(n, 1)) + rng.normal(0, 0.01, size=(n, 8))
        cases.append((reads, values))
    return cases


EXERCISES = [
    Exercise(
        id="8.1", points=1, kind="choice", name="contract_memory",
        task="choose memories for drafting a long legal contract, and justify it",
        reference="C",
        options=("A: a cumulative average of the whole contract",
                 "B: a sliding window of the last few paragraphs",
                 "C: a local window, plus retrieval of earlier clauses, plus a summary of the document",
                 "D: an untrained RNN state"),
        rubric=(("names the mechanism: retrieval for far definitions, a local window for the clause, a summary for the register", 1),),
        wrong='contract_memory = "B"\ncontract_memory_why = "Recent text matters most."',
    ),
    Exercise(
        id="8.2", points=1, kind="choice", name="sensor_memory",
        task="choose a memory for an anomaly detector on a tiny device, and justify it",
        reference="A",
        options=("A: an exponential average of recent readings",
                 "B: the full history of readings",
                 "C: a kNN store of every reading",
                 "D: an MLP trained at test time"),
        rubric=(("names the mechanism: one vector whatever the length, following slow drift at a rate set by beta", 1),),
        wrong='sensor_memory = "B"\nsensor_memory_why = "Keep everything."',
    ),
    Exercise(
        id="8.3", points=2, kind="function", name="state_numbers",
        task='return the numbers a memory of the given kind holds after n tokens (as its state_size counts them)',
        reference=_state_numbers, cases=_state_cases,
        visible=[("full", 10, 4, 3), ("window", 10, 4, 3), ("window", 2, 5, 3), ("cumulative", 10, 4, 3),
                 ("linear", 10, 4, 3), ("linear", 3, 32, 16)],
        wrong="    return 2 * n * d",
    ),
    Exercise(
        id="8.4", points=2, kind="function", name="recall_accuracy_of",
        task="return the fraction of reads nearest (by cosine) to their own value",
        reference=nearest_value_accuracy, cases=_accuracy_cases,
        visible=[(np.array([[1.0, 0.1], [0.2, 1.0], [1.0, 0.0]]), np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 3.0]]))],
        wrong="    return 1.0",
    ),
    Exercise(
        id="8.5", points=0, kind="experiment", name="plot_two_memories",
        task="compare two memories of your choice on associative recall, with a plot",
    ),
    Exercise(
        id="8.6", points=2, kind="function", name="dequantised",
        task="return x after b-bit asymmetric quantisation along the axis and back (x_hat)",
        reference=_dequantised, cases=_quantise_cases,
        visible=[(np.array([[0.0, 10.0], [1.0, 20.0], [3.0, 40.0], [2.0, 25.0]]), 2, 0),
                 (np.array([[0.0, 10.0, 4.0], [1.0, 20.0, 4.0], [3.0, 40.0, 4.0], [2.0, 0.0, 4.0]]), 2, 1),
                 (np.array([[0.0, 1.0, 2.0, 7.0], [5.0, 5.0, 5.0, 5.0]]), 4, 0),
                 (np.array([[0.0, 1.0, 2.0, 7.0], [5.0, 5.0, 5.0, 5.0]]), 4, 1)],  # a constant token: s = 0
        wrong="    return x",
    ),
    Exercise(
        id="8.7", points=0, kind="written", name="choose_from_measurements",
        task="choose a memory for a stated need from the chapter's measured numbers, and name its price",
        rubric=(("chooses the delta rule (or linear attention, with its slow shift named as the cost) and "
                 "supports it with two measured numbers: recall at N = 32 near 0.98 at 1,024 numbers, and "
                 "following the topic shift within a token", 1),
                ("rules out an alternative at the same budget with a measured number: the window's 0.50 "
                 "(it holds 16 of the 32 pairs), linear attention's tens of tokens to follow the shift, or "
                 "the MLP's 16 times larger state", 1),
                ("names the price: recall falls once N passes about d = 32 pairs (0.84 at N = 64, under 0.5 "
                 "at N = 128, crosstalk), and a fact from long ago is only a trace (cosine about 0.3 at D = 128)", 1)),
    ),
]
