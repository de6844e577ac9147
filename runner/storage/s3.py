"""Storage in S3 or an S3-compatible service (``STORAGE_ENDPOINT``), through boto3.

Role: a :class:`~runner.storage.base.Storage` over ``s3://bucket/prefix``.
Guarantees: a dump is written with a multipart upload (one part per chunk, so memory stays at
a chunk or two); on any failure the multipart upload is aborted, so no object and no billed
parts remain; path-style addressing when an endpoint is given (MinIO and friends).
Non-goals: server-side encryption settings and storage classes (bucket policy decides).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from runner.errors import StorageError, UploadError
from runner.interrupt import raise_if_interrupted
from runner.storage.base import READ_SIZE, ObjectInfo, key_prefix

__all__ = ["S3Storage"]

CONNECT_TIMEOUT_SECONDS = 10
READ_TIMEOUT_SECONDS = 60
MAX_ATTEMPTS = 5


def _why(err: Exception) -> str:
    if isinstance(err, ClientError):
        error = err.response.get("Error", {})
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
    return str(err)


class S3Storage:
    """Objects under ``prefix`` in ``bucket``."""

    def __init__(
        self,
        bucket: str,
        prefix: str,
        *,
        region: str = "",
        endpoint: str = "",
        access_key_id: str = "",
        secret_access_key: str = "",
    ) -> None:
        self._bucket = bucket
        self._prefix = key_prefix(prefix)
        config = BotoConfig(
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            read_timeout=READ_TIMEOUT_SECONDS,
            retries={"max_attempts": MAX_ATTEMPTS, "mode": "standard"},
            s3={"addressing_style": "path"} if endpoint else None,
        )
        self._client: Any = boto3.session.Session().client(
            "s3",
            region_name=region or None,
            endpoint_url=endpoint or None,
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None,
            config=config,
        )

    def _key(self, name: str) -> str:
        return self._prefix + name

    def url(self, name: str) -> str:
        return f"s3://{self._bucket}/{self._key(name)}"

    def _call(self, what: str, method: str, **kwargs: Any) -> Any:
        try:
            answer = getattr(self._client, method)(Bucket=self._bucket, **kwargs)
        except (ClientError, BotoCoreError) as err:
            raise_if_interrupted()  # botocore may have turned the signal's exception into this
            raise StorageError(f"S3 {what} in s3://{self._bucket} failed: {_why(err)}") from None
        raise_if_interrupted()  # or retried past it (runner.interrupt)
        return answer

    def objects(self) -> list[ObjectInfo]:
        found: list[ObjectInfo] = []
        token: dict[str, str] = {}
        while True:
            page = self._call(
                "list", "list_objects_v2", Prefix=self._prefix, Delimiter="/", **token
            )
            for item in page.get("Contents", []):
                name = item["Key"][len(self._prefix) :]
                found.append(ObjectInfo(name, int(item["Size"]), item["LastModified"]))
            if not page.get("IsTruncated"):
                return found
            token = {"ContinuationToken": page["NextContinuationToken"]}

    def partials(self) -> list[ObjectInfo]:
        page = self._call("list multipart uploads", "list_multipart_uploads", Prefix=self._prefix)
        return [
            ObjectInfo(u["Key"][len(self._prefix) :], 0, u["Initiated"], u["UploadId"])
            for u in page.get("Uploads", [])
            if "/" not in u["Key"][len(self._prefix) :]
        ]

    def discard_partial(self, partial: ObjectInfo) -> None:
        self._call(
            "abort upload",
            "abort_multipart_upload",
            Key=self._key(partial.name),
            UploadId=partial.handle,
        )

    def upload(self, name: str, chunks: Iterable[bytes]) -> None:
        key = self._key(name)
        upload_id = self._call("upload", "create_multipart_upload", Key=key)["UploadId"]
        parts: list[dict[str, Any]] = []
        try:
            for chunk in chunks:
                parts.append(self._part(key, upload_id, len(parts) + 1, chunk))
            if not parts:
                parts.append(self._part(key, upload_id, 1, b""))
            raise_if_interrupted()  # never complete a run that was told to stop
            try:
                self._client.complete_multipart_upload(
                    Bucket=self._bucket,
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                )
            except (ClientError, BotoCoreError) as err:
                raise_if_interrupted()
                raise UploadError(f"completing {self.url(name)} failed: {_why(err)}") from None
        except BaseException:
            with contextlib.suppress(ClientError, BotoCoreError):
                self._client.abort_multipart_upload(
                    Bucket=self._bucket, Key=key, UploadId=upload_id
                )
            raise

    def _part(self, key: str, upload_id: str, number: int, chunk: bytes) -> dict[str, Any]:
        try:
            answer = self._client.upload_part(
                Bucket=self._bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=chunk
            )
        except (ClientError, BotoCoreError) as err:
            raise_if_interrupted()
            raise UploadError(
                f"uploading part {number} of s3://{self._bucket}/{key} failed: {_why(err)}"
            ) from None
        raise_if_interrupted()  # a signal botocore retried past: before reading the next part
        return {"PartNumber": number, "ETag": answer["ETag"]}

    def put(self, name: str, data: bytes) -> None:
        try:
            self._client.put_object(Bucket=self._bucket, Key=self._key(name), Body=data)
        except (ClientError, BotoCoreError) as err:
            raise UploadError(f"writing {self.url(name)} failed: {_why(err)}") from None

    def read(self, name: str) -> Iterator[bytes]:
        body = self._call("read", "get_object", Key=self._key(name))["Body"]
        try:
            yield from body.iter_chunks(READ_SIZE)
        except (ClientError, BotoCoreError) as err:
            raise StorageError(f"reading {self.url(name)} failed: {_why(err)}") from None
        finally:
            body.close()

    def delete(self, name: str) -> None:
        self._call("delete", "delete_object", Key=self._key(name))
