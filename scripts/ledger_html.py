# Renders the first rows of a sheet of the grid ledger (.xlsx, read back from its XML) as a spreadsheet-like
# HTML table, for docs/ledger.png (scripts/handover_images.sh). Usage: ledger_html.py LEDGER.xlsx SHEET_NO ROWS
import re, sys, zipfile, html
from xml.etree import ElementTree as ET
ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
z = zipfile.ZipFile(sys.argv[1])
shared = [ "".join(t.text or "" for t in si.iter("{%s}t" % ns["m"])) for si in ET.fromstring(z.read("xl/sharedStrings.xml")).findall("m:si", ns)]
wb = ET.fromstring(z.read("xl/workbook.xml"))
names = [s.get("name") for s in wb.find("m:sheets", ns)]
sheet_no = int(sys.argv[2]); rows_wanted = int(sys.argv[3])
ws = ET.fromstring(z.read(f"xl/worksheets/sheet{sheet_no}.xml"))
widths = {}
for c in ws.iter("{%s}col" % ns["m"]):
    for i in range(int(c.get("min")), int(c.get("max")) + 1): widths[i] = float(c.get("width"))
def col_index(ref):
    letters = re.match(r"[A-Z]+", ref).group(0); n = 0
    for ch in letters: n = n * 26 + ord(ch) - 64
    return n
rows = []
for r in ws.iter("{%s}row" % ns["m"]):
    cells = {}
    for c in r.findall("m:c", ns):
        v = c.find("m:v", ns); t = c.get("t"); val = "" if v is None else v.text
        if t == "s": val = shared[int(val)]
        elif val:
            f = float(val); val = f"{f:,.0f}" if f == int(f) and f > 50 else (f"{f:.3f}" if f < 50 and f != int(f) else f"{f:,.0f}")
        cells[col_index(c.get("r"))] = val
    rows.append(cells)
    if len(rows) > rows_wanted: break
ncol = max(max(r) for r in rows)
letters = [chr(64 + i) for i in range(1, ncol + 1)]
out = ["<html><head><meta charset='utf-8'><style>body{margin:0;font-family:'WenQuanYi Micro Hei',sans-serif;font-size:13px;background:#fff}",
       ".tab{padding:6px 8px;background:#f3f3f3;border-bottom:1px solid #ccc;font-size:12px;color:#444}.tab b{background:#fff;padding:3px 10px;border:1px solid #ccc;border-bottom:none}",
       "table{border-collapse:collapse}td,th{border:1px solid #d4d4d4;padding:3px 6px;white-space:nowrap;overflow:hidden}",
       "th.c{background:#f0f0f0;color:#666;font-weight:normal;text-align:center}td.r{background:#f0f0f0;color:#666;text-align:center;width:28px}",
       "tr.h td:not(.r){background:#DDEBF7;font-weight:bold;text-align:center;border-bottom:2px solid #9bb}td.n{text-align:right}</style></head><body>",
       "<div class='tab'>" + " ".join(("<b>%s</b>" if i + 1 == sheet_no else "<span>%s</span>") % html.escape(n) for i, n in enumerate(names)) + "</div>",
       "<table><tr><th class='c'></th>" + "".join(f"<th class='c' style='width:{widths.get(i+1,10)*7.2:.0f}px'>{l}</th>" for i, l in enumerate(letters)) + "</tr>"]
for i, r in enumerate(rows):
    cls = " class='h'" if i == 0 else ""
    tds = []
    for c in range(1, ncol + 1):
        v = r.get(c, ""); num = bool(re.fullmatch(r"[\d,\.]+", v))
        tds.append(f"<td{' class=n' if num and i else ''}>{html.escape(v)}</td>")
    out.append(f"<tr{cls}><td class='r'>{i+1}</td>" + "".join(tds) + "</tr>")
out.append("</table></body></html>")
print("\n".join(out))
