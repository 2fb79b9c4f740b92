"""Kubernetes resource quantities (``100m``, ``1.5``, ``64Mi``, ``1e3``, ``500n``) in the full
grammar of resource.Quantity, as exact decimals and as the integers components count in."""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

_QUANTITY = re.compile(
    r"^([+-]?)([0-9]+\.?[0-9]*|\.[0-9]+)"  # sign, then 1, 1., 1.5 or .5
    r"(?:(Ki|Mi|Gi|Ti|Pi|Ei)|[eE]([+-]?[0-9]+)|(n|u|m|k|M|G|T|P|E)?)$"
)
"""resource.Quantity's grammar: a signed decimal number, then a binary suffix, a decimal
exponent (``e3``, ``E-3``) or a decimal SI suffix."""
FORMAT_ERROR = ("quantities must match the regular expression "
                "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
"""kube-apiserver's words for a string that is not a quantity."""
_SUFFIX = {
    "": Decimal(1), "k": Decimal(10**3), "M": Decimal(10**6), "G": Decimal(10**9),
    "T": Decimal(10**12), "P": Decimal(10**15), "E": Decimal(10**18),
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"),
    "Ki": Decimal(2**10), "Mi": Decimal(2**20), "Gi": Decimal(2**30), "Ti": Decimal(2**40),
    "Pi": Decimal(2**50), "Ei": Decimal(2**60),
}
MAX_EXPONENT = 100
"""Largest decimal exponent taken (``1e100``): far past any amount a resource holds, and it
keeps a hostile ``1e999999999`` from costing anything."""


def parse_quantity(value: Any) -> Decimal:
    """The exact amount of a Kubernetes quantity (``"1.5Gi"``, ``"+1e3"``, ``".5"``,
    ``"100u"``, a JSON number); ValueError, worded as kube-apiserver words it, for anything
    else. Surrounding blanks are ignored, as Quantity's JSON decoding trims them."""
    if isinstance(value, bool) or not isinstance(value, int | float | str) or (
            isinstance(value, float) and not math.isfinite(value)):
        raise ValueError(FORMAT_ERROR)
    match = _QUANTITY.match(str(value).strip())
    if not match:
        raise ValueError(FORMAT_ERROR)
    sign, number, binary, exponent, decimal = match.groups()
    amount = Decimal(f"{sign}{number.rstrip('.')}")
    if exponent is None:
        return amount * _SUFFIX[binary or decimal or ""]
    if abs(int(exponent)) > MAX_EXPONENT:
        raise ValueError(FORMAT_ERROR)
    return amount.scaleb(int(exponent))


def parse_cpu(value: Any) -> int:
    """CPU in millicores: ``"250m"`` -> 250, ``"2"`` -> 2000."""
    return int((parse_quantity(value) * 1000).to_integral_value(rounding="ROUND_CEILING"))


def parse_memory(value: Any) -> int:
    """Memory in bytes: ``"64Mi"`` -> 67108864."""
    return int(parse_quantity(value).to_integral_value(rounding="ROUND_CEILING"))


def format_cpu(millis: int) -> str:
    """Millicores as Kubernetes writes them: 1500 -> ``1500m``, 2000 -> ``2``."""
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def format_memory(amount: int) -> str:
    """Bytes as Kubernetes writes them: the largest binary suffix that divides them."""
    for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        unit = int(_SUFFIX[suffix])
        if amount and amount % unit == 0:
            return f"{amount // unit}{suffix}"
    return str(amount)
