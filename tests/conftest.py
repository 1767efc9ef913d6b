import os

from hypothesis import HealthCheck, settings

# Deadlines flake on a loaded 2-core machine; CI runs more examples.
settings.register_profile("dev", deadline=None, max_examples=100)
settings.register_profile("ci", deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "dev")
