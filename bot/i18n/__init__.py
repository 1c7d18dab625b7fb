"""People's languages: the message catalogs (en-US, zh-CN) and how a sentence is put into one.

Every sentence a person reads comes from a catalog by key, ``t(lang, key, **values)``; the
catalogs are :mod:`bot.i18n.en_us` and :mod:`bot.i18n.zh_cn`, and a unit test keeps their keys and
placeholders identical. Values are inserted as given: callers escape user text first.

Pure code that has no reader yet (a grammar or validation problem) returns a :class:`Text`: a
``str`` whose value is the English sentence and which can say itself in any catalog language with
:meth:`Text.render` (or :func:`localize`). Code that only needs English (start-up errors, the
simulator, logs) keeps using it as the plain string it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from bot.i18n import en_us, zh_cn

Lang = Literal["en-us", "zh-cn"]
"""A language the bot speaks, spelled like the TaurusDB API's ``X-Language`` header."""

LANGUAGES: tuple[Lang, ...] = ("en-us", "zh-cn")
SOURCE: Lang = "en-us"
"""The language code is written in: what a :class:`Text` is as a plain string."""

CATALOGS: Mapping[Lang, Mapping[str, str]] = {"en-us": en_us.MESSAGES, "zh-cn": zh_cn.MESSAGES}
_BY_SPELLING: Mapping[str, tuple[Lang, Mapping[str, str]]] = {
    lang: (lang, CATALOGS[lang]) for lang in LANGUAGES
}


def as_lang(value: str, default: Lang = SOURCE) -> Lang:
    """``en-us`` or ``zh-cn`` from a stored or configured spelling (``zh_CN``, ``EN-US``…);
    empty or unknown values are ``default``."""
    lowered = value.strip().lower().replace("_", "-")
    if lowered in LANGUAGES:
        return lowered
    if lowered.startswith("zh"):
        return "zh-cn"
    if lowered.startswith("en"):
        return "en-us"
    return default


def language_of_locale(locale: str | None, default: Lang) -> Lang:
    """A Slack ``user.locale`` (``zh-CN``, ``en-GB``, ``ja-JP``…) → the language the bot uses for
    that person: any Chinese locale reads Chinese, any other locale English; no locale at all (Slack
    did not say) is the deployment's ``default``."""
    if not locale or not locale.strip():
        return default
    return "zh-cn" if locale.strip().lower().replace("_", "-").startswith("zh") else "en-us"


def t(lang: str, key: str, /, **values: object) -> str:
    """The catalog sentence ``key`` in ``lang`` with ``values`` filled in (:class:`Text` values are
    rendered in the same language). An unknown ``lang`` is English; an unknown ``key`` is a
    ``KeyError`` (a programming error the catalog test catches)."""
    # A stored language is already spelled right: only another spelling needs cleaning.
    language, catalog = _BY_SPELLING.get(lang) or _BY_SPELLING[as_lang(lang)]
    template = catalog.get(key)
    if template is None:
        template = CATALOGS[SOURCE][key]
    for value in values.values():  # a plain loop: any() over a generator costs more than the rest
        if isinstance(value, Text):
            values = {name: localize(v, language) if isinstance(v, Text) else v for name, v in values.items()}
            break
    return template.format_map(values)


class Text(str):
    """A sentence that can be said in any catalog language; as a ``str`` it is the English one.

    ``Text(key, **values)`` is a catalog sentence; :meth:`compose` glues plain strings (said the same
    in every language, such as command syntax) and other texts. Equality and hashing are the
    English string's.
    """

    _key: str
    _values: dict[str, object]
    _parts: tuple[str, ...]
    _sep: str

    def __new__(cls, key: str, /, **values: object) -> Text:
        self = super().__new__(cls, t(SOURCE, key, **values))
        self._key, self._values, self._parts, self._sep = key, dict(values), (), ""
        return self

    @classmethod
    def compose(cls, sep: str, parts: Iterable[str]) -> Text:
        """``sep.join(parts)`` in whichever language it is rendered in."""
        items = tuple(parts)
        self = str.__new__(cls, sep.join(items))
        self._key, self._values, self._parts, self._sep = "", {}, items, sep
        return self

    @property
    def key(self) -> str:
        """The catalog key ("" for a joined text)."""
        return self._key

    def render(self, lang: str) -> str:
        if self._key:
            return t(lang, self._key, **self._values)
        return self._sep.join(localize(part, lang) for part in self._parts)

    def __reduce__(self) -> tuple[Any, ...]:  # copy and pickle keep the translations
        return _rebuild, (self._key, self._values, self._parts, self._sep)

    def __repr__(self) -> str:
        return f"Text({self._key!r}, {str(self)!r})" if self._key else f"Text.compose({str(self)!r})"


def _rebuild(key: str, values: dict[str, object], parts: tuple[str, ...], sep: str) -> Text:
    return Text(key, **values) if key else Text.compose(sep, parts)


def localize(text: str, lang: str) -> str:
    """A :class:`Text` said in ``lang``; any other string (a cloud message already in the reader's
    language, an identifier) as it is."""
    return text.render(lang) if isinstance(text, Text) else text


__all__ = [
    "CATALOGS",
    "LANGUAGES",
    "SOURCE",
    "Lang",
    "Text",
    "as_lang",
    "language_of_locale",
    "localize",
    "t",
]
