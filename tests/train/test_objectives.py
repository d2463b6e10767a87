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
    assert float(m["open_by_expert"]) == 1.0  # L_e - L_e0 + margin = 0.85 > 0


def test_dro_inactive_hinge_has_no_gradient():
    # Experts already better than ref by more than the margin: L_e=0, L_e0=1, L_p=L_p0=0 -> diff=-1
    model_e = full(0).requires_grad_()
    out = dro_loss(model_e, full(1), full(0), full(0), full(0), full(0), margin=1e-3)
    assert float(out.loss) == 0.0 and float(out.metrics["active"]) == 0.0
    assert float(out.metrics["open_by_expert"]) == 0.0  # L_e - L_e0 + margin = -0.999
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


def test_dro_final_sample_negatives_are_noised_with_the_expert_noise():
    """x0_p in a PairBatch is noised at t with noise_e and its target is that noise: same as passing x_p, out_p."""
    from diffusion_dro.models.conditioning import Conditioning
    from diffusion_dro.objectives import PairBatch
    from diffusion_dro.objectives.base import Nets
    from diffusion_dro.objectives.dro import DRO

    g = torch.Generator().manual_seed(0)
    x0_e, x0_p, noise = (torch.randn(3, 2, 4, 4, generator=g) for _ in range(3))
    t = torch.tensor([10, 500, 900])
    a = (1 - t.float() / 1000).view(-1, 1, 1, 1)
    nets = Nets(model=lambda x, t, c: 0.5 * x, ref=lambda x, t, c: 0.25 * x,
                noisy=lambda x0, n, t: a * x0 + (1 - a) * n, target=lambda x0, n, t: n)
    cond = Conditioning(hidden=torch.zeros(3, 1, 1))
    via_x0 = DRO()(nets, PairBatch(x0_e=x0_e, noise_e=noise, t=t, cond=cond, x0_p=x0_p))
    x_p = a * x0_p + (1 - a) * noise
    via_states = DRO()(nets, PairBatch(x0_e=x0_e, noise_e=noise, t=t, cond=cond, x_p=x_p, out_p=noise))
    assert torch.allclose(via_x0.loss, via_states.loss)
    assert via_x0.metrics["loss_p"].gt(0).all()


def test_dro_with_policy_is_model_equals_the_full_computation():
    """When out_p is the model's own output, skipping model(x_p) changes neither the loss nor the gradient."""
    from diffusion_dro.models.conditioning import Conditioning
    from diffusion_dro.objectives import PairBatch
    from diffusion_dro.objectives.base import Nets
    from diffusion_dro.objectives.dro import DRO

    g = torch.Generator().manual_seed(1)
    x0_e, noise, x_p = (torch.randn(3, 2, 4, 4, generator=g) for _ in range(3))
    t = torch.tensor([10, 500, 900])
    w = torch.tensor(0.7, requires_grad=True)
    model = lambda x, t, c: w * x  # noqa: E731
    nets = Nets(model=model, ref=lambda x, t, c: 0.2 * x, noisy=lambda x0, n, t: 0.5 * x0 + 0.5 * n,
                target=lambda x0, n, t: n)
    cond = Conditioning(hidden=torch.zeros(3, 1, 1))
    out_p = model(x_p, t, cond).detach()
    results, grads = [], []
    for shortcut in (False, True):
        batch = PairBatch(x0_e=x0_e, noise_e=noise, t=t, cond=cond, x_p=x_p, out_p=out_p, policy_is_model=shortcut)
        out = DRO()(nets, batch)
        (g_w,) = torch.autograd.grad(out.loss.sum(), w)
        results.append(out)
        grads.append(g_w)
    torch.testing.assert_close(results[0].loss, results[1].loss)
    torch.testing.assert_close(grads[0], grads[1])
    assert results[1].metrics["loss_p"].eq(0).all() and results[1].metrics["loss_p_ref"].gt(0).all()


def test_min_snr_weights_by_hand():
    from types import SimpleNamespace

    from diffusion_dro.objectives.weighting import min_snr_weights

    sched = SimpleNamespace(alphas_cumprod=torch.tensor([10 / 11, 2 / 3], dtype=torch.float64))  # SNR 10 and 2
    t = torch.tensor([0, 1, 0])
    assert torch.allclose(min_snr_weights(sched, t, 5.0, v_prediction=False), torch.tensor([0.5, 1.0, 0.5]))
    assert torch.allclose(min_snr_weights(sched, t, 5.0, v_prediction=True), torch.tensor([5 / 11, 2 / 3, 5 / 11]))
    assert torch.equal(min_snr_weights(sched, t, None, v_prediction=False), torch.ones(3))
