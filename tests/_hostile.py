"""Hostile candidate programs that tests in more than one folder run (``from .._hostile import
...``)."""

from __future__ import annotations

PAGE_TABLES = (
    "import ctypes\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "libc.mmap.restype = ctypes.c_void_p\n"
    "libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,\n"
    "                      ctypes.c_int, ctypes.c_long]\n"
    "def f(n):\n"
    "    got = 0\n"
    "    for i in range(n):\n"
    "        # a page every GiB, at a hint (no privilege): two page-table pages for each\n"
    "        p = libc.mmap((i + 1) << 30, 4096, 3, 0x22, -1, 0)\n"
    "        if p is None or p == ctypes.c_void_p(-1).value:\n"
    "            break\n"
    "        ctypes.c_char.from_address(p).value = b'x'\n"
    "        got += 1\n"
    "    return got\n"
)
