#!/usr/bin/env python3
"""Write the hostile-archive suite into DIR and a manifest (DIR/manifest.json).

Every archive is one way a model.tar.gz can attack or fool a reader: escapes out of the
extraction directory, links, device nodes, set-id bits, decompression bombs, sparse or huge
entries, broken framing, name tricks, other formats disguised as .tar.gz. The manifest gives,
for each file, the finding code `smxgb verify` must report (and exit 1 for).

Only the standard library and the zstd command are used, so the suite can be rebuilt anywhere
the tests run. Output is deterministic (fixed mtimes, no gzip timestamps).
"""
import bz2
import gzip
import io
import json
import lzma
import os
import subprocess
import sys
import tarfile
import zipfile
import zlib

MODEL = b"binf" + b"\0" * 136  # bytes that look like a model file; content does not matter here


def gz(data):
    return gzip.compress(data, compresslevel=6, mtime=0)


def tar_bytes(members, fmt=tarfile.PAX_FORMAT):
    """members: list of (TarInfo, data or None)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for ti, data in members:
            ti.mtime = 0
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def f(name, data=MODEL, mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = mode
    return (ti, data)


def special(name, kind, linkname="", mode=0o644, major=0, minor=0):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.linkname = linkname
    ti.mode = mode
    ti.devmajor, ti.devminor = major, minor
    return (ti, None)


def checksum(block):
    return sum(block[:148]) + 8 * 32 + sum(block[156:512])


def raw_header(name, size, typeflag=b"0", size_field=None):
    """A ustar header built by hand (for sizes and fields tarfile will not write)."""
    h = bytearray(512)
    h[0:len(name)] = name
    h[100:108] = b"0000644\0"
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:136] = size_field if size_field is not None else b"%011o\0" % size
    h[136:148] = b"00000000000\0"
    h[156:157] = typeflag
    h[257:263] = b"ustar\0"
    h[263:265] = b"00"
    h[148:156] = b"%06o\0 " % checksum(h)
    return bytes(h)


def bomb(ratio_target=1000, size=256 << 20):
    """One entry of `size` zero bytes: gzip shrinks it about 1000:1."""
    ti = tarfile.TarInfo("xgboost-model")
    ti.size = size
    ti.mtime = 0
    hdr = ti.tobuf(format=tarfile.USTAR_FORMAT)
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [c.compress(hdr)]
    chunk = b"\0" * (1 << 20)
    for _ in range(size >> 20):
        out.append(c.compress(chunk))
    out.append(c.compress(b"\0" * 1024))
    out.append(c.flush())
    data = b"".join(out)
    # gzip header: zero the mtime so the file is deterministic
    return data[:4] + b"\0\0\0\0" + data[8:]


def sparse_pax():
    """A GNU sparse 1.0 (pax) entry that claims 1 TiB of data but stores 1 byte."""
    realsize = 1 << 40
    sparse_map = b"1\n%d\n1\n" % (realsize - 1)
    sparse_map += b"\0" * (512 - len(sparse_map))
    data = sparse_map + b"x"
    ti = tarfile.TarInfo("GNUSparseFile.0/xgboost-model")
    ti.size = len(data)
    ti.pax_headers = {
        "GNU.sparse.major": "1",
        "GNU.sparse.minor": "0",
        "GNU.sparse.name": "xgboost-model",
        "GNU.sparse.realsize": str(realsize),
    }
    return tar_bytes([(ti, data)])


def huge_declared():
    """A header that declares an 8 TiB file (base-256 size field), followed by nothing."""
    size = 8 << 40
    field = bytes([0x80]) + size.to_bytes(11, "big")
    return raw_header(b"xgboost-model", 0, size_field=field) + b"\0" * 1024


def bad_checksum(entry=0):
    """Break the header checksum of the first or the second entry."""
    t = bytearray(tar_bytes([f("xgboost-model"), f("notes.txt", b"n")], fmt=tarfile.USTAR_FORMAT))
    off = 0 if entry == 0 else 512 + 512  # header, data block, header
    t[off + 148:off + 156] = b"0000001\0"
    return bytes(t)


def many_entries(n=100_000):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for i in range(n):
            ti = tarfile.TarInfo("f%06d" % i)
            ti.size = 1
            ti.mtime = 0
            t.addfile(ti, io.BytesIO(b"x"))
    return buf.getvalue()


def gnu_longname(name):
    return tar_bytes([f(name)], fmt=tarfile.GNU_FORMAT)


def pax_override(path):
    """The ustar name says xgboost-model; the pax 'path' record (which wins) says otherwise."""
    ti, data = f("xgboost-model")
    ti.pax_headers = {"path": path}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        ti.mtime = 0
        t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def zip_bytes():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo("xgboost-model", (1980, 1, 1, 0, 0, 0)), MODEL)
    return buf.getvalue()


def zstd_bytes(data):
    return subprocess.run(["zstd", "-q", "-c"], input=data, stdout=subprocess.PIPE,
                          check=True).stdout


def truncated():
    whole = gz(tar_bytes([f("xgboost-model", os.urandom(0) + bytes(range(256)) * 64)]))
    return whole[: len(whole) // 2]


def bad_crc():
    g = bytearray(gz(tar_bytes([f("xgboost-model")])))
    g[-8] ^= 0xFF  # CRC32 of the trailer
    return bytes(g)


def garbage_after_tar():
    return gz(tar_bytes([f("xgboost-model")])) + b"this is not gzip at all" * 10


def cases():
    model = [f("xgboost-model")]
    yield "dotdot", "entry-dotdot", gz(tar_bytes(model + [f("../smxgb-escaped")]))
    yield "dotdot-deep", "entry-dotdot", gz(tar_bytes(model + [f("a/b/../../../smxgb-escaped")]))
    yield "absolute", "entry-absolute-path", gz(tar_bytes(
        [f("xgboost-model")], fmt=tarfile.USTAR_FORMAT)[:0] + raw_header(
            b"/tmp/smxgb-escaped-absolute", len(MODEL)) + MODEL + b"\0" * (512 - len(MODEL))
        + b"\0" * 1024)
    yield "symlink-out", "entry-symlink", gz(tar_bytes(
        [special("xgboost-model", tarfile.SYMTYPE, "/etc/passwd")]))
    yield "symlink-dir-escape", "entry-symlink", gz(tar_bytes(
        [special("d", tarfile.SYMTYPE, ".."), f("d/smxgb-escaped"), f("xgboost-model")]))
    yield "hardlink-out", "entry-hardlink", gz(tar_bytes(
        [special("xgboost-model", tarfile.LNKTYPE, "/etc/passwd")]))
    yield "hardlink-inside", "entry-hardlink", gz(tar_bytes(
        model + [special("copy", tarfile.LNKTYPE, "xgboost-model")]))
    yield "chardev", "entry-device", gz(tar_bytes(
        model + [special("null", tarfile.CHRTYPE, major=1, minor=3)]))
    yield "blockdev", "entry-device", gz(tar_bytes(
        model + [special("sda", tarfile.BLKTYPE, major=8, minor=0)]))
    yield "fifo", "entry-special", gz(tar_bytes(model + [special("pipe", tarfile.FIFOTYPE)]))
    yield "setuid", "entry-setid", gz(tar_bytes([f("xgboost-model", mode=0o4755)]))
    yield "setgid-sticky", "entry-setid", gz(tar_bytes([f("xgboost-model", mode=0o3755)]))
    yield "gzip-bomb", "limit-ratio", bomb()
    yield "sparse-huge", "limit-entry-bytes", gz(sparse_pax())
    yield "declared-8TiB", "limit-entry-bytes", gz(huge_declared())
    yield "truncated-gzip", "archive-truncated", truncated()
    yield "bad-gzip-crc", "archive-corrupt", bad_crc()
    yield "bad-tar-checksum-first", "archive-corrupt", gz(bad_checksum(0))
    yield "bad-tar-checksum-second", "archive-corrupt", gz(bad_checksum(1))
    yield "garbage-after-gzip", "archive-corrupt", garbage_after_tar()
    yield "100k-entries", "limit-entries", gz(many_entries())
    yield "name-10KB", "entry-name-too-long", gz(tar_bytes(model + [f("n" * 10240)]))
    yield "duplicate-model", "entry-duplicate", gz(tar_bytes(
        [f("xgboost-model"), f("xgboost-model", MODEL + b"other")]))
    yield "pax-path-dotdot", "entry-dotdot", gz(pax_override("../smxgb-escaped"))
    yield "pax-path-absolute", "entry-absolute-path", gz(pax_override("/tmp/smxgb-escaped-pax"))
    yield "gnu-longname-dotdot", "entry-dotdot", gz(gnu_longname("x" * 120 + "/../../smxgb-escaped"))
    yield "gnu-longname-300", "entry-name-too-long", gz(gnu_longname("y" * 300))
    yield "control-chars", "entry-bad-name", gz(tar_bytes(model + [f("evil\x1b[2Jname")]))
    yield "zip-disguised", "archive-not-gzip", zip_bytes()
    yield "zstd-disguised", "archive-not-gzip", zstd_bytes(tar_bytes(model))
    yield "xz-disguised", "archive-not-gzip", lzma.compress(tar_bytes(model))
    yield "bzip2-disguised", "archive-not-gzip", bz2.compress(tar_bytes(model))
    yield "plain-tar", "archive-not-gzip", tar_bytes(model)
    yield "gzipped-model", "archive-not-tar", gz(MODEL * 8)
    yield "empty-archive", "archive-empty", gz(b"\0" * 10240)
    yield "directory-only", "layout-no-model", gz(tar_bytes(
        [special("model", tarfile.DIRTYPE, mode=0o755)]))
    yield "model-in-subdir", "layout-no-model", gz(tar_bytes(
        [special("model", tarfile.DIRTYPE, mode=0o755), f("model/xgboost-model")]))
    yield "zero-bytes", "archive-empty-file", b""
    yield "empty-model", "layout-empty-model", gz(tar_bytes([f("xgboost-model", b"")]))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_hostile.py DIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    manifest = []
    for name, code, data in cases():
        fn = name + ".tar.gz"
        with open(os.path.join(out, fn), "wb") as fh:
            fh.write(data)
        manifest.append({"file": fn, "code": code})
    with open(os.path.join(out, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)


if __name__ == "__main__":
    main()
