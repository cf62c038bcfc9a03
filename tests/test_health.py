"""GET /healthz: 200 when the database and Redis answer, 503 naming what is down."""

import socket

import pytest

from models.database import make_engine, make_session_factory
from sms.runtime import Runtime, redis_client
from ussd_app import create_app


def closed_port() -> int:
    """A local port nothing listens on (bound once by us, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def broken(runtime):
    """Build an app over a Runtime made by hand, with one service pointed at a closed port."""
    made = []

    def build(*, database: bool = True, redis: bool = True):
        engine = (
            runtime.engine if database else make_engine(f"postgresql://postgres@127.0.0.1:{closed_port()}/x")
        )
        rt = Runtime(
            config=runtime.config,
            engine=engine,
            sessions=make_session_factory(engine),
            redis=runtime.redis if redis else redis_client(f"redis://127.0.0.1:{closed_port()}/0"),
            clock=runtime.clock,
            send_trigger=runtime.send_trigger,
        )
        made.append((rt, database, redis))
        return create_app(runtime=rt).test_client()

    yield build
    for rt, database, redis in made:
        if not database:
            rt.engine.dispose()
        if not redis:
            rt.redis.close()


def test_healthy_services_answer_200(client):
    """Both reachable: 200 and nothing down."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["down"] == []
    assert response.get_json()["checks"] == {"database": "ok", "redis": "ok"}


def test_an_unreachable_database_answers_503_naming_it(broken):
    """The app starts with the database down and /healthz names it."""
    response = broken(database=False).get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["down"] == ["database"]
    assert body["checks"]["redis"] == "ok"


def test_an_unreachable_redis_answers_503_naming_it(broken):
    """The app starts with Redis down and /healthz names it."""
    response = broken(redis=False).get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["down"] == ["redis"]
    assert body["checks"]["database"] == "ok"


def test_both_down_are_both_named(broken):
    """Nothing reachable: both named."""
    response = broken(database=False, redis=False).get("/healthz")
    assert response.status_code == 503
    assert sorted(response.get_json()["down"]) == ["database", "redis"]


def test_the_front_page_names_the_service_its_health_and_where_to_go(client):
    """GET / is a small page, not a 404: the service, its health, the coordinator web and the simulator."""
    response = client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<h1>Mbolo</h1>" in page
    assert "Status: ok (database ok, Redis ok" in page
    assert 'href="/admin/"' in page and 'href="/simulator/"' in page and 'href="/healthz"' in page


def test_the_front_page_says_what_is_down(broken):
    """With Redis down the page still answers, and says so."""
    page = broken(redis=False).get("/").get_data(as_text=True)
    assert "Status: degraded (database ok, Redis down: ConnectionError" in page
