"""Pages of a keyset list (db.pages): one row more than the page is read to tell whether another
page follows; the next page starts after the page's last row."""

from __future__ import annotations

import pytest

from db.pages import Page, beyond


@pytest.mark.parametrize(
    ("fetched", "rows", "more", "last"),
    [
        ([1, 2, 3], [1, 2], True, 2),  # the extra row came: another page follows after 2
        ([1, 2], [1, 2], False, None),  # exactly a page: the last one
        ([1], [1], False, None),
        ([], [], False, None),
    ],
)
def test_a_page_reads_one_row_more_to_tell_whether_more_follow(
    fetched: list[int], rows: list[int], more: bool, last: int | None
) -> None:
    assert beyond(2) == 3
    page = Page.of(fetched, 2)
    assert (page.rows, page.more, page.last) == (rows, more, last)
