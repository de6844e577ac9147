"""The kubectl output normalisation of :mod:`tests.emulator.kubectl_support`, on text kubectl
printed against kube-apiserver v1.32."""

from __future__ import annotations

from tests.emulator.kubectl_support import describe, is_fresh_age, table

# `kubectl get dbbackup x -w` and a status change: the watch row keeps the header's column
# widths except where a cell is wider ("Running" under "PHASE"), then the rest shifts.
WATCHED = (
    "NAME                    SCHEDULE    PHASE   LAST SUCCESS   NEXT   AGE\n"
    "postgres-daily-backup   0 1 * * *                                 46s\n"
    "postgres-daily-backup   0 1 * * *   Running                         48s\n"
)


def test_a_watch_row_wider_than_the_header_reads_as_the_same_columns() -> None:
    assert table(WATCHED) == (
        "NAME                    SCHEDULE    PHASE     LAST SUCCESS   NEXT   AGE\n"
        "postgres-daily-backup   0 1 * * *                                   <age>\n"
        "postgres-daily-backup   0 1 * * *   Running                         <age>\n"
    )


def test_ages_of_fresh_objects_are_replaced_and_absurd_ones_kept() -> None:
    out = (
        "NAME   SCHEDULE    AGE         SUSPEND\n"
        "a      0 1 * * *   119s        false\n"
        "b      0 1 * * *   143m        true\n"
        "c      0 1 * * *   <invalid>   false\n"
    )
    assert table(out) == (
        "NAME   SCHEDULE    AGE         SUSPEND\n"
        "a      0 1 * * *   <age>       false\n"
        "b      0 1 * * *   143m        true\n"
        "c      0 1 * * *   <invalid>   false\n"
    )
    assert [is_fresh_age(a) for a in ("0s", "2m5s", "60m", "61m", "3h", "", "<invalid>")] == [
        True,
        True,
        True,
        False,
        False,
        False,
        False,
    ]


def test_describe_replaces_identity_and_the_events_ages() -> None:
    out = (
        "Name:         b\n"
        "Metadata:\n"
        "  Creation Timestamp:  2026-12-06T07:08:01Z\n"
        "  Resource Version:    4051\n"
        "  UID:                 1253206d-f6ef-49ac-9c67-41e50f9dbd32\n"
        "Events:\n"
        "  Type    Reason            Age   From                  Message\n"
        "  ----    ------            ----  ----                  -------\n"
        "  Normal  BackupSucceeded   0s    dbbackup.io/operator  Backup x succeeded\n"
        "  Normal  SuccessfulCreate  12s   dbbackup-operator     Created job x\n"
    )
    assert describe(out) == (
        "Name:         b\n"
        "Metadata:\n"
        "  Creation Timestamp:  <timestamp>\n"
        "  Resource Version:    <resourceVersion>\n"
        "  UID:                 <uid>\n"
        "Events:\n"
        "  Type    Reason            Age    From                  Message\n"
        "  ----    ------            ----   ----                  -------\n"
        "  Normal  BackupSucceeded   <age>  dbbackup.io/operator  Backup x succeeded\n"
        "  Normal  SuccessfulCreate  <age>  dbbackup-operator     Created job x\n"
    )
    assert describe("Name:  b\nEvents:  <none>\n") == "Name:  b\nEvents:  <none>\n"
