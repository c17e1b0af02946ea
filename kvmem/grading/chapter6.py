"""Exercises of chapter 6, Neural networks as memory."""

import numpy as np

from ..tasks import expected_recall_cosine
from .spec import Exercise

EXERCISES = [
    Exercise(
        id="6.1", points=2, kind="function", name="outer_product_memory",
        task="return M = sum_j v_j k_j^T for the stored pairs",
        reference=lambda keys, values: sum(np.outer(v, k) for k, v in zip(keys, values)),
        cases=lambda rng: [(rng.normal(size=(n, dk)), rng.normal(size=(n, dv))) for n, dk, dv in ((5, 3, 3), (1, 4, 2), (20, 2, 5))],
        # n = 3 pairs of 2-dimensional keys: n != d_k, and neither the keys nor M is symmetric or the
        # identity, so keys @ values.T and keys.T @ values fail here (by shape, or by value).
        visible=[(np.array([[1.0, 2.0], [0.0, 1.0], [3.0, -1.0]]), np.array([[1.0, 0.0], [2.0, 1.0], [0.0, -1.0]])),
                 (np.array([[1.0, 2.0], [0.0, 1.0], [3.0, -1.0]]),
                  np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 1.0], [1.0, 1.0, 0.0]]))],
        wrong="    return keys.T @ values",
    ),
    Exercise(
        id="6.2", points=1, kind="value", name="expected_cosine",
        task="compute the expected recall cosine for N random keys in dimension d",
        reference=lambda n, d: expected_recall_cosine(n, d),  # inputs: kvmem.variants
        wrong="expected_cosine = 64 / 129",
    ),
    Exercise(
        id="6.3", points=2, kind="function", name="delta_update",
        task="return W after one delta-rule write of (k, v) with strength beta",
        reference=lambda W, k, v, beta: W + beta * np.outer(v - W @ k, k),
        cases=lambda rng: [(rng.normal(size=(dv, dk)), rng.normal(size=dk), rng.normal(size=dv), float(rng.uniform(0.1, 1)))
                           for dk, dv in ((3, 3), (4, 2), (1, 1))],
        # A non-symmetric W and a key that is no basis vector (W @ k != k @ W), and a W with
        # d_v != d_k, so that k @ W, W.T @ k or an outer product the wrong way round fail here.
        visible=[(np.zeros((2, 2)), np.array([1.0, 0.0]), np.array([3.0, 4.0]), 1.0),
                 (np.array([[1.0, 2.0], [0.0, -1.0]]), np.array([0.6, 0.8]), np.array([3.0, 4.0]), 0.5),
                 (np.array([[1.0, 0.0, 2.0], [-1.0, 1.0, 0.0]]), np.array([0.5, -1.0, 2.0]), np.array([1.0, 2.0]), 0.5)],
        wrong="    return W + beta * np.outer(v, k)",
    ),
    Exercise(
        id="6.4", points=1, kind="choice", name="capacity_choice",
        task="choose how many orthonormal keys a memory in d = 16 recalls exactly, and justify it",
        reference="B",
        options=("A: 4", "B: 16", "C: 256", "D: as many as you like"),
        rubric=(("names the mechanism: orthonormal keys cancel the crosstalk, and R^16 holds at most 16 of them", 1),),
        wrong='capacity_choice = "C"\ncapacity_choice_why = "A 16 x 16 matrix has 256 entries."',
    ),
    Exercise(
        id="6.5", points=0, kind="experiment", name="plot_delta_capacity",
        task="measure and plot the recall of the delta rule against the number of pairs",
    ),
    Exercise(
        id="6.6", points=0, kind="written", name="mlp_memory_gradient",
        task="derive the gradients of an MLP memory's recall loss and explain why a zero output layer "
             "leaves the first layer unchanged at the first write",
        rubric=(("output layer: dl/dW2 = e a^T and dl/db2 = e, with e = 2 (M(k) - v)", 1),
                ("first layer by the chain rule: delta = (W2^T e) * (1 - a^2) (tanh' = 1 - tanh^2), "
                 "dl/dW1 = delta k^T, dl/db1 = delta", 1),
                ("W2 = 0 gives delta = 0, so W1 and b1 do not move at the first write; afterwards their gradient "
                 "is only as large as W2, so the first layer learns only once the output layer has grown", 1)),
    ),
]
