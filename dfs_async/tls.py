"""The one TLS rule of the project: checks are never switched off.

The API's password and a shared Redis's data travel over these connections; a context that
skips the certificate or the host name would hand them to whoever answers.
"""

from __future__ import annotations

import ssl

__all__ = ["verifies"]


def verifies(context: ssl.SSLContext) -> bool:
    """Whether `context` checks both the peer's certificate and its host name."""
    return context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
