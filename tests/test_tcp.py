"""protocols/tcp.py against a real twisted TCP transport over a real socket: the private
write-buffer fields it reads are where it expects them, and a change is refused."""

import socket

import pytest
from twisted.internet import tcp
from twisted.internet.protocol import Protocol

from protocols.tcp import TwistedChanged, check_twisted, unsent_bytes, write_now


class NoSelector:
    """Stands in for the reactor: the transport registers with it and nothing runs."""

    def addWriter(self, _):
        pass

    removeWriter = addReader = removeReader = addWriter


@pytest.fixture
def transport_and_peer():
    ours, peer = socket.socketpair()
    ours.setblocking(False)
    transport = tcp.Connection(ours, Protocol(), NoSelector())
    transport.connected = True
    yield transport, peer
    ours.close()
    peer.close()


def test_the_fields_are_where_we_read_them(transport_and_peer):
    transport, _ = transport_and_peer
    check_twisted(transport)  # queues a 5-byte probe through twisted's own write()
    assert unsent_bytes(transport) == 5


def test_write_now_goes_straight_to_the_socket_and_queues_the_rest_in_order(transport_and_peer):
    transport, peer = transport_and_peer
    assert write_now(transport, b"hello")
    assert unsent_bytes(transport) == 0
    assert peer.recv(5) == b"hello"
    big = bytes(range(256)) * 40_000  # ~10 MB: more than the kernel takes at once
    assert write_now(transport, big)
    queued = unsent_bytes(transport)
    assert 0 < queued < len(big)
    assert write_now(transport, b"after")  # twisted holds bytes: this one queues behind them
    assert unsent_bytes(transport) == queued + 5


def test_a_transport_without_the_fields_is_refused():
    class Renamed:
        def write(self, data):
            pass

    with pytest.raises(TwistedChanged, match="lack dataBuffer, offset, _tempDataBuffer, _tempDataLen"):
        check_twisted(Renamed())


def test_the_installed_twisted_passes_the_start_up_check():
    check_twisted()
