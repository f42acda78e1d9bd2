"""Benchmarks (run by hand or `make bench`; never part of `make test`)."""
