"""Client tests: amoCRM mocked at the wire, the real Redis for tokens, locks and the rate limit."""
import pytest

from service.amocrm.oauth import TokenPair
from service.amocrm.tokens import TokenKeeper
from service.config import Settings
from tests.conftest import ACCOUNT

BASE = ACCOUNT.base_url


@pytest.fixture
def settings(redis_url):
    """Development settings with a rate limit high enough that tests never wait on it."""
    return Settings(redis_url=redis_url, amocrm_rps=1000, amocrm_global_rps=5000)


@pytest.fixture
def keeper(deps):
    from service.amocrm.client import http_session
    return TokenKeeper(deps.store, deps.settings, http_session(), deps.clock)


@pytest.fixture
def installed(deps, keeper, account):
    """The account with a valid stored token pair."""
    keeper.save(account.id, TokenPair("access-1", "refresh-1", int(deps.clock()) + 3600))
    return account
