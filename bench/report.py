"""The one table: each figure, its baseline from the same run, the ratio, and the target."""

import math
from dataclasses import dataclass, replace

from bench.read_path import ReadResult
from bench.scale import CEILINGS_MS, IMPORT_WALL_TARGET_S, RATIO_TARGET, ScaleResult
from bench.sign_in import SignInResult
from bench.stats import Run
from bench.subscriptions import Delivery
from bench.write_path import WriteResult


@dataclass(frozen=True, slots=True)
class Target:
    limit: float
    at_most: bool

    def met(self, ratio: float) -> bool:
        return ratio <= self.limit if self.at_most else ratio >= self.limit

    def __str__(self) -> str:
        return f"{'<=' if self.at_most else '>='} {self.limit:g}"


@dataclass(frozen=True, slots=True)
class Row:
    figure: str
    value: float
    baseline: float | None = None
    baseline_name: str = ""
    target: Target | None = None
    part: str = ""  # the part of the suite that measures it (`python -m bench --only`)

    @property
    def ratio(self) -> float | None:
        return self.value / self.baseline if self.baseline else None

    @property
    def verdict(self) -> str:
        if self.target is None or self.ratio is None:
            return ""
        return "met" if self.target.met(self.ratio) else "MISSED"

    def as_json(self) -> dict[str, object]:
        ratio = self.ratio
        return {
            "figure": self.figure,
            "value": round(self.value, 2),
            "baseline": round(self.baseline, 2) if self.baseline is not None else None,
            "baseline_is": self.baseline_name or None,
            "ratio": round(ratio, 3) if ratio is not None and math.isfinite(ratio) else None,
            "target": str(self.target) if self.target else None,
            "verdict": self.verdict or None,
            "part": self.part or None,
        }


AT_LEAST_0_7 = Target(0.7, at_most=False)
AT_MOST_1_5 = Target(1.5, at_most=True)
AT_MOST_2 = Target(2.0, at_most=True)


def _against_floor(
    name: str,
    run: Run,
    floor: Run,
    throughput_target: Target | None = None,
    p99_target: Target | None = None,
) -> list[Row]:
    """Throughput and latencies of ``run`` against the floor's: on another machine the
    absolute numbers change, these ratios much less."""
    return [
        Row(f"{name}: req/s", run.throughput, floor.throughput, "floor req/s", throughput_target),
        Row(f"{name}: p50 ms", run.p50_ms, floor.p50_ms, "floor p50"),
        Row(f"{name}: p99 ms", run.p99_ms, floor.p99_ms, "floor p99", p99_target),
        Row(f"{name}: server CPU ms/req", run.server_cpu_ms, floor.server_cpu_ms, "floor CPU"),
    ]


def _during_logins(name: str, idle: Run, during: Run, target: Target | None) -> list[Row]:
    return [
        Row(f"{name} during logins: p50 ms", during.p50_ms, idle.p50_ms, "idle p50"),
        Row(f"{name} during logins: p99 ms", during.p99_ms, idle.p99_ms, "idle p99", target),
    ]


SUBSCRIPTIONS = "subscriptions"


# Issue 20: the p99 to this many subscribers against the p99 to one.
P99_TARGETS = {1000: Target(3.0, at_most=True), 5000: Target(10.0, at_most=True)}


def subscription_rows(
    deliveries: list[Delivery], *, idle_rss_mib: float, idle_cpu_ms_per_s: float
) -> list[Row]:
    """Delivery latencies and the server's CPU per event per subscriber, more subscribers
    against the fewest; the memory and the CPU per second the most subscribers hold while
    quiet, against the idle server's."""
    first, most = deliveries[0], deliveries[-1]
    table = []
    for delivery in deliveries:
        label = f"event to {delivery.subscribers} subscribers"
        label += f" ({len(delivery.latencies)}/{delivery.expected}"
        label += f", {delivery.closes} closed)" if delivery.closes else ")"
        against = delivery is not first
        name = f"{first.subscribers} subscriber" if against else ""
        table += [
            Row(
                f"{label}: p50 ms",
                delivery.p50_ms,
                first.p50_ms if against else None,
                f"{name} p50" if against else "",
            ),
            Row(
                f"{label}: p99 ms",
                delivery.p99_ms,
                first.p99_ms if against else None,
                f"{name} p99" if against else "",
                P99_TARGETS.get(delivery.subscribers) if against else None,
            ),
            Row(
                f"event to {delivery.subscribers} subscribers: server CPU ms/event",
                delivery.cpu_ms_per_event,
            ),
        ]
        if against:  # the cost of an event that grows with its subscribers
            added = delivery.cpu_ms_per_event - first.cpu_ms_per_event
            per_subscriber = added / (delivery.subscribers - first.subscribers) * 1000
            table.append(
                Row(
                    f"event to {delivery.subscribers} subscribers: server CPU us per subscriber",
                    per_subscriber,
                )
            )
    table += [
        Row(
            f"server RSS MiB, {most.subscribers} subscriptions open",
            most.server_rss_mib,
            idle_rss_mib,
            "RSS idle",
        ),
        Row(
            f"server CPU ms/s, {most.subscribers} idle subscriptions",
            most.idle_cpu_ms_per_s,
            idle_cpu_ms_per_s,
            "CPU idle",
        ),
    ]
    return [replace(row, part=SUBSCRIPTIONS) for row in table]


def rows(
    *,
    live: list[Row],
    read: ReadResult,
    read_apart: ReadResult,
    write: WriteResult,
    signin: SignInResult,
) -> list[Row]:
    """The whole table; ``live`` are the subscription rows (`subscription_rows`),
    ``read_apart`` the read path with the database in a process of its own."""
    floor = read.floor
    return [
        *_against_floor("read me /graphql", read.kabinet, floor, AT_LEAST_0_7, AT_MOST_1_5),
        Row("read me floor: req/s", floor.throughput),
        Row(
            "read me, database apart: server CPU ms/req",
            read_apart.kabinet.server_cpu_ms,
            read_apart.floor.server_cpu_ms,
            "floor CPU",
            AT_MOST_1_5,
        ),
        *_against_floor("createRequest CALLBACK", write.create, floor),
        *_against_floor("changeRequestStatus", write.change, floor),
        *_against_floor("login", signin.logins, floor),
        *_during_logins("me /graphql", signin.idle.me, signin.during_logins.me, AT_MOST_2),
        *_during_logins("floor (control)", signin.idle.floor, signin.during_logins.floor, None),
        *live,
    ]


def table(rows_: list[Row]) -> str:
    width = max(len(row.figure) for row in rows_)
    head = f"{'figure':<{width}} {'kabinet':>9} {'baseline':>9} {'ratio':>6}  {'target':<12} baseline is"
    lines = [head]
    for row in rows_:
        baseline = f"{row.baseline:9.1f}" if row.baseline is not None else " " * 9
        ratio = f"{row.ratio:6.2f}" if row.ratio is not None else " " * 6
        target = f"{row.target} {row.verdict}" if row.target else ""
        line = f"{row.figure:<{width}} {row.value:9.1f} {baseline} {ratio}  {target:<12} "
        lines.append((line + row.baseline_name).rstrip())
    return "\n".join(lines)


SCALE = "scale"


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def scale_table(result: ScaleResult) -> str:
    """Server CPU per operation at both sizes, the ratio and issue 14's targets: the ratio
    for every operation, the large size's CPU for some, the large size's wall time for the
    import."""
    sizes = result.sizes
    small, large = f"{sizes.small} members", f"{sizes.large} members"
    rows = result.operations()
    width = max(len(name) for name, _, _ in rows)
    lines = [
        f"{'server CPU ms per operation':<{width}} {small:>14} {large:>14} {'ratio':>6}  target",
    ]
    for name, small_ms, large_ms in rows:
        ratio = large_ms / small_ms
        if math.isnan(ratio):
            lines.append(f"{name:<{width}} {small_ms:14.1f} {large_ms:14.1f} {'':6}  FAILED")
            continue
        targets = [f"ratio <= {RATIO_TARGET:g} {_verdict(ratio <= RATIO_TARGET)}"]
        if (ceiling := CEILINGS_MS.get(name)) is not None:
            targets.append(f"<= {ceiling:g} ms {_verdict(large_ms <= ceiling)}")
        lines.append(
            f"{name:<{width}} {small_ms:14.1f} {large_ms:14.1f} {ratio:6.2f}  {'; '.join(targets)}"
        )
    wall = result.large.imported.wall_seconds
    lines.append(
        f"import wall time: {result.small.imported.wall_seconds:.1f} s at {small}, "
        f"{wall:.1f} s at {large} (target <= {IMPORT_WALL_TARGET_S:g} s "
        f"{_verdict(wall <= IMPORT_WALL_TARGET_S)})"
    )
    for members, measured in ((small, result.small), (large, result.large)):
        lines += [
            f"FAILED at {members}: {name}: {error}" for name, error in measured.failures.items()
        ]
    return "\n".join(lines)
