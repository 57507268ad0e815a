"""Babel extraction of the catalogue messages, and the catalogues' upkeep.

``python -m api.i18n.catalogues`` re-extracts every ``Msg("...")`` of ``api/`` into
``api/i18n/locales/messages.pot`` and merges it into each shipped locale's ``.po`` (new
messages arrive untranslated; the catalogue test then fails until they are translated).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from api.i18n.locales import DEFAULT_LOCALE, SUPPORTED_LOCALES
from api.i18n.render import CATALOGUE_DIR, catalogue_path

API_DIR = Path(__file__).resolve().parent.parent
TEMPLATE = CATALOGUE_DIR / "messages.pot"


# Fixed, so re-extracting changes the files only where a message changed (no date churn).
_STAMP = datetime(2026, 12, 6, tzinfo=UTC)
_HEADER = (
    "# Backstep patient-facing messages ({language}).\n"
    "# The message identifier is the English text; keep {{placeholders}} as they are.\n"
    "# Safety advice must stay clinically exact (the emergency number is a placeholder).\n#"
)


def _catalogue(locale: str | None) -> Catalog:
    return Catalog(
        locale=locale.replace("-", "_") if locale else None,
        project="backstep",
        version="1",
        creation_date=_STAMP,
        revision_date=_STAMP,
        fuzzy=False,
        header_comment=_HEADER.format(language=locale or "template"),
    )


def extract() -> Catalog:
    """Every ``Msg("...")`` literal of ``api/`` (its first argument is the message identifier)."""
    catalogue = _catalogue(None)
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
        write_po(handle, template, omit_header=True, sort_output=True, width=120, no_location=True)
    for locale in shipped_translations():
        path = catalogue_path(locale)
        path.parent.mkdir(parents=True, exist_ok=True)
        catalogue = _catalogue(locale)
        if path.exists():
            with path.open("rb") as handle:
                for message in read_po(handle, locale=locale.replace("-", "_")):
                    if message.id:
                        catalogue.add(message.id, message.string, flags=message.flags)
        catalogue.update(template, no_fuzzy_matching=True, update_creation_date=False)
        catalogue.revision_date = _STAMP
        with path.open("wb") as handle:
            write_po(handle, catalogue, sort_output=True, width=120, ignore_obsolete=True, no_location=True)


if __name__ == "__main__":
    update()
