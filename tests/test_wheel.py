"""The package as a user installs it: ``python -m build`` makes an sdist and a wheel
(the wheel carrying the pages' browser libraries, built from the pinned npm
packages), the wheel goes into a fresh venv, and with no node or npm on PATH
``aprs-gateway migrate`` and ``aprs-gateway run`` serve the map, which Chromium
loads with its scripts and styles, in Vietnamese for a browser that asks for it."""

import shutil
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from tests.conftest import REPO, free_port, require
from tests.test_web import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    # From a copy of the tracked files: what a clean clone builds, not this work tree's leftovers.
    source = tmp_path_factory.mktemp("source") / "aprs-gateway"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(REPO), str(source)], check=True)
    result = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(source)], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (wheel_path,) = out.glob("aprs_gateway-*.whl")
    assert list(out.glob("aprs_gateway-*.tar.gz")), "no sdist"
    return wheel_path


def test_wheel_carries_the_page_libraries(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "gateway/static/leaflet/leaflet.js",
        "gateway/static/leaflet/leaflet.css",
        "gateway/static/markercluster/leaflet.markercluster.js",
        "gateway/static/gateway/map.js",
        "gateway/templates/gateway/map.html",
        "gateway/migrations/0001_initial.py",
        "gateway/demo/demo.txt",
        "gateway/static/gateway/symbols/symbols.dat",
        "gateway/locale/vi/LC_MESSAGES/django.mo",  # compiled at build time: .mo files are not committed
        "gateway/locale/vi/LC_MESSAGES/djangojs.mo",
    ):
        assert needed in names, needed
    assert not any("node_modules" in name for name in names)


async def test_installed_wheel_serves_the_map_without_node(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", str(wheel)], capture_output=True, text=True, timeout=900
    )
    assert pip.returncode == 0, pip.stderr[-3000:]
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": str(venv / "bin"),
        "HOME": str(home),
        "SECRET_KEY": "wheel-test-key",
        "MAP_TILE_URL": "",
        "LANG": "C.UTF-8",
    }
    assert shutil.which("npm", path=env["PATH"]) is None and shutil.which("node", path=env["PATH"]) is None
    gateway = [str(venv / "bin" / "aprs-gateway")]
    migrated = subprocess.run([*gateway, "migrate", "--noinput"], cwd=home, env=env, capture_output=True, text=True)
    assert migrated.returncode == 0, migrated.stderr
    assert (home / "var" / "db.sqlite3").exists()  # ./var of the working directory
    port = free_port()
    daemon = subprocess.Popen(
        [*gateway, "run", "--port", str(port)], cwd=home, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                assert daemon.poll() is None, daemon.stdout.read().decode()
                time.sleep(0.1)
        require(Path(CHROMIUM).exists(), f"Chromium at {CHROMIUM}")
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = await browser.new_page(locale="vi-VN")  # Accept-Language: vi-VN
            failed = []
            page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            await page.goto(f"http://127.0.0.1:{port}/")
            await page.wait_for_function(
                "window.L && L.MarkerClusterGroup && document.querySelector('.leaflet-container')"
            )
            position = await page.evaluate("getComputedStyle(document.querySelector('.leaflet-container')).position")
            assert position == "relative"  # leaflet.css applied
            await page.wait_for_selector(".leaflet-marker-icon, .marker-cluster", timeout=20_000)  # the demo feed
            assert await page.get_attribute("html", "lang") == "vi"
            assert await page.inner_text("nav a[aria-current=page]") == "Bản đồ"  # from the wheel's catalogue
            assert await page.get_attribute(".leaflet-control-zoom-in", "title") == "Phóng to"  # script catalogue
            await browser.close()
        assert failed == [] and errors == []
    finally:
        daemon.terminate()
        daemon.wait(15)
