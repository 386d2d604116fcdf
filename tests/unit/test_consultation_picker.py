"""The dossier page's consultation picker (issue 10): the agencies grouped by kind, provincial
bodies first, the wards' and communes' committees folded away, any other kind last; each group
by name as one reads it, Đ with D."""

from __future__ import annotations

from service.dossier_page import AgencyGroup, grouped_by_kind


def test_agencies_grouped_by_kind_sorted_by_name_diacritics_aside() -> None:
    groups = grouped_by_kind(
        [
            ("UBND-XA-DAKIA", "Ủy ban nhân dân xã Đak Lua", "commune"),
            ("UBND-XA-BUDANG", "Ủy ban nhân dân xã Bù Đăng", "commune"),
            ("UBND-XA-EA", "Ủy ban nhân dân xã Ea Súp", "commune"),
            ("UBND-ABC", "Ủy ban nhân dân huyện Mẫu", "district"),
            ("SYT", "Sở Y tế thành phố Đồng Nai", "department"),
            ("CAT", "Công an thành phố Đồng Nai", "department"),
            ("VPUBND", "Văn phòng Ủy ban nhân dân thành phố Đồng Nai", "ppc_office"),
        ]
    )

    assert groups == [
        AgencyGroup(
            "provincial",
            [
                ("CAT", "Công an thành phố Đồng Nai"),
                ("SYT", "Sở Y tế thành phố Đồng Nai"),
                ("VPUBND", "Văn phòng Ủy ban nhân dân thành phố Đồng Nai"),
            ],
        ),
        AgencyGroup(
            "communes",
            [
                ("UBND-XA-BUDANG", "Ủy ban nhân dân xã Bù Đăng"),
                ("UBND-XA-DAKIA", "Ủy ban nhân dân xã Đak Lua"),
                ("UBND-XA-EA", "Ủy ban nhân dân xã Ea Súp"),
            ],
            collapsed=True,
        ),
        AgencyGroup("others", [("UBND-ABC", "Ủy ban nhân dân huyện Mẫu")]),
    ]  # no ward: no group of wards


def test_no_agency_no_group() -> None:
    assert grouped_by_kind([]) == []
