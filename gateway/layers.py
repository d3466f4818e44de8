"""Channel layer fix-ups."""

from channels import layers


class InMemoryChannelLayer(layers.InMemoryChannelLayer):
    """The in-memory layer, honouring ``channel_capacity``.

    channels 4.3's in-memory layer stores the ``channel_capacity`` dict without
    compiling it, so any send or receive raises ValueError once it is set
    (channels_redis compiles it). Compile it the way BaseChannelLayer means to.
    """

    def __init__(self, channel_capacity=None, **kwargs):
        super().__init__(**kwargs)
        self.channel_capacity = self.compile_capacities(channel_capacity or {})
