"""Per-student variants of the value and choice exercises.

A student's variant ID (the `STUDENT_ID` of the first cell of an exercise notebook) seeds the
numbers of each value exercise and the order of the options of each choice exercise:
seed = sha256(variant ID, exercise id). The empty ID (self-study) gives the book's own
numbers and order, so the published solutions match. The instructor makes each student's
variant ID from the student ID and a secret salt (kvmem.grading.variant_ids.variant_id).

This module is public (the grader's sandbox has it): it draws inputs, never answers.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np


def _token_in_windows(rng):
    """(t, i, n_c) for 2.5: the token is as likely inside the window as outside; i is never the
    book's 40, so the answer is never the book's."""
    i, n_c = int(rng.choice([*range(30, 40), *range(41, 61)])), int(rng.integers(10, 26))
    t = int(rng.integers(i - n_c + 1, i + 1)) if rng.random() < 0.5 else int(rng.integers(0, i - n_c + 1))
    return (t, i, n_c)


def _memory_size(rng):
    """(N, d) for 6.2, never with (N - 1) / d = 2, the book's ratio."""
    n, d = int(rng.integers(20, 400)), int(rng.choice([16, 32, 64, 128]))
    return (n + 1 if n - 1 == 2 * d else n, d)


def _gated_read_inputs(rng):
    """(q, Mem keys, Mem values, Mem_knn keys, Mem_knn values, g) for 5.7: small whole numbers, and
    a gate without 0.5, so that swapping g and 1 - g always changes the answer."""
    def pairs():
        return rng.integers(0, 4, size=(2, 2)).astype(float), rng.integers(0, 5, size=(2, 2)).astype(float)
    q = rng.integers(1, 4, size=2).astype(float)
    (mem_k, mem_v), (knn_k, knn_v) = pairs(), pairs()
    while np.array_equal(mem_v, knn_v):
        knn_v = rng.integers(0, 5, size=(2, 2)).astype(float)
    return (q, mem_k, mem_v, knn_k, knn_v, rng.choice([0.1, 0.2, 0.25, 0.3, 0.7, 0.75, 0.8, 0.9], size=2))


# The book's inputs of each value exercise with variants, and how a student's are drawn. The
# draws never give the book's answer (a test checks), so the published solution is no use.
BOOK = {
    "1.2": (80, 8, 128, 2, 32_768),  # layers, key-value heads, head dimension, bytes per number, tokens
    "2.2": (np.array([[4.0, 0.0], [0.0, 4.0], [2.0, 2.0], [1.0, 3.0]]),  # keys k_6 .. k_9
            np.array([1.0, 2.0, 3.0, 4.0])),                              # weights beta_1 .. beta_4
    "2.5": (15, 40, 20),                            # token t, position i, window n_c
    "3.2": (np.array([[2.0, 0.0], [0.0, 2.0], [4.0, 4.0], [1.0, 1.0], [3.0, 3.0]]),),  # keys k_0 .. k_4
    "4.2": (40,),                                   # the effective window, in tokens
    "5.3": (16,),                                   # tokens T (positions 0 .. T - 1)
    "5.4": (16, 640),                               # layers, segment length n_s
    "5.7": (np.array([2.0, 1.0]),                   # query q (d = 2)
            np.array([[1.0, 0.0], [0.0, 1.0]]),     # keys of Mem (the local pairs)
            np.array([[1.0, 0.0], [0.0, 1.0]]),     # values of Mem
            np.array([[2.0, 1.0], [1.0, 2.0]]),     # keys of Mem_knn (the retrieved pairs)
            np.array([[4.0, 0.0], [0.0, 4.0]]),     # values of Mem_knn
            np.array([0.25, 0.75])),                # gate g
    "6.2": (129, 64),                               # N stored pairs, dimension d
    "7.2": (np.array([0.9, 0.5, 0.8, 0.75, 0.6]),   # gates alpha_0 .. alpha_4
            np.array([1.0, 0.5, 1.0, 1.0, 1.0])),   # write strengths beta_0 .. beta_4
}
DRAWS = {
    # token counts that are not powers of 2: no model size then gives the book's 10 GiB
    "1.2": lambda rng: (int(rng.choice([24, 32, 40, 48, 64, 80])), int(rng.choice([4, 8, 16])), int(rng.choice([64, 128])),
                        int(rng.choice([1, 2])), int(rng.choice([12_000, 20_000, 50_000, 100_000]))),
    "2.2": lambda rng: (rng.integers(0, 6, size=(4, 2)).astype(float), rng.integers(1, 6, size=4).astype(float)),
    "2.5": _token_in_windows,
    "3.2": lambda rng: (rng.integers(0, 6, size=(5, 2)).astype(float),),
    "4.2": lambda rng: (int(rng.choice([10, 20, 25, 50, 80, 100, 200])),),
    "5.3": lambda rng: (int(rng.integers(19, 61)),),  # 16, 17, 18 give the book's state; 19 on differ
    "5.4": lambda rng: (int(rng.integers(4, 33)), int(rng.choice([128, 256, 512, 1024]))),
    "5.7": _gated_read_inputs,
    "6.2": _memory_size,
    "7.2": lambda rng: (rng.choice([0.5, 0.6, 0.75, 0.8, 0.9], size=5), rng.choice([0.5, 1.0], size=5)),
}
# Choice exercises whose notebooks print the options in the student's order: all of them.
SHUFFLED = {"1.3", "2.4", "3.4", "4.4", "4.5", "5.5", "6.4", "7.5", "8.1", "8.2"}


def clean_id(student_id) -> str:
    """The variant ID as the seed reads it: case and surrounding spaces do not matter."""
    if not isinstance(student_id, str):
        raise TypeError(f"STUDENT_ID should be a string such as \"alice-3f9a2c\" (or \"\"), not {type(student_id).__name__}")
    return student_id.strip().lower()


def variant_rng(exercise_id: str, student_id: str) -> np.random.Generator:
    """The generator of one student's variant of one exercise."""
    key = json.dumps(["variant", clean_id(student_id), exercise_id]).encode("utf-8", "surrogateescape")
    return np.random.default_rng(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))


def variant(exercise_id: str, student_id: str = ""):
    """The inputs of a value exercise for this student (the book's without an ID)."""
    if exercise_id not in BOOK:
        raise ValueError(f"exercise {exercise_id!r} has no per-student numbers; those that do: {sorted(BOOK)}")
    if not clean_id(student_id):
        return tuple(np.copy(x) if isinstance(x, np.ndarray) else x for x in BOOK[exercise_id])
    return DRAWS[exercise_id](variant_rng(exercise_id, student_id))


def option_order(exercise_id: str, n_options: int, student_id: str = "") -> list[int]:
    """order[j]: the index (in the book's order) of the option shown as the j-th letter."""
    if exercise_id not in SHUFFLED or not clean_id(student_id):
        return list(range(n_options))
    return [int(i) for i in variant_rng(exercise_id, student_id).permutation(n_options)]
