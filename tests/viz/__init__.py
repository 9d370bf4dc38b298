"""Tests of advlab.viz (one module per package module; see tests/README.md)."""
