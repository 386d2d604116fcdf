"""What officers, heads and agencies ask a dossier to do: one message type per action.

These are the inputs of the workflow's updates and signals, in the shapes of API.md's request
bodies plus the `actor` the API takes from the caller's token. Fields a rule requires are optional
here, so that a missing one is refused by the rule with its own code (e.g. `deadline_required`)
rather than by a parser with a generic error, and the refusal is recorded like any other; sent
as `null` they count as missing too. Every text, list and number is bounded (`domain.limits`).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, Field, field_validator

from domain import limits


class Role(StrEnum):
    OFFICER = "officer"
    HEAD = "head"
    HOME_AFFAIRS = "home_affairs"
    INSPECTOR = "inspector"
    ADMIN = "admin"


class Actor(BaseModel):
    """Who acts: the claims of the caller's token (API.md, Authentication)."""

    user_id: limits.Name
    name: limits.Name = ""
    agency: limits.Code
    roles: Annotated[list[Role], limits.Items(limits.ROLES_MAX)] = Field(default_factory=list)

    def has(self, role: Role) -> bool:
        return role in self.roles


SYSTEM = "system"  # the `actor` of events the service causes by itself (timers)


class Action(StrEnum):
    """Every action on a dossier; also the `action` of a refused event's detail."""

    CONSULT = "consult"
    REPLY = "reply"
    SOS = "sos"
    SUPPLEMENT = "supplement"
    RESUME = "resume"
    APOLOGY = "apology"
    WITHDRAWAL = "withdrawal"
    CONFIRM_WITHDRAWAL = "confirm_withdrawal"
    RESULT = "result"
    HANDOVER = "handover"


class InvalidRequest(BaseModel):
    """An action on a dossier whose request the API could not read: not JSON, or not the shape
    of the action's body. Refused before any rule is asked, and recorded all the same (R9, R12:
    who tried what, when, and why it was refused)."""

    actor: Actor
    action: Action
    code: str  # the problem document's code: malformed_json, validation_error or a limit's
    # What was wrong, as the caller was told, and the start of the body as received, for the
    # audit (kept as an excerpt, its unstorable characters escaped: domain.excerpts).
    errors: list[str]
    body: str

    BODY_KEPT: ClassVar[int] = 1000  # characters of the body kept


class SosAction(StrEnum):
    SUPPLEMENT = "supplement"
    STOP = "stop"
    RETURN = "return"


class Command(BaseModel):
    actor: Actor
    # Set by the API: the workflow refuses the command after this time, unrecorded, so that a
    # sender told "nothing was changed" is told the truth (rules.expired).
    not_after: AwareDatetime | None = None

    # Fields that say how a command was sent, not what was asked: left out of the audit's
    # copy of the request and of an Idempotency-Key's fingerprint.
    ENVELOPE: ClassVar[frozenset[str]] = frozenset({"actor", "not_after"})


# Each action's own fields, as the API's request bodies carry them; the command adds the actor.


class ConsultationBody(BaseModel):
    agencies: Annotated[limits.AgencyCodes, limits.RequiredList] = Field(default_factory=list)
    content: Annotated[limits.LongText, limits.Required] = ""
    deadline: AwareDatetime | None = None  # a time without its zone means nothing: refused

    @field_validator("deadline")
    @classmethod
    def _a_date_of_this_world(cls, deadline: AwareDatetime | None) -> AwareDatetime | None:
        """Refused before anything computes on it: a deadline at the ends of the calendar
        (year 9999, say) would overflow the working-day arithmetic."""
        if deadline is not None and not 2000 <= deadline.year < 9000:
            raise ValueError("a reply deadline must fall between the years 2000 and 8999")
        return deadline

    @field_validator("agencies")
    @classmethod
    def _codes_as_written_in_the_catalogue(cls, agencies: list[str]) -> list[str]:
        """Agency codes are compared and stored exactly: no padding, each agency once."""
        return list(dict.fromkeys(a.strip() for a in agencies))


class ReplyBody(BaseModel):
    opinion: Annotated[limits.LongText, limits.Required] = ""
    late_reason: limits.Reason | None = None


class SosBody(BaseModel):
    action: SosAction
    reason: Annotated[limits.Reason, limits.Required] = ""
    missing_documents: Annotated[limits.DocumentNames, limits.RequiredList] = Field(
        default_factory=list
    )


class SupplementBody(BaseModel):
    documents: Annotated[limits.DocumentNames, limits.RequiredList] = Field(default_factory=list)


class ResumeBody(BaseModel):
    reason: Annotated[limits.Reason, limits.Required] = ""


class ApologyBody(BaseModel):
    reason: Annotated[limits.Reason, limits.Required] = ""
    new_due_date: date | None = None


class WithdrawalBody(BaseModel):
    reason: Annotated[limits.Reason, limits.Required] = ""
    application_ref: Annotated[limits.Ref, limits.Required] = ""


class ConfirmationBody(BaseModel):
    signature_ref: Annotated[limits.Ref, limits.Required] = ""


class ResultBody(BaseModel):
    outcome: Literal["approved", "denied"]
    document_no: Annotated[limits.Ref, limits.Required] = ""
    summary: limits.Reason = ""


class HandoverBody(BaseModel):
    received_by: limits.Name | None = None


class ConsultationRequest(ConsultationBody, Command):
    pass


class Reply(ReplyBody, Command):
    agency: limits.Code  # the consulted agency that answers (the API takes it from the path)


class SosRequest(SosBody, Command):
    pass


class SupplementDelivery(SupplementBody, Command):
    pass


class ResumeRequest(ResumeBody, Command):
    pass


class ApologyRequest(ApologyBody, Command):
    pass


class WithdrawalRequest(WithdrawalBody, Command):
    pass


class WithdrawalConfirmation(ConfirmationBody, Command):
    pass


class ResultRecord(ResultBody, Command):
    pass


class Handover(HandoverBody, Command):
    pass
