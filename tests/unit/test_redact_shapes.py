"""Each secret shape the second review found passing through, and text that must stay as it is."""

from __future__ import annotations

import time

import pytest

from devfactory.redact import redact, shown_url

STRIPE = "sk_live_51HqLyjWDarjtT1zdp7dc" + "x7Fh2kLq9" * 8
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SHAPES = {
    "aws secret, unquoted": ("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                             "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    "aws secret, in yaml": ("aws_secret_access_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLE",
                            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLE"),
    "client_secret": ("client_secret=9f8e7d6c5b4a39281706f5e4", "9f8e7d6c5b4a39281706f5e4"),
    "client_secret in json": ('{"client_secret": "Zx81-aa92_kkQQ"}', "Zx81-aa92_kkQQ"),
    "stripe live key": (f"STRIPE={STRIPE}", STRIPE[12:]),
    "stripe restricted": ("rk_live_" + "Ab3dEf6hIj9kLm2nOp5qRs8t", "Ab3dEf6hIj9kLm2nOp5qRs8t"),
    "gitlab token": ("glpat-xY7zA1bC2dE3fG4hI5jK", "xY7zA1bC2dE3fG4hI5jK"),
    "sendgrid key": ("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",
                     "TwL2iGABf9DHoTf-09kqeF8tAmbihYzrnopKc-1s5cr"),
    "azure account key": ("DefaultEndpointsProtocol=https;AccountName=acme;AccountKey="
                          + "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq"
                          + "/K1SZFPTOtr/KBHBeksoGMGw==;EndpointSuffix=core.windows.net",
                          "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq"),
    "basic auth header": ("Authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l",
                          "YWxhZGRpbjpvcGVuc2VzYW1l"),
    "devfactory api key": ("dfk_3fa9c2e81b07_" + "q2W_e4R-t6Y8u0I2o4P6a8S0d2F4g6H8j0K2l4Z6x8C",
                           "q2W_e4R-t6Y8u0I2o4P6a8S0d2F4g6H8j0K2l4Z6x8C"),
    "npm token (maintained set)": ("//registry.npmjs.org/:_authToken=npm_" + "a" * 36, "a" * 36),
    "pypi token (maintained set)": ("pypi-AgEIcHlwaS5vcmc" + "B" * 80, "B" * 80),
    "aws secret beside its id": ("AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                                 "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    "aws secret in a csv": ("ann,,AKIAIOSFODNN7EXAMPLE,wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    "aws secret before its id": ("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\tAKIAIOSFODNN7EXAMPLE",
                                 "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    "aws pair in an ini without names": ("[p]\nAKIAIOSFODNN7EXAMPLE\n"
                                         "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                                         "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    "curl -u": ("curl -u deploy:Tr0ub4dor-and-3 https://api.example.com", "Tr0ub4dor-and-3"),
    "curl --user": ("curl -s --user deploy:hunter2 https://x", "hunter2"),
    "curl --user=": ("curl --user=deploy:hunter2 https://x", "hunter2"),
    "curl -uuser:pass": ("curl -udeploy:hunter2 https://x", "hunter2"),
    "curl -u quoted": ("curl -X POST -u 'deploy:hunter two' https://x", "hunter"),
    "wget --password": ("wget --user=deploy --password=hunter2 https://x", "hunter2"),
    "url credentials": ("OLLAMA_HOST=http://svc:S3cr3tPassw0rd@host", "S3cr3tPassw0rd"),
    "url credentials, port and path": ("http://svc:S3cr3tPassw0rd@host:11434/",
                                       "S3cr3tPassw0rd"),
    "url token as user": ("https://0f9e8d7c6b5a49382716@git.example.com/r.git",
                          "0f9e8d7c6b5a49382716"),
    "url query token": ("https://h.example/x?page=2&access_token=abc123", "abc123"),
    "url query key": ("https://maps.example/api?key=Zq81kk", "Zq81kk"),
    "url signature": ("https://b.s3.amazonaws.com/o?X-Amz-Signature=9f8e7d&X-Amz-Credential=AK",
                      "9f8e7d"),
    "url sas sig": ("https://a.blob.core.windows.net/c?sv=2022&sig=q%2Bw3e", "q%2Bw3e"),
    "url fragment token": ("https://app.example/cb#access_token=eyJhbGci0&state=1", "eyJhbGci0"),
    # issue 58 item 6: an AWS secret apart from its id, passwords as options or keywords
    "aws secret apart from its id": ("AKIAIOSFODNN7EXAMPLE / " + AWS_SECRET, AWS_SECRET),
    "aws secret after words": ("id AKIAIOSFODNN7EXAMPLE secret " + AWS_SECRET, AWS_SECRET),
    "aws configure's prompts": ("AWS Access Key ID [None]: AKIAIOSFODNN7EXAMPLE\n"
                                "AWS Secret Access Key [None]: " + AWS_SECRET, AWS_SECRET),
    "aws secret words before its id": (AWS_SECRET + " is the secret of AKIAIOSFODNN7EXAMPLE",
                                       AWS_SECRET),
    "mysql -pPW": ("mysql -h db -uroot -pHunter2db shop", "Hunter2db"),
    "mysqldump -p'PW'": ("mysqldump -u root -p'two words' shop > shop.sql", "two words"),
    "mysqladmin in a compose healthcheck": ('["CMD", "mysqladmin", "ping", "-pHunter2db"]',
                                            "Hunter2db"),
    "mysql -p on a continued line": ("mysql -h db \\\n  -uroot \\\n  -pHunter2db shop",
                                     "Hunter2db"),
    "sshpass -p": ("sshpass -p Hunter2ssh ssh -p 2222 deploy@host", "Hunter2ssh"),
    "sshpass -pPW": ("sshpass -pHunter2ssh scp a deploy@host:", "Hunter2ssh"),
    "docker login -p": ("docker login -u ci -p Hunter2reg registry.example.com", "Hunter2reg"),
    "podman login -p quoted": ("podman login -u ci -p 'Hunter2 reg' quay.io", "Hunter2 reg"),
    "PGPASSWORD=": ("PGPASSWORD=Hunter2pg psql -h db -U app", "Hunter2pg"),
    "MYSQL_PWD in a .env": ("export MYSQL_PWD=Hunter2my", "Hunter2my"),
    "compose environment list": ('environment: ["POSTGRES_PASSWORD=Hunter2pg"]', "Hunter2pg"),
    "libpq connection string": ("host=db port=5432 dbname=shop user=app password=Hunter2pq",
                                "Hunter2pq"),
    "libpq, password first": ("password='Hunter2 pq' host=db sslmode=require", "Hunter2 pq"),
    "full-width colon": ("password\uff1awJalrXUtnFEMIK7MDENGbPxRfiCY", "wJalrXUtnFEMIK7MDENG"),
    "wget --password, quoted": ("wget --password 'hunter twelve' https://x", "twelve"),
    "curl -u quoted, all of it": ("curl -u 'deploy:hunter twelve' https://x", "twelve"),
    "full-width colon, quoted": ('db_password\uff1a"Hunter2fullwidth"', "Hunter2fullwidth"),
}  # fmt: skip


@pytest.mark.parametrize("shape", list(SHAPES))
def test_each_secret_shape_is_redacted(shape: str) -> None:
    text, secret = SHAPES[shape]
    redacted = redact(f"config line: {text} (end)")
    assert secret not in redacted, redacted
    assert "[REDACTED:" in redacted and redacted.endswith("(end)")


@pytest.mark.parametrize(
    "text",
    [
        "def token(): return make_token(user)",
        "password_hash = hash_password(password)",
        "secret_santa = pick(people)",
        "The client_secret is read from the environment.",
        "Use a basic setup with a token bucket of 10",
        "AccountKey is configured in the portal",
        "docker run -u 1000:1000 image",
        "git push -u origin main:main",
        'curl -u "$DEPLOY_USER:$DEPLOY_PASSWORD" https://api.example.com',
        "curl -u user: https://example.com (curl asks for the password)",
        "echo $PASS | docker login --password-stdin",
        "ssh://git@github.com/org/repo.git and git@github.com:org/repo.git",
        "http://[::1]:11434/api/tags and https://example.com/search?q=token&page=2",
        "GET /items?key=name returns the item (a path, not a URL)",
        "AKIAIOSFODNN7EXAMPLE is an example id; the docs list it alone",
        # issue 58 item 6: the near misses of the new shapes
        "commit 3f34cc3e0d6a5b8c9d0e1f2a3b4c5d6e7f8a9b0c was made with AKIAIOSFODNN7EXAMPLE",
        "mysql -u root -p shop (mysql asks for the password)",
        "mysqladmin -uroot -p$MYSQL_ROOT_PASSWORD ping",
        'subprocess.run(["mysql", "-u", user, f"-p{password}"])',
        "mkdir -pv /var/lib/mysql && pip install mysql-connector-python",
        "docker run -p 8080:80 image",
        "docker login registry.example.com && docker run -p 8080:80 image",
        "ssh -p 22 deploy@host",
        "sshpass -f ~/.pw ssh -p 2222 deploy@host",
        "tar -xzf release.tar.gz && grep -p pattern file",
        "PGPASSWORD=$PGPASSWORD psql -h db",
        'PGPASSWORD="${PGPASSWORD}" psql -h db',
        "OLDPWD=/home/ann PWD=/tmp",
        "def login(user: str, password=None) -> None:",
        "def connect(host: str, password: str | None = None) -> Connection:",
        "psycopg.connect(host=host, port=5432, password=password)",
        'dsn = f"host={host} dbname={name} password={password}"',
        "a family \U0001f468\u200d\U0001f469\u200d\U0001f467 (emoji joined)",
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0645 (Persian's non-joiner)",
    ],
)
def test_ordinary_code_and_prose_stay_as_written(text: str) -> None:
    if "AKIA" in text:  # an id alone is still masked, and nothing else
        assert redact(text) == text.replace("AKIAIOSFODNN7EXAMPLE", "[REDACTED:aws-key]")
        return
    assert redact(text) == text


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://svc:S3cr3tPassw0rd@host", "http://[REDACTED:url-credentials]@host"),
        (
            "http://svc:S3cr3tPassw0rd@host:11434/",
            "http://[REDACTED:url-credentials]@host:11434/",
        ),
        ("svc:pw@ollama:11434", "[REDACTED:url-credentials]@ollama:11434"),  # no scheme
        (
            "postgresql://app:pw@db:5432/factory?sslmode=require&password=pw",
            "postgresql://[REDACTED:url-credentials]@db:5432/factory"
            "?sslmode=require&password=[REDACTED:url-secret]",
        ),
        (
            "https://lf.example/api?api_key=k1;token=k2#sig=k3",
            "https://lf.example/api?api_key=[REDACTED:url-secret];"
            "token=[REDACTED:url-secret]#sig=[REDACTED:url-secret]",
        ),
        ("http://127.0.0.1:11434", "http://127.0.0.1:11434"),
        ("ssh://git@github.com/org/repo.git", "ssh://git@github.com/org/repo.git"),
    ],
)
def test_a_shown_url_keeps_where_it_points_and_no_credentials(url: str, shown: str) -> None:
    assert shown_url(url) == shown
    assert shown_url(shown) == shown  # masking twice changes nothing
    if "://" in url:  # in text, a URL is known by its scheme
        assert redact(f"at {url} now") == f"at {shown} now"


def test_a_text_of_many_urls_is_redacted_in_linear_time() -> None:
    """detect-secrets' npm shape took time quadratic in a text's "//": 40,000 URLs took a minute."""
    text = "see https://x.example/a and curl -s https://y.example/b\n" * 20_000
    started = time.perf_counter()
    redacted = redact(text + "curl -u deploy:hunter2 https://z.example\n")
    assert time.perf_counter() - started < 15
    assert redacted.endswith("curl -u deploy:[REDACTED:curl-password] https://z.example\n")


@pytest.mark.parametrize("joiner", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"])
def test_a_key_split_by_a_zero_width_character_is_masked_whole(joiner: str) -> None:
    """Issue 58 item 6: an invisible character inside a key hid it from every shape."""
    key = "sk-ant-api03-" + joiner + "Zx81aa92kkQQ" + joiner * 2 + "wErT5yU7iO9pA1sD"
    assert redact(f"ANTHROPIC key {key} (end)") == "ANTHROPIC key [REDACTED:anthropic-key] (end)"
    aws = f"AKIAIOSF{joiner}ODNN7EXAMPLE,wJalrXUtnFEMI/K7MDENG/{joiner}bPxRfiCYEXAMPLEKEY"
    assert redact(aws) == "[REDACTED:aws-key],[REDACTED:aws-secret-key]"
