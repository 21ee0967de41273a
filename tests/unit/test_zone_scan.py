"""The byte scan that keeps files with zone abbreviations off the loader's direct path."""

import io

import pytest

from sources.loader.reading import _Landing
from sources.loader.zones import ZoneWords, may_hold_zone_words

WORDS = ZoneWords(ambiguous=("CST", "EST", "IST", "BST"), aliases=(("BJT", "Asia/Shanghai"),))


def landing(data: bytes) -> _Landing:
    return _Landing("x/b/t.csv", "utf-8", ["a"], lambda: io.BytesIO(data))


@pytest.mark.parametrize(
    "value",
    [
        b"2024-03-01 09:30:00 CST",
        b"2024-03-01 09:30:00cst",
        b"Fri Mar 01 09:30:00 CST 2024",
        b"2024-03-01 BST",
        b"2024-03-01 09:30 (CST)",
        b"2024-03-01 09:30 BJT",  # mapped in the contract: still the careful path
    ],
)
def test_values_with_a_zone_abbreviation_are_found(value):
    assert may_hold_zone_words(landing(b"id,at\n1," + value + b"\n"), WORDS)


@pytest.mark.parametrize(
    "value",
    [
        b"2024-03-01T09:30:00+08:00",
        b"2024-03-01 09:30:00Z",
        b"2024-03-01 09:30:00 UTC",
        b"2024-03-01 09:30:00 Asia/Shanghai",
        b"CST Materials Ltd",  # a word not after a number
        b"T700SC 12K",
    ],
)
def test_offsets_zone_names_and_other_text_are_not(value):
    assert not may_hold_zone_words(landing(b"id,at\n1," + value + b"\n"), WORDS)


def test_an_abbreviation_across_a_read_boundary_is_found(monkeypatch):
    from sources.loader import zones

    monkeypatch.setattr(zones, "COPY_CHUNK", 16)
    data = b"id,at\n" + b"1,2024-03-01T09:30:00+08:00\n" * 3 + b"2,2024-03-01 09:30 CST\n"
    for pad in range(16):
        assert may_hold_zone_words(landing(b" " * pad + data), WORDS)
