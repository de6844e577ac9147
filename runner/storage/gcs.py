"""Storage in Google Cloud Storage, through its JSON API (resumable uploads).

Role: a :class:`~runner.storage.base.Storage` over ``gs://bucket/prefix``, speaking the JSON
API with ``requests``; credentials from ``GOOGLE_APPLICATION_CREDENTIALS`` (a key file), else
Application Default Credentials (workload identity); none when ``STORAGE_ENDPOINT`` names an
emulator and no key file is given.
Guarantees: a dump is written as one resumable upload in chunks that are multiples of
256 KiB, so memory stays at a chunk or two; the object exists only once the last chunk is
accepted; a transient failure (408, 429, 5xx, a broken connection) is retried with backoff
(:mod:`runner.retry`), a chunk after asking the session how much of it arrived; on any other
failure, or once the retries are spent, the upload session is cancelled.
Non-goals: the XML API, composite objects, customer-supplied encryption keys.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import quote

import requests

from api.v1alpha1.times import parse_rfc3339
from runner.errors import RunnerError, StorageError, UploadError
from runner.retry import RETRY_STATUSES, RetryPolicy, TransientError
from runner.storage.base import CHUNK_SIZE, READ_SIZE, ObjectInfo, key_prefix

__all__ = ["DEFAULT_ENDPOINT", "GCSStorage"]

DEFAULT_ENDPOINT = "https://storage.googleapis.com"
SCOPE = "https://www.googleapis.com/auth/devstorage.read_write"
TIMEOUT_SECONDS = (10, 120)  # connect, read
RESUME_INCOMPLETE = 308


def _session(endpoint: str, key_file: str) -> requests.Session:
    if not key_file and endpoint:
        return requests.Session()
    from google.auth import default
    from google.auth.transport.requests import AuthorizedSession
    from google.oauth2 import service_account

    if key_file:
        credentials: Any = service_account.Credentials.from_service_account_file(
            key_file, scopes=[SCOPE]
        )
    else:
        credentials, _ = default(scopes=[SCOPE])
    return AuthorizedSession(credentials)


def _reason(response: requests.Response) -> str:
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = response.text[:200]
    return f"HTTP {response.status_code}: {message}".rstrip(": ")


def _exchange(
    send: Callable[[], requests.Response], failed: str, error: type[RunnerError]
) -> requests.Response:
    """One request: no answer or a status worth retrying is a :class:`TransientError`, any
    other request failure ``error``; ``failed`` opens the message. The caller judges the rest."""
    try:
        response = send()
    except (requests.ConnectionError, requests.Timeout) as err:
        raise TransientError(f"{failed}: {err}") from None
    except requests.RequestException as err:
        raise error(f"{failed}: {err}") from None
    if response.status_code in RETRY_STATUSES:
        raise TransientError(f"{failed}: {_reason(response)}")
    return response


class GCSStorage:
    """Objects under ``prefix`` in ``bucket``."""

    def __init__(
        self,
        bucket: str,
        prefix: str,
        *,
        endpoint: str = "",
        key_file: str = "",
        retry: RetryPolicy | None = None,
    ) -> None:
        self._retry = retry or RetryPolicy()
        self._bucket = bucket
        self._prefix = key_prefix(prefix)
        self._endpoint = (endpoint or DEFAULT_ENDPOINT).rstrip("/")
        try:
            self._http = _session(endpoint, key_file)
        except Exception as err:  # google-auth raises several unrelated types
            raise StorageError(f"GCS credentials could not be loaded: {err}") from None

    def url(self, name: str) -> str:
        return f"gs://{self._bucket}/{self._prefix}{name}"

    def _object_url(self, name: str) -> str:
        key = quote(self._prefix + name, safe="")
        return f"{self._endpoint}/storage/v1/b/{self._bucket}/o/{key}"

    def _request(self, what: str, method: str, url: str, **kwargs: Any) -> requests.Response:
        try:
            for attempt in self._retry.retrying():
                with attempt:
                    return self._attempt(what, method, url, **kwargs)
        except TransientError as err:
            raise StorageError(str(err)) from None
        raise AssertionError("unreachable: Retrying re-raises the last error")

    def _attempt(self, what: str, method: str, url: str, **kwargs: Any) -> requests.Response:
        failed = f"GCS {what} in gs://{self._bucket} failed"
        response = _exchange(
            lambda: self._http.request(method, url, timeout=TIMEOUT_SECONDS, **kwargs),
            failed,
            StorageError,
        )
        if response.status_code >= 400 and not (method == "DELETE" and response.status_code == 404):
            raise StorageError(f"{failed}: {_reason(response)}")
        return response

    def objects(self) -> list[ObjectInfo]:
        found: list[ObjectInfo] = []
        params = {
            "prefix": self._prefix,
            "delimiter": "/",
            "fields": "items(name,size,updated),nextPageToken",
        }
        url = f"{self._endpoint}/storage/v1/b/{self._bucket}/o"
        while True:
            page = self._request("list", "GET", url, params=params).json()
            for item in page.get("items", []):
                name = item["name"][len(self._prefix) :]
                if name and "/" not in name:
                    found.append(
                        ObjectInfo(name, int(item["size"]), parse_rfc3339(item["updated"]))
                    )
            if not page.get("nextPageToken"):
                return found
            params["pageToken"] = page["nextPageToken"]

    def partials(self) -> list[ObjectInfo]:
        return []  # GCS expires unfinished resumable sessions by itself; they hold no object

    def discard_partial(self, partial: ObjectInfo) -> None:
        return None

    def upload(self, name: str, chunks: Iterable[bytes]) -> None:
        start = self._request(
            "upload",
            "POST",
            f"{self._endpoint}/upload/storage/v1/b/{self._bucket}/o",
            params={"uploadType": "resumable", "name": self._prefix + name},
            json={"name": self._prefix + name},
            headers={"X-Upload-Content-Type": "application/octet-stream"},
        )
        session = start.headers["Location"]
        try:
            self._send_all(session, chunks)
        except BaseException:
            with contextlib.suppress(requests.RequestException):
                self._http.delete(session, timeout=TIMEOUT_SECONDS)
            raise

    def _send_all(self, session: str, chunks: Iterable[bytes]) -> None:
        buffer = bytearray()
        offset = 0
        for chunk in chunks:
            buffer += chunk
            while len(buffer) > CHUNK_SIZE:  # keep the last piece until the total is known
                self._send(session, bytes(buffer[:CHUNK_SIZE]), offset, None)
                del buffer[:CHUNK_SIZE]
                offset += CHUNK_SIZE
        self._send(session, bytes(buffer), offset, offset + len(buffer))

    def _send(self, session: str, data: bytes, offset: int, total: int | None) -> None:
        """Send ``data`` (bytes ``offset``.. of the object); on a transient failure, ask the
        session what it has and send the rest."""
        pending = [0]  # how much of ``data`` the session already holds
        try:
            for attempt in self._retry.retrying():
                with attempt:
                    if attempt.retry_state.attempt_number > 1:
                        pending[0] = self._persisted(session, total) - offset
                        if pending[0] < 0:
                            raise UploadError(f"GCS upload session lost bytes before {offset}")
                        if pending[0] >= len(data) and total is not None:
                            return  # the session finished the object before the answer broke
                    self._put(session, data[pending[0] :], offset + pending[0], total)
        except TransientError as err:
            raise UploadError(str(err)) from None

    def _put(self, session: str, data: bytes, offset: int, total: int | None) -> None:
        size = "*" if total is None else str(total)
        span = f"{offset}-{offset + len(data) - 1}" if data else "*"
        failed = f"GCS upload failed at byte {offset}"
        headers = {"Content-Range": f"bytes {span}/{size}"}
        response = _exchange(
            lambda: self._http.put(session, data=data, headers=headers, timeout=TIMEOUT_SECONDS),
            failed,
            UploadError,
        )
        expected = (RESUME_INCOMPLETE,) if total is None else (200, 201)
        if response.status_code not in expected:
            raise UploadError(f"{failed}: {_reason(response)}")

    def _persisted(self, session: str, total: int | None) -> int:
        """How many bytes the session holds (``Range: bytes=0-N`` of a 308 status answer)."""
        size = "*" if total is None else str(total)
        try:
            response = self._http.put(
                session, headers={"Content-Range": f"bytes */{size}"}, timeout=TIMEOUT_SECONDS
            )
        except requests.RequestException as err:
            raise TransientError(f"GCS upload status query failed: {err}") from None
        if response.status_code in (200, 201):
            return total if total is not None else 0
        if response.status_code in RETRY_STATUSES:
            raise TransientError(f"GCS upload status query failed: {_reason(response)}")
        if response.status_code != RESUME_INCOMPLETE:
            raise UploadError(f"GCS upload session lost: {_reason(response)}")
        held = response.headers.get("Range", "")  # "bytes=0-N", absent when nothing arrived
        return int(held.rsplit("-", 1)[1]) + 1 if held else 0

    def put(self, name: str, data: bytes) -> None:
        try:
            self.upload(name, [data])
        except StorageError as err:
            raise UploadError(str(err)) from None

    def read(self, name: str) -> Iterator[bytes]:
        response = self._request(
            "read", "GET", self._object_url(name), params={"alt": "media"}, stream=True
        )
        with response:
            try:
                yield from response.iter_content(READ_SIZE)
            except requests.RequestException as err:
                raise StorageError(f"reading {self.url(name)} failed: {err}") from None

    def delete(self, name: str) -> None:
        self._request("delete", "DELETE", self._object_url(name))
