"""Real APRS-IS client software nobody here wrote, against our server port: aprslib's
``IS`` (a dependency of ours), aioaprs and aprsd 4.2.4 (from PyPI, in ``.venv-peers``,
which `make test` installs from tests/peers-requirements.txt)."""

import asyncio
import contextlib
import subprocess
import textwrap

import aprslib
import pytest

from tests.conftest import REPO
from tests.igateclient import IGateClient
from tests.test_igate import igate_daemon

PEERS = REPO / ".venv-peers" / "bin"


@pytest.fixture
def peers():
    if not (PEERS / "aprsd").exists():
        pytest.fail(".venv-peers is missing: `make test` (or `make peers`) installs aprsd and aioaprs there")
    return PEERS


def aprslib_session(port, callsign, passcode, filter_, upload, wanted):
    """Log in with aprslib's IS, upload a line, collect ``wanted`` lines (a blocking client: run in a thread)."""
    client = aprslib.IS(callsign, passwd=passcode, host="127.0.0.1", port=port)
    client.set_filter(filter_)
    client.connect()
    client.sendall(upload)
    got = []

    def collect(line):
        got.append(line)
        if len(got) == wanted:
            raise StopIteration

    try:
        client.consumer(collect, raw=True)
    finally:
        client.close()
    return got


async def test_aprslib_logs_in_lower_case_with_m_filter_uploads_and_receives(daemon):
    gateway = await igate_daemon(daemon)
    gate, _ = await IGateClient.logged_in(gateway.igate_port, "N0GATE")
    passcode = str(aprslib.passcode("N0LIB"))
    session = asyncio.ensure_future(
        asyncio.to_thread(
            aprslib_session, gateway.igate_port, "n0lib", passcode, "m/50", "N0LIB>APRS,TCPIP*:!4903.00N/07201.00W-", 1
        )
    )
    await gateway.until_log("(N0LIB) logged in, verified, software aprslib")
    await asyncio.sleep(0.5)  # its position reached the hub
    gate.send("N1FAR>APRS,WIDE1-1:!1000.00N/01000.00E>far", "N1NEAR>APRS,WIDE1-1:!4904.00N/07202.00W>near")
    assert await asyncio.wait_for(session, 20) == [b"N1NEAR>APRS,WIDE1-1,qAS,N0GATE:!4904.00N/07202.00W>near"]
    assert (await gateway.get_json("/api/status"))["igate"]["accepted"] == 3  # its upload and the two
    # receive-only (pass -1): logged in unverified, its upload refused
    listen = asyncio.ensure_future(
        asyncio.to_thread(aprslib_session, gateway.igate_port, "N0LSN", "-1", "b/N1*", "N0LSN>APRS:>x", 1)
    )
    await gateway.until_log("(N0LSN) logged in, unverified, software aprslib")
    gate.send("N1ANY>APRS,WIDE1-1:>for the listener")
    assert await asyncio.wait_for(listen, 20) == [b"N1ANY>APRS,WIDE1-1,qAS,N0GATE:>for the listener"]
    assert (await gateway.get_json("/api/status"))["igate"]["refused"] == {"unverified login": 1}


async def test_aioaprs_logs_in_with_a_filter_and_receives(daemon, peers):
    gateway = await igate_daemon(daemon)
    script = textwrap.dedent(
        f"""
        import asyncio
        from aioaprs.client import AioAPRSClient
        from aioaprs.config import AioAPRSClientConfig

        async def main():
            got = asyncio.Queue()
            config = AioAPRSClientConfig()
            config.host, config.port, config.callsign = "127.0.0.1", {gateway.igate_port}, "N0AIO"
            config.server_filter = "b/N1AIO m/10"
            client = AioAPRSClient(config, got.put)
            await client.connect()
            print(await asyncio.wait_for(got.get(), 20), flush=True)
            await client.close()

        asyncio.run(main())
        """
    )
    process = await asyncio.create_subprocess_exec(
        str(peers / "python"), "-c", script, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    await gateway.until_log("(N0AIO) logged in, verified, software aioaprs")
    gate, _ = await IGateClient.logged_in(gateway.igate_port, "N0GATE")
    gate.send("N1AIO>APRS,WIDE1-1:>hello aioaprs")
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert out.decode().strip() == "N1AIO>APRS,WIDE1-1,qAS,N0GATE:>hello aioaprs", err.decode()[-2000:]


def aprsd_config(folder, port):
    """An aprsd 4.2.4 configuration: station N0APD-5 with the ping plugin, logging in to our
    server port on ``port``; returns (config file, log file)."""
    config, log = folder / "aprsd.conf", folder / "aprsd.log"
    config.write_text(
        textwrap.dedent(
            f"""
            [DEFAULT]
            callsign = N0APD-5
            enable_save = false
            save_location = {folder / "save"}
            enabled_plugins = aprsd.plugins.ping.PingPlugin
            [aprs_network]
            enabled = true
            login = N0APD-5
            password = {aprslib.passcode("N0APD")}
            host = 127.0.0.1
            port = {port}
            [aprs_registry]
            enabled = false
            [logging]
            logfile = {log}
            enable_color = false
            """
        )
    )
    return config, log


@contextlib.contextmanager
def running_aprsd(folder, port):
    """aprsd 4.2.4 as a daemon (aprsd_config) logging in to our server port; yields its log file."""
    config, log = aprsd_config(folder, port)
    aprsd = subprocess.Popen(
        [str(PEERS / "aprsd"), "server", "-c", str(config), "--loglevel", "DEBUG", "--quiet"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        yield log
    finally:
        aprsd.terminate()
        try:
            aprsd.wait(10)
        except subprocess.TimeoutExpired:
            aprsd.kill()


def aprsd_packet_lines(log):
    """aprsd's log lines about packets it received (RX) and sent (TX), as "time | what"."""
    said = log.read_text(errors="replace").splitlines()
    return [f"{line.split(' | ')[0]} | {line.split(' | ')[3]}" for line in said if "Packet:" in line]


async def test_aprsd_gets_a_message_to_its_login_acks_it_and_its_pong_reaches_the_sender(daemon, peers, tmp_path):
    gateway = await igate_daemon(daemon)
    with running_aprsd(tmp_path, gateway.igate_port) as log:
        await gateway.until_log("(N0APD-5) logged in, verified, software Python-APRSD 4.2.4", timeout=60)
        sender, _ = await IGateClient.logged_in(gateway.igate_port, "N0SND")  # aprsd never beaconed
        sender.send("N0SND>APRS,TCPIP*::N0APD-5  :ping{7")
        ack = await sender.read_packet(timeout=30)
        pong = await sender.read_packet(timeout=30)
        assert ack == b"N0APD-5>APZ100,TCPIP*,qAC,APRSGW::N0SND    :ack7"
        assert pong.startswith(b"N0APD-5>APZ100,TCPIP*,qAC,APRSGW::N0SND    :Pong! ")
        msgno = pong.rsplit(b"{", 1)[1].decode()
        sender.send(f"N0SND>APRS,TCPIP*::N0APD-5  :ack{msgno}")
        for _ in range(100):
            lines = aprsd_packet_lines(log)
            if any("RX" in line and f"AckPacket:{msgno}" in line for line in lines):
                break
            await asyncio.sleep(0.2)
        print("\n".join(lines))
        assert any("RX" in line and "MessagePacket:7 N0SND" in line and ": ping" in line for line in lines)
        assert any("TX" in line and "AckPacket:7" in line for line in lines)
        assert any("TX" in line and f"MessagePacket:{msgno}" in line and "Pong!" in line for line in lines)
        assert any("RX" in line and f"AckPacket:{msgno}" in line for line in lines)  # our ack reached aprsd
