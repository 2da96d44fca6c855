"""Expected failures of QR entry.

    NotFound
    └── UnknownCode      UNKNOWN_QR_CODE   no connector has this code (or it was removed)
"""

from api.core.errors import NotFound


class UnknownCode(NotFound):
    code = "UNKNOWN_QR_CODE"
