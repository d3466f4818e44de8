"""Channel layer fix-ups, and what a layer raises when it cannot deliver."""

import asyncio

from channels import layers
from channels.exceptions import ChannelFull
from redis.exceptions import RedisError

LAYER_ERRORS = (ChannelFull, OSError, asyncio.TimeoutError, RedisError)
"""A full channel, or Redis out of reach: an outage to count and survive, not a bug."""


class InMemoryChannelLayer(layers.InMemoryChannelLayer):
    """The in-memory layer, honouring ``channel_capacity``.

    channels 4.3's in-memory layer stores the ``channel_capacity`` dict without
    compiling it, so any send or receive raises ValueError once it is set
    (channels_redis compiles it). Compile it the way BaseChannelLayer means to.
    """

    def __init__(self, channel_capacity=None, **kwargs):
        super().__init__(**kwargs)
        self.channel_capacity = self.compile_capacities(channel_capacity or {})
