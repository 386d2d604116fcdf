"""A year of the read model for the report benchmark: `python -m bench.seed_reports`.

Drops and recreates the target PostgreSQL database, prepares it as `python -m db.migrate` does
(schema, catalogue, working-day calendar), then loads `--dossiers` dossiers received over
`--year`, with their consultations and events, in the shapes the workflow's projection writes
(`db.projection`): the same columns, statuses, event kinds and event details, down to
the refusal details built by `domain.dossier.refusal_detail` itself.

Each dossier's life is drawn from a `random.Random` seeded per day of receipt, so the data
depends only on (`--seed`, `--year`, `--dossiers`), not on how the work is split:

- received on working days in office hours (a few online, at any hour), over the procedures of
  the catalogue's active agencies, numbered `<unit_id>-YYMMDD-XXXX` in order of receipt; about
  one in five received at another one-stop desk (Decree 118/2025: the provincial centre, or a
  commune's or ward's desk), numbered under that desk's unit;
- about 3 consultations each (1 to 5, sometimes in two rounds) of active agencies only (the
  departments, now and then a commune's or ward's committee), mostly answered on time, 10-15%
  late (a quarter of those without a cause), a few very late; reminder 1 at the deadline and
  reminder 2 after the 2 working days' grace for those still unanswered then;
- most completed (early, on the due day or late), some returned, withdrawn (a few without the
  head's confirmation, consultations cancelled by the others), a few closed abnormally; SOS
  stops and supplements on the way, refused SOS attempts while opinions are awaited, the clock's
  `apology_due` and `late` alarms, apologies with a new due date for part of the late ones;
- nothing after 17:00 on 31 December: the dossiers of the last weeks are still open, some with
  consultations overdue.

Rows are loaded with binary COPY over explicit column lists (the columns of migration 0002), so
that columns added later take their server defaults; chunks of days go to `--jobs` processes,
each generating its rows and copying them on its own connection. Then `VACUUM ANALYZE`, and
the report totals are rebuilt (`db.report_totals`; each statement within `--totals-timeout`
seconds: a rebuild whose plan went astray is reported, not waited for).
The database's comment records what was seeded, so `bench.reports` reuses a database seeded
alike instead of seeding again.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import math
import random
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from multiprocessing import get_context
from typing import Any

import asyncpg
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from db.engine import create_engine, parse_url, session_factory
from db.migrate import alembic_config, prepare
from db.read_model import compact_phone, search_key
from db.report_totals import rebuild_report_totals
from domain.commands import Action, Actor, Role, SosAction, SosRequest
from domain.dossier import ConsultationStatus, DossierStatus, refusal_detail
from domain.national_status import BY_STATUS
from domain.refusals import Code, refuse
from domain.rules import decide_after_close

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/motcua_reports"
# Bumped whenever the generated data changes: a database seeded by another version is reseeded.
# 2: the applicants' folded names (migration 0008); 3: the merged province (active agencies only,
# receipt at any desk: migration 0010's receiving_desk)
GENERATOR_VERSION = 3
MARKER_KEY = "motcua_bench_seed"

# The columns of migration 0002, in its order, the folded name of 0008 (the inbox's search) and
# the receiving desk of 0010: later migrations' other columns keep their defaults.
DOSSIER_COLUMNS = [
    "code", "procedure_code", "procedure_name", "lead_agency", "applicant", "applicant_phone",
    "applicant_search", "status", "national_status", "received_at", "due_at", "completed_at",
    "closed_at", "late", "withdrawal", "abnormal_close", "version", "updated_at",
    "receiving_desk",
]  # fmt: skip
CONSULTATION_COLUMNS = [
    "dossier", "number", "agency", "content", "deadline", "status", "requested_at",
    "replied_at", "opinion", "late_reason", "reminders", "reminder_1_at", "reminder_2_at",
]  # fmt: skip
EVENT_COLUMNS = ["dossier", "seq", "at", "kind", "actor", "detail"]
COUNTER_COLUMNS = ["unit_id", "day", "last"]

# --- time as integer seconds since the epoch: a million lives need cheap arithmetic -----------

OFFSET = 7 * 3600  # Vietnam is UTC+7 all year (domain.localtime)
DAY = 86400
HOUR = 3600
OPENS, CLOSES, SAME_DAY_CUTOFF = 7 * HOUR, 17 * HOUR, 15 * HOUR  # domain.calendar.OfficeHours
GRACE_WORKING_DAYS = 2  # reminder 2 after reminder 1 (Settings.reminder_grace's default)
TIMER_LAG = 1  # a timer's event is recorded a moment after it was due
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def local_day(t: int) -> int:
    """The local date of instant `t`, as days since 1970-01-01."""
    return (t + OFFSET) // DAY


def at_local(day: int, seconds: int) -> int:
    """`seconds` after local midnight of `day`, as an instant."""
    return day * DAY + seconds - OFFSET


# One encoder for every detail: `json.dumps` with options builds a new one per call.
to_json = json.JSONEncoder(ensure_ascii=False).encode


def to_datetime(t: int) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def iso(t: int) -> str:
    """As `datetime.isoformat()` writes a UTC time (the `due_at` of `late` events)."""
    return datetime.fromtimestamp(t, UTC).isoformat()


def iso_z(t: int) -> str:
    """As pydantic's JSON writes a UTC time (reminders' `sent_at`)."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Calendar:
    """The `calendar_days` rows of the seeded years as arrays: working-day arithmetic by index,
    the same as `domain.calendar.WorkingCalendar`'s."""

    first: int  # local day of index[0]
    index: list[int]  # working_index of each day from `first`
    working: list[bool]
    by_index: list[int]  # the working days in order
    first_index: int  # working_index of by_index[0]

    @classmethod
    def from_rows(cls, rows: list[tuple[date, bool, int]]) -> Calendar:
        rows = sorted(rows)
        first = rows[0][0].toordinal() - EPOCH_ORDINAL
        assert all(r[0].toordinal() - EPOCH_ORDINAL == first + i for i, r in enumerate(rows))
        by_index = [r[0].toordinal() - EPOCH_ORDINAL for r in rows if r[1]]
        first_working = next(r for r in rows if r[1])
        return cls(
            first=first,
            index=[r[2] for r in rows],
            working=[r[1] for r in rows],
            by_index=by_index,
            first_index=first_working[2],
        )

    def is_working(self, day: int) -> bool:
        return self.working[day - self.first]

    def working_index(self, day: int) -> int:
        return self.index[day - self.first]

    def add(self, day: int, n: int) -> int:
        """`WorkingCalendar.add_working_days` on local days."""
        i = self.index[day - self.first]
        working = self.working[day - self.first]
        if n == 0:
            return day if working else self.by_index[i + 1 - self.first_index]
        if n > 0:
            return self.by_index[i + n - self.first_index]
        return self.by_index[i - working + n + 1 - self.first_index]

    def between(self, start: int, end: int) -> int:
        """`WorkingCalendar.working_days_between`."""
        if end <= start:
            return 0
        return self.working_index(local_day(end)) - self.working_index(local_day(start))

    def due(self, received: int, working_days: int) -> int:
        """`WorkingCalendar.due_at`: closing time on the n-th working day after the counting
        day (the day of receipt if it is a working day and before the cut-off)."""
        day, clock = divmod(received + OFFSET, DAY)
        if not (self.is_working(day) and clock <= SAME_DAY_CUTOFF):
            day = self.add(day, 1)
        return at_local(self.add(day, working_days), CLOSES)

    def shift(self, t: int, n: int) -> int:
        """`WorkingCalendar.shift`: the same wall-clock time n working days on."""
        day, clock = divmod(t + OFFSET, DAY)
        return at_local(self.add(day, n), clock)

    def apology_notice(self, due: int) -> int:
        """R13: the opening of the working day before the due date (`read_clock`)."""
        return at_local(local_day(self.shift(due, -1)), OPENS)


# --- what the world looks like ---------------------------------------------------------------

# How often each procedure of data/catalogue.toml is asked for; a code not listed weighs 1.
PROCEDURE_WEIGHTS = {
    "DN-LLTP-001": 5.0,
    "DN-DKKD-001": 4.0,
    "DN-XD-001": 2.0,
    "DN-TM-001": 1.0,
    "DN-MT-001": 0.7,
    "DN-MT-002": 0.7,
}
# The agencies each procedure usually consults (the comments of data/catalogue.toml), the
# abolished district committees' part now the wards' and communes' that took their centres over;
# padded with other departments, drawn once per seed. Inactive agencies are never consulted.
USUALLY_CONSULTED = {
    "DN-XD-001": ["CAT", "SNNMT", "BQLKCN", "UBND-PHUONG-TRANBIEN", "STC"],
    "DN-MT-001": ["UBND-PHUONG-TRANBIEN", "BQLKCN", "SXD", "CAT", "SYT"],
    "DN-MT-002": ["UBND-PHUONG-TRANBIEN", "SXD", "BQLKCN", "SYT", "CAT"],
    "DN-LLTP-001": ["CAT", "UBND-PHUONG-TRANBIEN", "UBND-PHUONG-LONGKHANH", "UBND-XA-TRANGBOM"],
    "DN-TM-001": ["CAT", "SNNMT", "SXD", "UBND-PHUONG-TRANBIEN", "UBND-XA-LONGTHANH"],
    "DN-DKKD-001": ["CAT", "SCT", "STP", "UBND-PHUONG-TRANBIEN"],
}
# Decree 118/2025: the share of dossiers received at another one-stop desk than the lead
# agency's, at the provincial centre or at a commune's or ward's desk.
AT_THE_CENTRE, AT_A_LOCAL_DESK = 0.1, 0.1
# How often a consultation beyond the usual ones goes to a commune's or ward's committee.
LOCAL_CONSULTED = 0.3
CONSULTATIONS_PER_DOSSIER = ([1, 2, 3, 4, 5], [0.1, 0.2, 0.4, 0.2, 0.1])  # 3 on average

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi"]
MIDDLE = ["Văn", "Thị", "Minh", "Quốc", "Thanh", "Hữu", "Ngọc", "Đức", "Thu", "Hoài"]
GIVEN = ["An", "Bình", "Châu", "Dũng", "Giang", "Hải", "Hoa", "Khang", "Lan", "Mai", "Nam",
         "Phúc", "Quân", "Sơn", "Tâm", "Trang", "Tuấn", "Uyên", "Việt", "Yến"]  # fmt: skip
PLACES = ["Phường Tân Phong, thành phố Biên Hòa", "Phường Trảng Dài, thành phố Biên Hòa",
          "Phường Xuân An, thành phố Long Khánh", "Xã Long Thọ, huyện Nhơn Trạch",
          "Thị trấn Long Thành, huyện Long Thành", "Thị trấn Trảng Bom, huyện Trảng Bom",
          "Xã Gia Tân 1, huyện Thống Nhất", "Thị trấn Vĩnh An, huyện Vĩnh Cửu"]  # fmt: skip
CONTENTS = [
    "Cho ý kiến về nội dung hồ sơ theo chức năng, nhiệm vụ của cơ quan",
    "Đề nghị xác minh và cho ý kiến về thông tin trong hồ sơ",
    "Cho ý kiến về sự phù hợp với quy hoạch và quy định chuyên ngành",
    "Cho ý kiến về giải pháp phòng cháy và chữa cháy của công trình",
]
OPINIONS = [
    "Thống nhất với nội dung hồ sơ, không có ý kiến khác.",
    "Thống nhất; đề nghị tổ chức, cá nhân cam kết thực hiện đúng quy định.",
    "Đồng ý với đề xuất của cơ quan chủ trì.",
    "Không phát hiện vướng mắc trong phạm vi quản lý.",
]
LATE_REASONS = [
    "Chờ kết quả kiểm tra thực địa",
    "Thiếu cán bộ thẩm định",
    "Hồ sơ phức tạp, cần họp liên ngành",
    "Chờ ý kiến của cơ quan cấp trên",
]
SOS_REASONS = {
    "stop": "Tạm dừng để xác minh thông tin quy hoạch",
    "supplement": "Hồ sơ thiếu thành phần theo quy định",
    "return": "Hồ sơ không đủ điều kiện giải quyết",
}


@dataclass(frozen=True)
class ProcedureInfo:
    code: str
    name: str
    lead_agency: str
    unit_id: str
    processing_days: int
    max_consultation_days: int
    documents: list[str]
    consulted: list[str]  # the usual ones first


@dataclass(frozen=True)
class World:
    """What every generating process needs, picklable."""

    seed: int
    year: int
    now: int  # 17:00 on 31 December: nothing happens after it
    calendar: Calendar
    procedures: list[ProcedureInfo]
    weights: list[float]  # cumulative, for bisect
    agencies: list[str]  # the active departments anyone may consult
    local: list[str]  # the active communes' and wards' committees, consulted now and then
    centre: tuple[str, str] | None  # the provincial one-stop centre: (code, unit_id)
    local_desks: list[tuple[str, str]]  # the communes' and wards' one-stop desks
    home_affairs: str


@dataclass
class ChunkReport:
    rows: dict[str, int] = field(default_factory=dict)
    copy_seconds: dict[str, float] = field(default_factory=dict)
    generate_seconds: float = 0.0


# --- one dossier's life --------------------------------------------------------------------------


class Life:
    """One dossier, drawn whole, then cut at `World.now` and read back into its rows.

    Events are drawn stage by stage (receipt, supplement, consultations, stop, ending), each
    with its time; the ones past `now` are dropped and the rest replayed to give the row as the
    last projection before `now` wrote it."""

    def __init__(
        self, world: World, rng: random.Random, procedure: ProcedureInfo, desk: str | None
    ) -> None:
        self.world, self.rng, self.p = world, rng, procedure
        self.desk = desk  # the one-stop desk that received it, None: the lead agency itself
        self.cal = world.calendar
        # (at, kind, actor, detail JSON, what it changes for the replay); kind None: a change
        # with no event (data written around the workflow).
        self.events: list[tuple[int, str | None, str, str, Any]] = []
        self.consultations: list[list[Any]] = []  # [agency, content, deadline, requested_at]
        self.due: int | None = None
        self.late = False
        self.apologised = False
        self.notified_for: int | None = None
        self.stopped_days = 0
        self.withdrawn_at: int | None = None
        slug = procedure.lead_agency.lower()
        self.officer = f"{slug}.officer{1 + int(rng.random() * 3)}"
        self.head = f"{slug}.head"

    # drawing helpers
    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def office_time(self, t: int, days: int) -> int:
        """A time in office hours `days` working days after `t`'s day, and after `t`."""
        day = self.cal.add(local_day(t), days)
        at = at_local(day, int(OPENS + 1800 + self.rng.random() * (9 * HOUR - 900)))
        return at if at > t else t + 600 + int(self.rng.random() * 2 * HOUR)

    def emit(
        self, at: int, kind: str | None, actor: str, detail: dict[str, Any], data: Any = None
    ) -> None:
        self.events.append((at, kind, actor, to_json(detail), data))

    def due_changed(self, at: int, cause: str, new: int | None) -> None:
        previous, self.due = self.due, new
        if previous != new:
            detail = {
                "cause": cause,
                "previous": iso(previous) if previous is not None else None,
                "due_at": iso(new) if new is not None else None,
                "stopped_working_days": self.stopped_days,
            }
            self.emit(at, "due_changed", "system", detail, new)

    def run_clock(
        self, start: int, end: int, apology_share: float, stop_at_apology: bool
    ) -> int | None:
        """The clock's alarms while the dossier is processed from `start` to `end` (R13): the
        apology-due notice, maybe an apology with a new date, then lateness at the due time.
        With `stop_at_apology`, returns the apology's time as soon as one is given (the caller
        plans anew against the new date)."""
        while not self.late and self.due is not None:
            due = self.due
            if not self.apologised and self.notified_for != due:
                fire = max(self.cal.apology_notice(due), start) + TIMER_LAG
                if fire >= end:
                    return None
                self.emit(fire, "apology_due", "system", {"due_at": iso(due)})
                self.notified_for = due
                deadline = self.cal.shift(due, -1)
                if self.chance(apology_share):
                    at = fire + HOUR + int(self.rng.random() * 6 * HOUR)
                    if at < min(end, deadline):
                        self.apologise(at, due)
                        if stop_at_apology:
                            return at
                        start = at
                        continue
            fire = max(due, start) + TIMER_LAG
            if fire >= end:
                return None
            self.emit(fire, "late", "system", {"due_at": iso(due)}, "late")
            self.late = True
        return None

    def apologise(self, at: int, due: int) -> None:
        new_day = self.cal.add(local_day(due), 3 + int(self.rng.random() * 8))
        self.apologised = True
        self.emit(
            at,
            "apology",
            self.officer,
            {
                "reason": "Hồ sơ phức tạp, cần thêm thời gian thẩm định",
                "new_due_date": date.fromordinal(new_day + EPOCH_ORDINAL).isoformat(),
            },
        )
        self.due_changed(at, "apology", at_local(new_day, CLOSES))

    # the stages
    def draw(self, received: int) -> None:
        rng, p = self.rng, self.p
        detail: dict[str, Any] = {"procedure": p.code, "processing_days": p.processing_days}
        receiver = self.officer
        if self.desk is not None:  # as `domain.dossier.receive` records it
            detail["receiving_desk"] = self.desk
            receiver = f"{self.desk.lower()}.officer{1 + int(rng.random() * 3)}"
        self.emit(received, "received", receiver, detail, self.cal.due(received, p.processing_days))
        self.due = self.cal.due(received, p.processing_days)
        running = received
        if self.chance(0.06):  # R10: documents missing, asked for before anyone is consulted
            asked = self.office_time(received, int(rng.random() * 2))
            if asked < self.cal.apology_notice(self.due):
                delivered = self.supplement(asked)
                if delivered is None:
                    return
                running = delivered
        ready = self.consult(running)
        if ready is None:  # closed while consulting
            return
        self.finish(running, ready)

    def supplement(self, asked: int) -> int | None:
        """SOS supplement and its delivery; None if the applicant never delivers (returned)."""
        docs = [self.p.documents[int(self.rng.random() * len(self.p.documents))]]
        self.emit(
            asked,
            "sos_supplement",
            self.officer,
            {"reason": SOS_REASONS["supplement"], "missing_documents": docs},
            "awaiting_supplement",
        )
        self.due_changed(asked, "sos", None)
        if self.chance(0.07):
            gone = self.office_time(asked, 20 + int(self.rng.random() * 10))
            self.emit(
                gone,
                "sos_return",
                self.officer,
                {"reason": "Quá thời hạn bổ sung hồ sơ", "missing_documents": []},
                "returned",
            )
            self.refused_after_close(gone, "returned")
            return None
        delivered = self.office_time(asked, 2 + int(self.rng.random() * 10))
        self.emit(delivered, "supplement", self.officer, {"documents": docs}, "processing")
        self.stopped_days = 0
        self.due_changed(delivered, "supplement", self.cal.due(delivered, self.p.processing_days))
        return delivered

    def consult(self, running: int) -> int | None:
        """The consultation rounds; when the last answer came (None: the dossier was closed
        meanwhile, by a withdrawal or from outside)."""
        rng, p = self.rng, self.p
        counts, weights = CONSULTATIONS_PER_DOSSIER
        k = rng.choices(counts, weights)[0]
        agencies = self.consulted(k)
        rounds = [agencies]
        if k >= 2 and self.chance(0.2):
            split = 1 + int(rng.random() * (k - 1))
            rounds = [agencies[:split], agencies[split:]]
        ending = rng.random()
        withdraw_now = ending < 0.018  # withdrawn while opinions are awaited
        abnormal_now = 0.018 <= ending < 0.0195
        refused_round = int(rng.random() * len(rounds)) if self.chance(0.035) else -1
        t = running
        for r, names in enumerate(rounds):
            asked = self.office_time(t, int(rng.random() * 2))
            m = p.max_consultation_days
            days = m if self.chance(0.7) else 1 + int(rng.random() * m)
            deadline = at_local(self.cal.add(local_day(asked), days), CLOSES)
            second = self.cal.shift(deadline, GRACE_WORKING_DAYS)
            content = CONTENTS[int(rng.random() * len(CONTENTS))]
            answers = []
            for agency in names:
                number = len(self.consultations) + 1
                self.consultations.append([agency, content, deadline, asked])
                self.emit(
                    asked,
                    "consultation_requested",
                    self.officer,
                    {
                        "agency": agency,
                        "number": number,
                        "content": content,
                        "deadline": iso(deadline),
                    },
                    number,
                )
                answers.append((number, agency, self.answer_time(asked, deadline, days)))
            last = max(a[2] for a in answers)
            closing = None
            if withdraw_now or abnormal_now:
                closing = asked + 60 + int(rng.random() * (last - asked - 60))
                if withdraw_now:
                    closing = self.withdraw(closing, confirm_days=int(rng.random() * 3))
            if r == refused_round:
                self.refused_sos(asked, deadline, last, answers, closing)
            for number, agency, replied in answers:
                self.settle(number, agency, deadline, second, replied, closing)
            if closing is not None:
                self.run_clock(running, closing, 0.3, stop_at_apology=False)
                if abnormal_now:
                    open_ = any(replied > closing for _n, _a, replied in answers)
                    self.close_abnormally(closing, "consulting" if open_ else "processing")
                return None
            t = last
        return t

    def consulted(self, k: int) -> list[str]:
        usual = self.p.consulted
        chosen = self.rng.sample(usual, min(k, len(usual)))
        while len(chosen) < k or self.chance(0.1):
            pool = self.world.local if self.chance(LOCAL_CONSULTED) else self.world.agencies
            other = pool[int(self.rng.random() * len(pool))]
            if other != self.p.lead_agency and other not in chosen:
                if len(chosen) == k:
                    chosen[int(self.rng.random() * k)] = other
                    break
                chosen.append(other)
        return chosen

    def answer_time(self, asked: int, deadline: int, days: int) -> int:
        u = self.rng.random()
        if u < 0.865:  # on time, most of them towards the deadline
            offset = min(days, int((days + 1) * math.sqrt(self.rng.random())))
            replied = self.office_time(asked, offset)
            return replied if replied <= deadline else deadline - 600
        if u < 0.985:
            late = 1 + min(14, int(-math.log(1 - self.rng.random()) * 2.5))
        else:
            late = 10 + int(self.rng.random() * 35)
        return self.office_time(deadline, late)

    def settle(
        self,
        number: int,
        agency: str,
        deadline: int,
        second: int,
        replied: int,
        closing: int | None,
    ) -> None:
        """A consultation's reminders, then its answer, or its cancellation at `closing`."""
        end = replied if closing is None or replied <= closing else closing
        if end > deadline:
            self.emit(
                deadline + TIMER_LAG,
                "reminder_1",
                "system",
                {"agency": agency, "number": number, "cc": []},
                (number, 1),
            )
        if end > second:
            self.emit(
                second + TIMER_LAG,
                "reminder_2",
                "system",
                {"agency": agency, "number": number, "cc": [self.world.home_affairs]},
                (number, 2),
            )
        if end == replied:
            late = replied > deadline
            reason = None
            if late and self.chance(0.75):
                reason = LATE_REASONS[int(self.rng.random() * len(LATE_REASONS))]
            opinion = OPINIONS[int(self.rng.random() * len(OPINIONS))]
            self.emit(
                replied,
                "consultation_answered",
                f"{agency.lower()}.officer",
                {"agency": agency, "number": number, "late": late, "late_reason": reason},
                (number, replied, opinion, reason),
            )
        elif closing is not None and closing == self.withdrawn_at:
            self.emit(
                closing,
                "consultation_cancelled",
                "system",
                {"agency": agency, "number": number},
                number,
            )

    def withdraw(self, asked: int, confirm_days: int) -> int:
        """A withdrawal and the head's confirmation (R6); when it was confirmed."""
        self.emit(
            asked,
            "withdrawal",
            self.officer,
            {"reason": "Công dân đề nghị rút hồ sơ", "application_ref": f"DRHS-{asked % 100000}"},
            "pending_confirmation",
        )
        confirmed = self.office_time(asked, confirm_days)
        self.withdrawn_at = confirmed
        self.emit(
            confirmed,
            "withdrawal_confirmed",
            self.head,
            {"signature_ref": f"KS-{confirmed % 1000000}"},
            "withdrawn",
        )
        return confirmed

    def refused_sos(
        self,
        asked: int,
        deadline: int,
        last: int,
        answers: list[tuple[int, str, int]],
        closing: int | None,
    ) -> None:
        """An SOS the rules refuse while opinions are awaited (R4), often once one is overdue."""
        end = last if closing is None else closing
        start = deadline if end > deadline and self.chance(0.6) else asked
        if end - start < 120:
            return
        at = start + 60 + int(self.rng.random() * (end - start - 120))
        awaited = [
            {"agency": agency, "deadline": to_datetime(deadline), "overdue": at > deadline}
            for _number, agency, replied in answers
            if replied > at
        ]
        action = ("stop", "stop", "supplement", "return")[int(self.rng.random() * 4)]
        docs = [self.p.documents[0]] if action == "supplement" else []
        command = SosRequest(
            actor=Actor(user_id=self.officer, agency=self.p.lead_agency, roles=[Role.OFFICER]),
            action=SosAction(action),
            reason=SOS_REASONS[action],
            missing_documents=docs,
        )
        refusal = refuse(Code.SOS_REJECTED_AWAITING_REPLIES, awaiting=awaited)
        via = "signal" if self.chance(0.1) else "update"
        detail = refusal_detail(command, Action.SOS.value, refusal, via)
        self.emit(at, "refused", self.officer, detail)

    def refused_after_close(self, closed: int, status: str) -> None:
        """Now and then an SOS on a closed dossier, refused by the API itself and appended
        after the workflow's last projection (`db.read_model.record_refusal_after_close`)."""
        if not self.chance(0.003):
            return
        at = closed + DAY + int(self.rng.random() * 9 * DAY)
        command = SosRequest(
            actor=Actor(user_id=self.officer, agency=self.p.lead_agency, roles=[Role.OFFICER]),
            action=SosAction.STOP,
            reason=SOS_REASONS["stop"],
        )
        refusal = decide_after_close(status, Action.SOS, None)
        self.emit(
            at,
            "refused",
            self.officer,
            refusal_detail(command, Action.SOS.value, refusal, "api"),
            "after_close",
        )

    def close_abnormally(self, at: int, status: str) -> None:
        self.emit(
            at, "abnormal_close", "system", {"how": "cancelled", "status": status}, "abnormal"
        )

    def finish(self, running: int, ready: int) -> None:
        """After the opinions: maybe a stop, then the ending."""
        rng = self.rng
        u = rng.random()
        if u < 0.03:  # SOS stop, resumed some working days later (R11: the due date moves)
            stopped = self.office_time(ready, int(rng.random() * 3))
            self.run_clock(running, stopped, 0.3, stop_at_apology=False)
            self.emit(
                stopped,
                "sos_stop",
                self.officer,
                {"reason": SOS_REASONS["stop"], "missing_documents": []},
                "stopped",
            )
            resumed = self.office_time(stopped, 1 + int(rng.random() * 10))
            self.emit(
                resumed, "resume", self.officer, {"reason": "Đã có kết quả xác minh"}, "processing"
            )
            days = self.cal.between(stopped, resumed)
            self.stopped_days += days
            if self.due is not None:
                self.due_changed(resumed, "resume", self.cal.shift(self.due, days))
            running = ready = resumed
        v = rng.random()
        if v < 0.05:
            returned = self.office_time(ready, int(rng.random() * 5))
            self.run_clock(running, returned, 0.2, stop_at_apology=False)
            self.emit(
                returned,
                "sos_return",
                self.officer,
                {"reason": SOS_REASONS["return"], "missing_documents": []},
                "returned",
            )
            self.refused_after_close(returned, "returned")
        elif v < 0.068:
            asked = self.office_time(ready, int(rng.random() * 5))
            if self.chance(0.06):  # withdrawn without the head's confirmation (R6 breached)
                self.emit(
                    asked,
                    "withdrawal",
                    self.officer,
                    {
                        "reason": "Công dân đề nghị rút hồ sơ",
                        "application_ref": f"DRHS-{asked % 100000}",
                    },
                    "pending_confirmation",
                )
                closed = self.office_time(asked, 1 + int(rng.random() * 3))
                self.run_clock(running, closed, 0.2, stop_at_apology=False)
                self.emit(closed, None, "", {}, "withdrawn")
                return
            confirmed = self.withdraw(asked, int(rng.random() * 3))
            self.run_clock(running, confirmed, 0.2, stop_at_apology=False)
            self.refused_after_close(confirmed, "withdrawn")
        elif v < 0.069:
            at = self.office_time(ready, int(rng.random() * 10))
            self.run_clock(running, at, 0.2, stop_at_apology=False)
            self.close_abnormally(at, "processing")
        else:
            self.complete(running, ready)

    def complete(self, running: int, ready: int) -> None:
        """The result and its handover: early, on the due day or late (R11)."""
        rng = self.rng
        plan = rng.random()
        apology_share = 0.4 if plan >= 0.9 else 0.0
        result, handover = self.plan_result(ready, plan)
        again = self.run_clock(running, result, apology_share, stop_at_apology=True)
        if again is not None:  # apologised: most then finish by the new date
            plan = rng.random() * 0.9 if self.chance(0.75) else 0.95
            result, handover = self.plan_result(max(ready, again), plan)
            self.run_clock(again, result, 0.0, stop_at_apology=False)
        if not self.chance(0.0005):  # R5 breached: handed over without a result
            outcome = "approved" if self.chance(0.93) else "denied"
            self.emit(
                result,
                "result",
                self.officer,
                {
                    "outcome": outcome,
                    "document_no": f"{result % 9973}/{self.world.year}/{self.p.lead_agency}",
                },
                "result_ready",
            )
        received_by = None if self.chance(0.2) else "Người nộp hồ sơ"
        self.emit(handover, "handover", self.officer, {"received_by": received_by}, "completed")
        self.refused_after_close(handover, "completed")

    def plan_result(self, ready: int, plan: float) -> tuple[int, int]:
        """When the result is recorded and handed over: before the due day (plan < 0.62), on it
        (< 0.9), or after it."""
        cal, rng = self.cal, self.rng
        assert self.due is not None
        due_day = local_day(self.due)
        ready_day = cal.add(local_day(ready), 0)  # a working day
        if ready < self.due and plan < 0.9:
            first, last = cal.working_index(ready_day), cal.working_index(due_day)
            if plan < 0.62 and last - first >= 1:
                span = last - first  # handed over on a working day before the due day
                day = cal.by_index[first + int(rng.random() * span) - cal.first_index]
            else:
                day = due_day
            handover = max(at_local(day, OPENS + HOUR + int(rng.random() * 7 * HOUR)), ready + 600)
            handover = (
                min(handover, at_local(day, CLOSES - 300)) if handover < self.due else handover
            )
            result = max(ready + 60, handover - int(rng.random() * 4 * HOUR) - 60)
            return result, max(handover, result + 60)
        late = 1 + min(12, int(-math.log(1 - rng.random()) * 3))
        result = self.office_time(max(ready, self.due), late)
        handover = self.office_time(result, 0 if self.chance(0.7) else 1 + int(rng.random() * 3))
        return result, handover

    # reading the life back as rows
    def rows(
        self, code: str, received: int, applicant: str, phone: str | None, search: str
    ) -> tuple[tuple[Any, ...], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """The dossier's row, its consultations' and its events' as the projection last wrote
        them before `World.now`."""
        now = self.world.now
        # A stable sort: events of one instant keep the order the domain records them in.
        kept = [e for e in sorted(self.events, key=lambda e: e[0]) if e[0] <= now]
        phase, due, late = "processing", None, False
        completed = closed = None
        withdrawal = abnormal = None
        answers: dict[int, tuple[str, int, str, str | None]] = {}
        cancelled: set[int] = set()
        reminders: dict[int, list[tuple[int, int]]] = {}
        requested = 0
        events: list[tuple[Any, ...]] = []
        version, projected = 0, received
        for at, kind, actor, detail, data in kept:
            if kind is not None:
                events.append((code, len(events) + 1, to_datetime(at), kind, actor, detail))
            if data == "after_close":
                continue  # appended by the API: the row does not see it
            version, projected = len(events), at
            if kind in ("received", "due_changed"):
                due = data
            elif kind == "consultation_requested":
                requested = data
            elif kind == "consultation_answered":
                number, replied, opinion, reason = data
                outcome = (
                    "answered_late" if replied > self.consultations[number - 1][2] else "answered"
                )
                answers[number] = (outcome, replied, opinion, reason)
            elif kind in ("reminder_1", "reminder_2"):
                reminders.setdefault(data[0], []).append((data[1], at))
            elif kind == "consultation_cancelled":
                cancelled.add(data)
            elif data == "late":
                late = True
            elif data == "pending_confirmation":
                withdrawal = "pending_confirmation"
            elif data == "withdrawn":
                phase, closed = "withdrawn", at
                if kind == "withdrawal_confirmed":
                    withdrawal = "confirmed"
            elif data in ("returned", "completed"):
                phase, closed = data, at
                if data == "completed":
                    completed = at
            elif data == "abnormal":
                abnormal, closed = "cancelled", at
            elif isinstance(data, str):
                phase = data
        consultations = []
        open_ = False
        for number in range(1, requested + 1):
            agency, content, deadline, asked = self.consultations[number - 1]
            answer = answers.get(number)
            if answer is not None:
                status, replied, opinion, reason = answer
            else:
                replied, opinion, reason = None, None, None
                if number in cancelled:
                    status = ConsultationStatus.CANCELLED.value
                else:
                    open_ = True
                    overdue = projected > deadline
                    status = (
                        ConsultationStatus.OVERDUE if overdue else ConsultationStatus.AWAITING
                    ).value
            sent = reminders.get(number, [])
            levels = {level: at for level, at in sent}
            consultations.append(
                (
                    code, number, agency, content, to_datetime(deadline), status,
                    to_datetime(asked), to_datetime(replied) if replied else None, opinion, reason,
                    json.dumps([
                        {"level": level, "sent_at": iso_z(at),
                         "cc": [self.world.home_affairs] if level == 2 else []}
                        for level, at in sent
                    ]),
                    to_datetime(levels[1]) if 1 in levels else None,
                    to_datetime(levels[2]) if 2 in levels else None,
                )
            )  # fmt: skip
        status = DossierStatus.CONSULTING.value if phase == "processing" and open_ else phase
        p = self.p
        dossier = (
            code, p.code, p.name, p.lead_agency, applicant, phone, search, status,
            BY_STATUS[status],
            to_datetime(received), to_datetime(due) if due is not None else None,
            to_datetime(completed) if completed else None, to_datetime(closed) if closed else None,
            late, withdrawal, abnormal, version, to_datetime(projected + TIMER_LAG),
            self.desk or p.lead_agency,
        )  # fmt: skip
        return dossier, consultations, events


# --- a day of receipts, a chunk of days ---------------------------------------------------------


@dataclass
class Rows:
    dossiers: list[tuple[Any, ...]] = field(default_factory=list)
    consultations: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    counters: list[tuple[Any, ...]] = field(default_factory=list)


def applicant_of(rng: random.Random) -> tuple[str, str | None, str]:
    """An applicant as the projection stores it (`Applicant.model_dump(mode="json")`), and the
    compacted phone of the citizens' look-up, and the name folded for the inbox's search."""
    pick = rng.random
    name = f"{FAMILY[int(pick() * 11)]} {MIDDLE[int(pick() * 10)]} {GIVEN[int(pick() * 20)]}"
    digits = f"09{int(pick() * 1e8):08d}"
    phone = digits if pick() < 0.7 else f"{digits[:4]} {digits[4:7]} {digits[7:]}"
    applicant = {
        "name": name,
        "phone": phone,
        "email": f"nguoinop.{digits[2:]}@example.vn" if pick() < 0.4 else None,
        "id_number": f"075{int(pick() * 1e9):09d}",
        "address": f"{PLACES[int(pick() * len(PLACES))]}, Đồng Nai",
    }
    return to_json(applicant), compact_phone(phone), search_key(name)


def desk_of(world: World, rng: random.Random, procedure: ProcedureInfo) -> tuple[str | None, str]:
    """Where a dossier is received (Decree 118/2025): mostly at its lead agency (None), else at
    the provincial centre or at a commune's or ward's desk; with the unit its code is under."""
    draw = rng.random()
    if world.centre is not None and draw < AT_THE_CENTRE:
        desk = world.centre
    elif world.local_desks and draw < AT_THE_CENTRE + AT_A_LOCAL_DESK:
        desk = world.local_desks[int(rng.random() * len(world.local_desks))]
    else:
        return None, procedure.unit_id
    code, unit = desk
    return (None, procedure.unit_id) if code == procedure.lead_agency else (code, unit)


def generate_day(world: World, day: int, count: int, rows: Rows) -> None:
    """The `count` dossiers received on local `day`, with everything that happened to them."""
    rng = random.Random(f"{world.seed}:{day}")
    cal = world.calendar
    working = cal.is_working(day)
    receipts = []
    for _ in range(count):
        procedure = world.procedures[bisect.bisect(world.weights, rng.random() * world.weights[-1])]
        if working and rng.random() < 0.97:
            clock = OPENS + int(rng.random() * 10 * HOUR)
        else:  # online, at any hour
            clock = int(rng.random() * DAY) if working else 6 * HOUR + int(rng.random() * 17 * HOUR)
        received = at_local(day, clock)
        if received >= world.now:
            received = world.now - 60 - int(rng.random() * HOUR)
        receipts.append((received, procedure, desk_of(world, rng, procedure)))
    receipts.sort(key=lambda r: r[0])
    yymmdd = date.fromordinal(day + EPOCH_ORDINAL).strftime("%y%m%d")
    numbers: dict[str, int] = {}
    for received, procedure, (desk, unit) in receipts:
        # The code follows the receiving unit (db.dossier_codes): the desk's when one received it.
        number = numbers[unit] = numbers.get(unit, 0) + 1
        code = f"{unit}-{yymmdd}-{number:04d}"
        applicant, phone, search = applicant_of(rng)
        life = Life(world, rng, procedure, desk)
        life.draw(received)
        dossier, consultations, events = life.rows(code, received, applicant, phone, search)
        rows.dossiers.append(dossier)
        rows.consultations.extend(consultations)
        rows.events.extend(events)
    rows.counters.extend((unit, yymmdd, last) for unit, last in numbers.items())


def load_chunk(dsn: str, world: World, days: list[tuple[int, int]]) -> ChunkReport:
    """Generate the dossiers of `days` ((day, count) pairs) and COPY them in one transaction;
    run in a process of its own."""
    return asyncio.run(_load_chunk(dsn, world, days))


async def _load_chunk(dsn: str, world: World, days: list[tuple[int, int]]) -> ChunkReport:
    report = ChunkReport()
    started = time.perf_counter()
    rows = Rows()
    for day, count in days:
        generate_day(world, day, count, rows)
    report.generate_seconds = time.perf_counter() - started
    connection = await asyncpg.connect(dsn)
    try:
        async with connection.transaction():
            # Parents first: consultations and events name their dossier by foreign key.
            for table, columns, records in (
                ("dossiers", DOSSIER_COLUMNS, rows.dossiers),
                ("consultations", CONSULTATION_COLUMNS, rows.consultations),
                ("events", EVENT_COLUMNS, rows.events),
                ("dossier_code_counters", COUNTER_COLUMNS, rows.counters),
            ):
                copying = time.perf_counter()
                await connection.copy_records_to_table(table, records=records, columns=columns)
                report.copy_seconds[table] = time.perf_counter() - copying
                report.rows[table] = len(records)
    finally:
        await connection.close()
    return report


# --- the database --------------------------------------------------------------------------------


def dsn_of(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def _maintenance(url: URL) -> asyncpg.Connection:
    """A connection to the server outside the target database (CREATE/DROP DATABASE)."""
    error: Exception | None = None
    for database in ("postgres", "template1"):
        try:
            return await asyncpg.connect(dsn_of(url.set(database=database)), timeout=10)
        except (OSError, asyncpg.PostgresError) as exc:
            error = exc
    raise RuntimeError(f"cannot reach the PostgreSQL server of {url.render_as_string()}: {error}")


async def recreate_database(url: URL) -> None:
    connection = await _maintenance(url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
        await connection.execute(
            f"CREATE DATABASE \"{url.database}\" TEMPLATE template0 ENCODING 'UTF8'"
        )
    finally:
        await connection.close()


async def drop_database(url: str) -> None:
    parsed = parse_url(url)
    connection = await _maintenance(parsed)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
    finally:
        await connection.close()


def head_revision(url: str) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


async def read_marker(url: str) -> dict[str, Any] | None:
    """What the seeder recorded in the database's comment; None if the database is missing or
    was not seeded to the end."""
    parsed = parse_url(url)
    try:
        connection = await asyncpg.connect(dsn_of(parsed), timeout=10)
    except asyncpg.InvalidCatalogNameError:
        return None
    try:
        comment = await connection.fetchval(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database"
            " WHERE datname = current_database()"
        )
        revision = await connection.fetchval("SELECT version_num FROM alembic_version")
    except asyncpg.UndefinedTableError:
        return None
    finally:
        await connection.close()
    try:
        marker = json.loads(comment or "{}").get(MARKER_KEY)
    except ValueError:
        return None
    if not isinstance(marker, dict):
        return None
    return {**marker, "revision": revision}


async def write_marker(url: str, marker: dict[str, Any]) -> None:
    parsed = parse_url(url)
    connection = await asyncpg.connect(dsn_of(parsed))
    try:
        text = json.dumps({MARKER_KEY: marker}).replace("'", "''")
        await connection.execute(f"COMMENT ON DATABASE \"{parsed.database}\" IS '{text}'")
    finally:
        await connection.close()


async def load_world(url: str, seed: int, year: int) -> World:
    """The catalogue and the calendar as `db.migrate` wrote them into the database."""
    connection = await asyncpg.connect(dsn_of(parse_url(url)))
    try:
        agencies = await connection.fetch(
            "SELECT code, kind, unit_id, active, one_stop_desk FROM agencies ORDER BY code"
        )
        procedures = await connection.fetch(
            "SELECT code, name, lead_agency, processing_days, max_consultation_days,"
            " required_documents FROM procedures ORDER BY code"
        )
        days = await connection.fetch(
            "SELECT day, working, working_index FROM calendar_days"
            " WHERE day BETWEEN $1 AND $2 ORDER BY day",
            date(year - 1, 1, 1),
            date(year + 2, 12, 31),
        )
    finally:
        await connection.close()
    units = {a["code"]: a["unit_id"] for a in agencies}
    active = [a for a in agencies if a["active"]]  # the abolished districts: no new dossier
    consultable = [a["code"] for a in active if a["kind"] == "department"]
    local = [a for a in active if a["kind"] in ("commune", "ward")]
    # The one-stop desks as `domain.catalogue.is_one_stop_desk` has them.
    centre = next((a for a in active if a["kind"] == "public_admin_center"), None)
    local_desks = [(a["code"], a["unit_id"]) for a in local if a["one_stop_desk"] is not None]
    home_affairs = next(a["code"] for a in agencies if a["kind"] == "home_affairs")
    rng = random.Random(f"{seed}:catalogue")
    infos = []
    may_consult = {*consultable, *(a["code"] for a in local)}
    leading = {a["code"] for a in active}
    for p in procedures:
        if p["lead_agency"] not in leading:
            continue  # an abolished district's: its dossiers received before 1 July 2025 only
        usual = [a for a in USUALLY_CONSULTED.get(p["code"], []) if a in may_consult]
        others = [a for a in consultable if a != p["lead_agency"] and a not in usual]
        usual = [a for a in usual if a != p["lead_agency"]]
        usual += rng.sample(others, max(0, 6 - len(usual)))
        infos.append(
            ProcedureInfo(
                code=p["code"],
                name=p["name"],
                lead_agency=p["lead_agency"],
                unit_id=units[p["lead_agency"]],
                processing_days=p["processing_days"],
                max_consultation_days=p["max_consultation_days"],
                documents=json.loads(p["required_documents"]) or ["Đơn đề nghị"],
                consulted=usual,
            )
        )
    cumulative, total = [], 0.0
    for info in infos:
        total += PROCEDURE_WEIGHTS.get(info.code, 1.0)
        cumulative.append(total)
    now = at_local(date(year, 12, 31).toordinal() - EPOCH_ORDINAL, CLOSES)
    return World(
        seed=seed,
        year=year,
        now=now,
        calendar=Calendar.from_rows([(r["day"], r["working"], r["working_index"]) for r in days]),
        procedures=infos,
        weights=cumulative,
        agencies=consultable,
        local=[a["code"] for a in local],
        centre=(centre["code"], centre["unit_id"]) if centre is not None else None,
        local_desks=local_desks,
        home_affairs=home_affairs,
    )


def daily_counts(world: World, dossiers: int) -> list[tuple[int, int]]:
    """How many dossiers each day of the year receives: working days alike, a little more as
    the year goes on; a trickle online on days off. Sums to `dossiers` exactly."""
    first = date(world.year, 1, 1).toordinal() - EPOCH_ORDINAL
    last = date(world.year, 12, 31).toordinal() - EPOCH_ORDINAL
    weights = []
    for day in range(first, last + 1):
        month = date.fromordinal(day + EPOCH_ORDINAL).month
        weights.append((0.9 + month / 60) if world.calendar.is_working(day) else 0.04)
    total = sum(weights)
    exact = [dossiers * w / total for w in weights]
    counts = [int(x) for x in exact]
    # The remainder to the days with the largest fractions, so the sum is exact.
    for i in sorted(range(len(exact)), key=lambda i: counts[i] - exact[i])[
        : dossiers - sum(counts)
    ]:
        counts[i] += 1
    return [(first + i, n) for i, n in enumerate(counts) if n]


def chunks_of(days: list[tuple[int, int]], size: int) -> list[list[tuple[int, int]]]:
    chunks: list[list[tuple[int, int]]] = [[]]
    filled = 0
    for day, count in days:
        if filled >= size:
            chunks.append([])
            filled = 0
        chunks[-1].append((day, count))
        filled += count
    return chunks


# --- the command ----------------------------------------------------------------------------------


@dataclass
class SeedReport:
    rows: dict[str, int]
    copy_seconds: dict[str, float]
    generate_seconds: float
    load_seconds: float  # generating and copying, all processes together, wall clock
    vacuum_seconds: float
    seconds: float = 0.0  # everything, totals included, wall clock
    totals: bool = False  # whether the report totals were built


@dataclass(frozen=True)
class TotalsOptions:
    """How the report totals are rebuilt: a rebuild that runs away must not hold the benchmark
    for ever, and `work_mem` is the setting its plans over a year of rows depend on."""

    timeout: float = 300.0  # seconds per statement
    work_mem: str | None = None  # e.g. "256MB"; None: the server's


class TotalsNotBuilt(RuntimeError):
    """The rebuild was cancelled by its timeout; the database has no totals."""


async def rebuild_totals(url: str, options: TotalsOptions) -> float:
    """`db.report_totals.rebuild_report_totals` over the loaded rows (COPY bypasses the
    projections that keep them); its duration in seconds. TotalsNotBuilt on the timeout."""
    engine = create_engine(url)
    try:
        started = time.perf_counter()
        async with session_factory(engine)() as session:
            connection = await session.connection()
            timeout_ms = int(options.timeout * 1000)
            await connection.exec_driver_sql(f"SET LOCAL statement_timeout = {timeout_ms}")
            if options.work_mem:
                await connection.exec_driver_sql(f"SET LOCAL work_mem = '{options.work_mem}'")
            try:
                await rebuild_report_totals(session)
            except DBAPIError as error:
                if isinstance(error.orig, Exception) and "statement timeout" in str(error.orig):
                    raise TotalsNotBuilt(
                        f"a statement of rebuild_report_totals ran over {options.timeout:.0f} s"
                        f" (work_mem {options.work_mem or 'of the server'}); no totals built"
                    ) from None
                raise
            await session.commit()
        return time.perf_counter() - started
    finally:
        await engine.dispose()


async def build_totals(url: str, options: TotalsOptions, echo: Callable[[str], None]) -> bool:
    """Rebuild the totals, then VACUUM ANALYZE again (the rebuild rewrote every row it marked
    counted); whether the database now has them."""
    try:
        took = await rebuild_totals(url, options)
    except TotalsNotBuilt as error:
        echo(f"WARNING: {error}")
        return False
    echo(f"report totals rebuilt in {took:.1f} s; VACUUM ANALYZE {await vacuum(url):.1f} s")
    return True


async def vacuum(url: str) -> float:
    """VACUUM (ANALYZE): fresh statistics for the planner, and the visibility map a settled
    database has (autovacuum's work), so that index-only scans need not visit the heap."""
    connection = await asyncpg.connect(dsn_of(parse_url(url)))
    try:
        started = time.perf_counter()
        await connection.execute("VACUUM (ANALYZE)")
        return time.perf_counter() - started
    finally:
        await connection.close()


def marker_for(dossiers: int, seed: int, year: int) -> dict[str, Any]:
    return {"dossiers": dossiers, "seed": seed, "year": year, "generator": GENERATOR_VERSION}


async def seed_database(
    url: str,
    *,
    dossiers: int,
    seed: int,
    year: int,
    jobs: int = 2,
    chunk: int = 50_000,
    totals: TotalsOptions = TotalsOptions(),
    echo: Callable[[str], None] = print,
) -> SeedReport:
    """Drop and recreate the database at `url`, prepare it, load a year of `dossiers`, build
    the report totals, and mark the database as seeded."""
    started = time.perf_counter()
    parsed = parse_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"the report benchmark seeds PostgreSQL only, not {parsed.drivername}")
    await recreate_database(parsed)
    await prepare(url)
    world = await load_world(url, seed, year)
    chunks = chunks_of(daily_counts(world, dossiers), chunk)
    echo(
        f"seeding {dossiers:,} dossiers of {year} (seed {seed}) into {parsed.database}: "
        f"{len(chunks)} chunks, {jobs} processes"
    )
    loading = time.perf_counter()
    rows: dict[str, int] = {}
    copy_seconds: dict[str, float] = {}
    generate = 0.0
    loop = asyncio.get_running_loop()
    # spawn, not fork: the parent runs an event loop and the migration's threads.
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        pending = [
            loop.run_in_executor(pool, load_chunk, dsn_of(parsed), world, days) for days in chunks
        ]
        for done, future in enumerate(asyncio.as_completed(pending), 1):
            chunk_report = await future
            generate += chunk_report.generate_seconds
            for table, n in chunk_report.rows.items():
                rows[table] = rows.get(table, 0) + n
                copy_seconds[table] = (
                    copy_seconds.get(table, 0.0) + chunk_report.copy_seconds[table]
                )
            if done % max(1, len(chunks) // 10) == 0 or done == len(chunks):
                echo(
                    f"  {done}/{len(chunks)} chunks, {rows['dossiers']:,} dossiers, "
                    f"{time.perf_counter() - loading:.0f} s"
                )
    report = SeedReport(
        rows=rows,
        copy_seconds=copy_seconds,
        generate_seconds=generate,
        load_seconds=time.perf_counter() - loading,
        vacuum_seconds=await vacuum(url),
    )
    print_load(report, echo)
    report.totals = await build_totals(url, totals, echo)
    await write_marker(url, {**marker_for(dossiers, seed, year), "totals": report.totals})
    report.seconds = time.perf_counter() - started
    echo(f"seeded in {report.seconds:.1f} s")
    return report


async def ensure_seeded(
    url: str,
    *,
    dossiers: int,
    seed: int,
    year: int,
    reseed: bool = False,
    jobs: int = 2,
    totals: TotalsOptions = TotalsOptions(),
    echo: Callable[[str], None] = print,
) -> SeedReport | None:
    """Seed unless the database already holds this seed at the current schema revision; None
    when it was reused. A reused database whose totals were never built gets them now."""
    marker = None if reseed else await read_marker(url)
    wanted = marker_for(dossiers, seed, year)
    if (
        marker is not None
        and all(marker.get(k) == v for k, v in wanted.items())
        and marker.get("revision") == head_revision(url)
    ):
        echo(f"reusing {parse_url(url).database}: {dossiers:,} dossiers of {year}, seed {seed}")
        if not marker.get("totals") and await build_totals(url, totals, echo):
            await write_marker(url, {**wanted, "totals": True})
        return None
    return await seed_database(
        url, dossiers=dossiers, seed=seed, year=year, jobs=jobs, totals=totals, echo=echo
    )


def print_load(report: SeedReport, echo: Callable[[str], None] = print) -> None:
    echo(f"{'table':<24}{'rows':>12}{'COPY s':>9}{'rows/s':>11}")
    for table, n in report.rows.items():
        took = report.copy_seconds[table]
        echo(f"{table:<24}{n:>12,}{took:>9.1f}{n / took if took else 0:>11,.0f}")
    total = sum(report.rows.values())
    echo(
        f"loaded {total:,} rows in {report.load_seconds:.1f} s "
        f"({total / report.load_seconds:,.0f} rows/s); CPU over the processes: generating "
        f"{report.generate_seconds:.1f} s, COPY {sum(report.copy_seconds.values()):.1f} s; "
        f"VACUUM ANALYZE {report.vacuum_seconds:.1f} s"
    )


def add_totals_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--totals-timeout", type=float, default=300.0, help="seconds per rebuild statement"
    )
    parser.add_argument("--totals-work-mem", help="work_mem of the rebuild, e.g. 256MB")


def totals_options(args: argparse.Namespace) -> TotalsOptions:
    return TotalsOptions(timeout=args.totals_timeout, work_mem=args.totals_work_mem)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.seed_reports", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--seed", type=int, default=448)
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--jobs", type=int, default=2, help="generating and copying processes")
    parser.add_argument("--chunk", type=int, default=50_000, help="dossiers per transaction")
    add_totals_arguments(parser)
    args = parser.parse_args(argv)
    asyncio.run(
        seed_database(
            args.database_url,
            dossiers=args.dossiers,
            seed=args.seed,
            year=args.year,
            jobs=args.jobs,
            chunk=args.chunk,
            totals=totals_options(args),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())


def seeded_bench_parser(
    prog: str, description: str, *, dossiers: int, runs: int, database_url: str
) -> argparse.ArgumentParser:
    """The options every benchmark over a seeded read model takes (bench.pages, bench.reads)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--dossiers", type=int, default=dossiers)
    parser.add_argument("--runs", type=int, default=runs)
    parser.add_argument("--reseed", action="store_true", help="seed even if already seeded")
    parser.add_argument("--database-url", default=database_url)
    parser.add_argument("--seed", type=int, default=448)
    parser.add_argument("--year", type=int, default=2026)
    return parser
