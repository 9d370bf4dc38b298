"""One registry of advlab's attacks: what each one is, so explorers and tests need no guessing.

Every attack registers itself where it is defined, with ``@register(norm=..., title=...)``;
what its signature says (whether it takes ``eps``, ``steps``, ``seed``, ``targeted``) is read
from the signature into an :class:`AttackInfo`. The
explorers read it to decide which controls an attack gets (an ε slider only
where the attack takes ``eps``, a steps slider only where it iterates), and
the property tests read it to decide which contract applies (a norm ball for
bounded attacks, seed determinism for randomised ones).

    >>> from advlab.attacks.registry import ATTACKS
    >>> ATTACKS["pgd"].takes_eps, ATTACKS["cw_l2"].takes_eps
    (True, False)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal, TypeVar, overload

from .._validate import ArgumentError, ArgumentTypeError

__all__ = ["ATTACKS", "MODES", "AttackInfo", "Mode", "attack_info", "register"]

#: The perturbation set an attack works in: L∞, L2, or L0 (a count of changed pixels).
AttackNorm = Literal["inf", "2", "0"]
#: What an attack returns: the adversarial images, or a result object with ``x_adv`` and more.
Returns = Literal["tensor", "result"]


#: The two ways an attack can be asked to work: away from the true class, or towards a target.
Mode = Literal["untargeted", "targeted"]
MODES: tuple[Mode, ...] = ("untargeted", "targeted")


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
    modes:
        The modes it supports: ``{"untargeted", "targeted"}`` for most attacks,
        ``{"targeted"}`` for an attack that only moves images towards a target
        (JSMA), ``{"untargeted"}`` for a baseline with no notion of a target.
    returns:
        ``"tensor"`` (the adversarial images) or ``"result"`` (an
        :class:`advlab.attacks.AttackResult`).
    title:
        How the book names it ("PGD", "CW-L2").
    """

    name: str
    fn: Callable[..., Any]
    norm: AttackNorm
    takes_eps: bool
    takes_steps: bool
    randomised: bool
    modes: frozenset[Mode] = frozenset(MODES)
    returns: Returns = "tensor"
    title: str = ""

    def __post_init__(self) -> None:
        """Check ``modes`` and store it as a frozenset."""
        modes = frozenset(self.modes)
        if not modes or not modes <= set(MODES):
            raise ArgumentError(
                f"modes must be a non-empty subset of {set(MODES)}, got {set(self.modes)}"
            )
        object.__setattr__(self, "modes", modes)

    @property
    def label(self) -> str:
        """The attack's name as the book prints it: its title, else its registry name."""
        return self.title or self.name

    @property
    def targeted(self) -> bool:
        """Whether it can be called with ``targeted=True``."""
        return "targeted" in self.modes

    @property
    def untargeted(self) -> bool:
        """Whether it can be called untargeted (``targeted=False``, ``y`` the true classes)."""
        return "untargeted" in self.modes

    @classmethod
    def of(
        cls,
        fn: Callable[..., Any],
        *,
        norm: AttackNorm,
        title: str = "",
        name: str | None = None,
        modes: Iterable[Mode] | None = None,
    ) -> AttackInfo:
        """Build the record of ``fn``, reading what it takes from its signature.

        ``takes_eps``, ``takes_steps`` and ``randomised`` are whether ``fn`` has
        an ``eps``, a ``steps`` and a ``seed`` parameter; ``returns`` is
        ``"tensor"`` when its return annotation is ``Tensor``; ``modes`` is
        both modes when it has a ``targeted`` parameter and ``{"untargeted"}``
        when it has none, unless given.
        """
        params = inspect.signature(fn).parameters
        annotation = inspect.signature(fn).return_annotation
        tensor = (
            annotation in ("Tensor", "torch.Tensor")
            or getattr(annotation, "__name__", "") == "Tensor"
        )
        if modes is None:
            modes = MODES if "targeted" in params else ("untargeted",)
        return cls(
            name=name or fn.__name__,
            fn=fn,
            norm=norm,
            takes_eps="eps" in params,
            takes_steps="steps" in params,
            randomised="seed" in params,
            modes=frozenset(modes),
            returns="tensor" if tensor else "result",
            title=title,
        )


_REGISTRY: dict[str, AttackInfo] = {}
#: Read-only view of every registered attack, by name: the book's attacks in the order it teaches
#: them (which tables and explorers keep), then any others in registration order.
ATTACKS: Mapping[str, AttackInfo] = MappingProxyType(_REGISTRY)
#: The order the book teaches its attacks in (modules register as they are imported, in any order).
BOOK_ORDER = (
    "fgsm",
    "bim",
    "pgd",
    "cw_l2",
    "one_pixel",
    "random_pixels",
    "jsma",
    "spsa",
    "random_noise",
    "apgd",
    "square",
)

F = TypeVar("F", bound=Callable[..., Any])


def _add(info: AttackInfo) -> AttackInfo:
    if info.name in _REGISTRY and _REGISTRY[info.name].fn is not info.fn:
        raise ArgumentError(f"an attack named {info.name!r} is already registered")
    _REGISTRY[info.name] = info
    rank = {name: k for k, name in enumerate(BOOK_ORDER)}
    ordered = sorted(_REGISTRY.items(), key=lambda kv: rank.get(kv[0], len(rank)))  # stable
    _REGISTRY.clear()
    _REGISTRY.update(ordered)
    return info


@overload
def register(info: AttackInfo, /) -> AttackInfo: ...
@overload
def register(
    *,
    norm: AttackNorm,
    title: str = "",
    name: str | None = None,
    modes: Iterable[Mode] | None = None,
) -> Callable[[F], F]: ...
def register(
    info: AttackInfo | None = None,
    /,
    *,
    norm: AttackNorm | None = None,
    title: str = "",
    name: str | None = None,
    modes: Iterable[Mode] | None = None,
) -> AttackInfo | Callable[[F], F]:
    """Add an attack to :data:`ATTACKS`: as a decorator where it is defined, or a record.

    As a decorator, ``@register(norm="inf", title="PGD")`` builds the record
    with :meth:`AttackInfo.of` (what the signature says is read from it) and
    returns the function unchanged::

        @register(norm="inf", title="FGSM")
        def fgsm(model, x, y=None, *, eps, ...): ...

    Called with an :class:`AttackInfo`, it adds that record and returns it.
    A name may be registered again only for the same function.
    """
    if info is not None:
        if not isinstance(info, AttackInfo):
            raise ArgumentTypeError(f"register takes an AttackInfo, got {type(info).__name__}")
        return _add(info)
    if not isinstance(norm, str) or norm not in ("inf", "2", "0"):
        raise ArgumentError(f"norm must be 'inf', '2' or '0', got {norm!r}")

    def decorate(fn: F) -> F:
        _add(AttackInfo.of(fn, norm=norm, title=title, name=name, modes=modes))
        return fn

    return decorate


def attack_info(name_or_fn: str | Callable[..., Any]) -> AttackInfo:
    """Return the :class:`AttackInfo` of a registered attack, by name or by the function."""
    if isinstance(name_or_fn, str):
        try:
            return _REGISTRY[name_or_fn]
        except KeyError:
            known = ", ".join(_REGISTRY)
            raise ArgumentError(f"unknown attack {name_or_fn!r}; registered: {known}") from None
    for info in _REGISTRY.values():
        if info.fn is name_or_fn:
            return info
    raise ArgumentError(
        f"{getattr(name_or_fn, '__name__', name_or_fn)!r} is not a registered advlab attack"
    )
