"""Where tensors and models live: CUDA when present, else CPU, with an override.

Set ``ADVLAB_DEVICE`` (for example ``cpu``, ``cuda`` or ``cuda:1``) to choose a
device explicitly; otherwise advlab uses the first CUDA device when PyTorch sees
one and the CPU when it does not. Nothing in advlab hard-codes ``cuda:0``. A
device passed as an argument (``fit(..., device=)``, ``pretrained(device=)``,
``advlab train --device``) is checked by :func:`check_device` exactly as
``ADVLAB_DEVICE`` is.
"""

from __future__ import annotations

import os

import torch

from ._validate import ArgumentError

__all__ = ["check_device", "default_device"]


def _available(device: torch.device) -> bool:
    kind = device.type
    if kind == "cpu":
        return True
    if kind == "cuda":
        if not torch.cuda.is_available():
            return False
        return device.index is None or device.index < torch.cuda.device_count()
    if kind == "mps":
        backend = getattr(torch.backends, "mps", None)
        return bool(backend is not None and backend.is_available())
    if kind == "xpu":
        xpu = getattr(torch, "xpu", None)
        return bool(xpu is not None and xpu.is_available())
    return False  # meta, privateuse backends...: no data advlab could train or attack on


def check_device(device: object, what: str = "device") -> torch.device:
    """``device`` as a :class:`torch.device` that exists on this machine, or a ValueError.

    Parameters
    ----------
    device:
        A ``torch.device`` or a string such as ``"cpu"``, ``"cuda"``, ``"cuda:1"``,
        ``"mps"`` or ``"xpu"``.
    what:
        How the message names the value (e.g. ``"ADVLAB_DEVICE='cuda'"``).

    Raises
    ------
    ValueError
        If it is not a device PyTorch understands, or names one this machine
        lacks (CUDA, a CUDA index beyond the count, MPS or XPU; ``meta``).
    """
    if isinstance(device, str):
        try:
            parsed = torch.device(device.strip())
        except RuntimeError as err:
            raise ArgumentError(
                f"{what}={device!r} is not a device PyTorch understands; "
                "use 'cpu', 'cuda' or 'cuda:N'"
            ) from err
    elif isinstance(device, torch.device):
        parsed = device
    else:
        raise ArgumentError(
            f"{what} must be a torch.device or a string such as 'cpu' or 'cuda', "
            f"got {type(device).__name__}"
        )
    if not _available(parsed):
        raise ArgumentError(
            f"{what}={str(parsed)!r} names a device this machine does not have "
            f"(CUDA available: {torch.cuda.is_available()}); use 'cpu', or leave it unset"
        )
    return parsed


def default_device() -> torch.device:
    """Return the device advlab uses when none is given.

    Returns
    -------
    torch.device
        ``$ADVLAB_DEVICE`` when set, else ``cuda`` when available, else ``cpu``.

    Raises
    ------
    ValueError
        If ``ADVLAB_DEVICE`` names a device that does not parse or is not
        available (for example ``cuda`` or ``mps`` on a machine without one).
    """
    wanted = os.environ.get("ADVLAB_DEVICE", "").strip()
    if not wanted:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return check_device(wanted, "ADVLAB_DEVICE")


def resolve_device(device: object) -> torch.device:
    """``check_device(device)``, or :func:`default_device` when ``device`` is None."""
    return default_device() if device is None else check_device(device)
