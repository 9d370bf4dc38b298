"""Where tensors and models live: CUDA when present, else CPU, with an override.

Set ``ADVLAB_DEVICE`` (for example ``cpu``, ``cuda`` or ``cuda:1``) to choose a
device explicitly; otherwise advlab uses the first CUDA device when PyTorch sees
one and the CPU when it does not. Nothing in advlab hard-codes ``cuda:0``.
"""

from __future__ import annotations

import os

import torch

__all__ = ["default_device"]


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
        available (for example ``cuda`` on a machine without a GPU).
    """
    wanted = os.environ.get("ADVLAB_DEVICE", "").strip()
    if not wanted:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(wanted)
    except RuntimeError as err:
        raise ValueError(
            f"ADVLAB_DEVICE={wanted!r} is not a device PyTorch understands; "
            "use 'cpu', 'cuda' or 'cuda:N', or unset it."
        ) from err
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"ADVLAB_DEVICE={wanted!r} asks for CUDA, but PyTorch sees no CUDA device here; "
            "unset ADVLAB_DEVICE or set it to 'cpu'."
        )
    return device
