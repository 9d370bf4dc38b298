"""advlab._validate: advlab's error types are the built-in types callers catch."""

from __future__ import annotations

import pytest

from advlab._validate import ArgumentError, ArgumentTypeError, check_count, check_module


def test_argument_errors_are_the_builtin_types_callers_catch() -> None:
    assert issubclass(ArgumentError, ValueError)
    assert issubclass(ArgumentTypeError, ArgumentError) and issubclass(ArgumentTypeError, TypeError)
    with pytest.raises(TypeError, match="integer"):
        check_count("3", "steps")
    with pytest.raises(ValueError, match=">= 1"):
        check_count(0, "steps")
    with pytest.raises(TypeError, match=r"nn\.Module"):
        check_module(lambda x: x)
