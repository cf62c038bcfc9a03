"""The local Africa's Talking–compatible server, started once per run on a free port.

Registered in tests/conftest.py (`pytest_plugins`). Outbound SMS in tests go to this server over
real HTTP; `sms_gateway` resets it around each test and drives its faults.
"""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
from werkzeug.serving import make_server

from sms.gateways.africastalking import AfricasTalkingGateway
from sms.local_gateway import DEFAULT_API_KEY, LocalGateway, LocalGatewayClient

SENDER_ID = "MBOLO"
# Short read timeout so that the server's `timeout` fault (longer than this) is felt quickly.
TEST_TIMEOUT = (2.0, 0.5)


@pytest.fixture(scope="session")
def local_gateway():
    """The server, in a thread of the test process."""
    server = LocalGateway(port=0).start()
    yield server
    server.stop()


@pytest.fixture
def sms_gateway(local_gateway):
    """Control client of the local server, reset before and after the test."""
    client = LocalGatewayClient(local_gateway.url)
    client.reset()
    yield client
    client.reset()


@pytest.fixture
def at_config(config, local_gateway):
    """The test configuration with Africa's Talking pointed at the local server."""
    return replace(
        config,
        SMS_GATEWAY="africastalking",
        AT_USERNAME="mbolo",
        AT_API_KEY=DEFAULT_API_KEY,
        AT_SENDER_ID=SENDER_ID,
        AT_API_URL=local_gateway.url,
    )


@pytest.fixture
def at_gateway(at_config):
    """The Africa's Talking adapter talking to the local server."""
    gateway = AfricasTalkingGateway.from_config(at_config)
    gateway.timeout = TEST_TIMEOUT
    yield gateway
    gateway.close()


@pytest.fixture
def sender(runtime, at_config, at_gateway, sms_gateway):
    """An outbox sender over the local server, rate limit off, with the test's runtime and clock."""
    from sms.sender import Sender

    runtime.config = at_config
    s = Sender(runtime, at_gateway, rate=None, threads=4)
    yield s
    s.close()


@pytest.fixture
def live_app(app):
    """The app served over real HTTP on a free port (for delivery reports posted by the server)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


# --- Orange's SMS API ------------------------------------------------------------------------

ORANGE_SENDER = "tel:+2210000"
ORANGE_NAME = "MBOLO"


@pytest.fixture(scope="session")
def local_orange():
    """The local Orange-compatible server, in a thread of the test process."""
    from sms.local_orange import LocalOrange

    server = LocalOrange(port=0).start()
    yield server
    server.stop()


@pytest.fixture
def orange_api(local_orange):
    """Control client of the local Orange server, reset before and after the test."""
    from sms.local_orange import LocalOrangeClient

    client = LocalOrangeClient(local_orange.url)
    client.reset()
    yield client
    client.reset()


@pytest.fixture
def orange_config(config, local_orange):
    """The test configuration with Orange's SMS API pointed at the local server."""
    from sms.local_orange import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    return replace(
        config,
        SMS_GATEWAY="orange",
        ORANGE_CLIENT_ID=DEFAULT_CLIENT_ID,
        ORANGE_CLIENT_SECRET=DEFAULT_CLIENT_SECRET,
        ORANGE_SENDER_ADDRESS=ORANGE_SENDER,
        ORANGE_SENDER_NAME=ORANGE_NAME,
        ORANGE_API_URL=local_orange.url,
    )


@pytest.fixture
def orange_gateway(runtime, orange_config):
    """The Orange adapter talking to the local server, its token shared through the test's Redis."""
    from sms.gateways.orange import OrangeGateway

    gateway = OrangeGateway.from_config(orange_config, runtime.redis)
    gateway.timeout = TEST_TIMEOUT
    gateway.token.timeout = TEST_TIMEOUT
    yield gateway
    gateway.close()


@pytest.fixture
def orange_sender(runtime, orange_config, orange_gateway, orange_api):
    """An outbox sender over the local Orange server, rate limit off."""
    from sms.sender import Sender

    runtime.config = orange_config
    s = Sender(runtime, orange_gateway, rate=None, threads=4)
    yield s
    s.close()
