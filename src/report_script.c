/*
 * Unicode script classification for tokvec report.
 *
 * utf8proc has no Script property, so a code point's script is read from its block:
 * the table below lists the blocks of the scripts a vocabulary usually holds, with
 * their ranges copied from the Unicode Character Database's Blocks.txt (version 14.0.0,
 * https://www.unicode.org/Public/UCD/latest/ucd/Blocks.txt). Only letters and marks
 * (general category L* or M*, from utf8proc) count towards a script: digits,
 * punctuation and symbols are shared by every script, whatever block they sit in (the
 * Basic Latin block holds the ASCII digits). The combining-mark blocks
 * (U+0300..U+036F and the like) carry no script of their own: their marks are skipped.
 *
 * Where a block mixes scripts, it is split at the ranges Blocks.txt's block names and
 * the code charts give: Alphabetic Presentation Forms (Latin, Armenian and Hebrew
 * ligatures) and Halfwidth and Fullwidth Forms (fullwidth Latin letters, halfwidth
 * Katakana and Hangul). Block-based classification differs from the Scripts property
 * for a few characters (a Greek-block letter used only in Coptic, the Katakana
 * prolonged sound mark, which Scripts.txt calls Common); for the share of tokens by
 * script that is noise.
 */
#include <utf8proc.h>

#include "internal.h"
#include "tokvec/report.h"

#define INHERITED (-1) /* a combining-mark block: no script of its own */

static const struct block {
    uint32_t lo, hi;
    int script;
} blocks[] = {
    {0x0000, 0x007F, TV_SCRIPT_LATIN}, /* Basic Latin */
    {0x0080, 0x00FF, TV_SCRIPT_LATIN}, /* Latin-1 Supplement */
    {0x0100, 0x017F, TV_SCRIPT_LATIN}, /* Latin Extended-A */
    {0x0180, 0x024F, TV_SCRIPT_LATIN}, /* Latin Extended-B */
    {0x0250, 0x02AF, TV_SCRIPT_LATIN}, /* IPA Extensions */
    {0x0300, 0x036F, INHERITED}, /* Combining Diacritical Marks */
    {0x0370, 0x03FF, TV_SCRIPT_GREEK}, /* Greek and Coptic */
    {0x0400, 0x04FF, TV_SCRIPT_CYRILLIC}, /* Cyrillic */
    {0x0500, 0x052F, TV_SCRIPT_CYRILLIC}, /* Cyrillic Supplement */
    {0x0530, 0x058F, TV_SCRIPT_ARMENIAN}, /* Armenian */
    {0x0590, 0x05FF, TV_SCRIPT_HEBREW}, /* Hebrew */
    {0x0600, 0x06FF, TV_SCRIPT_ARABIC}, /* Arabic */
    {0x0700, 0x074F, TV_SCRIPT_SYRIAC}, /* Syriac */
    {0x0750, 0x077F, TV_SCRIPT_ARABIC}, /* Arabic Supplement */
    {0x0780, 0x07BF, TV_SCRIPT_THAANA}, /* Thaana */
    {0x0860, 0x086F, TV_SCRIPT_SYRIAC}, /* Syriac Supplement */
    {0x0870, 0x089F, TV_SCRIPT_ARABIC}, /* Arabic Extended-B */
    {0x08A0, 0x08FF, TV_SCRIPT_ARABIC}, /* Arabic Extended-A */
    {0x0900, 0x097F, TV_SCRIPT_DEVANAGARI}, /* Devanagari */
    {0x0980, 0x09FF, TV_SCRIPT_BENGALI}, /* Bengali */
    {0x0A00, 0x0A7F, TV_SCRIPT_GURMUKHI}, /* Gurmukhi */
    {0x0A80, 0x0AFF, TV_SCRIPT_GUJARATI}, /* Gujarati */
    {0x0B00, 0x0B7F, TV_SCRIPT_ORIYA}, /* Oriya */
    {0x0B80, 0x0BFF, TV_SCRIPT_TAMIL}, /* Tamil */
    {0x0C00, 0x0C7F, TV_SCRIPT_TELUGU}, /* Telugu */
    {0x0C80, 0x0CFF, TV_SCRIPT_KANNADA}, /* Kannada */
    {0x0D00, 0x0D7F, TV_SCRIPT_MALAYALAM}, /* Malayalam */
    {0x0D80, 0x0DFF, TV_SCRIPT_SINHALA}, /* Sinhala */
    {0x0E00, 0x0E7F, TV_SCRIPT_THAI}, /* Thai */
    {0x0E80, 0x0EFF, TV_SCRIPT_LAO}, /* Lao */
    {0x0F00, 0x0FFF, TV_SCRIPT_TIBETAN}, /* Tibetan */
    {0x1000, 0x109F, TV_SCRIPT_MYANMAR}, /* Myanmar */
    {0x10A0, 0x10FF, TV_SCRIPT_GEORGIAN}, /* Georgian */
    {0x1100, 0x11FF, TV_SCRIPT_HANGUL}, /* Hangul Jamo */
    {0x1200, 0x137F, TV_SCRIPT_ETHIOPIC}, /* Ethiopic */
    {0x1380, 0x139F, TV_SCRIPT_ETHIOPIC}, /* Ethiopic Supplement */
    {0x1780, 0x17FF, TV_SCRIPT_KHMER}, /* Khmer */
    {0x1800, 0x18AF, TV_SCRIPT_MONGOLIAN}, /* Mongolian */
    {0x19E0, 0x19FF, TV_SCRIPT_KHMER}, /* Khmer Symbols */
    {0x1AB0, 0x1AFF, INHERITED}, /* Combining Diacritical Marks Extended */
    {0x1C80, 0x1C8F, TV_SCRIPT_CYRILLIC}, /* Cyrillic Extended-C */
    {0x1C90, 0x1CBF, TV_SCRIPT_GEORGIAN}, /* Georgian Extended */
    {0x1D00, 0x1D7F, TV_SCRIPT_LATIN}, /* Phonetic Extensions */
    {0x1D80, 0x1DBF, TV_SCRIPT_LATIN}, /* Phonetic Extensions Supplement */
    {0x1DC0, 0x1DFF, INHERITED}, /* Combining Diacritical Marks Supplement */
    {0x1E00, 0x1EFF, TV_SCRIPT_LATIN}, /* Latin Extended Additional */
    {0x1F00, 0x1FFF, TV_SCRIPT_GREEK}, /* Greek Extended */
    {0x20D0, 0x20FF, INHERITED}, /* Combining Diacritical Marks for Symbols */
    {0x2C60, 0x2C7F, TV_SCRIPT_LATIN}, /* Latin Extended-C */
    {0x2D00, 0x2D2F, TV_SCRIPT_GEORGIAN}, /* Georgian Supplement */
    {0x2D80, 0x2DDF, TV_SCRIPT_ETHIOPIC}, /* Ethiopic Extended */
    {0x2DE0, 0x2DFF, TV_SCRIPT_CYRILLIC}, /* Cyrillic Extended-A */
    {0x2E80, 0x2EFF, TV_SCRIPT_HAN}, /* CJK Radicals Supplement */
    {0x2F00, 0x2FDF, TV_SCRIPT_HAN}, /* Kangxi Radicals */
    {0x3040, 0x309F, TV_SCRIPT_HIRAGANA}, /* Hiragana */
    {0x30A0, 0x30FF, TV_SCRIPT_KATAKANA}, /* Katakana */
    {0x3100, 0x312F, TV_SCRIPT_BOPOMOFO}, /* Bopomofo */
    {0x3130, 0x318F, TV_SCRIPT_HANGUL}, /* Hangul Compatibility Jamo */
    {0x31A0, 0x31BF, TV_SCRIPT_BOPOMOFO}, /* Bopomofo Extended */
    {0x31F0, 0x31FF, TV_SCRIPT_KATAKANA}, /* Katakana Phonetic Extensions */
    {0x3400, 0x4DBF, TV_SCRIPT_HAN}, /* CJK Unified Ideographs Extension A */
    {0x4E00, 0x9FFF, TV_SCRIPT_HAN}, /* CJK Unified Ideographs */
    {0xA640, 0xA69F, TV_SCRIPT_CYRILLIC}, /* Cyrillic Extended-B */
    {0xA720, 0xA7FF, TV_SCRIPT_LATIN}, /* Latin Extended-D */
    {0xA8E0, 0xA8FF, TV_SCRIPT_DEVANAGARI}, /* Devanagari Extended */
    {0xA960, 0xA97F, TV_SCRIPT_HANGUL}, /* Hangul Jamo Extended-A */
    {0xA9E0, 0xA9FF, TV_SCRIPT_MYANMAR}, /* Myanmar Extended-B */
    {0xAA60, 0xAA7F, TV_SCRIPT_MYANMAR}, /* Myanmar Extended-A */
    {0xAB00, 0xAB2F, TV_SCRIPT_ETHIOPIC}, /* Ethiopic Extended-A */
    {0xAB30, 0xAB6F, TV_SCRIPT_LATIN}, /* Latin Extended-E */
    {0xAC00, 0xD7AF, TV_SCRIPT_HANGUL}, /* Hangul Syllables */
    {0xD7B0, 0xD7FF, TV_SCRIPT_HANGUL}, /* Hangul Jamo Extended-B */
    {0xF900, 0xFAFF, TV_SCRIPT_HAN}, /* CJK Compatibility Ideographs */
    {0xFB00, 0xFB06, TV_SCRIPT_LATIN}, /* Alphabetic Presentation Forms: Latin ligatures */
    {0xFB13, 0xFB17, TV_SCRIPT_ARMENIAN}, /* Alphabetic Presentation Forms: Armenian ligatures */
    {0xFB1D, 0xFB4F, TV_SCRIPT_HEBREW}, /* Alphabetic Presentation Forms: Hebrew */
    {0xFB50, 0xFDFF, TV_SCRIPT_ARABIC}, /* Arabic Presentation Forms-A */
    {0xFE20, 0xFE2F, INHERITED}, /* Combining Half Marks */
    {0xFE70, 0xFEFF, TV_SCRIPT_ARABIC}, /* Arabic Presentation Forms-B */
    {0xFF21, 0xFF3A, TV_SCRIPT_LATIN}, /* Halfwidth and Fullwidth Forms: fullwidth Latin capitals */
    {0xFF41, 0xFF5A, TV_SCRIPT_LATIN}, /* Halfwidth and Fullwidth Forms: fullwidth Latin small */
    {0xFF66, 0xFF9F, TV_SCRIPT_KATAKANA}, /* Halfwidth and Fullwidth Forms: halfwidth Katakana */
    {0xFFA0, 0xFFDC, TV_SCRIPT_HANGUL}, /* Halfwidth and Fullwidth Forms: halfwidth Hangul */
    {0x10780, 0x107BF, TV_SCRIPT_LATIN}, /* Latin Extended-F */
    {0x11660, 0x1167F, TV_SCRIPT_MONGOLIAN}, /* Mongolian Supplement */
    {0x11FC0, 0x11FFF, TV_SCRIPT_TAMIL}, /* Tamil Supplement */
    {0x1AFF0, 0x1AFFF, TV_SCRIPT_KATAKANA}, /* Kana Extended-B */
    {0x1B000, 0x1B0FF, TV_SCRIPT_HIRAGANA}, /* Kana Supplement */
    {0x1B100, 0x1B12F, TV_SCRIPT_HIRAGANA}, /* Kana Extended-A */
    {0x1B130, 0x1B16F, TV_SCRIPT_HIRAGANA}, /* Small Kana Extension */
    {0x1DF00, 0x1DFFF, TV_SCRIPT_LATIN}, /* Latin Extended-G */
    {0x1E7E0, 0x1E7FF, TV_SCRIPT_ETHIOPIC}, /* Ethiopic Extended-B */
    {0x1EE00, 0x1EEFF, TV_SCRIPT_ARABIC}, /* Arabic Mathematical Alphabetic Symbols */
    {0x20000, 0x2A6DF, TV_SCRIPT_HAN}, /* CJK Unified Ideographs Extension B */
    {0x2A700, 0x2B73F, TV_SCRIPT_HAN}, /* CJK Unified Ideographs Extension C */
    {0x2B740, 0x2B81F, TV_SCRIPT_HAN}, /* CJK Unified Ideographs Extension D */
    {0x2B820, 0x2CEAF, TV_SCRIPT_HAN}, /* CJK Unified Ideographs Extension E */
    {0x2CEB0, 0x2EBEF, TV_SCRIPT_HAN}, /* CJK Unified Ideographs Extension F */
    {0x2F800, 0x2FA1F, TV_SCRIPT_HAN}, /* CJK Compatibility Ideographs Supplement */
    {0x30000, 0x3134F, TV_SCRIPT_HAN}, /* CJK Unified Ideographs Extension G */
};

static const char *const script_names[] = {
    [TV_SCRIPT_LATIN] = "Latin",       [TV_SCRIPT_CYRILLIC] = "Cyrillic",
    [TV_SCRIPT_GREEK] = "Greek",       [TV_SCRIPT_ARMENIAN] = "Armenian",
    [TV_SCRIPT_HEBREW] = "Hebrew",     [TV_SCRIPT_ARABIC] = "Arabic",
    [TV_SCRIPT_SYRIAC] = "Syriac",     [TV_SCRIPT_THAANA] = "Thaana",
    [TV_SCRIPT_DEVANAGARI] = "Devanagari", [TV_SCRIPT_BENGALI] = "Bengali",
    [TV_SCRIPT_GURMUKHI] = "Gurmukhi", [TV_SCRIPT_GUJARATI] = "Gujarati",
    [TV_SCRIPT_ORIYA] = "Oriya",       [TV_SCRIPT_TAMIL] = "Tamil",
    [TV_SCRIPT_TELUGU] = "Telugu",     [TV_SCRIPT_KANNADA] = "Kannada",
    [TV_SCRIPT_MALAYALAM] = "Malayalam", [TV_SCRIPT_SINHALA] = "Sinhala",
    [TV_SCRIPT_THAI] = "Thai",         [TV_SCRIPT_LAO] = "Lao",
    [TV_SCRIPT_TIBETAN] = "Tibetan",   [TV_SCRIPT_MYANMAR] = "Myanmar",
    [TV_SCRIPT_GEORGIAN] = "Georgian", [TV_SCRIPT_HANGUL] = "Hangul",
    [TV_SCRIPT_ETHIOPIC] = "Ethiopic", [TV_SCRIPT_KHMER] = "Khmer",
    [TV_SCRIPT_MONGOLIAN] = "Mongolian", [TV_SCRIPT_HIRAGANA] = "Hiragana",
    [TV_SCRIPT_KATAKANA] = "Katakana", [TV_SCRIPT_BOPOMOFO] = "Bopomofo",
    [TV_SCRIPT_HAN] = "Han",           [TV_SCRIPT_OTHER] = "other",
    [TV_SCRIPT_COMMON] = "no letters", [TV_SCRIPT_MIXED] = "mixed",
    [TV_SCRIPT_BYTES] = "bytes",       [TV_SCRIPT_SPECIAL] = "special",
};
_Static_assert(TV_ARRAY_SIZE(script_names) == TV_SCRIPT_COUNT, "a name for every script");

const char *tv_script_name(enum tv_script script)
{
    return (unsigned)script < TV_SCRIPT_COUNT ? script_names[script] : "?";
}

static bool letter_or_mark(uint32_t cp)
{
    switch (utf8proc_category((utf8proc_int32_t)cp)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
        return true;
    default:
        return false;
    }
}

enum tv_script tv_script_of(uint32_t cp)
{
    if (cp > 0x10FFFF || !letter_or_mark(cp))
        return TV_SCRIPT_COMMON;
    size_t lo = 0, hi = TV_ARRAY_SIZE(blocks);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < blocks[mid].lo)
            hi = mid;
        else if (cp > blocks[mid].hi)
            lo = mid + 1;
        else
            return blocks[mid].script == INHERITED ? TV_SCRIPT_COMMON
                                                   : (enum tv_script)blocks[mid].script;
    }
    return TV_SCRIPT_OTHER;
}

enum tv_script tv_text_script(const char *text, size_t len)
{
    enum tv_script found = TV_SCRIPT_COMMON;
    size_t i = 0;
    while (i < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)text + i,
                                              (utf8proc_ssize_t)(len - i), &cp);
        if (n <= 0)
            return TV_SCRIPT_BYTES;
        i += (size_t)n;
        enum tv_script s = tv_script_of((uint32_t)cp);
        if (s == TV_SCRIPT_COMMON || s == found)
            continue;
        if (found != TV_SCRIPT_COMMON)
            found = TV_SCRIPT_MIXED; /* keep reading: a later bad byte still makes BYTES */
        else
            found = s;
    }
    return found;
}
