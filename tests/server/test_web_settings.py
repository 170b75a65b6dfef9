"""Key mode and the web (issue 12 §1): CORS is closed unless origins are configured
(``cors_origins`` / ``SKALD_CORS_ORIGINS``), JSON-only bodies apply here too, the Host is not
checked (a key-mode server may sit behind any name); and the settings of §1 and §4 as a user
writes them (flags, environment, TOML), with the wrong ones refused at startup."""

from __future__ import annotations

from pathlib import Path

import pytest

from skald_core.errors import InvalidArgumentError, UnsupportedMediaTypeError, error_from_wire
from skald_server import cli
from skald_server import config as config_mod

from .conftest import ROOT_KEY, MakeServer, Server
from .helpers import assert_error, assert_ok

PAGE = "https://app.example.com"
PREFLIGHT = {
    "Origin": PAGE,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "x-api-key, content-type",
}


def test_cors_is_closed_by_default_in_key_mode(shared_api: Server) -> None:
    http = shared_api.client
    preflight = http.options("/api/v1/sessions", headers=PREFLIGHT)
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-headers" not in preflight.headers
    answer = http.get("/api/v1/sessions", headers={"Origin": PAGE, "X-API-Key": ROOT_KEY})
    assert_ok(answer)
    assert "access-control-allow-origin" not in answer.headers


def test_configured_origins_and_only_they_get_cors(make_server: MakeServer) -> None:
    server = make_server(root_api_key=ROOT_KEY, cors_origins=[PAGE])
    http = server.client
    preflight = http.options("/api/v1/sessions", headers=PREFLIGHT)
    assert preflight.status_code < 300, preflight.text
    assert preflight.headers["access-control-allow-origin"] == PAGE
    assert "x-api-key" in preflight.headers["access-control-allow-headers"].lower()
    answer = http.get("/api/v1/sessions", headers={"Origin": PAGE, "X-API-Key": ROOT_KEY})
    assert_ok(answer)
    assert answer.headers["access-control-allow-origin"] == PAGE
    assert "x-request-id" in answer.headers["access-control-expose-headers"].lower()
    for other in ("https://evil.example", "https://app.example.com.evil.example", "null"):
        refused = http.options("/api/v1/sessions", headers={**PREFLIGHT, "Origin": other})
        assert refused.headers.get("access-control-allow-origin") != other, other
        got = http.get("/api/v1/sessions", headers={"Origin": other, "X-API-Key": ROOT_KEY})
        assert "access-control-allow-origin" not in got.headers, other


def test_key_mode_refuses_bodies_that_are_not_json(shared_api: Server) -> None:
    http = shared_api.client
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"X-API-Key": ROOT_KEY}
        if content_type:
            headers["Content-Type"] = content_type
        answer = http.post(
            "/api/v1/sessions/cleanup", content=b'{"older_than_days":0}', headers=headers
        )
        error = assert_error(answer, 415, "UNSUPPORTED_MEDIA_TYPE")
        assert "application/json" in error["message"]
        assert error["details"]["content_type"] == content_type


def test_key_mode_serves_any_host(shared_api: Server) -> None:
    answer = shared_api.client.get(
        "/api/v1/sessions", headers={"X-API-Key": ROOT_KEY, "Host": "skald.example.com"}
    )
    assert_ok(answer)


def test_415_is_a_documented_code(shared_api: Server) -> None:
    assert isinstance(error_from_wire("UNSUPPORTED_MEDIA_TYPE", "m", {}), UnsupportedMediaTypeError)
    assert UnsupportedMediaTypeError.http_status == 415
    paths = shared_api.client.get("/openapi.json").json()["paths"]
    assert "415" in paths["/api/v1/sessions/cleanup"]["post"]["responses"]


# ----------------------------------------------------------------------------- settings


def test_cors_origins_from_env_flag_and_toml(tmp_path: Path) -> None:
    env = {"SKALD_ROOT_API_KEY": "k", "SKALD_CORS_ORIGINS": f"{PAGE}, http://localhost:5173"}
    assert config_mod.load(environ=env).cors_origins == [PAGE, "http://localhost:5173"]
    toml = tmp_path / "skald.toml"
    toml.write_text(f'root_api_key = "k"\ncors_origins = ["{PAGE}", "*"]\n')
    assert config_mod.load(str(toml), environ={}).cors_origins == [PAGE, "*"]
    args = cli.parser().parse_args(["serve", "--cors-origins", f"{PAGE},https://b.example:8443"])
    loaded = config_mod.load(
        None, {"root_api_key": "k", "cors_origins": args.cors_origins}, environ={}
    )
    assert loaded.cors_origins == [PAGE, "https://b.example:8443"]
    assert config_mod.load(environ={}).cors_origins == []


@pytest.mark.parametrize(
    "origin", ["app.example.com", "https://app.example.com/", "https://a.example/x", "ftp://a"]
)
def test_malformed_cors_origins_are_refused(origin: str) -> None:
    with pytest.raises(InvalidArgumentError, match="CORS origin"):
        config_mod.load(environ={"SKALD_ROOT_API_KEY": "k", "SKALD_CORS_ORIGINS": origin})


def test_cors_origins_need_key_mode() -> None:
    with pytest.raises(InvalidArgumentError, match="needs a root API key"):
        config_mod.load(environ={"SKALD_CORS_ORIGINS": PAGE})


def test_connection_settings_defaults_and_sources(tmp_path: Path) -> None:
    cfg = config_mod.load(environ={})
    assert (cfg.header_timeout, cfg.body_timeout, cfg.keep_alive_timeout) == (10.0, 30.0, 5.0)
    assert (cfg.send_timeout, cfg.max_connections) == (30.0, 1000)
    env = {
        "SKALD_HEADER_TIMEOUT": "2.5",
        "SKALD_BODY_TIMEOUT": "4",
        "SKALD_KEEP_ALIVE_TIMEOUT": "1",
        "SKALD_MAX_CONNECTIONS": "50",
        "SKALD_SEND_TIMEOUT": "6",
    }
    cfg = config_mod.load(environ=env)
    assert (cfg.header_timeout, cfg.body_timeout, cfg.keep_alive_timeout) == (2.5, 4.0, 1.0)
    assert (cfg.send_timeout, cfg.max_connections) == (6.0, 50)
    args = cli.parser().parse_args(
        [
            *("serve", "--header-timeout", "3", "--body-timeout", "5"),
            *("--max-connections", "7", "--send-timeout", "8"),
        ]
    )
    # flags stay strings until load checks them, as environment values do
    cfg = config_mod.load(None, config_mod.flag_values(args), environ={})
    assert (cfg.header_timeout, cfg.body_timeout, cfg.max_connections) == (3.0, 5.0, 7)
    assert cfg.send_timeout == 8.0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HEADER_TIMEOUT", "0"),
        ("BODY_TIMEOUT", "-1"),
        ("KEEP_ALIVE_TIMEOUT", "nan"),
        ("HEADER_TIMEOUT", "inf"),
        ("SEND_TIMEOUT", "0"),
        ("MAX_CONNECTIONS", "0"),
        ("MAX_CONNECTIONS", "many"),
    ],
)
def test_wrong_connection_settings_are_refused(name: str, value: str) -> None:
    with pytest.raises(InvalidArgumentError, match=name.lower()):
        config_mod.load(environ={f"SKALD_{name}": value})
