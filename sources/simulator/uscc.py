"""Unified social credit codes (统一社会信用代码, GB 32100-2015): build, check, and mistype."""

from __future__ import annotations

import numpy as np

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUE = {ch: i for i, ch in enumerate(CHARSET)}

# Organisation code (GB 11714, positions 9-17): 8 body characters and a mod-11 check.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_BODY = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def check_digit(first17: str) -> str:
    """The 18th character for the first 17: (31 - sum(value * weight) % 31) % 31."""
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def is_valid(code: str) -> bool:
    """True when `code` is 18 characters over the charset with a correct check digit."""
    if len(code) != 18 or any(ch not in _VALUE for ch in code):
        return False
    return check_digit(code[:17]) == code[17]


def _org_code(rng: np.random.Generator) -> str:
    body = "".join(_ORG_BODY[i] for i in rng.integers(0, 10, size=8))
    total = sum(int(ch) * w for ch, w in zip(body, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return body + ("X" if check == 10 else "0" if check == 11 else str(check))


def make(prefix: str, division: str, rng: np.random.Generator) -> str:
    """A valid code: 2-char registration authority/type (91 firm, 12 public institution),
    6-digit administrative division, 9-char organisation code, check digit."""
    first17 = prefix + division + _org_code(rng)
    return first17 + check_digit(first17)


def mistype(code: str, rng: np.random.Generator) -> str:
    """A plausible keying error that always fails the check digit."""
    while True:
        chars = list(code)
        kind = int(rng.integers(0, 3))
        pos = int(rng.integers(2, 17))
        if kind == 0:  # swap two neighbours
            chars[pos], chars[pos + 1] = chars[pos + 1], chars[pos]
        elif kind == 1:  # wrong character
            chars[pos] = CHARSET[int(rng.integers(0, 31))]
        else:  # look-alike letters typed for digits, or a character dropped
            swaps = {"0": "O", "1": "I", "8": "B", "5": "S", "2": "Z"}
            ch = chars[pos]
            if ch in swaps:
                chars[pos] = swaps[ch]
            else:
                del chars[pos]
        bad = "".join(chars)
        if bad != code and not is_valid(bad):
            return bad
