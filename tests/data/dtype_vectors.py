#!/usr/bin/env python3
"""Reference vectors for tests/test_dtype.c, written to tests/data/dtype_vectors.h.

Every expected value here is derived from the format definitions with exact rational
arithmetic (fractions.Fraction) and an explicit IEEE round-to-nearest-even, not from
tokvec's C code:

  * binary16 / bfloat16 / float32: IEEE 754 (sign, biased exponent, fraction; subnormals
    below the smallest normal; infinities and NaN at the all-ones exponent).
  * FP8 E4M3 (OCP "e4m3fn"), E5M2, E8M0 and E2M1 (F4): the OCP 8-bit floating point and
    microscaling (MX) v1.0 specifications; E4M3FNUZ / E5M2FNUZ: bias 8 / 16, 0x80 is the
    only NaN, no infinities, no negative zero.
  * F4 packing: PyTorch's float4_e2m1fn_x2, element 2k in bits 0-3 of byte k.
  * ggml blocks: the layouts of ggml-common.h, built here in the packing direction (the
    way ggml's quantize_row_*_ref lays out bytes) from chosen levels and scales; each
    expected float is the format's formula with every product and sum rounded to float32
    in the order ggml's dequantize_row_* evaluates it.
  * Q8_0 / Q4_0 quantisation: ggml's rule (scale from the largest magnitude, reciprocal
    once per block, Q8_0 rounds half away from zero, Q4_0 truncates x/d + 8.5 capped at
    15, scale stored as binary16 rounded to nearest even), float32 rounding at each step.

Python standard library only. Run:  python3 tests/data/dtype_vectors.py > tests/data/dtype_vectors.h
(with TOKVEC_REAL_FIXTURES pointing at the real fixtures, or ../shared/fixtures/real).
"""

import math
import os
import struct
import sys
import zlib
from fractions import Fraction as Fr

# ---------------------------------------------------------------------------------
# IEEE helpers on exact values


def round_to_format(x, mant_bits, emin, emax, overflow_inf=True):
    """Rounds the exact rational x to the nearest value with mant_bits fraction bits,
    exponents emin..emax (normal range), subnormals below 2^emin; ties to even.
    Returns a Fraction, or +-inf as a float when it overflows."""
    if x == 0:
        return Fr(0)
    sign = -1 if x < 0 else 1
    a = abs(x)
    # exponent e with 2^e <= a < 2^(e+1)
    e = a.numerator.bit_length() - a.denominator.bit_length()
    if Fr(2) ** e > a:
        e -= 1
    e = max(e, emin)  # subnormals share the smallest exponent's quantum
    quantum = Fr(2) ** (e - mant_bits)
    q, r = divmod(a, quantum)
    q = int(q)
    if r * 2 > quantum or (r * 2 == quantum and q % 2 == 1):
        q += 1
    v = q * quantum
    largest = (2 - Fr(2) ** -mant_bits) * Fr(2) ** emax
    if v > largest:
        return sign * math.inf
    return sign * v


def r32(x):
    """float32 rounding of an exact value (Fraction)."""
    if isinstance(x, float):
        return x
    return round_to_format(x, 23, -126, 127)


def f32r(x):
    """float32 rounding of a Python float (binary64). A float32 result of one +, -, * or /
    on float32 operands computed in binary64 and rounded once more is still correctly
    rounded (binary64 has more than twice float32's precision), and keeps IEEE's signed
    zeros, which Fractions cannot."""
    if math.isinf(x) or math.isnan(x):
        return x
    try:
        return struct.unpack("<f", struct.pack("<f", x))[0]
    except OverflowError:
        return math.copysign(math.inf, x)


def fmul(a, b):
    return f32r(float(a) * float(b))


def fadd(a, b):
    return f32r(float(a) + float(b))


def f32_bits(v):
    """Bits of a float32 value given as Fraction or float (inf/nan)."""
    if isinstance(v, float) and math.isnan(v):
        return 0x7FC00000
    if isinstance(v, Fr):
        v = float(v)  # exact: every float32 is a double
    return struct.unpack("<I", struct.pack("<f", v))[0]


def f32_from_bits(u):
    return struct.unpack("<f", struct.pack("<I", u))[0]


def exact(v):
    """A finite float as a Fraction."""
    return Fr(v)


def decode_float(code, ebits, mbits, bias, ieee_specials=True):
    """Value of a sign/exponent/mantissa code per IEEE rules; returns Fraction, or float
    inf/nan. With ieee_specials False the all-ones exponent is an ordinary binade."""
    sign = -1 if code >> (ebits + mbits) & 1 else 1
    e = (code >> mbits) & ((1 << ebits) - 1)
    m = code & ((1 << mbits) - 1)
    if ieee_specials and e == (1 << ebits) - 1:
        return sign * math.inf if m == 0 else math.nan
    if e == 0:
        return sign * Fr(m, 1 << mbits) * Fr(2) ** (1 - bias)
    return sign * (1 + Fr(m, 1 << mbits)) * Fr(2) ** (e - bias)


def half_value(h):
    return decode_float(h, 5, 10, 15)


def half_rne(x):
    """binary16 bits of the exact value x (Fraction), round to nearest even."""
    v = round_to_format(x, 10, -14, 15)
    sign = 0x8000 if x < 0 else 0
    if isinstance(v, float):
        return sign | 0x7C00
    a = abs(v)
    if a == 0:
        return sign
    if a < Fr(2) ** -14:
        return sign | int(a / Fr(2) ** -24)
    e = a.numerator.bit_length() - a.denominator.bit_length()
    if Fr(2) ** e > a:
        e -= 1
    m = int((a / Fr(2) ** e - 1) * 1024)
    return sign | (e + 15) << 10 | m


def bf16_rne(x):
    v = round_to_format(x, 7, -126, 127)
    sign = 0x8000 if x < 0 else 0
    if isinstance(v, float):
        return sign | 0x7F80
    return (f32_bits(abs(v)) >> 16) | sign


# ---------------------------------------------------------------------------------
# output


out = []


def emit(line=""):
    out.append(line)


def c_array(ctype, name, values, fmt="0x%08x", per_line=8):
    emit("static const %s %s[%d] = {" % (ctype, name, len(values)))
    for i in range(0, len(values), per_line):
        emit("    " + ", ".join(fmt % v for v in values[i:i + per_line]) + ",")
    emit("};")


def crc_u16(values):
    return zlib.crc32(b"".join(struct.pack("<H", v) for v in values))


def crc_u32(values):
    return zlib.crc32(b"".join(struct.pack("<I", v) for v in values))


class Lcg:
    """64-bit LCG (Knuth's MMIX constants); the C test runs the same one."""

    def __init__(self, seed):
        self.s = seed & (2**64 - 1)

    def next32(self):
        self.s = (self.s * 6364136223846793005 + 1442695040888963407) & (2**64 - 1)
        return self.s >> 32


# ---------------------------------------------------------------------------------
# binary16 decode: every code


def expected_f16_to_f32_bits(h):
    v = half_value(h)
    sign = (h & 0x8000) << 16
    if isinstance(v, float) and math.isnan(v):
        return sign | 0x7FC00000 | (h & 0x3FF) << 13  # quieted, payload kept
    if isinstance(v, float):
        return sign | 0x7F800000
    if v == 0:
        return sign
    return f32_bits(v)


def section_f16():
    allbits = [expected_f16_to_f32_bits(h) for h in range(65536)]
    # cross-check against Python's own binary16 codec for every non-NaN code
    for h in range(65536):
        if (h & 0x7C00) == 0x7C00 and (h & 0x3FF):
            continue
        py = struct.unpack("<e", struct.pack("<H", h))[0]
        assert f32_bits(py) == allbits[h], hex(h)
    emit("/* binary16 -> binary32 for all 65536 codes: CRC-32 of the expected float bits")
    emit("   (a NaN keeps sign and payload and gets the quiet bit, as F16C and ggml do) */")
    emit("#define F16_ALL_TO_F32_CRC 0x%08xu" % crc_u32(allbits))
    picks = [0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x0400, 0x3C00, 0xBC00, 0x3C01, 0x7BFF,
             0xFBFF, 0x7C00, 0xFC00, 0x7E00, 0xFE00, 0x7C01, 0x7FFF, 0x3555, 0x0200, 0xC000]
    emit("static const uint16_t f16_codes[%d] = {%s};" % (len(picks), ", ".join("0x%04x" % p for p in picks)))
    c_array("uint32_t", "f16_codes_f32", [allbits[p] for p in picks])
    emit()


# ---------------------------------------------------------------------------------
# float32 -> binary16 / bfloat16 rounding


def f32_inputs_for_rounding():
    """Inputs that exercise every rounding case: for every finite half h the float32
    values at the midpoint to the next half and one float ulp either side, plus random
    patterns. The C test rebuilds the same list."""
    vals = []
    for h in range(0, 0x7C00):
        lo = half_value(h)
        hi = half_value(h + 1) if h + 1 < 0x7C00 else Fr(65536)
        mid = f32_bits((lo + hi) / 2)  # exact in float32: halves have 11 bits
        for u in (mid - 1, mid, mid + 1):
            vals.append(u)
            vals.append(u | 0x80000000)
    rng = Lcg(0x5EED)
    for _ in range(100000):
        vals.append(rng.next32())
    return vals


def expected_f32_to_f16(u):
    f = f32_from_bits(u)
    if math.isnan(f):
        return ((u >> 16) & 0x8000) | 0x7E00 | ((u >> 13) & 0x3FF)
    if math.isinf(f):
        return ((u >> 16) & 0x8000) | 0x7C00
    return half_rne(exact(f)) | ((u >> 16) & 0x8000)  # the sign survives rounding to 0


def expected_f32_to_bf16(u):
    f = f32_from_bits(u)
    if math.isnan(f):
        return (u >> 16) | 0x40
    if math.isinf(f):
        return u >> 16
    b = bf16_rne(exact(f))
    return b | ((u >> 16) & 0x8000)


def section_rounding():
    vals = f32_inputs_for_rounding()
    halves = [expected_f32_to_f16(u) for u in vals]
    # Python's binary16 packer rounds to nearest even too: they must agree where it can
    for u, h in zip(vals, halves):
        f = f32_from_bits(u)
        if math.isnan(f):
            continue
        try:
            py = struct.unpack("<H", struct.pack("<e", f))[0]
        except OverflowError:
            py = ((u >> 16) & 0x8000) | 0x7C00
        assert py == h, (hex(u), hex(py), hex(h))
    bfs = [expected_f32_to_bf16(u) for u in vals]
    emit("/* float32 -> binary16 / bfloat16 of the inputs test_dtype.c rebuilds: every half's")
    emit("   midpoint and its neighbours (both signs), then 100000 LCG patterns (seed 0x5EED) */")
    emit("#define ROUNDING_INPUTS %d" % len(vals))
    emit("#define F32_TO_F16_CRC 0x%08xu" % crc_u16(halves))
    emit("#define F32_TO_BF16_CRC 0x%08xu" % crc_u16(bfs))
    # readable cases
    cases = [
        (Fr(1), "1"), (Fr(-2), "-2"), (Fr(0), "0"), (1 + Fr(1, 2048), "1 + 2^-11: tie, stays even"),
        (1 + Fr(3, 2048), "1 + 3*2^-11: tie, rounds up to even"), (Fr(65504), "largest half"),
        (Fr(65519), "65519 rounds down"), (Fr(65520), "65520: tie, rounds to infinity"),
        (Fr(2) ** -24, "smallest subnormal"), (Fr(2) ** -25, "2^-25: tie, rounds to 0"),
        (Fr(3, 2) * Fr(2) ** -25, "1.5 * 2^-25 rounds up to 2^-24"),
        (Fr(2) ** -14 - Fr(2) ** -25, "rounds up to the smallest normal"),
        (Fr(1, 3), "1/3"), (Fr(100000), "overflow"),
    ]
    emit("static const struct { uint32_t f32; uint16_t f16; uint16_t bf16; } round_cases[] = {")
    for v, why in cases:
        u = f32_bits(r32(v))
        emit("    {0x%08x, 0x%04x, 0x%04x}, /* %s */" % (u, expected_f32_to_f16(u), expected_f32_to_bf16(u), why))
    for u, why in [(0x80000000, "-0"), (0x7F800000, "+inf"), (0xFF800000, "-inf"),
                   (0x7FC00000, "quiet NaN"), (0xFF812345, "negative signalling NaN with payload"),
                   (0x00000001, "smallest float32 subnormal"), (0x7F7FFFFF, "largest float32"),
                   (0x3F80_8000, "bf16 tie, stays even"), (0x3F81_8000, "bf16 tie, rounds up"),
                   (0x3F80_8001, "bf16 just above the tie")]:
        emit("    {0x%08x, 0x%04x, 0x%04x}, /* %s */" % (u, expected_f32_to_f16(u), expected_f32_to_bf16(u), why))
    emit("};")
    emit()


# ---------------------------------------------------------------------------------
# 8-bit and 4-bit float formats: every code


def fp8_table(kind):
    vals = []
    for c in range(256):
        if kind == "e4m3fn":
            v = decode_float(c, 4, 3, 7, ieee_specials=False)
            if c & 0x7F == 0x7F:
                v = math.nan
        elif kind == "e5m2":
            v = decode_float(c, 5, 2, 15)
        elif kind == "e4m3fnuz":
            v = math.nan if c == 0x80 else decode_float(c, 4, 3, 8, ieee_specials=False)
        elif kind == "e5m2fnuz":
            v = math.nan if c == 0x80 else decode_float(c, 5, 2, 16, ieee_specials=False)
        elif kind == "e8m0":
            v = math.nan if c == 0xFF else Fr(2) ** (c - 127)
        if isinstance(v, float) and math.isnan(v):
            vals.append(0x7FC00000)  # the test checks NaN entries with isnan
        elif isinstance(v, float):
            vals.append(0x7F800000 | (0x80000000 if v < 0 else 0))
        else:
            bits = f32_bits(v)
            if v == 0 and c & 0x80:
                bits |= 0x80000000
            vals.append(bits)
    return vals


def section_small_floats():
    emit("/* 8-bit float codes -> float32 bits (0x7fc00000 marks NaN: compared with isnan) */")
    for kind, name in [("e4m3fn", "f8_e4m3_f32"), ("e5m2", "f8_e5m2_f32"), ("e8m0", "f8_e8m0_f32"),
                       ("e4m3fnuz", "f8_e4m3fnuz_f32"), ("e5m2fnuz", "f8_e5m2fnuz_f32")]:
        c_array("uint32_t", name, fp8_table(kind))
    e2m1 = []
    for c in range(16):
        v = decode_float(c, 2, 1, 1, ieee_specials=False)
        bits = f32_bits(v)
        if v == 0 and c & 8:
            bits |= 0x80000000
        e2m1.append(bits)
    emit("/* E2M1 codes 0..15 -> float32 bits */")
    c_array("uint32_t", "f4_e2m1_f32", e2m1)
    emit()


# ---------------------------------------------------------------------------------
# ggml blocks, built in the packing direction


IQ4NL_LEVELS = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]
E2M1_DOUBLED = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12]


def h16(x):
    """binary16 bits of a value that is exactly a half (asserted)."""
    h = half_rne(Fr(x))
    assert half_value(h) == Fr(x), x
    return h


def le16(v):
    return [v & 0xFF, v >> 8 & 0xFF]


def random_half(rng, lo_exp=-8, hi_exp=1):
    """A finite positive binary16 value 2^e * (1 + m/1024), e in lo_exp..hi_exp."""
    e = lo_exp + rng.next32() % (hi_exp - lo_exp + 1)
    m = rng.next32() % 1024
    return (1 + Fr(m, 1024)) * Fr(2) ** e


def block_q4_0(rng):
    d = -random_half(rng)
    L = [rng.next32() % 16 for _ in range(32)]
    b = le16(h16(d)) + [L[j] | L[j + 16] << 4 for j in range(16)]
    y = [fmul(d, L[i] - 8) for i in range(32)]
    return b, y


def block_q4_1(rng):
    d, m = random_half(rng), -random_half(rng)
    L = [rng.next32() % 16 for _ in range(32)]
    b = le16(h16(d)) + le16(h16(m)) + [L[j] | L[j + 16] << 4 for j in range(16)]
    y = [fadd(fmul(d, L[i]), m) for i in range(32)]
    return b, y


def pack_q5(L):
    qh = 0
    for j in range(32):
        qh |= (L[j] >> 4 & 1) << j
    return [qh >> s & 0xFF for s in (0, 8, 16, 24)], [(L[j] & 15) | (L[j + 16] & 15) << 4 for j in range(16)]


def block_q5_0(rng):
    d = random_half(rng)
    L = [rng.next32() % 32 for _ in range(32)]
    qh, qs = pack_q5(L)
    b = le16(h16(d)) + qh + qs
    y = [fmul(d, L[i] - 16) for i in range(32)]
    return b, y


def block_q5_1(rng):
    d, m = random_half(rng), -random_half(rng)
    L = [rng.next32() % 32 for _ in range(32)]
    qh, qs = pack_q5(L)
    b = le16(h16(d)) + le16(h16(m)) + qh + qs
    y = [fadd(fmul(d, L[i]), m) for i in range(32)]
    return b, y


def block_q8_0(rng):
    d = random_half(rng)
    q = [(rng.next32() % 256) - 128 for _ in range(32)]
    b = le16(h16(d)) + [v & 0xFF for v in q]
    return b, [fmul(d, v) for v in q]


def block_q8_1(rng):
    d = random_half(rng)
    q = [(rng.next32() % 256) - 128 for _ in range(32)]
    s = half_rne(d * sum(q))
    b = le16(h16(d)) + le16(s) + [v & 0xFF for v in q]
    return b, [fmul(d, v) for v in q]


def pack_2bit_k(L):
    qs = [0] * 64
    for j in (0, 128):
        for l in range(32):
            qs[j // 4 + l] = L[j + l] | L[j + l + 32] << 2 | L[j + l + 64] << 4 | L[j + l + 96] << 6
    return qs


def block_q2_k(rng):
    d, dmin = random_half(rng), random_half(rng)
    sc = [rng.next32() % 16 for _ in range(16)]
    mn = [rng.next32() % 16 for _ in range(16)]
    L = [rng.next32() % 4 for _ in range(256)]
    b = [sc[j] | mn[j] << 4 for j in range(16)] + pack_2bit_k(L) + le16(h16(d)) + le16(h16(dmin))
    y = []
    for i in range(256):
        dl, ml = fmul(d, sc[i // 16]), fmul(dmin, mn[i // 16])
        y.append(fadd(fmul(dl, L[i]), -ml))
    return b, y


def block_q3_k(rng):
    d = random_half(rng)
    Ls = [rng.next32() % 64 for _ in range(16)]
    L = [rng.next32() % 8 for _ in range(256)]
    scales = [0] * 12
    for j in range(16):
        l = Ls[j]
        if j < 8:
            scales[j] = l & 0xF
        else:
            scales[j - 8] |= (l & 0xF) << 4
        scales[j % 4 + 8] |= (l >> 4) << (2 * (j // 4))
    hmask = [0] * 32
    low = list(L)
    for j in range(256):
        if low[j] > 3:
            hmask[j % 32] |= 1 << (j // 32)
            low[j] -= 4
    b = hmask + pack_2bit_k(low) + scales + le16(h16(d))
    y = [fmul(fmul(d, Ls[i // 16] - 32), L[i] - 4) for i in range(256)]
    return b, y


def pack_k4_scales(ls, lm):
    s = [0] * 12
    for j in range(8):
        if j < 4:
            s[j] = ls[j]
            s[j + 4] = lm[j]
        else:
            s[j + 4] = (ls[j] & 0xF) | (lm[j] & 0xF) << 4
            s[j - 4] |= (ls[j] >> 4) << 6
            s[j] |= (lm[j] >> 4) << 6
    return s


def block_q4_k(rng):
    d, dmin = random_half(rng, -12, -4), random_half(rng, -12, -4)
    ls = [rng.next32() % 64 for _ in range(8)]
    lm = [rng.next32() % 64 for _ in range(8)]
    L = [rng.next32() % 16 for _ in range(256)]
    qs = []
    for j in range(0, 256, 64):
        qs += [L[j + l] | L[j + l + 32] << 4 for l in range(32)]
    b = le16(h16(d)) + le16(h16(dmin)) + pack_k4_scales(ls, lm) + qs
    y = [fadd(fmul(fmul(d, ls[i // 32]), L[i]), -fmul(dmin, lm[i // 32])) for i in range(256)]
    return b, y


def block_q5_k(rng):
    d, dmin = random_half(rng, -12, -4), random_half(rng, -12, -4)
    ls = [rng.next32() % 64 for _ in range(8)]
    lm = [rng.next32() % 64 for _ in range(8)]
    L = [rng.next32() % 32 for _ in range(256)]
    qh, ql = [0] * 32, []
    for k, n in enumerate(range(0, 256, 64)):
        m1, m2 = 1 << (2 * k), 2 << (2 * k)
        for j in range(32):
            l1, l2 = L[n + j], L[n + j + 32]
            if l1 > 15:
                l1 -= 16
                qh[j] |= m1
            if l2 > 15:
                l2 -= 16
                qh[j] |= m2
            ql.append(l1 | l2 << 4)
    b = le16(h16(d)) + le16(h16(dmin)) + pack_k4_scales(ls, lm) + qh + ql
    y = [fadd(fmul(fmul(d, ls[i // 32]), L[i]), -fmul(dmin, lm[i // 32])) for i in range(256)]
    return b, y


def block_q6_k(rng):
    d = random_half(rng, -12, -6)
    sc = [(rng.next32() % 256) - 128 for _ in range(16)]
    L = [rng.next32() % 64 for _ in range(256)]
    ql, qh = [0] * 128, [0] * 64
    for h, j in enumerate((0, 128)):
        for l in range(32):
            q1, q2, q3, q4 = (L[j + l + k] & 0xF for k in (0, 32, 64, 96))
            ql[64 * h + l] = q1 | q3 << 4
            ql[64 * h + l + 32] = q2 | q4 << 4
            qh[32 * h + l] = (L[j + l] >> 4) | (L[j + l + 32] >> 4) << 2 | (L[j + l + 64] >> 4) << 4 | (L[j + l + 96] >> 4) << 6
    b = ql + qh + [v & 0xFF for v in sc] + le16(h16(d))
    y = [fmul(fmul(d, sc[i // 16]), L[i] - 32) for i in range(256)]
    return b, y


def block_q8_k(rng):
    d = float(r32(Fr(rng.next32() % 100000 + 1, 1 << 24)))
    q = [(rng.next32() % 255) - 127 for _ in range(256)]
    bsums = [sum(q[16 * j:16 * j + 16]) & 0xFFFF for j in range(16)]
    b = list(struct.pack("<f", float(d))) + [v & 0xFF for v in q] + sum((le16(s) for s in bsums), [])
    return b, [fmul(d, v) for v in q]


def block_iq4_nl(rng):
    d = random_half(rng, -10, -6)
    c = [rng.next32() % 16 for _ in range(32)]
    b = le16(h16(d)) + [c[j] | c[j + 16] << 4 for j in range(16)]
    return b, [fmul(d, IQ4NL_LEVELS[v]) for v in c]


def block_iq4_xs(rng):
    d = random_half(rng, -10, -6)
    ls = [rng.next32() % 64 for _ in range(8)]
    c = [rng.next32() % 16 for _ in range(256)]
    scales_h = 0
    scales_l = [0] * 4
    for ib in range(8):
        scales_l[ib // 2] |= (ls[ib] & 0xF) << (4 * (ib % 2))
        scales_h |= (ls[ib] >> 4) << (2 * ib)
    qs = []
    for ib in range(8):
        qs += [c[32 * ib + j] | c[32 * ib + j + 16] << 4 for j in range(16)]
    b = le16(h16(d)) + le16(scales_h) + scales_l + qs
    y = [fmul(fmul(d, ls[i // 32] - 32), IQ4NL_LEVELS[c[i]]) for i in range(256)]
    return b, y


def trits_to_byte(trits, extra_shift=False):
    q = 0
    for t in trits:
        q = q * 3 + t
    if extra_shift:
        q *= 3
    return -(-q * 256 // 243)  # ceil(q * 256 / 243): the top trit sits in the top bits


def block_tq1_0(rng):
    d = random_half(rng)
    t = [rng.next32() % 3 for _ in range(256)]
    qs = [trits_to_byte([t[m + n * 32] for n in range(5)]) for m in range(32)]
    qs += [trits_to_byte([t[160 + m + n * 16] for n in range(5)]) for m in range(16)]
    qh = [trits_to_byte([t[240 + j + m * 4] for m in range(4)], True) for j in range(4)]
    b = qs + qh + le16(h16(d))
    return b, [fmul(v - 1, d) for v in t]


def block_tq2_0(rng):
    d = random_half(rng)
    t = [rng.next32() % 3 for _ in range(256)]
    qs = []
    for base in (0, 128):
        qs += [sum(t[base + m + n * 32] << (2 * n) for n in range(4)) for m in range(32)]
    b = qs + le16(h16(d))
    return b, [fmul(v - 1, d) for v in t]


def block_mxfp4(rng, e=None):
    if e is None:
        e = 100 + rng.next32() % 56
    c = [rng.next32() % 16 for _ in range(32)]
    b = [e] + [c[j] | c[j + 16] << 4 for j in range(16)]
    scale = Fr(2) ** (e - 128)  # ggml pairs doubled E2M1 values with a halved E8M0 scale
    return b, [fmul(E2M1_DOUBLED[v], scale) for v in c]


def ue4m3_half(x):
    if x in (0, 0x7F):
        return Fr(0)
    e, m = (x >> 3) & 0xF, x & 7
    raw = Fr(m) * Fr(2) ** -9 if e == 0 else (1 + Fr(m, 8)) * Fr(2) ** (e - 7)
    return raw / 2


def block_nvfp4(rng):
    ds = [rng.next32() % 256 for _ in range(4)]
    ds[1] = 0x7F  # ggml reads the NaN code as a zero scale
    ds[2] = 0x03  # a subnormal scale
    c = [rng.next32() % 16 for _ in range(64)]
    qs = []
    for s in range(4):
        qs += [c[16 * s + j] | c[16 * s + j + 8] << 4 for j in range(8)]
    b = ds + qs
    return b, [fmul(E2M1_DOUBLED[c[i]], ue4m3_half(ds[i // 16])) for i in range(64)]


def block_q1_0(rng):
    d = random_half(rng)
    bits = [rng.next32() % 2 for _ in range(128)]
    qs = [sum(bits[8 * k + j] << j for j in range(8)) for k in range(16)]
    return le16(h16(d)) + qs, [float(d) if v else -float(d) for v in bits]


def block_q2_0(rng):
    d = random_half(rng)
    q = [rng.next32() % 4 for _ in range(64)]
    qs = [sum(q[4 * k + j] << (2 * j) for j in range(4)) for k in range(16)]
    return le16(h16(d)) + qs, [fmul(v - 1, d) for v in q]


BLOCK_BUILDERS = [
    ("Q4_0", block_q4_0), ("Q4_1", block_q4_1), ("Q5_0", block_q5_0), ("Q5_1", block_q5_1),
    ("Q8_0", block_q8_0), ("Q8_1", block_q8_1), ("Q2_K", block_q2_k), ("Q3_K", block_q3_k),
    ("Q4_K", block_q4_k), ("Q5_K", block_q5_k), ("Q6_K", block_q6_k), ("Q8_K", block_q8_k),
    ("IQ4_NL", block_iq4_nl), ("IQ4_XS", block_iq4_xs), ("TQ1_0", block_tq1_0),
    ("TQ2_0", block_tq2_0), ("MXFP4", block_mxfp4), ("NVFP4", block_nvfp4),
    ("Q1_0", block_q1_0), ("Q2_0", block_q2_0),
]


def section_blocks():
    rng = Lcg(0xB10C)
    emit("/* ggml blocks: two consecutive blocks per type and the floats they decode to */")
    names = []
    for name, build in BLOCK_BUILDERS:
        data, floats = [], []
        for _ in range(2):
            b, y = build(rng)
            data += b
            floats += y
        lname = name.lower()
        c_array("uint8_t", "blk_%s" % lname, data, fmt="0x%02x", per_line=16)
        c_array("uint32_t", "blk_%s_f32" % lname, [f32_bits(v) for v in floats])
        names.append((name, lname))
    # MXFP4 with the extreme scale codes, where ggml's halved E8M0 goes subnormal
    data, floats = [], []
    for e in (0, 1):
        b, y = block_mxfp4(rng, e)
        data += b
        floats += y
    c_array("uint8_t", "blk_mxfp4_tiny", data, fmt="0x%02x", per_line=16)
    c_array("uint32_t", "blk_mxfp4_tiny_f32", [f32_bits(v) for v in floats])
    emit("#define BLOCK_CASES(X) \\")
    for name, lname in names:
        emit("    X(%s, blk_%s, blk_%s_f32) \\" % (name, lname, lname))
    emit("    X(MXFP4, blk_mxfp4_tiny, blk_mxfp4_tiny_f32)")
    emit()


# ---------------------------------------------------------------------------------
# Q8_0 / Q4_0 quantisation


def round_half_away(x):
    """C's roundf: to nearest, halfway cases away from zero."""
    n = math.floor(abs(x) + 0.5)  # exact: |x| < 2^24 here, so |x| + 0.5 is a double
    return n if x >= 0 else -n


def half_bits(f):
    """binary16 bits of a float32 value given as a Python float, sign of zero kept."""
    return expected_f32_to_f16(f32_bits(f))


def quant_q8_0(xs):
    amax = 0.0
    for x in xs:
        amax = max(amax, abs(x))
    d = f32r(amax / 127.0)
    idv = f32r(1.0 / d) if d else 0.0
    qs = [round_half_away(fmul(x, idv)) for x in xs]
    return le16(half_bits(d)) + [q & 0xFF for q in qs]


def quant_q4_0(xs):
    amax, mx = 0.0, 0.0
    for x in xs:  # the first value of the largest magnitude wins
        if amax < abs(x):
            amax, mx = abs(x), x
    d = f32r(mx / -8.0)  # 0 / -8 is -0: an all-zero block stores d = -0
    idv = f32r(1.0 / d) if d else 0.0
    qs = []
    for j in range(16):
        lo = min(15, math.trunc(fadd(fmul(xs[j], idv), 8.5)))
        hi = min(15, math.trunc(fadd(fmul(xs[j + 16], idv), 8.5)))
        qs.append(lo | hi << 4)
    return le16(half_bits(d)) + qs


def fma_sensitive_q4_0():
    """A block with d = 3 whose x * (1/d) lands within half an ulp of a level boundary
    (k - 8.5), so that rounding the product before adding 8.5 (ggml's C) and a fused
    multiply-add truncate to different levels."""
    xs = [-24.0]  # the largest magnitude: d = -24 / -8 = 3
    idv = f32r(1.0 / 3.0)
    found = []
    for k in range(1, 16):
        target = (k - 8.5) * 3
        u = f32_bits(f32r(target))
        for du in range(-40, 41):
            x = f32_from_bits(u + du) if target >= 0 else f32_from_bits(u + du)
            exact_sum = Fr(x) * Fr(idv) + Fr(17, 2)
            split = fadd(fmul(x, idv), 8.5)
            fused = float(r32(exact_sum))
            if math.trunc(split) != math.trunc(fused):
                found.append(x)
                break
    assert len(found) >= 4, found
    xs += found[:31]
    while len(xs) < 32:
        xs.append(1.0)
    return xs


def f32_block(rng, scale_exp):
    vals = []
    for _ in range(32):
        # a float32 with random mantissa, exponent around scale_exp, random sign
        m = rng.next32() & 0x7FFFFF
        e = scale_exp - (rng.next32() % 6)
        v = (1 + Fr(m, 1 << 23)) * Fr(2) ** e
        vals.append(-v if rng.next32() & 1 else v)
    return vals


def section_quantize():
    rng = Lcg(0x0ACE)
    zeros = [Fr(0)] * 32
    halves_q8 = [Fr(k, 2) for k in range(-31, 32, 2)] + [Fr(127)]  # d = 1: x.5 ties
    halves_q8 = halves_q8[:31] + [Fr(-127)]
    neg_max = [Fr(k, 4) for k in range(-15, 16)] + [Fr(-9)]  # max magnitude is negative
    q4_bounds = [Fr(-8)] + [Fr(v) for v in ("0.5", "-0.5", "6.5", "7", "7.5", "7.6", "-7.5", "-7.6",
                                            "0.49", "1.5", "2.5", "-2.5", "3.49", "-3.51", "5.5")]
    q4_bounds += [Fr(k, 8) for k in range(-8, 8)]
    tie_first_pos = [Fr(3)] + [Fr(k, 10) for k in range(1, 30)] + [Fr(-3), Fr(1)]
    tie_first_neg = [Fr(-3)] + [Fr(k, 10) for k in range(1, 30)] + [Fr(3), Fr(1)]
    inputs = [
        ("all zero", zeros),
        ("d = 1, every x.5 tie rounds away from zero (Q8_0)", halves_q8),
        ("largest magnitude is negative", neg_max),
        ("d = 1 for Q4_0: values at the 8.5 truncation boundaries", q4_bounds),
        ("+3 then -3: the first of equal magnitudes sets the sign", tie_first_pos),
        ("-3 then +3", tie_first_neg),
        ("tiny values (d is a binary16 subnormal)", [v * Fr(2) ** -20 for v in f32_block(rng, 0)]),
        ("random", f32_block(rng, 2)),
        ("random, large", f32_block(rng, 15)),
        ("random, d overflows binary16", f32_block(rng, 24)),
        ("products within half an ulp of a Q4_0 level boundary (a fused multiply-add differs)",
         [Fr(x) for x in fma_sensitive_q4_0()]),
    ]
    inputs = [(what, [float(r32(x)) for x in xs]) for what, xs in inputs]  # float32 inputs
    for _, xs in inputs:
        assert len(xs) == 32
    emit("/* Q8_0 and Q4_0 quantisation: float32 inputs and the bytes ggml's reference writes */")
    emit("static const struct { const char *what; uint32_t x[32]; uint8_t q8_0[34]; uint8_t q4_0[18]; } quant_cases[] = {")
    for what, xs in inputs:
        emit("    {\"%s\"," % what)
        emit("     {" + ", ".join("0x%08x" % f32_bits(x) for x in xs) + "},")
        emit("     {" + ", ".join("0x%02x" % v for v in quant_q8_0(xs)) + "},")
        emit("     {" + ", ".join("0x%02x" % v for v in quant_q4_0(xs)) + "}},")
    emit("};")
    emit()


# ---------------------------------------------------------------------------------
# real data: rows of token_embd.weight in llama-2-tiny-random.gguf, decoded by hand


def gguf_tensor(path, wanted):
    with open(path, "rb") as f:
        buf = f.read()
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return v[0]

    def string():
        nonlocal pos
        n = take("Q")
        s = buf[pos:pos + n]
        pos += n
        return s.decode("utf-8", "replace")

    scalar = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}

    def value(t):
        if t == 8:
            return string()
        if t == 9:
            et, n = take("I"), take("Q")
            return [value(et) for _ in range(n)]
        return take(scalar[t])

    assert buf[:4] == b"GGUF"
    pos = 4
    take("I")
    n_tensors, n_kv = take("Q"), take("Q")
    alignment = 32
    for _ in range(n_kv):
        key = string()
        v = value(take("I"))
        if key == "general.alignment":
            alignment = v
    infos = {}
    for _ in range(n_tensors):
        name = string()
        dims = [take("Q") for _ in range(take("I"))]
        infos[name] = (dims, take("I"), take("Q"))
    data_start = (pos + alignment - 1) // alignment * alignment
    dims, ggml_type, offset = infos[wanted]
    return buf, dims, ggml_type, data_start + offset


def section_real():
    root = os.environ.get("TOKVEC_REAL_FIXTURES") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "fixtures", "real")
    path = os.path.join(root, "gguf", "weights", "llama-2-tiny-random.gguf")
    buf, dims, ggml_type, start = gguf_tensor(path, "token_embd.weight")
    assert ggml_type == 1 and dims == [8, 32000], (ggml_type, dims)
    rows = [0, 1, 2, 15999, 31999]
    emit("/* llama-2-tiny-random.gguf: token_embd.weight (F16, 32000 x 8) starts at byte %d;" % start)
    emit("   these rows decoded with Python's binary16 codec, as float32 bits */")
    emit("#define TINY_EMBD_OFFSET %d" % start)
    emit("#define TINY_EMBD_ROWS %d" % len(rows))
    emit("static const uint32_t tiny_embd_rows[TINY_EMBD_ROWS] = {%s};" % ", ".join(str(r) for r in rows))
    emit("static const uint32_t tiny_embd_f32[TINY_EMBD_ROWS][8] = {")
    for r in rows:
        vals = struct.unpack_from("<8e", buf, start + r * 16)
        emit("    {" + ", ".join("0x%08x" % f32_bits(v) for v in vals) + "},")
    emit("};")
    emit()


def main():
    emit("/* Generated by tests/data/dtype_vectors.py: do not edit. */")
    emit("#ifndef TOKVEC_TEST_DTYPE_VECTORS_H")
    emit("#define TOKVEC_TEST_DTYPE_VECTORS_H")
    emit()
    emit("#include <stdint.h>")
    emit()
    section_f16()
    section_rounding()
    section_small_floats()
    section_blocks()
    section_quantize()
    section_real()
    emit("#endif")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
