"""RFC 3339 date-times <-> Unix seconds, without the port's time.mktime.

Board epochs differ (1970 on unix, 2000 on ESP32 and RP2040 ports), so the
agent keeps Unix seconds itself and converts with the civil-date algorithm.
"""


def _days_from_civil(y, m, d):
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def parse(text):
    """'2026-11-26T04:09:23.5+01:00' -> Unix seconds (int); ValueError if malformed."""
    try:
        y, mo, d = int(text[0:4]), int(text[5:7]), int(text[8:10])
        h, mi, s = int(text[11:13]), int(text[14:16]), int(text[17:19])
        if text[4] != "-" or text[7] != "-" or text[10] not in "Tt " or text[13] != ":" or text[16] != ":":
            raise ValueError
        rest = text[19:]
        if rest[:1] == ".":
            i = 1
            while i < len(rest) and rest[i].isdigit():
                i += 1
            rest = rest[i:]
        if rest in ("Z", "z"):
            offset = 0
        elif len(rest) == 6 and rest[0] in "+-" and rest[3] == ":":
            offset = (int(rest[1:3]) * 60 + int(rest[4:6])) * 60
            offset = -offset if rest[0] == "+" else offset
        else:
            raise ValueError
    except (ValueError, IndexError):
        raise ValueError("not an RFC 3339 date-time")
    return _days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s + offset


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
