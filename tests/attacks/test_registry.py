"""advlab.attacks.registry: each attack registers where it is defined, with what its signature says."""

from __future__ import annotations

import pytest

from advlab import attacks
from advlab._validate import ArgumentError, ArgumentTypeError
from advlab.attacks import ATTACKS, AttackInfo, register
from advlab.attacks.registry import _REGISTRY, BOOK_ORDER

# What each attack's record must say; derived from its signature, so a signature change shows.
EXPECTED = {
    # name: (norm, takes_eps, takes_steps, randomised, modes, returns)
    "fgsm": ("inf", True, False, False, {"untargeted", "targeted"}, "tensor"),
    "bim": ("inf", True, True, False, {"untargeted", "targeted"}, "tensor"),
    "pgd": ("inf", True, True, True, {"untargeted", "targeted"}, "tensor"),
    "cw_l2": ("2", False, True, False, {"untargeted", "targeted"}, "tensor"),
    "one_pixel": ("0", False, False, True, {"untargeted", "targeted"}, "result"),
    "random_pixels": ("0", False, False, True, {"untargeted", "targeted"}, "result"),
    "jsma": ("0", False, False, False, {"targeted"}, "result"),
    "spsa": ("inf", True, True, True, {"untargeted", "targeted"}, "tensor"),
    "random_noise": ("inf", True, False, True, {"untargeted"}, "tensor"),
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_attack_registers_itself_with_what_its_signature_says(name: str) -> None:
    info = ATTACKS[name]
    got = (info.norm, info.takes_eps, info.takes_steps, info.randomised, set(info.modes))
    assert (*got, info.returns) == EXPECTED[name]
    assert info.fn is getattr(attacks, name)
    assert info.targeted == ("targeted" in EXPECTED[name][4])


def test_attacks_are_listed_in_the_books_order() -> None:
    assert list(ATTACKS)[: len(BOOK_ORDER)] == list(BOOK_ORDER)


def test_the_decorator_registers_and_returns_the_function_unchanged() -> None:
    def probe(model, x, y=None, *, eps: float, seed: int | None = None):  # type: ignore[no-untyped-def]
        return x

    try:
        out = register(norm="inf", title="Probe")(probe)
        assert out is probe
        info = ATTACKS["probe"]
        assert (info.takes_eps, info.takes_steps, info.randomised) == (True, False, True)
        assert info.modes == {"untargeted"} and info.returns == "result"  # no Tensor annotation
        assert list(ATTACKS)[-1] == "probe"  # after the book's attacks
        register(norm="inf", title="Probe")(probe)  # the same function again: allowed

        def other(model, x, y=None):  # type: ignore[no-untyped-def]
            return x

        with pytest.raises(ArgumentError, match="already registered"):
            register(norm="inf", name="probe")(other)
    finally:
        _REGISTRY.pop("probe", None)


def test_bad_registrations_are_refused() -> None:
    with pytest.raises(ArgumentError, match="norm must be"):
        register(norm="1")  # type: ignore[call-overload]
    with pytest.raises(ArgumentTypeError):
        register("pgd")  # type: ignore[call-overload]
    with pytest.raises(ArgumentError, match="modes must be"):
        AttackInfo("x", lambda m, x, y: x, "inf", True, False, False, modes=frozenset({"both"}))  # type: ignore[arg-type]
