/*
 * UTF-8 and the Unicode properties the reference asks about, from utf8proc's tables
 * (general categories, case mappings). Each predicate names the Rust function whose
 * answer it reproduces.
 */
#include <string.h>

#include <utf8proc.h>

#include "tok.h"

int tk_utf8_put(uint32_t cp, char *out)
{
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t tk_utf8_valid_prefix(const char *str, size_t len, size_t *bad)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        /* ASCII runs, 8 bytes at a time */
        while (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ULL)
                break;
            i += 8;
        }
        if (i >= len)
            break;
        unsigned char b = s[i];
        if (b < 0x80) {
            i++;
            continue;
        }
        /* Allowed range of the second byte, and the number of continuation bytes. */
        unsigned char lo = 0x80, hi = 0xBF;
        int need;
        if (b >= 0xC2 && b <= 0xDF)
            need = 1;
        else if (b == 0xE0)
            need = 2, lo = 0xA0;
        else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF)
            need = 2;
        else if (b == 0xED)
            need = 2, hi = 0x9F;
        else if (b == 0xF0)
            need = 3, lo = 0x90;
        else if (b >= 0xF1 && b <= 0xF3)
            need = 3;
        else if (b == 0xF4)
            need = 3, hi = 0x8F;
        else {
            *bad = 1;
            return i;
        }
        size_t k = 1;
        for (; k <= (size_t)need; k++) {
            if (i + k >= len) {
                *bad = k;
                return i;
            }
            unsigned char c = s[i + k];
            unsigned char l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
            if (c < l || c > h) {
                *bad = k;
                return i;
            }
        }
        i += k;
    }
    *bad = 0;
    return len;
}

static int category(uint32_t cp)
{
    return cp > 0x10FFFF ? UTF8PROC_CATEGORY_CN : utf8proc_category((utf8proc_int32_t)cp);
}

bool tk_is_whitespace(uint32_t cp)
{
    if (cp < 0x80)
        return cp == ' ' || (cp >= 9 && cp <= 13);
    /* White_Space = \t..\r, U+0085 and the separators Zs, Zl, Zp. */
    if (cp == 0x85)
        return true;
    int c = category(cp);
    return c == UTF8PROC_CATEGORY_ZS || c == UTF8PROC_CATEGORY_ZL || c == UTF8PROC_CATEGORY_ZP;
}

bool tk_is_punctuation(uint32_t cp)
{
    int c = category(cp);
    return c >= UTF8PROC_CATEGORY_PC && c <= UTF8PROC_CATEGORY_PO;
}

bool tk_is_numeric(uint32_t cp)
{
    if (cp < 0x80)
        return cp >= '0' && cp <= '9';
    int c = category(cp);
    return c == UTF8PROC_CATEGORY_ND || c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_NO;
}

bool tk_is_bert_control(uint32_t cp)
{
    if (cp == '\t' || cp == '\n' || cp == '\r')
        return false;
    /* unicode_categories' is_other without Cn: its unassigned table is not consulted
       (checked against the reference: an unassigned code point is kept). */
    int c = category(cp);
    return c == UTF8PROC_CATEGORY_CC || c == UTF8PROC_CATEGORY_CF ||
           c == UTF8PROC_CATEGORY_CO || c == UTF8PROC_CATEGORY_CS;
}

bool tk_is_mark_nonspacing(uint32_t cp)
{
    return cp >= 0x300 && category(cp) == UTF8PROC_CATEGORY_MN;
}

bool tk_is_mark(uint32_t cp)
{
    if (cp < 0x300)
        return false;
    int c = category(cp);
    return c == UTF8PROC_CATEGORY_MN || c == UTF8PROC_CATEGORY_MC || c == UTF8PROC_CATEGORY_ME;
}

bool tk_is_chinese_char(uint32_t cp)
{
    /* BERT's definition: the CJK Unified Ideographs blocks and their extensions. */
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
           (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

int tk_lowercase(uint32_t cp, uint32_t out[2])
{
    if (cp < 0x80) {
        out[0] = cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
        return 1;
    }
    /* The one unconditional multi-character lowercase mapping of SpecialCasing.txt,
       which Rust's to_lowercase applies and utf8proc's simple mapping does not. */
    if (cp == 0x130) {
        out[0] = 'i';
        out[1] = 0x307;
        return 2;
    }
    out[0] = cp > 0x10FFFF ? cp : (uint32_t)utf8proc_tolower((utf8proc_int32_t)cp);
    return 1;
}
