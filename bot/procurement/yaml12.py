"""YAML read with YAML 1.2 core-schema scalars, and duplicate keys refused.

PyYAML implements YAML 1.1, which turns ``deadline_time: 14:00`` into the
integer 840 (base 60), ``030`` into 24 (octal), a login ``no`` or ``on`` into a
boolean and ``value_cap: 1234.56`` into a float. Here ``true``/``false`` are
the only booleans, plain decimal digits the only integers, and everything else
is text that the configuration's fields read exactly.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

__all__ = ["DuplicateKey", "load_yaml"]

_BOOL_TAG = "tag:yaml.org,2002:bool"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class DuplicateKey(yaml.YAMLError):
    """A key written twice in one mapping."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars and duplicate keys refused."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        # A key written twice would silently keep the last one; the author
        # meant one of them, and we cannot know which.
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != _MERGE_TAG:
                if key_node.value in seen:
                    raise DuplicateKey(key_node.value)
                seen.add(key_node.value)
        return super().construct_mapping(node, deep)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag not in (_BOOL_TAG, _INT_TAG, _FLOAT_TAG, _TIMESTAMP_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
# At most 18 digits: int() of thousands of digits is refused by Python, and no
# setting here needs more. Longer runs stay text and fail their field's check.
_Loader.add_implicit_resolver(
    _INT_TAG, re.compile(r"^[-+]?[0-9]{1,18}$"), list("-+0123456789")
)
# Base 10 always: "030" is thirty days, not octal 24.
_Loader.add_constructor(
    _INT_TAG, lambda loader, node: int(loader.construct_scalar(node), 10)
)


def load_yaml(text: str) -> Any:
    """The document's data; raises ``DuplicateKey`` or another ``yaml.YAMLError``."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader
