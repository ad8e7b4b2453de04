"""The data directory's lock, the port check after a stop, and waking the jobs a restart
left in the database."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from common.broker import InMemoryBroker
from common.db import migrate, session_factory
from common.job_state import JobStatus
from common.models import GalleryVideo, Job, VideoStatus
from processor.wakeups import reconcile
from videoforge.stack.datadir import DataDir, DataDirInUse, DataDirLock
from videoforge.stack.net import port_free


def test_one_lock_holder_at_a_time(tmp_path: Path) -> None:
    data_dir = DataDir(tmp_path / "data")
    with DataDirLock(data_dir), pytest.raises(DataDirInUse, match="is in use by a running"):
        DataDirLock(data_dir).acquire()
    with DataDirLock(data_dir):  # released on exit, usable again
        pass


def test_a_port_in_time_wait_counts_as_free() -> None:
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = server.accept()
        accepted.close()  # the server side closes first: its port is left in TIME_WAIT
        client.close()
        assert not port_free(port)  # still listening
    assert port_free(port)


def test_queued_and_running_jobs_get_a_message_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'vf.db'}"
    migrate(url)
    with session_factory(url)() as session:
        jobs = {}
        for status in (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.SUCCEEDED):
            video = GalleryVideo(owner_id="u", status=VideoStatus.PROCESSING,
                                 source_bucket="up", source_key=f"uploads/u/{status}/a.mp4")
            session.add(video)
            session.flush()
            jobs[status] = Job(video_id=video.id, owner_id="u", status=status)
            session.add(jobs[status])
        session.commit()
    broker = InMemoryBroker()
    assert reconcile(broker, session_factory(url), limit=None) == 2
    # What the queue holds counts: a second start sends no duplicates.
    assert reconcile(broker, session_factory(url), limit=None) == 0
    tokens = []
    while delivery := broker.receive():
        tokens.append(delivery.token().reason)
        broker.delete(delivery)
    assert tokens == ["reconciled", "reconciled"]  # tokens name no job: one per runnable job
