"""Benchmarks (not tests): data generator, HTTP load runs against `nrm serve`, baselines, micro-benchmarks.

`python -m bench` (or `make bench`) runs them all and writes docs/benchmarks.md.
"""
