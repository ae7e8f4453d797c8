#!/usr/bin/env python3
"""Red-team probes against a running gridplan server: the attacks and careless uses the service must
withstand. Standard library only.

    python3 scripts/redteam.py http://127.0.0.1:8080                 # anonymous probes
    GRIDPLAN_PLANNER_TOKEN=... python3 scripts/redteam.py URL         # also the planner-side probes
    python3 scripts/redteam.py URL --connections 600                  # one client holds 600 half-open

Each probe prints PASS, FAIL or SKIP with what it saw; the exit status is 1 when any probe fails.
Probes that write (uploads that must be refused, plans) run only with a planner token, and leave at
most two new plans behind.
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
        probe_connections(host, port, connections)
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


def xlsx(sheet_rows, shared=None, dimension="A1", extra_sheet=b"", sst_chunks=None):
    """A minimal XLSX workbook (zipfile): `sheet_rows` is the sheetData XML; `shared` the shared strings
    XML, or `sst_chunks` an iterable of its pieces (streamed, for large parts); `extra_sheet` bytes put
    first inside sheetData (streamed as given when an iterable)."""
    import io
    import zipfile
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        ct = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
              '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
              '<Default Extension="xml" ContentType="application/xml"/>'
              '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
              '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
              '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
              '</Types>')
        z.writestr("[Content_Types].xml", ct)
        z.writestr("_rels/.rels", f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", f'<?xml version="1.0" encoding="UTF-8"?><workbook {ns} xmlns:r="{rel}">'
                   '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
                   f'<Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            f.write(f'<?xml version="1.0" encoding="UTF-8"?><worksheet {ns}><dimension ref="{dimension}"/><sheetData>'.encode())
            for piece in ([extra_sheet] if isinstance(extra_sheet, bytes) else extra_sheet):
                f.write(piece)
            f.write(sheet_rows.encode())
            f.write(b"</sheetData></worksheet>")
        with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as f:
            for piece in (sst_chunks or [(shared or f'<sst {ns} count="0" uniqueCount="0"></sst>').encode()]):
                f.write(piece)
    return buf.getvalue()


def ledger_rows(n):
    rows = ['<row r="1"><c r="A1" t="inlineStr"><is><t>lon</t></is></c><c r="B1" t="inlineStr"><is><t>lat</t></is></c></row>']
    for i in range(n):
        r = i + 2
        rows.append(f'<row r="{r}"><c r="A{r}"><v>{118.80 + i * 1e-4}</v></c><c r="B{r}"><v>{32.30 + i * 1e-4}</v></c></row>')
    return "".join(rows)


def fgb(features_count, node_size, tail=b""):
    """A FlatGeobuf file with a hand-built header (geometry type Point, the given feature count and
    index node size, every field stored) followed by `tail`."""
    import struct
    vt = struct.pack("<HH", 24, 20) + struct.pack("<10H", 0, 0, 18, 0, 0, 0, 0, 0, 8, 16)
    table = struct.pack("<i", 24) + b"\0" * 4 + struct.pack("<QHBx", features_count, node_size, 1)
    body = struct.pack("<I", 28) + vt + table
    return b"fgb\x03fgb\x00" + struct.pack("<I", len(body)) + body + tail


def probe_hostile_files(base, token):
    """Uploads that once crashed or swelled the server: each must be a 400 naming what is wrong, and the
    server must answer the next request."""
    if not token:
        report("inputs: hostile spreadsheets, FlatGeobuf and CSV uploads are refused", None, "needs a planner token")
        return
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    n = 5_000_000
    cases = [
        ("an XLSX with one cell at XFD1048576", "households",
         xlsx(ledger_rows(49) + '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>',
              dimension="A1:XFD1048576"), "1048576"),
        ("an XLSX shared-strings bomb", "households",
         xlsx(ledger_rows(3), sst_chunks=[f'<sst {ns} count="{n}" uniqueCount="{n}">'.encode()]
              + [b"<si><t>a</t></si>" * 100_000] * (n // 100_000) + [b"</sst>"]), "zip bomb"),
        ("an XLSX whitespace bomb", "households",
         xlsx(ledger_rows(3), extra_sheet=(b" " * (1 << 20) for _ in range(256))), "zip bomb"),
        ("an XLSX claiming 10^15 shared strings", "households",
         xlsx(ledger_rows(3), shared=f'<sst {ns} count="1" uniqueCount="999999999999999"><si><t>a</t></si></sst>'),
         "999999999999999"),
        ("a FlatGeobuf with index node size 1", "households", fgb(1, 1, b"\0" * 64), "node size of 1"),
        ("a FlatGeobuf with a 4 GB feature", "households",
         fgb(1, 0, b"\xf0\xff\xff\xff" + b"\0" * 4800), "runs past the end"),
        ("a FlatGeobuf blocks file with index node size 1", "blocks", fgb(1, 1, b"\0" * 64), "node size of 1"),
        ("a FlatGeobuf boundaries file with a 4 GB feature", "boundaries",
         fgb(1, 0, b"\xf0\xff\xff\xff" + b"\0" * 4800), "runs past the end"),
        ("a CSV of a million columns", "households", b"lon,lat" + b"," * 1_000_000 + b"\n118.8,32.3\n", "16384"),
    ]
    for name, kind, body, says in cases:
        t = time.time()
        s, h, b = call(base, "POST", f"/api/datasets/{kind}", body, token=token, timeout=300)
        took = time.time() - t
        alive = call(base, "GET", "/collections")[0] == 200
        text = b.decode("utf-8", "replace")
        report(f"inputs: {name} ({len(body) // 1024} KB) uploaded as {kind} is a 400 naming it, the server alive",
               s == 400 and says in text and alive,
               f"HTTP {s} in {took:.1f} s, alive {alive}: {text[:160]!r}")
    s, h, b = call(base, "POST", "/api/check", fgb(1, 1, b"\0" * 64), token=token)
    alive = call(base, "GET", "/collections")[0] == 200
    report("inputs: a FlatGeobuf with index node size 1 sent to /api/check is a 400, the server alive",
           s == 400 and alive, f"HTTP {s}, alive {alive}: {b[:160]!r}")
def probe_connections(host, port, connections):
    """One client holds `connections` half-open connections (re-opening those the server closes); the
    legitimate requests meanwhile, from the same address and (on loopback) from another, are served."""
    held, stop = [], threading.Event()
    request = b"GET /conformance HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

    def hold():
        while not stop.is_set():
            try:
                c = socket.create_connection((host, port), timeout=10)
                c.sendall(b"GET / HTTP/1.1\r\n")
                held.append(c)
            except OSError:
                time.sleep(0.05)
            while len(held) >= connections and not stop.is_set():
                # Re-open the ones the server closed.
                for c in list(held):
                    try:
                        c.setblocking(False)
                        if c.recv(1) == b"":
                            held.remove(c)
                            c.close()
                    except BlockingIOError:
                        pass
                    except OSError:
                        held.remove(c)
                        c.close()
                time.sleep(0.05)

    t = threading.Thread(target=hold, daemon=True)
    t.start()
    deadline = time.time() + 60
    while len(held) < connections and time.time() < deadline:
        time.sleep(0.1)
    sources = [None]
    if host.startswith("127."):
        sources.append("127.0.0.2")
    for source in sources:
        codes = []
        for _ in range(20):
            try:
                s = socket.create_connection((host, port), timeout=30,
                                             source_address=(source, 0) if source else None)
                s.sendall(request)
                out = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    out += chunk
                s.close()
                codes.append(out[9:12].decode(errors="replace"))
            except OSError as e:
                codes.append(f"error {e}")
        who = f"from {source}" if source else "from the same address"
        report(f"limits: with one client holding {connections} half-open connections, requests {who} are served",
               all(c == "200" for c in codes), f"{codes.count('200')}/20 answered 200: {sorted(set(codes))}")
    stop.set()
    t.join(timeout=10)
    for c in held:
        c.close()


def probe_planner_stalls(base, token):
    """Check, a planner's diff and the sensitive counts answer while a plan computes (they are not
    queued behind it): each must come back before the plan does."""
    if not token:
        report("stalls: planner routes while a plan runs", None, "needs a planner token")
        return
    listed = as_json(call(base, "GET", "/api/plans")[2]) or {}
    plans, published = listed.get("plans", []), listed.get("published")
    if not plans or published is None:
        report("stalls: planner routes while a plan runs", None, "no plan")
        return
    grids = call(base, "GET", f"/api/plans/{published}/grids")[2]
    a, b = plans[-1]["id"], plans[0]["id"]
    done = {}

    def plan():
        done["status"] = call(base, "POST", "/api/plans", json.dumps({"note": "redteam: planner routes during a plan"}),
                              token=token, timeout=900)[0]

    t = threading.Thread(target=plan)
    t.start()
    time.sleep(0.5)
    answered = {}
    for name, method, path, body in [("check", "POST", "/api/check", grids),
                                     ("diff", "GET", f"/api/plans/{a}/diff/{b}", None),
                                     ("sensitive", "GET", f"/api/plans/{published}/sensitive", None)]:
        t0 = time.time()
        status = call(base, method, path, body, token=token, timeout=900)[0]
        answered[name] = (status, t.is_alive(), time.time() - t0)
    t.join()
    if not all(during for _, during, _ in answered.values()) and not any(d for _, d, _ in answered.values()):
        report("stalls: planner routes answer while a plan runs", None,
               "the plan ended before the first answer (too short to tell: try a larger district)")
        return
    report("stalls: check, diff and sensitive answer while a plan runs (before it ends)",
           all(s == 200 and during for s, during, _ in answered.values()),
           "; ".join(f"{n}: HTTP {s} in {dt:.1f} s, {'before' if during else 'after'} the plan ended"
                     for n, (s, during, dt) in answered.items()))


def probe_datetime(base):
    for value, why in [("2026-02-30", "a day the calendar lacks"),
                       ("2026-05-01/2026-01-01", "an interval that ends before it starts")]:
        s, h, b = call(base, "GET", f"/collections/grids/items?datetime={value}")
        report(f"parameters: datetime={value} ({why}) is 400", s == 400 and is_json_error(s, h, b),
               f"HTTP {s} {b[:100]!r}")


def probe_stranding_boundaries(base, token):
    """Boundaries that drop a town the workers in force serve are refused naming it (and, should a
    server accept them, the boundaries in force are put back)."""
    if not token:
        report("state: boundaries that strand the workers are refused", None, "needs a planner token")
        return
    s1, _, workers = call(base, "GET", "/api/datasets/workers/latest", token=token)
    s2, _, boundaries = call(base, "GET", "/api/datasets/boundaries/latest", token=token)
    w, b = as_json(workers), as_json(boundaries)
    if s1 != 200 or s2 != 200 or not isinstance(w, dict) or not isinstance(b, dict):
        report("state: boundaries that strand the workers are refused", None, "needs GeoJSON workers and boundaries")
        return
    towns = {str(f.get("properties", {}).get("town")) for f in w.get("features", [])}
    codes = {str(f.get("properties", {}).get("code")) for f in b.get("features", [])}
    town = next((t for t in sorted(towns) if t in codes), None)
    if town is None:
        report("state: boundaries that strand the workers are refused", None, "no worker's town in the boundaries")
        return
    for f in b["features"]:
        p = f.get("properties", {})
        for k in ("code", "parent"):
            if str(p.get(k)) == town:
                p[k] = "RT" + town
    s, h, body = call(base, "POST", "/api/boundaries", json.dumps(b), token=token, timeout=900)
    error = (as_json(body) or {}).get("error", "")
    report("state: boundaries that strand the workers are refused naming the town",
           s in (400, 422) and town in error and "worker" in error, f"HTTP {s} {error[:160]!r}")
    if s in (200, 201):
        put_back = call(base, "POST", "/api/boundaries", boundaries, token=token, timeout=900)[0]
        print(f"      (the stranding boundaries were accepted; the boundaries in force put back: HTTP {put_back})")


def probe_small_cells(base, token, grids):
    """No open grid publishes a count of fewer than 20 households, and rules bands of one household
    are refused naming the key."""
    small = [f["id"] for f in grids
             if isinstance(f["properties"].get("households"), int) and 0 < f["properties"]["households"] < 20]
    report("privacy: no open grid publishes fewer than 20 households", not small,
           f"{len(small)} grids do, e.g. {small[:3]}" if small else f"{len(grids)} grids")
    if not token:
        report("privacy: rules of one-household grids are refused", None, "needs a planner token")
        return
    before = call(base, "GET", "/api/datasets")[2]
    s, h, b = call(base, "POST", "/api/datasets/rules",
                   "[kinds.urban]\nmin_households = 1\nmax_households = 1\n", token=token)
    error = (as_json(b) or {}).get("error", "")
    after = call(base, "GET", "/api/datasets")[2]
    report("privacy: rules of one-household grids (min = max = 1) are refused naming min_households",
           s == 400 and "min_households" in error and before == after, f"HTTP {s} {error[:140]!r}")
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


def probe_geopackage_uploads(base, token):
    """GeoPackages uploaded as datasets (told by their first bytes): one of several layers none of which is
    named as the dataset, and a damaged one, are each a 400 naming what is wrong, the server alive."""
    if not token:
        report("inputs: hostile GeoPackage uploads are refused", None, "needs a planner token")
        return
    import sqlite3
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "two.gpkg")
        db = sqlite3.connect(path)
        db.executescript("""
            PRAGMA application_id = 1196444487;
            CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY,
              organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL,
              description TEXT);
            INSERT INTO gpkg_spatial_ref_sys VALUES ('WGS 84', 4326, 'EPSG', 4326, 'undefined', NULL);
            CREATE TABLE gpkg_contents (table_name TEXT PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT,
              description TEXT, last_change TEXT, min_x REAL, min_y REAL, max_x REAL, max_y REAL, srs_id INTEGER);
            CREATE TABLE gpkg_geometry_columns (table_name TEXT, column_name TEXT, geometry_type_name TEXT,
              srs_id INTEGER, z INTEGER, m INTEGER);
            CREATE TABLE layer_one (fid INTEGER PRIMARY KEY, geom BLOB, code TEXT);
            CREATE TABLE layer_two (fid INTEGER PRIMARY KEY, geom BLOB, code TEXT);
            INSERT INTO gpkg_contents (table_name, data_type, srs_id) VALUES ('layer_one', 'features', 4326),
              ('layer_two', 'features', 4326);
            INSERT INTO gpkg_geometry_columns VALUES ('layer_one', 'geom', 'POLYGON', 4326, 0, 0),
              ('layer_two', 'geom', 'POLYGON', 4326, 0, 0);
        """)
        db.commit()
        db.close()
        with open(path, "rb") as f:
            two = f.read()
    cases = [
        ("a GeoPackage of two layers", two, "layer_two"),
        ("a GeoPackage cut short", two[:1500], "GeoPackage"),
        ("an SQLite header and nothing else", b"SQLite format 3\0" + b"\0" * 84, "GeoPackage"),
    ]
    for name, body, says in cases:
        s, h, b = call(base, "POST", "/api/datasets/boundaries", body, token=token)
        alive = call(base, "GET", "/collections")[0] == 200
        text = b.decode("utf-8", "replace")
        report(f"inputs: {name} uploaded as boundaries is a 400 naming it, the server alive",
               s == 400 and says in text and alive, f"HTTP {s}, alive {alive}: {text[:200]!r}")


def probe_handover(base, token):
    """The ledger and the atlas list workers' names and phones: planner-only, and never cached."""
    plan = (as_json(call(base, "GET", "/api/plans")[2]) or {}).get("published")
    if plan is None:
        report("handover: the ledger and the atlas are planner-only", None, "no plan published")
        return
    for ext in ["xlsx", "pdf"]:
        for who, tok in [("anonymous", None), ("bad token", "not-a-token-at-all-0123456789")]:
            s, _, b = call(base, "GET", f"/api/plans/{plan}/report.{ext}", token=tok)
            report(f"handover: {who} GET report.{ext} is refused", s in (401, 403) and not b.startswith(b"%PDF"),
                   f"HTTP {s}")
        if not token:
            report(f"handover: a planner gets report.{ext}", None, "needs a planner token")
            continue
        s, h, b = call(base, "GET", f"/api/plans/{plan}/report.{ext}", token=token)
        magic = b"%PDF" if ext == "pdf" else b"PK"
        cache = {k.lower(): v for k, v in h.items()}.get("cache-control", "")
        report(f"handover: a planner gets report.{ext}, not kept by shared caches",
               s == 200 and b.startswith(magic) and "no-store" in cache, f"HTTP {s}, Cache-Control {cache!r}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("url", nargs="?", default="http://127.0.0.1:8080")
    ap.add_argument("--token", default=os.environ.get("GRIDPLAN_PLANNER_TOKEN"),
                    help="a planner token (default: $GRIDPLAN_PLANNER_TOKEN)")
    ap.add_argument("--connections", type=int, default=0,
                    help="hold this many half-open connections from one client (above the server's caps) and check "
                         "that other requests are still served")
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
    probe_hostile_files(base, args.token)
    probe_geopackage_uploads(base, args.token)
    probe_stalls(base, args.token)
    probe_planner_stalls(base, args.token)
    probe_diffs(base, args.token)
    probe_datetime(base)
    probe_small_cells(base, args.token, grids)
    probe_stranding_boundaries(base, args.token)
    probe_limits(base, args.token, args.connections)
    probe_same_day_redraw(base, args.token, args.same_day_redraw)
    probe_handover(base, args.token)
    fails = RESULTS.count("FAIL")
    print(f"\n{RESULTS.count('PASS')} passed, {fails} failed, {RESULTS.count('SKIP')} skipped")
    return 1 if fails else 0


if __name__ == "__main__":
    raise SystemExit(main())
