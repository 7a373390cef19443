"""How the report's tables print values: dashes for missing ones, fixed digits, thousands, best / second-best marks.

Pure text formatting, shared by every table module; nothing here reads a frame or the store.
"""

from __future__ import annotations

import math

from srbench.report.render import BEST, SECOND

DASH = "—"


def ok(v) -> bool:
    """True for a value that can be printed (not None, not NaN)."""
    return v is not None and not (isinstance(v, float) and math.isnan(v))


def num(v):
    """``v`` as a float, or None when it is not a number."""
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def fmt(v, digits: int) -> str:
    return f"{v:.{digits}f}" if ok(v) else DASH


def fmt_params(p) -> str:
    """Parameters in thousands as papers print them (``1,592K``); dash for none (bicubic)."""
    return f"{p / 1e3:,.0f}K" if ok(p) and p > 0 else DASH


def fmt_g(g) -> str:
    return f"{g:.1f}G" if ok(g) and g > 0 else DASH


def fmt_count(v) -> str:
    """An integer count with thousands separators (``694,555``); dash for none or zero."""
    return f"{int(v):,}" if ok(v) and v > 0 else DASH


def pm(mean, std, digits: int) -> str:
    """``mean ± std`` (just the mean where there is no spread; a dash where there is no mean)."""
    if not ok(mean):
        return DASH
    return f"{mean:.{digits}f}" + (f" ± {std:.{digits}f}" if ok(std) else "")


def marks(values: list, digits: int) -> list[str | None]:
    """Best / second-best marks on the values as printed (rounded to ``digits``); missing values get none, and a
    column with fewer than two values is not marked (there is nothing to compare)."""
    printed = [round(v, digits) if ok(v) else None for v in values]
    if sum(v is not None for v in printed) < 2:
        return [None] * len(printed)
    distinct = sorted({v for v in printed if v is not None}, reverse=True)
    best = distinct[0] if distinct else None
    second = distinct[1] if len(distinct) > 1 else None
    return [BEST if v is not None and v == best else SECOND if v is not None and v == second else None
            for v in printed]


def ci_record(prefix: str, ci) -> dict:
    """The CSV fields of a confidence interval (None where there is none): ``<prefix>_delta``, ``_ci_low`` and
    ``_ci_high``."""
    if ci is None:
        return {f"{prefix}_delta": None, f"{prefix}_ci_low": None, f"{prefix}_ci_high": None}
    return {f"{prefix}_delta": ci.mean, f"{prefix}_ci_low": ci.low, f"{prefix}_ci_high": ci.high}
