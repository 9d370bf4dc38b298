"""Tests of advlab.attacks (one module per package module; see tests/README.md)."""
