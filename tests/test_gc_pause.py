"""The cycle collector is paused for bulk work and always comes back."""

from __future__ import annotations

import gc

import pytest

from ldb_clone.gc_pause import cycle_collector_paused


def test_the_collector_is_paused_in_the_block_and_enabled_after():
    assert gc.isenabled()
    with cycle_collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_collector_comes_back_after_an_error():
    with pytest.raises(RuntimeError), cycle_collector_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_disabled_by_the_caller_stays_disabled():
    gc.disable()
    try:
        with cycle_collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
