"""Benchmarks that measure portrait side by side with a reference in one run (`make bench`)."""
