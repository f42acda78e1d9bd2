"""Where git may connect: a repository URL read strictly, its host listed, its address checked.

No test here touches the network: names resolve through a scripted resolver, and the
one test of the system resolver replaces ``getaddrinfo`` itself.
"""

from __future__ import annotations

import ipaddress
import socket
import time

import pytest
from pydantic import ValidationError

from devfactory.repos import remotes
from devfactory.repos.remotes import (
    MAX_ENTRIES,
    HostPolicy,
    RemoteRefusedError,
    remote_of,
    special_kind,
    system_resolver,
)
from devfactory.settings import Settings


def resolving(*addresses: str) -> remotes.Resolver:
    """A resolver that answers every name with ``addresses``."""

    def resolve(host: str, port: int, timeout: float) -> list[remotes.IPAddress]:
        return [ipaddress.ip_address(a) for a in addresses]

    return resolve


@pytest.mark.parametrize(
    ("source", "scheme", "host", "port", "url"),
    [
        ("https://github.com/org/repo.git", "https", "github.com", 443, None),
        ("https://ann:tok@GitHub.com:8443/org/repo", "https", "github.com", 8443,
         "https://ann:tok@github.com:8443/org/repo"),
        ("http://127.0.0.1:8080/x.git", "http", "127.0.0.1", 8080, None),
        ("http://[::1]:9418/x.git", "http", "::1", 9418, None),
        ("ssh://git@git.example.com:2222/org/repo.git", "ssh", "git.example.com", 2222, None),
        ("git@github.com:org/repo.git", "ssh", "github.com", 22, None),
    ],
)  # fmt: skip
def test_a_url_is_read_into_its_parts_and_rebuilt_from_them(
    source: str, scheme: str, host: str, port: int, url: str | None
) -> None:
    found = remote_of(source)
    assert (found.scheme, found.host, found.port) == (scheme, host, port)
    assert found.url == (url or source)


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("git://github.com/org/repo.git", "neither authenticated nor encrypted"),
        ("ftp://host/repo.git", "is not https, http or ssh"),
        ("https://github.com/org/repo.git?x=1", "not one the factory reads"),
        ("https://github.com/org/repo.git#frag", "not one the factory reads"),
        ("https://github.com\\@evil.example/repo", "not one the factory reads"),
        ("https://a@b@evil.example/repo", "not one the factory reads"),
        ("https://github.com", "not one the factory reads"),
        ("http://2130706433/x.git", "not a host name"),
        ("http://0x7f000001/x.git", "reads as an address"),
        ("http://127.1/x.git", "not a host name"),
        ("http://-evil.example/x.git", "not a host name"),
        ("http://exa_mple.com/x.git", "not one the factory reads"),
        ("http://[::1%25eth0]/x.git", "not one the factory reads"),
        ("http://host:99999/x.git", "is not a port"),
    ],
)
def test_a_url_git_and_the_factory_could_read_apart_is_refused(source: str, why: str) -> None:
    with pytest.raises(RemoteRefusedError, match=why):
        remote_of(source)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),  # an IPv4-mapped IPv6 address
        ("2002:7f00:1::", "loopback"),  # 6to4 around 127.0.0.1
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 around 169.254.169.254
        ("169.254.169.254", "link-local"),  # a cloud's metadata service
        ("fe80::1", "link-local"),
        ("10.0.0.1", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("100.64.0.1", "non-public"),  # shared address space (carrier NAT)
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
    ],
)
def test_special_addresses_are_named_by_what_makes_them_special(address: str, kind: str) -> None:
    assert kind in special_kind(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["140.82.112.3", "2606:4700:4700::1111", "8.8.8.8"])
def test_public_addresses_are_not_special(address: str) -> None:
    assert special_kind(ipaddress.ip_address(address)) == ""


def test_an_empty_policy_allows_no_remote_host() -> None:
    with pytest.raises(RemoteRefusedError, match="repo_allowed_hosts setting is empty"):
        HostPolicy().check_host(remote_of("https://github.com/org/repo.git"))
    assert (
        Settings().repos.repo_allowed_hosts == ()
    )  # the default: deny, until an operator lists hosts


def test_names_patterns_and_addresses_are_allowed_only_as_listed() -> None:
    policy = HostPolicy.parse(["GitHub.com", "*.example.com", "10.1.0.0/16", "127.0.0.1"])
    allowed = [
        "https://github.com/o/r",
        "https://git.example.com/r",
        "ssh://a.b.example.com/r",
        "http://10.1.2.3/r",
        "http://127.0.0.1:8000/r",
        "http://[::ffff:127.0.0.1]/r",  # the listed address, written as IPv6
    ]
    for url in allowed:
        policy.check_host(remote_of(url))
    for url, why in (
        ("https://example.com/r", "not listed"),  # the pattern is for names below it only
        ("https://gitlab.com/r", "not listed"),
        ("https://github.com.evil.org/r", "not listed"),
        ("http://10.2.0.1/r", "10.2.0.1 is not listed"),  # an address must be listed itself
        ("http://8.8.8.8/r", "8.8.8.8 is not listed"),
        ("http://[::1]/r", "::1 is not listed"),
    ):
        with pytest.raises(RemoteRefusedError, match=why):
            policy.check_host(remote_of(url))


def test_a_star_allows_any_name_but_no_special_address() -> None:
    policy = HostPolicy.parse(["*"])
    remote = remote_of("https://anything.example.org/r.git")
    assert policy.pin(remote, timeout=1, resolver=resolving("140.82.112.3")).address == (
        ipaddress.ip_address("140.82.112.3")
    )
    with pytest.raises(RemoteRefusedError, match="10.0.0.7, a private address"):
        policy.pin(remote, timeout=1, resolver=resolving("10.0.0.7"))


def test_a_name_is_refused_when_any_of_its_addresses_is_special() -> None:
    policy = HostPolicy.parse(["git.example.com"])
    remote = remote_of("https://git.example.com/r.git")
    with pytest.raises(RemoteRefusedError, match="resolves to 127.0.0.1, a loopback address"):
        policy.pin(remote, timeout=1, resolver=resolving("140.82.112.3", "127.0.0.1"))
    with pytest.raises(RemoteRefusedError, match="169.254.169.254, a link-local"):
        policy.pin(remote, timeout=1, resolver=resolving("169.254.169.254"))
    listed = HostPolicy.parse(["git.example.com", "10.0.0.0/8"])
    assert str(listed.pin(remote, timeout=1, resolver=resolving("10.9.8.7")).address) == "10.9.8.7"


def test_a_pin_holds_curl_to_the_checked_address_and_follows_no_redirect() -> None:
    policy = HostPolicy.parse(["git.example.com"])
    pin = policy.pin(
        remote_of("https://git.example.com/r.git"), timeout=1, resolver=resolving("140.82.112.3")
    )
    options = pin.git_options()
    assert "http.curloptResolve=git.example.com:443:140.82.112.3" in options
    assert "http.followRedirects=false" in options and "http.proxy=" in options
    six = policy.pin(
        remote_of("http://git.example.com:8080/r.git"),
        timeout=1,
        resolver=resolving("2606:4700:4700::1111"),
    )
    assert "http.curloptResolve=git.example.com:8080:[2606:4700:4700::1111]" in six.git_options()


def test_a_pin_holds_ssh_to_the_checked_address_and_checks_the_host_key_by_name() -> None:
    pin = HostPolicy.parse(["github.com"]).pin(
        remote_of("git@github.com:org/repo.git"), timeout=1, resolver=resolving("140.82.112.3")
    )
    command = pin.ssh_command().split()
    assert command[:3] == ["ssh", "-F", "/dev/null"]  # no user configuration: no ProxyCommand
    for option in ("HostName=140.82.112.3", "HostKeyAlias=github.com",
                   "StrictHostKeyChecking=yes", "BatchMode=yes", "ProxyCommand=none"):  # fmt: skip
        assert option in command


def test_the_system_resolver_gives_up_after_its_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    def slow(*args: object, **kwargs: object) -> list[object]:
        time.sleep(5)
        return []  # what the thread left behind finds when it ends, after the test

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    started = time.monotonic()
    with pytest.raises(RemoteRefusedError, match="did not resolve within 0.3 s"):
        system_resolver("slow.example.com", 443, 0.3)
    assert time.monotonic() - started < 2


def test_a_name_that_does_not_resolve_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def fails(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fails)
    with pytest.raises(RemoteRefusedError, match="does not resolve"):
        system_resolver("nowhere.example.com", 443, 1)


@pytest.mark.parametrize(
    ("entry", "why"),
    [("10.0.0.1/8", "host bits set"), ("not a host", "not a host name"), ("[::1]", "network"),
     ("*.", "not a host name"), ("127.1", "not a host name")],
)  # fmt: skip
def test_an_entry_of_the_policy_that_is_neither_a_name_nor_an_address_is_an_error(
    entry: str, why: str
) -> None:
    with pytest.raises(ValueError, match=why):
        HostPolicy.parse([entry])
    with pytest.raises(ValidationError, match=why):
        Settings(repo_allowed_hosts=(entry,))


def test_the_policy_holds_at_most_its_cap_of_entries() -> None:
    at_cap = tuple(f"h{n}.example.com" for n in range(MAX_ENTRIES))
    assert len(Settings(repo_allowed_hosts=at_cap).repos.repo_allowed_hosts) == MAX_ENTRIES
    with pytest.raises(ValidationError):
        Settings(repo_allowed_hosts=(*at_cap, "one-more.example.com"))
