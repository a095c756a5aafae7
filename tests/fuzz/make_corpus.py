#!/usr/bin/env python3
"""Regenerates the committed seed corpora in corpus/<target>/ (run from
anywhere; deterministic). Seeds are small: pieces of the test traces in
tests/data and damaged variants (truncated, byte-flipped, deep nesting,
overflowing clocks), the cases the hostile-input tests cover."""
import json
import os
import random
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")
KERNEL = os.path.join(DATA, "tracevizlab-simple-kernel-8cpu")


def out_dir(name):
    d = os.path.join(HERE, "corpus", name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def write(d, name, data):
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def flip(data, seed, n=8):
    rng = random.Random(seed)
    b = bytearray(data)
    for _ in range(n):
        b[rng.randrange(len(b))] = rng.randrange(256)
    return bytes(b)


def metadata_text(path):
    """TSDL text of a plain or packetized metadata file."""
    raw = open(path, "rb").read()
    if raw[:6] == b"/* CTF":
        return raw.decode()
    text, off = b"", 0
    while off + 37 <= len(raw):
        content, packet = struct.unpack_from("<II", raw, off + 24)
        text += raw[off + 37:off + content // 8]
        off += packet // 8
    return text.decode()


def head_blocks(text, limit):
    """The longest prefix of whole top-level blocks within `limit` bytes."""
    cut = text.rfind("};\n", 0, limit)
    return text[:cut + 3] if cut > 0 else text[:limit]


MINIMAL = """/* CTF 1.8 */
typealias integer { size = 8; align = 8; signed = false; } := uint8_t;
typealias integer { size = 32; align = 8; signed = false; } := uint32_t;
trace { major = 1; minor = 8; byte_order = le;
  packet.header := struct { uint32_t magic; uint32_t stream_id; }; };
clock { name = "monotonic"; freq = 1000000000; offset_s = %s; };
typealias integer { size = 64; align = 8; signed = false;
  map = clock.monotonic.value; } := uint64_clock_t;
stream { id = 0; packet.context := struct { uint64_clock_t timestamp_begin;
  uint32_t content_size; uint32_t packet_size; };
  event.header := struct { enum : uint8_t { compact = 0 ... 30, extended = 31 } id;
    variant <id> { struct { uint32_t timestamp; } compact;
                   struct { uint32_t id; uint64_clock_t timestamp; } extended; } v; }; };
event { name = "ev"; id = 0; stream_id = 0;
  fields := struct { %s }; };
"""


def tsdl():
    d = out_dir("tsdl")
    kernel = metadata_text(os.path.join(KERNEL, "metadata"))
    perf = metadata_text(os.path.join(DATA, "perf-kvm-tinyguest-2cpu",
                                      "metadata"))
    write(d, "kernel-head", head_blocks(kernel, 12000))
    write(d, "perf-head", head_blocks(perf, 12000))
    write(d, "kernel-head-truncated", head_blocks(kernel, 12000)[:7000])
    write(d, "kernel-head-flipped", flip(head_blocks(kernel, 12000).encode(), 1))
    write(d, "minimal", MINIMAL % ("1500000000", "uint32_t x; string s;"))
    write(d, "arrays", MINIMAL % ("0", "uint8_t n; uint32_t a[4][2]; "
                                  "uint8_t s[n]; struct { uint8_t y; } t[n];"))
    write(d, "clock-overflow", MINIMAL % ("9223372036854775807", "uint32_t x;"))
    write(d, "clock-huge", MINIMAL % ("99999999999999999999", "uint32_t x;"))
    for n in (63, 70, 1000):
        write(d, "nested-%d" % n, MINIMAL % (
            "0", "struct { " * n + "uint32_t x;" + " } a;" * n))
    write(d, "enum-chain", MINIMAL % ("0", "enum : " * 200 + "uint8_t { A } e;"))
    write(d, "array-dims", MINIMAL % ("0", "uint8_t a" + "[1]" * 200 + ";"))
    chain = "".join("typealias struct { s%d x; } := s%d;\n" % (i - 1, i)
                    for i in range(1, 80))
    write(d, "alias-chain", MINIMAL.replace(
        "trace {", "typealias struct { uint8_t x; } := s0;\n" + chain +
        "trace {", 1) % ("0", "s79 v;"))
    bomb = "".join("typealias struct { d%d l; d%d r; } := d%d;\n" % (i - 1, i - 1, i)
                   for i in range(1, 41))
    write(d, "alias-bomb", MINIMAL.replace(
        "trace {", "typealias struct { uint8_t x; } := d0;\n" + bomb + "trace {",
        1).replace("uint32_t stream_id; }", "uint32_t stream_id; d40 b; }")
        % ("0", "uint32_t x;"))


def ctf_stream():
    d = out_dir("ctf_stream")
    for name in ("k_0", "k_1", "k_3", "k_7"):
        data = open(os.path.join(KERNEL, name), "rb").read()
        write(d, name + "-head", data[:8192])
        write(d, name + "-truncated", data[:3000])
        write(d, name + "-flipped", flip(data[:8192], sum(name.encode())))
    write(d, "packet-header-only", open(os.path.join(KERNEL, "k_0"), "rb").read()[:40])
    write(d, "empty", b"")


def tsp_query():
    d = out_dir("tsp_query")
    bodies = {
        "timerange": {"parameters": {"requested_timerange":
                      {"start": 0, "end": 1000000, "nbTimes": 100},
                      "requested_items": [1, 2, 3]}},
        "times": {"parameters": {"requested_times": [5, 1, 9, 3]}},
        "huge": {"parameters": {"requested_timerange":
                 {"start": -9223372036854775808, "end": 9223372036854775807,
                  "nbTimes": 65536}}},
        "reversed": {"parameters": {"requested_timerange":
                     {"start": 10, "end": 1, "nbTimes": 2}}},
        "bad-types": {"parameters": {"requested_timerange":
                      {"start": "0", "end": 1.5, "nbTimes": -1},
                      "requested_items": [1, "x", None]}},
        "element": {"parameters": {"requested_element": [7, 9007199254740993]}},
        "table": {"parameters": {"requested_table_index": 0,
                  "requested_table_count": 100, "requested_table_column_ids": [0, 1],
                  "table_search_expressions": {"1": "sched.*"}}},
        "empty-params": {"parameters": None},
        "empty": {},
    }
    for name, body in bodies.items():
        write(d, name, json.dumps(body))
    write(d, "not-json", '{"parameters": {"requested_items": [1, 2')
    write(d, "nested", '{"parameters":{"x":' + "[" * 200 + "]" * 200 + "}}")
    write(d, "utf8", '{"parameters":{"name":"\\u00e9\\ud83d\\ude00"}}')


if __name__ == "__main__":
    tsdl()
    ctf_stream()
    tsp_query()
