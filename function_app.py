"""Azure Functions entry point (Python v2 programming model): thin triggers over the provisioning package.

Importing this module needs no setting: the Functions host indexes the functions before running them.
"""

from __future__ import annotations

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Liveness probe: says the app is up and nothing else."""
    return func.HttpResponse('{"status":"ok"}', status_code=200, mimetype="application/json")
