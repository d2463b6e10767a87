"""DRO and SFT losses against hand-worked numbers, limit cases and gradient signs."""

from __future__ import annotations

import torch

from diffusion_dro.objectives import dro_loss, sft_loss


def full(v: float, b: int = 1) -> torch.Tensor:
    return torch.full((b, 1, 2, 2), float(v))


def test_dro_hand_worked():
    # L_e = (1-0)^2 = 1, L_e0 = (0.5-0)^2 = 0.25, L_p = (0-1)^2 = 1, L_p0 = (0.5-1)^2 = 0.25
    # diff = (1 - 0.25) - (1 - 0.25) = 0; loss = relu(0 + 0.1) = 0.1
    out = dro_loss(full(1), full(0.5), full(0), full(0), full(0.5), full(1), margin=0.1)
    assert torch.allclose(out.loss, torch.tensor([0.1]))
    m = out.metrics
    assert [float(m[k]) for k in ("loss_e", "loss_e_ref", "loss_p", "loss_p_ref", "diff", "active")] == \
        [1.0, 0.25, 1.0, 0.25, 0.0, 1.0]


def test_dro_inactive_hinge_has_no_gradient():
    # Experts already better than ref by more than the margin: L_e=0, L_e0=1, L_p=L_p0=0 -> diff=-1
    model_e = full(0).requires_grad_()
    out = dro_loss(model_e, full(1), full(0), full(0), full(0), full(0), margin=1e-3)
    assert float(out.loss) == 0.0 and float(out.metrics["active"]) == 0.0
    out.loss.sum().backward()
    assert model_e.grad.abs().sum() == 0


def test_dro_zero_margin_and_model_equal_to_ref():
    # model == ref on both halves: diff = 0 exactly, so the loss is the margin (0 here).
    e, p = torch.randn(3, 4, 8, 8), torch.randn(3, 4, 8, 8)
    te, tp = torch.randn_like(e), torch.randn_like(p)
    out = dro_loss(e, e, te, p, p, tp, margin=0.0)
    assert torch.equal(out.loss, torch.zeros(3))
    out = dro_loss(e, e, te, p, p, tp, margin=1e-3)
    assert torch.allclose(out.loss, torch.full((3,), 1e-3))


def test_dro_gradient_signs():
    # Active hinge: the gradient lowers the expert error and raises the policy-sample error.
    model_e = full(1.0).requires_grad_()  # target 0: error 1
    model_p = full(0.5).requires_grad_()  # target 1: error 0.25
    out = dro_loss(model_e, full(1.0), full(0), model_p, full(0.5), full(1), margin=0.1)
    out.loss.sum().backward()
    assert (model_e.grad > 0).all()  # descent moves model_e towards its target 0
    assert (model_p.grad > 0).all()  # descent moves model_p up, away from its target 1


def test_dro_matches_paper_formula_on_random_tensors():
    g = torch.Generator().manual_seed(0)
    t = [torch.randn(5, 4, 6, 6, generator=g) for _ in range(6)]
    me, re_, te, mp, rp, tp = t
    mse = lambda a, b: ((a - b) ** 2).mean(dim=(1, 2, 3))  # noqa: E731
    expected = torch.clamp((mse(me, te) - mse(re_, te)) - (mse(mp, tp) - mse(rp, tp)) + 0.01, min=0)
    assert torch.allclose(dro_loss(me, re_, te, mp, rp, tp, margin=0.01).loss, expected, atol=1e-6)


def test_sft_hand_worked_and_sign():
    pred = full(1.0, b=2).requires_grad_()
    out = sft_loss(pred, full(0, b=2))
    assert torch.allclose(out.loss, torch.ones(2))
    out.loss.sum().backward()
    assert (pred.grad > 0).all()
