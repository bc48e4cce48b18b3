"""Bring the message catalogues up to date with the code: extract every message id from api/ (Python `_()`,
`gettext`, `ngettext`, `N_()` and the Jinja2 templates, per babel.cfg), add the new ones to
api/locale/{zh_CN,en}/LC_MESSAGES/messages.po and mark the ones no longer used as obsolete.

English message ids are their own English text, so new English entries are filled in; new Chinese entries are left
empty for you to translate (tests/web/test_i18n.py fails until every one is). Run:

    .venv/bin/python scripts/update_catalogues.py
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ("zh_CN", "en")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def extracted() -> Catalog:
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    template = Catalog(project="Forewarn")
    for filename, lineno, message, comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def main() -> None:
    template = extracted()
    for locale in LOCALES:
        path = ROOT / "api" / "locale" / locale / "LC_MESSAGES" / "messages.po"
        with path.open("rb") as source:
            catalog = read_po(source, locale=locale)
        template.creation_date = catalog.creation_date  # an unchanged header merges cleanly between branches
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        if locale == "en":
            for message in catalog:
                if message.id and not message.string:
                    message.string = message.id
        with path.open("wb") as target:
            write_po(target, catalog, omit_header=False, sort_output=True, width=120, no_location=True)
        empty = [m.id for m in catalog if m.id and not m.string]
        print(f"{path.relative_to(ROOT)}: {len(catalog)} messages, {len(empty)} untranslated")
        for message_id in empty:
            print(f"    {message_id!r}")


if __name__ == "__main__":
    main()
