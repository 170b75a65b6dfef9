"""Helpers shared by several test directories (``tests/`` is on ``sys.path``: ``support.x``)
and by ``bench/`` (which imports them as ``tests.support.x``).

* ``support.asgi`` — the HTTP clients in this process against a real Skald app.
* ``support.server`` — real server processes (``skald serve`` and others) on a free loopback
  port: start with a retry when the port was taken, wait until ready, capture the log, stop or
  kill; ``running_skald`` also requires a clean shutdown.
* ``support.clock`` — ``TestClock``, a clock to inject into the product (``OpenViking(now=...)``,
  ``build_services(config, now=...)``) that can be moved into the past, so tests make sessions
  old by creating them back then instead of rewriting stored timestamps.
"""
