"""Who reads which work list of issue 9 (`domain.rules.*_scope`), and how the inbox's search
folds a Vietnamese name (`db.read_model.search_key`)."""

from __future__ import annotations

import pytest

from db.read_model import search_key
from domain import rules
from domain.commands import Actor, Role
from domain.refusals import Code, Refusal


def actor(agency: str, *roles: Role) -> Actor:
    return Actor(user_id=f"{agency.lower()}.user", agency=agency, roles=list(roles))


OFFICER = actor("SXD", Role.OFFICER)
HEAD = actor("SXD", Role.HEAD)
EVALUATOR = actor("SNV", Role.HOME_AFFAIRS)
INSPECTOR = actor("VPUBND", Role.INSPECTOR)
ADMIN = actor("ADMIN", Role.ADMIN)

# (scope, caller, agency asked for, expected agency, or the refusal's code)
CASES = [
    (rules.inbox_scope, OFFICER, None, "SXD"),
    (rules.inbox_scope, HEAD, None, "SXD"),
    (rules.inbox_scope, OFFICER, "SXD", "SXD"),
    (rules.inbox_scope, OFFICER, "STP", Code.FORBIDDEN),  # another agency's inbox
    (rules.inbox_scope, EVALUATOR, None, None),  # every agency's
    (rules.inbox_scope, INSPECTOR, "STP", "STP"),
    (rules.inbox_scope, ADMIN, None, Code.FORBIDDEN),
    (rules.consultations_scope, OFFICER, None, "SXD"),
    (rules.consultations_scope, HEAD, None, "SXD"),
    (rules.consultations_scope, EVALUATOR, "CAT", "CAT"),
    (rules.consultations_scope, ADMIN, None, Code.FORBIDDEN),
    # R6: the head confirms; the officer who asked for the withdrawal does not
    (rules.withdrawals_scope, HEAD, None, "SXD"),
    (rules.withdrawals_scope, OFFICER, None, Code.FORBIDDEN),
    (rules.withdrawals_scope, HEAD, "STP", Code.FORBIDDEN),
    (rules.withdrawals_scope, INSPECTOR, None, None),
    (rules.withdrawals_scope, ADMIN, None, Code.FORBIDDEN),
]


@pytest.mark.parametrize(("scope", "caller", "asked", "expected"), CASES)
def test_who_reads_which_work_list(scope, caller, asked, expected) -> None:  # type: ignore[no-untyped-def]
    decision = scope(caller, asked)
    if isinstance(expected, Code):
        assert isinstance(decision, Refusal)
        assert decision.code is expected
        assert decision.http_status == 403
    else:
        assert decision == rules.ListScope(expected)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Lê Văn Cường", "le van cuong"),
        ("LÊ VĂN CƯỜNG", "le van cuong"),
        ("  Đặng   Thị  Hồng ", "dang thi hong"),
        ("Nguyễn Thị Ánh Tuyết", "nguyen thi anh tuyet"),
        ("le van cuong", "le van cuong"),
    ],
)
def test_search_key_folds_case_diacritics_and_spaces(name: str, key: str) -> None:
    assert search_key(name) == key
