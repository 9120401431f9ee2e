#!/bin/sh
# Start of the `proxy` service: writes the htpasswd file from TDM_UI_USER / TDM_UI_PASSWORD
# (SHA-512 crypt; the password is never written down or put on a command line), renders the
# server config from its template, then runs the command (nginx). Refuses to start without
# credentials: an open UI is never the fallback. tests/deploy runs this script as it is.
set -eu

template=${TDM_PROXY_TEMPLATE:-/etc/nginx/tdm.conf.template}
conf=${TDM_PROXY_CONF:-/etc/nginx/conf.d/default.conf}
htpasswd=${TDM_PROXY_HTPASSWD:-/etc/nginx/tdm.htpasswd}
listen=${TDM_PROXY_LISTEN:-80}
upstream=${TDM_PROXY_UPSTREAM:-webserver:3000}
user=${TDM_UI_USER:-}
password=${TDM_UI_PASSWORD:-}

fail() {
    echo "tdm proxy: $*" >&2
    exit 1
}

[ -n "$user" ] || fail "TDM_UI_USER is empty: set it in .env (see .env.example)"
[ -n "$password" ] || fail "TDM_UI_PASSWORD is empty: set it in .env (see .env.example)"
case "$user" in *:*) fail "TDM_UI_USER must not contain ':'" ;; esac
[ "${#password}" -ge 12 ] || fail "TDM_UI_PASSWORD is too short: use 12 characters or more"

umask 077
hash=$(printf '%s\n' "$password" | openssl passwd -6 -stdin)
printf '%s:%s\n' "$user" "$hash" >"$htpasswd"
# nginx's workers (user nginx in the image) read it at each request.
if chgrp nginx "$htpasswd" 2>/dev/null; then chmod 0640 "$htpasswd"; else chmod 0644 "$htpasswd"; fi

sed -e "s|@LISTEN@|$listen|g" -e "s|@UPSTREAM@|$upstream|g" -e "s|@HTPASSWD@|$htpasswd|g" \
    "$template" >"$conf"
chmod 0644 "$conf"

exec "$@"
