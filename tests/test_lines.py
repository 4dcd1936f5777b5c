"""Reading stdin's lines as they come (moderation.lines), and check --jsonl answering at a pause."""
import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from moderation import lines as lines_module
from moderation.lines import Lines


def _piped(data: bytes, chunk: int, monkeypatch) -> list[bytes]:
    monkeypatch.setattr(lines_module, "CHUNK", chunk)
    read, write = os.pipe()
    writer = threading.Thread(target=lambda: (os.write(write, data), os.close(write)))
    writer.start()
    with os.fdopen(read, "rb") as stream:
        got = list(Lines(stream))
    writer.join()
    return got


@pytest.mark.parametrize("chunk", [1, 3, 7, 1 << 16])
def test_lines_come_whole_whatever_the_chunks_and_the_last_without_its_newline(chunk, monkeypatch):
    data = b'{"text": "one"}\n\n{"text": "' + b"x" * 50 + b'"}\nlast'
    assert _piped(data, chunk, monkeypatch) == list(io.BytesIO(data)) == data.splitlines(keepends=True)


def test_a_stream_without_a_descriptor_is_read_as_it_is_and_always_ready():
    reader = Lines(io.BytesIO(b"a\nb\n"))
    assert reader.ready() and list(reader) == [b"a\n", b"b\n"]


def test_ready_is_false_at_a_pause_in_a_pipe_and_true_at_its_end():
    read, write = os.pipe()
    with os.fdopen(read, "rb") as stream:
        reader = Lines(stream)
        os.write(write, b"first\n")
        it = iter(reader)
        assert next(it) == b"first\n"
        assert not reader.ready(wait=0.05)   # nothing more written yet
        os.close(write)
        assert reader.ready() and list(it) == []


def test_check_jsonl_answers_each_comment_of_a_pipe_before_the_next_is_written(tiny_model_path, tmp_path):
    """A comment feed writes one comment and waits for its verdict: the command must not wait for a
    batch of thousands (or the end of its input) to answer."""
    binary = Path(sys.executable).parent / "moderation"
    proc = subprocess.Popen([str(binary), "check", "--jsonl", "--model", str(tiny_model_path),
                             "--db", str(tmp_path / "h.sqlite3")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        got = []
        for i, text in enumerate(["A calm and useful comment.", "Another one, about the bus routes."]):
            proc.stdin.write(json.dumps({"id": f"c{i}", "text": text}).encode() + b"\n")
            proc.stdin.flush()
            answer = []
            reader = threading.Thread(target=lambda: answer.append(proc.stdout.readline()))
            reader.start()
            reader.join(timeout=60)
            assert answer and answer[0], f"no verdict for comment {i} while its input stayed open"
            got.append(json.loads(answer[0])["id"])
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0 and got == ["c0", "c1"]
    finally:
        proc.kill()
