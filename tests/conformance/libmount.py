"""The part of util-linux's Python binding (pylibmount) that crun's
test_mounts.py uses, which Debian does not package: Table(PATH) reads a
mountinfo file, find_target(PATH) gives the mount on top at PATH (the last
in the file, as libmount searches backwards), and its vfs_options (the
mount's own options) and fs_options (the superblock's). Without it the
program skips its 19 checks."""


def _unescape(field):
    # mountinfo escapes space, tab, newline and backslash as \ooo.
    out = ""
    i = 0
    while i < len(field):
        if field[i] == "\\" and field[i + 1:i + 4].isdigit():
            out += chr(int(field[i + 1:i + 4], 8))
            i += 4
        else:
            out += field[i]
            i += 1
    return out


class Fs:
    def __init__(self, line):
        mine, sb = line.split(" - ", 1)
        f = mine.split()
        self.target = _unescape(f[4])
        self.vfs_options = f[5]
        s = sb.split()
        self.fstype = s[0]
        self.source = _unescape(s[1])
        self.fs_options = s[2] if len(s) > 2 else ""


class Table:
    def __init__(self, path):
        with open(path) as f:
            self._fs = [Fs(line) for line in f if " - " in line]

    def find_target(self, path):
        for fs in reversed(self._fs):
            if fs.target == path:
                return fs
        return None
