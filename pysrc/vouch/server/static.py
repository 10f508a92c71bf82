"""Static files: right media types, precompressed variants, and revalidation-friendly caching.

The build writes `name.gz` beside large assets; when the client accepts gzip we send that
file as-is, so no request pays for compressing a 10 MB wasm module on the fly.
"""

from __future__ import annotations

import mimetypes
import os
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
}.items():
    mimetypes.add_type(_type, _suffix)

# Revalidate on every use: ETag/Last-Modified make that a cheap 304.
CACHE_CONTROL = "no-cache"
# Files other sites load from us: the embed SDK is imported as a module by host pages.
CROSS_ORIGIN_FILES = {"vouch.js"}


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
        headers = {"Cache-Control": CACHE_CONTROL, "Vary": "Accept-Encoding"}
        if os.path.basename(path) in CROSS_ORIGIN_FILES:
            headers["Access-Control-Allow-Origin"] = "*"
            headers["Cross-Origin-Resource-Policy"] = "cross-origin"
        gzipped = path + ".gz"
        if "gzip" in request_headers.get("accept-encoding", "") and os.path.isfile(gzipped):
            gz_stat = os.stat(gzipped)
            if gz_stat.st_mtime >= stat_result.st_mtime:
                path, stat_result = gzipped, gz_stat
                headers["Content-Encoding"] = "gzip"
        response = FileResponse(
            path,
            status_code=status_code,
            stat_result=stat_result,
            media_type=media_type,
            headers=headers,
        )
        if self.is_not_modified(response.headers, request_headers):
            return NotModifiedResponse(response.headers)
        return response
