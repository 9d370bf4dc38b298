"""advlab.device: ADVLAB_DEVICE and the default device."""

from __future__ import annotations

import pytest
import torch

from advlab import default_device


def test_device_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVLAB_DEVICE", "cpu")
    assert default_device() == torch.device("cpu")
    monkeypatch.setenv("ADVLAB_DEVICE", "toaster")
    with pytest.raises(ValueError, match="ADVLAB_DEVICE='toaster'"):
        default_device()
    if not torch.cuda.is_available():
        monkeypatch.setenv("ADVLAB_DEVICE", "cuda")
        with pytest.raises(ValueError, match="names a device this machine does not have"):
            default_device()
    monkeypatch.delenv("ADVLAB_DEVICE")
    assert default_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
