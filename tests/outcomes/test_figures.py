"""outcomes.figures: KM, waterfall, swimmer and spider figures as SVG/PNG (no database)."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from matplotlib.figure import Figure

from outcomes import figures as F

SVG = "{http://www.w3.org/2000/svg}"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LABELS = {
    "CR": "CR 完全缓解",
    "PR": "PR 部分缓解",
    "SD": "SD 疾病稳定",
    "PD": "PD 疾病进展",
    "NE": "NE 不可评价",
    "treatment": "安罗替尼治疗",
    "follow_up": "随访",
    "progression": "进展",
    "death": "死亡",
    "ongoing": "持续中",
}
BORS = ("CR", "PR", "SD", "PD", "NE")
AT_RISK_TIMES = [0, 3, 6, 9, 12]


def subject(i: int) -> str:
    return f"{i % 2 + 1:02d}-{i + 1:03d}"


def parse(svg: str) -> ET.Element:
    assert svg.startswith("<?xml")
    return ET.fromstring(svg.encode("utf-8"))


def ids(root: ET.Element, prefix: str = "") -> list[str]:
    """Element ids in document order (gids set on artists become <g id=...>)."""
    return [el.get("id", "") for el in root.iter() if el.get("id", "").startswith(prefix)]


def texts(root: ET.Element) -> list[str]:
    return ["".join(el.itertext()) for el in root.iter(f"{SVG}text")]


def assert_csp_safe(root: ET.Element) -> None:
    assert not [el.tag for el in root.iter() if "style" in el.attrib]
    assert not list(root.iter(f"{SVG}style"))


def assert_renders(fig: Figure) -> ET.Element:
    svg = F.render(fig, "svg")
    assert F.render(fig, "svg") == svg  # byte-identical re-render
    png = F.render(fig, "png", dpi=50)  # small: the signature is what counts here
    assert png.startswith(PNG_SIGNATURE)
    root = parse(svg)
    assert_csp_safe(root)
    assert root.find(f"{SVG}title") is not None
    assert root.findtext(f"{SVG}desc") == F.alt_text(fig)
    return root


# --------------------------------------------------------------------------- data


def km_curve(label: str, n: int = 28, median: float | None = 7.5) -> F.KmCurve:
    times = [0.0, 1.5, 3.2, 5.0, 7.5, 10.1]
    survival = [1.0, 0.93, 0.82, 0.64, 0.5, 0.36]
    return F.KmCurve(
        label=label,
        times_months=times,
        survival=survival,
        ci_low=[1.0, 0.8, 0.65, 0.45, 0.3, 0.17],
        ci_high=[1.0, 0.99, 0.93, 0.8, 0.68, 0.56],
        censor_times_months=[2.0, 6.1, 11.4, 13.0],
        at_risk=[n, 25, 19, 11, 4],
        median_months=median,
    )


def km(curves: list[F.KmCurve], **kw: Any) -> Figure:
    return F.km_figure(
        curves,
        title="无进展生存 PFS",
        x_label="Months since Day 1",
        y_label="Probability",
        at_risk_times=AT_RISK_TIMES,
        at_risk_label="Number at risk",
        **kw,
    )


def waterfall_bars(n: int = 28) -> list[F.WaterfallBar]:
    return [F.WaterfallBar(subject(i), (i * 37) % 130 - 100.0, BORS[i % 5]) for i in range(n)]


def waterfall(bars: list[F.WaterfallBar]) -> Figure:
    return F.waterfall_figure(
        bars, title="Best change 最佳变化", y_label="Change from baseline", legend_labels=LABELS
    )


def lanes(n: int = 28) -> list[F.SwimmerLane]:
    out = []
    for i in range(n):
        treatment = 1.0 + (i * 7) % 19
        out.append(
            F.SwimmerLane(
                subject_id=subject(i),
                treatment_months=treatment,
                follow_up_months=0.0 if i % 4 == 0 else float(i % 6),
                response_months=1.4 if i % 3 == 0 else None,
                response="CR" if i % 6 == 0 else ("PR" if i % 3 == 0 else None),
                progression_months=treatment - 0.5 if i % 2 else None,
                death_months=treatment + i % 6 if i % 5 == 1 else None,
                ongoing=i % 7 == 0,
            )
        )
    return out


def swimmer(data: list[F.SwimmerLane], **kw: Any) -> Figure:
    return F.swimmer_figure(
        data,
        title="Swimmer 泳道图",
        x_label="Months",
        legend_labels=LABELS,
        **kw,
    )


def series(n: int = 28) -> list[F.SpiderSeries]:
    return [
        F.SpiderSeries(
            subject(i),
            BORS[i % 5],
            [(6.0 * k, ((i + k) * 13) % 90 - 60.0) for k in range(1, 2 + i % 6)],
        )
        for i in range(n)
    ]


def spider(data: list[F.SpiderSeries]) -> Figure:
    return F.spider_figure(
        data, title="Spider 蛛网图", x_label="Weeks", y_label="Change", legend_labels=LABELS
    )


# --------------------------------------------------------------------------- Kaplan-Meier


def test_km_curves_bands_censors_medians_and_at_risk_table() -> None:
    fig = km([km_curve("PFS"), km_curve("OS 总生存", median=9.25)])
    root = assert_renders(fig)
    found = texts(root)
    for caption in ("无进展生存 PFS", "Months since Day 1", "Probability", "Number at risk"):
        assert caption in found
    assert found.count("OS 总生存") >= 2  # legend and at-risk row label
    assert {"km-0", "km-1", "km-ci-0", "km-ci-1", "km-censor-0", "km-censor-1"} <= set(ids(root))
    assert set(ids(root, "km-median-")) == {
        "km-median-0",
        "km-median-1",
        "km-median-label-0",
        "km-median-label-1",
    }
    assert "7.5" in found and "9.2" in found  # medians formatted to one decimal
    assert len(ids(root, "atrisk-")) == 2 * len(AT_RISK_TIMES)
    assert {"28", "25", "19", "11", "4"} <= set(found)
    assert [t for t in found if t in {"0", "3", "6", "9", "12"}][:5] == ["0", "3", "6", "9", "12"]
    assert F.alt_text(fig) == "无进展生存 PFS. PFS: median 7.5; OS 总生存: median 9.2."


def test_km_median_not_reached_and_translated_alt_text() -> None:
    fig = km(
        [km_curve("OS", median=None)],
        curve_summary="%(label)s：中位 %(median)s",
        not_reached="未达到",
    )
    root = assert_renders(fig)
    assert not ids(root, "km-median")
    assert F.alt_text(fig) == "无进展生存 PFS. OS：中位 未达到."


def test_km_adds_time_zero_and_runs_on_to_the_last_censored_subject() -> None:
    curve = F.KmCurve("PFS", [2.0], [0.9], [0.7], [1.0], [5.0], [10, 9, 8, 0, 0], None)
    root = assert_renders(km([curve]))
    assert "km-censor-0" in ids(root)


def test_km_rejects_inconsistent_lengths() -> None:
    with pytest.raises(ValueError, match="same length"):
        F.KmCurve("PFS", [0, 1], [1.0], [1.0], [1.0], [], [], None)
    with pytest.raises(ValueError, match="at_risk"):
        km([F.KmCurve("PFS", [0], [1.0], [1.0], [1.0], [], [28], None)])


# --------------------------------------------------------------------------- waterfall


def test_waterfall_bars_sorted_descending_with_reference_lines() -> None:
    bars = waterfall_bars()
    root = assert_renders(waterfall(bars))
    expected = [b.subject_id for b in sorted(bars, key=lambda b: -b.best_pct_change)]
    assert ids(root, "bar-") == [f"bar-{s}" for s in expected]
    found = texts(root)
    assert [t for t in found if t in set(expected)] == expected  # rotated tick labels
    assert {"ref-plus20", "ref-minus30", "ref-zero"} <= set(ids(root))
    assert {"Best change 最佳变化", "Change from baseline", *(LABELS[c] for c in BORS)} <= set(
        found
    )
    assert "+20%" in found and "\u221240%" in found


def test_waterfall_legend_only_lists_present_responses() -> None:
    bars = [F.WaterfallBar("01-001", -45.0, "pr"), F.WaterfallBar("01-002", 12.0, "??")]
    fig = waterfall(bars)
    found = texts(assert_renders(fig))
    assert LABELS["PR"] in found and LABELS["NE"] in found  # unknown BOR counts as NE
    assert LABELS["CR"] not in found
    assert F.alt_text(fig).startswith(
        "Best change 最佳变化. 2 subjects; best change from -45% to +12%"
    )


def test_waterfall_many_subjects_drops_tick_labels_keeps_ids() -> None:
    bars = waterfall_bars(41)
    root = assert_renders(waterfall(bars))
    assert len(ids(root, "bar-")) == 41
    assert not {b.subject_id for b in bars} & set(texts(root))


# --------------------------------------------------------------------------- swimmer


def test_swimmer_lanes_markers_and_arrows() -> None:
    data = lanes()
    fig = swimmer(data)
    root = assert_renders(fig)
    longest_first = sorted(
        data, key=lambda ln: (-(ln.treatment_months + ln.follow_up_months), ln.subject_id)
    )
    found = texts(root)
    # y tick labels run bottom-up: document order is shortest first; ties by ID from the top
    assert [t for t in found if t in {ln.subject_id for ln in data}] == [
        ln.subject_id for ln in reversed(longest_first)
    ]
    assert len(ids(root, "lane-")) == 28
    assert len(ids(root, "followup-")) == sum(ln.follow_up_months > 0 for ln in data)
    assert len(ids(root, "ongoing-")) == sum(ln.ongoing for ln in data)
    assert {
        "marker-response-CR",
        "marker-response-PR",
        "marker-progression",
        "marker-death",
    } <= set(ids(root, "marker-"))
    assert {"Swimmer 泳道图", "Months", LABELS["treatment"], LABELS["ongoing"]} <= set(found)
    assert "28 subjects" in F.alt_text(fig)


def test_swimmer_caps_lanes_keeping_the_longest() -> None:
    data = lanes(12)
    fig = swimmer(data, max_lanes=5, truncated_text="显示 %(shown)d / %(total)d")
    root = assert_renders(fig)
    longest = sorted(data, key=lambda ln: -(ln.treatment_months + ln.follow_up_months))[:5]
    assert sorted(ids(root, "lane-")) == sorted(f"lane-{ln.subject_id}" for ln in longest)
    assert "显示 5 / 12" in texts(root)
    assert "12 subjects" in F.alt_text(fig)  # the alt text counts everybody


# --------------------------------------------------------------------------- spider


def test_spider_one_line_per_subject() -> None:
    data = series()
    root = assert_renders(spider(data))
    assert sorted(ids(root, "spider-")) == sorted(f"spider-{s.subject_id}" for s in data)
    assert {"ref-plus20", "ref-minus30"} <= set(ids(root))
    assert {"Spider 蛛网图", "Weeks", "Change", LABELS["SD"]} <= set(texts(root))


def test_spider_line_starts_at_origin() -> None:
    fig = spider([F.SpiderSeries("01-001", "PR", [(12.0, -40.0), (6.0, -20.0)])])
    line = next(a for a in fig.axes[0].get_lines() if a.get_gid() == "spider-01-001")
    assert list(line.get_xdata()) == [0.0, 6.0, 12.0]
    assert list(line.get_ydata()) == [0.0, -20.0, -40.0]


# --------------------------------------------------------------------------- all figures


EMPTY = "尚无受试者 No subjects yet"


@pytest.mark.parametrize(
    "build",
    [
        lambda: km([], empty_text=EMPTY),
        lambda: F.waterfall_figure([], title="W", y_label="%", legend_labels={}, empty_text=EMPTY),
        lambda: swimmer([], empty_text=EMPTY),
        lambda: F.spider_figure(
            [], title="S", x_label="x", y_label="y", legend_labels={}, empty_text=EMPTY
        ),
    ],
    ids=["km", "waterfall", "swimmer", "spider"],
)
def test_empty_inputs_render_a_message(build: Callable[[], Figure]) -> None:
    fig = build()
    root = assert_renders(fig)
    assert EMPTY in texts(root)
    assert ids(root, "empty-message")
    assert EMPTY in F.alt_text(fig)


def test_rebuilding_gives_identical_output_and_threads_agree() -> None:
    def build_and_render(_: int) -> str:
        return F.render(waterfall(waterfall_bars(8)), "svg")

    first = build_and_render(0)
    with ThreadPoolExecutor(max_workers=2) as pool:
        assert set(pool.map(build_and_render, range(3))) == {first}
    assert F.render(spider(series(5)), "png", dpi=50) == F.render(spider(series(5)), "png", dpi=50)


def test_caller_text_is_literal_and_escaped() -> None:
    fig = F.waterfall_figure(
        [F.WaterfallBar("01-001", 10.0, "SD")],
        title='Cost $5 & <x> "$y$"',
        y_label="%",
        legend_labels={},
    )
    root = assert_renders(fig)
    assert 'Cost $5 & <x> "$y$"' in texts(root)


def test_untitled_figure_has_one_title_element() -> None:
    fig = F.spider_figure([], title="", x_label="", y_label="", legend_labels={})
    root = assert_renders(fig)
    assert len(root.findall(f"{SVG}title")) == 1
    assert F.alt_text(fig) == "No data"


def test_svg_for_inline_strips_prolog() -> None:
    svg = F.render(waterfall(waterfall_bars(3)), "svg")
    inline = F.svg_for_inline(svg)
    assert inline.startswith("<svg ") and "<!DOCTYPE" not in inline
    assert F.CONTENT_TYPES["svg"] == "image/svg+xml"


def test_module_imports_neither_django_nor_pyplot() -> None:
    code = (
        "import sys, outcomes.figures; "
        "bad = [m for m in ('django', 'matplotlib.pyplot') if m in sys.modules]; "
        "assert not bad, bad"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True, timeout=60)


def test_the_description_takes_the_callers_punctuation() -> None:
    """A Chinese description carries no English punctuation when given Chinese formats."""
    chinese = F.Wording(
        description="%(title)s。%(summary)s。",
        separator="、",
        curve_separator="；",
        count="%(label)s %(n)d 例",
    )
    bars = [F.WaterfallBar("01-001", -40.0, "PR"), F.WaterfallBar("01-002", 25.0, "PD")]

    waterfall = F.waterfall_figure(
        bars,
        title="瀑布图",
        y_label="变化",
        legend_labels=LABELS,
        summary="%(n)d 例受试者；最佳变化 %(min)s 至 %(max)s；%(counts)s",
        wording=chinese,
    )
    empty = F.spider_figure(
        [],
        title="蛛网图",
        y_label="变化",
        x_label="月",
        legend_labels={},
        empty_text="尚无数据",
        wording=chinese,
    )

    expected = "瀑布图。2 例受试者；最佳变化 -40% 至 +25%；PR 部分缓解 1 例、PD 疾病进展 1 例。"
    assert F.alt_text(waterfall) == expected
    assert F.alt_text(empty) == "蛛网图。尚无数据。"
