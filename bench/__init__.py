"""Benchmarks: measured quality and cost of Forewarn components on real and simulated data."""
