"""`make screenshots`: docs/board-en.png and docs/board-fr.png, the list of open
opportunities in each language as headless Chromium shows it (the board filled
through signed webhooks, as in tests/test_board_browser.py)."""

from __future__ import annotations

import sys

from tests.board_browser import ROOT, browser_missing, chromium, screenshot, served_board


def main() -> int:
    missing = browser_missing()
    if missing:
        print(missing, file=sys.stderr)
        return 1
    with served_board() as (base, _numbers), chromium() as driver:
        for lang in ("en", "fr"):
            path = ROOT / "docs" / f"board-{lang}.png"
            screenshot(driver, f"{base}/{lang}/", path)
            print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
