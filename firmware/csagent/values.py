"""Whether a value suits a variable's characteristics (Part 2, 2.1 and
the VariableCharacteristics type): the check the device model applies to
its defaults and station-internal updates, and SetVariables to requests.
"""
from .clock import is_datetime

DATA_TYPES = ("string", "decimal", "integer", "dateTime", "boolean",
              "OptionList", "SequenceList", "MemberList")
LISTS = ("OptionList", "SequenceList", "MemberList")
# identifierString / passwordString (Part 2, 2.1 primitive datatypes)
_ID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789*-_=:+|@."
# "format" in a definition: the character set a string value must keep to.
# "identity" is SecurityCtrlr.Identity: an identifierString without ':',
# because it is also the Basic auth user name (Part 2, 2.2.2).
FORMATS = {
    "identifierString": _ID_CHARS,
    "passwordString": _ID_CHARS,
    "identity": _ID_CHARS.replace(":", ""),
}
_INT_MIN = -2147483648  # integer: 32 bit (Part 2, 2.1 primitive datatypes)
_INT_MAX = 2147483647


def _digits(text):
    return text != "" and all("0" <= c <= "9" for c in text)


def _number(text, integer):
    """The number `text` stands for, or None when it is not written the way
    Part 2 allows: integer without '+' or leading zeros, decimal with at most
    six decimal places."""
    body = text[1:] if text[:1] == "-" else text
    whole, dot, fraction = body.partition(".")
    if not _digits(whole) or (len(whole) > 1 and whole[0] == "0"):
        return None
    if dot:
        if integer or not _digits(fraction) or len(fraction) > 6:
            return None
        return float(text)
    n = int(text)
    if integer and not _INT_MIN <= n <= _INT_MAX:
        return None
    return n


def check_value(value, characteristics):
    """None when `value` (str) suits the characteristics (dataType, minLimit,
    maxLimit, valuesList, and our "format"), else the StatusInfo reasonCode
    that says why not (B05.FR.07, B05.FR.08).

    minLimit/maxLimit bound numbers; for string and list types they bound
    the length (maxLimit as Part 2 defines it, minLimit likewise)."""
    kind = characteristics["dataType"]
    low = characteristics.get("minLimit")
    high = characteristics.get("maxLimit")
    if kind == "integer" or kind == "decimal":
        n = _number(value, kind == "integer")
        if n is None:
            return "InvalidValue"
        if low is not None and n < low:
            return "ValueTooLow"
        if high is not None and n > high:
            return "ValueTooHigh"
        return None
    if kind == "boolean":
        return None if value in ("true", "false") else "InvalidValue"
    if kind == "dateTime":
        return None if is_datetime(value, 3) else "InvalidValue"  # Part 2: at most 3 decimals
    if high is not None and len(value) > high:
        return "TooLargeElement"
    if low is not None and len(value) < low:
        return "ValueTooLow"
    if kind in LISTS:
        allowed = characteristics.get("valuesList", "").split(",")
        if kind == "OptionList":
            return None if value in allowed else "InvalidValue"
        if value == "":
            return None
        members = value.split(",")
        for i, member in enumerate(members):
            if member not in allowed or member in members[:i]:
                return "InvalidValue"
        return None
    chars = FORMATS.get(characteristics.get("format"))
    if chars is not None:
        for c in value:
            if c not in chars:
                return "InvalidValue"
    return None
