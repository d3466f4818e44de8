"""ArchiveConsumer: the ``aprs-archive`` worker channel.

Every ``aprs`` application (consumers/aprs/base.py) sends it every packet; it stores them in batches of up to
``ARCHIVE_BATCH`` or every ``ARCHIVE_FLUSH_INTERVAL`` seconds, whichever
comes first, and purges packets past ``ARCHIVE_RETENTION_DAYS`` once an hour.
It runs inside the daemon (role ``worker``) or as
``python manage.py runworker aprs-archive``.
"""

import asyncio
import logging
import time

from channels.consumer import AsyncConsumer
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import IntegrityError

from consumers.patience import PatientReceive
from gateway import archive
from gateway.daemon import metrics

logger = logging.getLogger("gateway.archive")

PURGE_INTERVAL = 3600.0


class ArchiveConsumer(PatientReceive, AsyncConsumer):
    pending = None
    flush_handle = None
    next_purge = 0.0
    fence = 0  # the highest fencing token seen: older ones come from a leader past its lease

    async def archive_packet(self, event):
        token = event.get("fence")
        if token is not None:
            if token < self.fence:
                metrics.archive_stale.inc()
                return
            self.fence = token
        if self.pending is None:
            self.pending = []
        self.pending.append(event)
        if len(self.pending) >= settings.ARCHIVE_BATCH:
            await self.flush()
        elif self.flush_handle is None:
            self.flush_handle = asyncio.get_running_loop().call_later(
                settings.ARCHIVE_FLUSH_INTERVAL, lambda: asyncio.ensure_future(self.flush())
            )

    async def flush(self):
        if self.flush_handle is not None:
            self.flush_handle.cancel()
            self.flush_handle = None
        batch, self.pending = self.pending or [], []
        if not batch:
            return
        try:
            await database_sync_to_async(archive.store_batch)(batch)
        except IntegrityError:  # another worker created one of these stations just now
            await database_sync_to_async(archive.store_batch)(batch)
        metrics.archive_stored.inc(len(batch))
        metrics.archive_lag.set(max(0.0, time.time() - batch[-1]["received"]))
        if time.monotonic() >= self.next_purge:
            self.next_purge = time.monotonic() + PURGE_INTERVAL
            purged = await database_sync_to_async(archive.purge)(settings.ARCHIVE_RETENTION_DAYS)
            if purged:
                logger.info("archive: purged %d packets older than %g days", purged, settings.ARCHIVE_RETENTION_DAYS)
