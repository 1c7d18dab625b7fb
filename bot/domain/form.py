"""Validation of the backup form's fields (pure): the seed's rules, answered per field so the modal
can show them inline (``response_action: errors``)."""

from __future__ import annotations

from collections.abc import Mapping

from bot.domain import rules
from bot.i18n import Text

REFERENCE_MAX = 200


def check_reference(value: str) -> Text | None:
    if len(value) > REFERENCE_MAX:
        return Text("rule.reference_length", maximum=REFERENCE_MAX, length=len(value))
    if "\r" in value or "\n" in value:
        return Text("rule.reference_line")
    return None


def validate_form(
    values: Mapping[str, str],
    *,
    instance_block: str,
    name_block: str,
    description_block: str,
    reference_block: str,
) -> dict[str, Text]:
    """``{block_id: problem}`` for every field that breaks a rule; empty when all is well. Problems
    are :class:`~bot.i18n.Text`: render them in the reader's language."""
    errors: dict[str, Text] = {}
    if not values.get(instance_block, "").strip():
        errors[instance_block] = Text("form.error.instance")
    name = values.get(name_block, "").strip()
    if (problem := rules.check_backup_name(name)) is not None:
        errors[name_block] = problem
    description = values.get(description_block, "").strip()
    if description and (problem := rules.check_description(description)) is not None:
        errors[description_block] = problem
    reference = values.get(reference_block, "").strip()
    if reference and (problem := check_reference(reference)) is not None:
        errors[reference_block] = problem
    return errors
