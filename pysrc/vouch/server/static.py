"""Static files: right media types, precompressed variants, and caching that fits each URL.

The build writes `name.br` and `name.gz` beside large assets; we send the best one the
client accepts as-is, so no request pays for compressing a 10 MB wasm module on the fly.

Caching:

* under `/v/<version or build>/` every URL names content that never changes (the build
  puts versioned runtimes and content-hashed files there), so browsers keep it for a year
  and never ask again (`immutable`): a warm open of the dialog costs no round trip for them;
* everything else (the HTML, our CSS and scripts, `/v/vouch-boot.mjs`, `/pyodide/`) is
  revalidated on every use: ETag/Last-Modified make that a cheap 304.
"""

from __future__ import annotations

import mimetypes
import os
import re
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import Scope

for _suffix, _type in {
    ".wasm": "application/wasm",
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".whl": "application/zip",
    ".zip": "application/zip",
    ".json": "application/json",
    ".toml": "application/toml",
    ".py": "text/x-python",
    ".svg": "image/svg+xml",
    ".snapshot": "application/octet-stream",
}.items():
    mimetypes.add_type(_type, _suffix)

# Revalidate on every use: ETag/Last-Modified make that a cheap 304.
CACHE_CONTROL = "no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"
IMMUTABLE_PATH = re.compile(r"^/v/[^/]+/")
# Files other sites load from us: the embed SDK is imported as a module by host pages.
CROSS_ORIGIN_FILES = {"vouch.js"}
# Best first; the build writes the siblings.
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))


def _accepted(accept_encoding: str) -> set[str]:
    accepted = set()
    for item in accept_encoding.split(","):
        name, _, params = item.strip().partition(";")
        if params.strip().replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000"):
            continue
        accepted.add(name.strip().lower())
    return accepted


def cache_control(url_path: str) -> str:
    return IMMUTABLE if IMMUTABLE_PATH.match(url_path) else CACHE_CONTROL


class _FileResponse(FileResponse):
    # Starlette reads 64 KiB per thread hop: a 5 MB snapshot took 80 hops and half a
    # second on a busy machine. Large reads keep big assets at the speed of the disk cache.
    chunk_size = 1024 * 1024


class PrecompressedStaticFiles(StaticFiles):
    def file_response(
        self,
        full_path: Any,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        request_headers = Headers(scope=scope)
        path = os.fspath(full_path)
        media_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
        headers = {"Cache-Control": cache_control(scope["path"]), "Vary": "Accept-Encoding"}
        if os.path.basename(path) in CROSS_ORIGIN_FILES:
            headers["Access-Control-Allow-Origin"] = "*"
            headers["Cross-Origin-Resource-Policy"] = "cross-origin"
        accepted = _accepted(request_headers.get("accept-encoding", ""))
        for encoding, suffix in ENCODINGS:
            if encoding not in accepted or not os.path.isfile(path + suffix):
                continue
            variant_stat = os.stat(path + suffix)
            if variant_stat.st_mtime >= stat_result.st_mtime:  # not left over from an old build
                path, stat_result = path + suffix, variant_stat
                headers["Content-Encoding"] = encoding
                break
        response = _FileResponse(
            path,
            status_code=status_code,
            stat_result=stat_result,
            media_type=media_type,
            headers=headers,
        )
        if self.is_not_modified(response.headers, request_headers):
            return NotModifiedResponse(response.headers)
        return response
