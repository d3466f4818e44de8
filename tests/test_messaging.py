"""Two-way APRS messaging from the browser (docs/messaging.md), through the real daemon:
the Messages websocket, a scripted APRS-IS uplink, and aprsd 4.2.4 as a real station."""

import asyncio
import json

import pytest
import websockets

from tests.conftest import free_port
from tests.igateclient import IGateClient
from tests.test_aprsis_clients import aprsd_packet_lines, peers, running_aprsd  # noqa: F401  (peers: a fixture)
from tests.test_chat_daemon import log_in, next_of
from tests.test_outbox import HAM


async def messages_socket(gateway, username="ham", password="ham-secret-1"):
    cookie = await asyncio.to_thread(log_in, gateway.url, username, password)
    socket = await websockets.connect(
        gateway.ws_url + "/ws/messages/", origin=gateway.url, additional_headers={"Cookie": cookie}
    )
    return socket, await next_of(socket, "hello")


async def outbox_state(socket, state, timeout=10):
    while True:
        frame = await next_of(socket, "outbox", timeout)
        if frame["message"]["state"] == state:
            return frame["message"]


async def uplinked(daemon, upstream, env=None):
    daemon.manage("shell", "-c", HAM.format(verified=True))
    gateway = await daemon(
        "--aprs-server", upstream.address, "--passcode", "13023", env={"OUTBOX_RETRY": "1", **(env or {})}
    ).started()
    session = await upstream.next_session()
    session.logresp()
    await gateway.until_log("aprs application started")
    return gateway, session


async def test_a_message_from_aprs_is_is_acked_for_the_user_shown_once_and_the_filter_asks_for_it(daemon, upstream):
    gateway, session = await uplinked(daemon, upstream)
    assert await session.read_line() == b"#filter g/N0HAM"  # APRS-IS is to send the web user's messages
    socket, hello = await messages_socket(gateway)
    assert hello["you"] == "N0HAM" and hello["may_send"] and hello["unread"] == 0
    message = b"N0DEMO-9>APRS,TCPIP*,qAC,T2TEST::N0HAM    :hello web{12}"  # APRS 1.1: it takes reply-acks
    session.send_lines([message])
    assert await session.read_line() == b"N0HAM>APRS,TCPIP*::N0DEMO-9 :ack12"  # at once, on the user's behalf
    received = (await next_of(socket, "inbox"))["message"]
    assert (received["from"], received["text"], received["read"]) == ("N0DEMO-9", "hello web", False)
    session.send_lines([message])  # the station did not hear the ack: acked again, not shown twice
    assert await session.read_line() == b"N0HAM>APRS,TCPIP*::N0DEMO-9 :ack12"
    with pytest.raises(asyncio.TimeoutError):
        await next_of(socket, "inbox", timeout=1.5)
    await socket.send(json.dumps({"type": "thread", "station": "n0demo-9"}))
    thread = await next_of(socket, "thread")
    assert [(m["direction"], m["text"]) for m in thread["messages"]] == [("in", "hello web")]
    assert thread["unread"] == 0  # opening the thread read it
    # the user answers; the station's reply-ack ({MM}AA) settles it
    await socket.send(json.dumps({"type": "send", "to": "N0DEMO-9", "text": "hello station"}))
    queued = await outbox_state(socket, "queued")
    assert await session.read_line() == f"N0HAM>APRS,TCPIP*::N0DEMO-9 :hello station{{{queued['msgno']}}}12".encode()
    await outbox_state(socket, "sent")
    session.send_lines([f"N0DEMO-9>APRS,TCPIP*,qAC,T2TEST::N0HAM    :thanks{{13}}{queued['msgno']}".encode()])
    assert (await outbox_state(socket, "acked"))["tries"] == 1
    assert await session.read_line() == b"N0HAM>APRS,TCPIP*::N0DEMO-9 :ack13"
    await socket.send(json.dumps({"type": "conversations"}))
    (conversation,) = (await next_of(socket, "conversations"))["conversations"]
    assert conversation["station"] == "N0DEMO-9" and conversation["last"] == "thanks"


async def test_a_message_no_transmitter_can_reach_says_no_route(daemon):
    daemon.manage("shell", "-c", HAM.format(verified=True))
    port = free_port()
    gateway = await daemon("--no-aprs", "--igate-port", str(port), env={"OUTBOX_ROUTE_WAIT": "1"}).started()
    igate, _ = await IGateClient.logged_in(port, "N0IG")
    socket, _ = await messages_socket(gateway)
    await socket.send(json.dumps({"type": "send", "to": "N9FAR", "text": "are you there?"}))
    await outbox_state(socket, "queued")
    assert (await outbox_state(socket, "no_route"))["tries"] == 1  # the iGate never heard N9FAR
    with pytest.raises(asyncio.TimeoutError):
        await igate.read_packet(timeout=1)


async def test_messaging_off_says_why(daemon):
    daemon.manage("shell", "-c", HAM.format(verified=True))
    gateway = await daemon("--no-aprs", env={"APRS_MESSAGING": "false"}).started()
    socket, hello = await messages_socket(gateway)
    assert not hello["may_send"] and "APRS_MESSAGING" in hello["reason"]
    await socket.send(json.dumps({"type": "send", "to": "N0DEMO-9", "text": "hello"}))
    error = await next_of(socket, "error")
    assert error["code"] == "messaging_off"
    anonymous = await websockets.connect(gateway.ws_url + "/ws/messages/", origin=gateway.url)
    assert (await next_of(anonymous, "error"))["code"] == "login_required"
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await anonymous.recv()
    assert closed.value.rcvd.code == 4401


async def test_aprsd_answers_a_web_user_and_the_gateway_acks_its_pong(daemon, peers, tmp_path):  # noqa: F811
    daemon.manage("shell", "-c", HAM.format(verified=True))
    port = free_port()
    gateway = await daemon("--no-aprs", "--igate-port", str(port)).started()
    with running_aprsd(tmp_path, port) as log:
        await gateway.until_log("(N0APD-5) logged in", timeout=60)
        socket, _ = await messages_socket(gateway)
        await socket.send(json.dumps({"type": "send", "to": "N0APD-5", "text": "ping"}))
        queued = await outbox_state(socket, "queued")
        await outbox_state(socket, "sent")  # the iGate connection of N0APD-5 took it: its login
        assert (await outbox_state(socket, "acked", timeout=30))["tries"] == 1
        pong = (await next_of(socket, "inbox", timeout=30))["message"]
        assert pong["from"] == "N0APD-5" and pong["text"].startswith("Pong! ")
        await asyncio.sleep(3)  # time for aprsd to log our ack, or to send its pong again
        lines = aprsd_packet_lines(log)
        print("\n".join(lines))
        assert any(
            "RX" in line and f"MessagePacket:{queued['msgno']} N0HAM" in line and ": ping" in line for line in lines
        )
        assert any("TX" in line and f"AckPacket:{queued['msgno']} (1 of" in line for line in lines)
        assert any("RX" in line and f"AckPacket:{pong['msgno']} N0HAM" in line for line in lines)  # our ack
        assert not any(f"MessagePacket:{pong['msgno']} (2 of" in line for line in lines)  # so no retry of the pong
