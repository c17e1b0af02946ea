"""Time per token of every memory of chapter 8 (kvmem.experiments.book_memories), update and read apart.

Each memory streams N = 2,000 random pairs of dimension d = 32 as a decoder does: update with
(k_i, v_i), then read with q_i. The update and read times are summed separately over the stream
and divided by N (the best of three runs), so a memory whose read grows with i (the full cache,
the kNN store, the quantised caches) reports its mean over the stream. Times are the CPU time of
this process (time.process_time), which other work on a shared machine disturbs less than the
wall clock.
"""

from __future__ import annotations

import os
import time

import numpy as np

from benchmarks.common import log, write_result
from kvmem.experiments import book_memories

N = 2000
D = 32
N_C = 16


def time_per_token(make, queries, keys, values) -> tuple[float, float]:
    """Seconds per token spent in update and in read over one stream."""
    memory = make()
    t_update = t_read = 0.0
    for q, k, v in zip(queries, keys, values):
        start = time.process_time()
        memory.update(k, v)
        middle = time.process_time()
        memory.read(q)
        t_update += middle - start
        t_read += time.process_time() - middle
    return t_update / len(keys), t_read / len(keys)


def main() -> dict:
    queries, keys, values = np.random.default_rng(0).normal(size=(3, N, D))
    per_token = {}
    for name, make in book_memories(N_C).items():
        runs = [time_per_token(make, queries, keys, values) for _ in range(3)]
        update, read = min(r[0] for r in runs), min(r[1] for r in runs)
        per_token[name] = {"update_s": update, "read_s": read}
        log(f"  {name:26s} update {update * 1e6:7.1f} us   read {read * 1e6:7.1f} us")
    result = {"description": f"seconds per token, update and read apart, mean over a stream of N = {N:,} "
                             f"pairs, d = {D}, budget n_c = {N_C} (book_memories), CPU time of the process, best of 3 runs",
              "n": N, "d": D, "n_c": N_C, "per_token": per_token,
              "load_average_1min": os.getloadavg()[0]}  # other work on the machine slows every number
    write_result("choosing", result)
    return result


if __name__ == "__main__":
    main()
