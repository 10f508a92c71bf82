# The part of Pyodide's Python package vouch uses: see ffi.pyi.
