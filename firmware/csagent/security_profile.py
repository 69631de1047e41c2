"""Upgrade the station's security profile (A05), and never downgrade it.

SecurityCtrlr.SecurityProfile is the profile of the connection in use. A
profile that needs certificates the board lacks is refused: 2 and 3 need
the CSMS root, 3 a client certificate (A05.FR.02/03). A profile below the
one in use is refused when set (B09.FR.04) and never fallen back to
(A05.FR.06): a downgrade would undo an upgrade. Once a connection on a
higher profile is up, that profile is the one in use, and the change is a
security event (A05.FR.04/05, A04).

Loaded for a connection attempt, a SetNetworkProfile and a priority check
only.
"""
from .compat import const

_SEC = const("SecurityCtrlr")
_SECURITY_PROFILE = const("SecurityProfile")


def allowed(model, sp):
    """Whether security profile `sp` is not below the one in use."""
    return sp >= (model.int_value(_SEC, _SECURITY_PROFILE, 1) or 1)


def missing_certificate(board, sp):
    """(reasonCode, text) when the board's store lacks a certificate that
    security profile `sp` needs (A05.FR.02/03), else None."""
    if sp >= 2 and not board.cert("csms_root.pem"):
        return "NoRootCertificate", "no CSMS root certificate installed for security profile %d" % sp
    if sp == 3 and not board.cert("client.pem"):
        return "NoClientCertificate", "no client certificate installed for security profile 3"
    return None


def connected(model, events, sp):
    """A connection on profile `sp` is up: it is the profile in use now."""
    if model.int_value(_SEC, _SECURITY_PROFILE) != sp:
        model.set_value(_SEC, _SECURITY_PROFILE, str(sp))
        events.record("ReconfigurationOfSecurityParameters", "security profile %d" % sp)
