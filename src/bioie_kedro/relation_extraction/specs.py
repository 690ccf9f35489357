"""Relation specs: the relations an ordered pair of entity types may hold.

The format is that of seed 003's ``relation_specs.json``: keys ``"HeadType|TailType"``, values the
relation names allowed with a head of the first type and a tail of the second. Order matters:
``"Chemical|Disease": ["treats"]`` allows *Chemical treats Disease*, not *Disease treats Chemical*.
The same relation name may appear under several pairs (``inhibits`` for ``Chemical|Gene`` and
``Gene|Gene``); whether a relation is allowed is always decided for the pair's types, never by the
name alone (seed 003 only checked the name).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bioie_kedro.schema import NEGATIVE_RELATION

#: Separator of the head and tail type in a spec key.
TYPE_PAIR_SEPARATOR = "|"

TypePair = tuple[str, str]


class RelationSpecError(ValueError):
    """A malformed relation spec; the message names the key at fault."""


@dataclass(frozen=True)
class RelationSpec:
    """Allowed relations per ordered entity-type pair. Build it with :meth:`from_mapping`."""

    allowed: Mapping[TypePair, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Sequence[str]]) -> RelationSpec:
        """Parse ``{"HeadType|TailType": [relation, ...]}``.

        Raises:
            RelationSpecError: an empty spec, a key that is not two non-empty types joined by
                ``|``, a pair given twice, an empty or repeated relation list entry, or the reserved
                name ``none`` used as a relation.
        """
        if not raw:
            raise RelationSpecError("the relation spec is empty")
        allowed: dict[TypePair, tuple[str, ...]] = {}
        for key, relations in raw.items():
            parts = str(key).split(TYPE_PAIR_SEPARATOR)
            if len(parts) != 2 or not all(part.strip() for part in parts):
                raise RelationSpecError(f"key {key!r}: expected 'HeadType|TailType'")
            pair = (parts[0].strip(), parts[1].strip())
            if pair in allowed:
                raise RelationSpecError(f"key {key!r}: the type pair {pair} is given twice")
            if isinstance(relations, str) or not isinstance(relations, Sequence) or not relations:
                raise RelationSpecError(f"key {key!r}: expected a non-empty list of relation names")
            names = [str(name).strip() for name in relations]
            if any(not name for name in names):
                raise RelationSpecError(f"key {key!r}: empty relation name")
            if len(set(names)) != len(names):
                raise RelationSpecError(f"key {key!r}: a relation name is listed twice")
            if NEGATIVE_RELATION in names:
                raise RelationSpecError(
                    f"key {key!r}: {NEGATIVE_RELATION!r} is the label of pairs without a relation"
                )
            allowed[pair] = tuple(names)
        return cls(allowed)

    def as_mapping(self) -> dict[str, list[str]]:
        """The spec in its file format."""
        return {
            f"{head}{TYPE_PAIR_SEPARATOR}{tail}": list(names)
            for (head, tail), names in self.allowed.items()
        }

    def relations_for(self, head_type: str, tail_type: str) -> tuple[str, ...]:
        """The relations allowed from ``head_type`` to ``tail_type`` (empty: not a candidate pair)."""
        return self.allowed.get((head_type, tail_type), ())

    def has_pair(self, head_type: str, tail_type: str) -> bool:
        return (head_type, tail_type) in self.allowed

    def allows(self, head_type: str, tail_type: str, relation: str) -> bool:
        return relation in self.relations_for(head_type, tail_type)

    @property
    def entity_types(self) -> frozenset[str]:
        """Every type that is the head or the tail of some pair."""
        return frozenset(t for pair in self.allowed for t in pair)

    @property
    def relation_names(self) -> tuple[str, ...]:
        """Every relation name of the spec, sorted."""
        return tuple(sorted({name for names in self.allowed.values() for name in names}))
