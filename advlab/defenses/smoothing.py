"""Randomized smoothing (Cohen, Rosenfeld & Kolter, 2019): a certified defense in the L2 ball.

The *smoothed* classifier ``g`` answers, for an image ``x``, the class the base classifier
``f`` gives most often to ``x + N(0, sigma^2 I)``. If that class has probability ``p_A`` under
the noise and every other class at most ``1 - p_A``, then ``g`` gives the same answer at every
point within L2 distance ``sigma * Phi^-1(p_A)`` of ``x`` (``Phi`` the standard normal CDF).
That is a guarantee, not a measurement: no attack, present or future, changes ``g``'s answer
inside the radius.

:func:`certify` estimates it the way Cohen et al.'s CERTIFY does: ``n0`` noisy copies pick the
class, ``n`` fresh copies count it, and the one-sided Clopper–Pearson bound at level ``alpha``
gives ``p_lower <= p_A`` with probability at least ``1 - alpha``; the radius is
``sigma * Phi^-1(p_lower)``, and the answer is *abstain* (-1) when ``p_lower <= 1/2``.
The noise is not clipped to [0, 1], as in the paper.
"""

from __future__ import annotations

from dataclasses import dataclass

import scipy.stats
import torch
from torch import Tensor, nn

from .._utils import frozen_eval
from .._validate import (
    ArgumentError,
    check_count,
    check_finite_logits,
    check_images,
    check_labels,
    check_logits,
    check_real,
    make_generator,
)

__all__ = ["ABSTAIN", "Certificate", "certify"]

#: The prediction of a smoothed classifier that cannot decide at the requested confidence.
ABSTAIN = -1


@dataclass(frozen=True)
class Certificate:
    """What :func:`certify` found, per image.

    Attributes
    ----------
    prediction:
        (N,) int64: the smoothed classifier's class, or :data:`ABSTAIN` (-1).
    radius:
        (N,) float64: the certified L2 radius in pixel units (0 where it abstains).
    p_lower:
        (N,) float64: the lower confidence bound on the top class's probability under noise.
    sigma, n, alpha:
        The noise level, the number of counted samples, and the failure probability.
    """

    prediction: Tensor
    radius: Tensor
    p_lower: Tensor
    sigma: float
    n: int
    alpha: float

    def certified_accuracy(self, y: Tensor, radius: float = 0.0) -> float:
        """Return the fraction of images certified as their label ``y`` at ``radius`` or more."""
        y = check_labels(y.cpu() if isinstance(y, Tensor) else y, self.radius)
        r = check_real(radius, "radius")
        ok = (self.prediction == y.to(self.prediction.device)) & (self.radius >= r)
        return float(ok.double().mean())


def _counts(
    model: nn.Module,
    x: Tensor,
    *,
    sigma: float,
    samples: int,
    batch_size: int,
    gen: torch.Generator | None,
) -> Tensor:
    """Count how often ``model`` gives each class to ``samples`` noisy copies: (N, K) int64."""
    where = gen.device if gen is not None else torch.device("cpu")
    counts: Tensor | None = None
    per_image = max(1, batch_size // max(1, len(x)))
    done = 0
    while done < samples:
        k = min(per_image, samples - done)
        noise = torch.randn((k, *x.shape), generator=gen, device=where)
        noisy = (x.unsqueeze(0) + sigma * noise.to(device=x.device, dtype=x.dtype)).flatten(0, 1)
        logits = check_finite_logits(check_logits(model(noisy), len(noisy)))
        votes = logits.argmax(1).view(k, len(x))
        if counts is None:
            counts = torch.zeros(len(x), logits.shape[1], dtype=torch.long, device=x.device)
        counts.scatter_add_(1, votes.T, torch.ones_like(votes.T))
        done += k
    assert counts is not None
    return counts


def certify(
    model: nn.Module,
    x: Tensor,
    *,
    sigma: float,
    n0: int = 100,
    n: int = 1000,
    alpha: float = 0.001,
    batch_size: int = 4096,
    generator: torch.Generator | None = None,
    seed: int | None = None,
) -> Certificate:
    """Certify the Gaussian-smoothed ``model`` at each image: its class and L2 radius.

    Parameters
    ----------
    model:
        The base classifier, returning logits for images (it is queried on noisy images,
        which leave [0, 1]); run in eval mode without gradients.
    x:
        Images (N, C, H, W) in [0, 1].
    sigma:
        Standard deviation of the Gaussian noise, in pixel units (> 0). A larger ``sigma``
        can certify larger radii and costs clean accuracy.
    n0, n:
        Noisy copies per image for choosing the class and for counting it (each >= 1).
    alpha:
        Failure probability in (0, 1): each certificate holds with probability ``1 - alpha``.
    batch_size:
        Most noisy images per forward pass.
    generator, seed:
        Source of the noise (at most one of the two); drawn on the generator's device.

    Returns
    -------
    Certificate
        Per image: the class or :data:`ABSTAIN`, the radius and the bound on ``p_A``.

    Raises
    ------
    ValueError
        For bad images, ``sigma <= 0``, counts below 1, ``alpha`` outside (0, 1), a model whose
        output is not finite (N, K) logits, or both ``generator`` and ``seed``.
    """
    sigma = check_real(sigma, "sigma", positive=True)
    n0, n = check_count(n0, "n0"), check_count(n, "n")
    alpha = check_real(alpha, "alpha", positive=True)
    if alpha >= 1:
        raise ArgumentError(f"alpha must be in (0, 1), got {alpha}")
    batch_size = check_count(batch_size, "batch_size")
    gen = make_generator(generator, seed)
    check_images(model, x)
    x = x.detach()
    with frozen_eval(model), torch.no_grad():
        guess = _counts(model, x, sigma=sigma, samples=n0, batch_size=batch_size, gen=gen).argmax(1)
        counts = _counts(model, x, sigma=sigma, samples=n, batch_size=batch_size, gen=gen)
    k = counts.gather(1, guess[:, None]).squeeze(1).cpu().double()
    # one-sided Clopper-Pearson lower bound: the alpha quantile of Beta(k, n - k + 1)
    p_lower = torch.from_numpy(scipy.stats.beta.ppf(alpha, k.numpy(), n - k.numpy() + 1))
    p_lower = torch.nan_to_num(p_lower, nan=0.0)  # k = 0: the bound is 0
    certified = p_lower > 0.5
    radius = torch.where(
        certified,
        sigma * torch.from_numpy(scipy.stats.norm.ppf(p_lower.clamp(0.5, 1.0).numpy())),
        torch.zeros_like(p_lower),
    )
    prediction = torch.where(certified, guess.cpu(), torch.full_like(guess.cpu(), ABSTAIN))
    return Certificate(prediction, radius, p_lower, sigma, n, alpha)
