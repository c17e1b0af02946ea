"""Benchmarks of the memory library. Run them all with `make benchmarks` (python -m benchmarks)."""
