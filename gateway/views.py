"""HTTP views: the start page, accounts, liveness and the link status."""

from django.contrib.auth import login
from django.http import JsonResponse
from django.shortcuts import redirect, render

from gateway import runtime
from gateway.forms import RegistrationForm
from gateway.hub import running_hub


def index(request):
    return render(request, "gateway/index.html")


def register(request):
    form = RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        login(request, form.save())
        return redirect("index")
    return render(request, "registration/register.html", {"form": form})


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
