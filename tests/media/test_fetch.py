"""The media fetcher against a loopback server: good files, and every hostile case the issue names."""

from __future__ import annotations

import hashlib
import ipaddress
import ssl
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.media.conftest import TEST_LIMITS
from tests.media.server import MediaServer
from watchfloor.connectors.media.addresses import address_problem
from watchfloor.connectors.media.fetch import FetchLimits, MediaFetcher, MediaRefused
from watchfloor.domain.errors import Permanent, Transient


def test_fetches_an_image_content_addressed_with_its_sniffed_type(
    media_server: MediaServer, fetcher: MediaFetcher
) -> None:
    got = fetcher.fetch(media_server.url("/red.png"), "image")
    body = media_server.files["/red.png"][1]
    assert got.data == body and got.size == len(body)
    assert got.sha256 == hashlib.sha256(body).hexdigest()
    assert got.media_type == "image/png"
    assert got.final_url == media_server.url("/red.png")


def test_fetches_a_video(media_server: MediaServer, fetcher: MediaFetcher, mp4: bytes | None) -> None:
    if mp4 is None:
        pytest.skip("ffmpeg is not installed: no test video")
    got = fetcher.fetch(media_server.url("/clip.mp4"), "video")
    assert got.data == mp4 and got.media_type == "video/mp4"


def test_follows_a_redirect_to_a_public_hop(media_server: MediaServer, fetcher: MediaFetcher) -> None:
    got = fetcher.fetch(media_server.url("/redirect?to=/blue.jpg"), "image")
    assert got.media_type == "image/jpeg" and got.final_url == media_server.url("/blue.jpg")


def test_oversize_with_content_length_is_refused_before_reading(
    media_server: MediaServer, fetcher: MediaFetcher
) -> None:
    with pytest.raises(
        MediaRefused, match=r"refused: .*/big-declared is 500 MB \(Content-Length\), over the 1 MB"
    ):
        fetcher.fetch(media_server.url("/big-declared"), "image")


def test_oversize_without_content_length_is_cut_at_the_limit(
    media_server: MediaServer, fetcher: MediaFetcher
) -> None:
    started = time.monotonic()
    with pytest.raises(MediaRefused, match=r"/big-chunked is larger than the 1 MB limit"):
        fetcher.fetch(media_server.url("/big-chunked"), "image")
    assert time.monotonic() - started < 2.0  # stopped streaming, did not read the 128 MB


def test_video_limit_applies_to_videos_and_image_limit_to_images_whatever_the_kind(
    media_server: MediaServer,
) -> None:
    limits = replace(TEST_LIMITS, max_image_bytes=100, max_video_bytes=5_000_000)
    with (
        MediaFetcher(limits) as fetcher,
        pytest.raises(MediaRefused, match="larger than the 100 bytes limit"),
    ):
        # the post said "video", the bytes are a PNG: the image limit applies once the type is known
        fetcher.fetch(media_server.url("/red.png"), "video")


def test_html_served_as_jpeg_is_refused_whatever_the_header_says(
    media_server: MediaServer, fetcher: MediaFetcher
) -> None:
    with pytest.raises(
        MediaRefused, match=r"is text/html, not an allowed media type \(the server said image/jpeg\)"
    ):
        fetcher.fetch(media_server.url("/html-as-jpeg"), "image")


def test_svg_is_not_an_allowed_type(media_server: MediaServer, fetcher: MediaFetcher) -> None:
    with pytest.raises(MediaRefused, match="image/svg"):
        fetcher.fetch(media_server.url("/svg"), "image")


def test_compressed_transfer_is_refused(media_server: MediaServer, fetcher: MediaFetcher) -> None:
    with pytest.raises(MediaRefused, match="gzip-compressed"):
        fetcher.fetch(media_server.url("/gzip.png"), "image")


def test_empty_body_is_a_permanent_failure(media_server: MediaServer, fetcher: MediaFetcher) -> None:
    with pytest.raises(Permanent, match="empty body") as raised:
        fetcher.fetch(media_server.url("/empty"), "image")
    assert not isinstance(raised.value, MediaRefused)


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("http://10.0.0.1/x.jpg", "10.0.0.1, a private address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254, a cloud metadata address"),
        ("http://[fd00:ec2::254]/", "fd00:ec2::254, a cloud metadata address"),
        ("http://100.64.1.2/", "100.64.1.2, a carrier-grade NAT"),
        ("http://[::ffff:192.168.1.1]/", "::ffff:c0a8:101, a private address"),
    ],
)
def test_redirect_to_a_forbidden_address_is_refused(
    media_server: MediaServer, fetcher: MediaFetcher, target: str, why: str
) -> None:
    start = media_server.url(f"/redirect?to={target}")
    with pytest.raises(MediaRefused) as raised:
        fetcher.fetch(start, "image")
    message = str(raised.value)
    assert message.startswith("refused: ") and why in message
    assert f"(redirected from {start})" in message


def test_redirect_to_loopback_is_refused_when_loopback_is_not_allowed(media_server: MediaServer) -> None:
    # Only the test server's own address is excepted; any other loopback address stays forbidden.
    limits = replace(TEST_LIMITS, allow_loopback=False, allowed_networks=("127.0.0.1/32",))
    with MediaFetcher(limits) as fetcher:
        assert fetcher.fetch(media_server.url("/red.png"), "image").size > 0
        for target in (f"http://127.0.0.2:{media_server.port}/red.png", f"http://[::1]:{media_server.port}/"):
            with pytest.raises(MediaRefused, match="a loopback address"):
                fetcher.fetch(media_server.url(f"/redirect?to={target}"), "image")


def test_a_name_resolving_to_loopback_is_refused_by_default(media_server: MediaServer) -> None:
    with MediaFetcher(replace(TEST_LIMITS, allow_loopback=False)) as fetcher:
        with pytest.raises(
            MediaRefused, match=r"refused: http://localhost:\d+/red.png resolves to .*loopback"
        ):
            fetcher.fetch(f"http://localhost:{media_server.port}/red.png", "image")
        with pytest.raises(MediaRefused, match=r"127\.0\.0\.1, a loopback address"):
            fetcher.fetch(media_server.url("/red.png"), "image")
    assert media_server.hits("/red.png") == 0  # refused before connecting


def test_any_forbidden_address_among_several_refuses_the_name(media_server: MediaServer) -> None:
    lookups: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["93.184.216.34", "10.0.0.5"]

    with (
        MediaFetcher(TEST_LIMITS, resolver=resolver) as fetcher,
        pytest.raises(
            MediaRefused, match=r"refused: http://media.example/x.jpg resolves to 10.0.0.5, a private"
        ),
    ):
        fetcher.fetch("http://media.example/x.jpg", "image")
    assert lookups == ["media.example"]


def test_the_connection_goes_to_the_checked_address_and_keeps_the_name(media_server: MediaServer) -> None:
    # The resolver is asked once per connection and the socket goes to the address it returned, so a
    # second, different answer (DNS rebinding) can never be the one connected to.
    answers = iter([["127.0.0.1"], ["10.0.0.9"]])

    def resolver(host: str, port: int) -> list[str]:
        return next(answers)

    with MediaFetcher(TEST_LIMITS, resolver=resolver) as fetcher:
        got = fetcher.fetch(f"http://media.example:{media_server.port}/red.png", "image")
    assert got.media_type == "image/png"
    assert media_server.requests[-1] == ("/red.png", f"media.example:{media_server.port}")


@pytest.mark.parametrize(
    "url", ["ftp://example.org/a.jpg", "file:///etc/passwd", "gopher://x/", "data:image/png;base64,AA"]
)
def test_non_http_schemes_are_refused(fetcher: MediaFetcher, url: str) -> None:
    with pytest.raises(MediaRefused, match=r"refused: .* (is not an http|is not a valid URL)"):
        fetcher.fetch(url, "image")


def test_redirect_to_a_non_http_scheme_is_refused(media_server: MediaServer, fetcher: MediaFetcher) -> None:
    with pytest.raises(MediaRefused, match=r"file:/+etc/passwd \(redirected from .*\) is not an http"):
        fetcher.fetch(media_server.url("/redirect?to=file:///etc/passwd"), "image")


def test_redirect_loop_is_a_permanent_failure(media_server: MediaServer, fetcher: MediaFetcher) -> None:
    with pytest.raises(Permanent, match="redirect loop"):
        fetcher.fetch(media_server.url("/loop-a"), "image")
    assert media_server.hits("/loop-a") == 1


def test_too_many_redirects(media_server: MediaServer, fetcher: MediaFetcher) -> None:
    url = "/blue.jpg"
    for _ in range(TEST_LIMITS.max_redirects + 1):
        url = f"/redirect?to={media_server.url(url)}"
    with pytest.raises(Permanent, match="more than 3 redirects"):
        fetcher.fetch(media_server.url(url), "image")


@pytest.mark.parametrize("route", ["/drip", "/drip-headers"])
def test_slowloris_is_cut_off_at_the_overall_deadline(
    media_server: MediaServer, fetcher: MediaFetcher, route: str
) -> None:
    # Each byte comes well within the 1 s read timeout; only the 2 s deadline for the whole fetch stops it.
    started = time.monotonic()
    with pytest.raises(Transient, match=r"took longer than the 2 s a fetch may take"):
        fetcher.fetch(media_server.url(route), "image")
    assert 1.9 <= time.monotonic() - started < 3.5


@pytest.mark.parametrize(
    ("route", "error", "pattern"),
    [
        ("/gone", Permanent, "HTTP 404"),
        ("/gone410", Permanent, "HTTP 410"),
        ("/always-500", Transient, "HTTP 500"),
    ],
)
def test_http_failures(
    media_server: MediaServer, fetcher: MediaFetcher, route: str, error: type[Exception], pattern: str
) -> None:
    with pytest.raises(error, match=pattern) as raised:
        fetcher.fetch(media_server.url(route), "image")
    assert not isinstance(raised.value, MediaRefused)


def test_429_carries_retry_after(media_server: MediaServer, fetcher: MediaFetcher) -> None:
    with pytest.raises(Transient) as raised:
        fetcher.fetch(media_server.url("/busy"), "image")
    assert raised.value.retry_after == 600


def test_connection_refused_is_transient(fetcher: MediaFetcher) -> None:
    server = MediaServer().start()
    port = server.port
    server.stop()
    with pytest.raises(Transient, match="connection failed"):
        fetcher.fetch(f"http://127.0.0.1:{port}/red.png", "image")


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("10.0.0.5", "a private address"),
        ("172.16.0.1", "a private address"),
        ("192.168.1.1", "a private address"),
        ("127.0.0.1", "a loopback address"),
        ("::1", "a loopback address"),
        ("169.254.169.254", "a cloud metadata address"),
        ("fd00:ec2::254", "a cloud metadata address"),
        ("169.254.10.1", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("100.64.0.1", "a carrier-grade NAT (shared) address"),
        ("0.0.0.0", "an unspecified address"),
        ("::", "an unspecified address"),
        ("224.0.0.1", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("fc00::1", "a private address"),
        ("::ffff:10.0.0.1", "a private address"),
        ("64:ff9b::a00:1", "a private address"),  # NAT64 of 10.0.0.1
        ("2002:a00:1::", "a private address"),  # 6to4 of 10.0.0.1
        ("93.184.216.34", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_address_policy(address: str, why: str | None) -> None:
    assert address_problem(ipaddress.ip_address(address)) == why


def test_reserved_and_loopback_exceptions() -> None:
    assert address_problem(ipaddress.ip_address("240.0.0.1")) is not None
    assert address_problem(ipaddress.ip_address("127.0.0.1"), allow_loopback=True) is None
    assert address_problem(ipaddress.ip_address("::ffff:127.0.0.1"), allow_loopback=True) is None
    assert address_problem(ipaddress.ip_address("169.254.169.254"), allow_loopback=True) is not None
    mirror = (ipaddress.ip_network("10.8.0.0/24"),)
    assert address_problem(ipaddress.ip_address("10.8.0.7"), allowed=mirror) is None
    assert address_problem(ipaddress.ip_address("10.9.0.7"), allowed=mirror) == "a private address"


def test_default_limits_refuse_loopback() -> None:
    assert FetchLimits().allow_loopback is False


def _self_signed(name: str) -> tuple[bytes, bytes]:
    """A certificate for ``name`` and its key, PEM (the test's own CA: nothing leaves the machine)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def test_https_to_a_pinned_address_verifies_the_name(tmp_path: Path) -> None:
    cert_pem, key_pem = _self_signed("media.example")
    (tmp_path / "cert.pem").write_bytes(cert_pem)
    (tmp_path / "key.pem").write_bytes(key_pem)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server = MediaServer()
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    server.start()
    try:
        client_context = ssl.create_default_context(cadata=cert_pem.decode())
        with MediaFetcher(
            TEST_LIMITS, resolver=lambda host, port: ["127.0.0.1"], ssl_context=client_context
        ) as f:
            got = f.fetch(f"https://media.example:{server.port}/red.png", "image")
            assert got.media_type == "image/png"
            # the same server reached by its address: the certificate does not name it
            with pytest.raises(Transient, match=r"CERTIFICATE_VERIFY_FAILED|certificate"):
                f.fetch(f"https://127.0.0.1:{server.port}/red.png", "image")
    finally:
        server.stop()


def test_heic_is_refused_from_its_first_bytes(media_server: MediaServer, fetcher: MediaFetcher) -> None:
    """The enricher cannot decode HEIC, so the fetcher refuses it before downloading the rest."""
    box = b"heic\x00\x00\x00\x00mif1heic"
    head = (8 + len(box)).to_bytes(4, "big") + b"ftyp" + box
    media_server.files["/photo.heic"] = ("image/heic", head + b"\x00" * 3_000_000)  # 3 MB: over 1 MB
    with pytest.raises(MediaRefused, match=r"is image/heic, not an allowed media type: HEIC/HEIF photos"):
        fetcher.fetch(
            media_server.url("/photo.heic"), "video"
        )  # a video's 5 MB limit until the type is known
