"""Tests of advlab.metrics (one module per package module; see tests/README.md)."""
