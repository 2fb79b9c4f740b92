"""Kubernetes resource quantities (``100m``, ``1.5``, ``64Mi``, ``1G``) as integers."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([a-zA-Z]*)$")
_SUFFIX = {
    "": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}


def _parse(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a quantity")
    if isinstance(value, int | float):
        amount = Decimal(str(value))
        if not amount.is_finite():
            raise ValueError(f"{value!r} is not a finite quantity")
        return amount
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a quantity")
    match = _QUANTITY.match(value.strip())
    if not match:
        raise ValueError(f"{value!r}: quantities must match '^[0-9.]+[suffix]$'")
    number, suffix = match.groups()
    if suffix == "m":
        return Decimal(number) / 1000
    if suffix not in _SUFFIX:
        raise ValueError(f"{value!r}: unknown suffix {suffix!r}")
    try:
        return Decimal(number) * _SUFFIX[suffix]
    except InvalidOperation as error:
        raise ValueError(f"{value!r} is not a quantity") from error


def parse_cpu(value: Any) -> int:
    """CPU in millicores: ``"250m"`` -> 250, ``"2"`` -> 2000."""
    return int((_parse(value) * 1000).to_integral_value(rounding="ROUND_CEILING"))


def parse_memory(value: Any) -> int:
    """Memory in bytes: ``"64Mi"`` -> 67108864."""
    return int(_parse(value).to_integral_value(rounding="ROUND_CEILING"))


def format_cpu(millis: int) -> str:
    """Millicores as Kubernetes writes them: 1500 -> ``1500m``, 2000 -> ``2``."""
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def format_memory(amount: int) -> str:
    """Bytes as Kubernetes writes them: the largest binary suffix that divides them."""
    for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        if amount and amount % _SUFFIX[suffix] == 0:
            return f"{amount // _SUFFIX[suffix]}{suffix}"
    return str(amount)
