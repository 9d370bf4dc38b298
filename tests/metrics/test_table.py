"""advlab.metrics.table: the attack table, its worst case and the L∞ budget."""

from __future__ import annotations

import torch

from advlab.defenses import LabelOnly


def test_attack_table_worst_case_and_budget(digits, digits_model) -> None:
    from advlab.metrics import attack_table

    x, y = digits.x_test[:40], digits.y_test[:40]
    models = {"plain": digits_model, "label-only": LabelOnly(digits_model)}
    table = attack_table(
        models,
        x,
        y,
        eps=0.1,
        attacks=["fgsm", "pgd", "random_noise", "cw_l2"],
        steps=5,
        extra={"big noise": lambda m, xx, yy: (xx + 0.5).clamp(0, 1)},
        keep=3,
    )
    assert not table.errors
    assert table.attacks == ["FGSM", "PGD", "noise", "CW-L2", "big noise"]
    for m in models:
        row = table.accuracy[m]
        assert table.worst[m] <= min(v for a, v in row.items() if a != "CW-L2") + 1e-9
        assert row["big noise"] == table.clean[m]  # out of the L∞ budget: the clean answer stands
    assert table.accuracy["plain"]["PGD"] < table.accuracy["label-only"]["PGD"] - 0.2
    assert table.best_attack("plain") in ("PGD", "CW-L2")
    assert "worst L∞" in str(table) and len(table.rows()) == 2
    assert table.examples["plain", "PGD"].shape == (3, 1, 8, 8)
    assert torch.equal(table.examples["plain", "big noise"], x[:3])  # out of budget: kept clean
