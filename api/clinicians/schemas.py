from __future__ import annotations

from datetime import datetime

from api.schemas import Public


class InvitePublic(Public):
    code: str
    expires_at: datetime
