"""Whether a value suits a variable's characteristics (Part 2, 2.1 and
the VariableCharacteristics type): the check the device model applies to
its defaults and station-internal updates, and SetVariables to requests.
"""
from .clock import is_datetime
from .compat import const

DATA_TYPES = ("string", "decimal", "integer", "dateTime", "boolean",
              "OptionList", "SequenceList", "MemberList")
LISTS = ("OptionList", "SequenceList", "MemberList")
# identifierString / passwordString (Part 2, 2.1 primitive datatypes)
_ID_CHARS = const("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789*-_=:+|@.")
# "format" in a definition: the character set a string value must keep to.
# "identity" is SecurityCtrlr.Identity: an identifierString without ':',
# because it is also the Basic auth user name (Part 2, 2.2.2).
FORMATS = {
    "identifierString": _ID_CHARS,
    "passwordString": _ID_CHARS,
    "identity": _ID_CHARS.replace(":", ""),
}
_INT_MIN = const(-2147483648)  # integer: 32 bit (Part 2, 2.1 primitive datatypes)
_INT_MAX = const(2147483647)


def digits(text):
    """ASCII digits only: CPython's isdigit() and int() take other scripts'
    digits and superscripts ("²".isdigit(), but int("²") fails)."""
    return text != "" and all("0" <= c <= "9" for c in text)


_SCALE = const(1000000)  # decimals have at most 6 places: numbers are compared in millionths


def _number(text, integer):
    """The number `text` stands for, in millionths (an exact int), or None
    when it is not written the way Part 2 allows: integer without '+' or
    leading zeros, decimal with at most six decimal places. No float: on
    a single-precision board float("22000.000001") == 22000.0."""
    negative = text[:1] == "-"
    whole, dot, fraction = (text[1:] if negative else text).partition(".")
    if not digits(whole) or (len(whole) > 1 and whole[0] == "0"):
        return None
    if dot and (integer or not digits(fraction) or len(fraction) > 6):
        return None
    n = int(whole) * _SCALE + (int(fraction) * 10 ** (6 - len(fraction)) if dot else 0)
    n = -n if negative else n
    if integer and not _INT_MIN * _SCALE <= n <= _INT_MAX * _SCALE:
        return None
    return n


def limit(x):
    """A minLimit/maxLimit of model.jsonl in millionths, or None when it is
    no number: an int, a decimal string ("22000.000001": exact on every
    board) or a float, taken from its shortest text (exact where floats are
    double; a 32-bit board has rounded it already while parsing the line)."""
    if isinstance(x, bool):
        return None
    if isinstance(x, int):
        return x * _SCALE
    if isinstance(x, str):
        return _number(x, False)
    if isinstance(x, float):
        n = _number(repr(x), False)
        if n is None and x == x and abs(x) != float("inf"):
            if abs(x) < 2.0 ** 53:  # more than 6 places: rounded
                n = int(round(x * _SCALE))
            else:  # 1e+20: a whole number, exact; x * _SCALE may overflow
                n = int(x) * _SCALE
        return n
    return None


def check_value(value, characteristics):
    """None when `value` (str) suits the characteristics (dataType, minLimit,
    maxLimit, valuesList, and our "format"), else the StatusInfo reasonCode
    that says why not (B05.FR.07, B05.FR.08).

    minLimit/maxLimit bound numbers; for string and list types they bound
    the length (maxLimit as Part 2 defines it, minLimit likewise)."""
    kind = characteristics["dataType"]
    low = characteristics.get("minLimit")
    high = characteristics.get("maxLimit")
    low = None if low is None else limit(low)
    high = None if high is None else limit(high)
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
    if high is not None and len(value) * _SCALE > high:
        return "TooLargeElement"
    if low is not None and len(value) * _SCALE < low:
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
