"""Redact secrets before anything is stored or sent to a model.

Two kinds of secret are recognised: the shapes of well-known credentials
(detect-secrets' maintained set of provider keys and tokens, with ours for
the shapes it misses or cuts short: unquoted assignments to names such as
``AWS_SECRET_ACCESS_KEY`` or ``client_secret`` (after ``:``, ``=`` or their
full-width forms), ``Authorization: Basic``, long Stripe keys, the factory's
own ``dfk_`` API keys, an AWS secret key written near its ``AKIA`` id, the
passwords that commands take as options (``curl -u user:password``,
``mysql -pPASSWORD``, ``sshpass -p``, ``docker login -p``), an environment
variable that holds a password (``PGPASSWORD=...``) and the password of a
libpq connection string (``host=db password=...``)), and the configured values
of this process (every environment variable whose name says it holds a secret,
and values the factory registers, such as its database role's password and the
audit key). Each is replaced by ``[REDACTED:<what>]``. NUL characters, which no
database stores, are dropped too, and so are zero-width characters inside a
word (``sk-ant-<U+200B>api...``), which would split a key so that no shape sees it.

URLs are masked by one function, ``shown_url``: the credentials before the
host (``http://svc:password@host``) and the values of query and fragment
parameters named as secrets (``?token=``, ``?api_key=``, ``&sig=``...). Every
URL the factory shows or logs goes through it (a provider's address, the
model routing, Langfuse's), and ``redact`` applies it to every URL in a text.

The factory redacts where text crosses a boundary: what a model is sent
(``models/router.ResolvedModel``), error messages from models and providers,
and everything written to the runs table, the audit log, the run's folder and
memory. A secret in a model's reply is redacted when it is stored. Every log
line is redacted the same way when it is formatted (``logs.safe_values``).

Why one module: the shapes, the registered values and the URL masking are one
pass over one text with one vocabulary of labels; split, a caller would pick
one part and miss the others, and the boundary where text is stored would
need to know them all.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from functools import cache, partial
from pathlib import Path
from typing import Any

# The words that say a name's value is a secret
_SECRET_WORDS = (
    r"api[_-]?key|access[_-]?key|account[_-]?key|secret|token|password|passwd|pwd|credential"
)
# A name that says its value is a secret, anywhere in an identifier (client_secret,
# AWS_SECRET_ACCESS_KEY, db.password), for the assignment shapes below.
_NAME = rf"(?i:(?<![A-Za-z0-9_.-])[A-Za-z0-9_.-]*(?:{_SECRET_WORDS})[A-Za-z0-9_.-]*)"


def _word(*words: str, after: str = r"\w") -> str:
    """Return a pattern of any of ``words`` where it does not follow ``after``.

    The look-behind comes after the word: a pattern that starts with one is
    tried at every position of a text (25 ms a megabyte), one that starts with
    letters only where they are.
    """
    return "(?:" + "|".join(rf"{word}(?<!{after}{word})" for word in words) + ")"


# What separates a secret's name from its value: ASCII or full-width (password：...)
_GIVES = "[:=\uff1a\uff1d]"
# A value given for a password: quoted (spaces and all) or bare; never a variable, a
# placeholder, a template's field ($PW, <password>, {password}, %s) or a mask, none a secret
_ARG = r"(?P<quote>[\"'])?(?P<secret>(?![$<{%`]|\[REDACTED)(?(quote)[^\"'\n]+|[^\s\"';&|]+))"
# An AWS key id, and a secret key's 40 characters with an upper-case letter, a lower-case
# one and a digit (a git hash, a word or a path seldom has all three)
_AWS_ID = _word("AKIA", "ASIA") + r"[0-9A-Z]{16}\b"
_AWS_SECRET = (
    r"(?<![A-Za-z0-9/+=])(?P<secret>(?=[A-Za-z0-9/+]{0,39}[A-Z])(?=[A-Za-z0-9/+]{0,39}[a-z])"
    r"(?=[A-Za-z0-9/+]{0,39}[0-9])[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
)
_AWS_NEAR = 256  # characters between an AWS key id and its secret written apart from it
# libpq's connection string (host=db port=5432 password=pw): pairs apart by spaces only, so
# that keyword arguments (connect(host=h, password=pw)) are not one; each key starts a word
_LIBPQ_KEY = (
    _word(
        *("host", "hostaddr", "port", "dbname", "user", "sslmode", "application_name"),
        *("connect_timeout", "options", "service", "target_session_attrs"),
        after=r"[^\s\"']",
    )
    + r"[ \t]*=[ \t]*"
)
# a value, bounded: each key is a start, and "host=host=..." must not cost its square
_LIBPQ_VALUE = r"(?:'(?:[^'\\\n]|\\.){0,255}'|[^\s'\"]{0,255}[^\s'\",])"
_LIBPQ_PASSWORD = (
    _word("password", after=r"[^\s\"']")
    + r"[ \t]*=[ \t]*(?P<secret>(?!'?(?:[$<{%`]|\[REDACTED))"
    + _LIBPQ_VALUE
    + ")"
)
# A shape that starts with _NAME matches only where the text holds one of the words (never
# in a mask: its "]" follows the word, where the shapes need [:=]), so a text without any,
# most of what is redacted, is not scanned by those shapes (the costliest by far)
_SECRET_WORD = re.compile(rf"(?i:{_SECRET_WORDS})")
# (what, pattern) of our own: the secret is the whole match, or its group "secret"
_OWN_SHAPES: tuple[tuple[str, str], ...] = (
    (
        "private-key",
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)",
    ),
    (  # an AWS secret key beside its key id, as a CSV, an ini or a line lists them
        "aws-secret-key",
        _AWS_ID + r"[\s,;:|=\"']{1,16}"
        r"(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
    ),
    (  # ... or before it
        "aws-secret-key",
        r"(?<![A-Za-z0-9/+])(?P<secret>[A-Za-z0-9/+]{40})[\s,;:|=\"']{1,16}"
        r"(?=(?:AKIA|ASIA)[0-9A-Z]{16}\b)",
    ),
    (  # ... or apart from it (AKIA... / <secret>, id AKIA... secret <secret>)
        "aws-secret-key",
        _AWS_ID + rf"[\s\S]{{1,{_AWS_NEAR}}}?" + _AWS_SECRET,
    ),
    ("aws-secret-key", _AWS_SECRET + rf"(?=[\s\S]{{1,{_AWS_NEAR}}}?{_AWS_ID})"),
    ("aws-key", _AWS_ID),  # after the pairs: they look for it
    (  # wget's (and others') --password, --http-password, --ftp-password, --proxy-password
        "password-option",
        r"(?<![\w-])--(?:http-|ftp-|proxy-)?password(?:\s+|=)" + _ARG,
    ),
    ("devfactory-api-key", r"\bdfk_[0-9a-f]{12}_[A-Za-z0-9_-]{20,}"),
    ("anthropic-key", r"\bsk-ant-[A-Za-z0-9_-]{20,}"),
    ("langfuse-key", r"\b(?:pk|sk)-lf-[A-Za-z0-9-]{8,}"),
    ("openai-key", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"),
    ("stripe-key", r"\b(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{16,}"),
    ("github-token", r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})"),
    ("gitlab-token", r"\bgl(?:pat|dt|ft|soat|rt|cbt|imt|ptt|agent|oas)-[A-Za-z0-9_-]{20,}"),
    ("slack-token", r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    ("google-key", r"\bAIza[0-9A-Za-z_-]{35}"),
    ("huggingface-token", r"\bhf_[A-Za-z0-9]{30,}"),
    ("jwt", r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    ("bearer-token", r"(?i:\bbearer\s+)(?P<secret>[A-Za-z0-9._~+/=-]{16,})"),
    ("basic-auth", r"(?i:\bbasic\s+)(?P<secret>[A-Za-z0-9+/]{8,}={0,2})"),
    ("azure-key", r"(?i:\bAccountKey=)(?P<secret>[A-Za-z0-9+/]{20,}={0,2})"),
    (  # a quoted literal assigned to a secret's name (not a variable: "${PGPASSWORD}")
        "assigned-secret",
        _NAME + rf"[\"']?\s?{_GIVES}\s?[\"'](?!\$\{{?\w+\}}?[\"'])(?P<secret>[^\"'\s]{{8,}})[\"']",
    ),
    (  # a long bare token assigned to one (never a call: token=make_token(user))
        "assigned-secret",
        _NAME + rf"\s?{_GIVES}\s?(?P<secret>[A-Za-z0-9_+/=-]{{16,}})(?![\w(.\[])",
    ),
    (  # an environment variable holding a password, of any length (PGPASSWORD=pw psql)
        "password-variable",
        r"(?<![\w$.-])(?=[A-Z])[A-Z0-9_]{0,48}(?:PASSWORD|PASSWD|_PWD)[A-Z0-9_]{0,48}="
        r"(?![\w.]*[(\[])" + _ARG,
    ),
    ("connection-password", _LIBPQ_KEY + _LIBPQ_VALUE + r"[ \t]+" + _LIBPQ_PASSWORD),
    ("connection-password", _LIBPQ_PASSWORD + r"(?=[ \t]+" + _LIBPQ_KEY + ")"),
)


# Shapes scanned only where the text holds what they need (a cheap search first)
_NEEDS = {
    "aws-secret-key": re.compile(r"AKIA|ASIA"),
    "password-option": re.compile(r"--(?:http-|ftp-|proxy-)?password"),
    "password-variable": re.compile(r"(?:PASSWORD|PASSWD|_PWD)[A-Z0-9_]*="),
    "connection-password": re.compile(r"password[ \t]*="),
    # detect-secrets' npm shape (//.+/:_authToken=) takes time quadratic in the "//" of a
    # text: 20,000 URLs took seconds; without the word it cannot match
    "npm-tokens": re.compile(r"_authToken"),
}
# One command: to the end of its line or a separator (;, &, |) outside quotes; a line that
# ends in a backslash goes on
_COMMAND_REST = r"(?:[^\n;&|\"'\\]+|\"[^\"\n]*\"|'[^'\n]*'|\\\n?)*"
# (what, words one of which the text must hold, a command, its flag that gives a password):
# a flag alone is too common (docker run -p 8080:80, ssh -p 22, git push -u origin)
_COMMAND_PASSWORDS: tuple[tuple[str, tuple[str, ...], str, str], ...] = (
    (  # curl's user and password: -u, -U, --user, --proxy-user
        "curl-password",
        ("curl",),
        _word("curl") + r"\b" + _COMMAND_REST,
        r"(?<![\w-])(?:-u\s*|-U\s*|--(?:proxy-)?user(?:\s+|=))(?P<quote>[\"'])?[^\s:\"']*:"
        r"(?P<secret>(?![$<{%`]|\[REDACTED)(?(quote)[^\"'\n]+|[^\s\"']+))",
    ),
    (  # the MySQL and MariaDB clients' -pPASSWORD (written apart, -p asks for it)
        "mysql-password",
        ("mysql", "mariadb"),
        _word("mysql", "mariadb", after=r"[\w.-]") + r"(?:-?[a-z]+)?\b" + _COMMAND_REST,
        r"(?<![\w-])-p" + _ARG,
    ),
    (  # sshpass -p PASSWORD, among sshpass's own options only (ssh -p 22 follows them)
        "sshpass-password",
        ("sshpass",),
        _word("sshpass") + r"(?:[ \t]+(?:-[fdpP][ \t]*(?:\"[^\"\n]*\"|'[^'\n]*'|[^\s\"']+)|-\S*))*",
        r"(?<![\w-])-p[ \t]*" + _ARG,
    ),
    (  # a container registry's login -p PASSWORD (--password is password-option's)
        "registry-password",
        ("login",),
        _word("docker", "podman", "nerdctl", "buildah", "skopeo", "oras", "helm")
        + r"(?:[ \t]+[^\s;&|]+){0,4}?[ \t]+login\b"
        + _COMMAND_REST,
        r"(?<![\w-])-p[ \t]*" + _ARG,
    ),
)


def _command_passwords(text: str) -> str:
    """Mask the password a command is given as an option (``curl -u user:pw``, ``mysql -ppw``).

    Each command is looked for only where the text holds its name, and its flag
    only from the name to the command's end.
    """
    for words, command, flag, mask in _commands():
        if any(word in text for word in words):
            text = command.sub(partial(_flag_masked, flag, mask), text)
    return text


def _flag_masked(flag: re.Pattern[str], mask: Mask, command: re.Match[str]) -> str:
    """Return ``command`` as written, with the value of its password's flag masked."""
    return flag.sub(mask, command.group(0))


# A URL in text: a scheme, then everything up to a space, a quote or a closing parenthesis.
# The scheme is bounded, so a long word is not scanned again from each of its letters.
_URL = re.compile(r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,31}://[^\s\"'<>`)]*")
# Query and fragment parameters whose value is a secret: a secret's word in the name
# (access_token, api_key, client_secret, X-Amz-Credential...), or a name that is a key or
# a signature by itself (key, sig, X-Amz-Signature, subscription-key, auth, jwt).
_URL_SECRET_PARAM = re.compile(
    rf"(?i:{_SECRET_WORDS}|(?:^|[_.-])(?:key|sig|signature|auth|authorization|jwt|session"
    r"|sessionid)$)"
)
_USER_MASK = "[REDACTED:url-credentials]"
_PARAM_MASK = "[REDACTED:url-secret]"
# A user name alone this long is a token used as one (https://<token>@github.com)
_TOKEN_AS_USER = 16


def _shown_params(params: str) -> str:
    """Mask the values of the secret parameters of a query or fragment (``a=1&token=x``)."""
    parts = re.split(r"([&;])", params)
    for i in range(0, len(parts), 2):
        name, eq, value = parts[i].partition("=")
        if eq and value and not value.startswith("[REDACTED") and _URL_SECRET_PARAM.search(name):
            parts[i] = f"{name}={_PARAM_MASK}"
    return "".join(parts)


def shown_url(url: str) -> str:
    """Return ``url`` as it may be shown or logged: its credentials and secret parameters masked.

    The user information before the host is masked whole when it holds a
    password (``http://svc:pw@host``) or is long enough to be a token used as a
    name; a short name alone (``ssh://git@host``) is kept. Parameters of the
    query and the fragment named as secrets keep their names, not their values.
    A URL without a scheme (``svc:pw@host:11434``, as ``OLLAMA_HOST`` may be
    given) is read the same way. Masking twice changes nothing.
    """
    scheme, sep, rest = url.partition("://")
    head = scheme + sep if sep else ""
    rest = rest if sep else url
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:end], rest[end:]
    user, at, host = authority.rpartition("@")
    if at and (":" in user or len(user) >= _TOKEN_AS_USER):
        authority = f"{_USER_MASK}@{host}"
    before_fragment, hash_, fragment = tail.partition("#")
    path, question, query = before_fragment.partition("?")
    if question:
        path += question + _shown_params(query)
    if hash_:
        path += hash_ + _shown_params(fragment)
    return head + authority + path


def shown_urls(text: str) -> str:
    """Return ``text`` with every URL in it as ``shown_url`` shows it."""
    if "://" not in text:
        return text
    return _URL.sub(lambda match: shown_url(match.group(0)), text)


_HEURISTIC = ("base", "keyword", "high_entropy_strings", "ip_public")
_ASSIGNMENTS = ("cloudant", "ibm_cloud_iam", "ibm_cos_hmac", "softlayer")


def _maintained_shapes() -> list[tuple[str, re.Pattern[str]]]:
    """Return detect-secrets' credential shapes (Yelp's maintained set), whole matches masked.

    Every plugin that recognises a credential by its shape is taken; the keyword
    and entropy heuristics (which flag ordinary code), public IP addresses (not
    secrets) and the vendor assignment rules (``ibm_cloud_iam = ...``: four
    times the cost of all the others together, and a secret's name assigned a
    value is our own ``assigned-secret`` shape) are not.
    """
    import importlib
    import pkgutil

    import detect_secrets.plugins as plugins
    from detect_secrets.plugins.base import RegexBasedDetector

    found: list[tuple[str, re.Pattern[str]]] = []
    for module in pkgutil.iter_modules(plugins.__path__):
        if module.name in _HEURISTIC or module.name in _ASSIGNMENTS:
            continue
        loaded = importlib.import_module(f"{plugins.__name__}.{module.name}")
        for value in vars(loaded).values():
            if (
                isinstance(value, type)
                and issubclass(value, RegexBasedDetector)
                and value.__module__ == loaded.__name__
            ):
                what = re.sub(r"[^a-z0-9]+", "-", str(value.secret_type).lower()).strip("-")
                denylist: list[re.Pattern[str]] = vars(value)["denylist"]  # a class attribute
                found += [(what, re.compile(p.pattern, p.flags)) for p in denylist]
    return found


def _masked(what: str) -> Callable[[re.Match[str]], str]:
    def mask(match: re.Match[str]) -> str:
        if "secret" not in match.re.groupindex or match.group("secret") is None:
            return f"[REDACTED:{what}]"
        start, end = match.span("secret")
        whole = match.group(0)
        offset = match.start()
        return whole[: start - offset] + f"[REDACTED:{what}]" + whole[end - offset :]

    return mask


Mask = Callable[[re.Match[str]], str]
Shape = tuple[re.Pattern[str], Mask, re.Pattern[str] | None]


@cache
def _shapes() -> tuple[Shape, ...]:
    """Return (pattern, its mask, what the text must hold for it to be scanned), in order.

    Made at the first redaction, not at import: detect-secrets costs a fifth of a
    second to load, and a command that stores nothing (``devfactory list``)
    never needs it.
    """
    return tuple(
        (
            pattern,
            _masked(what),
            _SECRET_WORD if pattern.pattern.startswith(_NAME) else _NEEDS.get(what),
        )
        for what, pattern in (
            *((what, re.compile(pattern)) for what, pattern in _OWN_SHAPES),
            *_maintained_shapes(),
        )
    )


@cache
def _commands() -> tuple[tuple[tuple[str, ...], re.Pattern[str], re.Pattern[str], Mask], ...]:
    """Return (words, the command, its password's flag, its mask) of each command's password."""
    return tuple(
        (words, re.compile(command), re.compile(flag), _masked(what))
        for what, words, command, flag in _COMMAND_PASSWORDS
    )


_SECRET_NAME = re.compile(r"(?i)(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)")
MIN_SECRET_CHARS = 8  # shorter configured values would redact ordinary words

_lock = threading.Lock()
_registered: set[str] = set()
# the environment as last read and the pattern of the configured secrets made from it
_configured_for: tuple[dict[Any, Any], re.Pattern[str] | None] | None = None


def kept_secret(path: Path, given: str | None = None) -> str:
    """Return a secret: ``given`` when set, else the one kept in ``path``, made on first use.

    The file is created whole or not at all (mode 0600, never through a link), so
    two processes starting at once read the same secret. Either way the secret
    is registered: it is never stored or sent to a model.
    """
    if not given:
        if not path.exists():
            draft = _private_draft(path, secrets.token_urlsafe(48))
            try:
                os.link(draft, path)  # fails if another process made it first: theirs wins
            except FileExistsError:
                pass
            finally:
                draft.unlink()
        given = path.read_text("utf-8").strip()
    register([given])
    return given


def _private_draft(path: Path, text: str) -> Path:
    """Write ``text`` to a new file beside ``path`` that only this user may read; return it.

    The draft is made 0600 by the call that creates it (never widened and then
    narrowed), under a fresh random name that must not exist (``O_EXCL``) and
    is never reached through a link (``O_NOFOLLOW``), and is on disk before the
    caller puts it in place.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(draft, flags, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        draft.unlink(missing_ok=True)
        raise
    return draft


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` at once, in a file only this user may read from the start.

    For every file that holds a secret (the users file, keys): a reader sees the
    old file or the new one, never a part; the new one was never readable by
    others, not even for an instant; a link at ``path`` is replaced, not followed.
    """
    draft = _private_draft(path, text)
    try:
        os.replace(draft, path)
    except BaseException:
        draft.unlink(missing_ok=True)
        raise


def register(values: Iterable[str | None]) -> None:
    """Treat ``values`` as secrets from now on (the factory's own: database password, keys)."""
    global _configured_for
    with _lock:
        _registered.update(v for v in values if v and len(v) >= MIN_SECRET_CHARS)
        _configured_for = None  # made again with them at the next redact


def _environment() -> dict[Any, Any]:
    """Return the process environment as ``os.environ`` holds it, without decoding it.

    On CPython that is its own dict (``os.environ._data``), which every change
    made through ``os.environ`` (setting, deleting, ``update``, pytest's
    ``monkeypatch.setenv``) changes; comparing it with a copy is one dict
    comparison in C, where decoding it is a Python call per variable. Elsewhere,
    a decoded copy.
    """
    data = getattr(os.environ, "_data", None)
    return data if isinstance(data, dict) else dict(os.environ)


def _configured() -> re.Pattern[str] | None:
    """Return a pattern of the configured secret values, or None when there are none.

    The environment is compared with the one the pattern was made from at every
    call, so a secret set in it after the process started is redacted from then
    on (``register`` drops the pattern too). Made again only when either changed.
    """
    global _configured_for
    made = _configured_for
    environment = _environment()
    if made is not None and made[0] == environment:
        return made[1]
    with _lock:
        seen = dict(environment)  # before reading it: a change from now on makes it again
        found = {
            value
            for name, value in os.environ.items()
            if _SECRET_NAME.search(name) and len(value) >= MIN_SECRET_CHARS
        } | _registered
        ordered = sorted(found, key=len, reverse=True)  # the longest match wins
        pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        _configured_for = (seen, pattern)
        return pattern


# Zero-width characters (space, non-joiner, joiner, word joiner, BOM) between two visible
# ASCII characters: there they join nothing and only split a word (a key) for the eye
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
_ZERO_WIDTH_INSIDE = re.compile(rf"(?<=[!-~])[{_ZERO_WIDTH}]+(?=[!-~])")


def redact(text: str) -> str:
    """Return ``text`` with every secret it holds replaced by ``[REDACTED:<what>]``.

    Zero-width characters inside an ASCII word are dropped first, so that a key
    split by one is seen (and masked) whole; elsewhere (an emoji's joiner,
    Persian's non-joiner) they are kept.
    """
    if not text:
        return text
    text = text.replace("\x00", "")  # no database can store a NUL character
    if any(character in text for character in _ZERO_WIDTH):
        text = _ZERO_WIDTH_INSIDE.sub("", text)
    configured = _configured()
    if configured is not None:
        text = configured.sub("[REDACTED:configured-secret]", text)
    text = _command_passwords(shown_urls(text))
    holds = {gate: gate.search(text) is not None for gate in (_SECRET_WORD, *_NEEDS.values())}
    for pattern, mask, needs in _shapes():
        if needs is None or holds[needs]:
            text = pattern.sub(mask, text)
    return text


def redact_data(value: Any) -> Any:
    """Redact every string inside ``value`` (mappings, lists and tuples are walked)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {k: redact_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_data(v) for v in value)
    return value
