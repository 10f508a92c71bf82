"""Pure Python shared by the page and the server: codes, guardian keys, canonical messages."""
