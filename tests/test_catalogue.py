"""The Simplified Chinese catalogues are complete, and the committed .mo files are their .po
(issue 10, "Chinese, completely": every string translated).

``make messages`` regenerates locale/zh_Hans/LC_MESSAGES/django.po; a string added since then
shows up here as untranslated once the catalogue is regenerated, and a .po edited without
``compilemessages`` shows up as a .mo that differs from it. djangojs.po is written by hand: it
fills the gaps of Django's own admin JavaScript catalogue.
"""

from __future__ import annotations

import gettext
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from study.admin_strings import DJANGO_ADMIN_GAPS
from study.models import Role

LOCALE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"
DOMAINS = ("django", "djangojs")

# A Han character next to ASCII punctuation: a Chinese sentence takes ，。：；（）.
HAN = "\u4e00-\u9fff"
ASCII_PUNCTUATION_IN_CHINESE = re.compile(rf"[{HAN}][,;:!?(]|[,;:!?)][{HAN}]|[{HAN}]\.$")


def _msgfmt() -> str:
    path = shutil.which("msgfmt")
    if path is None:
        reason = "GNU gettext's msgfmt is not installed (apt-get install gettext)"
        if settings.EDC_REQUIRE_SERVICES:
            pytest.fail(f"EDC_REQUIRE_SERVICES=1 but {reason}")
        pytest.skip(f"{reason}: the catalogue cannot be checked")
    return path


def _run_msgfmt(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_msgfmt(), *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "LC_ALL": "C", "LANGUAGE": ""},
    )


def _catalog(mo: Path) -> dict[object, str]:
    with mo.open("rb") as handle:
        return dict(gettext.GNUTranslations(handle)._catalog)  # type: ignore[attr-defined]


@pytest.mark.parametrize("domain", DOMAINS)
def test_catalogue_has_no_fuzzy_or_untranslated_message(domain: str) -> None:
    result = _run_msgfmt("--check", "--statistics", "-o", os.devnull, str(LOCALE / f"{domain}.po"))

    assert result.returncode == 0, result.stderr
    statistics = result.stderr.strip().splitlines()[-1]
    assert re.fullmatch(r"\d+ translated messages?\.", statistics), statistics


@pytest.mark.parametrize("domain", DOMAINS)
def test_catalogue_keeps_no_obsolete_entry(domain: str) -> None:
    lines = (LOCALE / f"{domain}.po").read_text(encoding="utf-8").splitlines()

    assert [line for line in lines if line.startswith("#~")] == []


@pytest.mark.parametrize("domain", DOMAINS)
def test_committed_mo_is_the_compiled_po(domain: str, tmp_path: Path) -> None:
    compiled = tmp_path / f"{domain}.mo"
    result = _run_msgfmt("--check-format", "-o", str(compiled), str(LOCALE / f"{domain}.po"))
    assert result.returncode == 0, result.stderr

    assert _catalog(LOCALE / f"{domain}.mo") == _catalog(compiled), (
        f"locale/zh_Hans/LC_MESSAGES/{domain}.mo is not its .po compiled: run make messages"
    )


def test_chinese_sentences_use_full_width_punctuation() -> None:
    mixed = {
        str(key): text
        for key, text in _catalog(LOCALE / "django.mo").items()
        if key and ASCII_PUNCTUATION_IN_CHINESE.search(text)
    }

    assert mixed == {}


def test_open_a_record_and_an_open_finding_read_differently_in_chinese() -> None:
    with translation.override("zh-hans"):
        link = translation.pgettext("link to a record", "Open")
        status = translation.gettext("Open")

    assert (link, status) == ("打开", "未解决")


def test_django_admin_gaps_are_translated_by_our_catalogue() -> None:
    with translation.override("zh-hans"):
        texts = [translation.gettext(text) for text in DJANGO_ADMIN_GAPS]

    assert texts == [
        "创建用户后，你就可以编辑更多的用户选项。",
        "错误：",
        "模型名称",
        "增加链接",
        "修改或查看列表链接",
    ]


@pytest.mark.django_db
def test_admin_javascript_catalogue_serves_the_site_picker_in_chinese(client, people) -> None:
    client.force_login(people[Role.ADMINISTRATOR])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    response = client.get(reverse("admin:jsi18n"))

    body = response.content.decode()
    assert response.status_code == 200
    for chinese in (
        "全选 %s",
        "删除全部 %s",
        "（点击清除）",
        "选中要选择的 %s，然后点击“选择”箭头按钮。",
    ):
        assert json.dumps(chinese)[1:-1] in body, chinese
    assert json.dumps("可用 %s")[1:-1] in body  # Django's own translations stay
