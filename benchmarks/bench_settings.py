"""Settings for the benchmark server: the deployed settings plus one bare comparison view."""
from courier_crm.settings.base import *  # noqa: F401,F403

ROOT_URLCONF = "benchmarks.bench_urls"
