"""DPOP (DPO-Positive): DPO with a penalty that stops the chosen answer's likelihood from falling.

``../shared/METHODS.md`` A, DFPO stage 2. With ``pi`` / ``ref`` the summed completion
log-probabilities of the policy / reference on the chosen (``c``) and rejected (``r``) answer::

    z    = (pi_c - pi_r) - (ref_c - ref_r) - lambda * relu(ref_c - pi_c)
    loss = -(1 - eps) * logsigmoid(beta * z) - eps * logsigmoid(-beta * z)

(Pal et al. 2024, "Smaug", arXiv:2402.13228; ``eps`` is the conservative-DPO label smoothing,
0 in the paper). Plain DPO only asks the *margin* to grow, which it can do by lowering both
likelihoods; on extraction answers that differ by one mention this is the usual failure, and the
penalty removes it. ``relu``, not ``clamp``: at ``pi_c == ref_c`` (every pair at the first step,
when policy = reference) clamp passes a gradient of 1 into the penalty, relu passes 0, so the first
step is exactly a DPO step.

* :func:`dpop_loss` — the loss on log-probabilities, no TRL needed;
* :class:`DPOPConfig` — TRL's ``DPOConfig`` plus ``dpop_lambda``; ``loss_type="dpop"`` (default)
  selects DPOP, every TRL loss type (``"sigmoid"`` = plain DPO, ``"ipo"``, …) still works;
* :class:`DPOPTrainer` — TRL's ``DPOTrainer``; only ``loss_type=["dpop"]`` takes our path.

How it hooks into TRL 1.16: ``DPOTrainer`` has no loss method of its own any more; the loss types
are an ``if``/``elif`` chain inside the private ``_compute_loss(model, inputs, return_outputs)``,
which raises for an unknown type. :class:`DPOPTrainer` overrides ``_compute_loss``: for DPOP it runs
the policy forward with TRL's fused LM head exactly as TRL does, takes the reference log-probs from
TRL's own :meth:`~trl.DPOTrainer.compute_ref_log_probs` (which disables the LoRA adapter, or uses
the ``ref`` adapter / the frozen reference model) or from the precomputed columns, and logs under
TRL's metric names plus ``dpop/penalty``. Every other loss type goes to TRL unchanged. The price of
not copying TRL's 330-line method: the DPOP path does not combine with other loss types, LD-DPO
(``ld_alpha``), WPO weighting or non-KL f-divergences (the config refuses them), and it does not
log TRL's ``entropy``, ``mean_token_accuracy`` and ``logits/*`` diagnostics.

Reference model for full fine-tuning: TRL 1.16 builds it by *reloading* the policy from
``model.config._name_or_path``, which fails for a model built in memory and is wrong for one changed
since it was loaded. :class:`DPOPTrainer` passes a frozen deep copy of the policy instead (unless a
reference is given, the model is a PEFT model or ``peft_config`` is set — then the reference is the
base with the adapter disabled — or the reference log-probs are precomputed).

Importing this module imports torch and TRL; import it inside the node that trains.
"""

from __future__ import annotations

import copy
import textwrap
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from accelerate.utils import is_peft_model
from trl import DPOConfig, DPOTrainer

#: The loss type that selects DPOP in :class:`DPOPConfig`.
DPOP_LOSS_TYPE = "dpop"

# Batch keys that are not model inputs (TRL's own list in ``_compute_loss``).
_NON_MODEL_KEYS = frozenset({"completion_mask", "ref_chosen_logps", "ref_rejected_logps"})


def dpop_loss(
    policy_chosen_logps: torch.Tensor,
    policy_rejected_logps: torch.Tensor,
    ref_chosen_logps: torch.Tensor,
    ref_rejected_logps: torch.Tensor,
    *,
    beta: float,
    dpop_lambda: float,
    label_smoothing: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-pair DPOP losses, with the rewards and penalty to log.

    All inputs are summed completion log-probabilities of shape ``(batch,)``. Returns
    ``(losses, chosen_rewards, rejected_rewards, penalty)``: ``losses`` carries the gradient;
    the rewards are TRL's ``beta * (policy - reference)`` log-ratios and ``penalty`` is
    ``relu(ref_c - pi_c)``, the nats by which the chosen answer fell below the reference (before
    ``dpop_lambda``), all three detached. ``dpop_lambda=0`` and ``label_smoothing=0`` is plain DPO
    (TRL's ``"sigmoid"``).
    """
    if dpop_lambda < 0:
        raise ValueError(f"dpop_lambda must be >= 0, got {dpop_lambda}")
    if not 0.0 <= label_smoothing < 0.5:
        raise ValueError(f"label_smoothing must lie in [0, 0.5), got {label_smoothing}")
    chosen_logratios = policy_chosen_logps - ref_chosen_logps
    rejected_logratios = policy_rejected_logps - ref_rejected_logps
    # relu, not clamp(min=0): its gradient at exactly 0 is 0, so policy == reference gives a DPO step.
    penalty = torch.relu(ref_chosen_logps - policy_chosen_logps)
    z = chosen_logratios - rejected_logratios - dpop_lambda * penalty
    losses = -(1.0 - label_smoothing) * F.logsigmoid(beta * z)
    if label_smoothing:
        losses = losses - label_smoothing * F.logsigmoid(-beta * z)
    chosen_rewards = beta * chosen_logratios.detach()
    rejected_rewards = beta * rejected_logratios.detach()
    return losses, chosen_rewards, rejected_rewards, penalty.detach()


@dataclass
class DPOPConfig(DPOConfig):
    """TRL's ``DPOConfig`` with DPOP: ``loss_type="dpop"`` (the default here) and ``dpop_lambda``.

    Every ``DPOConfig`` field keeps its upstream name and default (``beta=0.1``: the DFPO paper's
    0.4 is set in the parameters file). ``loss_type`` may also be any TRL loss type, e.g.
    ``"sigmoid"`` for plain DPO, and then ``dpop_lambda`` is unused. DPOP stands alone: it does not
    combine with other loss types, ``ld_alpha``, ``use_weighting`` or a non-default
    ``f_divergence_type`` (see the module docstring).
    """

    loss_type: list[str] = field(
        default_factory=lambda: [DPOP_LOSS_TYPE],
        metadata={
            "help": "Type of loss to use: `'dpop'` (DPO-Positive, the default here) or any loss type of TRL's "
            "`DPOConfig` (`'sigmoid'` is plain DPO, `'ipo'`, `'hinge'`, ...). Several TRL loss types may be combined "
            "with `loss_weights`; `'dpop'` must be the only one.",
        },
    )
    dpop_lambda: float = field(
        default=2.0,
        metadata={
            "help": "λ of DPOP (https://huggingface.co/papers/2402.13228): weight of the penalty "
            "`max(0, ref_chosen_logps - policy_chosen_logps)` subtracted from the DPO margin, which stops the "
            "likelihood of the chosen completion from falling below the reference. `0.0` is plain DPO. Used only "
            "when `loss_type='dpop'`."
        },
    )

    def __post_init__(self) -> None:
        if isinstance(self.loss_type, str):
            self.loss_type = [self.loss_type]
        if DPOP_LOSS_TYPE in self.loss_type:
            self._check_dpop()
        super().__post_init__()

    def _check_dpop(self) -> None:
        """Refuse settings the DPOP path does not implement, instead of ignoring them."""
        problems = []
        if len(self.loss_type) > 1:
            problems.append(f"loss_type {self.loss_type} combines 'dpop' with other losses")
        if self.dpop_lambda < 0:
            problems.append(f"dpop_lambda must be >= 0, got {self.dpop_lambda}")
        if not 0.0 <= self.label_smoothing < 0.5:
            problems.append(f"label_smoothing must lie in [0, 0.5), got {self.label_smoothing}")
        if self.ld_alpha is not None:
            problems.append("ld_alpha (LD-DPO) is not supported")
        if self.use_weighting:
            problems.append("use_weighting (WPO) is not supported")
        if self.f_divergence_type != "reverse_kl":
            problems.append(
                f"f_divergence_type must be 'reverse_kl', got {self.f_divergence_type!r}"
            )
        if problems:
            raise ValueError("loss_type='dpop': " + "; ".join(problems))


def _frozen_copy(model: torch.nn.Module) -> torch.nn.Module:
    """A deep copy of ``model`` in eval mode with gradients off: the reference of full fine-tuning."""
    reference = copy.deepcopy(model)
    reference.requires_grad_(False)
    return reference.eval()


class DPOPTrainer(DPOTrainer):
    """TRL's ``DPOTrainer`` with the DPOP loss for ``loss_type="dpop"`` (see the module docstring).

    Same arguments as ``DPOTrainer``; ``args`` must be a :class:`DPOPConfig` when it selects DPOP
    (without ``args``, a default :class:`DPOPConfig`: DPOP, not TRL's plain DPO).
    Logged per step (TRL's names, ``eval_`` prefix in evaluation): ``rewards/chosen``,
    ``rewards/rejected``, ``rewards/accuracies``, ``rewards/margins``, ``logps/chosen``,
    ``logps/rejected``, ``num_tokens`` and ``dpop/penalty`` (the mean of ``relu(ref_c - pi_c)``).
    """

    _tag_names = ["trl", "dpo", "dpop"]
    _name = "DPOP"
    _paper = {
        "title": "Smaug: Fixing Failure Modes of Preference Optimisation with DPO-Positive",
        "id": "2402.13228",
        # docstyle-ignore
        "citation": textwrap.dedent("""\
            @article{pal2024smaug,
                title        = {{Smaug: Fixing Failure Modes of Preference Optimisation with DPO-Positive}},
                author       = {Arka Pal and Deep Karkhanis and Samuel Dooley and Manley Roberts and Siddartha Naidu and Colin White},
                year         = 2024,
                journal      = {arXiv preprint arXiv:2402.13228},
            }"""),
    }

    def __init__(
        self,
        model: Any,
        ref_model: torch.nn.Module | None = None,
        args: DPOConfig | None = None,
        **kwargs: Any,
    ) -> None:
        if args is None:
            # TRL would default to a DPOConfig, i.e. plain DPO; default to DPOP here.
            name = model if isinstance(model, str) else model.config._name_or_path or "model"
            args = DPOPConfig(output_dir=f"{name.rstrip('/').split('/')[-1]}-DPOP")
        if DPOP_LOSS_TYPE in args.loss_type and not isinstance(args, DPOPConfig):
            raise TypeError(
                f"loss_type='dpop' needs a DPOPConfig (it carries dpop_lambda), got {type(args).__name__}"
            )
        if (
            ref_model is None
            and not isinstance(model, str)
            and not is_peft_model(model)
            and kwargs.get("peft_config") is None
            and not args.precompute_ref_log_probs
        ):
            # TRL would reload the reference from model.config._name_or_path (see the module docstring).
            ref_model = _frozen_copy(model)
        super().__init__(model, ref_model, args, **kwargs)

    def _compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool) -> Any:
        """DPOP for ``loss_type=["dpop"]``; TRL's own loss for every other loss type."""
        if DPOP_LOSS_TYPE not in self.loss_types:
            return super()._compute_loss(model, inputs, return_outputs)
        mode = "train" if self.model.training else "eval"

        # The policy forward as TRL runs it: the fused LM head returns per-token log-probs of the
        # completion tokens (0 elsewhere), without materialising the logits.
        model_kwargs = {key: value for key, value in inputs.items() if key not in _NON_MODEL_KEYS}
        model_kwargs["use_cache"] = False
        if self.aux_loss_enabled:
            model_kwargs["output_router_logits"] = True
        completion_mask = inputs["completion_mask"]
        labels = inputs["input_ids"].masked_fill(completion_mask == 0, -100)
        outputs = model(**model_kwargs, labels=labels, fused_lm_head=True)
        seq_len = completion_mask.size(1) - 1
        # Prompt-learning PEFT prepends virtual tokens to the outputs; keep the real positions.
        logps = outputs.log_probs[:, -seq_len:].sum(dim=1)
        # The batch is [chosen..., rejected...].
        chosen_logps, rejected_logps = logps.chunk(2, dim=0)

        if self.precompute_ref_logps:
            ref_chosen_logps = inputs["ref_chosen_logps"]
            ref_rejected_logps = inputs["ref_rejected_logps"]
        else:
            reference = self.ref_model if self.ref_model is not None else self.model
            ref_chosen_logps, ref_rejected_logps = self.compute_ref_log_probs(reference, inputs)

        losses, chosen_rewards, rejected_rewards, penalty = dpop_loss(
            chosen_logps,
            rejected_logps,
            ref_chosen_logps,
            ref_rejected_logps,
            beta=self.beta,
            dpop_lambda=self.args.dpop_lambda,
            label_smoothing=self.label_smoothing,
        )
        loss = losses.mean()
        if self.aux_loss_enabled:
            loss = loss + self.router_aux_loss_coef * outputs.aux_loss
            self._metrics[mode]["aux_loss"].append(
                self.accelerator.gather_for_metrics(outputs.aux_loss).mean().item()
            )
        self._log_dpop_metrics(
            mode, inputs, chosen_logps, rejected_logps, chosen_rewards, rejected_rewards, penalty
        )

        if return_outputs:
            # TRL's deprecated path for compute_metrics: logits need a plain forward.
            with torch.no_grad():
                outputs = model(**model_kwargs)
            return loss, outputs
        return loss

    def _log_dpop_metrics(
        self,
        mode: str,
        inputs: dict[str, Any],
        chosen_logps: torch.Tensor,
        rejected_logps: torch.Tensor,
        chosen_rewards: torch.Tensor,
        rejected_rewards: torch.Tensor,
        penalty: torch.Tensor,
    ) -> None:
        """Record the step's metrics under TRL's names; TRL's ``log`` averages and emits them."""
        metrics = self._metrics[mode]
        gather = self.accelerator.gather
        if mode == "train":
            tokens = (
                self.accelerator.gather_for_metrics(inputs["attention_mask"].sum()).sum().item()
            )
            self._total_train_tokens += tokens // self._tp_size
        metrics["num_tokens"] = [self._total_train_tokens]
        metrics["rewards/chosen"].append(gather(chosen_rewards).mean().item())
        metrics["rewards/rejected"].append(gather(rejected_rewards).mean().item())
        metrics["rewards/accuracies"].append(
            gather((chosen_rewards > rejected_rewards).float()).mean().item()
        )
        metrics["rewards/margins"].append(gather(chosen_rewards - rejected_rewards).mean().item())
        metrics["logps/chosen"].append(gather(chosen_logps.detach()).mean().item())
        metrics["logps/rejected"].append(gather(rejected_logps.detach()).mean().item())
        metrics["dpop/penalty"].append(gather(penalty).mean().item())
