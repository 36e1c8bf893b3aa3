#!/usr/bin/env python3
"""Hostile and slow clients for bench/stress.sh (loopback only, bounded in time).

  stress_clients.py idle PORT N SECONDS   hold N idle/slow connections (half a request line,
                                           one header byte every second) while checking that
                                           GET /ping answers within 2 s every half second
  stress_clients.py oversize PORT LIMIT   announce a body far over LIMIT bytes, send a little:
                                           expect 413 before the body is sent
  stress_clients.py malformed PORT        malformed HTTP requests: expect 400 each
  stress_clients.py inflight PORT PID [SIG]  start a request, send SIGTERM (or SIG, e.g. HUP) to
                                           PID half-way through the body, finish the body: expect
                                           a complete 200
  stress_clients.py slowloris PORT N SECONDS HEAD_TIMEOUT
                                           hold N connections (more than the connection cap) that
                                           send a header line every 2 s and never end their head,
                                           reopening each one the server closes; GET /ping every
                                           100 ms must answer (90% within 50 ms, all within 1 s),
                                           and no trickling head may live past HEAD_TIMEOUT + 2 s
  stress_clients.py idlebuf PORT PID N MB RSS_MB
                                           N keep-alive connections each POST an MB-megabyte CSV
                                           (8 at a time), read their answers and stay open:
                                           serve's RSS must then be under RSS_MB

Prints one line per check and exits 1 if any check failed.
"""
import concurrent.futures
import os
import select
import signal
import socket
import sys
import time

ROW = b"0.5,1.25,3.0,0.0,7.5,2.0\n"


def connect(port, timeout=5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_response(s, deadline=10.0):
    """Read one HTTP/1.1 response (Content-Length framed). Returns (status, body) or raises."""
    s.settimeout(deadline)
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed before the response head (%r)" % buf[:80])
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for ln in lines[1:]:
        k, _, v = ln.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed after %d of %d body bytes" % (len(body), length))
        body += chunk
    return status, body


def ping(port):
    t0 = time.monotonic()
    s = connect(port, timeout=2.0)
    s.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    status, _ = read_response(s, deadline=2.0)
    s.close()
    return status, time.monotonic() - t0


def idle(port, n, seconds):
    held = []
    for i in range(n):
        s = connect(port)
        if i % 2:
            s.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\n")  # slow: never finishes
        held.append(s)
    ok = True
    worst = 0.0
    checks = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            status, dt = ping(port)
            worst = max(worst, dt)
            if status != 200 or dt > 2.0:
                ok = False
        except Exception as e:  # noqa: BLE001 - any failure of /ping is the finding
            print("idle: /ping failed: %s" % e)
            ok = False
            worst = max(worst, 2.0)
        checks += 1
        for s in held[1::2]:
            try:
                s.send(b"X")  # one header byte at a time
            except OSError:
                pass
        time.sleep(0.5)
    for s in held:
        s.close()
    print("idle: %d idle/slow connections, %d /ping checks, slowest %.1f ms: %s"
          % (n, checks, worst * 1000, "ok" if ok else "FAILED"))
    return ok


def oversize(port, limit):
    s = connect(port)
    announced = limit * 1000
    s.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
              b"Content-Length: %d\r\n\r\n" % announced + ROW * 4)
    t0 = time.monotonic()
    try:
        status, body = read_response(s, deadline=5.0)
    except Exception as e:  # noqa: BLE001
        print("oversize: no answer: %s: FAILED" % e)
        return False
    dt = time.monotonic() - t0
    s.close()
    ok = status == 413
    print("oversize: %d-byte body announced (limit %d), %d sent: %d after %.1f ms: %s"
          % (announced, limit, len(ROW) * 4, status, dt * 1000, "ok" if ok else "FAILED"))
    return ok


# (request, what is expected). "400": a 400 answer. "close": libmicrohttpd 0.9.75 closes the
# connection without an answer when the request line has no target (gunicorn answers 400);
# the check is then that it closes at once and the server keeps answering.
MALFORMED = [
    (b"GARBAGE\r\n\r\n", "close"),
    (b"GET\r\n\r\n", "close"),
    (b"GET /ping\r\n\r\n", "400"),
    (b"GET /ping HTTP/9.9\r\nHost: x\r\n\r\n", "505"),
    (b"GET /ping HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n", "400"),
    (b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", "400"),
    (b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
     b"Content-Length: 5\r\nContent-Length: 7\r\n\r\n1,2,3", "400"),
]


def malformed(port):
    ok = True
    for req, want in MALFORMED:
        s = connect(port)
        s.sendall(req)
        t0 = time.monotonic()
        try:
            status, _ = read_response(s, deadline=3.0)
            got = str(status)
        except ConnectionError:
            got = "close"
        except Exception as e:  # noqa: BLE001
            got = "no answer (%s)" % e
        dt = time.monotonic() - t0
        s.close()
        good = got == want and dt < 1.0
        if good and want == "close":
            good = ping(port)[0] == 200
        ok &= good
        print("malformed: %-62r -> %s (want %s): %s" % (req[:62], got, want, "ok" if good else "FAILED"))
    return ok


def inflight(port, pid, sig=signal.SIGTERM):
    body = ROW * 20000
    s = connect(port)
    s.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body))
    half = len(body) // 2
    s.sendall(body[:half])
    time.sleep(0.2)
    os.kill(pid, sig)
    time.sleep(0.3)
    name = signal.Signals(sig).name
    try:
        s.sendall(body[half:])
        status, out = read_response(s, deadline=10.0)
    except Exception as e:  # noqa: BLE001
        print("inflight: request cut by %s: %s: FAILED" % (name, e))
        return False
    rows = out.count(b"\n") + (0 if out.endswith(b"\n") else 1)
    ok = status == 200 and rows == 20000
    print("inflight: %s half-way through the body; answer %d with %d rows: %s"
          % (name, status, rows, "ok" if ok else "FAILED"))
    return ok


def rss_mb(pid, field="VmRSS"):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return -1.0


def percentile(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))] if v else float("inf")


def slowloris(port, n, seconds, head_timeout):
    """n trickling heads, reopened when closed; /ping every 100 ms."""
    poller = select.poll()
    held = {}  # fd -> (socket, opened at, next line at)

    def open_one(now):
        s = socket.create_connection(("127.0.0.1", port), timeout=2.0)
        s.setblocking(False)
        s.send(b"POST /invocations HTTP/1.1\r\nHost: x\r\n")
        held[s.fileno()] = (s, now, now + 2.0)
        poller.register(s.fileno(), select.POLLIN)

    t0 = time.monotonic()
    for _ in range(n):
        open_one(t0)
    opened, lifetimes, pings, failed = n, [], [], 0
    end = t0 + seconds
    while time.monotonic() < end:
        try:
            status, dt = ping(port)
            pings.append(dt * 1000)
            failed += status != 200
        except Exception as e:  # noqa: BLE001 - any failure of /ping is the finding
            print("slowloris: /ping failed: %s" % e)
            failed += 1
        now = time.monotonic()
        for fd, _ in poller.poll(0):
            s, since, _ = held.pop(fd)
            poller.unregister(fd)
            lifetimes.append(now - since)
            s.close()
            open_one(now)
            opened += 1
        for fd, (s, since, due) in list(held.items()):
            if due <= now:
                try:
                    s.send(b"X-Slow: %d\r\n" % int(now * 1000))
                except OSError:
                    pass  # closed: seen by the poller next round
                held[fd] = (s, since, now + 2.0)
        time.sleep(max(0.0, 0.1 - (time.monotonic() - now)))
    now = time.monotonic()
    oldest = max(now - since for _, since, _ in held.values())
    for s, _, _ in held.values():
        s.close()
    p50, p90 = percentile(pings, 0.5), percentile(pings, 0.9)
    worst = max(pings) if pings else float("inf")
    longest = max(lifetimes + [oldest])
    ok = failed == 0 and p90 <= 50 and worst <= 1000 and longest <= head_timeout + 2
    print("slowloris: %d trickling heads held for %.0f s (%d opened, %d closed by serve, longest "
          "lived %.1f s, head deadline %g s); %d /ping: p50 %.1f ms, p90 %.1f ms, max %.1f ms, "
          "%d failed: %s" % (n, seconds, opened, len(lifetimes), longest, head_timeout,
                             len(pings), p50, p90, worst, failed, "ok" if ok else "FAILED"))
    return ok


def idlebuf(port, pid, n, mb, limit_mb):
    """n connections send an mb-MB CSV each, 8 at a time; answered, they stay open, idle."""
    row = b"0.123456789,0.223456789,0.323456789,0.423456789,0.523456789,0.623456789\n"
    body = row * int(mb * 1e6 / len(row))
    request = (b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
               b"Content-Length: %d\r\n\r\n" % len(body)) + body
    rss0 = rss_mb(pid)
    t0 = time.monotonic()

    def one(_):
        s = connect(port, timeout=60.0)
        try:
            s.sendall(request)
            return s, read_response(s, deadline=60.0)[0]
        except Exception as e:  # noqa: BLE001
            print("idlebuf: no answer: %s" % e)
            return s, 0

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        done = list(pool.map(one, range(n)))
    dt = time.monotonic() - t0
    bad = sum(status != 200 for _, status in done)
    time.sleep(0.2)
    rss, peak = rss_mb(pid), rss_mb(pid, "VmHWM")
    for s, _ in done:
        s.close()
    ok = bad == 0 and rss < limit_mb
    print("idlebuf: %d keep-alive connections sent %.1f MB each, 8 at a time, answered in %.1f s "
          "(%d not 200); serve RSS %.0f MB before, %.0f MB at the peak, %.0f MB with all of them "
          "idle (limit %g MB): %s" % (n, len(body) / 1e6, dt, bad, rss0, peak, rss, limit_mb,
                                      "ok" if ok else "FAILED"))
    return ok


def main():
    what = sys.argv[1]
    port = int(sys.argv[2])
    if what == "idle":
        ok = idle(port, int(sys.argv[3]), float(sys.argv[4]))
    elif what == "oversize":
        ok = oversize(port, int(sys.argv[3]))
    elif what == "malformed":
        ok = malformed(port)
    elif what == "inflight":
        sig = getattr(signal, "SIG" + sys.argv[4]) if len(sys.argv) > 4 else signal.SIGTERM
        ok = inflight(port, int(sys.argv[3]), sig)
    elif what == "slowloris":
        ok = slowloris(port, int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]))
    elif what == "idlebuf":
        ok = idlebuf(port, int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]),
                     float(sys.argv[6]))
    else:
        sys.exit("unknown check " + what)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
