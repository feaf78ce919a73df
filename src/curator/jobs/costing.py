"""What requests will cost, from what was measured: tokens per byte calibrated per family on the usage
stored with its jobs (or on the server's token-counting endpoint), the prompt cache's writes and reads
(nothing is cached below the model's minimum cacheable length), and the output the family's replies
used so far.

A request's prompt is its cacheable prefix (the output schema and the system blocks up to the one
marked with cache_control) and the rest. A job done in one attempt tells both: its cache reads and
writes are its prefix's tokens, its input the rest's (when nothing was cached, their sum is the whole
prompt). Each is divided by the bytes of the request rebuilt for that job; the estimate multiplies the
planned requests' bytes by the same ratios. The error shown is how far those ratios miss the measured
requests they came from (the mean of |estimated - measured| / measured, one request at a time).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from curator.config import Settings
from curator.families import Family
from curator.jobs.plan import BATCH_TTL, LIVE_TTL, FewShot, build_request, prompt_bytes
from curator.models import Job
from curator.store import Store
from curator.teacher.client import cache_key

BYTES_PER_TOKEN = 3  # the guess without any measurement: one token per 3 UTF-8 bytes
MIN_SAMPLES = 5  # measured requests a family needs before its own ratio is trusted
COUNT_SAMPLES = 5  # requests sent to the token-counting endpoint when too few are measured

# Request bodies -> their prompts' tokens by the server's token-counting endpoint (None: a body that
# may not be sent); raises if the endpoint cannot be reached.
Counter = Callable[[list[dict[str, Any]]], list[int | None]]


@dataclass
class Calibration:
    """Tokens per byte of a family's prompts: of the cacheable prefix and of the rest."""

    prefix_ratio: float
    rest_ratio: float
    source: str  # where the ratios come from, for the curator to read
    samples: int = 0
    error: float | None = None  # mean relative error of a request's prompt tokens on the samples
    output_tokens: float | None = None  # mean output tokens of a reply, measured
    marked: list[tuple[int, bool]] = field(default_factory=list)  # samples sent with a prefix marked for the
    # cache: its bytes, and whether the server reported cache reads or writes

    def describe(self) -> str:
        if self.error is None:
            return f"tokens from {self.source}; error unknown"
        return f"tokens from {self.source} (±{self.error:.1%} a request)"


def _sizes(store: Store, family: Family, jobs: list[Job], settings: Settings, fewshot: FewShot,
           ttl: str) -> list[tuple[dict[str, Any], int, int]]:
    structured = settings.teacher.structured_outputs != "off"
    out = []
    for job in jobs:
        body = build_request(store, family, job, settings, structured=structured, fewshot=fewshot, ttl=ttl).body
        prefix, total = prompt_bytes(body)
        out.append((body, prefix, total))
    return out


def calibrate(store: Store, family: Family, settings: Settings, fewshot: FewShot, *,
              planned: Sequence[Job] = (), counter: Counter | None = None, limit: int = 200) -> Calibration:
    """The family's tokens per byte: from the usage of its latest jobs done in one attempt (with the
    bytes their attempt recorded; a job of the family's current file without them is rebuilt); with
    fewer than MIN_SAMPLES of them, from the token-counting endpoint on a few `planned` requests (if
    `counter` reaches it); else one token per 3 bytes, error unknown."""
    measured = []  # (job, prefix bytes, prompt bytes)
    for job, detail in store.measured_jobs(family.name, limit=limit):
        if isinstance(sent := detail.get("prompt_bytes"), list) and len(sent) == 2:
            measured.append((job, int(sent[0]), int(sent[1])))
        elif job.template_hash == family.template_hash:
            _, prefix, total = _sizes(store, family, [job], settings, fewshot, LIVE_TTL)[0]
            measured.append((job, prefix, total))
    fallback = 1 / BYTES_PER_TOKEN
    if len(measured) >= MIN_SAMPLES:
        return _from_usage(family, measured)
    if counter is not None and planned:
        return _from_counts(family, _sizes(store, family, list(planned[:COUNT_SAMPLES]), settings, fewshot, LIVE_TTL),
                            counter)
    return Calibration(fallback, fallback, f"a guess of 1 token per {BYTES_PER_TOKEN} bytes (no usage stored for "
                       f"{family.name} yet{'' if counter is None else ', nothing to count'})")


def _from_usage(family: Family, measured: list[tuple[Job, int, int]]) -> Calibration:
    def prompt(job: Job) -> int:
        return job.input_tokens + job.cache_read_tokens + job.cache_write_tokens

    ratio = sum(prompt(j) for j, _, _ in measured) / max(1, sum(total for _, _, total in measured))
    prefix_ratio = rest_ratio = ratio
    cached = [(j, p, t) for j, p, t in measured if p and j.cache_read_tokens + j.cache_write_tokens]
    if cached:  # the prefix measured apart: its tokens are what the cache read or wrote
        prefix_ratio = sum(j.cache_read_tokens + j.cache_write_tokens for j, _, _ in cached) / sum(p for _, p, _ in cached)
        rest_ratio = sum(j.input_tokens for j, _, _ in cached) / max(1, sum(t - p for _, p, t in cached))
    errors = [abs((prefix_ratio * p + rest_ratio * (t - p) if cached else ratio * t) - prompt(j)) / prompt(j)
              for j, p, t in measured]
    return Calibration(prefix_ratio, rest_ratio, f"the usage of {len(measured)} requests of {family.name}",
                       len(measured), sum(errors) / len(errors),
                       sum(j.output_tokens for j, _, _ in measured) / len(measured),
                       [(p, bool(j.cache_read_tokens + j.cache_write_tokens)) for j, p, _ in measured if p])


def _from_counts(family: Family, sample: list[tuple[dict[str, Any], int, int]], counter: Counter) -> Calibration:
    bare = dict(sample[0][0], messages=[{"role": "user", "content": "."}])  # the prefix (and a dot)
    try:
        counts = counter([body for body, _, _ in sample] + [bare])
    except Exception as exc:  # noqa: BLE001 - unreachable or refused: the estimate says so and goes on
        fallback = 1 / BYTES_PER_TOKEN
        return Calibration(fallback, fallback, f"a guess of 1 token per {BYTES_PER_TOKEN} bytes (no usage stored for "
                           f"{family.name} yet; token counting failed: {str(exc)[:120]})")
    prefix_tokens = counts[-1]
    kept = [(w, size) for w, size in zip(counts[:-1], sample) if w]
    if prefix_tokens is None or not kept:
        fallback = 1 / BYTES_PER_TOKEN
        return Calibration(fallback, fallback, f"a guess of 1 token per {BYTES_PER_TOKEN} bytes (no usage stored for "
                           f"{family.name} yet; nothing it may send to count)")
    whole = [w for w, _ in kept]
    sample = [size for _, size in kept]
    ratio = sum(whole) / max(1, sum(total for _, _, total in sample))
    prefix_bytes = sample[0][1]
    prefix_ratio = prefix_tokens / prefix_bytes if prefix_bytes else ratio
    rest = [(w - prefix_tokens, t - p) for w, (_, p, t) in zip(whole, sample) if p]
    rest_ratio = sum(r for r, _ in rest) / max(1, sum(b for _, b in rest)) if rest else ratio
    errors = [abs((prefix_ratio * p + rest_ratio * (t - p) if p else ratio * t) - w) / w
              for w, (_, p, t) in zip(whole, sample)]
    return Calibration(prefix_ratio, rest_ratio, f"the token-counting endpoint on {len(whole)} requests of {family.name}",
                       len(whole), sum(errors) / len(errors))


@dataclass
class Forecast:
    """What sending `requests` would use and cost, with the prompt cache as the model will apply it."""

    model: str
    requests: int = 0
    prompt_tokens: int = 0  # every prompt token, cached or not
    input_tokens: int = 0  # not cached
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    output_tokens: int = 0  # max_tokens, every request
    expected_output_tokens: int = 0  # as measured (max_tokens until a reply is)
    cost_usd: float = 0.0  # expected: the cache as predicted, the output as measured
    bound_usd: float = 0.0  # the cache as predicted, every reply at max_tokens
    uncached_usd: float = 0.0  # the expected output, nothing read from the cache
    prefix_tokens: int = 0  # the largest cacheable prefix
    cache_minimum: int = 0
    cached: bool = False
    ttl: str = LIVE_TTL
    notes: list[str] = field(default_factory=list)
    calibration: Calibration | None = None

    def cache_line(self) -> str:
        if self.cached:
            return (f"prompt cache: the shared prefix is ≈ {self.prefix_tokens} tokens, over {self.model}'s minimum "
                    f"of {self.cache_minimum}: written once, then read ({self.ttl} cache)")
        return "prompt cache: " + "; ".join(self.notes or ["nothing cached"])


def forecast(store: Store, family: Family, jobs: list[Job], settings: Settings, *, fewshot: FewShot,
             batch: bool = False, counter: Counter | None = None) -> Forecast:
    """The tokens and dollars of sending each job once, calibrated on what was measured; writes nothing."""
    model = settings.judge.model if jobs and jobs[0].kind == "judge" else settings.teacher.model_for(family.name)
    ttl = BATCH_TTL if batch else LIVE_TTL
    calibration = calibrate(store, family, settings, fewshot, planned=jobs, counter=counter)
    minimum, known = settings.teacher.cache_minimum(model)
    out = Forecast(model, cache_minimum=minimum, ttl=ttl, calibration=calibration)
    sizes = _sizes(store, family, jobs, settings, fewshot, ttl)
    prefixes = {}
    for body, prefix, _ in sizes:
        if (key := cache_key(body)) is not None:
            prefixes[key] = max(prefixes.get(key, 0), round(prefix * calibration.prefix_ratio))
    out.prefix_tokens = max(prefixes.values(), default=0)
    cacheable = {key for key, tokens in prefixes.items() if tokens >= minimum}
    if not settings.teacher.prompt_cache:
        out.notes.append("off ([teacher] prompt_cache = false)")
    elif not prefixes:
        out.notes.append("nothing marked")
    elif not cacheable:
        out.notes.append(f"the shared prefix is ≈ {out.prefix_tokens} tokens, below {model}'s minimum of "
                         f"{minimum}{'' if known else ' (assumed: an unknown model)'}: nothing will be cached")
    elif len(big := [used for p, used in calibration.marked if p * calibration.prefix_ratio >= minimum]) >= MIN_SAMPLES \
            and not any(big):
        out.notes.append(f"the server reported no cache use for the last {len(big)} requests of {family.name} "
                         "whose prefix was long enough: nothing will be cached")
        cacheable = set()
    out.cached = bool(cacheable)
    price = settings.price(model)
    expected_out = calibration.output_tokens
    seen: set[str] = set()
    for body, prefix, total in sizes:
        key = cache_key(body)
        tokens_prefix = round(prefix * calibration.prefix_ratio)
        tokens = tokens_prefix + round((total - prefix) * calibration.rest_ratio)
        write = read = 0
        if key in cacheable:
            if key in seen:
                read = tokens_prefix
            else:
                write = tokens_prefix
                seen.add(key)
        uncached = tokens - write - read
        out_max = body["max_tokens"]
        out_exp = min(out_max, round(expected_out)) if expected_out is not None else out_max
        one_hour = write if ttl == BATCH_TTL else 0
        out.requests += 1
        out.prompt_tokens += tokens
        out.input_tokens += uncached
        out.cache_write_tokens += write
        out.cache_read_tokens += read
        out.output_tokens += out_max
        out.expected_output_tokens += out_exp
        out.cost_usd += price.cost(uncached, out_exp, write, read, cache_write_1h=one_hour, batch=batch)
        out.bound_usd += price.cost(uncached, out_max, write, read, cache_write_1h=one_hour, batch=batch)
        out.uncached_usd += price.cost(tokens, out_exp, batch=batch)
    return out
