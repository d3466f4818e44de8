"""ArchiveConsumer: the ``aprs-archive`` worker channel.

Every ``aprs`` application (consumers/aprs/base.py) sends it every packet, in
``archive.packets`` messages of one or more; it stores them in batches of up to
``ARCHIVE_BATCH`` or every ``ARCHIVE_FLUSH_INTERVAL`` seconds, whichever
comes first, and purges packets past ``ARCHIVE_RETENTION_DAYS`` once an hour.
While the database refuses (down, locked, full) it keeps up to ``ARCHIVE_CAPACITY``
packets in order and tries again, backing off from 1 to 30 s; a message the
channel layer delivers twice is stored once (gateway/archive.py).
It runs inside the daemon (role ``worker``) or as
``python manage.py runworker aprs-archive``.
"""

import asyncio
import logging
import time

from channels.consumer import AsyncConsumer
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from django.conf import settings
from django.db import DatabaseError, IntegrityError

from consumers.dispatch import NoDatabaseEvents
from consumers.patience import PatientReceive
from gateway import archive, metrics
from protocols.occasional import Occasionally

logger = logging.getLogger("gateway.archive")

PURGE_INTERVAL = 3600.0
MAX_RETRY_DELAY = 30.0
REFUSED_LOG_INTERVAL = 30.0


class ArchiveConsumer(PatientReceive, NoDatabaseEvents, AsyncConsumer):
    # store() runs where Django's connections are looked after (database_sync_to_async); the
    # thread hop per message besides waited behind a running store, one message at a time
    NO_DATABASE = frozenset({"archive.packets"})
    pending = None
    flush_handle = None
    next_purge = 0.0
    retry_delay = 0.0  # while the database refuses: seconds until the next try, doubling
    fence = 0  # the highest fencing token seen: packets with older ones come from the previous leader
    late_from = None  # the older token whose late packets were logged last (one line per handover)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.refused_log = Occasionally(REFUSED_LOG_INTERVAL)

    async def worker_start(self, event):
        """The daemon starts its workers at once (gateway/daemon/worker.py): nothing to do yet."""

    async def worker_stop(self, event):
        """The daemon is stopping and the channel is drained: store what is gathered, once
        more if the database refuses, then say what could not be stored."""
        for _ in range(2):
            self.retry_delay = 0.0
            await self.flush()
            if not self.pending:
                break
        if self.pending:
            metrics.archive_dropped.inc(len(self.pending))
            logger.error("archive: %d packets not stored on stopping (the database refused)", len(self.pending))
        raise StopConsumer()

    async def archive_packets(self, event):
        if self.pending is None:
            self.pending = []
        for body in event["packets"]:
            token = body.get("fence")
            if token is not None and token < self.fence:
                self.previous_leader(token)
            elif token is not None:
                self.fence = token
            self.pending.append(body)
        if self.retry_delay:
            self.keep_within_capacity()
        elif len(self.pending) >= settings.ARCHIVE_BATCH:
            await self.flush()
        else:
            self.flush_later(settings.ARCHIVE_FLUSH_INTERVAL)

    def previous_leader(self, token):
        """A packet of an older leader after the new one's: stored all the same. The links
        read only while their lease surely holds (gateway/daemon/leader.py: ``fence``), so
        it was received by the one leader of its moment; it is late here because the
        archive's messages wait up to ARCHIVE_FLUSH_INTERVAL, not because it is stale.
        The live feed, which is not delayed, is where fencing drops (gateway/feed/hub.py)."""
        metrics.archive_previous_leader.inc()
        if self.late_from != token:
            self.late_from = token
            logger.info(
                "archive: packets of the previous leader (fencing token %d) arrive after the new one's (%d); "
                "stored, as received while its lease held",
                token,
                self.fence,
            )

    def flush_later(self, delay):
        if self.flush_handle is None:
            loop = asyncio.get_running_loop()
            self.flush_handle = loop.call_later(delay, lambda: asyncio.ensure_future(self.flush()))

    async def flush(self):
        if self.flush_handle is not None:
            self.flush_handle.cancel()
            self.flush_handle = None
        while self.pending:
            batch, self.pending = self.pending[: settings.ARCHIVE_BATCH], self.pending[settings.ARCHIVE_BATCH :]
            try:
                stored = await self.store(batch)
            except DatabaseError as exc:
                self.pending[:0] = batch  # kept, in order, for the next try
                self.database_refused(exc)
                return
            if self.retry_delay:
                logger.info("archive: the database takes packets again")
                self.retry_delay = 0.0
            metrics.archive_stored.inc(stored)
            metrics.archive_redelivered.inc(len(batch) - stored)
            metrics.archive_lag.set(max(0.0, time.time() - batch[-1]["received"]))
        await self.purge_when_due()

    @database_sync_to_async
    def store(self, batch):
        try:
            return archive.store_batch(batch)
        except IntegrityError:  # another worker stored one of these stations or deliveries just now
            return archive.store_batch(batch)

    def database_refused(self, exc):
        """Keep the packets (up to ``ARCHIVE_CAPACITY``) and try again, backing off to 30 s."""
        self.retry_delay = min(MAX_RETRY_DELAY, max(1.0, 2 * self.retry_delay))
        self.keep_within_capacity()
        if self.refused_log.due():
            logger.error(
                "archive: the database refused a batch (%s: %s); %d packets wait, next try in %.0f s",
                type(exc).__name__,
                exc,
                len(self.pending),
                self.retry_delay,
            )
        self.flush_later(self.retry_delay)

    def keep_within_capacity(self):
        excess = len(self.pending) - settings.ARCHIVE_CAPACITY
        if excess > 0:
            del self.pending[:excess]
            metrics.archive_dropped.inc(excess)

    async def purge_when_due(self):
        if time.monotonic() < self.next_purge:
            return
        self.next_purge = time.monotonic() + PURGE_INTERVAL
        try:
            purged = await database_sync_to_async(archive.purge)(settings.ARCHIVE_RETENTION_DAYS)
        except DatabaseError as exc:
            logger.error("archive: purge failed (%s: %s); next try in an hour", type(exc).__name__, exc)
            return
        if purged:
            logger.info("archive: purged %d packets older than %g days", purged, settings.ARCHIVE_RETENTION_DAYS)
