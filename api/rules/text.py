"""Patient-facing text as message identifiers and parameters (pure: no catalogue, no locale).

A ``Msg`` is a catalogue message: its identifier is the English source text with ``{name}``
placeholders (the gettext convention, so Babel extracts it), its parameters the values to
put in. It *is* the English sentence too (a ``str`` subclass), so code and tests that read
the English text keep working unchanged. ``Text`` joins several messages into one
paragraph. The rules return them; ``api.i18n.render`` renders them in the patient's locale
at the edge (the HTTP answer, the notification written, the plan view).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from types import MappingProxyType


def _english(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class Msg(str):
    """One catalogue message: ``msgid`` (English, with ``{placeholders}``) and its ``params``."""

    msgid: str
    params: Mapping[str, object]

    def __new__(cls, msgid: str, /, **params: object) -> Msg:
        text = msgid.format(**{name: _english(value) for name, value in params.items()}) if params else msgid
        made = super().__new__(cls, text)
        made.msgid = msgid
        made.params = MappingProxyType(dict(params))
        return made

    def __reduce__(self) -> tuple[object, ...]:
        return (_msg, (self.msgid, dict(self.params)))


def _msg(msgid: str, params: dict[str, object]) -> Msg:
    return Msg(msgid, **params)


class Text(str):
    """Messages joined by ``sep`` into one paragraph (empty parts are left out)."""

    parts: tuple[str, ...]
    sep: str

    def __new__(cls, parts: Iterable[str], sep: str = " ") -> Text:
        kept = tuple(p for p in parts if p)
        made = super().__new__(cls, sep.join(kept))
        made.parts = kept
        made.sep = sep
        return made

    def __reduce__(self) -> tuple[object, ...]:
        return (Text, (self.parts, self.sep))


__all__ = ["Msg", "Text"]
