"""The demo and the GitHub it runs against, outside the product.

- `demo.github`: an in-memory GitHub (REST API and webhooks) that the demo,
  the tests and the benchmarks talk to instead of api.github.com.
- `demo.script`: `devex-bot demo`, a whole procurement told in chapters
  (`demo.bidding`, `demo.award`, `demo.payments`) on the stage `demo.scene` sets.

Nothing in `bot/`, `handlers/` or `storage/` imports this package.
"""
