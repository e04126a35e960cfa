"""Tenure's model-server protocol with Python's standard library only (docs/PROTOCOL.md)."""
import json, os, time, urllib.parse, urllib.request

URL, TOKEN = os.environ.get("TENURE_URL", "http://127.0.0.1:8080"), os.environ["TENURE_TOKEN"]
MODEL, VERSION = os.environ["MODEL"], os.environ["MODEL_VERSION"]
ENVIRONMENT = os.environ.get("ENVIRONMENT", "production")

def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    request = urllib.request.Request(URL + path, data, headers, method=method)
    with urllib.request.urlopen(request, timeout=5) as answer:  # 4xx, 5xx: HTTPError, an OSError
        return json.load(answer)

# The id from the registration's answer, else the live primary of this model here.
deployment = os.environ.get("TENURE_DEPLOYMENT_ID")
if not deployment:
    query = {"model": MODEL, "environment": ENVIRONMENT, "role": "primary", "status": "active"}
    live = call("GET", "/v1/deployments?" + urllib.parse.urlencode(query))["items"]
    if not live:
        raise SystemExit(f"{MODEL} has no live primary in {ENVIRONMENT}")
    deployment = live[0]["id"]

# A real server beats every 60 s from a thread that catches OSError: Tenure never stops it serving.
beat = call("POST", f"/v1/deployments/{deployment}/heartbeat", {"served_version": VERSION})
if beat["version_mismatch"]:
    print(f"deployment {deployment} is registered with another version than {VERSION}")
# Its own timestamp makes a point idempotent: a retry replaces it rather than adding a second.
hour = time.strftime("%Y-%m-%dT%H:00:00Z", time.gmtime())
point = {"name": "auc", "value": 0.931, "sample_size": 4120, "timestamp": hour}
call("POST", f"/v1/deployments/{deployment}/metrics", {"points": [point]})
rows = [{"amount": 12.5, "country": "de", "card_present": True},
        {"amount": 980.0, "country": "fr", "card_present": False}]
print(json.dumps(call("POST", f"/v1/deployments/{deployment}/samples", {"rows": rows})))
