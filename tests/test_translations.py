"""The Vietnamese catalogues cannot rot: every message the code marks is translated (none
fuzzy), every translated message is still in the code, and the templates hold no words
outside the translation machinery. Also: the server speaks the client's language.

The catalogues are compared with what ``makemessages`` extracts from a copy of the work
tree's files, by GNU gettext's ``msgcmp`` (``make test`` installs gettext).
"""

import json
import re
import shutil
import subprocess
import sys

import pytest
from django.test import Client
from django.utils import translation

from consumers.feed import invalid, said
from consumers.language import language_of
from protocols.aprs.filters import FilterError, parse_filter
from tests.conftest import REPO, require

CATALOGUES = REPO / "gateway" / "locale" / "vi" / "LC_MESSAGES"
EXTRACT = ["--no-location", "--ignore", "node_modules", "--ignore", "tests", "--ignore", "bench", "--ignore", "build"]


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The catalogues ``makemessages`` makes today from the project's files, by domain."""
    require(shutil.which("msgcmp") and shutil.which("xgettext"), "GNU gettext (make test installs it)")
    copy = tmp_path_factory.mktemp("source") / "app"
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO, capture_output=True, text=True
    )
    for name in listed.stdout.splitlines():  # the work tree's files, as a clone would have them
        if (REPO / name).is_file() and not name.startswith("gateway/locale/"):
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, copy / name)
    (copy / "gateway" / "locale").mkdir()
    env = {"DEBUG": "true", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(copy)}
    for domain in ("django", "djangojs"):
        made = subprocess.run(
            [sys.executable, "manage.py", "makemessages", "-l", "vi", "-d", domain, *EXTRACT],
            cwd=copy,
            env=env,
            capture_output=True,
            text=True,
        )
        assert made.returncode == 0, made.stderr
    return copy / "gateway" / "locale" / "vi" / "LC_MESSAGES"


def msgcmp(*args):
    return subprocess.run(["msgcmp", *args], capture_output=True, text=True)


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_every_marked_message_has_a_vietnamese_translation(extracted, domain):
    compared = msgcmp(str(CATALOGUES / f"{domain}.po"), str(extracted / f"{domain}.po"))
    assert compared.returncode == 0, "untranslated, fuzzy or new (run makemessages):\n" + compared.stderr[-3000:]


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_no_translation_is_left_for_a_message_the_code_no_longer_has(extracted, domain):
    compared = msgcmp("--use-untranslated", str(extracted / f"{domain}.po"), str(CATALOGUES / f"{domain}.po"))
    assert compared.returncode == 0, "stale entries (run makemessages):\n" + compared.stderr[-3000:]


# What may stand in a template outside {% translate %}: names that are the same in every language.
UNTRANSLATED_WORDS = {"APRS-IS", "UTC"}
TAG = re.compile(
    r"{%\s*block body_class\s*%}.*?{%\s*endblock\s*%}|{%.*?%}|{{.*?}}|{#.*?#}|<script.*?</script>|<[^>]*>", re.DOTALL
)
TRANSLATED_BLOCK = re.compile(r"{%\s*blocktranslate.*?endblocktranslate\s*%}", re.DOTALL)


def test_templates_hold_no_words_outside_the_translation_machinery():
    found = {}
    for template in sorted((REPO / "gateway" / "templates").rglob("*.html")):
        text = TAG.sub(" ", TRANSLATED_BLOCK.sub(" ", template.read_text()))
        words = {word for word in re.findall(r"[A-Za-z][A-Za-z'-]+", text) if word not in UNTRANSLATED_WORDS}
        if words:
            found[template.name] = sorted(words)
    assert found == {}
    attributes = {}
    for template in sorted((REPO / "gateway" / "templates").rglob("*.html")):
        for name, value in re.findall(
            r'\b(placeholder|aria-label|title|alt)="([^"{]*[A-Za-z][^"{]*)"', template.read_text()
        ):
            if "/" not in value:  # a filter's syntax (r/49.05/-72.03/100) reads the same in every language
                attributes.setdefault(template.name, []).append(f"{name}={value}")
    assert attributes == {}  # attributes a user reads are translated too


def scope_with(cookie=None, accept=None):
    return {
        "cookies": {"django_language": cookie} if cookie else {},
        "headers": [(b"accept-language", accept.encode())] if accept else [],
    }


def test_a_websocket_client_gets_the_language_its_pages_get():
    assert language_of(scope_with(accept="vi-VN,vi;q=0.9,en;q=0.8")) == "vi"
    assert language_of(scope_with(accept="pl-PL,en;q=0.5")) == "en"
    assert language_of(scope_with(accept="de-DE")) == "en"  # neither: English
    assert language_of(scope_with(cookie="en", accept="vi")) == "en"  # the switcher's choice wins
    assert language_of(scope_with(cookie="vi")) == "vi"


def test_a_filter_error_from_protocols_is_said_in_the_users_language():
    errors = parse_filter("m/50 r/1/2", lenient=True).errors
    assert [str(error) for error in errors] == ["'m/50': m/ needs a logged-in callsign", "'r/1/2': expected lat/lon/km"]
    with translation.override("vi"):
        assert [said(error) for error in errors] == [
            "'m/50': m/ cần một hô hiệu đã đăng nhập",
            "'r/1/2': cần lat/lon/km",
        ]
        assert invalid(said(FilterError("filter longer than %(most)s characters", most=8190))) == (
            "bộ lọc không hợp lệ: bộ lọc dài hơn 8190 ký tự"
        )


@pytest.mark.django_db
def test_pages_follow_accept_language_until_the_user_picks_one():
    client = Client()
    english = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert b'<html lang="en">' in english.content and b">Map</a>" in english.content
    vietnamese = client.get("/", HTTP_ACCEPT_LANGUAGE="vi,en;q=0.5")
    assert b'<html lang="vi">' in vietnamese.content and "Bản đồ</a>".encode() in vietnamese.content
    assert vietnamese["Content-Language"] == "vi"
    switched = client.post("/i18n/setlang/", {"language": "en", "next": "/feed/"}, HTTP_ACCEPT_LANGUAGE="vi")
    assert switched.status_code == 302 and switched["Location"] == "/feed/"
    assert b'<html lang="en">' in client.get("/feed/", HTTP_ACCEPT_LANGUAGE="vi").content  # the cookie wins
    missing = Client().get("/nowhere/", HTTP_ACCEPT_LANGUAGE="vi")
    assert missing.status_code == 404 and "Không tìm thấy".encode() in missing.content
    catalogue = Client().get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="vi")
    assert json.dumps("Phóng to").encode() in catalogue.content  # the script catalogue, as JSON
