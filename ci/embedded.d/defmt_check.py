#!/usr/bin/env python3
"""Decode the defmt firmware's console (defmt frames on the UART) with defmt-print and check that
the core's and the runtime's decisions were logged: start-up, a client error, a request refused
by the worker, and a request-head timeout (408).

  defmt_check.py FIRMWARE.elf CONSOLE.bin
"""
import subprocess
import sys

EXPECTED = [
    "eventmpm starting: port 80",          # os-embedded, at start-up
    "client error: request head refused with 400",  # core::conn, the listener's 400
    "request failed: client sent HTTP/1.1 request without hostname",  # the worker's 400
    "request head timed out after",         # core::conn, the 408
]


def main(elf, log):
    with open(log, "rb") as f:
        frames = f.read()
    out = subprocess.run(
        ["defmt-print", "-e", elf], input=frames, capture_output=True, timeout=60
    )
    text = out.stdout.decode("utf-8", "replace")
    lines = [l for l in text.splitlines() if l.strip()]
    print(f"defmt: {len(frames)} bytes of frames decoded into {len(lines)} lines")
    for l in lines[:12]:
        print("    " + l)
    missing = [e for e in EXPECTED if e not in text]
    for e in missing:
        print(f"FAIL defmt log lacks: {e}")
    print(f"{len(EXPECTED) - len(missing)} passed, {len(missing)} failed")
    sys.exit(1 if missing else 0)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
