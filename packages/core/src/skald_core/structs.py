"""``BaseStruct``: the msgspec Struct every wire object derives from.

msgspec applies a class's ``kw_only=True`` only to the fields that class itself declares, so a
base class saying it once would not make its subclasses' fields keyword-only. ``BaseStruct``
does: its metaclass makes ``kw_only=True`` the default of every subclass, and
``dataclass_transform(kw_only_default=True)`` tells type checkers the same. Fields of a base
come before a subclass's own (in encoding order and in the OpenAPI schema).
"""

from __future__ import annotations

from typing import Any, dataclass_transform

import msgspec
from msgspec import Struct, StructMeta

__all__ = ["BaseStruct"]


class _KeywordOnly(StructMeta):
    def __new__(
        mcls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], /, **config: Any
    ) -> Any:
        config.setdefault("kw_only", True)
        return super().__new__(mcls, name, bases, namespace, **config)


@dataclass_transform(kw_only_default=True, field_specifiers=(msgspec.field,))
class BaseStruct(Struct, metaclass=_KeywordOnly):
    """A Struct whose fields (its subclasses' too) are keyword-only."""
