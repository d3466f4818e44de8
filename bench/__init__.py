"""Benchmarks: ingest speed and websocket fan-out, each against a baseline
measured in the same run (these machines are noisy: only ratios travel)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")

import django  # noqa: E402

django.setup()
