"""Exercises of chapter 5, Segment-level recurrence."""

import numpy as np

from ..experiments import transformer_xl_reach
from ..segments import CompressiveMemory, compress_mean_pool
from .spec import Exercise


def _compressive_state(n_tokens):
    memory = CompressiveMemory(n_s=3, c=3, n_mem=6, n_cmem=2)
    for t in range(n_tokens):
        memory.update(np.array([float(t)]), np.array([float(t)]))
    return memory.mem_positions.copy(), memory.cmem_spans.copy()


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
        task="choose what a gate g = 1 does in the kNN memory, and justify it",
        reference="B",
        options=("A: the read uses only the retrieved pairs",
                 "B: the read uses only the local memory",
                 "C: the read averages the two equally",
                 "D: the read is zero"),
        rubric=(("names the mechanism: with g = 1 the retrieved term is multiplied by 1 - g = 0", 1),),
        wrong='gate_choice = "A"\ngate_choice_why = "g selects retrieval."',
    ),
    Exercise(
        id="5.6", points=0, kind="experiment", name="plot_recall_distance",
        task="plot recall against distance for a FIFO memory with two segment sizes",
    ),
]
