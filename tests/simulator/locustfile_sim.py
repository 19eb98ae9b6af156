"""A tiny Locust scenario: FastHttpUser streams and fetches chat completions.

Used by test_sim_locust.py to show that Locust talks to the simulator
unmodified; not a capacity scenario (those live in loadtests/).
"""

from locust import FastHttpUser, constant, task

MODEL = "deepseek-v4-flash"


def chat(stream: bool) -> dict[str, object]:
    body: dict[str, object] = {
        "model": MODEL,
        "messages": [{"role": "user", "content": "Explain a race condition."}],
        "max_tokens": 30,
        "stream": stream,
    }
    if stream:
        body["stream_options"] = {"include_usage": True}
    return body


class ChatUser(FastHttpUser):
    wait_time = constant(0.05)

    @task(3)
    def stream(self) -> None:
        with self.client.post(
            "/v1/chat/completions",
            json=chat(stream=True),
            stream=True,
            catch_response=True,
            name="stream",
        ) as response:
            data = b"".join(response.iter_content(4096, decode_content=False))
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
            elif b'"usage"' not in data or not data.rstrip().endswith(b"data: [DONE]"):
                response.failure("stream did not finish with usage and [DONE]")

    @task(1)
    def whole(self) -> None:
        with self.client.post(
            "/v1/chat/completions",
            json=chat(stream=False),
            catch_response=True,
            name="whole",
        ) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
            elif not response.json()["choices"][0]["message"]["content"]:
                response.failure("empty answer")
