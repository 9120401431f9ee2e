"""The compose `proxy` service outside Docker: Debian's nginx, configured by the service's own
start script (deploy/nginx/entrypoint.sh) from the same template, in front of a local webserver.

Only the top-level nginx.conf is this file's: in the image, nginx:alpine's own nginx.conf includes
conf.d/*.conf; here MAIN does the same, with every path under a temporary directory."""

from __future__ import annotations

import base64
import os
import pwd
import socket
import urllib.error
import urllib.request
from pathlib import Path

from tests.conftest import ROOT
from tests.deploy.stack import container_port, interpolate, service

NGINX = Path("/usr/sbin/nginx")
ENTRYPOINT = ROOT / "deploy" / "nginx" / "entrypoint.sh"
TEMPLATE = ROOT / "deploy" / "nginx" / "tdm.conf.template"
MAIN = """{user}
worker_processes 1;
error_log stderr;
events {{ worker_connections 64; }}
http {{
    access_log {root}/access.log;
    client_body_temp_path {root}/tmp/body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;
    include {root}/conf.d/*.conf;
}}
"""


def environment(root: Path, port: int, webserver_port: int, dotenv: dict[str, str]) -> dict:
    """The service's compose environment, with its upstream (the webserver service) and the
    files it writes made local."""
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    for key, value in service("proxy")["environment"].items():
        env[key] = interpolate(str(value), dotenv)
    inside = container_port(service("webserver")["command"])
    assert env["TDM_PROXY_UPSTREAM"] == f"webserver:{inside}", env["TDM_PROXY_UPSTREAM"]
    return {
        **env,
        "TDM_PROXY_UPSTREAM": f"127.0.0.1:{webserver_port}",
        "TDM_PROXY_LISTEN": f"127.0.0.1:{port}",
        "TDM_PROXY_TEMPLATE": str(TEMPLATE),
        "TDM_PROXY_CONF": str(root / "conf.d" / "tdm.conf"),
        "TDM_PROXY_HTPASSWD": str(root / "htpasswd"),
    }


def command(root: Path) -> list[str]:
    """entrypoint.sh running nginx in the foreground, as the image's CMD does."""
    for sub in ("conf.d", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    # nginx's workers read the htpasswd file under a private temporary directory: run them as
    # this user (ignored, with a notice, when not root).
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    (root / "nginx.conf").write_text(MAIN.format(root=root, user=user))
    return [
        "sh",
        str(ENTRYPOINT),
        str(NGINX),
        *("-p", str(root), "-c", str(root / "nginx.conf"), "-e", "stderr"),
        *("-g", f"daemon off; pid {root}/nginx.pid;"),
    ]


def get(url: str, auth: tuple[str, str] | None = None, data: bytes | None = None):
    """(status, headers, body) of a request, errors included."""
    request = urllib.request.Request(url, data=data)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def websocket_handshake(port: int, auth: tuple[str, str]) -> str:
    """The status line the UI's GraphQL websocket gets through the proxy."""
    token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Protocol: graphql-ws\r\nAuthorization: Basic {token}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(request.encode())
        return conn.recv(4096).decode(errors="replace").split("\r\n", 1)[0]
