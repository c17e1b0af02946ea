"""Exercises of chapter 1, Why memory?"""

import numpy as np

from ..kv_cache import kv_bytes_per_token
from .spec import Exercise


def _window(keys, values, i, n_c):
    lo = max(0, i - n_c + 1)
    return keys[lo: i + 1], values[lo: i + 1]


def _window_cases(rng):
    cases = []
    for n, d, n_c in ((12, 3, 4), (5, 2, 8), (30, 4, 1)):
        i = int(rng.integers(0, n))
        cases.append((rng.normal(size=(n, d)), rng.normal(size=(n, d)), i, n_c))
    return cases


_DEMO = np.arange(12.0).reshape(6, 2)

EXERCISES = [
    Exercise(
        id="1.1", points=2, kind="function", name="kv_cache_bytes",
        task="return the bytes the KV cache grows by per token",
        reference=lambda layers, kv_heads, d_head, b: kv_bytes_per_token(int(layers), int(kv_heads), int(d_head), int(b)),
        cases=lambda rng: [tuple(int(x) for x in rng.integers(1, 200, 3)) + (int(rng.choice([1, 2, 4])),)
                           for _ in range(3)],
        visible=[(32, 32, 128, 2), (12, 12, 64, 4)],
        wrong="    return layers * kv_heads * d_head * bytes_per_number",
    ),
    Exercise(
        id="1.2", points=1, kind="value", name="cache_gib",
        task="compute the KV cache in GiB after n tokens",
        reference=lambda layers, kv_heads, d_head, b, n: kv_bytes_per_token(layers, kv_heads, d_head, b) * n / 2**30,  # inputs: kvmem.variants
        wrong="cache_gib = 5.0",
    ),
    Exercise(
        id="1.3", points=1, kind="choice", name="update_choice",
        task="choose the procedure that does not conform, and justify it",
        reference="C",
        options=("A: the number of tokens seen so far",
                 "B: the sum of the last 4 keys, kept with a buffer of the last 4 keys",
                 "C: the 10th percentile of the norms of all keys seen so far",
                 "D: r_i = tanh(W_r r_{i-1} + W_k k_i + W_v v_i)"),
        rubric=(("names the mechanism: an exact percentile needs every earlier norm, no fixed-size summary holds them", 1),),
        wrong='update_choice = "A"\nupdate_choice_why = "Counting needs every token."',
    ),
    Exercise(
        id="1.4", points=2, kind="function", name="window_memory",
        task="return the window memory (keys, values) of the last n_c pairs up to position i",
        reference=_window, cases=_window_cases,
        visible=[(_DEMO, _DEMO * 10, 4, 3), (_DEMO, _DEMO * 10, 1, 3)],
        wrong="    return keys[i - n_c:i], values[i - n_c:i]",
    ),
    Exercise(
        id="1.5", points=0, kind="experiment", name="plot_cache_growth",
        task="plot the KV cache of a model of your choice against the length of the text",
    ),
    Exercise(
        id="1.6", points=0, kind="written", name="window_buffer",
        task="explain why the window average needs a buffer of the last n_c pairs to conform",
        rubric=(("writes Mem_i = Mem_{i-1} + (k_i - k_{i-n_c}) / n_c and names the leaving key k_{i-n_c} as the missing input", 1),
                ("gives two sequences with the same Mem_{i-1} and k_i but different Mem_i, with the numbers right", 1),
                ("concludes that the state must keep the last n_c pairs, 2 n_c d numbers: fixed in i, but n_c times the cumulative average's 2d", 1)),
    ),
]
