"""The one atomic-write helper (learnable.utils.files.write_atomically) and the output-over-input check."""

import errno
import hashlib
import os
import stat

import pytest

import learnable.utils.files
from learnable.utils.files import fsync_directory, same_file, sha256_file, staged_file, write_atomically
from learnable.utils.validation import check_distinct_outputs, check_output_path


def _listing(folder):
    return sorted(os.listdir(folder))


# ---- write_atomically ------------------------------------------------------------------------------


@pytest.mark.parametrize(("content", "expected"), [
    (b"\x00bytes\xff", b"\x00bytes\xff"),
    ("text é\n", "text é\n".encode()),
    (lambda handle: handle.write(b"from a callable"), b"from a callable"),
])
def test_writes_bytes_text_or_a_callable(tmp_path, content, expected):
    path = write_atomically(tmp_path / "out.bin", content)
    assert path == tmp_path / "out.bin" and path.read_bytes() == expected
    assert _listing(tmp_path) == ["out.bin"]


def test_replaces_an_existing_file_whole(tmp_path):
    (tmp_path / "out.csv").write_text("old")
    write_atomically(tmp_path / "out.csv", "new")
    assert (tmp_path / "out.csv").read_text() == "new" and _listing(tmp_path) == ["out.csv"]


def test_a_link_planted_at_the_temporary_name_is_never_followed(tmp_path, monkeypatch):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    names = iter(["planted", "free"])
    monkeypatch.setattr(learnable.utils.files.secrets, "token_hex", lambda _: next(names))
    (tmp_path / ".out.csv.planted.tmp").symlink_to(victim)  # the first name tried is taken by a link
    (tmp_path / ".out.csv.tmp").symlink_to(victim)  # the name the old hand-written copies used
    write_atomically(tmp_path / "out.csv", "predictions")
    assert victim.read_text() == "precious"
    assert (tmp_path / "out.csv").read_text() == "predictions" and not (tmp_path / "out.csv").is_symlink()
    assert (tmp_path / ".out.csv.planted.tmp").is_symlink()  # someone else's file: left alone


def test_a_link_at_the_target_is_replaced_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / "out.csv").symlink_to(victim)
    write_atomically(tmp_path / "out.csv", "new")
    assert victim.read_text() == "precious"
    assert not (tmp_path / "out.csv").is_symlink() and (tmp_path / "out.csv").read_text() == "new"


def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path):
    (tmp_path / "out.png").write_bytes(b"old")

    def half_then_fail(handle):
        handle.write(b"half")
        raise RuntimeError("the plot failed")

    with pytest.raises(RuntimeError, match="the plot failed"):
        write_atomically(tmp_path / "out.png", half_then_fail)
    assert (tmp_path / "out.png").read_bytes() == b"old" and _listing(tmp_path) == ["out.png"]


def test_a_failing_rename_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    (tmp_path / "out.csv").write_text("old")

    def broken_replace(source, destination):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match=r"cannot write '.*out.csv': Input/output error. The file is unchanged"):
        write_atomically(tmp_path / "out.csv", "new")
    monkeypatch.undo()
    assert (tmp_path / "out.csv").read_text() == "old" and _listing(tmp_path) == ["out.csv"]


def test_a_disk_full_while_writing_says_so_and_leaves_nothing(tmp_path, monkeypatch):
    def disk_full(handle):
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match=r"No space left on device.*free some space") as caught:
        write_atomically(tmp_path / "out.csv", disk_full)
    assert caught.value.errno == 28 and _listing(tmp_path) == []


def test_an_unwritable_folder_is_a_clear_permission_error(tmp_path, monkeypatch):
    def refused(path, flags, mode=0o777):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(os, "open", refused)  # root ignores chmod: refuse the way a read-only folder does
    with pytest.raises(PermissionError, match=r"cannot write '.*out.csv': Permission denied.*not writable"):
        write_atomically(tmp_path / "out.csv", "new")
    monkeypatch.undo()
    assert _listing(tmp_path) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a POSIX user that permissions apply to")
def test_a_read_only_folder_is_refused_and_left_as_it_was(tmp_path):
    (tmp_path / "out.csv").write_text("old")
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(PermissionError, match="not writable"):
            write_atomically(tmp_path / "out.csv", "new")
    finally:
        tmp_path.chmod(0o755)
    assert (tmp_path / "out.csv").read_text() == "old" and _listing(tmp_path) == ["out.csv"]


def test_a_new_file_has_the_permissions_of_any_new_file(tmp_path):
    write_atomically(tmp_path / "atomic.txt", "x")
    (tmp_path / "plain.txt").write_text("x")
    mode = {name: stat.S_IMODE((tmp_path / name).stat().st_mode) for name in ("atomic.txt", "plain.txt")}
    assert mode["atomic.txt"] == mode["plain.txt"]


def test_the_file_and_its_folder_are_fsynced(tmp_path, monkeypatch):
    synced, fsync = [], os.fsync

    def recording_fsync(descriptor):
        synced.append(os.path.realpath(f"/proc/self/fd/{descriptor}") if os.path.exists("/proc/self/fd") else "?")
        fsync(descriptor)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    write_atomically(tmp_path / "out.csv", "x")
    assert len(synced) == 2
    if synced[1] != "?":
        assert synced[0].startswith(str(tmp_path / ".out.csv.")) and synced[1] == str(tmp_path)


def test_content_of_another_type_is_a_type_error(tmp_path):
    with pytest.raises(TypeError, match="content must be bytes, str or a callable"):
        write_atomically(tmp_path / "out.csv", 3)
    assert _listing(tmp_path) == []


def test_staged_file_lies_beside_the_target_and_is_removed_unless_moved(tmp_path):
    with staged_file(tmp_path / "model.json", "{}") as temporary:
        assert temporary.parent == tmp_path and temporary.name.startswith(".model.json.")
        assert temporary.read_text() == "{}"
    assert _listing(tmp_path) == []
    with staged_file(tmp_path / "model.json", "{}") as temporary:
        os.replace(temporary, tmp_path / "model.json")
    assert _listing(tmp_path) == ["model.json"]


def test_fsync_directory_of_a_missing_folder_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        fsync_directory(tmp_path / "nowhere")


def test_a_long_cjk_name_gets_a_temporary_name_the_file_system_takes(tmp_path):
    """80 CJK characters are 240 bytes; cut by characters (200), the temporary name was over 255 bytes."""
    name = "予測" * 40 + ".csv"
    assert len(name.encode()) == 244
    with staged_file(tmp_path / name, "x") as temporary:
        assert len(temporary.name.encode()) <= 255 and temporary.name.startswith(".予測")
        temporary.name.encode()  # whole characters only: a cut inside one would not encode
    write_atomically(tmp_path / name, "predictions")
    assert (tmp_path / name).read_text() == "predictions" and _listing(tmp_path) == [name]


@pytest.mark.parametrize("code", [errno.EACCES, errno.EPERM])
def test_a_folder_that_cannot_be_opened_for_syncing_still_gets_the_file(tmp_path, monkeypatch, code):
    """A folder of mode 0o333 (write, no read) cannot be opened O_RDONLY; the file is replaced all the same."""
    open_file = os.open

    def refusing_folders(path, flags, *args, **kwargs):
        if os.path.isdir(path):
            raise OSError(code, os.strerror(code), str(path))
        return open_file(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing_folders)
    (tmp_path / "out.csv").write_text("old")
    write_atomically(tmp_path / "out.csv", "new")
    assert (tmp_path / "out.csv").read_text() == "new" and _listing(tmp_path) == ["out.csv"]


def test_fsync_directory_still_raises_other_errors(tmp_path, monkeypatch):
    def failing(path, flags, *args, **kwargs):
        raise OSError(errno.EIO, "Input/output error", str(path))

    monkeypatch.setattr(os, "open", failing)
    with pytest.raises(OSError, match="Input/output error"):
        fsync_directory(tmp_path)


def test_sha256_file_is_hashlibs_digest_of_the_bytes(tmp_path):
    content = os.urandom(3 * 2**20 + 7)  # more than one 1 MB block, and a part block
    (tmp_path / "blob").write_bytes(content)
    assert sha256_file(tmp_path / "blob") == hashlib.sha256(content).hexdigest()


# ---- check_output_path -------------------------------------------------------------------------------


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a,b\n1,2\n")
    return path


def test_the_same_path_is_refused(data):
    with pytest.raises(ValueError, match=r"--out '.*data.csv' is the input '.*data.csv'.*another path for --out"):
        check_output_path(data, inputs=[data])


def test_the_same_file_by_another_spelling_is_refused(data, monkeypatch):
    monkeypatch.chdir(data.parent)
    with pytest.raises(ValueError, match="is the input"):
        check_output_path("data.csv", inputs=[data])  # relative against absolute
    (data.parent / "sub").mkdir()
    with pytest.raises(ValueError, match="is the input"):
        check_output_path("sub/../data.csv", inputs=[data], flag="--labels-out")


def test_a_symlink_to_an_input_is_refused(data):
    (data.parent / "link.csv").symlink_to(data)
    with pytest.raises(ValueError, match="--plot '.*link.csv' is a link or another name for the input"):
        check_output_path(data.parent / "link.csv", inputs=[data], flag="--plot")


def test_a_hard_link_to_an_input_is_refused(data):
    os.link(data, data.parent / "hard.csv")
    with pytest.raises(ValueError, match="is a link or another name for the input"):
        check_output_path(data.parent / "hard.csv", inputs=[None, data])


def test_two_outputs_on_one_path_are_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    check_distinct_outputs({"--out": "model", "--labels-out": "labels.csv", "--plot": None})
    with pytest.raises(ValueError, match="--out and --labels-out name the same path 'x.csv'; give each output"):
        check_distinct_outputs({"--out": tmp_path / "x.csv", "--labels-out": "x.csv"})  # not there yet
    (tmp_path / "real.gif").write_bytes(b"")
    (tmp_path / "link.gif").symlink_to(tmp_path / "real.gif")
    with pytest.raises(ValueError, match="--record and --out name the same path"):
        check_distinct_outputs({"--record": "real.gif", "--out": "link.gif"})


def test_two_outputs_that_are_hard_links_to_one_file_are_refused(tmp_path):
    (tmp_path / "a.csv").write_text("old")
    os.link(tmp_path / "a.csv", tmp_path / "b.csv")
    with pytest.raises(ValueError, match=r"--out '.*a.csv' and --labels-out '.*b.csv' are hard links to one file"):
        check_distinct_outputs({"--out": tmp_path / "a.csv", "--labels-out": tmp_path / "b.csv"})
    (tmp_path / "c.csv").write_text("old")  # equal content, another file
    check_distinct_outputs({"--out": tmp_path / "a.csv", "--labels-out": tmp_path / "c.csv"})


def test_other_outputs_pass(data):
    (data.parent / "copy.csv").write_text(data.read_text())  # equal content, another file
    check_output_path(data.parent / "copy.csv", inputs=[data])
    check_output_path(data.parent / "new.csv", inputs=[data, None, "iris"])  # not there yet; a dataset name
    check_output_path(data.parent, inputs=[data])  # a folder that holds the input is not the input
    assert not same_file(data.parent / "new.csv", data.parent / "new.csv")
