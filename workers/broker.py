"""The Dramatiq broker: Redis from REDIS_URL. Every actor module imports this first."""

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import CurrentMessage

from imagegen import logs
from imagegen.settings import get_settings


class LogContext(dramatiq.Middleware):
    """JSON logs in worker processes; each message's log lines carry its job id (the message
    id) and the id of the HTTP request that queued it, when there was one.
    """

    actor_options = {"request_id"}

    def after_process_boot(self, _broker: dramatiq.Broker) -> None:
        """Replace the CLI's text logging in each worker process."""
        logs.configure()

    def before_process_message(self, _broker: dramatiq.Broker, message: MessageProxy) -> None:
        """Bind the ids to this worker thread for the message's duration."""
        logs.job_id.set(message.message_id)
        logs.request_id.set(message.options.get("request_id"))

    def after_process_message(
        self,
        broker: dramatiq.Broker,  # noqa: ARG002
        message: MessageProxy,  # noqa: ARG002
        **_outcome: object,
    ) -> None:
        """Unbind them."""
        logs.job_id.set(None)
        logs.request_id.set(None)

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        """Unbind them (a skipped message is not processed)."""
        self.after_process_message(broker, message)


settings = get_settings()
# Redis acks a message only after it succeeded or failed for good: the messages of a worker
# killed mid-job are requeued once its heartbeat is older than the timeout.
broker = RedisBroker(
    url=settings.redis_url,
    namespace="imagegen",
    heartbeat_timeout=round(settings.worker_heartbeat_timeout_seconds * 1000),
    maintenance_chance=settings.broker_maintenance_per_million,
)
broker.add_middleware(CurrentMessage())
broker.add_middleware(LogContext())
dramatiq.set_broker(broker)
