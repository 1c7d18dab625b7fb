"""Fuzzing the form's validation: nothing a user can type makes it raise, and whatever it accepts is
exactly what the TaurusDB API accepts (the seed's rules), so no invalid value reaches the API."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.cloud.models import CreateBackupRequest
from bot.domain import rules
from bot.domain.form import validate_form

BLOCKS = {
    "instance_block": "instance",
    "name_block": "name",
    "description_block": "description",
    "reference_block": "reference",
}
INSTANCE_ID = "77c0b1ebcd7bc7474758aa00de956eb1in07"

typed = st.one_of(
    st.text(max_size=300),
    st.text(alphabet="abcXYZ019-_ !<\"='>&\r\n\t中文", max_size=80),
    st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,70}", fullmatch=True),
)


@settings(max_examples=400)
@given(name=typed, description=typed, reference=typed, instance=st.sampled_from(["", " ", INSTANCE_ID]))
def test_validation_never_raises_and_accepts_only_what_the_api_accepts(
    name: str, description: str, reference: str, instance: str
) -> None:
    values = {"instance": instance, "name": name, "description": description, "reference": reference}
    errors = validate_form(values, **BLOCKS)
    assert set(errors) <= set(values)
    if "name" not in errors:
        assert rules.check_backup_name(name.strip()) is None
    if "description" not in errors:
        assert rules.check_description(description.strip()) is None
    if not errors:
        # exactly what the worker will send: the API's own request model accepts it
        CreateBackupRequest(instance_id=instance, name=name.strip(), description=description.strip() or None)
