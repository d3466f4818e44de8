"""Benchmarks: ingest speed and websocket fan-out, each against a baseline
measured in the same run (these machines are noisy: only ratios travel)."""
