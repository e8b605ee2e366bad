"""The figures draw Chinese with a CJK font the machine has, or say what to install.

CI installs fonts-wqy-microhei (.ci/run), as the Dockerfile does. The fallbacks are tried
in a fresh interpreter whose matplotlib font list has no CJK font, as on a machine where
the font came after matplotlib cached its list, or where there is none at all.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from django.core.management import call_command

from outcomes import figures as F

ROOT = Path(__file__).resolve().parents[2]
CHINESE_KM = """
from outcomes import figures as F
fig = F.km_figure(
    [F.KmCurve("全部受试者", [1.0, 2.0], [0.8, 0.5], [0.6, 0.3], [0.9, 0.7], [], [2, 1], 2.0)],
    title="总生存期", x_label="自第 1 天起的月数", y_label="概率",
    at_risk_times=[0, 3], at_risk_label="风险人数",
)
F.render(fig, "png")
print("CHOICE", F.cjk_font())
"""
WITHOUT_CJK_IN_MATPLOTLIB = """
from matplotlib import font_manager
font_manager.fontManager.ttflist = [
    e for e in font_manager.fontManager.ttflist if e.name.startswith("DejaVu")
]
"""


def chinese_km() -> bytes:
    fig = F.km_figure(
        [F.KmCurve("全部受试者", [1.0, 2.0], [0.8, 0.5], [0.6, 0.3], [0.9, 0.7], [], [2, 1], 2.0)],
        title="总生存期",
        x_label="自第 1 天起的月数",
        y_label="概率",
        at_risk_times=[0, 3],
        at_risk_label="风险人数",
    )
    return F.render(fig, "png")


def run_python(
    code: str, tmp_path: Path, path_env: str | None = None
) -> subprocess.CompletedProcess:
    env = {**os.environ, "MPLCONFIGDIR": str(tmp_path / "mpl"), "PYTHONPATH": str(ROOT)}
    if path_env is not None:
        env["PATH"] = path_env
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_chinese_text_is_drawn_with_the_installed_cjk_font() -> None:
    choice = F.cjk_font()

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)"
        png = chinese_km()

    assert choice is not None
    assert choice.family == "WenQuanYi Micro Hei"
    assert Path(choice.path).name == "wqy-microhei.ttc"
    assert png.startswith(b"\x89PNG")
    assert F.font_families() == ("WenQuanYi Micro Hei", "DejaVu Sans")


def test_the_svg_names_the_cjk_family_first() -> None:
    fig = F.waterfall_figure(
        [F.WaterfallBar("01-001", -40.0, "PR")],
        title="瀑布图",
        y_label="变化 (%)",
        legend_labels={},
    )

    root = ET.fromstring(F.render(fig, "svg").encode())

    families = {el.get("font-family") for el in root.iter() if el.tag.endswith("}text")}
    assert len(families) == 1
    assert families.pop().startswith("'WenQuanYi Micro Hei', 'Noto Sans CJK SC', ")


@pytest.mark.skipif(shutil.which("fc-list") is None, reason="needs fc-list (fontconfig)")
def test_a_cjk_font_matplotlib_has_not_listed_is_found_through_fontconfig(tmp_path) -> None:
    result = run_python(WITHOUT_CJK_IN_MATPLOTLIB + CHINESE_KM, tmp_path)

    assert result.returncode == 0, result.stderr
    assert "CHOICE FontChoice(family='WenQuanYi Micro Hei'" in result.stdout
    assert "missing from font" not in result.stderr


def test_without_any_cjk_font_figures_still_draw_and_say_what_to_install(tmp_path) -> None:
    result = run_python(WITHOUT_CJK_IN_MATPLOTLIB + CHINESE_KM, tmp_path, path_env="/nonexistent")

    assert result.returncode == 0, result.stderr
    assert "CHOICE None" in result.stdout
    assert result.stderr.count("apt-get install fonts-wqy-microhei") == 1
    assert "missing from font" in result.stderr  # the boxes the message warns about


@pytest.mark.django_db
def test_the_figure_fonts_command_names_the_font() -> None:
    out = io.StringIO()

    call_command("figure_fonts", stdout=out)

    assert out.getvalue() == (
        "Outcome figures draw Chinese text with WenQuanYi Micro Hei "
        "(/usr/share/fonts/truetype/wqy/wqy-microhei.ttc).\n"
    )
