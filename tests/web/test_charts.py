"""The server-drawn bar charts' geometry (web.charts): pure arithmetic, no server."""

from __future__ import annotations

import pytest

from web.charts import LABEL_WIDTH, MIN_SCALE, Series, bar_chart, nice_step, shorten

TWO = [Series("Được chấp nhận", "accepted"), Series("Bị từ chối", "refused")]


@pytest.mark.parametrize(
    ("largest", "step"), [(0, 1), (6, 1), (7, 2), (12, 2), (13, 5), (40, 10), (1234, 500)]
)
def test_ticks_step_by_one_two_or_five_times_a_power_of_ten(largest: int, step: int) -> None:
    assert nice_step(largest) == step


def test_side_by_side_bars_share_the_scale_and_each_carries_its_number() -> None:
    drawn = bar_chart(
        key="c", title="t", description="d", value_axis="x", category_axis="y", series=TWO,
        categories=[("SXD", [3, 1]), ("STP", [0, 6])],
    )  # fmt: skip
    sxd, stp = drawn.bands
    assert [bar.x for bar in sxd.bars] == [LABEL_WIDTH, LABEL_WIDTH]
    assert sxd.bars[0].width == 3 * sxd.bars[1].width
    assert sxd.bars[1].y > sxd.bars[0].y  # one under the other in the band
    assert [n.value for n in sxd.numbers + stp.numbers] == [3, 1, 0, 6]
    assert stp.bars[1].x + stp.bars[1].width == drawn.plot_right  # the largest fills the axis
    assert [t.value for t in drawn.ticks] == [0, 1, 2, 3, 4, 5, 6]


def test_stacked_bars_follow_one_another_and_show_their_total() -> None:
    drawn = bar_chart(
        key="c", title="t", description="d", value_axis="x", category_axis="y", series=TWO,
        categories=[("CAT", [1, 2])], stacked=True,
    )  # fmt: skip
    (band,) = drawn.bands
    first, second = band.bars
    assert second.x == first.x + first.width and second.y == first.y
    assert [n.value for n in band.numbers] == [3]


def test_small_counts_are_drawn_on_an_axis_of_five_and_no_category_is_an_empty_chart() -> None:
    drawn = bar_chart(
        key="c", title="t", description="d", value_axis="x", category_axis="y", series=TWO,
        categories=[("CAT", [1, 0])],
    )  # fmt: skip
    assert drawn.ticks[-1].value == MIN_SCALE
    assert drawn.bands[0].bars[1].width == 0
    nothing = bar_chart(
        key="c", title="t", description="d", value_axis="x", category_axis="y", series=TWO,
        categories=[],
    )  # fmt: skip
    assert nothing.empty and nothing.height > 0
    with pytest.raises(ValueError, match="one value per series"):
        bar_chart(
            key="c", title="t", description="d", value_axis="x", category_axis="y", series=TWO,
            categories=[("CAT", [1])],
        )  # fmt: skip


def test_long_names_are_cut_with_an_ellipsis() -> None:
    assert shorten("Sở Nông nghiệp và Môi trường thành phố Đồng Nai", 20) == "Sở Nông nghiệp và M…"
    assert shorten("Sở Tư pháp", 20) == "Sở Tư pháp"
