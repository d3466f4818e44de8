"""Consumers that wait out a channel layer outage instead of crashing on it."""

from gateway.layers import receive_patiently


class PatientReceive:
    """Mixin for consumers with a channel of their own. Channels sets
    ``channel_receive`` to the layer's receive for its channel; with Redis gone
    each receive would raise and crash the consumer, again on every restart.
    Here a receive waits for the layer to come back (gateway/layers.py)."""

    @property
    def channel_receive(self):
        return self._patient_receive

    @channel_receive.setter
    def channel_receive(self, receive):
        async def patient():
            return await receive_patiently(receive, type(self).__name__)

        self._patient_receive = patient
