"""Exercises of chapter 5, Segment-level recurrence."""

import numpy as np

from ..attention import attend
from ..experiments import transformer_xl_reach
from ..segments import CompressiveMemory, compress_mean_pool
from .spec import Exercise


def _compressive_state(n_tokens):
    memory = CompressiveMemory(n_s=3, c=3, n_mem=6, n_cmem=2)
    for t in range(n_tokens):
        memory.update(np.array([float(t)]), np.array([float(t)]))
    return memory.mem_positions.copy(), memory.cmem_spans.copy()


def _gated_read(q, mem_keys, mem_values, knn_keys, knn_values, g):
    """Exercise 5.7: the two reads and their mix by the gate (eq-knn-gate of chapter 5)."""
    local, retrieved = attend(q, mem_keys, mem_values), attend(q, knn_keys, knn_values)
    return (local, retrieved, g * local + (1 - g) * retrieved)


def _fifo_cases(rng):
    return [(rng.normal(size=(m, d)), rng.normal(size=(n_s, d)), n_mem)
            for m, n_s, d, n_mem in ((4, 4, 2, 4), (6, 2, 3, 8), (0, 3, 2, 2))]


EXERCISES = [
    Exercise(
        id="5.1", points=2, kind="function", name="fifo_update",
        task="return FIFO(S_kv, Mem_pre): the last n_mem rows of [mem; segment]",
        reference=lambda mem, segment, n_mem: np.concatenate([mem, segment])[-int(n_mem):],
        cases=_fifo_cases,
        visible=[(np.arange(8.0).reshape(4, 2), np.arange(8.0, 12.0).reshape(2, 2), 4)],
        wrong="    return np.concatenate([mem, segment])[:n_mem]",
    ),
    Exercise(
        id="5.2", points=2, kind="function", name="compress",
        task="return the segment compressed by mean pooling runs of c rows",
        reference=lambda segment, c: compress_mean_pool(segment, segment, int(c))[0],
        cases=lambda rng: [(rng.normal(size=(n_s, d)), c) for n_s, d, c in ((8, 3, 4), (6, 2, 3), (5, 1, 1))],
        visible=[(np.arange(8.0).reshape(4, 2), 2)],
        wrong="    return segment[::c]",
    ),
    Exercise(
        id="5.3", points=2, kind="value", name="compressive_state",
        task="give (positions in Mem, pooled spans in CMem) after the tokens at positions 0..T-1",
        reference=_compressive_state,  # inputs: kvmem.variants
        wrong="compressive_state = (np.arange(6, 12), np.array([[0, 2], [3, 5]]))",
    ),
    Exercise(
        id="5.4", points=1, kind="value", name="xl_reach",
        task="give (shortest, longest) reach of a query at the top layer, in tokens back",
        reference=lambda layers, n_s: tuple(int(r) for r in transformer_xl_reach(layers, n_s)[-1]),  # inputs: kvmem.variants
        wrong="xl_reach = (16 * 640, 17 * 640)",
    ),
    Exercise(
        id="5.5", points=1, kind="choice", name="gate_choice",
        task="choose what a Memorizing Transformers head with gate sigma(b_g) = 0.95 does, and justify it",
        reference="C",
        options=("A: it takes about 95% of its output from its local context and 5% from the retrieved pairs",
                 "B: one softmax over the local and the retrieved keys puts about 95% of its weight on the retrieved pairs",
                 "C: for every query, its output is 0.95 times its read of the retrieved pairs plus 0.05 times its local read",
                 "D: it reads the retrieved pairs for about 95% of its queries and its local context for the others"),
        rubric=(("names the mechanism: the head's one learned scalar sigma(b_g) weighs the read of the retrieved "
                 "pairs and 1 - sigma(b_g) the local read, the same for every query, after two separate softmaxes", 1),),
        wrong='gate_choice = "A"\ngate_choice_why = "As in the book, g weighs the local read."',
    ),
    Exercise(
        id="5.6", points=0, kind="experiment", name="plot_recall_distance",
        task="plot recall against distance for a FIFO memory with two segment sizes",
    ),
    Exercise(
        id="5.7", points=2, kind="value", name="gated_read",
        task="give (Att(q, Mem), Att(q, Mem_knn), the gated read g * Att(q, Mem) + (1 - g) * Att(q, Mem_knn))",
        reference=_gated_read,  # inputs: kvmem.variants
        wrong=("def read(q, keys, values):\n"
               "    w = np.exp(keys @ q / np.sqrt(len(q)))\n"
               "    return w / w.sum() @ values\n"
               "a, b = read(q_5_7, mem_keys_5_7, mem_values_5_7), read(q_5_7, knn_keys_5_7, knn_values_5_7)\n"
               "gated_read = (a, b, (1 - g_5_7) * a + g_5_7 * b)  # the gate on the wrong branch"),
    ),
    Exercise(
        id="5.8", points=0, kind="written", name="compressive_reach",
        task="derive the reach of a query at layer l of a model with a compressive memory in every layer",
        rubric=(("finds the oldest position a layer-l state at i reads once both memories are full: "
                 "s(i) - n_m - c n_cm, because CMem's n_cm pairs pool the c n_cm positions before Mem", 1),
                ("argues that this position starts a segment (n_m and c n_cm are multiples of n_s), so each "
                 "layer steps back by the same n_m + c n_cm, as in the proof of the chapter's proposition", 1),
                ("concludes that the reach is l (n_m + c n_cm) + o, against l n_m + o for a FIFO memory of n_m pairs", 1)),
    ),
]
