"""Preference optimisation for DFPO: the DPOP loss and trainer, and pairs mined from model errors.

``../shared/METHODS.md`` A, DFPO stage 2.

* :mod:`~bioie_kedro.preference.mining` — :func:`mine_pairs` (MFPEA-style pairs from a model's own
  wrong answers, balanced by error kind), :func:`classify_errors`, :func:`read_user_pairs`;
* :mod:`~bioie_kedro.preference.dpop` — :func:`dpop_loss`, :class:`DPOPConfig` and
  :class:`DPOPTrainer` on top of TRL's ``DPOTrainer``.

Importing this package loads the mining module only (numpy); ``dpop_loss``, ``DPOPConfig`` and
``DPOPTrainer`` are imported lazily, since they pull in torch and TRL.
"""

from bioie_kedro.preference.mining import (
    ERROR_KINDS,
    MiningCandidate,
    PreferencePairsError,
    classify_errors,
    mine_pairs,
    read_user_pairs,
)

__all__ = [
    "ERROR_KINDS",
    "DPOPConfig",
    "DPOPTrainer",
    "MiningCandidate",
    "PreferencePairsError",
    "classify_errors",
    "dpop_loss",
    "mine_pairs",
    "read_user_pairs",
]

_LAZY = frozenset({"DPOPConfig", "DPOPTrainer", "dpop_loss"})


def __getattr__(name: str):
    if name in _LAZY:
        from bioie_kedro.preference import dpop

        return getattr(dpop, name)
    raise AttributeError(name)
