"""What a measured run collected, and its percentiles."""

import math
from dataclasses import dataclass


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (``q`` in 0..1)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


class Latencies:
    """The median and p99, in milliseconds, of ``latencies`` (seconds)."""

    __slots__ = ()
    latencies: list[float]

    @property
    def p50_ms(self) -> float:
        return percentile(sorted(self.latencies), 0.50) * 1000

    @property
    def p99_ms(self) -> float:
        return percentile(sorted(self.latencies), 0.99) * 1000


@dataclass(frozen=True, slots=True)
class Run(Latencies):
    """Latencies (seconds) of the operations of one run, its wall time and the CPU time the
    load generator itself spent; runs of the same operation add up (interleaved rounds)."""

    latencies: list[float]
    elapsed: float
    client_cpu_seconds: float
    server_cpu_seconds: float = math.nan  # when the run measured it (see Server.cpu_seconds)

    def __add__(self, other: "Run") -> "Run":
        return Run(
            self.latencies + other.latencies,
            self.elapsed + other.elapsed,
            self.client_cpu_seconds + other.client_cpu_seconds,
            self.server_cpu_seconds + other.server_cpu_seconds,
        )

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        return self.count / self.elapsed if self.elapsed else math.nan

    @property
    def client_cpu(self) -> float:
        """Share of one core the load generator used: near 1.0, it, not the server, limited."""
        return self.client_cpu_seconds / self.elapsed if self.elapsed else math.nan

    @property
    def server_cpu_ms(self) -> float:
        """CPU time of the server process (every thread) per operation: unlike throughput,
        hardly changed by other processes competing for the machine."""
        return self.server_cpu_seconds / self.count * 1000 if self.count else math.nan

    def as_json(self) -> dict[str, float | None]:
        figures = {
            "count": self.count,
            "seconds": round(self.elapsed, 3),
            "per_second": round(self.throughput, 1),
            "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "client_cpu": round(self.client_cpu, 2),
            "server_cpu_ms": round(self.server_cpu_ms, 2),
        }
        return {key: None if math.isnan(value) else value for key, value in figures.items()}
