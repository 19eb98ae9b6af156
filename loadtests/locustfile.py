"""prober's capacity tests: ``locust -f loadtests/locustfile.py``.

Streams the probe prompts to the catalog models at the host (by default the
simulator at http://127.0.0.1:8000) with the load shape named by ``--shape``:
steady, peak-hour, spike or step (the knee). Results go to prober's database
and to live Prometheus metrics; ``prober report --load`` reads them. The
README's "Capacity tests" section has the options and examples.
"""

from locust import events

from loadtests import shapes
from loadtests.session import install
from loadtests.users import StreamingChatUser

# Locust runs the first shape class it finds in this module, unless another
# is picked in the web UI (--class-picker): ProberShape, which follows
# --shape, must stay first.
ProberShape = shapes.ProberShape
SteadyShape = shapes.SteadyShape
PeakHourShape = shapes.PeakHourShape
SpikeShape = shapes.SpikeShape
StepShape = shapes.StepShape

__all__ = [
    "PeakHourShape",
    "ProberShape",
    "SpikeShape",
    "SteadyShape",
    "StepShape",
    "StreamingChatUser",
]

install(events)
