"""One registry of advlab's attacks: what each one is, so explorers and tests need no guessing.

Every attack module registers itself here with an :class:`AttackInfo`. The
explorers read it to decide which controls an attack gets (an ε slider only
where the attack takes ``eps``, a steps slider only where it iterates), and
the property tests read it to decide which contract applies (a norm ball for
bounded attacks, seed determinism for randomised ones).

    >>> from advlab.attacks.registry import ATTACKS
    >>> ATTACKS["pgd"].takes_eps, ATTACKS["cw_l2"].takes_eps
    (True, False)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

__all__ = ["ATTACKS", "AttackInfo", "attack_info", "register"]

#: The perturbation set an attack works in: L∞, L2, or L0 (a count of changed pixels).
AttackNorm = Literal["inf", "2", "0"]
#: What an attack returns: the adversarial images, or a result object with ``x_adv`` and more.
Returns = Literal["tensor", "result"]


@dataclass(frozen=True)
class AttackInfo:
    """What an attack is, for code that drives any attack.

    Attributes
    ----------
    name:
        The registry key, e.g. ``"pgd"``.
    fn:
        The attack, called as ``fn(model, x, y, **kwargs)``.
    norm:
        ``"inf"``, ``"2"`` or ``"0"``: the set its perturbations lie in. For an
        attack with a ``norm`` argument (PGD), the default one.
    takes_eps:
        Whether it takes a budget ``eps`` (pixel units). Minimum-distance attacks
        (CW) and count-budgeted ones (JSMA, one-pixel) do not.
    takes_steps:
        Whether it takes a number of iterations ``steps``.
    randomised:
        Whether its result depends on ``seed=``/``generator=`` (which it then takes).
    targeted:
        Whether it supports ``targeted=True``.
    returns:
        ``"tensor"`` (the adversarial images) or ``"result"`` (an object with ``x_adv``).
    title:
        How the book names it ("PGD", "CW-L2").
    """

    name: str
    fn: Callable[..., Any]
    norm: AttackNorm
    takes_eps: bool
    takes_steps: bool
    randomised: bool
    targeted: bool = True
    returns: Returns = "tensor"
    title: str = ""

    @property
    def label(self) -> str:
        return self.title or self.name


_REGISTRY: dict[str, AttackInfo] = {}
#: Read-only view of every registered attack, by name, in registration order.
ATTACKS: Mapping[str, AttackInfo] = MappingProxyType(_REGISTRY)


def register(info: AttackInfo) -> AttackInfo:
    """Add ``info`` to :data:`ATTACKS` (its name must be new); returns it."""
    if not isinstance(info, AttackInfo):
        raise TypeError(f"register takes an AttackInfo, got {type(info).__name__}")
    if info.name in _REGISTRY and _REGISTRY[info.name].fn is not info.fn:
        raise ValueError(f"an attack named {info.name!r} is already registered")
    _REGISTRY[info.name] = info
    return info


def attack_info(name_or_fn: str | Callable[..., Any]) -> AttackInfo:
    """The :class:`AttackInfo` of a registered attack, by name or by the function itself."""
    if isinstance(name_or_fn, str):
        try:
            return _REGISTRY[name_or_fn]
        except KeyError:
            known = ", ".join(_REGISTRY)
            raise ValueError(f"unknown attack {name_or_fn!r}; registered: {known}") from None
    for info in _REGISTRY.values():
        if info.fn is name_or_fn:
            return info
    raise ValueError(
        f"{getattr(name_or_fn, '__name__', name_or_fn)!r} is not a registered advlab attack"
    )
