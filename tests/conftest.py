"""Suite-wide settings.

Hypothesis: CI runs on a shared, sometimes heavily loaded machine, where one example can take
longer than Hypothesis' default 200 ms deadline, or generating the first examples longer than
its ``too_slow`` health check allows, without anything being wrong with the code under test.
Both are timing checks of the test run itself, so they are off; every property still runs its
full number of examples.
"""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "skald", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("skald")
