"""Study drug exposure (form EX): compliance, relative dose intensity and the dose rules.

Pure Python (no Django). Sources: protocol.md "Parameters" (treatment: 12 mg once daily on days
1-14 of each 21-day cycle; dose levels 12 → 10 → 8 mg, below 8 mg the drug is stopped) and
crf-spec EX (EXDOSE never higher than the previous cycle's; EXRED = Y exactly when EXDOSE is lower
than the previous cycle's; EXDAYS 0-14; EXRET 0-EXDISP).

Ratios are Decimal fractions (1 = 100 %), computed in a fixed 28-digit context so that a result
does not depend on the caller's decimal context; they are rounded only by ``as_percent``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal

from study.protocol import DOSE_LEVELS_MG, DOSING_DAYS_PER_CYCLE, STARTING_DOSE_MG

# Division is the only inexact step (13/14); a fixed context makes it reproducible.
_CONTEXT = Context(prec=28, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class CycleExposure:
    """One cycle's EX form: EXDOSE (mg), EXDAYS, EXDISP and EXRET (crf-spec EX)."""

    cycle: int
    dose_mg: int
    days_dosed: int
    tablets_dispensed: int | None = None
    tablets_returned: int | None = None

    def __post_init__(self) -> None:
        if self.cycle < 1:
            raise ValueError(f"cycle must be 1 or more, not {self.cycle}")
        if self.dose_mg not in DOSE_LEVELS_MG:
            # crf-spec EX: EXDOSE is one of the DOSE code list (protocol dose levels).
            raise ValueError(f"C{self.cycle}: {self.dose_mg} mg is not a dose level")
        if not 0 <= self.days_dosed <= DOSING_DAYS_PER_CYCLE:
            # crf-spec EX: EXDAYS 0-14.
            raise ValueError(
                f"C{self.cycle}: days dosed must be 0 to {DOSING_DAYS_PER_CYCLE}, "
                f"not {self.days_dosed}"
            )
        if self.tablets_dispensed is not None and self.tablets_dispensed < 0:
            raise ValueError(f"C{self.cycle}: tablets dispensed cannot be negative")
        if self.tablets_returned is not None:
            # crf-spec EX: EXRET 0-EXDISP.
            ceiling = self.tablets_dispensed
            if self.tablets_returned < 0 or (
                ceiling is not None and self.tablets_returned > ceiling
            ):
                raise ValueError(f"C{self.cycle}: tablets returned must be 0 to tablets dispensed")


def _ordered(cycles: Iterable[CycleExposure]) -> list[CycleExposure]:
    ordered = sorted(cycles, key=lambda c: c.cycle)
    numbers = [c.cycle for c in ordered]
    if len(set(numbers)) != len(numbers):
        raise ValueError("each cycle may appear only once")
    return ordered


def compliance(cycle: CycleExposure) -> Decimal:
    """Days dosed / planned dosing days (protocol.md: Parameters, treatment: days 1-14)."""
    return _CONTEXT.divide(Decimal(cycle.days_dosed), Decimal(DOSING_DAYS_PER_CYCLE))


def cycle_relative_dose_intensity(cycle: CycleExposure) -> Decimal:
    """One cycle's dose × days dosed / (starting dose × planned dosing days).

    protocol.md: Parameters, treatment (12 mg on days 1-14 is the planned dose of every cycle).
    """
    return relative_dose_intensity([cycle])


def relative_dose_intensity(cycles: Sequence[CycleExposure]) -> Decimal:
    """Cumulative RDI: Σ(dose × days dosed) / Σ(starting dose × planned dosing days).

    Every cycle given counts in the planned dose, also one with no day dosed. protocol.md:
    Parameters, treatment and dose levels. ValueError for no cycle or a repeated cycle.
    """
    ordered = _ordered(cycles)
    if not ordered:
        raise ValueError("relative dose intensity needs at least one cycle")
    given = sum(c.dose_mg * c.days_dosed for c in ordered)
    planned = STARTING_DOSE_MG * DOSING_DAYS_PER_CYCLE * len(ordered)
    return _CONTEXT.divide(Decimal(given), Decimal(planned))


def running_relative_dose_intensity(
    cycles: Sequence[CycleExposure],
) -> list[tuple[int, Decimal]]:
    """The cumulative RDI at the end of each cycle, in cycle order: [(cycle, RDI), …]."""
    ordered = _ordered(cycles)
    return [(c.cycle, relative_dose_intensity(ordered[: i + 1])) for i, c in enumerate(ordered)]


def dose_increase_problems(cycles: Sequence[CycleExposure]) -> list[tuple[int, str]]:
    """Cycles whose dose is above the previous cycle's: [(cycle, message), …] in cycle order.

    crf-spec EX: EXDOSE is never higher than the previous cycle's. "Previous" is the latest
    earlier cycle recorded (a gap in the numbering compares with the last one known).
    """
    ordered = _ordered(cycles)
    return [
        (
            current.cycle,
            f"C{current.cycle}: daily dose {current.dose_mg} mg is higher than the previous "
            f"cycle's {previous.dose_mg} mg (C{previous.cycle}); the dose is never re-escalated",
        )
        for previous, current in zip(ordered, ordered[1:], strict=False)
        if current.dose_mg > previous.dose_mg
    ]


def reduction_expected(previous_dose: int | None, dose: int) -> bool:
    """EXRED must be Y exactly when the dose is lower than the previous cycle's (crf-spec EX).

    ``previous_dose`` is None for cycle 1, which has nothing to be reduced from.
    """
    return previous_dose is not None and dose < previous_dose


def next_dose_level(dose: int) -> int | None:
    """The next lower dose level: 12 → 10 → 8 → None (stop the drug).

    protocol.md: Parameters, dose levels ("below 8 mg the drug is stopped").
    """
    if dose not in DOSE_LEVELS_MG:
        raise ValueError(f"{dose} mg is not a dose level ({', '.join(map(str, DOSE_LEVELS_MG))})")
    index = DOSE_LEVELS_MG.index(dose)
    return DOSE_LEVELS_MG[index + 1] if index + 1 < len(DOSE_LEVELS_MG) else None


def tablets_taken(cycle: CycleExposure) -> int | None:
    """EXDISP − EXRET, or None while either is missing (crf-spec EX)."""
    if cycle.tablets_dispensed is None or cycle.tablets_returned is None:
        return None
    return cycle.tablets_dispensed - cycle.tablets_returned


def as_percent(ratio: Decimal, places: int = 1) -> Decimal:
    """A ratio as a percentage rounded half up for display: 0.928571… → Decimal('92.9')."""
    return _CONTEXT.multiply(ratio, Decimal(100)).quantize(
        Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP
    )
