import pytest

from tests.factories.customers import build_customer_objects


@pytest.fixture
def cust(world):
    """One of each customers-app object in tenant A (and in B, under `world.b.cust`)."""
    world.a.cust = build_customer_objects(world.a, phone_prefix="1370000")
    world.b.cust = build_customer_objects(world.b, label="乙", phone_prefix="1390000")
    return world.a.cust
