"""``call_times`` of ``benchmarks/_common.py``: the host-time breakdown of
``benchmarks/cbn_speed.py --breakdown``."""
import time
import types

import pytest

from _helpers.runs import load_script

call_times = load_script('benchmarks/_common.py').call_times


class _Owner:

    @staticmethod
    def nap(seconds):
        time.sleep(seconds)
        return 'static'

    def method(self, seconds):
        time.sleep(seconds)
        return self


def _nap_then_fail(seconds):
    time.sleep(seconds)
    raise ValueError('failed after the nap')


def test_call_times_adds_up_and_restores():
    module = types.SimpleNamespace(func=lambda s: time.sleep(s) or 'func',
                                   failing=_nap_then_fail)
    owner = _Owner()
    originals = (_Owner.__dict__['nap'], _Owner.__dict__['method'],
                 module.func)
    with call_times({'static': (_Owner, 'nap'),
                     'method': (_Owner, 'method'),
                     'function': (module, 'func'),
                     'failing': (module, 'failing')}) as totals:
        assert _Owner.nap(0.02) == 'static'
        assert owner.nap(0.01) == 'static'  # through an instance too
        assert owner.method(0.03) is owner
        assert module.func(0.01) == 'func'
        assert module.func(0.01) == 'func'
        with pytest.raises(ValueError):  # a failing call still counts
            module.failing(0.02)
    assert totals['static'] == pytest.approx(0.03, abs=0.02)
    assert totals['method'] == pytest.approx(0.03, abs=0.02)
    assert totals['function'] == pytest.approx(0.02, abs=0.02)
    assert totals['static'] >= 0.03 and totals['function'] >= 0.02
    assert totals['failing'] >= 0.02
    assert (_Owner.__dict__['nap'], _Owner.__dict__['method'],
            module.func) == originals
    assert module.failing is _nap_then_fail
    assert isinstance(_Owner.__dict__['nap'], staticmethod)
