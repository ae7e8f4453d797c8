#!/usr/bin/env python3
"""Red-team probes against a running gridplan server: the attacks and careless uses the service must
withstand. Standard library only.

    python3 scripts/redteam.py http://127.0.0.1:8080                 # anonymous probes
    GRIDPLAN_PLANNER_TOKEN=... python3 scripts/redteam.py URL         # also the planner-side probes
    python3 scripts/redteam.py URL --connections 600                  # also fill the connection cap

Each probe prints PASS, FAIL or SKIP with what it saw; the exit status is 1 when any probe fails.
Probes that write (a rules upload that must be refused, a plan) run only with a planner token, and
leave at most one new plan behind.
"""

import argparse
import json
import os
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

RESULTS = []


def report(name, ok, detail=""):
    status = "PASS" if ok is True else ("SKIP" if ok is None else "FAIL")
    RESULTS.append(status)
    print(f"{status}  {name}" + (f": {detail}" if detail else ""), flush=True)


def call(base, method, path, body=None, token=None, headers=None, timeout=120):
    """(status, headers, body bytes) for one request; never raises for HTTP errors."""
    h = dict(headers or {})
    if token:
        h.setdefault("Authorization", f"Bearer {token}")
    data = body if body is None or isinstance(body, bytes) else body.encode()
    req = urllib.request.Request(base + path, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def as_json(body):
    try:
        return json.loads(body)
    except ValueError:
        return None


def is_json_error(status, headers, body):
    ct = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    v = as_json(body)
    return ct.startswith("application/json") and isinstance(v, dict) and v.get("status") == status and "error" in v


def all_items(base, collection):
    out, url = [], f"/collections/{collection}/items?limit=1000"
    while url:
        s, _, b = call(base, "GET", url)
        page = as_json(b) or {}
        out += page.get("features", [])
        nxt = [l["href"] for l in page.get("links", []) if l.get("rel") == "next"]
        url = urllib.parse.urlsplit(nxt[0])._replace(scheme="", netloc="").geturl() if nxt else None
    return out


def bbox_of(features):
    xs, ys = [], []

    def walk(c):
        if isinstance(c[0], (int, float)):
            xs.append(c[0])
            ys.append(c[1])
        else:
            for x in c:
                walk(x)

    for f in features:
        walk(f["geometry"]["coordinates"])
    return min(xs), min(ys), max(xs), max(ys)


def lattice(bbox, n):
    x0, y0, x1, y1 = bbox
    w, h = (x1 - x0) / n, (y1 - y0) / n
    feats = []
    for j in range(n):
        for i in range(n):
            a, b = x0 + i * w, y0 + j * h
            ring = [[a, b], [a + w, b], [a + w, b + h], [a, b + h], [a, b]]
            feats.append({"type": "Feature", "properties": {"id": f"L{j * n + i:05}"},
                          "geometry": {"type": "Polygon", "coordinates": [ring]}})
    return json.dumps({"type": "FeatureCollection", "features": feats})


def least_squares_exact(columns, y):
    """Fits y on the columns (plus an intercept) by the normal equations; returns (exact, r2)."""
    n = len(y)
    cols = [[1.0] * n]
    for c in columns:
        m = sum(c) / n
        sd = (sum((v - m) ** 2 for v in c) / n) ** 0.5
        if sd > 1e-12:
            cols.append([(v - m) / sd for v in c])
    p = len(cols)
    a = [[sum(cols[i][r] * cols[j][r] for r in range(n)) + (1e-9 if i == j else 0) for j in range(p)]
         + [sum(cols[i][r] * y[r] for r in range(n))] for i in range(p)]
    for i in range(p):
        piv = max(range(i, p), key=lambda r: abs(a[r][i]))
        a[i], a[piv] = a[piv], a[i]
        d = a[i][i]
        a[i] = [v / d for v in a[i]]
        for r in range(p):
            if r != i:
                f = a[r][i]
                a[r] = [a[r][k] - f * a[i][k] for k in range(p + 1)]
    fit = [sum(a[i][p] * cols[i][r] for i in range(p)) for r in range(n)]
    exact = sum(1 for f, v in zip(fit, y) if round(f) == v)
    m = sum(y) / n
    tot = sum((v - m) ** 2 for v in y)
    res = sum((f - v) ** 2 for f, v in zip(fit, y))
    return exact, (1 - res / tot) if tot else 1.0


def probe_privacy(base, token, grids):
    body = lattice(bbox_of(grids), 40)
    for who, tok in [("anonymous", None), ("bad token", "not-a-token-at-all-0123456789")]:
        s, h, b = call(base, "POST", "/api/check", body, token=tok)
        report(f"privacy: {who} POST /api/check of a 40x40 lattice is refused", s in (401, 403),
               f"HTTP {s}" + ("" if s in (401, 403) else " — the server counted households in the caller's squares"))
    open_keys = sorted({k for f in grids for k in f["properties"]})
    report("privacy: no workload on the open grids layer", not any("workload" in k for k in open_keys),
           ", ".join(k for k in open_keys if "workload" in k))
    s, _, b = call(base, "GET", "/api/plans")
    a = (as_json(b) or {}).get("assignment")
    if a is None:
        report("privacy: the staffing report is planner-only", None, "no assignment published")
    else:
        s, _, _ = call(base, "GET", f"/api/assignments/{a}")
        report("privacy: the staffing report is planner-only", s in (401, 403), f"HTTP {s}")
    if not token:
        report("privacy: open numbers against the sensitive counts", None, "needs a planner token")
        return
    plan = (as_json(call(base, "GET", "/api/plans")[2]) or {}).get("published")
    s, _, b = call(base, "GET", f"/api/plans/{plan}/sensitive", token=token)
    truth = {g["id"]: g for g in (as_json(b) or {}).get("grids", [])}
    ids = [f["id"] for f in grids if f["id"] in truth]
    names = sorted({k for f in grids for k, v in f["properties"].items()
                    if isinstance(v, (int, float)) and not isinstance(v, bool)})
    names = [k for k in names if all(isinstance(f["properties"].get(k), (int, float)) for f in grids)]
    props = {f["id"]: f["properties"] for f in grids}
    cols = [[float(props[i][k]) for i in ids] for k in names]
    worst = []
    for target in ["elderly_alone", "key_persons", "vulnerable", "combination"]:
        if target == "combination":
            y = [2 * truth[i]["elderly_alone"] + 3 * truth[i]["key_persons"] + truth[i]["vulnerable"] for i in ids]
        else:
            y = [truth[i][target] for i in ids]
        exact, r2 = least_squares_exact(cols, y)
        base_exact, _ = least_squares_exact([], y)
        worst.append((target, exact, base_exact, r2))
    ok = all(r2 < 0.95 and exact <= b + len(ids) // 5 for _, exact, b, r2 in worst)
    report("privacy: no open number recovers the sensitive counts (least squares over every open number)", ok,
           "; ".join(f"{t}: exact {e}/{len(ids)} (mean alone {b}), R² {r2:.2f}" for t, e, b, r2 in worst))


def probe_parameters(base):
    for path, name in [("/api/locate?lon=118.8&lat=32.3&lon=0", "lon"),
                       ("/collections/grids/items?limit=1&limit=1000", "limit"),
                       ("/collections/grids/items?datetime=garbage", "datetime"),
                       ("/api/plans?foo=1", "foo"),
                       ("/api/locate?lon=118.8&lat=32.3&radius=1", "radius")]:
        s, h, b = call(base, "GET", path)
        v = as_json(b) or {}
        report(f"parameters: {path} is 400 naming {name}", s == 400 and name in v.get("error", ""),
               f"HTTP {s} {b[:120]!r}")


def probe_json_errors(base):
    for method, path, want in [("POST", "/api/locate?lon=1&lat=1", 405), ("DELETE", "/collections", 405),
                               ("GET", "/api/locate?lon=1&lat=1&x=" + "a" * 10000, 414),
                               ("GET", "/collections/%FF%FE/items", None),
                               ("GET", "/no/such/route", 404)]:
        s, h, b = call(base, method, path, body=b"" if method == "POST" else None)
        ok = is_json_error(s, h, b) and (want is None or s == want) and 400 <= s < 500
        report(f"errors: {method} {path[:50]} answers the JSON error body", ok, f"HTTP {s} {b[:100]!r}")


def raw(host, port, data, wait):
    """Sends raw bytes and reads until the server closes or `wait` seconds pass: (closed, answer)."""
    s = socket.create_connection((host, port), timeout=wait)
    s.sendall(data)
    out, closed = b"", False
    deadline = time.time() + wait
    try:
        while time.time() < deadline:
            s.settimeout(max(0.1, deadline - time.time()))
            chunk = s.recv(65536)
            if not chunk:
                closed = True
                break
            out += chunk
    except (socket.timeout, OSError):
        pass
    s.close()
    return closed, out


def probe_limits(base, token, connections):
    u = urllib.parse.urlsplit(base)
    host, port = u.hostname, u.port or 80
    closed, out = raw(host, port, b"GET /api/plans HTTP/1.1\r\nHost: x\r\n", 40)
    report("limits: a client that never finishes its headers is cut off (header timeout)", closed,
           "closed" if closed else "still open after 40 s")
    # A body announced larger than the limit is refused before it is sent.
    auth = f"Authorization: Bearer {token}\r\n".encode() if token else b""
    s = socket.create_connection((host, port), timeout=30)
    s.sendall(b"POST /api/check HTTP/1.1\r\nHost: x\r\n" + auth + b"Content-Length: 600000000\r\n\r\n" + b" " * 1024)
    try:
        answer = s.recv(4096)
    except OSError:
        answer = b""
    s.close()
    status = answer[9:12].decode(errors="replace")
    want = ("413",) if token else ("413", "401")
    report("limits: a 600 MB body is refused" + ("" if token else " (413, or 401 before reading it)"), status in want,
           f"HTTP {status}")
    if connections:
        held = []
        try:
            for _ in range(connections):
                c = socket.create_connection((host, port), timeout=10)
                c.sendall(b"GET / HTTP/1.1\r\n")
                held.append(c)
            time.sleep(0.5)
            closed, out = raw(host, port, b"GET /conformance HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 10)
            report(f"limits: with {connections} connections held, one more is refused with a JSON 503",
                   out.startswith(b"HTTP/1.1 503") and b'"status":503' in out, out[:60])
        except OSError as e:
            report("limits: connection cap", False, f"could not open connections: {e}")
        finally:
            for c in held:
                c.close()
    else:
        report("limits: connection cap", None, "pass --connections N (above the cap, default 512) to probe it")


def probe_diffs(base, token):
    plans = (as_json(call(base, "GET", "/api/plans")[2]) or {}).get("plans", [])
    if not plans:
        report("limits: concurrent anonymous diffs", None, "no plan")
        return
    a = plans[-1]["id"]
    b = plans[0]["id"]
    statuses = []

    def one():
        statuses.append(call(base, "GET", f"/api/plans/{a}/diff/{b}")[0])

    threads = [threading.Thread(target=one) for _ in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counts = {s: statuses.count(s) for s in set(statuses)}
    report("limits: 30 concurrent anonymous diffs answer 200 or 429 (bounded), never 5xx",
           all(s in (200, 429) for s in statuses), str(counts))


def probe_stalls(base, token):
    if not token:
        report("stalls: reads while a plan runs", None, "needs a planner token")
        return
    done = {}

    def plan():
        t0 = time.time()
        done["status"] = call(base, "POST", "/api/plans", json.dumps({"note": "redteam: reads during a plan"}),
                              token=token, timeout=600)[0]
        done["seconds"] = time.time() - t0

    t = threading.Thread(target=plan)
    t.start()
    time.sleep(0.2)
    worst, during, anon429 = 0.0, 0, None
    while t.is_alive():
        for path in ["/api/locate?lon=118.81&lat=32.31", "/api/plans", "/api/datasets"]:
            t0 = time.time()
            s = call(base, "GET", path)[0]
            dt = time.time() - t0
            if t.is_alive():
                during += 1
                worst = max(worst, dt)
        if anon429 is None and t.is_alive():
            plans = (as_json(call(base, "GET", "/api/plans")[2]) or {}).get("plans", [])
            if plans:
                anon429 = call(base, "GET", f"/api/plans/{plans[-1]['id']}/diff/{plans[-1]['id']}")[0]
        time.sleep(0.05)
    t.join()
    if during == 0:
        report("stalls: reads while a plan runs", None,
               f"the plan took {done.get('seconds', 0):.2f} s, too short to read during it (try a larger district)")
    else:
        report("stalls: reads answer while a plan runs", worst < 1.0,
               f"{during} reads during a {done.get('seconds', 0):.1f} s plan, slowest {worst * 1000:.0f} ms")
    if anon429 is not None:
        report("limits: an anonymous diff during a planner's job is told to retry (planners first)",
               anon429 == 429, f"HTTP {anon429}")


def probe_writes(base, token):
    if not token:
        report("state: a refused upload leaves no trace", None, "needs a planner token")
        return
    before = call(base, "GET", "/api/datasets")[2]
    s1 = call(base, "POST", "/api/datasets/households", '{"type":"FeatureCollection","features":[{}]}',
              token=token)[0]
    s2 = call(base, "POST", "/api/datasets/rules", "[kinds.urban]\nmin_households = 900\nmax_households = 100\n",
              token=token)[0]
    after = call(base, "GET", "/api/datasets")[2]
    report("state: refused uploads (bad households, contradictory rules) leave no trace",
           s1 == 400 and s2 == 400 and before == after, f"HTTP {s1}, {s2}; datasets unchanged: {before == after}")
    for scheme in ["bearer", "BEARER"]:
        s = call(base, "GET", "/api/datasets/rules/latest", headers={"Authorization": f"{scheme} {token}"})[0]
        report(f"auth: the `{scheme}` scheme is accepted (case-insensitive)", s in (200, 404), f"HTTP {s}")


def probe_same_day_redraw(base, token, enabled):
    """New boundaries the day the plan in force was made (a leaf renamed, so its grids retire the day
    they took effect), then a diff, an assignment and a re-draw from the new plan: each must answer
    2xx. Writes plans: opt-in (--same-day-redraw); the boundaries are put back after."""
    name = "same-day re-draw: diff, assignment and re-draw after new boundaries"
    if not enabled:
        report(name, None, "pass --same-day-redraw (writes plans and puts the boundaries back)")
        return
    if not token:
        report(name, None, "needs a planner token")
        return
    status, _, original = call(base, "GET", "/api/datasets/boundaries/latest", token=token)
    b = as_json(original) if status == 200 else None
    if not isinstance(b, dict) or not b.get("features"):
        report(name, None, f"no boundaries to read (HTTP {status})")
        return
    parents = {f.get("properties", {}).get("parent") for f in b["features"]}
    leaves = [f for f in b["features"] if f.get("properties", {}).get("code") not in parents]
    if not leaves:
        report(name, None, "no leaf in the boundaries")
        return
    plans = (as_json(call(base, "GET", "/api/plans")[2]) or {}).get("plans", [])
    before = max((p["id"] for p in plans), default=None)
    leaf = leaves[-1]["properties"]
    old_code = leaf["code"]
    codes = {f.get("properties", {}).get("code") for f in b["features"]}
    free = [old_code[:-1] + d for d in "9876543210" if old_code[:-1] + d not in codes]
    if not free:
        report(name, None, f"no free code beside {old_code}")
        return
    leaf["code"] = free[0]
    steps = []
    s, _, body = call(base, "POST", "/api/boundaries", json.dumps(b), token=token, timeout=600)
    steps.append(("POST /api/boundaries", s))
    new = ((as_json(body) or {}).get("plan") or {}).get("plan")
    if s == 201 and before is not None and new is not None:
        steps.append((f"GET /api/plans/{before}/diff/{new}",
                      call(base, "GET", f"/api/plans/{before}/diff/{new}", token=token, timeout=600)[0]))
        s_assign = call(base, "POST", "/api/assignments", "", token=token, timeout=600)[0]
        if s_assign != 422:  # 422: no workers uploaded, nothing to assign
            steps.append(("POST /api/assignments", s_assign))
        steps.append(("POST /api/plans {previous}",
                      call(base, "POST", "/api/plans", json.dumps({"previous": new}), token=token,
                           timeout=600)[0]))
    leaf["code"] = old_code
    restored = call(base, "POST", "/api/boundaries", json.dumps(b), token=token, timeout=600)[0]
    report(name, all(200 <= s < 300 for _, s in steps) and len(steps) >= 3,
           ", ".join(f"{what} → {s}" for what, s in steps) + f"; boundaries put back → {restored}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("url", nargs="?", default="http://127.0.0.1:8080")
    ap.add_argument("--token", default=os.environ.get("GRIDPLAN_PLANNER_TOKEN"),
                    help="a planner token (default: $GRIDPLAN_PLANNER_TOKEN)")
    ap.add_argument("--connections", type=int, default=0,
                    help="hold this many half-open connections to probe the cap (above the server's cap)")
    ap.add_argument("--same-day-redraw", action="store_true",
                    help="also replace the boundaries and re-draw the same day (writes plans; puts the boundaries back)")
    args = ap.parse_args()
    base = args.url.rstrip("/")
    grids = all_items(base, "grids")
    if not grids:
        print("the server publishes no grids: plan first")
        return 2
    probe_privacy(base, args.token, grids)
    probe_parameters(base)
    probe_json_errors(base)
    probe_writes(base, args.token)
    probe_stalls(base, args.token)
    probe_diffs(base, args.token)
    probe_limits(base, args.token, args.connections)
    probe_same_day_redraw(base, args.token, args.same_day_redraw)
    fails = RESULTS.count("FAIL")
    print(f"\n{RESULTS.count('PASS')} passed, {fails} failed, {RESULTS.count('SKIP')} skipped")
    return 1 if fails else 0


if __name__ == "__main__":
    raise SystemExit(main())
