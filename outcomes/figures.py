"""Server-side outcome figures: Kaplan-Meier, waterfall, swimmer and spider plots.

Pure matplotlib + numpy, no Django import: the caller (a view, a report task) turns
database rows into the frozen dataclasses below and passes every visible text in, already
translated, so this module never decides a language.  Numbers on axes, in the at-risk table
and in the alt texts are formatted here.

Thread safety: no pyplot (its global figure manager is not thread-safe); figures are plain
:class:`matplotlib.figure.Figure` objects.  matplotlib's ``rcParams`` are process-global, so
building and rendering happen inside ``rc_context`` under a module lock.

Output: :func:`render` gives a standalone SVG document (XML declaration, ``<title>`` and
``<desc>``, text kept as text) or PNG bytes.  Both are byte-identical from one render to the
next (fixed ``svg.hashsalt``, no date in the metadata).  The SVG carries no ``style``
attribute and no ``<style>`` element: matplotlib's inline CSS is rewritten into SVG
presentation attributes, which a Content-Security-Policy ``style-src`` does not govern.  The
intended embedding is still ``<img src="...svg" alt="...">`` from a URL (an image document
cannot run script, and the page's CSP does not apply to it); :func:`alt_text` gives the
``alt`` text.  Inlining the markup also works (strip the XML prolog first, see
:func:`svg_for_inline`).
"""

from __future__ import annotations

import io
import logging
import math
import re
import shutil
import subprocess
import threading
import weakref
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeGuard, overload

import matplotlib
import numpy as np
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

__all__ = [
    "BOR_COLORS",
    "CONTENT_TYPES",
    "NO_CJK_FONT_HELP",
    "FontChoice",
    "KmCurve",
    "SpiderSeries",
    "SwimmerLane",
    "WaterfallBar",
    "Wording",
    "alt_text",
    "cjk_font",
    "font_families",
    "km_figure",
    "render",
    "spider_figure",
    "svg_for_inline",
    "swimmer_figure",
    "waterfall_figure",
]

# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class KmCurve:
    """One Kaplan-Meier estimate (e.g. from lifelines), times in months.

    ``times_months``/``survival``/``ci_low``/``ci_high`` are the step points (same length;
    a point at 0 with survival 1 is added when missing); ``at_risk`` holds the numbers at
    risk at the figure's ``at_risk_times``; ``median_months`` is None when not reached.
    """

    label: str
    times_months: Sequence[float]
    survival: Sequence[float]
    ci_low: Sequence[float]
    ci_high: Sequence[float]
    censor_times_months: Sequence[float]
    at_risk: Sequence[int]
    median_months: float | None

    def __post_init__(self) -> None:
        n = len(self.times_months)
        if not (len(self.survival) == len(self.ci_low) == len(self.ci_high) == n):
            raise ValueError(
                f"KmCurve {self.label!r}: times_months, survival, ci_low and ci_high "
                "must have the same length"
            )


@dataclass(frozen=True)
class WaterfallBar:
    """Best percentage change of the sum of target lesions from baseline, and the BOR."""

    subject_id: str
    best_pct_change: float
    bor: str  # CR, PR, SD, PD or NE


@dataclass(frozen=True)
class SwimmerLane:
    """One subject's time line in months since Day 1."""

    subject_id: str
    treatment_months: float
    follow_up_months: float
    response_months: float | None
    response: str | None  # CR or PR
    progression_months: float | None
    death_months: float | None
    ongoing: bool


@dataclass(frozen=True)
class SpiderSeries:
    """Percentage change of the sum of target lesions over time (time unit: the caller's)."""

    subject_id: str
    bor: str
    points: Sequence[tuple[float, float]]


# --------------------------------------------------------------------------- style

#: Okabe-Ito colours (colour-blind safe) for the best overall response.
BOR_COLORS: Mapping[str, str] = {
    "CR": "#0072B2",  # blue
    "PR": "#56B4E9",  # sky blue
    "SD": "#E69F00",  # orange
    "PD": "#D55E00",  # vermillion
    "NE": "#999999",  # grey
}
BOR_ORDER = ("CR", "PR", "SD", "PD", "NE")
CURVE_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
TREATMENT_COLOR = "#5B6770"
FOLLOW_UP_COLOR = "#CDD3D8"
REFERENCE_COLOR = "#444444"

CONTENT_TYPES: Mapping[str, str] = {"svg": "image/svg+xml", "png": "image/png"}

WIDTH_IN = 9.0
HEIGHT_IN = 5.0
PNG_DPI = 150
# At 2,000 lanes a swimmer plot is unreadable (and 500+ inches tall): keep the longest.
MAX_SWIMMER_LANES = 80
MAX_TICK_LABELS = 40

_PREFERRED_FONTS = (
    "WenQuanYi Micro Hei",
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "Noto Sans SC",
    "Droid Sans Fallback",
)
# Extra CJK families for the browser that shows the SVG (text stays text in the SVG).
_CLIENT_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei")
_LATIN_FONT = "DejaVu Sans"  # ships with matplotlib: always there
_CJK_PROBE = "中文"

#: What to tell a person whose machine draws Chinese as empty boxes.
NO_CJK_FONT_HELP = (
    "No CJK font found: Chinese text in the outcome figures (PNG downloads) is drawn as "
    "empty boxes. Install one, e.g. 'apt-get install fonts-wqy-microhei' (Debian/Ubuntu), "
    "'dnf install wqy-microhei-fonts' (Fedora) or Noto Sans CJK, then restart the server."
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FontChoice:
    """The font figures draw Chinese with: its family (as matplotlib names it) and file."""

    family: str
    path: str


def _covers_cjk(path: str) -> bool:
    try:
        font = FT2Font(path)
    except (OSError, RuntimeError):
        return False
    return all(font.get_char_index(ord(char)) for char in _CJK_PROBE)


def _from_font_manager() -> FontChoice | None:
    """A preferred CJK family matplotlib's font list knows, else any font there with CJK
    glyphs (the list is matplotlib's cache of the system fonts)."""
    entries = font_manager.fontManager.ttflist
    for name in _PREFERRED_FONTS:
        entry = next((e for e in entries if e.name == name), None)
        if entry is not None:
            return FontChoice(entry.name, str(entry.fname))
    for entry in sorted(entries, key=lambda e: (e.name, str(e.fname))):
        if _covers_cjk(str(entry.fname)):
            return FontChoice(entry.name, str(entry.fname))
    return None


def _from_fontconfig() -> FontChoice | None:
    """A Chinese font fontconfig knows but matplotlib's cached list does not (installed
    after matplotlib built its cache): added to matplotlib's font list for this process."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    try:
        listing = subprocess.run(
            [fc_list, ":lang=zh", "file", "family"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found: dict[str, str] = {}
    for line in sorted(listing.splitlines()):
        path, _sep, families = line.partition(": ")
        for family in families.split(","):
            found.setdefault(family.strip(), path.strip())
    ranked = [found[name] for name in _PREFERRED_FONTS if name in found]
    for path in ranked + sorted(set(found.values()) - set(ranked)):
        if not _covers_cjk(path):
            continue
        try:
            font_manager.fontManager.addfont(path)
            family = font_manager.FontProperties(fname=path).get_name()
        except (OSError, RuntimeError, ValueError):
            continue
        return FontChoice(family, path)
    return None


def _find_cjk_font() -> FontChoice | None:
    choice = _from_font_manager() or _from_fontconfig()
    if choice is None:
        logger.warning(NO_CJK_FONT_HELP)
    return choice


_CJK_FONT = _find_cjk_font()


def cjk_font() -> FontChoice | None:
    """The font Chinese text is drawn with; None when the machine has none (then Chinese
    shows as empty boxes in PNGs, and ``NO_CJK_FONT_HELP`` says what to install; the SVG
    still names CJK families for the browser, which has its own fonts)."""
    return _CJK_FONT


_FONTS = ([_CJK_FONT.family] if _CJK_FONT else []) + [_LATIN_FONT]
_SVG_FONT_FAMILY = (
    ", ".join(f"'{name}'" for name in dict.fromkeys([*_FONTS[:-1], *_CLIENT_FONTS, _FONTS[-1]]))
    + ", sans-serif"
)

_RC: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",  # text as <text>, searchable, translatable, small
    "svg.hashsalt": "trial-edc-outcomes",  # stable clip-path/marker ids
    "svg.image_inline": True,
    "text.parse_math": False,  # a "$" in a caller's label is just a dollar sign
    "font.family": ["sans-serif"],
    "font.sans-serif": _FONTS,
    "font.size": 11,
    "axes.titlesize": 14,
    "axes.titleweight": "normal",  # WenQuanYi Micro Hei has no bold face
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.unicode_minus": True,
    "figure.dpi": 100,
    "figure.facecolor": "white",
}

_LOCK = threading.RLock()

#: How many figures this process has built (``"figure"``) and rendered (``"svg"``,
#: ``"png"``): what a cache in front of this module saves is counted here, not guessed.
DRAWN: Counter[str] = Counter()


def font_families() -> tuple[str, ...]:
    """The font families figures are drawn with, in order of preference."""
    return tuple(_FONTS)


@contextmanager
def _style() -> Iterator[None]:
    with _LOCK, matplotlib.rc_context(_RC):
        yield


@dataclass(frozen=True)
class _Meta:
    title: str
    summary: str


_META: weakref.WeakKeyDictionary[Figure, _Meta] = weakref.WeakKeyDictionary()


def alt_text(fig: Figure) -> str:
    """A short description of the figure, for ``<img alt>`` (and the SVG ``<desc>``)."""
    meta = _META.get(fig)
    return meta.summary if meta else ""


# --------------------------------------------------------------------------- helpers


def _num(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}f}"


def _tick_num(value: float) -> str:
    return f"{value:g}"


def _pct(value: float) -> str:
    return f"{value:+.0f}%" if round(value) else "0%"


def _pct_tick(value: float, _pos: Any = None) -> str:
    return _pct(value).replace("-", "\u2212")


def _finite(value: float | None) -> TypeGuard[float]:
    return value is not None and math.isfinite(value)


class _Ids:
    """XML ids from subject ids: ``bar-01-003``; unique within a figure."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def __call__(self, prefix: str, key: str) -> str:
        base = f"{prefix}-{re.sub(r'[^A-Za-z0-9_.-]', '_', key)}"
        candidate, n = base, 1
        while candidate in self._used:
            n += 1
            candidate = f"{base}-{n}"
        self._used.add(candidate)
        return candidate


@dataclass(frozen=True)
class Wording:
    """How the figure's description (the SVG ``<desc>``, ``alt_text``) joins its parts:
    pass translated formats so that, in Chinese, no English punctuation is left in it."""

    description: str = "%(title)s. %(summary)s."  # ``title``, ``summary``
    separator: str = ", "  # between the items of a list
    curve_separator: str = "; "  # between the curves of a Kaplan-Meier figure
    count: str = "%(label)s %(n)d"  # a response and how many subjects had it


PLAIN = Wording()


def _describe(title: str, summary: str, wording: Wording) -> str:
    return wording.description % {"title": title, "summary": summary} if title else summary


def _new_figure(title: str, summary: str, height: float = HEIGHT_IN) -> Figure:
    fig = Figure(figsize=(WIDTH_IN, height), layout="constrained")
    _META[fig] = _Meta(title=title, summary=summary)
    DRAWN["figure"] += 1
    return fig


def _freeze_layout(fig: Figure) -> Figure:
    """Run constrained layout once, then fix the axes positions.

    Constrained layout starts from the current positions, so leaving it on makes every
    render move things by a few thousandths of a point: not byte-identical.
    """
    engine = fig.get_layout_engine()
    if engine is not None:
        with _style():
            engine.execute(fig)
        fig.set_layout_engine("none")
    return fig


def _empty_figure(title: str, message: str, wording: Wording = PLAIN) -> Figure:
    fig = _new_figure(title, _describe(title, message.rstrip("."), wording))
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(
        0.5,
        0.5,
        message,
        ha="center",
        va="center",
        fontsize=14,
        color="#555555",
        transform=ax.transAxes,
        gid="empty-message",
    )
    return _freeze_layout(fig)


def _bor(code: str | None) -> str:
    code = (code or "").strip().upper()
    return code if code in BOR_COLORS else "NE"


def _bor_legend(
    ax: Axes, codes: Sequence[str], labels: Mapping[str, str], *, lines: bool = False
) -> None:
    """Legend of the BORs present, outside the plot on the right (never hides data)."""
    present = [c for c in BOR_ORDER if c in set(codes)]
    handles: list[Any] = [
        Line2D(
            [],
            [],
            color=BOR_COLORS[c],
            linewidth=2,
            marker="o",
            markersize=4,
            label=labels.get(c, c),
        )
        if lines
        else Patch(facecolor=BOR_COLORS[c], label=labels.get(c, c))
        for c in present
    ]
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0))


def _reference_lines(ax: Axes) -> None:
    ax.axhline(0, color="black", linewidth=0.8, gid="ref-zero")
    for value, gid in ((20.0, "ref-plus20"), (-30.0, "ref-minus30")):
        ax.axhline(value, color=REFERENCE_COLOR, linewidth=1, linestyle="--", gid=gid)
    ax.yaxis.set_major_formatter(FuncFormatter(_pct_tick))


def _counts(codes: Sequence[str], labels: Mapping[str, str], wording: Wording = PLAIN) -> str:
    return wording.separator.join(
        wording.count % {"label": labels.get(c, c), "n": sum(1 for x in codes if x == c)}
        for c in BOR_ORDER
        if c in codes
    )


# --------------------------------------------------------------------------- Kaplan-Meier


def km_figure(
    curves: Sequence[KmCurve],
    *,
    title: str,
    x_label: str,
    y_label: str,
    at_risk_times: Sequence[float],
    at_risk_label: str,
    empty_text: str = "No data",
    curve_summary: str = "%(label)s: median %(median)s",
    not_reached: str = "not reached",
    wording: Wording = PLAIN,
) -> Figure:
    """Kaplan-Meier step curves with 95 % CI bands, censor marks, medians, at-risk table.

    ``curve_summary`` (a %-format with ``label``, ``median``, ``censored``) and
    ``not_reached`` build the alt text; pass translated strings.
    """
    at_risk_times = [float(t) for t in at_risk_times]
    drawable = [c for c in curves if len(c.times_months) or len(c.censor_times_months)]
    if not drawable:
        return _empty_figure(title, empty_text, wording)
    for curve in curves:
        if at_risk_times and len(curve.at_risk) != len(at_risk_times):
            raise ValueError(f"KmCurve {curve.label!r}: at_risk must match at_risk_times")

    parts = [
        curve_summary
        % {
            "label": c.label,
            "median": _num(c.median_months) if _finite(c.median_months) else not_reached,
            "censored": len(c.censor_times_months),
        }
        for c in curves
    ]
    n_rows = len(curves) if at_risk_times else 0
    table_height = 0.35 + 0.25 * n_rows if n_rows else 0.0
    with _style():
        fig = _new_figure(
            title,
            _describe(title, wording.curve_separator.join(parts), wording),
            HEIGHT_IN + table_height,
        )
        if n_rows:
            grid = fig.add_gridspec(2, 1, height_ratios=[HEIGHT_IN - 0.6, table_height])
            ax = fig.add_subplot(grid[0])
            table = fig.add_subplot(grid[1], sharex=ax)
        else:
            ax = fig.add_subplot()
        x_max = max(at_risk_times, default=0.0)
        for i, curve in enumerate(curves):
            color = CURVE_COLORS[i % len(CURVE_COLORS)]
            t = np.asarray(curve.times_months, dtype=float)
            s = np.asarray(curve.survival, dtype=float)
            lo = np.asarray(curve.ci_low, dtype=float)
            hi = np.asarray(curve.ci_high, dtype=float)
            if not len(t) or t[0] > 0:
                t, s = np.r_[0.0, t], np.r_[1.0, s]
                lo, hi = np.r_[1.0, lo], np.r_[1.0, hi]
            censored = np.asarray(curve.censor_times_months, dtype=float)
            end = max(float(t[-1]), float(censored.max()) if len(censored) else 0.0)
            if end > t[-1]:  # the curve runs on, flat, to the last censored subject
                t, s, lo, hi = np.r_[t, end], np.r_[s, s[-1]], np.r_[lo, lo[-1]], np.r_[hi, hi[-1]]
            x_max = max(x_max, end)
            ax.fill_between(
                t, lo, hi, step="post", color=color, alpha=0.18, linewidth=0, gid=f"km-ci-{i}"
            )
            ax.step(t, s, where="post", color=color, linewidth=2, label=curve.label, gid=f"km-{i}")
            if len(censored):
                heights = s[np.clip(np.searchsorted(t, censored, side="right") - 1, 0, None)]
                ax.plot(
                    censored,
                    heights,
                    linestyle="none",
                    marker="+",
                    markersize=9,
                    markeredgewidth=1.5,
                    color=color,
                    gid=f"km-censor-{i}",
                )
            median = curve.median_months
            if median is not None and math.isfinite(median):
                ax.plot(
                    [0, median, median],
                    [0.5, 0.5, 0],
                    linestyle="--",
                    linewidth=1,
                    color=color,
                    gid=f"km-median-{i}",
                )
                ax.annotate(
                    _num(median),
                    (median, 0),
                    xytext=(4, 4 + 14 * i),
                    textcoords="offset points",
                    color=color,
                    fontsize=10,
                    gid=f"km-median-label-{i}",
                )
        ax.set_xlim(0, x_max * 1.03 if x_max > 0 else 1)
        ax.set_ylim(0, 1.05)
        ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.1f}"))
        if at_risk_times:
            ax.set_xticks(at_risk_times, [_tick_num(t) for t in at_risk_times])
        ax.set_title(title)
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
        ax.grid(axis="y", color="#e5e5e5", linewidth=0.8)
        ax.set_axisbelow(True)
        ax.legend(loc="upper right")
        if n_rows:
            for i, curve in enumerate(curves):
                for j, (time, count) in enumerate(zip(at_risk_times, curve.at_risk, strict=True)):
                    table.text(
                        time,
                        i,
                        str(count),
                        ha="center",
                        va="center",
                        fontsize=10,
                        clip_on=False,
                        gid=f"atrisk-{i}-{j}",
                    )
            table.set_ylim(n_rows - 0.5, -0.5)
            table.set_yticks(range(n_rows), [c.label for c in curves])
            for i, label in enumerate(table.get_yticklabels()):
                label.set_color(CURVE_COLORS[i % len(CURVE_COLORS)])
            table.tick_params(axis="both", length=0, labelbottom=False)
            table.tick_params(axis="y", pad=18)
            for spine in table.spines.values():
                spine.set_visible(False)
            table.set_title(at_risk_label, loc="left", fontsize=10, fontweight="normal")
    return _freeze_layout(fig)


# --------------------------------------------------------------------------- waterfall


def waterfall_figure(
    bars: Sequence[WaterfallBar],
    *,
    title: str,
    y_label: str,
    legend_labels: Mapping[str, str],
    x_label: str = "",
    empty_text: str = "No data",
    summary: str = "%(n)d subjects; best change from %(min)s to %(max)s; %(counts)s",
    wording: Wording = PLAIN,
) -> Figure:
    """Best % change of the target sum per subject, largest increase left, coloured by BOR.

    ``summary`` is a %-format with ``n``, ``min``, ``max``, ``counts`` (BOR label + count).
    """
    if not bars:
        return _empty_figure(title, empty_text, wording)
    ordered = sorted(bars, key=lambda b: (-b.best_pct_change, b.subject_id))
    codes = [_bor(b.bor) for b in ordered]
    values = [float(b.best_pct_change) for b in ordered]
    text = summary % {
        "n": len(ordered),
        "min": _pct(min(values)),
        "max": _pct(max(values)),
        "counts": _counts(codes, legend_labels, wording),
    }
    ids = _Ids()
    with _style():
        fig = _new_figure(title, _describe(title, text, wording))
        ax = fig.add_subplot()
        x = np.arange(len(ordered))
        container = ax.bar(x, values, width=0.8, color=[BOR_COLORS[c] for c in codes])
        for patch, bar in zip(container.patches, ordered, strict=True):
            patch.set_gid(ids("bar", bar.subject_id))
        _reference_lines(ax)
        ax.set_ylim(min(-35.0, min(values) - 5), max(25.0, max(values) + 5))
        ax.set_xlim(-0.6, len(ordered) - 0.4)
        if len(ordered) <= MAX_TICK_LABELS:
            ax.set_xticks(x, [b.subject_id for b in ordered], rotation=90, fontsize=9)
        else:
            ax.set_xticks([])
        ax.tick_params(axis="x", length=0)
        ax.spines["bottom"].set_visible(False)
        ax.set_title(title)
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
        _bor_legend(ax, codes, legend_labels)
    return _freeze_layout(fig)


# --------------------------------------------------------------------------- swimmer


def swimmer_figure(
    lanes: Sequence[SwimmerLane],
    *,
    title: str,
    x_label: str,
    legend_labels: Mapping[str, str],
    empty_text: str = "No data",
    max_lanes: int = MAX_SWIMMER_LANES,
    truncated_text: str = "%(shown)d of %(total)d subjects shown (longest follow-up)",
    summary: str = (
        "%(n)d subjects; median time on treatment %(median_treatment)s months; "
        "%(ongoing)d ongoing; %(responses)d responses; %(progressions)d progressions; "
        "%(deaths)d deaths"
    ),
    wording: Wording = PLAIN,
) -> Figure:
    """One lane per subject: treatment, then follow-up, with response/PD/death markers.

    ``legend_labels`` keys: ``treatment``, ``follow_up``, ``CR``, ``PR``, ``progression``,
    ``death``, ``ongoing`` (missing keys show the key).  Lanes are sorted by total length,
    longest on top; above ``max_lanes`` only the longest are drawn and ``truncated_text``
    (``shown``, ``total``) says so.  ``summary`` always counts every lane.
    """
    if not lanes:
        return _empty_figure(title, empty_text, wording)
    text = summary % {
        "n": len(lanes),
        "median_treatment": _num(float(np.median([ln.treatment_months for ln in lanes]))),
        "ongoing": sum(ln.ongoing for ln in lanes),
        "responses": sum(1 for ln in lanes if _finite(ln.response_months)),
        "progressions": sum(1 for ln in lanes if _finite(ln.progression_months)),
        "deaths": sum(1 for ln in lanes if _finite(ln.death_months)),
    }
    ordered = sorted(
        lanes, key=lambda ln: (-(ln.treatment_months + ln.follow_up_months), ln.subject_id)
    )
    shown = ordered[: max(1, max_lanes)]
    shown.reverse()  # y = 0 at the bottom: the longest lane ends up on top
    n = len(shown)
    label = legend_labels.get
    ids = _Ids()
    with _style():
        fig = _new_figure(
            title, _describe(title, text, wording), max(HEIGHT_IN - 1.5, 1.6 + 0.27 * n)
        )
        ax = fig.add_subplot()
        y = np.arange(n)
        treatment = np.array([ln.treatment_months for ln in shown], dtype=float)
        follow_up = np.array([ln.follow_up_months for ln in shown], dtype=float)
        bars = ax.barh(y, treatment, height=0.6, color=TREATMENT_COLOR)
        for patch, lane in zip(bars.patches, shown, strict=True):
            patch.set_gid(ids("lane", lane.subject_id))
        more = follow_up > 0
        if more.any():
            bars = ax.barh(
                y[more], follow_up[more], left=treatment[more], height=0.6, color=FOLLOW_UP_COLOR
            )
            for patch, lane in zip(bars.patches, np.array(shown, dtype=object)[more], strict=True):
                patch.set_gid(ids("followup", lane.subject_id))
        ends = treatment + np.clip(follow_up, 0, None)
        x_max = float(max(ends.max(), 1e-9))
        handles: list[Any] = [
            Patch(facecolor=TREATMENT_COLOR, label=label("treatment", "treatment")),
            Patch(facecolor=FOLLOW_UP_COLOR, label=label("follow_up", "follow_up")),
        ]

        def markers(values: Sequence[float | None], gid: str, **style: Any) -> None:
            xs = [v for v in values if _finite(v)]
            ys = [i for i, v in enumerate(values) if _finite(v)]
            if xs:
                ax.plot(xs, ys, linestyle="none", gid=gid, **style)
                handles.append(Line2D([], [], linestyle="none", **style))

        for code in ("CR", "PR"):
            markers(
                [ln.response_months if _bor(ln.response) == code else None for ln in shown],
                f"marker-response-{code}",
                marker="^",
                markersize=9,
                color=BOR_COLORS[code],
                markeredgecolor="black",
                label=label(code, code),
            )
        markers(
            [ln.progression_months for ln in shown],
            "marker-progression",
            marker="s",
            markersize=7,
            color=BOR_COLORS["PD"],
            markeredgecolor="black",
            label=label("progression", "progression"),
        )
        markers(
            [ln.death_months for ln in shown],
            "marker-death",
            marker="X",
            markersize=9,
            color="black",
            markeredgecolor="white",
            label=label("death", "death"),
        )
        arrow = x_max * 0.04
        for i, lane in enumerate(shown):
            if lane.ongoing:
                note = ax.annotate(
                    "",
                    xy=(ends[i] + arrow, i),
                    xytext=(ends[i], i),
                    arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 1.2},
                )
                if note.arrow_patch is not None:
                    note.arrow_patch.set_gid(ids("ongoing", lane.subject_id))
        if any(lane.ongoing for lane in shown):
            handles.append(
                Line2D(
                    [],
                    [],
                    color="black",
                    marker=">",
                    markersize=6,
                    linewidth=1.2,
                    label=label("ongoing", "ongoing"),
                )
            )
        ax.set_yticks(y, [ln.subject_id for ln in shown], fontsize=9 if n <= 60 else 7)
        ax.tick_params(axis="y", length=0)
        ax.set_ylim(-0.7, n - 0.3)
        ax.set_xlim(0, x_max * 1.08)
        ax.spines["left"].set_visible(False)
        ax.grid(axis="x", color="#e5e5e5", linewidth=0.8)
        ax.set_axisbelow(True)
        ax.set_title(title)
        ax.set_xlabel(x_label)
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        if len(ordered) > n:
            fig.text(
                0.01,
                0.005,
                truncated_text % {"shown": n, "total": len(ordered)},
                fontsize=9,
                color="#555555",
                gid="truncated-note",
            )
    return _freeze_layout(fig)


# --------------------------------------------------------------------------- spider


def spider_figure(
    series: Sequence[SpiderSeries],
    *,
    title: str,
    x_label: str,
    y_label: str,
    legend_labels: Mapping[str, str],
    empty_text: str = "No data",
    summary: str = "%(n)d subjects; %(counts)s",
    wording: Wording = PLAIN,
) -> Figure:
    """% change of the target sum over time, one line per subject from (0, 0), by BOR."""
    if not series:
        return _empty_figure(title, empty_text, wording)
    ordered = sorted(series, key=lambda s: s.subject_id)
    codes = [_bor(s.bor) for s in ordered]
    text = summary % {"n": len(ordered), "counts": _counts(codes, legend_labels, wording)}
    ids = _Ids()
    with _style():
        fig = _new_figure(title, _describe(title, text, wording))
        ax = fig.add_subplot()
        x_max, y_min, y_max = 0.0, -35.0, 25.0
        for item, code in zip(ordered, codes, strict=True):
            points = sorted((float(t), float(v)) for t, v in item.points)
            if not points or points[0][0] > 0:
                points.insert(0, (0.0, 0.0))
            xs, ys = zip(*points, strict=True)
            x_max, y_min, y_max = max(x_max, *xs), min(y_min, *ys), max(y_max, *ys)
            ax.plot(
                xs,
                ys,
                color=BOR_COLORS[code],
                linewidth=1.6,
                marker="o",
                markersize=3.5,
                alpha=0.9,
                gid=ids("spider", item.subject_id),
            )
        _reference_lines(ax)
        ax.set_xlim(0, x_max * 1.03 if x_max > 0 else 1)
        ax.set_ylim(y_min - 5, y_max + 5)
        ax.grid(axis="x", color="#e5e5e5", linewidth=0.8)
        ax.set_axisbelow(True)
        ax.set_title(title)
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
        _bor_legend(ax, codes, legend_labels, lines=True)
    return _freeze_layout(fig)


# --------------------------------------------------------------------------- output

_TAG_WITH_STYLE = re.compile(r"<[A-Za-z][^<>]*\sstyle=(?:\"[^\"]*\"|'[^']*')[^<>]*>")
_ATTRIBUTE = re.compile(r"\s([A-Za-z_:][\w:.-]*)=(\"[^\"]*\"|'[^']*')")
_DEFAULT_STYLE = re.compile(r"\s*<defs>\s*<style type=\"text/css\">\*\{([^}]*)\}</style>\s*</defs>")


def _declarations(css: str) -> list[tuple[str, str]]:
    pairs = {}
    for declaration in css.split(";"):
        name, sep, value = declaration.partition(":")
        if sep and name.strip():
            pairs[name.strip()] = value.strip()
    if "font-family" in pairs:
        pairs["font-family"] = _SVG_FONT_FAMILY
    return list(pairs.items())


def _attribute(name: str, value: str) -> str:
    return f' {name}="{value.replace(chr(34), "&quot;")}"'


def _unstyle_tag(match: re.Match[str]) -> str:
    tag = match.group(0)
    name = re.split(r"[\s/>]", tag[1:], maxsplit=1)[0]
    attributes = _ATTRIBUTE.findall(tag)
    present = {key for key, _value in attributes}
    out = [f"<{name}"]
    for key, quoted in attributes:
        if key == "style":
            for prop, value in _declarations(quoted[1:-1]):
                if prop not in present:
                    out.append(_attribute(prop, value))
        else:
            out.append(f" {key}={quoted}")
    out.append("/>" if tag.endswith("/>") else ">")
    return "".join(out)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _csp_safe_svg(svg: str, meta: _Meta | None) -> str:
    """matplotlib's inline CSS -> presentation attributes; add role, title and desc."""
    root_attributes = ' role="img"'
    default = _DEFAULT_STYLE.search(svg)
    if default:
        root_attributes += "".join(_attribute(k, v) for k, v in _declarations(default.group(1)))
        svg = svg[: default.start()] + svg[default.end() :]
    svg = _TAG_WITH_STYLE.sub(_unstyle_tag, svg)
    start = svg.index("<svg ")
    close = svg.index(">", start)
    svg = svg[:close] + root_attributes + svg[close:]
    if meta:  # matplotlib writes <title> from the metadata; <desc> goes right after it
        desc = f"\n <desc>{_escape(meta.summary)}</desc>"
        end = svg.find("</title>", close)
        if end == -1:
            desc = f"\n <title>{_escape(meta.title)}</title>{desc}"
            end = svg.index(">", close)
        else:
            end += len("</title>") - 1
        svg = svg[: end + 1] + desc + svg[end + 1 :]
    return svg


@overload
def render(fig: Figure, fmt: Literal["svg"], *, dpi: int = PNG_DPI) -> str: ...
@overload
def render(fig: Figure, fmt: Literal["png"], *, dpi: int = PNG_DPI) -> bytes: ...
def render(fig: Figure, fmt: Literal["svg", "png"], *, dpi: int = PNG_DPI) -> str | bytes:
    """A standalone SVG document (str) or PNG image (bytes); identical on every render."""
    meta = _META.get(fig)
    metadata: dict[str, str | None] = {}
    if meta and meta.title:  # matplotlib writes an empty Title as a bare <title/>
        metadata["Title"] = meta.title
    if meta and meta.summary:
        metadata["Description"] = meta.summary
    buffer = io.BytesIO()
    with _style():
        DRAWN[fmt] += 1
        if fmt == "svg":
            fig.savefig(buffer, format="svg", metadata={**metadata, "Date": None})
        elif fmt == "png":
            fig.savefig(buffer, format="png", dpi=dpi, metadata={**metadata, "Software": None})
        else:
            raise ValueError(f"unsupported figure format {fmt!r}")
    if fmt == "png":
        return buffer.getvalue()
    return _csp_safe_svg(buffer.getvalue().decode("utf-8"), meta)


def svg_for_inline(svg: str) -> str:
    """The ``<svg>`` element alone (no XML declaration/doctype), for inlining in HTML."""
    return svg[svg.index("<svg ") :]
