"""WebSocket framing and handshake helpers (RFC 6455), on both runtimes."""
import binascii

from csagent.ws import (ConnectionClosed, close_payload, encode_header,
                        header_size, mask, parse_close, parse_header)
from csagent.ws_handshake import WebSocketError, accept_key, basic_auth, parse_url
from csagent.tls import client_context, pem_to_der

KEY = b"\x37\xfa\x21\x3d"
TWO_CAS = """-----BEGIN CERTIFICATE-----
MIIByDCCAW+gAwIBAgIUUynZpzyyjgle6sG4XB/+Yu8ZjsYwCgYIKoZIzj0EAwIw
QDEXMBUGA1UECgwOdHJ1c3RtZSB2MS4yLjExJTAjBgNVBAsMHFRlc3RpbmcgQ0Eg
I1JqZ3Jyd2pUMXVtUnJNS0owIBcNMDAwMTAxMDAwMDAwWhgPMzAwMDAxMDEwMDAw
MDBaMEAxFzAVBgNVBAoMDnRydXN0bWUgdjEuMi4xMSUwIwYDVQQLDBxUZXN0aW5n
IENBICNSamdycndqVDF1bVJyTUtKMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE
z8BfI6G915If8ceNuYFCKHHojCweQCwIrDcqrdvDvLInBaoCpQIJTOGb2r3zH6RL
2HxyB0CftcaXkaI6xfj4UaNFMEMwHQYDVR0OBBYEFHbIX7cfpF8KrFPqPd2ptlGz
sXakMBIGA1UdEwEB/wQIMAYBAf8CAQkwDgYDVR0PAQH/BAQDAgGGMAoGCCqGSM49
BAMCA0cAMEQCICEw7pv5glcCoo8eKH8h3uNBEJ6tzS0D/ZVSJ60yb+0LAiB7UYa3
VOoo6kjwHuRMWTmgbeTtCrdiaVPDrcHFStVTWg==
-----END CERTIFICATE-----
-----BEGIN CERTIFICATE-----
MIIByTCCAW+gAwIBAgIUMd2SugkA8Nsx++2w4Cmqzb5snW8wCgYIKoZIzj0EAwIw
QDEXMBUGA1UECgwOdHJ1c3RtZSB2MS4yLjExJTAjBgNVBAsMHFRlc3RpbmcgQ0Eg
I3BkNGlHdlY4aHBmOGstVzgwIBcNMDAwMTAxMDAwMDAwWhgPMzAwMDAxMDEwMDAw
MDBaMEAxFzAVBgNVBAoMDnRydXN0bWUgdjEuMi4xMSUwIwYDVQQLDBxUZXN0aW5n
IENBICNwZDRpR3ZWOGhwZjhrLVc4MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE
8u96i1N3ILwMBpSyc7cYcFO57J6RK8Tltc+vsTk6tuCsCMFtAm0RrZNmpHtgu3wm
zM2qjZ9oXtaSQ8UXzmgLeqNFMEMwHQYDVR0OBBYEFNRga17HEagb8hsfdSCRusLL
gT2GMBIGA1UdEwEB/wQIMAYBAf8CAQkwDgYDVR0PAQH/BAQDAgGGMAoGCCqGSM49
BAMCA0gAMEUCIQDVdIQNbeXQhudnik+yiCbZz93MsGUn5ITJZvss+f9VBAIgeVVn
l8uV7TOebFhxoutfk+rkwNOoIJfmDQRaYV8ZciQ=
-----END CERTIFICATE-----
"""  # two trustme test CAs (valid until the year 3000)


def raises(exc_type, fn, *args):
    try:
        fn(*args)
    except exc_type as e:
        return e
    raise AssertionError("%s not raised" % exc_type.__name__)


def decode(frame):
    """parse_header on the header part of a whole frame, as recv reads it."""
    head = frame[:2 + header_size(frame[1])]
    return parse_header(head), len(head)


def test_rfc_single_frame_unmasked_hello():
    frame = encode_header(1, 5) + b"Hello"
    assert frame == bytes((0x81, 0x05)) + b"Hello"
    assert decode(frame) == ((True, 0, 1, 5, None), 2)


def test_rfc_single_frame_masked_hello():
    head = encode_header(1, 5, KEY)
    body = bytearray(b"Hello")
    mask(body, KEY)
    assert head + body == bytes((0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58))
    assert decode(head) == ((True, 0, 1, 5, KEY), 6)


def test_lengths_7_16_and_64_bit():
    for n, size in ((0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10), (2 ** 40, 10)):
        head = encode_header(2, n)
        assert len(head) == size, n
        assert decode(head) == ((True, 0, 2, n, None), size)
        masked = encode_header(2, n, KEY)
        assert len(masked) == size + 4
        assert decode(masked) == ((True, 0, 2, n, KEY), size + 4)
    assert encode_header(2, 256)[1:] == bytes((0x7E, 0x01, 0x00))  # RFC 6455 5.7 example
    assert encode_header(2, 65536)[1:] == bytes((0x7F, 0, 0, 0, 0, 0, 1, 0, 0))


def test_fin_rsv_and_opcode_bits():
    (fin, rsv, op, n, key), _ = decode(encode_header(0, 3, fin=False))
    assert (fin, rsv, op, n, key) == (False, 0, 0, 3, None)
    assert parse_header(bytes((0x80 | 0x40 | 9, 0)))[:3] == (True, 0x40, 9)


def test_mask_round_trip_and_reference():
    data = bytes(range(256)) * 3 + b"tail!"  # length not a multiple of 4
    buf = bytearray(data)
    mask(buf, KEY)
    assert bytes(buf) == bytes(b ^ KEY[i % 4] for i, b in enumerate(data))
    mask(buf, KEY)
    assert bytes(buf) == data


def test_mask_of_every_short_range():
    data = bytes(range(256)) * 2
    for start in (0, 2, 14):
        for end in list(range(start, start + 70)) + [start + 255, start + 256, start + 257, start + 300]:
            buf = bytearray(data)
            mask(buf, KEY, start, end)
            want = data[:start] + bytes(b ^ KEY[i % 4] for i, b in enumerate(data[start:end])) + data[end:]
            assert bytes(buf) == want, (start, end)


def test_mask_from_offset_leaves_header_alone():
    buf = bytearray(b"HEAD" + b"abcdefg")
    mask(buf, KEY, 4)
    assert buf[:4] == b"HEAD"
    assert bytes(buf[4:]) == bytes(b ^ KEY[i % 4] for i, b in enumerate(b"abcdefg"))


def test_accept_key_rfc_example():
    # RFC 6455 section 1.3 (the value is ...kYGzzhZRbK+xOo=, as websockets computes too)
    assert accept_key(b"dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_parse_url_defaults_ports_and_paths():
    assert parse_url("ws://csms.example") == (False, "csms.example", 80, "/")
    assert parse_url("wss://csms.example") == (True, "csms.example", 443, "/")
    assert parse_url("ws://10.0.0.2:9000/ocpp/CS001") == (False, "10.0.0.2", 9000, "/ocpp/CS001")
    assert parse_url("wss://csms.example:8443/a/b?x=1") == (True, "csms.example", 8443, "/a/b?x=1")
    assert parse_url("ws://[::1]:9000/cs") == (False, "::1", 9000, "/cs")
    assert parse_url("wss://[fe80::1]/") == (True, "fe80::1", 443, "/")


def test_parse_url_refuses_bad_urls():
    for url in ("http://csms.example/", "ws://", "ws://host:port/", "ws://:80/", "csms.example"):
        assert isinstance(raises(WebSocketError, parse_url, url).args[0], str), url


def test_basic_auth_header():
    assert basic_auth("Aladdin", "open sesame") == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="  # RFC 7617
    value = basic_auth("CS001", "p\u00e4ss:w0rd")
    assert binascii.a2b_base64(value[6:]) == "CS001:p\u00e4ss:w0rd".encode()


def test_close_payload_round_trip():
    assert parse_close(close_payload(1000, "bye")) == (1000, "bye")
    assert parse_close(close_payload(4001)) == (4001, "")
    assert parse_close(b"") == (1005, "")


def test_close_reason_cut_on_character_edge():
    body = close_payload(1001, "\u00e9" * 100)  # 200 bytes of 2-byte characters
    assert len(body) <= 125
    code, reason = parse_close(body)
    assert code == 1001 and reason == "\u00e9" * 61


def test_bad_close_frames_fail_with_protocol_codes():
    for body, code in ((b"\x03", 1002), ((1006).to_bytes(2, "big"), 1002),
                       ((999).to_bytes(2, "big"), 1002), ((5000).to_bytes(2, "big"), 1002),
                       ((1000).to_bytes(2, "big") + b"\xff", 1007)):
        assert raises(ConnectionClosed, parse_close, body).code == code, body


def test_pem_to_der_picks_blocks_by_label():
    pem = (b"-----BEGIN CERTIFICATE-----\r\nAAEC\r\nAw==\r\n-----END CERTIFICATE-----\r\n"
           b"-----BEGIN EC PRIVATE KEY-----\nBAUG\n-----END EC PRIVATE KEY-----\n")
    assert pem_to_der(pem) == [b"\x00\x01\x02\x03"]
    assert pem_to_der(pem, b"PRIVATE KEY") == [b"\x04\x05\x06"]
    assert pem_to_der(b"\x30\x82\x01\x00") == [b"\x30\x82\x01\x00"]  # DER passes through
    ders = pem_to_der(TWO_CAS.encode())
    assert len(ders) == 2 and all(d[0] == 0x30 for d in ders)  # ASN.1 SEQUENCE


def test_client_context_always_verifies():
    import ssl
    for ctx in (client_context(cadata=TWO_CAS), client_context(cadata=pem_to_der(TWO_CAS.encode())[1])):
        assert ctx.verify_mode == ssl.CERT_REQUIRED
        assert getattr(ctx, "check_hostname", True)  # MicroPython checks via server_hostname
