"""Every officer action on a dossier in one table: its command, the rule that decides it, the
`Dossier` method that applies it, whether the clock is read again after it, the fact it needs
from the world, and where the API and the workflow take it.

The workflow, the API and the unit tests' builders all read this table, so adding an action
or moving one of its facts is done here once (STYLE.md: one rule lives in one place). No HTTP
and no Temporal here: the route is a path and the update a name; `api` builds its routes and
`workflows` its calls from them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from domain import rules
from domain.commands import (
    Action,
    ApologyRequest,
    Command,
    ConsultationRequest,
    Handover,
    Reply,
    ResultRecord,
    ResumeRequest,
    SosRequest,
    SupplementDelivery,
    WithdrawalConfirmation,
    WithdrawalRequest,
)
from domain.dossier import ConsultationPlan, Dossier
from domain.notices import Notice
from domain.refusals import Refusal


class Fact(StrEnum):
    """What an action's rule needs to know of the world besides the dossier: the workflow asks
    a calendar activity for it before deciding, and hands the answer to `decide` and `apply`."""

    PLAN = "plan"  # the consultation's maximum deadline and reminders: a `ConsultationPlan`
    WORKING_DAY = "working_day"  # whether an apology's new date is a working day: a `bool`


C = TypeVar("C", bound=Command)
F = TypeVar("F")  # the fact's answer as decide and apply take it; None for an action without one
R = TypeVar("R")


@dataclass(frozen=True)
class ActionRule(Generic[C, F]):
    """One action: how it is decided and applied, given `fact`'s answer (None when the action
    needs none, or when the workflow did not ask it: see `Fact`)."""

    action: Action
    command: type[C]
    decide: Callable[[Dossier, C, datetime, F], Refusal | None]
    apply: Callable[[Dossier, C, datetime, F], list[Notice]]
    # Its ledger entry changes the due date: the clock is read again after it.
    moves_clock: bool
    fact: Fact | None
    update: str  # the workflow update that takes the command
    path: str  # the API's POST route, under the dossier's own (`/api/v1/dossiers/{code}`)


def _factless(
    step: Callable[[Dossier, C, datetime], R],
) -> Callable[[Dossier, C, datetime, Any], R]:
    """A step that needs no fact, called as those that do (its fact, if any, is not its own)."""

    def stepped(dossier: Dossier, cmd: C, now: datetime, fact: Any) -> R:
        return step(dossier, cmd, now)

    return stepped


_RULES: tuple[ActionRule[Any, Any], ...] = (
    ActionRule[ConsultationRequest, ConsultationPlan](
        action=Action.CONSULT,
        command=ConsultationRequest,
        decide=rules.decide_consultation,
        apply=Dossier.consult,  # the plan is the dossier's business too: its reminders
        moves_clock=False,
        fact=Fact.PLAN,
        update="request_consultation",
        path="/consultations",
    ),
    ActionRule[Reply, None](
        action=Action.REPLY,
        command=Reply,
        decide=_factless(rules.decide_reply),
        apply=_factless(Dossier.reply),
        moves_clock=False,
        fact=None,
        update="reply",
        path="/consultations/{agency}/reply",
    ),
    ActionRule[SosRequest, None](
        action=Action.SOS,
        command=SosRequest,
        decide=_factless(rules.decide_sos),
        apply=_factless(Dossier.sos),
        moves_clock=True,
        fact=None,
        update="sos",
        path="/sos",
    ),
    ActionRule[SupplementDelivery, None](
        action=Action.SUPPLEMENT,
        command=SupplementDelivery,
        decide=_factless(rules.decide_supplement),
        apply=_factless(Dossier.receive_supplement),
        moves_clock=True,
        fact=None,
        update="supplement",
        path="/supplement",
    ),
    ActionRule[ResumeRequest, None](
        action=Action.RESUME,
        command=ResumeRequest,
        decide=_factless(rules.decide_resume),
        apply=_factless(Dossier.resume),
        moves_clock=True,
        fact=None,
        update="resume",
        path="/resume",
    ),
    ActionRule[ApologyRequest, bool | None](
        action=Action.APOLOGY,
        command=ApologyRequest,
        decide=rules.decide_apology,
        apply=_factless(Dossier.give_apology),  # the working day is the rule's business only
        moves_clock=True,
        fact=Fact.WORKING_DAY,
        update="apology",
        path="/apology",
    ),
    ActionRule[WithdrawalRequest, None](
        action=Action.WITHDRAWAL,
        command=WithdrawalRequest,
        decide=_factless(rules.decide_withdrawal),
        apply=_factless(Dossier.request_withdrawal),
        moves_clock=False,
        fact=None,
        update="request_withdrawal",
        path="/withdrawal",
    ),
    ActionRule[WithdrawalConfirmation, None](
        action=Action.CONFIRM_WITHDRAWAL,
        command=WithdrawalConfirmation,
        decide=_factless(rules.decide_withdrawal_confirmation),
        apply=_factless(Dossier.confirm_withdrawal),
        moves_clock=True,
        fact=None,
        update="confirm_withdrawal",
        path="/withdrawal/confirm",
    ),
    ActionRule[ResultRecord, None](
        action=Action.RESULT,
        command=ResultRecord,
        decide=_factless(rules.decide_result),
        apply=_factless(Dossier.record_result),
        moves_clock=False,
        fact=None,
        update="record_result",
        path="/result",
    ),
    ActionRule[Handover, None](
        action=Action.HANDOVER,
        command=Handover,
        decide=_factless(rules.decide_handover),
        apply=_factless(Dossier.hand_over),
        moves_clock=False,
        fact=None,
        update="hand_over",
        path="/handover",
    ),
)

ACTIONS: Mapping[Action, ActionRule[Any, Any]] = {rule.action: rule for rule in _RULES}
# The action a command is (a command type is one action's alone).
ACTION_OF_COMMAND: Mapping[type[Command], Action] = {rule.command: rule.action for rule in _RULES}
