"""The event recorder: ``events.k8s.io/v1`` Events with series aggregation (client-go
``tools/events``).

:meth:`EventRecorder.event` never blocks and never raises: it builds a small record and puts it
on a bounded queue (``DEFAULT_QUEUE_SIZE``, client-go's ``maxQueuedEvents``); when the queue is
full the event is dropped. A sender loop (:meth:`EventRecorder.start`, a
Runnable) takes records off the queue and writes them:

* the first occurrence creates an Event named ``<object name>.<unix nanoseconds in hex>`` in
  the object's namespace (``default`` for cluster-scoped objects), with ``regarding``,
  ``reason``, ``note``, ``type``, ``action``, ``reportingController``, ``reportingInstance``
  and ``eventTime`` (RFC 3339 with microseconds);
* a repeat of the same (object, type, reason, message, action) while the Event is in the
  series window — ``SERIES_WINDOW``, 6 minutes since it was last observed (client-go's
  ``finishTime``) — becomes a PATCH of ``series: {count, lastObservedTime}`` on that Event;
  repeats taken off the queue together are coalesced into one PATCH with the final count;
  if the Event is gone (404) it is created again carrying the series, as client-go does;
* notes longer than the API's 1 KiB limit are truncated (client-go: 1021 bytes + ``...``);
* transport errors, 429 and 5xx are retried (``tenacity``) up to :data:`SEND_ATTEMPTS` tries,
  :data:`SEND_RETRY_DELAY` doubling, or the server's ``Retry-After`` if longer, no jitter (one
  sender thread, nothing to de-synchronise); other errors drop the event with a log line.

Events are the background channel, so the sender yields to the foreground: given
``defer_while`` (the Manager passes "a controller has work waiting"), it holds what it took
off the queue while that is true — a herd's Job POSTs are not interleaved with its Events —
but never longer than ``max_defer`` seconds after the oldest held event was recorded, and
never once the queue is nine-tenths full (holding must not drop more than sending would).
``eventTime`` is the time of the occurrence, so a held Event still says when it happened.

Nothing is lost silently. When ``stop`` is set the sender keeps sending what it holds and what
is queued for up to :data:`STOP_FLUSH_TIMEOUT` (without retries), then gives up on the rest.
Every occurrence lost — the queue full, the server refusing the Event, retries used up, unsent
at stop (:data:`DROP_REASONS`) — is counted in :attr:`EventRecorder.dropped` and passed to
``on_drop`` (the Manager's ``event_recorder_dropped_total{reason}``), and logged: a full
queue's first drop at once, then one line per :data:`DROP_LOG_INTERVAL` with the number
dropped since (a herd can overflow it thousands of times a second), the remainder at stop.

Deviations from client-go: the aggregation key includes the message (client-go's omits the
note), and every coalesced repeat is written at once rather than in a 30-minute heartbeat. An
empty ``action`` becomes the reason (the API requires one). Events queued before ``start``
are sent once it runs. Non-goals: ``related`` objects, the core/v1 Event API, rate limiting.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol

import tenacity

from manager.clock import Clock
from manager.errors import ApiError, NotFound, ServerError, TooManyRequests, TransportError
from manager.rest import MERGE_PATCH
from manager.runnable import when_set
from manager.scheme import EVENTS

__all__ = [
    "DEFAULT_QUEUE_SIZE",
    "MAX_DEFER",
    "MAX_NOTE_BYTES",
    "NORMAL",
    "SEND_ATTEMPTS",
    "SERIES_WINDOW",
    "WARNING",
    "EventRecorder",
    "EventSink",
    "micro_time",
    "truncate_note",
]

log = logging.getLogger(__name__)

NORMAL = "Normal"
WARNING = "Warning"
DEFAULT_QUEUE_SIZE = 1000  # records; client-go's maxQueuedEvents
MAX_NOTE_BYTES = 1024  # the API's note length limit (events.k8s.io validation)
SERIES_WINDOW = 6 * 60.0  # seconds; client-go's finishTime for an isomorphic series
MAX_CACHED_SERIES = 4096  # events remembered for aggregation; the oldest are forgotten first
SEND_ATTEMPTS = 3  # tries per write on retryable errors (client-go: 12 tries 10 s apart)
SEND_RETRY_DELAY = 0.5  # seconds before the first retry, doubling
# Failures a later identical write may not hit; anything else is the server refusing the Event.
RETRYABLE = (TransportError, ServerError, TooManyRequests)
BATCH = 100  # records taken off the queue per round (repeats among them coalesce)
QUEUE_POLL = 5.0  # seconds; a safety net: stop wakes the sender through when_set
STOP_FLUSH_TIMEOUT = 5.0  # seconds the sender keeps sending after stop (the Manager waits 10)
DROP_LOG_INTERVAL = 10.0  # seconds between two "dropping events" lines of one reason
# Why an occurrence was lost (the label of the Manager's dropped-events counter).
QUEUE_FULL = "queue_full"
SEND_FAILED = "send_failed"  # retryable failures, every try used
REFUSED = "refused"  # the server refused the Event (4xx other than 429)
UNSENT_AT_STOP = "unsent_at_stop"
DROP_REASONS = (QUEUE_FULL, SEND_FAILED, REFUSED, UNSENT_AT_STOP)
MAX_DEFER = 120.0  # seconds an event may be held while the foreground is busy
DEFER_POLL = 0.1  # seconds between checks of the foreground while holding
FLUSH_FRACTION = 0.9  # a queue this full is sent even while the foreground is busy


class EventSink(Protocol):
    """What the recorder needs of :class:`manager.rest.RestClient`."""

    def create(
        self, path: str, body: Mapping[str, Any], *, decode: bool = True
    ) -> dict[str, Any]: ...

    def patch(self, path: str, body: Any, content_type: str = MERGE_PATCH) -> dict[str, Any]: ...


def micro_time(when: datetime) -> str:
    """RFC 3339 with microseconds, as ``metav1.MicroTime`` serializes."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def truncate_note(note: str) -> str:
    """Cut ``note`` to the API's 1 KiB limit (counted in UTF-8 bytes), ending in ``...``."""
    data = note.encode("utf-8")
    if len(data) <= MAX_NOTE_BYTES:
        return note
    return data[: MAX_NOTE_BYTES - 3].decode("utf-8", "ignore") + "..."


# The fields of ``regarding``, in the order an Event carries them.
REGARDING_FIELDS = ("apiVersion", "kind", "namespace", "name", "uid", "resourceVersion")


class _Regarding(NamedTuple):
    """The object an Event is about, in :data:`REGARDING_FIELDS` order ("" when absent)."""

    api_version: str
    kind: str
    namespace: str
    name: str
    uid: str
    resource_version: str


class _Key(NamedTuple):
    """What makes two occurrences one series (see the module docstring's deviations)."""

    regarding: _Regarding
    type_: str
    reason: str
    note: str
    action: str


# One occurrence as queued: its series key, when it happened, the clock's monotonic time then.
_Occurrence = tuple[_Key, datetime, float]


@dataclass(slots=True)
class _Series:
    """One Event and its repeats, as the sender remembers it (up to
    :data:`MAX_CACHED_SERIES` of them): the key and the first occurrence's time, from which
    :meth:`EventRecorder._body` builds the Event each time it is created, never a kept body
    (docs/design.md §6)."""

    key: _Key
    first: datetime  # the first occurrence: the Event's eventTime and name
    count: int
    last_observed: datetime
    last_mono: float
    created: bool = False
    sent_count: int = 1

    @property
    def namespace(self) -> str:
        return self.key.regarding.namespace or "default"

    @property
    def name(self) -> str:
        nanos = int(self.first.timestamp() * 1_000_000) * 1000
        return f"{self.key.regarding.name or 'unknown'}.{nanos:x}"


class EventRecorder:
    """Records Events for objects; see the module docstring for the guarantees."""

    def __init__(
        self,
        rest: EventSink,
        *,
        component: str,
        instance: str,
        clock: Clock,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        defer_while: Callable[[], bool] | None = None,
        max_defer: float = MAX_DEFER,
        on_drop: Callable[[str, int], None] | None = None,
    ) -> None:
        self._rest = rest
        self._defer_while = defer_while
        self._max_defer = max_defer
        self._flush_at = max(1, int(queue_size * FLUSH_FRACTION))
        self.component = component
        self.instance = instance
        self._clock = clock
        # None is the stop wake-up, not an event.
        self._queue: queue.Queue[_Occurrence | None] = queue.Queue(maxsize=queue_size)
        self._series: OrderedDict[_Key, _Series] = OrderedDict()  # sender thread only
        self._on_drop = on_drop
        self._deadline: float | None = None  # the flush deadline, once stopping
        self._drop_mu = threading.Lock()
        self.dropped = 0  # occurrences lost, every reason (also on_drop's and the log's)
        self._unlogged: dict[str, int] = {}
        self._logged_at: dict[str, float] = {}

    # -- the caller's side -------------------------------------------------------------------

    def event(
        self, obj: Mapping[str, Any], type_: str, reason: str, message: str, action: str = ""
    ) -> None:
        """Queue an Event about ``obj``; never blocks, never raises."""
        try:
            meta = obj.get("metadata") or {}
            # Interned: the kind's strings and a backup's name and uid are the ones the
            # controller's per-backup maps hold already (controller.memo.backup_key).
            regarding = _Regarding(
                _shared(obj.get("apiVersion")),
                _shared(obj.get("kind")),
                _shared(meta.get("namespace")),
                _shared(meta.get("name")),
                _shared(meta.get("uid")),
                str(meta.get("resourceVersion") or ""),
            )
            key = _Key(regarding, type_, reason, truncate_note(message), action or reason)
            self._queue.put_nowait((key, self._clock.now(), self._clock.monotonic()))
        except queue.Full:
            self._drop(QUEUE_FULL)
        except Exception:
            log.exception("cannot record event", extra={"reason": reason})

    # -- the sender --------------------------------------------------------------------------

    def start(self, stop: threading.Event) -> None:
        """Send queued events until ``stop`` is set, then flush what is left for at most
        :data:`STOP_FLUSH_TIMEOUT` (a Runnable without leader election)."""
        when_set(stop, self._wake_sender, "event-sender-stop")
        held: list[_Occurrence] = []
        while not stop.is_set():
            try:
                first = self._queue.get(timeout=QUEUE_POLL)
            except queue.Empty:
                continue
            if first is None:  # the stop wake-up (see _wake_sender)
                continue
            if self._hold(first[2], stop):
                held = [first]
                break
            self._process_safely([first, *self._take(BATCH - 1)], stop)
        self._flush(held, stop)

    def _take(self, limit: int) -> list[_Occurrence]:
        """Up to ``limit`` occurrences already queued (never waits)."""
        batch: list[_Occurrence] = []
        while len(batch) < limit:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                batch.append(item)
        return batch

    def _flush(self, held: list[_Occurrence], stop: threading.Event) -> None:
        """At stop: send what is queued until the flush deadline; count the rest as dropped."""
        self._deadline = self._clock.monotonic() + STOP_FLUSH_TIMEOUT
        batch = held or self._take(BATCH)
        while batch:
            if self._past_deadline():
                self._drop(UNSENT_AT_STOP, len(batch) + len(self._take(self._queue.maxsize)))
                break
            self._process_safely(batch, stop)
            batch = self._take(BATCH)
        with self._drop_mu:
            unlogged, self._unlogged = self._unlogged, {}
        for reason, count in unlogged.items():
            log.warning("dropped events", extra={"reason": reason, "dropped": count,
                                                 "droppedTotal": self.dropped})  # fmt: skip

    def _past_deadline(self) -> bool:
        return self._deadline is not None and self._clock.monotonic() >= self._deadline

    def _process_safely(self, batch: list[_Occurrence], stop: threading.Event) -> None:
        try:
            self._process(batch, stop)
        except Exception:
            log.exception("event sender failed")

    def _drop(self, reason: str, count: int = 1) -> None:
        """Count ``count`` lost occurrences (metric and log: none is lost silently). A full
        queue logs its first drop, then one line per :data:`DROP_LOG_INTERVAL` with the
        number dropped since (a herd can overflow it thousands of times a second)."""
        if count <= 0:
            return
        with self._drop_mu:
            self.dropped += count
            now = self._clock.monotonic()
            self._unlogged[reason] = self._unlogged.get(reason, 0) + count
            last = self._logged_at.get(reason)
            if last is not None and now - last < DROP_LOG_INTERVAL:
                unlogged = 0
            else:
                unlogged = self._unlogged.pop(reason)
                self._logged_at[reason] = now
        if self._on_drop is not None:
            try:
                self._on_drop(reason, count)
            except Exception:
                log.exception("event drop callback failed")
        if unlogged:
            log.warning(
                "dropping events",
                extra={"reason": reason, "dropped": unlogged, "droppedTotal": self.dropped},
            )

    def _wake_sender(self) -> None:
        """Unblock the sender's ``get`` when stop is set (a full queue needs no wake-up)."""
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)

    def _hold(self, recorded_at: float, stop: threading.Event) -> bool:
        """Wait while the foreground is busy (see the module docstring); True if stopped."""
        busy = self._defer_while
        if busy is None:
            return False
        while (
            self._clock.monotonic() - recorded_at < self._max_defer
            and self._queue.qsize() < self._flush_at
            and _safe(busy)
        ):
            if self._clock.sleep(DEFER_POLL, stop):
                return True
        return False

    def needs_leader_election(self) -> bool:
        return False

    def pending(self) -> int:
        """Events queued but not yet taken by the sender."""
        return self._queue.qsize()

    def _process(self, batch: list[_Occurrence], stop: threading.Event) -> None:
        dirty: OrderedDict[_Key, _Series] = OrderedDict()
        for key, when, mono in batch:
            series = self._series.get(key)
            if series is not None and mono - series.last_mono <= SERIES_WINDOW:
                series.count += 1
                series.last_observed = when
                series.last_mono = mono
                self._series.move_to_end(key)
            else:
                series = self._series[key] = _Series(key, when, 1, when, mono)
            dirty[key] = series
        while len(self._series) > MAX_CACHED_SERIES:
            self._series.popitem(last=False)
        for series in dirty.values():
            if self._past_deadline():
                self._drop(UNSENT_AT_STOP, _unsent(series))
                continue
            self._send(series, stop)

    def _body(self, series: _Series) -> dict[str, Any]:
        """The Event as its first occurrence creates it, built when it is sent."""
        key = series.key
        return {
            "apiVersion": EVENTS.api_version,
            "kind": EVENTS.kind,
            "metadata": {"name": series.name, "namespace": series.namespace},
            "eventTime": micro_time(series.first),
            "reportingController": self.component,
            "reportingInstance": self.instance,
            "action": key.action,
            "reason": key.reason,
            "note": key.note,
            "type": key.type_,
            "regarding": {f: v for f, v in zip(REGARDING_FIELDS, key.regarding, strict=True) if v},
        }

    def _series_field(self, series: _Series) -> dict[str, Any]:
        return {"count": series.count, "lastObservedTime": micro_time(series.last_observed)}

    def _send(self, series: _Series, stop: threading.Event) -> None:
        name = series.name
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(SEND_ATTEMPTS),
            wait=_send_wait,
            retry=tenacity.retry_if_exception_type(RETRYABLE),
            sleep=lambda seconds: self._sleep(seconds, stop),
            reraise=True,
        )
        unsent = _unsent(series)
        try:
            for attempt in retrying:
                if stop.is_set() and attempt.retry_state.attempt_number > 1:
                    # Stopping: no retry (the flush must end), but the loss is counted.
                    log.warning("event not written before stop", extra={"event": name})
                    self._drop(UNSENT_AT_STOP, unsent)
                    return
                with attempt:
                    self._write(series)
        except RETRYABLE as err:
            log.warning("cannot write event", extra={"event": name, "error": err})
            self._drop(SEND_FAILED, unsent)
        except ApiError as err:
            log.warning("event refused", extra={"event": name, "error": err})
            self._drop(REFUSED, unsent)

    def _sleep(self, seconds: float, stop: threading.Event) -> None:
        self._clock.sleep(seconds, stop)

    def _write(self, series: _Series) -> None:
        """One try: PATCH the series onto the Event, or create it (again, after a 404)."""
        if series.created and series.count != series.sent_count:
            path = EVENTS.object_path(series.namespace, series.name)
            try:
                self._rest.patch(path, {"series": self._series_field(series)})
            except NotFound:
                series.created = False  # expired or deleted: create it again
        if not series.created:
            body = self._body(series)
            if series.count > 1:
                body["series"] = self._series_field(series)
            # The answer is never read: not decoding it is ~40 µs less per Event.
            self._rest.create(EVENTS.collection_path(series.namespace), body, decode=False)
            series.created = True
        series.sent_count = series.count


def _shared(value: Any) -> str:
    """``str(value)``, interned; "" for a missing or empty value."""
    return sys.intern(str(value)) if value else ""


def _unsent(series: _Series) -> int:
    """Occurrences of ``series`` the server has not been told of."""
    return series.count - series.sent_count if series.created else series.count


def _send_wait(state: tenacity.RetryCallState) -> float:
    """:data:`SEND_RETRY_DELAY` doubling per retry, or the server's Retry-After if longer."""
    delay = SEND_RETRY_DELAY * float(2 ** (state.attempt_number - 1))
    outcome = state.outcome
    err = outcome.exception() if outcome is not None else None
    retry_after = getattr(err, "retry_after", None) or 0.0
    return max(delay, float(retry_after))


def _safe(predicate: Callable[[], bool]) -> bool:
    """A failing ``defer_while`` means "not busy": events must not stall on a bug."""
    try:
        return bool(predicate())
    except Exception:
        log.exception("event defer predicate failed")
        return False
