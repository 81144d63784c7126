"""The Dramatiq broker: Redis from REDIS_URL. Every actor module imports this first."""

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import CurrentMessage

from imagegen.settings import get_settings

broker = RedisBroker(url=get_settings().redis_url, namespace="imagegen")
broker.add_middleware(CurrentMessage())
dramatiq.set_broker(broker)
