from django.contrib import admin
from django.urls import path

from gateway import views

urlpatterns = [
    path("", views.index, name="index"),
    path("healthz", views.healthz, name="healthz"),
    path("api/status", views.status, name="status"),
    path("admin/", admin.site.urls),
]
