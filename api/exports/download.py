"""An export as a file download: shared by the API export routes and the dashboard's links."""

from __future__ import annotations

from fastapi import Response

from api.exports.service import Export


def download(export: Export) -> Response:
    """The export as an attachment, never cached (it is a patient's record)."""
    return Response(
        export.body,
        media_type=export.media_type,
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"', "Cache-Control": "no-store"},
    )
