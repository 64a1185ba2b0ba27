"""查询 Search: entries by site and time; unsealing a subject id needs the privacy role (audited).

Subject ids stay sealed in the database (a listener writing PostgreSQL refuses the key): they are
opened one at a time, here, by a user with `console.unseal_subject`, with that township's own key
(`keyring`), and each opening is logged with who, when and which event, never the id itself.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kiosk.feed.sealing import SealError
from township.console import keyring, scope
from township.console.daily import zone
from township.console.labels import reasons_text
from township.console.views.common import audit, day_param, today

log = logging.getLogger(__name__)
LIMIT = 500
QUERY = """
SELECT day, township, site, kiosk, event_id, at, alert, decision, reasons, temperature_c, name, policy_version,
       sid_sealed IS NOT NULL AS sealed
FROM feed_entry WHERE day BETWEEN %s AND %s AND township = ANY(%s) AND (%s = '' OR site = %s)
  AND at >= %s AND at < %s AND (NOT %s OR alert)
ORDER BY at DESC LIMIT %s
"""


@login_required
def search_page(request: HttpRequest) -> HttpResponse:
    codes = scope.codes(request.user)
    sites = list(scope.sites(request.user))
    first = day_param(request, "from", today())
    last = max(first, day_param(request, "to", first))
    site = request.GET.get("site", "")
    alerts_only = request.GET.get("alerts") == "1"
    tz = zone()
    start = dt.datetime.combine(first, dt.time(0), tz)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tz)
    rows = []
    if "from" in request.GET:
        with connection.cursor() as cur:
            cur.execute(QUERY, (first, last, codes, site, site, start, end, alerts_only, LIMIT))
            names = [c.name for c in cur.description]
            rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        for r in rows:
            r["reasons_text"] = reasons_text(r["reasons"])
            # The unseal button's values as JSON made here, never by templating kiosk strings into JSON.
            r["unseal"] = json.dumps({"day": r["day"].isoformat(), "township": r["township"], "site": r["site"],
                                      "kiosk": r["kiosk"], "event_id": r["event_id"]})
    return render(request, "console/search.html", {
        "rows": rows, "sites": sites, "site": site, "first": first, "last": last, "alerts_only": alerts_only,
        "searched": "from" in request.GET, "limit": LIMIT,
        "may_unseal": request.user.has_perm("console.unseal_subject")})


@login_required
@require_POST
def unseal(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("console.unseal_subject"):
        return HttpResponseForbidden(_("Only the privacy role may unseal subject ids."))
    township = request.POST.get("township", "")
    if not scope.may_see(request.user, township):
        return HttpResponseForbidden("not allowed")
    try:
        day = dt.date.fromisoformat(request.POST.get("day", ""))
    except ValueError:
        return HttpResponseBadRequest(_("Which day? (YYYY-MM-DD)"))
    key = (day, township, request.POST.get("site", ""), request.POST.get("kiosk", ""),
           request.POST.get("event_id", ""))
    with connection.cursor() as cur:
        cur.execute("SELECT sid_sealed FROM feed_entry WHERE day = %s AND township = %s AND site = %s AND kiosk = %s "
                    "AND event_id = %s", key)
        row = cur.fetchone()
    if row is None or not row[0]:
        return HttpResponse(_("no sealed id"), status=404)
    try:
        sid = keyring.opener(township).open(row[0])
    except keyring.KeyUnavailable as exc:
        log.error("unseal: %s", exc)  # the reason (a path, a mode), never a key
        return HttpResponse(_("This township's sealing key is not available on the console."), status=503)
    except SealError:
        return HttpResponse(_("This id cannot be opened with the township's key."), status=422)
    audit(request, "unseal", township=township, target="/".join(key[2:]), day=day.isoformat())
    return render(request, "console/_unsealed.html", {"sid": sid})
