"""DER (ITU-T X.690) read in place, by offsets into the buffer.

A certificate or a signature is parsed where it lies: each element is
(tag, start, stop) of its contents, nothing is copied until a caller slices
out what it keeps. Only what DER allows is accepted: one-byte tags,
definite lengths in the fewest bytes, every element inside its parent.
Shared by x509 and pubkey; loaded with them, on demand.
"""

SEQUENCE = 0x30
INTEGER = 0x02
BIT_STRING = 0x03
OCTET_STRING = 0x04
OID = 0x06


def read(buf, pos, end, tag=None):
    """(tag, start, stop) of the element at buf[pos], its contents being
    buf[start:stop]; ValueError when it is not DER, runs past `end`, or its
    tag is not `tag`."""
    if pos + 2 > end:
        raise ValueError("DER: truncated")
    t = buf[pos]
    n = buf[pos + 1]
    pos += 2
    if t & 0x1F == 0x1F:
        raise ValueError("DER: multi-byte tag")
    if n & 0x80:
        k = n & 0x7F
        if not 0 < k <= 3 or pos + k > end:  # 0: indefinite length; over 16 MB: not ours
            raise ValueError("DER: bad length")
        n = 0
        for i in range(k):
            n = n << 8 | buf[pos + i]
        if n < 0x80 or n >> (8 * (k - 1)) == 0:
            raise ValueError("DER: length not minimal")
        pos += k
    if pos + n > end:
        raise ValueError("DER: truncated")
    if tag is not None and t != tag:
        raise ValueError("DER: tag %02x, %02x expected" % (t, tag))
    return t, pos, pos + n


def children(buf, start, stop):
    """The elements inside buf[start:stop], in order, as read() gives them."""
    out = []
    while start < stop:
        element = read(buf, start, stop)
        out.append(element)
        start = element[2]
    return out


def positive(buf, start, stop):
    """The contents buf[start:stop] of an INTEGER that must be positive and
    minimal, without its sign byte; ValueError otherwise."""
    if stop <= start or buf[start] & 0x80:
        raise ValueError("DER: integer not positive")
    if buf[start] == 0:
        if stop - start == 1 or not buf[start + 1] & 0x80:
            raise ValueError("DER: integer zero or not minimal")
        start += 1
    return bytes(buf[start:stop])
