"""Checkers for the book's exercises: the reader writes an attack, advlab says what is wrong with it.

Each ``check_*`` function runs the reader's implementation on a few small,
random models and inputs, next to advlab's own implementation, and answers with
specific feedback rather than a bare pass/fail::

    >>> def my_fgsm(model, x, y, eps):
    ...     x = x.clone().requires_grad_(True)
    ...     loss = torch.nn.functional.cross_entropy(model(x), y)
    ...     (grad,) = torch.autograd.grad(loss, x)
    ...     return (x + eps * grad.sign()).clamp(0, 1).detach()
    >>> check_fgsm(my_fgsm)
    ✔ exact match with advlab.fgsm on 6 random problems

The diagnoses cover the mistakes students make most: a result outside [0, 1]
(clipping forgotten), a step against the gradient (sign flipped, i.e. the loss
descended), the raw gradient or an L2 step where the sign was meant (wrong
norm), a perturbation outside the ε-ball (projection missing), the input
modified in place, and outputs of the wrong shape, dtype or device. Whatever
the reader's function returns (``None``, a tuple, a NumPy array, a sparse
tensor), the answer is a line of feedback, never a traceback. A result in a
lower precision (float16) is compared with that precision's rounding slack.

The reader's function gets copies of the model and of the inputs, and the
reference runs on the originals: a function that changes the model (zeroes its
weights, takes an optimiser step, converts it in place) is told so, and cannot
pass by making the reference agree with it.

The test problems use models without dropout or batch norm, so the reader's
code gives the same answer in train and eval mode, and labels equal to the
models' clean predictions (an untargeted attack on correctly classified
images).
"""

from ._core import ATOL as ATOL  # the tolerance checkers compare with (the old module had it)
from ._core import CheckReport
from .adversarial_examples import check_fgsm, check_pgd
from .defenses import check_best_pair
from .gradient_free import check_de_generation, check_set_pixels
from .masking import check_jacobian_augmentation

__all__ = [
    "CheckReport",
    "check_best_pair",
    "check_de_generation",
    "check_fgsm",
    "check_jacobian_augmentation",
    "check_pgd",
    "check_set_pixels",
]
