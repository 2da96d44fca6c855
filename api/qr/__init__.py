"""QR entry: one stable code per connector, its URL ``{public_url}/q/{code}`` that both mini-programs open,
the images and printable sheets, and how a scanner's browser is recognised."""
