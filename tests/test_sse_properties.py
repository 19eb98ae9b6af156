"""Property tests of the SSE decoder: any split of a byte stream decodes to
the same events, and no input makes it raise anything but its own error."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from prober.sse import SSEDecoder, SSEError, SSEEvent

_field_line = st.one_of(
    st.builds(
        lambda v: b"data: " + v,
        st.binary(max_size=40).filter(
            _no_eol := (lambda b: b"\n" not in b and b"\r" not in b)
        ),
    ),
    st.builds(
        lambda v: b"data:" + v, st.text(max_size=20).map(str.encode).filter(_no_eol)
    ),
    st.builds(
        lambda v: b"event: " + v, st.sampled_from([b"message", b"error", b"ping"])
    ),
    st.builds(
        lambda v: b": " + v, st.text(max_size=20).map(str.encode).filter(_no_eol)
    ),
    st.builds(
        lambda v: b"id: " + v, st.text(max_size=8).map(str.encode).filter(_no_eol)
    ),
    st.just(b"retry: 3000"),
    st.just(b"data"),
    st.just(b""),
)
_eol = st.sampled_from([b"\n", b"\r\n", b"\r"])


@st.composite
def _streams(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(st.tuples(_field_line, _eol), max_size=30))
    body = b"".join(line + eol for line, eol in lines)
    if draw(st.booleans()):
        body = b"\xef\xbb\xbf" + body
    return body


def _decode(parts: list[bytes]) -> list[tuple[str, str, str | None]]:
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    for part in parts:
        events.extend(decoder.feed(part, 1))
    tail = decoder.close()
    if tail is not None:
        events.append(tail)
    return [(e.data, e.event, e.id) for e in events]


@settings(max_examples=300, deadline=None)
@given(_streams(), st.lists(st.integers(min_value=0, max_value=2000), max_size=8))
def test_any_split_decodes_to_the_same_events(stream: bytes, cuts: list[int]) -> None:
    points = sorted({min(c, len(stream)) for c in cuts})
    parts, last = [], 0
    for point in points:
        parts.append(stream[last:point])
        last = point
    parts.append(stream[last:])
    assert _decode(parts) == _decode([stream])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=20))
def test_arbitrary_bytes_raise_nothing_but_sse_errors(parts: list[bytes]) -> None:
    decoder = SSEDecoder(max_event_bytes=256)
    try:
        for part in parts:
            for event in decoder.feed(part, 1):
                assert isinstance(event.data, str)
        decoder.close()
    except SSEError:
        pass


def test_unterminated_line_is_capped() -> None:
    decoder = SSEDecoder(max_event_bytes=1024)
    try:
        for _ in range(100):
            decoder.feed(b"x" * 100, 1)
    except SSEError as exc:
        assert "longer than 1024" in str(exc)
    else:
        raise AssertionError("an endless line must overflow")


def test_event_made_of_many_small_lines_is_capped() -> None:
    decoder = SSEDecoder(max_event_bytes=1024)
    try:
        for _ in range(100):
            decoder.feed(b"data: " + b"y" * 50 + b"\n", 1)
    except SSEError as exc:
        assert "larger than 1024" in str(exc)
    else:
        raise AssertionError("an endless event must overflow")


def test_event_time_is_its_first_byte() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b": comment\n", 10) == []
    assert decoder.feed(b"data: he", 20) == []
    assert decoder.feed(b"llo\n", 30) == []
    (event,) = decoder.feed(b"\n", 40)
    assert event == SSEEvent(data="hello", arrived_ns=20)


def test_whatwg_examples() -> None:
    # The examples of the HTML standard's event-stream section.
    stream = b"data: YHOO\ndata: +2\ndata: 10\n\n"
    assert _decode([stream]) == [("YHOO\n+2\n10", "message", None)]
    stream = (
        b": test stream\n\ndata: first event\nid: 1\n\n"
        b"data:second event\nid\n\ndata:  third event\n\n"
    )
    assert _decode([stream]) == [
        ("first event", "message", "1"),
        ("second event", "message", ""),
        (" third event", "message", ""),
    ]
    stream = b"data\n\ndata\ndata\n\ndata:"
    assert _decode([stream]) == [
        ("", "message", None),
        ("\n", "message", None),
        ("", "message", None),
    ]
