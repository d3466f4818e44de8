"""HTTP views: the pages (map, feed, station, chat), accounts, health, readiness,
metrics and the link status.

The pages are HTML shells: their scripts (static/gateway/) fill them from the
websockets and the JSON API. Values a script needs come through ``json_script``,
never inline script: the Content-Security-Policy forbids it.
"""

import asyncio
import hmac
import ipaddress
import re

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.views import redirect_to_login
from django.db import connection
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils.translation import gettext
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError

from gateway import inbox
from gateway.daemon import leader, runtime
from gateway.daemon.link_metrics import LINKS
from gateway.feed.hub import running_hub
from gateway.metrics import people_online
from gateway.models import LOBBY, Room
from gateway.web.forms import RegistrationForm

STATION_NAME = re.compile(r"[A-Z0-9][A-Z0-9-]{0,15}")


def page_settings(request):
    """What every page's scripts need to know, for ``json_script``; and a logged-in
    user's unread APRS messages, for the header."""
    context = {
        "page_settings": {
            "tileUrl": settings.MAP_TILE_URL,
            "tileAttribution": settings.MAP_TILE_ATTRIBUTION,
            "center": settings.MAP_CENTER,
            "zoom": settings.MAP_ZOOM,
            "atlasUrl": static("world-atlas/"),
        }
    }
    if request.user.is_authenticated:
        context["unread_messages"] = inbox.unread(request.user)
    return context


def map_page(request):
    return render(request, "gateway/map.html")


def feed_page(request):
    return render(request, "gateway/feed.html")


def station_page(request, callsign):
    callsign = callsign.upper()
    if not STATION_NAME.fullmatch(callsign):
        raise Http404("not a callsign")
    return render(request, "gateway/station.html", {"callsign": callsign})


def messages_page(request):
    """A logged-in user's APRS conversations (consumers/messages.py keeps them live)."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    return render(request, "gateway/messages.html", {"to": request.GET.get("to", "")[:9]})


def chat_page(request, room=LOBBY):
    if not Room.objects.filter(name=room).exists():
        raise Http404("no such room")
    rooms = list(Room.objects.order_by("name").values_list("name", "title"))
    return render(request, "gateway/chat.html", {"room": room, "rooms": rooms})


def chat_admin_page(request):
    """Staff only: anonymous visitors are sent to log in, others get a 403 page."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not request.user.is_staff:
        return render(
            request, "gateway/forbidden.html", {"reason": gettext("The admin chat is for staff only.")}, status=403
        )
    rooms = list(Room.objects.order_by("name").values_list("name", flat=True))
    return render(request, "gateway/chat_admin.html", {"rooms": rooms})


def register(request):
    form = RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        login(request, form.save())
        return redirect("map")
    return render(request, "registration/register.html", {"form": form})


def healthz(request):
    """The process answers: 200. What it depends on is /readyz's business."""
    return JsonResponse({"status": "ok"})


async def readyz(request):
    """200 when this node can do its job, 503 (with the failing check) when not."""
    checks = {
        "database": await _check(sync_to_async(_database_answers)()),
        "channel_layer": await _check(_layer_round_trip()),
        "aprs_link": await _link_check(),
        **{f"task {name}": task.status() for name, task in runtime.tasks.items()},
    }
    ready = all(check["ok"] for check in checks.values())
    return JsonResponse({"ready": ready, "checks": checks}, status=200 if ready else 503)


async def _check(probe, timeout=2.0):
    try:
        await asyncio.wait_for(probe, timeout)
        return {"ok": True}
    except asyncio.TimeoutError:
        return {"ok": False, "error": f"no answer in {timeout:g} s"}
    except Exception as exc:  # noqa: BLE001  (a probe reports whatever went wrong)
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}


def _database_answers():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


async def _layer_round_trip():
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "readyz.ping"})
    await layer.receive(channel)


async def _link_check():
    """Not ready while this node holds the uplink and is not logged in upstream, nor while
    a cluster that has an uplink to hold (on Redis) has no node holding it: a node standing
    by then feeds its clients nothing (after a Redis outage, until a node takes the lock)."""
    uplink = runtime.uplink
    if uplink is not None:
        state = uplink.state
        return {"ok": state in ("verified", "unverified"), "state": state}
    if settings.REDIS is None or not (settings.APRS_ENABLED or settings.KISS_SERVER):
        return {"ok": True, "state": runtime.uplink_role}
    try:
        held_by = await asyncio.wait_for(leader.holder(), 2.0)
    except (RedisError, OSError, asyncio.TimeoutError) as exc:
        return {"ok": False, "state": runtime.uplink_role, "error": f"cannot ask Redis who leads: {exc}"}
    if held_by is None:
        return {"ok": False, "state": runtime.uplink_role, "error": "no node of the cluster holds the uplink"}
    return {"ok": True, "state": runtime.uplink_role, "leader": held_by}


def metrics(request):
    """Prometheus text format, for allowed networks or the bearer token only."""
    if not _may_scrape(request):
        return HttpResponse(
            "forbidden: see METRICS_ALLOWED_NETWORKS / METRICS_TOKEN\n", status=403, content_type="text/plain"
        )
    return HttpResponse(generate_latest() + generate_latest(LINKS), content_type=CONTENT_TYPE_LATEST)


def _may_scrape(request):
    token = settings.METRICS_TOKEN
    offered = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(offered.encode(), f"Bearer {token}".encode()):
        return True
    if "HTTP_X_FORWARDED_FOR" in request.META or "HTTP_FORWARDED" in request.META:
        return False  # through a proxy: the address is the proxy's, never proof of a local client
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in settings.METRICS_ALLOWED_NETWORKS)


async def status(request):
    """APRS-IS link state and live-feed counters, for the page and for scripts."""
    link = runtime.uplink.status() if runtime.uplink else {"state": runtime.uplink_role}
    hub = running_hub()
    feed = {"clients": 0, "packets": 0, "lost": 0}
    if hub is not None:
        feed = {"clients": len(hub.subscriptions), "packets": hub.packets, "lost": hub.lost}
    local = {
        "igate": runtime.igate_port.status() if runtime.igate_port else None,
        "tnc": runtime.tnc.status() if runtime.tnc else None,
        "mqtt": runtime.mqtt.status() if runtime.mqtt else None,
    }
    return JsonResponse({"link": link, "feed": feed, "online": people_online(), **local})
