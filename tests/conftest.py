"""``--runslow``: tests marked ``slow`` (long quality checks) run only when asked.

Every estimator keeps tests in the default run; the slow ones repeat what a
default-run test already shows at a larger size or for a second setting.
"""

import pytest


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False,
                     help="also run the tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def two_threads():
    """Torch at two intra-op threads for one test (other test modules set one), restored after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)
