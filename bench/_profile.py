"""Sampling profiles for the benchmarks: py-spy attached to one child process for part of a run, and
the profile's top entries (self and cumulative) as Markdown tables.

py-spy samples from outside the process (``--nonblocking``: the target is never paused), so the code
under test runs unchanged; idle stacks (a thread waiting in the event loop's ``select``) are left out,
so the shares are shares of the CPU the process spent. Not a benchmark itself.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

# "func (path/to/file.py)" as py-spy writes a frame with --nolineno; the path is shortened to the package.
_FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^()]*)\)$")
_IDLE = (
    "select (selectors.py)",
    "_run_once (asyncio/base_events.py)",
    "run_forever (asyncio/base_events.py)",
)
# Frames under every stack (the process's entry, the event loop running callbacks): left out of the
# cumulative table, where they would only say "100%".
_SCAFFOLD = re.compile(
    r"^(<module>|main|_serve_worker|_run|run|Runner\.run|BaseEventLoop\.\w+|Handle\._run) "
    r"\((asyncio/(base_events|runners|events)\.py|bot/__main__\.py|\w+\.py)\)$"
)


def py_spy() -> str:
    """The py-spy executable next to this Python (the venv's), else on PATH."""
    here = Path(sys.executable).parent / "py-spy"
    found = str(here) if here.exists() else shutil.which("py-spy")
    if found is None:
        raise SystemExit("py-spy is not installed: pip install py-spy (it is in the dev extras)")
    return found


class Profiler:
    """``py-spy record`` on ``pid`` from :meth:`start` to :meth:`stop`, written in py-spy's raw format
    (one collapsed stack per line with its sample count)."""

    def __init__(self, pid: int, out: Path, *, rate: int = 1000) -> None:
        self.pid, self.out, self.rate = pid, out, rate
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        argv = [py_spy(), "record", "--pid", str(self.pid), "--format", "raw", "--nolineno"]
        argv += ["--nonblocking", "--rate", str(self.rate), "--output", str(self.out)]
        self._proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    async def stop(self) -> None:
        """Stop sampling (SIGINT makes py-spy write its file) and wait for the file."""
        if self._proc is None:
            return
        self._proc.send_signal(signal.SIGINT)
        _, err = await asyncio.to_thread(self._proc.communicate, None, 30)
        if not self.out.exists():
            raise RuntimeError(f"py-spy wrote no profile: {err.decode(errors='replace')[-2000:]}")


@dataclass(frozen=True)
class Profile:
    samples: int  # samples with the process on CPU (idle stacks excluded)
    own: Counter[str]  # frame → samples in which it was the innermost frame
    total: Counter[str]  # frame → samples in which it was anywhere on the stack
    stacks: list[tuple[list[str], int]]  # every stack on CPU (outermost frame first), with its samples

    def under(self, prefix: str) -> tuple[int, int, Counter[str]]:
        """Samples with a frame starting with ``prefix`` on the stack: (all of them, those in the
        frame itself, those by the frame it called directly)."""
        inside = own = 0
        callees: Counter[str] = Counter()
        for frames, count in self.stacks:
            at = next((i for i, f in enumerate(frames) if f.startswith(prefix)), None)
            if at is None:
                continue
            inside += count
            if at == len(frames) - 1:
                own += count
            else:
                callees[frames[at + 1]] += count
        return inside, own, callees


def _frames(stack: str) -> list[str]:
    out = []
    for part in stack.split(";"):
        match = _FRAME.match(part.strip())
        if match is None:
            continue  # "process …" / "thread …" headers
        out.append(f"{match['func']} ({match['file']})")
    return out


def read_profile(path: Path) -> Profile:
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    stacks: list[tuple[list[str], int]] = []
    samples = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = _frames(stack)
        if not frames or frames[-1] in _IDLE:
            continue
        count = int(count_text)
        samples += count
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
        stacks.append((frames, count))
    return Profile(samples, own, total, stacks)


def top_tables(profile: Profile, *, top: int = 15) -> str:
    """The ``top`` frames by self and by cumulative samples, as two Markdown tables. The cumulative one
    leaves out the frames every stack starts with (the process's entry, the event loop), which say
    nothing about where the time goes."""
    from _common import table

    if profile.samples == 0:
        return "(no samples on CPU)"

    def rows(counts: Counter[str]) -> list[list[object]]:
        out: list[list[object]] = []
        for frame, count in counts.most_common(top):
            out.append([f"`{frame}`", count, f"{100 * count / profile.samples:.1f}%"])
        return out

    heads = ["frame (function (file))", "samples", "share of CPU samples"]
    spread = Counter({f: c for f, c in profile.total.items() if not _SCAFFOLD.match(f)})
    return "\n".join(
        [
            f"Self (innermost frame), top {top} of {profile.samples} samples on CPU:",
            "",
            table(heads, rows(profile.own)),
            "",
            f"Cumulative (anywhere on the stack), top {top}:",
            "",
            table(heads, rows(spread)),
        ]
    )


def breakdown(profile: Profile, prefix: str, *, top: int = 12) -> str:
    """Where the samples under the frame ``prefix`` (e.g. ``Poller.tick``) go: the frame itself and
    each function it calls directly, as a Markdown table."""
    from _common import table

    inside, own, callees = profile.under(prefix)
    if inside == 0:
        return f"(no samples under {prefix})"
    rows: list[list[object]] = [[f"`{prefix}` itself", own, f"{100 * own / inside:.1f}%"]]
    rows += [[f"`{f}`", c, f"{100 * c / inside:.1f}%"] for f, c in callees.most_common(top)]
    return "\n".join(
        [
            f"Inside `{prefix}`: {inside} samples ({100 * inside / profile.samples:.1f}% of the process's):",
            "",
            table(["calls (function (file))", "samples", "share of its samples"], rows),
        ]
    )
