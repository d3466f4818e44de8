"""HTTP views: the start page, liveness and the link status."""

from django.http import JsonResponse
from django.shortcuts import render

from gateway import runtime
from gateway.hub import running_hub


def index(request):
    return render(request, "gateway/index.html")


def healthz(request):
    """The process answers: 200. Readiness checks come with /readyz."""
    return JsonResponse({"status": "ok"})


async def status(request):
    """APRS-IS link state and live-feed counters, for the page and for scripts."""
    link = runtime.aprs_server.status() if runtime.aprs_server else {"state": "off"}
    hub = running_hub()
    feed = {"clients": 0, "packets": 0, "lost": 0}
    if hub is not None:
        feed = {"clients": len(hub.subscriptions), "packets": hub.packets, "lost": hub.lost}
    return JsonResponse({"link": link, "feed": feed})
