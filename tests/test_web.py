"""The web pages in a real browser: Debian's Chromium driven by Playwright.

One daemon for the module, fed by the replay server playing a small capture
in a loop (no tiles: MAP_TILE_URL is empty, as on a machine offline).
Screenshots go to tests/artifacts/ for people to look at.
"""

import os
import re
import subprocess
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import async_playwright, expect

from tests.conftest import REPO, Daemons, RedisServer, free_port, replay_server, require
from tests.test_aprsis_clients import PEERS, running_aprsd

pytestmark = pytest.mark.asyncio(loop_scope="module")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# As root and on a closed network: no sandbox, and no calls home that fail.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO / "tests" / "artifacts"
XSS_COMMENT = "<img src=x onerror=alert(1)>"
CAPTURE = [
    b"N0TEST-9>APRS,WIDE1-1,qAR,N0TEST-10:!4903.00N/07201.80W>090/036Test car",
    f"N0TEST-1>APRS,TCPIP*,qAC,T2TEST:=4918.00N/07224.00W-{XSS_COMMENT}".encode(),
    b"N0TEST-5>APRS,TCPIP*,qAC,T2TEST:@241200z4848.00N/07136.00W_180/010g015t045r000p000P000h65b10150WX",
    b"N0TEST-3>APRS,TCPIP*,qAC,T2TEST:T#001,no,numbers",  # no decoder reads it
    b"VK2XYZ>APRS,TCPIP*,qAC,T2TEST:!3352.00S/15112.00E-Sydney",
    b"N0TEST-9>APRS,WIDE1-1,qAR,N0TEST-10:!4903.30N/07201.40W>045/036Test car",
    b"N0TEST-2>APRS,TCPIP*,qAC,T2TEST:>on the air",
]
USERS = (
    "from django.contrib.auth.models import User; "
    "User.objects.create_user('ann', password='ann-secret-1'); "
    "User.objects.create_user('bob', password='bob-secret-1'); "
    "User.objects.create_user('mod', password='mod-secret-1', is_staff=True)"
)
ARCHIVED = (  # stations only the archive knows: heard 3 hours and 3 days ago, in the map's view
    "from datetime import timedelta; from django.utils import timezone; from gateway.models import Station; "
    "[Station.objects.create(callsign=call, latitude=49.2, longitude=lon, symbol='/-', first_heard=when, "
    "last_heard=when, position_at=when) for call, lon, when in (('N0OLD', -72.6, timezone.now() - timedelta(hours=3)), "
    "('N0ANCIENT', -71.4, timezone.now() - timedelta(days=3)))]"
)
WEATHER_ARCHIVE = (  # a weather station far from the map's view, with 12 readings over 6 hours
    "from datetime import timedelta; from django.utils import timezone; from gateway.models import Packet, Station; "
    "now = timezone.now(); Station.objects.create(callsign='N0WXA', latitude=10.0, longitude=10.0, symbol='/_', "
    "first_heard=now - timedelta(hours=6), last_heard=now, position_at=now); "
    "[Packet.objects.create(received_at=now - timedelta(minutes=30 * n), source='N0WXA', format='uncompressed', "
    "raw=b'N0WXA>APRS:!1000.00N/01000.00E_', latitude=10.0, longitude=10.0, data={'weather': {'temperature': 20 + n, "
    "'humidity': 60 - n, 'pressure': 1010 + n / 2, 'wind_speed': 3.0 + n / 4, 'wind_gust': 6.0, "
    "'wind_direction': 180}}) for n in range(12)]; "
    "Station.objects.create(callsign='N0MOVE', latitude=20.0, longitude=20.0, symbol='/>', "
    "first_heard=now - timedelta(hours=6), last_heard=now, position_at=now); "
    "[Packet.objects.create(received_at=now - timedelta(minutes=25 * n), source='N0MOVE', format='uncompressed', "
    "raw=b'N0MOVE>APRS:!2000.00N/02000.00E>', latitude=20.0 + n / 100, longitude=20.0 + n % 2 / 100, data={}) "
    "for n in range(12)]"
)

TELEMETRY_ARCHIVE = (  # SP9UVG-13's definitions and 12 reports as heard on APRS-IS, in the last 6 hours
    "import time; from gateway.archive import store_batch; from protocols.aprs.decode import decode_line; "
    "from tests.data import corpus_lines; "
    "lines = [line for line in corpus_lines('sp8ebc_aprsis_lines.txt') if line.startswith(b'SP9UVG-13>')]; "
    "kept = [next(line for line in lines if kind in line) for kind in (b':PARM.', b':UNIT.', b':EQNS.', b':BITS.')] "
    "+ [line for line in lines if b':T#' in line][:12]; "
    "store_batch([decode_line(line, time.time() - 1800 * (len(kept) - n)) for n, line in enumerate(kept)])"
)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The daemon (with users) and the replay server it logs in to."""
    workdir = tmp_path_factory.mktemp("web")
    capture = workdir / "capture.txt"
    capture.write_bytes(b"\r\n".join(CAPTURE) + b"\r\n")
    port = free_port()
    replay = replay_server(capture, port, 10, loop=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    daemons = Daemons(workdir)
    daemons.manage("migrate", "--noinput")
    daemons.manage("shell", "-c", USERS)
    daemons.manage("shell", "-c", ARCHIVED)
    daemons.manage("shell", "-c", WEATHER_ARCHIVE)
    daemons.manage("shell", "-c", TELEMETRY_ARCHIVE)
    gateway = daemons(
        env={
            "APRS_SERVERS": f"127.0.0.1:{port}",
            "MAP_TILE_URL": "",
            "MAP_CENTER_LAT": "49.05",
            "MAP_CENTER_LON": "-72.03",
            "MAP_ZOOM": "8",
        }
    )
    yield gateway
    daemons.stop_all()
    replay.terminate()
    replay.wait(10)


HAMS = (
    "from django.contrib.auth.models import User; from gateway.models import Profile; "
    "[Profile.objects.create(user=User.objects.create_user(name, password=f'{name}-secret-1'), "
    "callsign=call, callsign_verified=True) for name, call in (('ann', 'N0ANN'), ('bob', 'N0BOB'))]"
)


@pytest.fixture(scope="module")
def messaging_site(tmp_path_factory):
    """Two nodes sharing Redis and the database; aprsd 4.2.4 (station N0APD-5) on the first's server port."""
    require((PEERS / "aprsd").exists(), "aprsd in .venv-peers (make test installs it)")
    workdir = tmp_path_factory.mktemp("messaging")
    redis = RedisServer(workdir).start()
    daemons = Daemons(workdir)
    daemons.manage("shell", "-c", HAMS)
    port = free_port()
    env = {"REDIS_URL": redis.url, "MAP_TILE_URL": ""}
    nodes = (daemons("--no-aprs", "--igate-port", str(port), env=env), daemons("--no-aprs", env=env))
    with running_aprsd(workdir, port):
        yield nodes
    daemons.stop_all()
    redis.kill()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser(site):
    await site.started()
    require(Path(CHROMIUM).exists(), f"Chromium at {CHROMIUM}")
    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


class Watched:
    """A page whose script errors, CSP refusals and dialogs are recorded: none may happen."""

    def __init__(self, page):
        self.page = page
        self.problems = []
        page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        page.on("console", self.console)
        page.on("dialog", self.dialog)

    def console(self, message):
        if message.type == "error" and "Content Security Policy" in message.text:
            self.problems.append(f"CSP: {message.text}")

    async def dialog(self, dialog):
        self.problems.append(f"dialog: {dialog.message}")
        await dialog.dismiss()


@pytest_asyncio.fixture(loop_scope="module")
async def open_page(browser, site):
    """``await open_page(user=None)``: a page in a new context, logged in as ``user``."""
    contexts, watched = [], []

    async def opener(user=None, viewport=(1280, 800), color_scheme="light", base_url=site.url, locale="en-US"):
        context = await browser.new_context(
            base_url=base_url,
            color_scheme=color_scheme,
            viewport=dict(zip(("width", "height"), viewport, strict=True)),
            locale=locale,  # the browser's language and its Accept-Language
        )
        contexts.append(context)
        page = Watched(await context.new_page())
        watched.append(page)
        if user:
            await page.page.goto("/accounts/login/")
            await page.page.fill("#id_username", user)
            await page.page.fill("#id_password", f"{user}-secret-1")
            await page.page.click("main button[type=submit]")
            await page.page.wait_for_url(f"{base_url}/")
        return page.page

    yield opener
    for context in contexts:
        await context.close()
    assert [problem for page in watched for problem in page.problems] == []


async def test_map_shows_stations_and_their_info(open_page):
    page = await open_page()
    response = await page.goto("/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    car = page.locator('.aprs-marker[title="N0TEST-9"]')
    await expect(car).to_be_visible(timeout=15000)
    await expect(page.locator('.aprs-marker[title="N0TEST-5"]')).to_be_visible()
    await expect(page.locator('.aprs-marker[title="VK2XYZ"]')).to_have_count(0)  # not in view
    await car.click()
    panel = page.locator("#panel")
    await expect(panel).to_contain_text("N0TEST-9")
    await expect(panel).to_contain_text("FN")  # Maidenhead locator of 49N 72W
    await expect(panel).to_contain_text("Test car")
    await page.select_option("#units", "metric")
    await expect(panel).to_contain_text("67 km/h")  # 36 knots
    await expect(panel).to_contain_text("ago")
    await page.select_option("#units", "imperial")
    await expect(panel).to_contain_text("41 mph")
    await expect(page.locator("#status-link")).to_contain_text("connected", timeout=10000)
    await expect(page.locator("#status-clients")).not_to_have_text("0", timeout=10000)
    # VK2XYZ is out of view, two have no position; N0OLD only the archive knows (3 h ago: within 24 h)
    await expect(page.locator("#station-count")).to_have_text("(4)")
    await expect(page.locator('.aprs-marker[title="N0OLD"]')).to_be_visible()
    await expect(page.locator('.aprs-marker[title="N0ANCIENT"]')).to_have_count(0)  # 3 days ago
    await page.select_option("#since", "168")
    await expect(page.locator('.aprs-marker[title="N0ANCIENT"]')).to_be_visible()
    assert await page.locator(".leaflet-marker-icon[tabindex]").count() == 0  # the list is the keyboard path
    # the list keeps its order while the pointer is on it (the car moves every 0.2 s)
    buttons = page.locator("#station-list .station-button .call")
    await expect(buttons).to_have_count(5)
    await page.hover("#station-list")
    before = await buttons.all_text_contents()
    await page.wait_for_timeout(2500)
    assert await buttons.all_text_contents() == before
    await page.mouse.move(5, 400)
    await page.select_option("#list-order", "call")  # sortable: by callsign
    await expect(buttons).to_have_text(["N0ANCIENT", "N0OLD", "N0TEST-1", "N0TEST-5", "N0TEST-9"])
    await page.select_option("#list-order", "heard")
    # search: a station only the archive knows is found, centred, its panel open
    await page.fill("#search", "n0old")
    await page.press("#search", "Enter")
    await expect(page.locator("#panel .station-title")).to_contain_text("N0OLD")
    # distance and bearing from a home the user sets (here: the map's centre)
    await page.click("#home-centre")
    await expect(page.locator("#panel")).to_contain_text(re.compile(r"From home\s*[\d.]+ (km|mi), \d+° [NESW]+"))
    measured = await page.evaluate(
        """async () => {
            localStorage.setItem("aprs-gateway.units", "metric");
            const { distanceAndBearing } = await import("/static/gateway/common.js");
            return [distanceAndBearing({ lat: 0, lon: 0 }, 0, 1), distanceAndBearing({ lat: 50, lon: 20 }, 51, 20)];
        }"""
    )
    assert measured == ["111.2 km, 90° E", "111.2 km, 0° N"]
    await page.fill("#search", "N0TEST*")
    await page.press("#search", "Enter")
    await expect(page.locator("#search-matches li")).to_have_count(3)  # -1, -5, -9: the ones with a position here
    await page.locator("#search-matches button", has_text="N0TEST-5").click()
    await expect(page.locator("#panel .station-title")).to_contain_text("N0TEST-5")
    await page.keyboard.press("Escape")
    # no tile server (MAP_TILE_URL is empty, no network): land, borders and names all the same
    assert await page.locator("path.basemap-land").count() > 150
    label = page.locator('.aprs-marker[title="N0TEST-9"] .aprs-label')
    await expect(label).to_have_text("N0TEST-9")
    await expect(label).to_be_visible()  # callsigns beside the symbols
    await expect(page.locator('.aprs-marker[title="N0TEST-5"] img.aprs-symbol')).to_have_attribute("data-symbol", "/_")
    symbols = await page.evaluate(
        """async () => {
            const { symbolElement, symbolsReady } = await import("/static/gateway/symbols.js");
            await symbolsReady;
            const pixels = async (table, code, course) => {
                const image = symbolElement(table, code, course);
                await new Promise((resolve) => {
                    const wait = () => (image.src ? image.decode().then(resolve) : setTimeout(wait, 10));
                    wait();
                });
                const canvas = Object.assign(document.createElement("canvas"), { width: 40, height: 40 });
                const context = canvas.getContext("2d");
                context.drawImage(image, 0, 0);
                return [...context.getImageData(0, 0, 40, 40).data];
            };
            const opaque = (data) => data.filter((value, at) => at % 4 === 3 && value > 0).length;
            const mirrored = (data) => data.map((_, at) => {
                const pixel = at >> 2, row = Math.floor(pixel / 40), x = pixel % 40;
                return data[(row * 40 + 39 - x) * 4 + (at % 4)];
            });
            const [west, east, digi, overlaid, unknown, dot] = await Promise.all([
                pixels("/", ">", 270), pixels("/", ">", 90), pixels("\\\\", "#"), pixels("S", "#"),
                pixels("/", "\\x7f"), pixels("/", "/")]);
            return {
                drawn: [west, digi, overlaid].map(opaque),
                turned: JSON.stringify(mirrored(west)) === JSON.stringify(east),
                overlay: JSON.stringify(digi) !== JSON.stringify(overlaid),
                unknownIsTheDot: JSON.stringify(unknown) === JSON.stringify(dot),
            };
        }"""
    )
    assert min(symbols.pop("drawn")) > 100, symbols  # 4 canvas pixels per symbol pixel
    assert symbols == {"turned": True, "overlay": True, "unknownIsTheDot": True}
    await page.screenshot(path=ARTIFACTS / "map.png")
    # By keyboard: the weather station's entry in the list opens its readings.
    await page.locator("#station-list .station-button", has_text="N0TEST-5").focus()
    await page.keyboard.press("Enter")
    await expect(panel).to_contain_text("Temperature")
    await expect(panel).to_contain_text("Humidity")
    await expect(panel).to_contain_text("Wind from180°")  # its 180/010 is wind, never a course and speed
    await expect(panel).not_to_contain_text("Course")
    await expect(panel).not_to_contain_text("Speed")
    await page.keyboard.press("Escape")
    await expect(panel).to_be_hidden()
    await expect(page.locator("path.track")).to_have_count(1)  # the car moved: its track
    for _ in range(4):  # zoomed out, the five stations in view (three live, two archived) become one cluster
        await page.get_by_role("button", name="Zoom out").click()
        await page.wait_for_timeout(400)  # Leaflet ignores zoom clicks while it animates
    await expect(page.locator(".marker-cluster", has_text="5")).to_be_visible()


async def test_untrusted_comment_is_shown_as_text(open_page):
    page = await open_page()
    await page.goto("/")
    await page.locator(".station-button", has_text="N0TEST-1").click(timeout=15000)
    await expect(page.locator("#panel .comment")).to_have_text(XSS_COMMENT)
    assert await page.locator("img[src=x]").count() == 0
    await page.goto("/feed/")
    await expect(page.locator("#packets li", has_text=XSS_COMMENT).first).to_be_visible(timeout=15000)
    assert await page.locator("img[src=x]").count() == 0


async def test_feed_lists_packets_pauses_and_filters(open_page):
    page = await open_page()
    await page.goto("/feed/")
    rows = page.locator("#packets li")
    await expect(rows.nth(5)).to_be_visible(timeout=15000)
    undecoded = page.locator("#packets li.unknown").first
    await expect(undecoded).to_contain_text("not decoded")
    await expect(undecoded).to_contain_text("telemetry")
    await expect(page.locator("#packets .call").first).to_be_visible()
    await page.wait_for_timeout(1500)  # the 50 held packets came at once; the rate counts live ones only
    assert float(await page.locator("#feed-rate").text_content()) < 14  # the replay plays 10/s
    assert re.fullmatch(r"\d\d:\d\d:\d\d", await page.locator("#packets li time").first.text_content())  # compact
    await page.select_option("#time-zone", "utc")  # hams log in UTC
    await expect(page.locator("#packets li time").first).to_have_text(re.compile(r"^\d\d:\d\d:\d\d UTC$"))
    await page.reload()
    await expect(page.locator("#time-zone")).to_have_value("utc")  # remembered
    await page.select_option("#time-zone", "local")

    await page.click("#pause")
    await expect(page.locator("#pause")).to_have_attribute("aria-pressed", "true")
    shown = await rows.count()
    await expect(page.locator("#paused-count")).to_contain_text(r"waiting", timeout=5000)
    await page.wait_for_timeout(1500)
    assert await rows.count() == shown
    await page.screenshot(path=ARTIFACTS / "feed.png")
    await page.click("#pause")
    await expect(rows).not_to_have_count(shown)

    await page.fill("#filter", "b/VK2XYZ")
    await page.press("#filter", "Enter")
    await expect(rows.first).to_contain_text("VK2XYZ", timeout=10000)
    await page.wait_for_timeout(1500)
    texts = await rows.all_text_contents()
    assert texts and all("VK2XYZ" in text for text in texts)
    assert "filter=b%2FVK2XYZ" in page.url

    await page.fill("#filter", "r/1/2")
    await page.press("#filter", "Enter")
    await expect(page.locator("#filter-error")).to_contain_text("invalid filter")
    await expect(page.locator("#filter")).to_have_attribute("aria-invalid", "true")


async def test_station_page_shows_what_the_node_holds(open_page):
    page = await open_page(viewport=(390, 844), color_scheme="dark")  # a phone at night
    await page.goto("/station/n0test-9/")
    background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(13, 17, 23)", background
    await expect(page.locator("h1")).to_contain_text("N0TEST-9")
    await expect(page.locator("#panel")).to_contain_text("Test car", timeout=15000)
    await expect(page.locator("#history li").first).to_contain_text("N0TEST-9>APRS")
    await expect(page.locator('.aprs-marker[title="N0TEST-9"]')).to_be_visible()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide on a 390 px phone"
    await page.screenshot(path=ARTIFACTS / "station-phone.png", full_page=True)


async def test_two_users_chat_and_markup_stays_text(open_page):
    ann = await open_page("ann")
    bob = await open_page("bob")
    await ann.goto("/chat/")
    await bob.goto("/chat/")
    for page in (ann, bob):
        await expect(page.locator("#chat-state")).to_have_text("connected")
        await expect(page.locator("#say")).to_be_enabled()
    await expect(ann.locator("#presence")).to_contain_text("bob")
    await ann.fill("#say", "hello from ann")
    await ann.press("#say", "Enter")
    await expect(bob.locator("#messages")).to_contain_text("hello from ann")
    script = "<script>window.pwned = 1; alert(1)</script>"
    await bob.fill("#say", script)
    await bob.click("#say-button")
    await expect(ann.locator("#messages li .text", has_text=script)).to_have_text(script)
    assert await ann.evaluate("window.pwned") is None
    await ann.screenshot(path=ARTIFACTS / "chat.png")


async def test_server_errors_reach_the_user(open_page):
    ann = await open_page("ann")
    await ann.goto("/chat/")
    await expect(ann.locator("#say")).to_be_enabled(timeout=10000)
    for number in range(7):  # the limit is 5 messages in 5 s
        await ann.fill("#say", f"flood {number}")
        await ann.press("#say", "Enter")
    await expect(ann.locator("#chat-error")).to_contain_text("too many messages")
    reader = await open_page()
    await reader.goto("/chat/")
    await expect(reader.locator("#may-speak")).to_contain_text("Log in to speak")
    await expect(reader.locator("#say")).to_be_disabled()
    await reader.goto("/chat/no-such-room/")
    assert "no such room" in (await reader.content()).lower() or "not found" in (await reader.content()).lower()


async def test_only_staff_open_the_admin_chat_and_moderate(open_page):
    bob = await open_page("bob")
    response = await bob.goto("/chat/admin/")
    assert response.status == 403
    await expect(bob.locator("#forbidden")).to_contain_text("staff only")
    anonymous = await open_page()
    await anonymous.goto("/chat/admin/")
    assert "/accounts/login/" in anonymous.url

    mod = await open_page("mod")
    await mod.goto("/admin/")  # Django's admin lives under the same CSP
    await expect(mod.locator("body")).to_contain_text("Site administration")
    await bob.goto("/chat/")
    await expect(bob.locator("#say")).to_be_enabled(timeout=10000)
    await bob.fill("#say", "please delete me")
    await bob.press("#say", "Enter")
    await mod.goto("/chat/")
    message = mod.locator("#messages li", has_text="please delete me")
    await message.get_by_role("button", name="Delete").click()
    await expect(bob.locator("#messages li", has_text="please delete me")).to_have_count(0)

    await mod.goto("/chat/admin/")
    await expect(mod.locator("#chat-state")).to_have_text("connected")
    await mod.fill("#announce-text", "net tonight at 20:00")
    await mod.press("#announce-text", "Enter")
    await expect(mod.locator("#admin-log")).to_contain_text("done: announce")
    await bob.goto("/chat/")
    await expect(bob.locator("#messages li.announcement")).to_contain_text("net tonight")


async def test_chat_shows_a_lost_connection_and_comes_back(open_page, tmp_path):
    daemons = Daemons(tmp_path)
    daemons.manage("migrate", "--noinput")
    daemons.manage("shell", "-c", USERS)
    port = free_port()
    first = await daemons("--no-aprs", port=port).started()
    try:
        ann = await open_page("ann", base_url=first.url)
        await ann.goto("/chat/")
        state = ann.locator("#chat-state")
        await expect(state).to_have_text("connected", timeout=10000)
        first.stop()
        await expect(state).to_contain_text("retrying in", timeout=10000)
        await expect(state).to_have_attribute("data-state", "disconnected")
        await daemons("--no-aprs", port=port).started()
        await expect(state).to_have_text("connected", timeout=40000)
        await ann.fill("#say", "back again")
        await ann.press("#say", "Enter")
        await expect(ann.locator("#messages")).to_contain_text("back again")
    finally:
        daemons.stop_all()


async def test_messages_between_two_users_on_two_nodes_and_with_aprsd(open_page, messaging_site):
    first, second = messaging_site
    await first.started()
    await second.started()
    await first.until_log("(N0APD-5) logged in", timeout=60)
    ann = await open_page("ann", base_url=first.url)
    bob = await open_page("bob", base_url=second.url)
    await ann.goto("/messages/?to=N0BOB")
    await bob.goto("/messages/")
    await expect(ann.locator("#may-send")).to_contain_text("You write as N0ANN")
    await ann.fill("#send-text", "hello bob")
    await ann.click("#send-button")
    await expect(ann.locator(".bubble.out").last).to_contain_text("acked")  # delivered on this gateway
    await expect(bob.locator("#unread-count")).to_have_text("1")  # on the other node, live
    await bob.click("#conversations a:has-text('N0ANN')")
    await expect(bob.locator(".bubble.in")).to_contain_text("hello bob")
    await expect(bob.locator("#unread-count")).to_be_hidden()
    await bob.fill("#send-text", "hi ann")
    await bob.click("#send-button")
    await expect(ann.locator(".bubble.in").last).to_contain_text("hi ann")
    # a real station: aprsd acks the ping and answers, its pong shows up in the thread
    await ann.click("#new-station")
    await ann.fill("#new-station", "n0apd-5")
    await ann.press("#new-station", "Enter")
    await expect(ann.locator("#thread-title")).to_have_text("N0APD-5")
    await ann.fill("#send-text", "ping")
    await ann.click("#send-button")
    await expect(ann.locator(".bubble.out").last).to_contain_text("acked", timeout=30000)
    await expect(ann.locator(".bubble.in").last).to_contain_text("Pong!", timeout=30000)
    await ann.screenshot(path=ARTIFACTS / "messages.png", full_page=True)
    # and a station nothing can reach: said so
    await ann.fill("#new-station", "N9NONE")
    await ann.press("#new-station", "Enter")
    await ann.fill("#send-text", "anyone?")
    await ann.click("#send-button")
    await expect(ann.locator(".bubble.out").last).to_contain_text("not sent: no route", timeout=15000)


async def test_the_offline_basemap_darkens_with_the_page(open_page):
    page = await open_page(color_scheme="dark")
    await page.goto("/")
    await expect(page.locator("path.basemap-land").first).to_be_attached(timeout=15000)
    sea = await page.locator("#map").evaluate("node => getComputedStyle(node).backgroundColor")
    land = await page.locator("path.basemap-land").first.evaluate("node => getComputedStyle(node).fill")
    assert sea == "rgb(20, 32, 41)" and land == "rgb(42, 47, 43)", (sea, land)
    for _ in range(5):  # to zoom 3: country names
        await page.get_by_role("button", name="Zoom out").click()
        await page.wait_for_timeout(400)  # Leaflet ignores zoom clicks while it animates
    await expect(page.locator(".basemap-name", has_text="Canada")).to_be_visible()
    for _ in range(4):  # back in, until the three stations are apart again
        await page.get_by_role("button", name="Zoom in").click()
        await page.wait_for_timeout(400)
    await page.wait_for_timeout(1500)  # the labels are laid out once a second
    boxes = await page.locator(".aprs-label:not(.aprs-label-hidden)").evaluate_all(
        "labels => labels.map((label) => label.getBoundingClientRect().toJSON())"
    )  # all at once: markers come and go as packets arrive
    for n, one in enumerate(boxes):  # no two callsigns drawn over each other
        for other in boxes[n + 1 :]:
            assert (
                one["right"] <= other["left"]
                or other["right"] <= one["left"]
                or one["bottom"] <= other["top"]
                or other["bottom"] <= one["top"]
            ), (one, other)
    await page.screenshot(path=ARTIFACTS / "map-dark.png")


async def test_a_weather_station_page_charts_its_archived_readings(open_page):
    page = await open_page()
    await page.goto("/station/N0WXA/")
    charts = page.locator("#weather-charts .chart")
    await expect(charts).to_have_count(4)  # temperature, wind, pressure, humidity (no rain reported)
    await expect(charts.first.locator("canvas")).to_be_visible()
    await expect(page.locator("#weather-charts")).to_contain_text("Temperature (°F)")  # a US browser: imperial
    await expect(page.locator("#weather-charts")).to_contain_text("Wind (mph)")
    await page.select_option("#units", "metric")  # the charts follow the units, as the panel does
    await expect(page.locator("#weather-charts")).to_contain_text("Temperature (°C)")
    await expect(page.locator("#weather-charts")).to_contain_text("Wind (km/h)")
    links = page.locator("#panel .lookups a")
    assert await links.evaluate_all("nodes => nodes.map((node) => node.href)") == [
        f"{page.url.split('/station/')[0]}/station/N0WXA/",
        "https://aprs.fi/info/a/N0WXA",
        "https://www.qrz.com/db/N0WXA",
    ]
    await page.screenshot(path=ARTIFACTS / "weather-charts.png", full_page=True)
    await page.select_option("#chart-hours", "1")  # the last hour: 3 readings (0, 30 and 60 min ago at most)
    await expect(charts.first.locator("canvas")).to_be_visible()
    await expect(page.locator("#weather-charts")).to_be_visible()


async def test_a_telemetry_station_page_charts_its_channels_by_their_definitions(open_page):
    page = await open_page()
    await page.goto("/station/SP9UVG-13/")
    section = page.locator("#telemetry-charts")
    await expect(section.locator(".chart")).to_have_count(5)
    await expect(section).to_contain_text("Vin (Volt)")  # PARM and UNIT name the channels
    await expect(section).to_contain_text("Effog (Pcnt)")
    await expect(section.locator(".telemetry-bits")).to_contain_text("Wx3in1Plus2.0Telemetry: O1 off")  # BITS
    # EQNS 0,0.079,0 applied: the first report's Vin 163 is 12.877 V, inside the chart's axis
    scaled = await page.evaluate(
        "fetch('/api/stations/SP9UVG-13/telemetry/').then((r) => r.json())"
        ".then((b) => b.telemetry.map((row) => b.equations[0][1] * row.analog[0]))"
    )
    assert len(scaled) == 12 and all(10 < volts < 15 for volts in scaled)
    await expect(page.locator("#weather-charts")).to_be_hidden()
    await section.locator(".chart .u-over").first.hover()  # the legend shows the time under the pointer
    legend_time = await section.locator(".chart .u-legend .u-series .u-value").first.inner_text()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", legend_time), legend_time  # ISO date, 24-hour clock
    await page.screenshot(path=ARTIFACTS / "telemetry-charts.png", full_page=True)


async def test_a_station_page_draws_its_track_over_the_chosen_range(open_page):
    page = await open_page()
    await page.goto("/station/N0MOVE/")
    track = page.locator("path.track")
    await expect(track).to_have_count(1)
    segments = lambda: track.evaluate("node => (node.getAttribute('d').match(/L/g) || []).length")  # noqa: E731
    api = await page.evaluate("fetch('/api/stations/N0MOVE/').then((r) => r.json()).then((b) => b.track.length)")
    assert (api, await segments()) == (12, 11)  # 12 positions in the last 24 hours
    await page.select_option("#chart-hours", "1")
    await expect(track).to_have_attribute("d", re.compile(r"^M[^L]*(L[^L]*){2}$"))  # 3 in the last hour


# Words of the English interface that a Vietnamese page must not show outside data (callsigns,
# comments, raw packets), whatever element they are in.
ENGLISH = re.compile(
    r"\b(Map|Feed|Chat|Messages|Units|Time|Log in|Register|packets/s|clients online|connected|connecting|"
    r"Stations|Find|Order by|Position|Speed|Course|Last heard|Weather|History|Send|Rooms|Filter|Pause|ago)\b"
)
USER_DATA = ".mono, .comment, .call, .station-title, .text, .name, .raw, #map-filter, .basemap-name, .aprs-label"


async def interface_text(page):
    """The page's visible text without what users and stations wrote."""
    return await page.evaluate(
        """(data) => {
            const copy = document.body.cloneNode(true);
            copy.querySelectorAll(data).forEach((node) => node.remove());
            copy.querySelectorAll("[hidden], script, template").forEach((node) => node.remove());
            return copy.innerText;
        }""",
        USER_DATA,
    )


async def test_every_page_speaks_vietnamese_to_a_vietnamese_browser(open_page):
    page = await open_page(locale="vi-VN")
    await page.goto("/")
    assert await page.get_attribute("html", "lang") == "vi"
    await expect(page.locator("nav a[aria-current=page]")).to_have_text("Bản đồ")
    await expect(page.locator("#status-link")).to_have_text("đã kết nối, chưa xác minh", timeout=15000)
    await expect(page.locator(".statusbar")).to_contain_text("gói/giây")
    await expect(page.locator("#status-rate")).to_have_text(re.compile(r"^\d+,\d$"))  # a decimal comma
    car = page.locator('.aprs-marker[title="N0TEST-9"]')
    await expect(car).to_be_visible(timeout=15000)
    await car.click()
    panel = page.locator("#panel")
    await expect(panel).to_contain_text("Vị trí")
    await expect(panel).to_contain_text("67 km/h")  # metric by default in Vietnamese
    await expect(panel).to_contain_text(re.compile(r"49,05\d\d° N"))
    await expect(panel).to_contain_text(re.compile(r"Thời điểm vị trí\s*\d\d:\d\d:\d\d"))  # a 24-hour clock
    await expect(panel).to_contain_text("giây trước")
    assert not ENGLISH.search(await interface_text(page)), await interface_text(page)
    await page.screenshot(path=ARTIFACTS / "map-vi.png")

    await page.goto("/feed/")
    await expect(page.locator("h1")).to_have_text("Luồng gói tin")
    await expect(page.locator("#socket-state")).to_have_text("trực tiếp")
    await page.fill("#filter", "m/50")  # the feed has no login: m/ cannot apply, and nothing else is left
    await page.press("#filter", "Enter")
    await expect(page.locator("#filter-error")).to_have_text(
        "bộ lọc không hợp lệ: 'm/50': m/ cần một hô hiệu đã đăng nhập"
    )
    await page.click("#pause")
    await expect(page.locator("#pause")).to_have_text("Tiếp tục")
    await expect(page.locator("#paused-count")).to_contain_text("tạm dừng:")
    assert not ENGLISH.search(await interface_text(page)), await interface_text(page)

    await page.goto("/station/N0WXA/")
    await expect(page.locator("#weather-charts h2")).to_have_text("Thời tiết")
    await expect(page.locator("#weather-charts")).to_contain_text("Nhiệt độ (°C)")
    assert not ENGLISH.search(await interface_text(page)), await interface_text(page)


async def test_chat_and_moderation_speak_vietnamese_and_the_switcher_remembers(open_page):
    bob = await open_page("bob", locale="vi-VN")
    await bob.goto("/chat/")
    await expect(bob.locator("#chat-state")).to_have_text("đã kết nối")
    await expect(bob.locator("#may-speak")).to_have_text("Bạn nói với tên bob.")
    for number in range(7):  # past the limit of 5 messages in 5 s: the server's refusal, in Vietnamese
        await bob.fill("#say", f"tin {number}")
        await bob.press("#say", "Enter")
    await expect(bob.locator("#chat-error")).to_contain_text(re.compile(r"gửi quá nhiều tin; thử lại sau \d+,\d giây"))
    assert not ENGLISH.search(await interface_text(bob)), await interface_text(bob)
    await bob.screenshot(path=ARTIFACTS / "chat-vi.png")

    mod = await open_page("mod", locale="vi-VN")
    await mod.goto("/chat/admin/")
    await expect(mod.locator("h1")).to_contain_text("Kiểm duyệt")
    await expect(mod.locator("#chat-state")).to_have_text("đã kết nối")
    await mod.fill("#user-name", "nobody-here")
    await mod.click("#user-form button[value=mute]")
    await expect(mod.locator("#chat-error")).to_have_text("không có người dùng 'nobody-here'")
    assert not ENGLISH.search(await interface_text(mod)), await interface_text(mod)

    await bob.goto("/messages/")
    await expect(bob.locator(".rooms h2").first).to_have_text("Cuộc trò chuyện")
    await expect(bob.locator("#messages-state")).to_have_text("đã kết nối")
    # The switcher: English from now on, for this browser, whatever it asks for.
    await bob.select_option("#language", "en")
    await expect(bob.locator("html")).to_have_attribute("lang", "en")
    await expect(bob.locator("nav a[aria-current=page]")).to_contain_text("Messages")
    await bob.reload()
    await expect(bob.locator("html")).to_have_attribute("lang", "en")
    await expect(bob.locator("#messages-state")).to_have_text("connected")
    await bob.select_option("#language", "vi")
    await expect(bob.locator("html")).to_have_attribute("lang", "vi")
