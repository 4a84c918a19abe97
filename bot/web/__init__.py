"""The public web pages: the board (and, beside it, the desk and alerts)."""
