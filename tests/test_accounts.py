"""Accounts: password rules, login throttling on both login pages, usernames without tricks."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_registration_refuses_a_weak_password_and_an_invisible_username():
    client = Client()
    weak = client.post("/accounts/register/", {"username": "ann", "password1": "a", "password2": "a"})
    assert weak.status_code == 200 and "too short" in weak.content.decode()
    assert not User.objects.filter(username="ann").exists()
    ok = client.post(
        "/accounts/register/", {"username": "ann", "password1": "Qk8#tr-vu2pz", "password2": "Qk8#tr-vu2pz"}
    )
    assert ok.status_code == 302 and User.objects.filter(username="ann").exists()


@pytest.mark.parametrize("login_page", ["/accounts/login/", "/admin/login/"])
def test_wrong_passwords_lock_the_account_for_a_while_with_a_clear_message(login_page, settings):
    settings.LOGIN_FAILURE_LIMIT = 5
    User.objects.create_user("mod", password="mod-secret-1", is_staff=True)
    client = Client()
    for _ in range(5):
        assert client.post(login_page, {"username": "mod", "password": "wrong"}).status_code == 200
    refused = client.post(login_page, {"username": "mod", "password": "mod-secret-1"})
    assert refused.status_code == 200 and "Too many failed logins" in refused.content.decode()
    # another address is refused too: the account itself is locked
    other = Client(REMOTE_ADDR="192.0.2.7").post(login_page, {"username": "mod", "password": "mod-secret-1"})
    assert "Too many failed logins" in other.content.decode()
    cache.clear()  # the window passed
    assert client.post(login_page, {"username": "mod", "password": "mod-secret-1"}).status_code == 302


def test_one_address_guessing_many_accounts_is_locked_out(settings):
    settings.LOGIN_FAILURE_LIMIT = 5
    User.objects.create_user("bob", password="bob-secret-1")
    client = Client(REMOTE_ADDR="198.51.100.4")
    for name in ("a1", "a2", "a3", "a4", "a5"):
        client.post("/accounts/login/", {"username": name, "password": "x"})
    refused = client.post("/accounts/login/", {"username": "bob", "password": "bob-secret-1"})
    assert "Too many failed logins" in refused.content.decode()
    assert Client().post("/accounts/login/", {"username": "bob", "password": "bob-secret-1"}).status_code == 302


class CountingBackend:
    """Counts password checks; every one fails, slowly, as a real hash does."""

    checked = 0
    lock = threading.Lock()

    def authenticate(self, request, username=None, password=None, **kwargs):
        with self.lock:
            CountingBackend.checked += 1
        time.sleep(0.05)
        return None

    def get_user(self, user_id):
        return None


@pytest.mark.parametrize("login_page", ["/accounts/login/", "/admin/login/"])
def test_fifty_wrong_passwords_at_once_get_at_most_the_limit_checked(login_page, settings):
    """The count is taken before the check, atomically: a read-then-write counter let all 50 through."""
    settings.LOGIN_FAILURE_LIMIT = 5
    settings.AUTHENTICATION_BACKENDS = ["tests.test_accounts.CountingBackend"]
    CountingBackend.checked = 0
    start = threading.Barrier(50)

    def guess(n):
        client = Client(REMOTE_ADDR=f"192.0.2.{n}")  # 50 addresses: only the account's count holds them
        start.wait()
        return client.post(login_page, {"username": "mod", "password": f"guess-{n}"}).content.decode()

    with ThreadPoolExecutor(50) as pool:
        pages = list(pool.map(guess, range(50)))
    assert CountingBackend.checked == 5
    assert sum("Too many failed logins" in page for page in pages) == 45
