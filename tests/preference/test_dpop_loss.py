"""dpop_loss against hand computations, and its gradient when policy equals reference."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from bioie_kedro.preference.dpop import dpop_loss  # noqa: E402

BETA = 0.5


def _log_sigmoid(x: float) -> float:
    return -math.log1p(math.exp(-x))


@pytest.fixture
def logps():
    """Pair 0: chosen fell 1 nat below the reference (penalty on); pair 1: it rose 0.5 (off)."""
    return {
        "policy_chosen_logps": torch.tensor([-5.0, -3.0]),
        "policy_rejected_logps": torch.tensor([-6.0, -2.0]),
        "ref_chosen_logps": torch.tensor([-4.0, -3.5]),
        "ref_rejected_logps": torch.tensor([-5.5, -2.5]),
    }


def test_penalty_active_and_inactive(logps):
    losses, chosen_rewards, rejected_rewards, penalty = dpop_loss(
        **logps, beta=BETA, dpop_lambda=2.0
    )
    # pair 0: (−5+6) − (−4+5.5) − 2·relu(−4+5) = 1 − 1.5 − 2 = −2.5
    # pair 1: (−3+2) − (−3.5+2.5) − 2·relu(−0.5) = −1 + 1 − 0 = 0
    expected = [-_log_sigmoid(BETA * -2.5), -_log_sigmoid(0.0)]
    torch.testing.assert_close(losses, torch.tensor(expected))
    torch.testing.assert_close(penalty, torch.tensor([1.0, 0.0]))
    torch.testing.assert_close(chosen_rewards, torch.tensor([BETA * -1.0, BETA * 0.5]))
    torch.testing.assert_close(rejected_rewards, torch.tensor([BETA * -0.5, BETA * 0.5]))


def test_lambda_zero_is_the_dpo_margin(logps):
    losses, *_ = dpop_loss(**logps, beta=BETA, dpop_lambda=0.0)
    expected = [-_log_sigmoid(BETA * -0.5), -_log_sigmoid(0.0)]
    torch.testing.assert_close(losses, torch.tensor(expected))


def test_label_smoothing(logps):
    epsilon = 0.1
    losses, *_ = dpop_loss(**logps, beta=BETA, dpop_lambda=2.0, label_smoothing=epsilon)
    expected = [
        -(1 - epsilon) * _log_sigmoid(BETA * z) - epsilon * _log_sigmoid(-BETA * z)
        for z in (-2.5, 0.0)
    ]
    torch.testing.assert_close(losses, torch.tensor(expected))


def _grad_of_loss(penalty_fn, dpop_lambda: float) -> torch.Tensor:
    """Gradient of a DPOP loss w.r.t. the policy log-probs at policy == reference."""
    ref = torch.tensor([-4.0, -2.0, -7.0, -3.0])
    policy_chosen = ref[:2].clone().requires_grad_(True)
    policy_rejected = ref[2:].clone().requires_grad_(True)
    if penalty_fn is None:
        losses, *_ = dpop_loss(
            policy_chosen, policy_rejected, ref[:2], ref[2:], beta=BETA, dpop_lambda=dpop_lambda
        )
    else:  # the same loss written with another max(0, ·)
        z = (policy_chosen - ref[:2]) - (policy_rejected - ref[2:])
        z = z - dpop_lambda * penalty_fn(ref[:2] - policy_chosen)
        losses = -torch.nn.functional.logsigmoid(BETA * z)
    losses.sum().backward()
    return torch.cat([policy_chosen.grad, policy_rejected.grad])


def test_no_gradient_from_the_penalty_when_policy_equals_reference():
    dpo_grad = _grad_of_loss(None, dpop_lambda=0.0)
    dpop_grad = _grad_of_loss(None, dpop_lambda=2.0)
    assert torch.equal(dpop_grad, dpo_grad)
    assert dpo_grad.abs().sum() > 0
    # clamp(min=0) passes a gradient at exactly 0, which is why dpop_loss uses relu
    clamp_grad = _grad_of_loss(lambda x: torch.clamp(x, min=0), dpop_lambda=2.0)
    assert not torch.equal(clamp_grad, dpo_grad)


@pytest.mark.parametrize(
    "settings", [{"dpop_lambda": -1.0}, {"dpop_lambda": 1.0, "label_smoothing": 0.5}]
)
def test_invalid_settings_raise(logps, settings):
    with pytest.raises(ValueError):
        dpop_loss(**logps, beta=BETA, **settings)
