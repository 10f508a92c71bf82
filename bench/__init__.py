"""Benchmarks (not tests): python -m bench.<name> from the repository root."""
