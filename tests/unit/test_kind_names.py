"""A guardian kind is named by its string in its own modules only.

Adding a kind must mean writing `server/kinds/<kind>.py`, `dialog/kinds/<kind>.py` and one
entry in `core/kinds.py`. A module elsewhere that compares against, indexes by or lists a
kind's name is a place the next kind would have to be added by hand, and forgetting it
breaks something silently (a decoy without the new kind, a schema that refuses it).
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

from vouch.core.kinds import KINDS

PACKAGE = Path(__file__).resolve().parents[2] / "pysrc" / "vouch"
OWNERS = (
    "core/kinds.py",
    "server/kinds/",
    "dialog/kinds/",
    "server/storage/migrations.py",  # the schema history names what each version stored
)
# Strings that spell a kind's name but mean something else, counted per module.
HOMONYMS: dict[str, Counter[str]] = {
    # The audit field "passkey" is the sign-in passkey that was used, not the guardian kind.
    "server/routes/passkeys.py": Counter({"passkey": 3}),
    "server/routes/guardians.py": Counter({"passkey": 2}),
    # The account's email address (GET /api/account's "email"), not the guardian kind.
    "dialog/guardian_setup.py": Counter({"email": 1}),
    "server/email_addresses.py": Counter({"email": 1}),
    "server/routes/account.py": Counter({"email": 2}),
    # The person invited (the API's and the audit log's "contact" field, an account), and the
    # sign-in passkey that answered, in the endpoints between two people.
    "server/routes/contacts.py": Counter({"contact": 6, "passkey": 1}),
    "server/routes/contact_requests.py": Counter({"contact": 3, "passkey": 1}),
}


def kind_strings(path: Path) -> Counter[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: Counter[str] = Counter()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in KINDS:
            found[node.value] += 1
    return found


def test_only_the_kind_modules_name_a_kind() -> None:
    assert len(KINDS) >= 4
    offenders: dict[str, dict[str, int]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith(OWNERS):
            continue
        extra = kind_strings(path) - HOMONYMS.get(relative, Counter())
        if extra:
            offenders[relative] = dict(extra)
    assert not offenders, f"these modules name a guardian kind by its string: {offenders}"


def test_the_check_finds_a_kind_name(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('if kind == "backup_codes":\n    pass\nKINDS = ("passkey",)\n')
    assert kind_strings(sample) == Counter({"backup_codes": 1, "passkey": 1})
