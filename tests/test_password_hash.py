"""The test suite hashes its users' passwords cheaply (tests/conftest.py); production never does."""

import os
import subprocess
import sys

import argon2

from server.accounts import accounts
from tests.live import REPO

PRODUCTION = "from server.accounts import accounts; h = accounts._hasher; print(h.type.name, h.time_cost, h.memory_cost, h.parallelism, h.hash_len, h.salt_len); print(h.hash('a password long enough'))"


def test_without_the_test_switch_passwords_get_argon2id_at_the_librarys_recommended_cost():
    env = {k: v for k, v in os.environ.items() if k != "TOUCHPOINT_TESTS_CHEAP_PASSWORD_HASH"}
    done = subprocess.run([sys.executable, "-c", PRODUCTION], env=env, cwd=REPO, capture_output=True, text=True, check=True)
    parameters, made = done.stdout.splitlines()
    # RFC 9106's second recommended option, argon2-cffi's default: 3 passes over 64 MiB, 4 lanes
    assert parameters == "ID 3 65536 4 32 16"
    assert made.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_any_other_value_of_the_switch_keeps_the_production_cost():
    env = {**os.environ, "TOUCHPOINT_TESTS_CHEAP_PASSWORD_HASH": "yes"}
    done = subprocess.run([sys.executable, "-c", PRODUCTION], env=env, cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[0] == "ID 3 65536 4 32 16"


def test_under_the_tests_the_hash_is_cheap_and_a_production_hash_still_verifies():
    assert os.environ["TOUCHPOINT_TESTS_CHEAP_PASSWORD_HASH"] == "1"
    assert accounts._hasher.hash("a password long enough").startswith("$argon2id$v=19$m=8,t=1,p=1$")
    production = argon2.PasswordHasher().hash("a password long enough")
    assert accounts._hasher.verify(production, "a password long enough")
