"""Issue #24: a secret is masked in every form it can take in text, and any long fragment of it; credentials
are read as meant (surrounding whitespace stripped and said, anything inside a header cannot carry refused)."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

import httpx
import pytest

from importer.api import ClientConfig, IsometricClient
from importer.api.errors import ApiError, ServerError, UnusableCredentials
from importer.redaction import MASK, redact, register_secret
from importer.settings import SettingsError, api_target

SECRET = "secrets-test-Zq8Wm3Kx7Rt2Vb6Np4Lc9"
TOKEN = "eyJzZWNyZXRzLXRlc3Q.PAYLOAD-Hj5Fd8Sa2Gk7.sig-Uy3Ti6"


@pytest.fixture(autouse=True)
def _registered() -> None:
    register_secret(SECRET)
    register_secret(TOKEN)


def leaks(text: str, secret: str, size: int = 12) -> list[str]:
    return [secret[i : i + size] for i in range(len(secret) - size + 1) if secret[i : i + size] in text]


@pytest.mark.parametrize(
    "form",
    [
        lambda s: s,
        lambda s: quote(s, safe=""),
        lambda s: quote_plus(s),
        lambda s: json.dumps({"h": s + "\r"}),
        lambda s: repr(s + "\r"),
        lambda s: repr((s + "\r").encode()),
        lambda s: base64.b64encode(s.encode()).decode(),
        lambda s: base64.b64encode(b"api:" + s.encode()).decode(),
        lambda s: base64.b64encode(b"ab:" + s.encode()).decode(),
        lambda s: base64.urlsafe_b64encode(b"x" + s.encode()).decode(),
        lambda s: s.replace("-", "&"),  # not a form: a different value, its long runs still masked
    ],
    ids=[
        "raw",
        "percent",
        "plus",
        "json",
        "repr",
        "bytes-repr",
        "base64",
        "base64-basic",
        "base64-shift2",
        "urlsafe",
        "runs",
    ],
)
@pytest.mark.parametrize("secret", [SECRET, TOKEN], ids=["secret", "token"])
def test_every_form_of_a_secret_is_masked(form, secret):
    text = f"the server said: {form(secret)} (end)"
    shown = redact(text)
    assert MASK in shown and not leaks(shown, secret)
    if "&" not in form("a-b"):
        assert not leaks(shown, form(secret))


@pytest.mark.parametrize("cut", [5, 11, 12, 20, 30])
def test_a_secret_cut_anywhere_is_masked_down_to_its_last_few_characters(cut):
    page = ("x" * 480 + "X-Client-Secret: " + SECRET)[: 497 + cut]  # the old bug: cut, then redact
    assert not leaks(redact(page), SECRET, 10)
    assert not leaks(redact("..." + SECRET[cut:] + " trailing"), SECRET, 10)


def test_redact_leaves_ordinary_text_alone():
    text = "datapoint dtp_1AAAAAAAAAAAAAAAAA of project prj_1SBXBIOCHAR00001: the secrets test is fine"
    assert redact(text) == text


def test_settings_strip_surrounding_whitespace_and_say_so(monkeypatch, capsys):
    monkeypatch.setenv("ISOMETRIC_CLIENT_SECRET", f"  {SECRET}\r\n")
    monkeypatch.setenv("ISOMETRIC_ACCESS_TOKEN", TOKEN + " ")
    target = api_target("https://api.sandbox.isometric.com/mrv/v0")
    assert target.client_secret == SECRET and target.access_token == TOKEN
    err = capsys.readouterr().err
    assert "ISOMETRIC_CLIENT_SECRET had a line end" in err and "ISOMETRIC_ACCESS_TOKEN had spaces" in err
    assert not leaks(err, SECRET) and not leaks(err, TOKEN)


@pytest.mark.parametrize("inside", ["\r", "\t", " ", "\x7f", "\u00a0x", "\u00e9"])
def test_settings_refuse_what_a_header_cannot_carry_without_showing_it(monkeypatch, inside):
    monkeypatch.setenv("ISOMETRIC_CLIENT_SECRET", SECRET[:12] + inside + SECRET[12:])
    monkeypatch.setenv("ISOMETRIC_ACCESS_TOKEN", TOKEN)
    with pytest.raises(SettingsError) as info:
        api_target("https://api.sandbox.isometric.com/mrv/v0")
    assert "ISOMETRIC_CLIENT_SECRET holds" in str(info.value) and "character 13" in str(info.value)
    assert not leaks(str(info.value), SECRET, 8)


def test_the_client_refuses_such_a_credential_before_sending_anything():
    sent: list[httpx.Request] = []
    config = ClientConfig(
        base_url="https://api.sandbox.isometric.com/mrv/v0", client_secret=SECRET + "\r", access_token=TOKEN
    )
    with pytest.raises(UnusableCredentials) as info:
        IsometricClient(config, transport=httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(200)))
    assert not sent and "client secret holds a line end" in str(info.value)
    assert not leaks(str(info.value), SECRET)


def test_an_html_error_page_is_redacted_before_it_is_cut():
    def echo(request: httpx.Request) -> httpx.Response:
        page = "<p>" + "x" * 470 + "</p>" + "X-Client-Secret: " + request.headers["X-Client-Secret"] + " etc"
        return httpx.Response(500, text=page, headers={"Content-Type": "text/html", "X-Request-Id": "r-9"})

    client = IsometricClient(
        ClientConfig(
            base_url="https://api.sandbox.isometric.com/mrv/v0",
            client_secret=SECRET,
            access_token=TOKEN,
            max_attempts=1,
        ),
        transport=httpx.MockTransport(echo),
    )
    with pytest.raises(ServerError) as info:
        client.list_projects()
    for text in (str(info.value), repr(info.value), json.dumps(info.value.detail), str(info.value.args)):
        assert not leaks(text, SECRET, 10)


def test_error_texts_are_redacted_whatever_the_form():
    exc = ApiError(
        f"echo {quote(SECRET, safe='')} and {base64.b64encode(TOKEN.encode()).decode()}",
        detail={"h": repr(TOKEN.encode() + b"\r")},
        method="GET",
        url=f"https://x/?t={quote_plus(TOKEN)}",
    )
    for text in (str(exc), repr(exc), json.dumps(exc.detail), exc.url):
        assert not leaks(text, SECRET) and not leaks(text, TOKEN)


def test_a_run_of_one_character_shared_with_a_secret_is_not_masked_but_the_secret_is():
    """A token ending in ten zeros once masked every number of output with a run of zeros in it, leaving --json
    unparseable (`1.6000000000000014`). Such a run says nothing of the secret; the secret itself, and any fragment
    of it that holds several characters, is still masked."""
    import json

    secret = "eyJredact-run-test-token-0000000000"
    register_secret(secret)
    text = json.dumps({"net_mass": 1.6000000000000014, "token": secret, "cut": secret[3:20]})
    out = redact(text)
    assert json.loads(out.replace(MASK, "x"))["net_mass"] == 1.6000000000000014
    assert secret not in out and secret[3:20] not in out
