"""Babel extraction of the catalogue messages, and the catalogues' upkeep.

``python -m api.i18n.catalogues`` re-extracts every ``Msg("...")`` of ``api/`` into
``api/i18n/locales/messages.pot`` and merges it into each shipped locale's ``.po`` (new
messages arrive untranslated; the catalogue test then fails until they are translated).
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from api.i18n.locales import DEFAULT_LOCALE, SUPPORTED_LOCALES
from api.i18n.render import CATALOGUE_DIR, catalogue_path

API_DIR = Path(__file__).resolve().parent.parent
TEMPLATE = CATALOGUE_DIR / "messages.pot"


def extract() -> Catalog:
    """Every ``Msg("...")`` literal of ``api/`` (its first argument is the message identifier)."""
    catalogue = Catalog(project="backstep", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(API_DIR), method_map=[("**.py", "python")], keywords={"Msg": None}, comment_tags=()
    ):
        if isinstance(message, str) and message:
            catalogue.add(message, locations=[(f"api/{filename}", lineno)], auto_comments=comments, context=context)
    return catalogue


def shipped_translations() -> list[str]:
    return [locale for locale in SUPPORTED_LOCALES if locale != DEFAULT_LOCALE]


def update() -> None:
    template = extract()
    with TEMPLATE.open("wb") as handle:
        write_po(handle, template, omit_header=True, sort_output=True, width=120)
    for locale in shipped_translations():
        path = catalogue_path(locale)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open("rb") as handle:
                catalogue = read_po(handle, locale=locale.replace("-", "_"))
        else:
            catalogue = Catalog(locale=locale.replace("-", "_"), project="backstep")
        catalogue.update(template, no_fuzzy_matching=True)
        with path.open("wb") as handle:
            write_po(handle, catalogue, sort_output=True, width=120, ignore_obsolete=True)


if __name__ == "__main__":
    update()
