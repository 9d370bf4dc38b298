"""Tests of advlab.defenses (one module per package module; see tests/README.md)."""
