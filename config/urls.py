from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from gateway.web import api, views
from gateway.web.throttle import AdminLoginForm, LoginForm

admin.site.login_form = AdminLoginForm  # both login pages are throttled

urlpatterns = [
    path("", views.map_page, name="map"),
    path("feed/", views.feed_page, name="feed"),
    path("station/<str:callsign>/", views.station_page, name="station"),
    path("messages/", views.messages_page, name="messages"),
    path("chat/", views.chat_page, name="chat"),
    path("chat/admin/", views.chat_admin_page, name="chat-admin"),
    path("chat/<str:room>/", views.chat_page, name="chat-room"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
    path("api/status", views.status, name="status"),
    path("api/stations/", api.stations, name="api-stations"),
    path("api/stations/<str:callsign>/", api.station, name="api-station"),
    path("api/stations/<str:callsign>/weather/", api.weather, name="api-weather"),
    path("api/stations/<str:callsign>/telemetry/", api.telemetry, name="api-telemetry"),
    path("api/packets/", api.packets, name="api-packets"),
    path("api/bad-packets/", api.bad_packets, name="api-bad-packets"),
    path("accounts/register/", views.register, name="register"),
    path("accounts/login/", auth_views.LoginView.as_view(authentication_form=LoginForm), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the switcher on every page
    path("jsi18n/", JavaScriptCatalog.as_view(packages=["gateway"]), name="javascript-catalog"),
]
