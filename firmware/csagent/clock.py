"""RFC 3339 date-times: checked, and converted to and from Unix seconds
without the port's time.mktime.

Board epochs differ (1970 on unix, 2000 on ESP32 and RP2040 ports), so the
agent keeps Unix seconds itself and converts with the civil-date algorithm.
One parser serves the schema check (validate), the dateTime variables
(variables) and the CSMS's clock (boot).
"""
from .compat import const

_DAYS = const((31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31))


def _days_from_civil(y, m, d):
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _field(text, start, end, low, high):
    part = text[start:end]
    if len(part) != end - start:
        raise ValueError
    for c in part:
        if not "0" <= c <= "9":  # int() would take other scripts' digits
            raise ValueError
    value = int(part)
    if not low <= value <= high:
        raise ValueError
    return value


def parse(text, max_fraction=None):
    """'2026-11-26T04:09:23.5+01:00' -> Unix seconds (int); ValueError when
    the text is no RFC 3339 date-time or has more than max_fraction decimals
    (RFC 3339 sets no limit: neither does a CSMS's clock)."""
    try:
        if text[4] != "-" or text[7] != "-" or text[10] not in "Tt" or text[13] != ":" or text[16] != ":":
            raise ValueError
        y, mo = _field(text, 0, 4, 0, 9999), _field(text, 5, 7, 1, 12)
        leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
        d = _field(text, 8, 10, 1, _DAYS[mo - 1] - (mo == 2 and not leap))
        h, mi, s = _field(text, 11, 13, 0, 23), _field(text, 14, 16, 0, 59), _field(text, 17, 19, 0, 60)
        rest = text[19:]
        if rest[:1] == ".":
            n = 1
            while n < len(rest) and "0" <= rest[n] <= "9":
                n += 1
            if n < 2 or max_fraction is not None and n > max_fraction + 1:
                raise ValueError
            rest = rest[n:]
        if rest in ("Z", "z"):
            offset = 0
        elif len(rest) == 6 and rest[0] in "+-" and rest[3] == ":":
            offset = (_field(rest, 1, 3, 0, 23) * 60 + _field(rest, 4, 6, 0, 59)) * 60
            offset = -offset if rest[0] == "+" else offset
        else:
            raise ValueError
    except (ValueError, IndexError, TypeError):
        raise ValueError("not an RFC 3339 date-time")
    return _days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s + offset


def is_datetime(text, max_fraction=None):
    try:
        parse(text, max_fraction)
        return True
    except ValueError:
        return False


def iso(seconds):
    """Unix seconds -> '2026-11-26T04:09:23Z'."""
    seconds = int(seconds)
    days, rem = divmod(seconds, 86400)
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    y = yoe + era * 400 + (m <= 2)
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (y, m, d, rem // 3600, rem // 60 % 60, rem % 60)
