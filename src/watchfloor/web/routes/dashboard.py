"""The dashboard: volume over time, SLA performance, top hashtags and domains, imports (page and API)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from watchfloor.services.console_dashboard import Chart, dashboard
from watchfloor.web.audited import audit
from watchfloor.web.deps import Caller, caller, service
from watchfloor.web.routes.alert_models import DashboardOut
from watchfloor.web.templating import render

router = APIRouter()
Who = Annotated[Caller, Depends(caller)]
Hours = Annotated[int, Query(ge=1, le=744, description="The period shown, in hours up to now.")]


def chart_data(chart: Chart) -> str:
    """The JSON app.js hands to uPlot: unix-second bucket starts and one count list per series."""
    return json.dumps(
        {
            "x": [int(start.timestamp()) for start in chart.starts],
            "series": [{"label": s.label, "y": s.counts} for s in chart.series],
        }
    )


@router.get("/dashboard", include_in_schema=False, openapi_extra=audit("dashboard.view"))
def dashboard_page(request: Request, who: Who, hours: Hours = 24) -> Response:
    board = dashboard(service(request), actor=who.actor, hours=hours)
    charts = {
        "alerts": chart_data(board.alerts_by_rule),
        "platforms": chart_data(board.posts_by_platform),
        "languages": chart_data(board.posts_by_language),
    }
    return render(request, "dashboard.html", who, board=board, charts=charts, hours=hours)


@router.get("/api/dashboard", response_model=DashboardOut, openapi_extra=audit("dashboard.view"))
def api_dashboard(request: Request, who: Who, hours: Hours = 24) -> DashboardOut:
    """Alert and post volume per bucket, SLA performance, top hashtags and domains, recent imports."""
    return DashboardOut.of(dashboard(service(request), actor=who.actor, hours=hours))
