"""Benchmarks of the memory library. Run them all with `make benchmarks` (python -m benchmarks)."""

import os

# One thread for numpy's linear algebra, set before numpy loads: every benchmark then compares
# single-threaded code, and the CPU time it reports is the time of one core.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
