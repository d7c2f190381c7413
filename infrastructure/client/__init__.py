"""The client runtime for services: ``connect()`` returns a :class:`ConfigClient`.

from infrastructure.client import connect
from domain.areas import RouterConfig

with connect("production") as config:
    router = config.manager(RouterConfig)
    print(router.current.max_retries)
"""

from infrastructure.client.client import AreaManager, ClientStatus, ConfigClient
from infrastructure.client.connect import connect
from infrastructure.client.lkg import CorruptCopyError
from projections.live import LiveChange

__all__ = [
    "AreaManager",
    "ClientStatus",
    "ConfigClient",
    "CorruptCopyError",
    "LiveChange",
    "connect",
]
