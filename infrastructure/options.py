"""Option dataclasses whose fields are settings. A field names its setting once
(:func:`from_setting`): that gives both its default, the setting's default, and its value
in :func:`options_from`, so no default or mapping is written twice."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import field, fields
from typing import TYPE_CHECKING, Any, TypeVar

from infrastructure.settings import DEFAULTS, Settings

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Options = TypeVar("Options", bound="DataclassInstance")

_SETTING = "setting"


def _same(value: Any) -> Any:
    return value


def from_setting(name: str, convert: Callable[[Any], Any] = _same) -> Any:
    """A dataclass field holding setting ``name`` (passed through ``convert``); its
    default is the setting's default. Raises :class:`AttributeError` for a name that
    is no setting (when the class is defined)."""
    return field(default=convert(getattr(DEFAULTS, name)), metadata={_SETTING: (name, convert)})


def options_from(kind: type[Options], settings: Settings, **given: Any) -> Options:
    """An instance of the dataclass ``kind``: each :func:`from_setting` field from
    ``settings``, the others from ``given`` or their defaults."""
    values = {
        option.name: option.metadata[_SETTING][1](getattr(settings, option.metadata[_SETTING][0]))
        for option in fields(kind)
        if _SETTING in option.metadata
    }
    return kind(**values, **given)
