# shellcheck shell=bash
# A private, throw-away PostgreSQL server for tests: free port, temporary data and
# socket folders, no durability (fsync off), trust authentication on 127.0.0.1 only.
# Source after common.sh. Sets PG_BIN, PG_PORT, PG_DIR, PG_DATA, PG_SOCK, PG_LOG, PG_URL.
#
#   pg_ensure_installed   find initdb/pg_ctl, or apt-get install postgresql
#   pg_start              initdb + start, wait until ready, set PG_URL
#   pg_createdb NAME      create a database on it
#   pg_psql ARGS...       psql on it as the postgres superuser
#   pg_stop               stop it (immediate) and remove its folders; safe to call twice

PG_BIN=""
PG_PORT=""
PG_DIR=""
PG_DATA=""
PG_SOCK=""
PG_LOG=""
PG_URL=""

# Print the folder holding initdb, pg_ctl, postgres, pg_isready, psql and createdb.
_pg_find_bindir() {
    local cand dir
    for cand in pg_ctl initdb; do
        if command -v "$cand" >/dev/null 2>&1; then
            dir="$(dirname "$(readlink -f "$(command -v "$cand")")")"
            if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then
                echo "$dir"
                return 0
            fi
        fi
    done
    # Debian's layout: /usr/lib/postgresql/VERSION/bin; take the newest version.
    for dir in $(printf '%s\n' /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

pg_ensure_installed() {
    if ! PG_BIN="$(_pg_find_bindir)"; then
        apt_install postgresql
        PG_BIN="$(_pg_find_bindir)" || die "PostgreSQL installed, but initdb/pg_ctl not found"
    fi
    local tool
    for tool in pg_isready psql createdb; do
        [ -x "$PG_BIN/$tool" ] || command -v "$tool" >/dev/null 2>&1 ||
            die "$tool not found (looked in $PG_BIN and PATH)"
    done
    if is_root && ! id -u postgres >/dev/null 2>&1; then
        log "creating system user postgres (initdb refuses to run as root)"
        useradd --system --user-group --no-create-home --shell /bin/sh postgres
    fi
}

# The client tools: prefer the server's own folder, fall back to PATH.
_pg_tool() {
    if [ -x "$PG_BIN/$1" ]; then echo "$PG_BIN/$1"; else command -v "$1"; fi
}

# Run a command as the postgres user when we are root (initdb and postgres refuse
# to run as root), else as ourselves. cd / so the postgres user's cwd is readable.
_pg_as_owner() {
    if is_root; then
        if command -v runuser >/dev/null 2>&1; then
            (cd / && runuser -u postgres -- "$@")
        else
            local cmd
            cmd="$(printf '%q ' "$@")"
            (cd / && su postgres -s /bin/sh -c "$cmd")
        fi
    else
        "$@"
    fi
}

pg_start() {
    [ -n "$PG_BIN" ] || pg_ensure_installed
    PG_DIR="$(mktemp -d /tmp/cityhall-pg.XXXXXX)"
    PG_DATA="$PG_DIR/data"
    PG_SOCK="$PG_DIR/sock"
    PG_LOG="$PG_DIR/postgres.log"
    mkdir -p "$PG_SOCK"
    if is_root; then
        chown -R postgres: "$PG_DIR"
    fi

    local initlog="$PG_DIR/initdb.log" rc=0
    _pg_as_owner "$PG_BIN/initdb" -D "$PG_DATA" --auth=trust -U postgres --encoding=UTF8 \
        --locale=C.UTF-8 --no-sync >"$initlog" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
        # Older servers or systems without the C.UTF-8 locale: plain C is fine for tests.
        _pg_as_owner rm -rf "$PG_DATA"
        rc=0
        _pg_as_owner "$PG_BIN/initdb" -D "$PG_DATA" --auth=trust -U postgres --encoding=UTF8 \
            --locale=C --no-sync >"$initlog" 2>&1 || rc=$?
    fi
    if [ "$rc" -ne 0 ]; then
        cat "$initlog" >&2
        die "initdb failed"
    fi

    # The port is free when we ask; if someone takes it before postgres binds, retry.
    local attempt opts
    for attempt in 1 2 3; do
        PG_PORT="$(free_port)"
        opts="-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$PG_SOCK"
        opts="$opts -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
        opts="$opts -c max_connections=200 -c shared_buffers=128MB"
        rc=0
        _pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -o "$opts" -w -t 60 start \
            >/dev/null 2>&1 || rc=$?
        [ "$rc" -eq 0 ] && break
        warn "PostgreSQL did not start on port $PG_PORT (attempt $attempt)"
        [ -f "$PG_LOG" ] && tail -n 20 "$PG_LOG" >&2
    done
    [ "$rc" -eq 0 ] || die "could not start PostgreSQL"

    local isready i
    isready="$(_pg_tool pg_isready)"
    for i in $(seq 1 120); do
        if "$isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres; then
            break
        fi
        [ "$i" -eq 120 ] && {
            tail -n 50 "$PG_LOG" >&2
            die "PostgreSQL on port $PG_PORT is not ready after 60 s"
        }
        sleep 0.5
    done
    # shellcheck disable=SC2034 # used by the scripts that source this file
    PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
    log "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') ready on 127.0.0.1:$PG_PORT (data $PG_DATA)"
}

pg_psql() {
    "$(_pg_tool psql)" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"
}

pg_createdb() {
    "$(_pg_tool createdb)" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$1"
}

pg_stop() {
    if [ -n "$PG_DATA" ] && [ -f "$PG_DATA/postmaster.pid" ]; then
        local pid
        pid="$(head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null || true)"
        _pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    if [ -n "$PG_DIR" ] && [ -d "$PG_DIR" ]; then
        rm -rf "$PG_DIR"
    fi
    PG_DIR=""
    PG_DATA=""
}
