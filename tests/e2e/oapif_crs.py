"""Reads a layer of an OGC API - Features service in a CRS of the client's choosing with a GDAL that
implements Part 2 (the OAPIF driver's CRS open option, GDAL 3.7 and later, bundled by pyogrio), and writes
what it read as a GeoJSON file (GDAL names the CRS in the file's `crs` member).

usage: python oapif_crs.py URL LAYER CRS OUT.geojson
prints: the GDAL version, the layer's CRS as GDAL reports it, and the number of features
"""
import sys

import pyogrio
from pyogrio.raw import read, write

url, layer, crs, out = sys.argv[1:5]
meta, _, geometry, fields = read(url, layer=layer, CRS=crs, return_fids=True)
write(
    out,
    geometry,
    fields,
    meta["fields"],
    crs=meta["crs"],
    geometry_type=meta["geometry_type"],
    driver="GeoJSON",
)
print(pyogrio.__gdal_version_string__, meta["crs"], len(geometry))
