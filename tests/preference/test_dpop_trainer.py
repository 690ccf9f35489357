"""DPOPConfig and DPOPTrainer on a tiny random Llama, on CPU: training runs, TRL losses unchanged."""

from __future__ import annotations

import copy

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")

from trl import DPOConfig, DPOTrainer  # noqa: E402

from bioie_kedro.preference.dpop import DPOPConfig, DPOPTrainer  # noqa: E402


def _snapshot(model) -> dict[str, torch.Tensor]:
    return {name: param.detach().clone() for name, param in model.named_parameters()}


def _changed(before: dict[str, torch.Tensor], model) -> set[str]:
    return {
        name
        for name, param in model.named_parameters()
        if not torch.equal(before[name], param.detach())
    }


def _logged(trainer, key: str) -> list[float]:
    return [entry[key] for entry in trainer.state.log_history if key in entry]


def test_config_accepts_dpop_and_the_trl_loss_types(cpu_args):
    assert cpu_args(DPOPConfig).loss_type == ["dpop"]
    assert cpu_args(DPOPConfig, loss_type="dpop").dpop_lambda == 2.0
    assert cpu_args(DPOPConfig, loss_type="sigmoid").loss_type == ["sigmoid"]
    combined = cpu_args(DPOPConfig, loss_type=["sigmoid", "sft"], loss_weights=[1.0, 0.5])
    assert combined.loss_type == ["sigmoid", "sft"]


@pytest.mark.parametrize(
    "settings",
    [
        {"loss_type": ["dpop", "sft"]},
        {"dpop_lambda": -0.5},
        {"ld_alpha": 0.5},
        {"use_weighting": True},
        {"f_divergence_type": "js_divergence"},
    ],
)
def test_config_refuses_what_dpop_does_not_implement(cpu_args, settings):
    with pytest.raises(ValueError, match="loss_type='dpop'"):
        cpu_args(DPOPConfig, **settings)


def test_trainer_needs_a_dpop_config_for_dpop(
    cpu_args, make_tiny_model, tiny_tokenizer, preference_dataset
):
    with pytest.raises(TypeError, match="DPOPConfig"):
        DPOPTrainer(
            make_tiny_model(),
            args=cpu_args(DPOConfig, loss_type="dpop"),
            train_dataset=preference_dataset,
            processing_class=tiny_tokenizer,
        )


def test_full_fine_tuning_two_steps(cpu_args, make_tiny_model, tiny_tokenizer, preference_dataset):
    model = make_tiny_model()
    before = _snapshot(model)
    trainer = DPOPTrainer(
        model,
        args=cpu_args(DPOPConfig),
        train_dataset=preference_dataset,
        processing_class=tiny_tokenizer,
    )
    # the reference is a frozen copy of the policy, not a reload from config._name_or_path
    assert trainer.ref_model is not None and trainer.ref_model is not model
    assert not any(param.requires_grad for param in trainer.ref_model.parameters())
    trainer.train()

    assert trainer.state.global_step == 2
    penalties = _logged(trainer, "dpop/penalty")
    assert len(penalties) == 2 and all(value >= 0 for value in penalties)
    # first step: policy == reference, so the penalty and the rewards are exactly 0
    assert penalties[0] == 0.0
    assert _logged(trainer, "rewards/margins")[0] == 0.0
    for key in ("rewards/chosen", "rewards/rejected", "logps/chosen", "loss"):
        assert len(_logged(trainer, key)) == 2
    assert _changed(before, trainer.model)
    assert not _changed(before, trainer.ref_model)

    metrics = trainer.evaluate(preference_dataset)
    assert metrics["eval_dpop/penalty"] >= 0 and "eval_rewards/margins" in metrics


def test_lora_two_steps(cpu_args, make_tiny_model, tiny_tokenizer, preference_dataset):
    from peft import LoraConfig

    model = make_tiny_model()
    base_before = _snapshot(model)
    trainer = DPOPTrainer(
        model,
        args=cpu_args(DPOPConfig),
        train_dataset=preference_dataset,
        processing_class=tiny_tokenizer,
        peft_config=LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]),
    )
    # the reference is the base with the adapter disabled
    assert trainer.ref_model is None
    lora_before = _snapshot(trainer.model)
    trainer.train()

    assert len(_logged(trainer, "dpop/penalty")) == 2
    changed = _changed(lora_before, trainer.model)
    assert changed and all("lora_" in name for name in changed)
    base = trainer.model.get_base_model()
    base_after = {name: param for name, param in base.named_parameters() if "lora_" not in name}
    assert all(
        torch.equal(base_before[name.replace(".base_layer", "")], param.detach())
        for name, param in base_after.items()
    )


def _batch_loss(trainer) -> tuple[torch.Tensor, dict[str, float]]:
    """Loss and metrics of the trainer on the first four training pairs, in train mode."""
    trainer.model.train()
    features = [trainer.train_dataset[index] for index in range(4)]
    inputs = trainer._prepare_inputs(trainer.data_collator(features))
    loss = trainer.compute_loss(trainer.model, inputs)
    metrics = {key: values[-1] for key, values in trainer._metrics["train"].items()}
    return loss.detach(), metrics


@pytest.fixture
def policy_and_reference(make_tiny_model):
    """A reference and a policy moved away from it, so the loss is not just log 2."""
    reference = make_tiny_model(seed=0)
    policy = copy.deepcopy(reference)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for param in policy.parameters():
            param.add_(0.2 * torch.randn(param.shape, generator=generator))
    return policy, reference


def _loss_of(trainer_class, config, policy, reference, tokenizer, dataset):
    trainer = trainer_class(
        copy.deepcopy(policy),
        ref_model=copy.deepcopy(reference),
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
    )
    return _batch_loss(trainer)


def test_lambda_zero_is_trls_dpo_loss(
    cpu_args, policy_and_reference, tiny_tokenizer, preference_dataset
):
    policy, reference = policy_and_reference
    common = (policy, reference, tiny_tokenizer, preference_dataset)
    trl_loss, trl_metrics = _loss_of(DPOTrainer, cpu_args(DPOConfig, loss_type="sigmoid"), *common)
    dpo_loss, dpo_metrics = _loss_of(
        DPOPTrainer, cpu_args(DPOPConfig, loss_type="dpop", dpop_lambda=0.0), *common
    )
    dpop_loss, dpop_metrics = _loss_of(
        DPOPTrainer, cpu_args(DPOPConfig, loss_type="dpop", dpop_lambda=2.0), *common
    )

    assert abs(trl_loss.item() - 0.6931) > 1e-2  # policy and reference really differ
    torch.testing.assert_close(dpo_loss, trl_loss)
    for key in ("rewards/chosen", "rewards/rejected", "rewards/margins", "logps/chosen"):
        assert dpo_metrics[key] == pytest.approx(trl_metrics[key], rel=1e-5, abs=1e-6)
    # with the penalty on, DPOP differs from DPO exactly when some chosen answer fell
    assert dpop_metrics["dpop/penalty"] > 0
    assert dpop_loss.item() > trl_loss.item()


@pytest.mark.parametrize("loss_type", ["sigmoid", "ipo"])
def test_trl_loss_types_pass_through_unchanged(
    cpu_args, policy_and_reference, tiny_tokenizer, preference_dataset, loss_type
):
    policy, reference = policy_and_reference
    common = (policy, reference, tiny_tokenizer, preference_dataset)
    trl_loss, _ = _loss_of(DPOTrainer, cpu_args(DPOConfig, loss_type=loss_type), *common)
    ours, metrics = _loss_of(DPOPTrainer, cpu_args(DPOPConfig, loss_type=loss_type), *common)
    torch.testing.assert_close(ours, trl_loss)
    assert "dpop/penalty" not in metrics


def test_precomputed_reference_log_probs_give_the_same_loss(
    cpu_args, policy_and_reference, tiny_tokenizer, preference_dataset
):
    policy, reference = policy_and_reference
    common = (policy, reference, tiny_tokenizer, preference_dataset)
    live, _ = _loss_of(DPOPTrainer, cpu_args(DPOPConfig), *common)
    precomputed, _ = _loss_of(
        DPOPTrainer, cpu_args(DPOPConfig, precompute_ref_log_probs=True), *common
    )
    torch.testing.assert_close(precomputed, live)
