"""Drives one authorization code flow with requests-oauthlib (Debian's python3-requests-oauthlib).

Usage: requests_oauthlib_flow.py MODE WEB_URL API_URL CLIENT_ID SECRET_OR_DASH REDIRECT_URI
MODE is "confidential" (client secret in HTTP Basic, the library's default), "post"
(client_id and client_secret in the form body, include_client_id=True) or "pkce"
(public client, S256). Prints the authorize URL as one JSON line, reads the callback URL
the browser reached from stdin, exchanges the code, calls /users/settings, and prints
the outcome as JSON. docs/clients.md shows the same configuration.
"""
import json
import os
import sys

# Only because the test server is plain http on loopback.
os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"

from oauthlib.oauth2 import WebApplicationClient  # noqa: E402
from requests_oauthlib import OAuth2Session  # noqa: E402


def main() -> None:
    mode, web_url, api_url, client_id, secret, redirect_uri = sys.argv[1:7]
    oauth_client = WebApplicationClient(client_id)
    session = OAuth2Session(client=oauth_client, redirect_uri=redirect_uri)
    extra = {"app-name": "requests-oauthlib-test", "app-version": "1.3"}
    verifier = None
    if mode == "pkce":
        verifier = oauth_client.create_code_verifier(64)
        extra["code_challenge"] = oauth_client.create_code_challenge(verifier, "S256")
        extra["code_challenge_method"] = "S256"
    url, _state = session.authorization_url(web_url + "/oauth/authorize", **extra)
    print(json.dumps({"authorize_url": url}), flush=True)
    callback = sys.stdin.readline().strip()
    kwargs = {"authorization_response": callback}
    if mode == "pkce":
        kwargs["code_verifier"] = verifier
    elif mode == "post":
        kwargs["client_secret"] = secret
        kwargs["include_client_id"] = True
    else:
        kwargs["client_secret"] = secret
    token = session.fetch_token(api_url + "/oauth/token", **kwargs)
    settings = session.get(api_url + "/users/settings", params={"client_id": client_id})
    print(json.dumps({"token": dict(token), "settings_status": settings.status_code, "settings": settings.json()}), flush=True)


if __name__ == "__main__":
    main()
