"""Run every benchmark (or those named): python -m benchmarks [name ...]."""

from __future__ import annotations

import sys
import time

from benchmarks import (choosing, chunk_sizes, chunkwise, cumavg_bandwidth, float32_accuracy, grading_throughput, scaling,
                        streaming_flat, trained_recall, tune_neural, tune_sign_recall)
from benchmarks.common import RESULTS, log

BENCHMARKS = {
    "cumavg_bandwidth": cumavg_bandwidth,
    "streaming_flat": streaming_flat,
    "scaling": scaling,
    "float32_accuracy": float32_accuracy,
    "grading_throughput": grading_throughput,
    "chunkwise": chunkwise,
    "chunk_sizes": chunk_sizes,
    "tune_neural": tune_neural,
    "tune_sign_recall": tune_sign_recall,
    "trained_recall": trained_recall,
    "choosing": choosing,
}


def main(names: list[str]) -> None:
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        sys.exit(f"unknown benchmark(s) {unknown}; choose from {sorted(BENCHMARKS)}")
    chosen = names or list(BENCHMARKS)
    for k, name in enumerate(chosen, 1):
        log(f"[{k}/{len(chosen)}] {name}")
        start = time.perf_counter()
        BENCHMARKS[name].main()
        log(f"      done in {time.perf_counter() - start:.0f} s -> {RESULTS / (name + '.json')}")


if __name__ == "__main__":
    main(sys.argv[1:])
