"""The code a chapter prints as an exercise's answer works: it is read from the page and run."""

from __future__ import annotations

import re
from pathlib import Path

import torch
from conftest import tiny_conv

from advlab.book.exercises import check_fgsm

BOOK = Path(__file__).resolve().parents[2] / "book"


def answer_block(chapter: str, number: int) -> str:
    """The first ```python block of answer ``number`` in the chapter's Answers dropdown."""
    text = (BOOK / chapter).read_text()
    answers = text[text.index(":::{admonition} Answers") :]
    item = answers[answers.index(f"\n{number}. ") :]
    code = re.search(r"```python\n(.*?)```", item, flags=re.S)
    assert code is not None, f"{chapter}: answer {number} has no python block"
    return "\n".join(line[3:] if line.startswith("   ") else line for line in code[1].splitlines())


def test_chapter_3_exercise_3_answer_is_an_fgsm_rs_step() -> None:
    scope: dict[str, object] = {"torch": torch}
    exec(answer_block("03_adversarial_training.md", 3), scope)  # the book's own answer
    my_step = scope["my_step"]
    # with no start and a step of eps it is FGSM, as the chapter's checker decides
    report = check_fgsm(lambda m, x, y, eps: my_step(m, x, y, eps, eps, torch.zeros_like(x)))
    assert report.passed, report.lines
    # from a random start with a step of 1.25 eps it stays in the ball and in [0, 1], and moves
    model = tiny_conv()
    g = torch.Generator().manual_seed(0)
    x = torch.rand(6, 1, 8, 8, generator=g)
    y = torch.randint(0, 3, (6,), generator=g)
    eps = 0.1
    delta0 = (torch.rand(x.shape, generator=g) * 2 - 1) * eps
    x_adv = my_step(model, x, y, eps, 1.25 * eps, delta0)
    assert (x_adv - x).abs().max() <= eps + 1e-6 and x_adv.min() >= 0 and x_adv.max() <= 1
    assert not torch.equal(x_adv, (x + delta0).clamp(0, 1))


def test_chapter_4_exercise_4_answer_passes_its_checker() -> None:
    from advlab.book.exercises import check_best_pair

    scope: dict[str, object] = {}
    exec(answer_block("04_distillation_jsma.md", 4), scope)  # the book's own answer
    report = check_best_pair(scope["best_pair"])
    assert report.passed, report.lines
