"""dev/province_units.py on tiny archives built here, in the package's layout: a wheel (zip)
and an sdist (tar.gz) holding a made-up Đồng Nai of 95 units, and lists the resolution refutes."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest

from dev import province_units
from domain.catalogue import parse_catalogue

INIT = "__version__ = '2099.1.1'\n__data_version__ = '2099-01-02'\n"


def units(communes: int = 72, wards: int = 23) -> list[dict[str, Any]]:
    """Made-up units, the first ward the centre; two communes whose names read alike in ASCII."""
    made = [("phường", "Trấn Biên")] + [("phường", f"Phường Số {i}") for i in range(1, wards)]
    made += [("xã", "Lộc Thành"), ("xã", "Lộc Thạnh")]
    made += [("xã", f"Xã Số {i}") for i in range(1, communes - 1)]
    return [
        {
            "name": f"{kind.capitalize()} {place}",
            "code": 26000 + i,
            "codename": "x",
            "division_type": kind,
            "short_codename": "x",
        }
        for i, (kind, place) in enumerate(made)
    ]


def data(wards: list[dict[str, Any]]) -> bytes:
    provinces = [
        {"name": "Thành phố Hà Nội", "code": 1, "division_type": "thành phố", "wards": []},
        {"name": "Đồng Nai", "code": 75, "division_type": "tỉnh", "wards": wards},
    ]
    return json.dumps(provinces, ensure_ascii=False).encode()


def wheel(path: Path, payload: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("vietnam_provinces/__init__.py", INIT)
        archive.writestr(province_units.DATA_FILE, payload)
    return path


def sdist(path: Path, payload: bytes) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, content in (
            ("vietnam_provinces/__init__.py", INIT.encode()),
            (province_units.DATA_FILE, payload),
        ):
            info = tarfile.TarInfo(f"vietnam_provinces-2099.1.1/{name}")
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return path


@pytest.mark.parametrize("build", [wheel, sdist], ids=["wheel", "sdist"])
def test_generates_the_units_with_their_source(build: Any, tmp_path: Path) -> None:
    payload = data(units())
    archive = build(tmp_path / f"vp.{build.__name__}", payload)
    output = tmp_path / "units.toml"

    written = province_units.generate(archive, output, generated="2099-01-03")

    assert len(written) == 95
    text = output.read_text(encoding="utf-8")
    assert f"sha256       {hashlib.sha256(archive.read_bytes()).hexdigest()}" in text
    assert f"sha256       {hashlib.sha256(payload).hexdigest()}" in text
    assert "vietnam-provinces 2099.1.1" in text and "data date    2099-01-02" in text
    assert "95 units: 72 communes, 23 wards" in text
    agencies = tomllib.loads(text)["agency"]
    by_code = {a["code"]: a for a in agencies}
    assert by_code["UBND-PHUONG-TRANBIEN"] == {
        "code": "UBND-PHUONG-TRANBIEN",
        "name": "Ủy ban nhân dân phường Trấn Biên",
        "kind": "ward",
        "unit_id": "260.00.00.H19",
        "one_stop_desk": "Trung tâm Phục vụ hành chính công phường Trấn Biên",
    }
    assert {"UBND-XA-LOCTHANH-26023", "UBND-XA-LOCTHANH-26024"} <= set(by_code)
    # the file is a valid part of a catalogue
    main = 'include = ["units.toml"]\n[[agency]]\ncode = "SNV"\nname = "Sở Nội vụ"\n'
    main += 'kind = "home_affairs"\nunit_id = "000.00.02.H19"\n'
    catalogue = parse_catalogue(main, lambda name: (tmp_path / name).read_text(encoding="utf-8"))
    assert len(catalogue.agencies) == 96


@pytest.mark.parametrize(
    ("wards", "message"),
    [
        (units(communes=71), "expected"),
        (units(wards=24), "expected"),
        ([u for u in units() if "Trấn Biên" not in u["name"]] + units()[1:2], "Trấn Biên"),
    ],
    ids=["71-communes", "24-wards", "no-centre"],
)
def test_refuses_a_list_that_is_not_the_resolutions(
    wards: list[dict[str, Any]], message: str, tmp_path: Path
) -> None:
    archive = wheel(tmp_path / "vp.whl", data(wards))
    with pytest.raises(SystemExit, match=message):
        province_units.generate(archive, tmp_path / "units.toml")
    assert not (tmp_path / "units.toml").exists()
