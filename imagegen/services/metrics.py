"""Prometheus metrics read at scrape time from PostgreSQL and Redis, so every web process
reports the same numbers whatever process did the work (workers, webhooks, other replicas).
"""

from collections.abc import Iterator
from typing import cast

import redis
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import Engine, text

LATENCY_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)
QUEUE = "imagegen:generation"


class ImagegenCollector(Collector):
    """Queue depth, images by status, generation latency, webhook outcomes."""

    def __init__(self, engine: Engine, client: redis.Redis) -> None:
        """Read from this database and Redis."""
        self.engine, self.client = engine, client

    def collect(self) -> Iterator[Metric]:
        """One scrape."""
        depth = GaugeMetricFamily(
            "imagegen_queue_depth", "Generation messages waiting", labels=["queue"]
        )
        # redis-py types its commands as `Awaitable | Any` (one signature for sync and async clients)
        depth.add_metric(["ready"], float(cast(int, self.client.llen(QUEUE))))
        depth.add_metric(["delayed"], float(cast(int, self.client.zcard(f"{QUEUE}.DQ"))))
        yield depth

        with self.engine.connect() as conn:
            by_status = conn.execute(
                text("SELECT status, count(*) FROM image GROUP BY status")
            ).all()
            latencies = [
                float(row[0])
                for row in conn.execute(
                    text(
                        "SELECT extract(epoch FROM completed_at - created_at) FROM image "
                        "WHERE completed_at > now() - interval '1 hour' ORDER BY completed_at DESC LIMIT 5000"
                    )
                )
            ]
            webhooks = conn.execute(
                text("SELECT outcome, count(*) FROM webhook_event GROUP BY outcome")
            ).all()

        images = CounterMetricFamily(
            "imagegen_images", "Images by current status (jobs by outcome)", labels=["status"]
        )
        for status, count in by_status:
            images.add_metric([status], float(count))
        yield images

        buckets = [
            (str(bound), float(sum(1 for v in latencies if v <= bound)))
            for bound in LATENCY_BUCKETS
        ]
        buckets.append(("+Inf", float(len(latencies))))
        yield HistogramMetricFamily(
            "imagegen_generation_seconds",
            "Submit-to-completed time of images completed in the last hour",
            buckets=buckets,
            sum_value=sum(latencies),
        )

        hooks = CounterMetricFamily(
            "imagegen_webhooks", "Webhook deliveries by outcome", labels=["outcome"]
        )
        for outcome, count in webhooks:
            hooks.add_metric([outcome], float(count))
        yield hooks
