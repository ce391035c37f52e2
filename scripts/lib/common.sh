# shellcheck shell=bash
# Helpers shared by scripts/test and scripts/pg. Source this file; it defines functions only.

# Messages go to stderr so that a function's stdout can carry its result.
log() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# Run a command as root: directly when we are root, through sudo otherwise.
as_root() {
    if is_root; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run: $* (not root and no sudo)"
    fi
}

# apt-get install, with one `apt-get update` per script run. Output goes to a log
# that is printed only when the install fails.
_CITYHALL_APT_UPDATED=0
apt_install() {
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install $* by hand"
    local aptlog rc=0
    aptlog="$(mktemp /tmp/cityhall-apt.XXXXXX)"
    if [ "$_CITYHALL_APT_UPDATED" = 0 ]; then
        log "apt-get update"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >"$aptlog" 2>&1 || rc=$?
        if [ "$rc" -ne 0 ]; then
            cat "$aptlog" >&2
            rm -f "$aptlog"
            die "apt-get update failed"
        fi
        _CITYHALL_APT_UPDATED=1
    fi
    log "installing with apt-get: $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" </dev/null >"$aptlog" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
        cat "$aptlog" >&2
        rm -f "$aptlog"
        die "apt-get install $* failed"
    fi
    rm -f "$aptlog"
    local pkg
    for pkg in "$@"; do
        dpkg-query -W -f='    installed ${Package} ${Version}\n' "$pkg" >&2 2>/dev/null || true
    done
}

# Print a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()' && return 0
    fi
    local port _
    for _ in $(seq 1 500); do
        port=$((20000 + RANDOM % 30000))
        # A refused connection means the port is free.
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    die "could not find a free TCP port"
}

# http_status URL: print the HTTP status code of a GET (000 when nothing answers).
http_status() {
    if command -v curl >/dev/null 2>&1; then
        curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1" 2>/dev/null || true
    else
        python3 - "$1" <<'PY' 2>/dev/null || echo 000
import sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
        print(r.status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception:
    print("000")
PY
    fi
}

# Seconds as "1m05s" or "42s".
fmt_duration() {
    local s=$1
    if [ "$s" -ge 60 ]; then
        printf '%dm%02ds' $((s / 60)) $((s % 60))
    else
        printf '%ds' "$s"
    fi
}
