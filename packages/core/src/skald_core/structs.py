"""``BaseStruct``: the msgspec Struct every wire object derives from.

msgspec applies a class's ``kw_only=True`` only to the fields that class itself declares, so a
base class saying it once would not make its subclasses' fields keyword-only. ``BaseStruct``
does: its metaclass makes ``kw_only=True`` the default of every subclass, and
``dataclass_transform(kw_only_default=True)`` tells type checkers the same. Fields of a base
come before a subclass's own (in encoding order and in the OpenAPI schema).
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar, dataclass_transform

import msgspec
from msgspec import Struct, StructMeta

__all__ = ["BaseStruct", "Encoded"]

T = TypeVar("T")


class _KeywordOnly(StructMeta):
    def __new__(
        mcls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], /, **config: Any
    ) -> Any:
        config.setdefault("kw_only", True)
        return super().__new__(mcls, name, bases, namespace, **config)


@dataclass_transform(kw_only_default=True, field_specifiers=(msgspec.field,))
class BaseStruct(Struct, metaclass=_KeywordOnly):
    """A Struct whose fields (its subclasses' too) are keyword-only."""


class Encoded(Generic[T]):
    """A result standing for a ``T`` that carries its own JSON encoding (``json()``: exactly
    the bytes msgspec writes for that ``T``): the server sends those bytes instead of encoding
    a ``T``, e.g. a page of sessions written straight from the store's rows
    (``service/session_listing.py``)."""

    __slots__ = ()

    def json(self) -> bytes:
        raise NotImplementedError
