"""Validation of the backup form's fields (pure): the seed's rules, answered per field so the modal
can show them inline (``response_action: errors``)."""

from __future__ import annotations

from collections.abc import Mapping

from bot.domain import rules
from bot.domain.grammar import is_instance_ref
from bot.i18n import Text

REFERENCE_MAX = 200
REASON_MAX = 500


def check_reference(value: str) -> Text | None:
    if len(value) > REFERENCE_MAX:
        return Text("rule.reference_length", maximum=REFERENCE_MAX, length=len(value))
    if "\r" in value or "\n" in value:
        return Text("rule.reference_line")
    return rules.check_free_text(value)


def check_reason(value: str) -> Text | None:
    """A decision's reason (reject, break glass): several lines allowed, nothing hidden."""
    if len(value) > REASON_MAX:
        return Text("rule.reason_length", maximum=REASON_MAX, length=len(value))
    return rules.check_free_text(value, allow="\n")


def check_instance_choice(value: str) -> Text | None:
    """The form's instance (an option value the bot offered: an instance ID, or a name as typed)."""
    if not value.strip():
        return Text("form.error.instance")
    if is_instance_ref(value):
        return None
    return Text("problem.instance", value=value[:39] + "…" if len(value) > 40 else value)


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
    if (problem := check_instance_choice(values.get(instance_block, ""))) is not None:
        errors[instance_block] = problem
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
