"""Message catalogues (Babel/gettext): `api/locale/<locale>/LC_MESSAGES/messages.po`, zh-CN by default and English
by choice. The `.po` files are compiled in memory when the app starts (a few milliseconds), so there is no build
step and no binary `.mo` file that could drift from its source.

Choosing the language: `?lang=en` (remembered in the `lang` cookie), then the `lang` cookie, then the browser's
Accept-Language, then zh-CN. Message ids are English; a template writes `{{ _("Sign in") }}`, or
`{{ ngettext("%(num)d notice", "%(num)d notices", n) }}` for plurals. A message id missing from the active
catalogue is shown as is, logged once, and recorded in `Catalogues.missing` (the tests browse every page and
require that set to stay empty). Python code marks a message id it hands to a template with `N_(...)`."""

from __future__ import annotations

import gettext
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from starlette.requests import Request

log = logging.getLogger(__name__)

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DEFAULT_LANG = "zh-CN"
LANGUAGES: dict[str, str] = {"zh-CN": "zh_CN", "en": "en"}  # page language -> catalogue (locale) name
LANG_COOKIE = "lang"


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "translate later"
    """Mark a message id for extraction where it is defined; it is translated where it is shown (`_(id)`)."""
    return message


def normalise_lang(value: str | None) -> str | None:
    """'en', 'en-GB', 'zh', 'zh-cn', 'zh_CN' ... -> one of LANGUAGES, or None."""
    if not value:
        return None
    value = value.strip().replace("_", "-").lower()
    if value.startswith("zh"):
        return "zh-CN"
    if value.startswith("en"):
        return "en"
    return None


def choose_lang(request: Request) -> str:
    chosen = normalise_lang(request.query_params.get("lang")) or normalise_lang(request.cookies.get(LANG_COOKIE))
    if chosen:
        return chosen
    for part in request.headers.get("accept-language", "").split(","):
        found = normalise_lang(part.split(";")[0])
        if found:
            return found
    return DEFAULT_LANG


def load_catalogue(locale: str, directory: Path = LOCALE_DIR) -> gettext.GNUTranslations:
    """Compile `<directory>/<locale>/LC_MESSAGES/messages.po` in memory."""
    path = directory / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as source:
        catalog = read_po(source, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@dataclass
class Catalogues:
    """The compiled catalogues of every page language, and the message ids found missing since start-up."""

    translations: dict[str, gettext.GNUTranslations]
    missing: set[tuple[str, str]] = field(default_factory=set)  # (lang, message id)

    @classmethod
    def load(cls, directory: Path = LOCALE_DIR) -> Catalogues:
        return cls({lang: load_catalogue(locale, directory) for lang, locale in LANGUAGES.items()})

    def _known(self, lang: str, message: str) -> bool:
        catalog: dict[object, str] = self.translations[lang]._catalog  # type: ignore[attr-defined]
        return message in catalog or (message, 0) in catalog

    def _note_missing(self, lang: str, message: str) -> None:
        if (lang, message) not in self.missing:
            self.missing.add((lang, message))
            log.warning("no %s translation for message id %r", lang, message)

    def gettext(self, lang: str) -> Callable[..., str]:
        """`_(message, **variables)`: the translation, with `%(name)s` placeholders filled in."""
        translations = self.translations[lang]

        def translate(message: str, /, **variables: object) -> str:
            if not self._known(lang, message):
                self._note_missing(lang, message)
            text = translations.gettext(message)
            return text % variables if variables else text

        return translate

    def ngettext(self, lang: str) -> Callable[..., str]:
        """`ngettext(singular, plural, n, **variables)`; `%(num)d` is n."""
        translations = self.translations[lang]

        def translate(singular: str, plural: str, n: int, /, **variables: object) -> str:
            if not self._known(lang, singular):
                self._note_missing(lang, singular)
            return translations.ngettext(singular, plural, n) % {"num": n, **variables}

        return translate
