"""Several Rasa servers and action servers on one machine, each group behind a local balancer.

What a partnership runs when one process is not enough: the Rasa servers share the SQL tracker store
and need the Redis lock store (bot/endpoints.production.yml), so any of them can take any turn of
any conversation. Clients and the Rasa servers see one address each: `settings.rasa_port` is the
Rasa balancer's, `settings.action_server_port` the action balancer's. Used by `make soak`, the
benchmark and the scale-out tests; in production a real proxy does the balancing (docs/deploy.md).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from typing import List

from sga.settings import VAR_DIR
from sga_tools.runner import Stack, action_server_command, free_port, rasa_command, wait_for


def balancer_command(host: str, port: str, upstreams: List[str]) -> List[str]:
    args = [sys.executable, "-m", "sga_tools.balancer", "--host", host, "--port", port]
    for upstream in upstreams:
        args += ["--upstream", upstream]
    return args


@dataclass
class Cluster(Stack):
    """`rasa_servers` Rasa servers and `action_servers` action servers, each group behind a balancer."""

    rasa_servers: int = 2
    action_servers: int = 2
    rasa_upstreams: List[str] = field(default_factory=list)
    action_upstreams: List[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.settings.rasa_endpoints == "bot/endpoints.yml" and self.rasa_servers > 1:
            raise ValueError(
                "several Rasa servers need the Redis lock store and a shared tracker store: "
                "use RASA_ENDPOINTS=bot/endpoints.production.yml"
            )

    def start(self, timeout: float = 240) -> "Cluster":
        from sga.outcomes.migrate import upgrade

        VAR_DIR.mkdir(exist_ok=True)
        upgrade(self.settings.database_url)
        s = self.settings
        host = s.action_server_host
        waits = []
        for i in range(self.action_servers):
            own = replace(s, action_server_port=free_port())
            process = self._spawn(action_server_command(), f"actions-{i + 1}", settings=own)
            self.action_upstreams.append(f"http://{host}:{own.action_server_port}")
            waits.append((f"{self.action_upstreams[-1]}/health", 60.0, process, f"actions-{i + 1}"))
        for i in range(self.rasa_servers):
            own = replace(s, rasa_port=free_port())
            # Rasa sees the balancer as the peer: the client's address comes in X-Forwarded-For.
            process = self._spawn(
                rasa_command(own, self.model), f"rasa-{i + 1}", settings=own, env={"SANIC_PROXIES_COUNT": "1"}
            )
            self.rasa_upstreams.append(f"http://{s.rasa_host}:{own.rasa_port}")
            waits.append(
                (f"{self.rasa_upstreams[-1]}/status?token={s.rasa_auth_token}", timeout, process, f"rasa-{i + 1}")
            )
        balancers = [
            (
                self._spawn(balancer_command(host, s.action_server_port, self.action_upstreams), "balancer-actions"),
                "balancer-actions",
            ),
            (
                self._spawn(balancer_command(s.rasa_host, s.rasa_port, self.rasa_upstreams), "balancer-rasa"),
                "balancer-rasa",
            ),
        ]
        try:
            for url, limit, process, name in waits:
                wait_for(url, limit, process, self._log(name))
            wait_for(f"{self.action_url}/health", 30, balancers[0][0], self._log(balancers[0][1]))
            wait_for(
                f"{self.rasa_url}/status?token={s.rasa_auth_token}", 30, balancers[1][0], self._log(balancers[1][1])
            )
        except Exception:
            self.stop()
            raise
        return self
