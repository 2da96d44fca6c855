"""``python -m tests.support.mariadb_probe URL``: exit 0 when the MariaDB/MySQL server answers, 1 otherwise."""

from __future__ import annotations

import asyncio
import sys
from urllib.parse import urlsplit


async def reachable(url: str) -> bool:
    import asyncmy

    parts = urlsplit(url)
    try:
        conn = await asyncio.wait_for(
            asyncmy.connect(host=parts.hostname, port=parts.port or 3306, user=parts.username or "root",
                            password=parts.password or ""),
            5,
        )
    except Exception:  # refused, timed out, bad credentials: not usable here
        return False
    conn.close()
    return True


if __name__ == "__main__":
    sys.exit(0 if asyncio.run(reachable(sys.argv[1])) else 1)
