"""Hidden tests for the flatten task, run inside the sandbox.

Usage: python3 flatten.py ANSWER_FILE FUNCTION_NAME

Loads the answer as a module (so its ``if __name__ == "__main__"`` block
stays quiet), then runs each case under its own timer and reports one line
per case as soon as it is known, so a crash or a kill keeps earlier results.
Cases that could take the process down run last.
"""

import copy
import json
import signal
import sys
import types

MARK = "@@prober "
CASE_SECONDS = 2.0
OUT = sys.stdout


class CaseTimeout(BaseException):
    pass


class Discard:
    def write(self, text):
        return len(text)

    def flush(self):
        pass


def report(case, ok, detail=""):
    record = {"case": case, "ok": bool(ok), "detail": str(detail)[:300]}
    OUT.write(MARK + json.dumps(record) + "\n")
    OUT.flush()


def on_alarm(signum, frame):
    raise CaseTimeout()


def call(function, argument):
    result = function(argument)
    if result is None or isinstance(result, (list, tuple)):
        return result
    # A generator or other iterable is a fine answer: consume it.
    return list(result)


def timed(function, *arguments):
    signal.setitimer(signal.ITIMER_REAL, CASE_SECONDS)
    try:
        return function(*arguments)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def equal(case, function, argument, *expected):
    try:
        result = timed(call, function, argument)
        ok = any(result == want for want in expected)
    except CaseTimeout:
        return report(case, False, "timed out")
    except BaseException as exc:  # the answer's failure is the measurement
        return report(case, False, f"raised {type(exc).__name__}: {exc}")
    report(case, ok, "" if ok else f"got {short(result)}")


def short(value):
    try:
        text = repr(value)
    except BaseException:
        return "an unprintable value"
    return text if len(text) < 120 else text[:117] + "..."


def deep(depth):
    nested: list = [1]
    for _ in range(depth):
        nested = [nested, 2]
    return nested, [1] + [2] * depth


def repeatable(function):
    first = call(function, [1, [2, [3]]])
    second = call(function, [1, [2, [3]]])
    return first == second == [1, 2, 3]


def unchanged(function):
    argument = [1, [2, [3, [4]]], [], [5]]
    before = copy.deepcopy(argument)
    call(function, argument)
    return argument == before


def check(case, predicate, function):
    try:
        report(case, timed(predicate, function))
    except CaseTimeout:
        report(case, False, "timed out")
    except BaseException as exc:
        report(case, False, f"raised {type(exc).__name__}: {exc}")


def run_cases(function):
    equal("example", function, [1, [2, [3, 4]], 5], [1, 2, 3, 4, 5])
    equal(
        "nested-mixed",
        function,
        [[1, 2], [3, [4, [5, [6]]]], 7, [8]],
        [1, 2, 3, 4, 5, 6, 7, 8],
    )
    equal("already-flat", function, [1, 2, 3], [1, 2, 3])
    check("repeatable", repeatable, function)
    check("input-unchanged", unchanged, function)
    equal("empty", function, [], [])
    equal("empty-nested", function, [[], [[]], [[], [[]]]], [])
    equal("strings-whole", function, ["ab", ["cd", ["ef"]]], ["ab", "cd", "ef"])
    equal("falsy-kept", function, [0, [None, [False, ""]], []], [0, None, False, ""])
    equal("dicts-whole", function, [{"a": 1}, [{"b": 2}]], [{"a": 1}, {"b": 2}])
    # Tuples are not lists: kept whole or flattened, both accepted.
    equal("tuples", function, [1, (2, 3), [4]], [1, (2, 3), 4], [1, 2, 3, 4])
    large = list(range(100_000)) + [[i, [i]] for i in range(20_000)]
    expected = list(range(100_000)) + [i for i in range(20_000) for _ in (0, 1)]
    equal("large-input", function, large, expected)
    nested, flat = deep(3 * sys.getrecursionlimit())
    equal("deep-nesting", function, nested, flat)


def main():
    path, name = sys.argv[1], sys.argv[2]
    signal.signal(signal.SIGALRM, on_alarm)
    module = types.ModuleType("answer")
    sys.stdout = Discard()
    try:
        with open(path, encoding="utf-8") as source:
            code = compile(source.read(), "answer.py", "exec")
        timed(exec, code, module.__dict__)
    except BaseException as exc:
        return report("load", False, f"{type(exc).__name__}: {exc}")
    function = module.__dict__.get(name)
    if not callable(function):
        return report("load", False, f"no function named {name}")
    report("load", True)
    run_cases(function)


if __name__ == "__main__":
    main()
    OUT.flush()
