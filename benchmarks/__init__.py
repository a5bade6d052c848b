"""Benchmarks: scripts that print comparable figures (median of several runs). Not tests."""
