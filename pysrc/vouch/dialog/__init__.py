"""The dialog that runs in the page (Pyodide + PyScript). Only `jsbridge` touches `js`."""
