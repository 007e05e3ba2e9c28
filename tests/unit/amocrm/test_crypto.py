"""Tokens at rest: Fernet with rotation; no key material in errors."""
import pytest
from cryptography.fernet import Fernet

from service.config import Settings
from service.crypto import Cipher, CipherError, derived_key, fernet_keys

PAIR = {"access_token": "acc-secret", "refresh_token": "ref-secret", "expires_at": 1}


def test_sealed_document_opens_and_hides_the_secret():
    cipher = Cipher([Fernet.generate_key()])
    sealed = cipher.seal(PAIR)
    assert b"acc-secret" not in sealed and cipher.open(sealed) == PAIR


def test_rotation_new_key_encrypts_old_key_still_decrypts():
    old, new = Fernet.generate_key(), Fernet.generate_key()
    sealed_with_old = Cipher([old]).seal(PAIR)
    rotated = Cipher([new, old])
    assert rotated.open(sealed_with_old) == PAIR
    resealed = rotated.rotate(sealed_with_old)
    assert Cipher([new]).open(resealed) == PAIR
    with pytest.raises(CipherError):
        Cipher([old]).open(rotated.seal(PAIR))


def test_settings_keys_are_comma_separated_first_encrypts():
    a, b = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings = Settings(token_encryption_keys=f" {a} , {b} ")
    assert fernet_keys(settings) == [a.encode(), b.encode()]
    assert Cipher([a.encode()]).open(Cipher.from_settings(settings).seal(PAIR)) == PAIR


def test_development_key_is_derived_from_secret_key_deterministically():
    assert fernet_keys(Settings()) == [derived_key(Settings().secret_key)]
    assert derived_key("x" * 40) == derived_key("x" * 40) != derived_key("y" * 40)


def test_bad_key_is_reported_without_echoing_it():
    with pytest.raises(CipherError) as info:
        Cipher([b"not-a-key-but-a-secret"])
    assert "not-a-key-but-a-secret" not in str(info.value)


def test_production_requires_encryption_keys_and_no_api_base():
    from service.config import ConfigError
    env = {"DEAL_PULSE_ENV": "production", "SECRET_KEY": "s" * 40, "AMOCRM_CLIENT_ID": "c",
           "AMOCRM_CLIENT_SECRET": "x" * 40, "PUBLIC_URL": "https://dp.example", "REDIS_URL": "redis://r",
           "METRICS_TOKEN": "m" * 32}  # issue 8: required in production
    with pytest.raises(ConfigError, match="TOKEN_ENCRYPTION_KEYS"):
        Settings.from_env(env)
    with pytest.raises(ConfigError, match="AMOCRM_API_BASE"):
        Settings.from_env({**env, "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                           "AMOCRM_API_BASE": "http://127.0.0.1:8100"})
    ok = Settings.from_env({**env, "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode()})
    assert ok.redirect_uri == "https://dp.example/oauth/callback"
