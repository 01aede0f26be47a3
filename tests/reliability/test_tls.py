"""TLS: certificates are verified by default, a CA bundle can be added, and verification is
never silently turned off.

The server is the emulator behind a certificate for 127.0.0.1 signed by a throwaway CA
(`trustme`), served over TLS on loopback: no network, no certificate on disk beyond tmp_path.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trustme

from dfs_async import ConfigurationError, DataForSEO, RetryPolicy, TaskFailed
from dfs_async.emulator import Emulator, EmulatorConfig
from dfs_async.transport.aiohttp import AiohttpTransport
from dfs_async.transport.httpcore import HttpcoreTransport

from .servers import serving

ONE_TRY = RetryPolicy(max_attempts=1)


@dataclass
class TlsEmulator:
    url: str
    app: Emulator
    ca_file: str


@pytest.fixture
def tls_emulator(tmp_path: Path) -> Iterator[TlsEmulator]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    key_file, cert_file, ca_file = tmp_path / "key.pem", tmp_path / "cert.pem", tmp_path / "ca.pem"
    cert.private_key_pem.write_to_path(str(key_file))
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    ca.cert_pem.write_to_path(str(ca_file))
    app = Emulator(EmulatorConfig(seed=1, target_sizes={"forbes.com": 20}))
    with serving(app, ssl_keyfile=str(key_file), ssl_certfile=str(cert_file)) as url:
        assert url.startswith("https://127.0.0.1:")
        yield TlsEmulator(url, app, str(ca_file))


def _client(server: TlsEmulator, **options: Any) -> DataForSEO:
    return DataForSEO("emulator", "emulator", base_url=server.url, retry_policy=ONE_TRY, **options)


def _context(dfs: DataForSEO) -> ssl.SSLContext:
    """The SSL context the client's connection pool uses (private to either stack)."""
    transport: Any = dfs.engine.transport
    if isinstance(transport, AiohttpTransport):
        context = transport.ssl_context
        if context is True:  # aiohttp's default context
            from aiohttp.connector import _SSL_CONTEXT_VERIFIED

            context = _SSL_CONTEXT_VERIFIED
    elif isinstance(transport, HttpcoreTransport):
        context = transport.ssl_context
    else:
        context = transport.client._transport._pool._ssl_context  # httpcore's pool
    assert isinstance(context, ssl.SSLContext)
    return context


@pytest.mark.anyio
async def test_verification_is_on_by_default_and_with_a_ca_bundle(
    tls_emulator: TlsEmulator,
) -> None:
    async with _client(tls_emulator) as dfs:
        context = _context(dfs)
        assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    async with _client(tls_emulator, verify=tls_emulator.ca_file) as dfs:
        context = _context(dfs)
        assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname


@pytest.mark.anyio
async def test_an_unknown_certificate_is_refused_by_default(tls_emulator: TlsEmulator) -> None:
    async with _client(tls_emulator) as dfs:
        with pytest.raises(TaskFailed, match="certificate verify failed") as failed:
            await dfs.backlinks.domain_pages_summary("forbes.com", limit=2)
    assert failed.value.status_code is None
    assert tls_emulator.app.counters.requests == 0  # the handshake failed: no request went


@pytest.mark.anyio
@pytest.mark.parametrize("how", ["path", "context"])
async def test_a_ca_bundle_can_be_added(tls_emulator: TlsEmulator, how: str) -> None:
    verify: str | ssl.SSLContext = tls_emulator.ca_file
    if how == "context":
        verify = ssl.create_default_context(cafile=tls_emulator.ca_file)
    async with _client(tls_emulator, verify=verify) as dfs:
        page = await dfs.backlinks.domain_pages_summary("forbes.com", limit=2)
    assert page.target == "forbes.com" and len(page.items) == 2
    assert tls_emulator.app.counters.requests == 1


@pytest.mark.parametrize("verify", [False, "", "/no/such/ca.pem"])
def test_verification_cannot_be_turned_off_or_pointed_nowhere(verify: Any) -> None:
    with pytest.raises(ConfigurationError, match="verify"):
        DataForSEO("a", "b", verify=verify)


def _unverified(*, hostname_only: bool = False) -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    if not hostname_only:
        context.verify_mode = ssl.CERT_NONE
    return context


@pytest.mark.parametrize(
    "verify",
    [_unverified(), _unverified(hostname_only=True), 0, None],
    ids=["cert-none-context", "no-hostname-check-context", "0", "None"],
)
def test_no_value_of_verify_switches_verification_off(verify: Any) -> None:
    with pytest.raises(ConfigurationError, match="verify"):
        DataForSEO("a", "b", verify=verify)
