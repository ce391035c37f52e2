"""What the load clients of `scripts/bench` share: a keep-alive connection, percentiles, and
running a job in threads for a while (standard library only)."""
import http.client
import threading
import time
import urllib.parse


class Client:
    """One keep-alive connection; a body without a Content-Type is sent as JSON."""

    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port
        self.conn = None

    def req(self, method, path, body=None, headers=None):
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                h = {"Content-Type": "application/json"} if body is not None else {}
                h.update(headers or {})
                self.conn.request(method, path, body=body, headers=h)
                r = self.conn.getresponse()
                return r.status, r.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise


def pct(xs, p):
    """The p-quantile of xs (seconds) in milliseconds."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] * 1000 if xs else float("nan")


def run(url, threads, duration, job):
    """Runs job(client) in `threads` threads for `duration` s; returns (n, seconds, latencies, errors)."""
    lat, errors, lock = [], [], threading.Lock()
    stop = time.perf_counter() + duration

    def worker():
        c = Client(url)
        mine = []
        while time.perf_counter() < stop:
            t = time.perf_counter()
            try:
                job(c)
            except Exception as e:  # noqa: BLE001 - counted and reported
                with lock:
                    errors.append(str(e))
                continue
            mine.append(time.perf_counter() - t)
        with lock:
            lat.extend(mine)

    t0 = time.perf_counter()
    ts = [threading.Thread(target=worker) for _ in range(threads)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    return len(lat), time.perf_counter() - t0, lat, errors


def parse_load_args(rest):
    """`--threads 8,32 --duration 20` → ([8, 32], 20.0)."""
    threads, duration = [8, 32], 20.0
    while rest:
        if rest[0] == "--threads":
            threads = [int(x) for x in rest[1].split(",")]
        elif rest[0] == "--duration":
            duration = float(rest[1])
        else:
            raise SystemExit(f"unknown option {rest[0]}")
        rest = rest[2:]
    return threads, duration
