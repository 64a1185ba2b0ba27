"""The console's URLs: seven pages, their htmx fragments, the live stream, login, language, admin."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.static import serve

from township.console.settings import STATIC_ROOT
from township.console.views import alerts, live, pages, policy, reports, search

urlpatterns = [
    path("", pages.today_page, name="today"),
    path("today/table/", pages.today_table, name="today-table"),
    path("alerts/", alerts.alerts_page, name="alerts"),
    path("alerts/table/", alerts.alerts_table, name="alerts-table"),
    path("alerts/popup/", alerts.popup, name="alerts-popup"),
    path("alerts/ack-all/", alerts.acknowledge_all, name="alert-ack-all"),
    path("alerts/<int:pk>/ack/", alerts.acknowledge, name="alert-ack"),
    path("alerts/<int:pk>/close/", alerts.close, name="alert-close"),
    path("kiosks/", pages.kiosks_page, name="kiosks"),
    path("kiosks/table/", pages.kiosks_table, name="kiosks-table"),
    path("reports/", reports.reports_page, name="reports"),
    path("reports/xlsx/", reports.reports_xlsx, name="reports-xlsx"),
    path("search/", search.search_page, name="search"),
    path("search/unseal/", search.unseal, name="unseal"),
    path("policy/", policy.policy_page, name="policy"),
    path("policy/acks/", policy.acks_table, name="policy-acks"),
    path("live/", live.stream, name="live"),
    path("login/", auth_views.LoginView.as_view(template_name="console/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    # A handful of vendored files for a few office users: Django serves them itself (no CDN, no nginx needed).
    re_path(r"^static/(?P<path>.*)$", serve, {"document_root": STATIC_ROOT}),
]
