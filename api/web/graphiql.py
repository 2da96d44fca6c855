"""GraphiQL, served entirely by us so that it works with no internet (no CDN, no web fonts).

The assets in ``static/graphiql`` are npm packages copied unchanged; ``VERSIONS.txt`` names each package,
version and tarball integrity. To upgrade: ``npm pack graphiql@<v> react@18 react-dom@18``, copy the same
files, update ``VERSIONS.txt``, and run ``tests/web``.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

STATIC_PREFIX = "/graphiql/static"
STATIC_DIR = Path(__file__).parent / "static" / "graphiql"
SCRIPTS = ("react.production.min.js", "react-dom.production.min.js", "graphiql.min.js", "chargeops-graphiql.js")
STYLESHEETS = ("graphiql.min.css",)

DEFAULT_QUERY = """# ChargeOps GraphQL. Stations near West Lake, Hangzhou (GCJ-02), with their piles:
query StationsNearby {
  stationsNear(latitude: 30.2741, longitude: 120.1551, radiusM: 20000) {
    name
    distanceM
    connectorCounts { available charging faulted }
    chargePoints {
      id
      online
      connectors { connectorNo kind maxPowerW status activeSession { id phase energyWh socEndPct } }
    }
  }
}

# Live data of one session (run `chargeops simulate`, then put an activeSession id here):
# subscription { sessionUpdates(sessionId: "1") { __typename
#   ... on SessionSampleRecorded { sample { powerW currentMa voltageMv socPct } sessionEnergyWh }
#   ... on SessionPhaseEntered { phase at } ... on SessionClosed { stopReason energyWh } } }
"""


def _script_json(value: object) -> str:
    """JSON that is safe inside <script>: no '<', '>' or '&' that could end the element or open a comment."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def graphiql_html(endpoint: str = "/graphql", subscription_endpoint: str | None = None) -> str:
    """The GraphiQL page for ``endpoint``; subscriptions go to ``subscription_endpoint`` or ws(s)://<host><endpoint>."""
    config = {"endpoint": endpoint, "subscriptionEndpoint": subscription_endpoint, "defaultQuery": DEFAULT_QUERY}
    styles = "\n".join(
        f'<link rel="stylesheet" href="{html.escape(STATIC_PREFIX)}/{name}">' for name in STYLESHEETS
    )
    scripts = "\n".join(f'<script src="{html.escape(STATIC_PREFIX)}/{name}"></script>' for name in SCRIPTS)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ChargeOps GraphiQL</title>
{styles}
<style>html, body, #graphiql {{ height: 100%; margin: 0; }}</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script id="chargeops-graphiql-config" type="application/json">{_script_json(config)}</script>
{scripts}
</body>
</html>
"""


def static_routes() -> list[BaseRoute]:
    return [Mount(STATIC_PREFIX, app=StaticFiles(directory=STATIC_DIR), name="graphiql-static")]
