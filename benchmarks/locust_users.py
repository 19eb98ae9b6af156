"""Locust users for the load-generation benchmark: each one streams chat
completions back to back, with no wait, and reads every stream to its end.

TODO(loadtests): when loadtests/locustfile.py lands, benchmark its users
instead of these.
"""

from locust import FastHttpUser, constant, task

from benchmarks.bench_simulator import MODEL

_BODY = {
    "model": MODEL,
    "messages": [{"role": "user", "content": "benchmark"}],
    "stream": True,
    "max_tokens": 8,
}


class StreamingUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def stream(self) -> None:
        with self.client.post(
            "/v1/chat/completions",
            json=_BODY,
            headers={"Authorization": "Bearer bench"},
            name="chat stream",
            catch_response=True,
        ) as response:
            if b"data: [DONE]" not in (response.content or b""):
                response.failure("stream did not finish")
