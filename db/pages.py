"""Pages of a list read by keyset, written once: a list query asks for one row more than the page
holds (`beyond`), and that extra row says whether another page follows, without a COUNT; the
next page starts after the page's last row (`Page.last`), whose sort key the caller turns into
its cursor."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


def beyond(limit: int) -> int:
    """How many rows to ask for a page of `limit`: one more, to tell whether more follow."""
    return limit + 1


@dataclass(frozen=True)
class Page(Generic[T]):
    """At most `limit` rows of a list, and whether more follow them."""

    rows: list[T]
    more: bool

    @classmethod
    def of(cls, fetched: Sequence[T], limit: int) -> Page[T]:
        """The page in `fetched`, read with `beyond(limit)`."""
        return cls(list(fetched[:limit]), len(fetched) > limit)

    @property
    def last(self) -> T | None:
        """The row the next page starts after; None on the last page."""
        return self.rows[-1] if self.more and self.rows else None
