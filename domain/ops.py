"""Ops staff acting on a dossier through the Temporal CLI or Web UI: their identity and what they
may do.

Whoever reaches the Temporal frontend can send a signal with any `actor` in it; that is why the
frontend is reachable only by motcua and ops staff (deploy/README.md). Ops staff act under an
identity of their own, `ops:<operator>`, never an officer's: they may recompute a dossier's
calendar (`calendar_changed`), record a note (`operator_note`) and retry a failed read-model
write now (`retry_read_model`); an officer's action sent under an ops identity is refused and
recorded (`forbidden`).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from domain.limits import Reason

OPS_PREFIX = "ops:"
OPERATOR_NOTES_MAX = 50  # notes per dossier; past it, a note is refused (and counted)


class OperatorRequest(BaseModel):
    """The input of every ops signal: who sends it (a login name, not an officer's id)."""

    operator: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")

    @property
    def identity(self) -> str:
        return OPS_PREFIX + self.operator


class OperatorNote(OperatorRequest):
    """`operator_note`: a note for the dossier's timeline (why an operator reset it, say)."""

    note: Reason = Field(min_length=1)


def is_ops_identity(user_id: str) -> bool:
    return user_id.startswith(OPS_PREFIX)
