"""Exercises of chapter 7, One recurrence behind every memory."""

import numpy as np

from .. import recurrence as R
from .spec import Exercise



def _unit(rng, d):
    k = rng.normal(size=d)
    return k / np.linalg.norm(k)


def _gated_delta_cases(rng):
    return [(rng.normal(size=(dv, dk)), _unit(rng, dk), rng.normal(size=dv), float(rng.uniform(0.2, 1.0)),
             float(rng.uniform(0.1, 1.0))) for dk, dv in ((3, 3), (4, 2), (1, 1), (8, 5))]


def _chunkwise_reference(queries, keys, values, alpha, chunk):
    return R.chunkwise_outputs(queries, keys, values, alpha, np.ones(len(keys)), chunk=chunk)


def _sequence_cases(rng):
    cases = []
    for n, d_k, d_v, chunk in ((20, 3, 3, 4), (37, 5, 2, 8), (9, 2, 4, 16), (30, 4, 4, 1)):
        alpha = rng.uniform(0.5, 1.0, size=n)
        cases.append((rng.normal(size=(n, d_k)), rng.normal(size=(n, d_k)), rng.normal(size=(n, d_v)), alpha, chunk))
    return cases


def _visible_sequence():
    # gates that differ from position to position, d_k != d_v and a shorter last chunk, so that a
    # swapped ratio g_s / g_r, a transposed state or a dropped remainder fails the visible check
    rng = np.random.default_rng(7)
    n, d_k, d_v = 14, 3, 2
    return (rng.normal(size=(n, d_k)), rng.normal(size=(n, d_k)), rng.normal(size=(n, d_v)),
            rng.uniform(0.5, 1.0, size=n), 4)


EXERCISES = [
    Exercise(
        id="7.1", points=2, kind="function", name="gated_delta_step",
        task="return S_i = alpha S (I - beta k k^T) + beta v k^T, one step of Gated DeltaNet",
        reference=lambda S, k, v, alpha, beta: R.step(S, k, v, alpha, beta, delta=True),
        cases=_gated_delta_cases,
        visible=[(np.zeros((2, 2)), np.array([1.0, 0.0]), np.array([3.0, 4.0]), 0.5, 1.0),
                 (np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.0, 1.0]), np.array([1.0, 1.0]), 0.5, 0.5)],
        wrong="    return S @ (np.eye(len(k)) - beta * np.outer(k, k)) + beta * np.outer(v, k)",
    ),
    Exercise(
        id="7.2", points=2, kind="value", name="weights_7_2",
        task="compute the weight of each pair 0..4 in S_4 under the given gates",
        reference=lambda alpha, beta: R.pair_weights(alpha, beta)[4],  # inputs: kvmem.variants
        wrong="weights_7_2 = np.array([0.18, 0.36, 0.45, 0.6, 1.0])",
    ),
    Exercise(
        id="7.3", points=3, kind="function", name="chunkwise",
        task="return all outputs o_i = S_i q_i of the scalar-gated recurrence, computed chunk by chunk",
        reference=_chunkwise_reference,
        cases=_sequence_cases,
        visible=[_visible_sequence()],
        rtol=1e-8, atol=1e-10,
        wrong=("    out = np.zeros_like(values)\n"
               "    S = np.zeros((values.shape[1], keys.shape[1]))\n"
               "    for i in range(len(keys)):\n"
               "        S = S + np.outer(values[i], keys[i])\n"
               "        out[i] = S @ queries[i]\n"
               "    return out"),
    ),
    Exercise(
        id="7.4", points=2, kind="function", name="recall_gradient",
        task="return the gradient of 1/2 ||S k - v||^2 with respect to S",
        reference=R.delta_gradient,
        cases=lambda rng: [(rng.normal(size=(dv, dk)), rng.normal(size=dk), rng.normal(size=dv))
                           for dk, dv in ((3, 3), (4, 2), (1, 5))],
        visible=[(np.eye(2), np.array([1.0, 2.0]), np.array([0.0, 1.0]))],
        wrong="    return np.outer(v - S @ k, k)",
        rubric=(("derives the gradient (S k - v) k^T from the loss, entry by entry (dL/dS_bc = e_b k_c with "
                 "e = S k - v) or with the chain rule; the result stated without a derivation earns 0", 1),
                ("takes one step of size beta and regroups it as S (I - beta k k^T) + beta v k^T, naming the "
                 "transition I - beta k k^T and the write beta v k^T", 1)),
    ),
    Exercise(
        id="7.5", points=1, kind="choice", name="recency_choice",
        task="choose which stored pair the delta rule recalls best, and justify it",
        reference="B",
        options=("A: the oldest pair, because it has been in the memory longest",
                 "B: the newest pair, because the last gradient step was taken on its loss",
                 "C: all pairs equally, because every write has the same strength beta",
                 "D: none of them exactly, because the keys are not orthogonal"),
        rubric=(("names the mechanism: the newest pair's own gradient step sets S k = v (beta = 1, unit key), while each "
                 "later write i moves the read of an older key k_j by -beta (S k_i - v_i)(k_i . k_j), so older pairs "
                 "pile up disturbances (any correct wording of either half earns the point)", 1),),
        wrong='recency_choice = "C"\nrecency_choice_why = "Every pair is written with the same beta."',
    ),
    Exercise(
        id="7.6", points=0, kind="experiment", name="plot_gate_recency",
        task="measure how the gate of Gated DeltaNet changes recall of old and new pairs, and plot it with 95% intervals",
    ),
]
