"""Grader for the code-review task (Go): name the planted problems, fix them.

The Go service in ``prober/tasks/code-review.toml`` carries four planted
problems the answer must find: SQL built by string concatenation, missing
input validation, a password and an admin token compared in non-constant
time, and session tokens from ``math/rand`` seeded with the clock. Each is
worth a point for being named and another for a fix (in prose or code).
Bonus finds count as edge cases, three of them for full marks: plain-text
passwords, the unlocked sessions map, rows never closed, internal errors sent
to clients, ignored errors, a transfer that never checks the account belongs
to the caller, cookie flags and expiry, an empty admin token.

There is nothing to run: no Go toolchain is assumed, and the answer is prose
with code fragments. Every grade here is ``static``.
"""

from __future__ import annotations

import re

from prober.grading import extract, static
from prober.grading.execute import Executor
from prober.grading.result import Part
from prober.grading.scorecard import Scorecard

TASK = "code-review"

# Each planted problem: (name, patterns naming it, patterns of a fix).
_PLANTED = (
    (
        "sql-injection",
        (r"sql[- ]?injection", r"injection"),
        (r"parameteri[sz]ed", r"placeholder", r"prepared statement", r"\$1\b"),
    ),
    (
        "input-validation",
        (r"(input|missing|no|lack of)[^.\n]{0,20}validat", r"negative amount"),
        (
            r"amount\s*<=?\s*0",
            r"amount\s*>\s*0",
            r"must be positive",
            r"strconv\.Atoi\(\s*id",
            r"limit\s*[<>]=?\s*\d+",
            r"ParseInt\(",
        ),
    ),
    (
        "timing-attack",
        (r"timing[- ]?(attack|side[- ]?channel|leak)", r"constant[- ]time"),
        (
            r"ConstantTimeCompare",
            r"hmac\.Equal",
            r"CompareHashAndPassword",
            r"argon2",
        ),
    ),
    (
        "weak-session-token",
        (
            r"math/rand",
            r"predictable",
            r"(insecure|weak|non-?cryptographic)[^.\n]{0,30}(random|token|prng)",
        ),
        (r"crypto/rand", r"rand\.Read\(", r"cryptographically secure"),
    ),
)
_BONUS = (
    (
        "plaintext-passwords",
        (
            r"plain[- ]?text",
            r"hash(ed|ing)? (the )?passwords?",
            r"bcrypt",
            r"argon2",
            r"scrypt",
        ),
        1.0,
    ),
    (
        "sessions-map-race",
        (
            r"data race",
            r"concurrent (map|access|writes?)",
            r"sync\.(RW)?Mutex",
            r"not (thread|goroutine)[- ]safe",
        ),
        1.0,
    ),
    ("rows-not-closed", (r"rows\.Close", r"resource leak", r"connection leak"), 1.0),
    (
        "error-details-leak",
        (
            r"(leak|expos|reveal|disclos)\w*[^.\n]{0,40}(error|internal|"
            r"database|schema)",
            r"err\.Error\(\)[^.\n]{0,60}client",
        ),
        1.0,
    ),
    (
        "ignored-errors",
        (
            r"ignor\w+[^.\n]{0,30}errors?",
            r"errors?[^.\n]{0,60}ignored",
            r"unchecked errors?",
            r"Rollback\(",
        ),
        1.0,
    ),
    (
        "transfer-authorization",
        (
            r"\bIDOR\b",
            r"belongs? to",
            r"authori[sz]\w*[^.\n]{0,40}"
            r"(transfer|account)",
            r"owner",
        ),
        1.0,
    ),
    ("cookie-and-expiry", (r"HttpOnly", r"SameSite", r"expir\w+"), 0.5),
    (
        "empty-admin-token",
        (
            r"(empty|unset|not set|missing)[^.\n]{0,40}(ADMIN_TOKEN|admin token)",
            r"(ADMIN_TOKEN|admin token)[^.\n]{0,40}(empty|unset|not set)",
        ),
        0.5,
    ),
)
_BONUS_FOR_FULL = 3.0
_FUNCTIONS = (
    "login",
    "searchUsers",
    "getOrder",
    "transfer",
    "newSessionToken",
    "requireAdmin",
    "listUsers",
)


def grade_review(answer: str, executor: Executor) -> Scorecard:
    """``executor`` is unused: a review is read, never run."""
    card = Scorecard(TASK)
    answer = static.bounded(extract.strip_reasoning(answer))
    go_code = "\n".join(
        b.code for b in extract.code_blocks(answer) if b.language in ("go", "")
    )
    for name, named, fixed in _PLANTED:
        card.check(
            Part.CORRECTNESS, f"names-{name}", static.mentions(answer, *named), 1.5
        )
        card.check(Part.CORRECTNESS, f"fixes-{name}", static.mentions(answer, *fixed))
    _score_bonus_finds(card, answer, go_code)
    _score_fix_code(card, go_code)
    _score_documentation(card, answer)
    return card


def _score_bonus_finds(card: Scorecard, answer: str, go_code: str) -> None:
    """Three bonus finds earn the part in full; each is also recorded on its
    own, with no weight, so the record shows which were missed."""
    found = 0.0
    for name, patterns, weight in _BONUS:
        hit = static.mentions(answer, *patterns)
        card.check(Part.EDGE_CASES, name, hit, weight=0.0)
        found += weight * hit
    card.check(Part.EDGE_CASES, "bonus-finds", min(1.0, found / _BONUS_FOR_FULL), 2.0)
    handles = "if err != nil" in go_code
    card.check(Part.EDGE_CASES, "fix-handles-errors", handles, weight=0.5)


def _score_fix_code(card: Scorecard, go_code: str) -> None:
    has_code = static.code_lines(go_code) >= 8
    card.check(Part.CODE_QUALITY, "fix-code", has_code, weight=1.5)
    balanced = has_code and go_code.count("{") == go_code.count("}")
    card.check(Part.CODE_QUALITY, "balanced-code", balanced, weight=0.5)
    card.check(
        Part.CODE_QUALITY,
        "parameterized-code",
        bool(re.search(r"(Query|Exec)(Row)?(Context)?\([^)]*(\$1|\?)", go_code)),
    )
    card.check(Part.CODE_QUALITY, "crypto-rand-code", "crypto/rand" in go_code, 0.5)
    card.check(
        Part.CODE_QUALITY,
        "constant-time-code",
        static.mentions(
            go_code, r"ConstantTimeCompare", r"CompareHashAndPassword", r"hmac\.Equal"
        ),
        0.5,
    )
    concatenates = re.search(
        r"\"\s*(SELECT|UPDATE|INSERT|DELETE)[^\"\n]*\"\s*\+", go_code, re.IGNORECASE
    )
    card.check(Part.CODE_QUALITY, "no-new-injection", has_code and not concatenates)


def _score_documentation(card: Scorecard, answer: str) -> None:
    explanation = extract.prose(answer)
    items = len(re.findall(r"(?m)^\s*(#{1,4}\s|\d+[.)]\s|[-*]\s+\*\*)", explanation))
    card.check(Part.DOCUMENTATION, "structured", items >= 3)
    card.check(
        Part.DOCUMENTATION,
        "severity",
        static.mentions(explanation, r"severity", r"critical", r"\bhigh\b"),
        0.5,
    )
    card.check(
        Part.DOCUMENTATION,
        "explains-risk",
        static.mentions(explanation, r"attacker", r"exploit", r"impact", r"malicious"),
    )
    cited = sum(bool(re.search(rf"\b{name}\b", answer)) for name in _FUNCTIONS)
    card.check(Part.DOCUMENTATION, "cites-code", min(1.0, cited / 3))
    card.check(Part.DOCUMENTATION, "explanation", static.word_count(explanation) >= 150)
