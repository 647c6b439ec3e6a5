#!/usr/bin/env python3
"""Print an ELF32 file's flash and RAM section sizes: ".text rodata data bss" (bytes).

.text counts every executable allocated section (.text, .init.rust, .trap), .rodata the read-only
ones, .data the writable initialised ones, .bss the writable NOBITS ones except the stack and
heap regions riscv-rt describes (they are measured at run time)."""
import struct
import sys

def main(path):
    with open(path, "rb") as f:
        elf = f.read()
    if elf[:4] != b"\x7fELF" or elf[4] != 1:
        sys.exit(f"{path}: not a 32-bit ELF file")
    e = "<" if elf[5] == 1 else ">"
    shoff, = struct.unpack_from(e + "I", elf, 0x20)
    shentsize, shnum, shstrndx = struct.unpack_from(e + "HHH", elf, 0x2E)
    def section(i):
        return struct.unpack_from(e + "IIIIIIIIII", elf, shoff + i * shentsize)
    strtab = section(shstrndx)
    def name(off):
        start = strtab[4] + off
        return elf[start:elf.index(b"\0", start)].decode()
    text = rodata = data = bss = 0
    for i in range(shnum):
        n, kind, flags, _, _, size = section(i)[:6]
        nm = name(n)
        if not flags & 0x2 or nm in (".stack", ".heap"):  # not allocated, or run-time regions
            continue
        if flags & 0x4:
            text += size
        elif kind == 8:  # NOBITS
            bss += size
        elif flags & 0x1:
            data += size
        else:
            rodata += size
    print(text, rodata, data, bss)

if __name__ == "__main__":
    main(sys.argv[1])
