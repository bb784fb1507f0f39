#!/usr/bin/python3
"""Reference output of the SentencePiece library for tests/test_spm_encode.c.

Needs Debian's python3-sentencepiece (run it with /usr/bin/python3: a pyenv python3 on
PATH does not see Debian's packages). Texts are read as UTF-8 and split on "\\n" only
(a final newline ends the last line; it does not start an empty one).

  spm_reference.py MODEL TEXT...
      one line per input line: the ids of sp.encode(line), separated by spaces
  spm_reference.py --decode MODEL TEXT...
      one line per input line: sp.decode(sp.encode(line))
  spm_reference.py --offsets MODEL TEXT...
      one line per input line: "begin:end" of each id, bytes of the line; the bytes of
      one byte-fallback char all get the char's range (the library gives it to the last
      byte only and [begin, begin) to the others)
  spm_reference.py --decode-ids MODEL IDS
      one line per line of IDS (ids separated by spaces): sp.decode(ids)
  spm_reference.py --random-text N SEED
      N lines of random text (whitespace kinds and runs, controls, ASCII, accents and
      combining marks, compatibility and fullwidth forms, CJK, Hangul, emoji with ZWJ
      and variation selectors, U+2581, astral and private-use chars), the same for the
      same SEED
  spm_reference.py --variants DIR TEXT...
      trains small models of the kinds the real fixtures lack (user-defined and control
      symbols, byte fallback in Unigram, whitespace as suffix, no dummy prefix, whitespace
      kept, unused pieces, spaces not escaped, other normalizers, custom normalization
      and denormalization rules) on the TEXT files and
      writes, for each, DIR/NAME.model, DIR/NAME.ids (as above, on the TEXT lines),
      DIR/NAME.decoded and DIR/NAME.offsets (as --decode, --offsets); prints the names,
      one per line

The committed tests/data/spm/*.ids and *.decoded files were made with

  for m in ../shared/fixtures/real/llama2c/llama-tokenizer.model \\
           ../shared/fixtures/real/tokenizers/sentencepiece-torchtext/*.model \\
           ../shared/fixtures/real/pytorch/tinypellm/tinypellm.model; do
      n=$(basename "$m" .model)
      tests/data/spm_reference.py "$m" ../shared/fixtures/real/text/mixed.txt \\
          tests/data/spm_extra.txt > tests/data/spm/$n.ids
      tests/data/spm_reference.py --decode "$m" ../shared/fixtures/real/text/mixed.txt \\
          tests/data/spm_extra.txt > tests/data/spm/$n.decoded
      tests/data/spm_reference.py --offsets "$m" ../shared/fixtures/real/text/mixed.txt \\
          tests/data/spm_extra.txt > tests/data/spm/$n.offsets
  done

and tests/data/spm/trained/ holds the variants whose models are small (no large
charsmap), from

  tests/data/spm_reference.py --variants /tmp/v ../shared/fixtures/real/text/mixed.txt \\
      tests/data/spm_extra.txt
  for n in unigram-identity-bytefb-ud bpe-suffix-bytefb bpe-unused unigram-noescape \\
           word-identity unigram-rules-denorm; do cp /tmp/v/$n.model /tmp/v/$n.ids /tmp/v/$n.offsets \\
      /tmp/v/$n.decoded tests/data/spm/trained/; done

(sentencepiece 0.1.97; its training is deterministic: the same models come out again).
"""
import os
import sys

import sentencepiece as spm


def read_lines(paths):
    lines = []
    for path in paths:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
        parts = text.split("\n")
        if parts and parts[-1] == "":
            parts.pop()
        lines.extend(parts)
    return lines


def write_ids(sp, lines, out):
    for line in lines:
        out.write(" ".join(str(i) for i in sp.encode(line)) + "\n")


def write_decoded(sp, lines, out):
    for line in lines:
        text = sp.decode(sp.encode(line))
        if "\n" in text:
            raise SystemExit("decoded text holds a newline: %r" % line)
        out.write(text + "\n")


def write_offsets(sp, lines, out):
    from sentencepiece import sentencepiece_pb2 as pb

    for line in lines:
        text = pb.SentencePieceText()
        text.ParseFromString(sp.encode(line, out_type="serialized_proto"))
        pieces = list(text.pieces)
        spans = []
        i = 0
        while i < len(pieces):
            j = i
            if sp.is_byte(pieces[i].id):
                while (j + 1 < len(pieces) and sp.is_byte(pieces[j + 1].id)
                       and pieces[j].begin == pieces[j].end
                       and pieces[j + 1].begin == pieces[i].begin):
                    j += 1
            for k in range(i, j + 1):
                spans.append("%d:%d" % (pieces[k].begin, pieces[j].end))
            i = j + 1
        out.write(" ".join(spans) + "\n")


RANDOM_RANGES = [
    (0x20, 0x7E), (0x20, 0x7E), (0x20, 0x7E), (0x61, 0x7A), (0x61, 0x7A),
    (0x01, 0x09), (0x0B, 0x1F), (0x7F, 0x7F), (0x85, 0x85), (0xA0, 0xFF), (0x100, 0x17F),
    (0x300, 0x36F), (0x391, 0x3C9), (0x410, 0x44F), (0x5D0, 0x5EA), (0x621, 0x64A),
    (0x900, 0x97F), (0xE01, 0xE3A), (0x1100, 0x1112), (0x2000, 0x200F), (0x2028, 0x202F),
    (0x2070, 0x209C), (0x2150, 0x218B), (0x2460, 0x24FF), (0x2581, 0x2581),
    (0x2581, 0x2581), (0x3000, 0x3003), (0x3041, 0x30FF), (0x3300, 0x33FF),
    (0x4E00, 0x4E80), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0xE000, 0xE010),
    (0xF900, 0xFAFF), (0xFB00, 0xFB06), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
    (0xFF01, 0xFF5E), (0xFF61, 0xFF9F), (0xFFFD, 0xFFFD), (0x10000, 0x1005D),
    (0x1D400, 0x1D4FF), (0x1F300, 0x1F64F), (0x1F900, 0x1F9FF), (0x200D, 0x200D),
]


def random_text(n, seed):
    import random

    rng = random.Random(seed)
    for _ in range(n):
        chars = []
        for _ in range(rng.randrange(0, 40)):
            if rng.random() < 0.15:
                chars.append(" " * rng.randrange(1, 4))
                continue
            lo, hi = rng.choice(RANDOM_RANGES)
            if rng.random() < 0.3:   # a short run of one script
                chars.extend(chr(rng.randrange(lo, hi + 1)) for _ in range(rng.randrange(2, 6)))
            else:
                chars.append(chr(rng.randrange(lo, hi + 1)))
        sys.stdout.write("".join(chars).replace("\n", " ") + "\n")


def processor(path):
    return spm.SentencePieceProcessor(model_file=path)


# name, trainer options, edit of the ModelProto (or None)
VARIANTS = [
    ("unigram-identity-bytefb-ud",
     dict(model_type="unigram", normalization_rule_name="identity", byte_fallback=True,
          user_defined_symbols=["<ud>", "foo", "ab", "\u2581the"]), None),
    ("bpe-nfkc-noprefix-keepws",
     dict(model_type="bpe", normalization_rule_name="nfkc", add_dummy_prefix=False,
          remove_extra_whitespaces=False, user_defined_symbols=["<ud>", "foo"]), None),
    ("unigram-suffix-nmtcf",
     dict(model_type="unigram", normalization_rule_name="nmt_nfkc_cf",
          treat_whitespace_as_suffix=True, control_symbols=["<ctl>"]), None),
    ("bpe-suffix-bytefb",
     dict(model_type="bpe", normalization_rule_name="identity", byte_fallback=True,
          treat_whitespace_as_suffix=True, control_symbols=["<ctl>"],
          user_defined_symbols=["<ud>"]), None),
    ("unigram-unused",
     dict(model_type="unigram", normalization_rule_name="nmt_nfkc"), "unused"),
    ("bpe-unused",
     dict(model_type="bpe", normalization_rule_name="identity", byte_fallback=True),
     "unused"),
    ("unigram-noescape",
     dict(model_type="unigram", normalization_rule_name="identity"), "noescape"),
    ("bpe-noescape-keepws",
     dict(model_type="bpe", normalization_rule_name="nmt_nfkc",
          remove_extra_whitespaces=False), "noescape"),
    ("unigram-rules-denorm",
     dict(model_type="unigram", normalization_rule_tsv="RULES", denormalization_rule_tsv="DENORM"),
     None),
    ("char-nfkc", dict(model_type="char", normalization_rule_name="nfkc"), None),
    ("word-identity", dict(model_type="word", normalization_rule_name="identity"), None),
]


def edit(path, how):
    from sentencepiece import sentencepiece_model_pb2 as pb

    m = pb.ModelProto()
    with open(path, "rb") as f:
        m.ParseFromString(f.read())
    if how == "unused":
        # every third normal piece of two chars or more: merged or matched, never output
        n = 0
        for p in m.pieces:
            if p.type == pb.ModelProto.SentencePiece.NORMAL and len(p.piece) >= 2:
                if n % 3 == 0:
                    p.type = pb.ModelProto.SentencePiece.UNUSED
                n += 1
    elif how == "noescape":
        m.normalizer_spec.escape_whitespaces = False
    with open(path, "wb") as f:
        f.write(m.SerializeToString())


def variants(out_dir, texts):
    lines = read_lines(texts)
    corpus = os.path.join(out_dir, "corpus.txt")
    with open(corpus, "w", encoding="utf-8") as f:
        for k in range(3):
            for line in lines:
                f.write(line + "\n")
    # custom rules (code points in hex): "A" -> "a", "α" -> "aa"; decoding: "a" -> "A"
    rules = {"RULES": "41\t61\n3B1\t61 61\n", "DENORM": "61\t41\n"}
    for key, text in rules.items():
        with open(os.path.join(out_dir, key.lower() + ".tsv"), "w") as f:
            f.write(text)
    for name, options, how in VARIANTS:
        prefix = os.path.join(out_dir, name)
        options = {k: os.path.join(out_dir, v.lower() + ".tsv") if v in ("RULES", "DENORM")
                   else v for k, v in options.items()}
        spm.SentencePieceTrainer.train(
            input=corpus, model_prefix=prefix, vocab_size=700, hard_vocab_limit=False,
            character_coverage=0.98, minloglevel=2, **options)
        if how:
            edit(prefix + ".model", how)
        sp = processor(prefix + ".model")
        with open(prefix + ".ids", "w", encoding="utf-8") as f:
            write_ids(sp, lines, f)
        with open(prefix + ".decoded", "w", encoding="utf-8") as f:
            write_decoded(sp, lines, f)
        with open(prefix + ".offsets", "w", encoding="utf-8") as f:
            write_offsets(sp, lines, f)
        print(name)


def main(argv):
    out = sys.stdout
    if len(argv) == 3 and argv[0] == "--random-text":
        random_text(int(argv[1]), int(argv[2]))
    elif len(argv) >= 3 and argv[0] == "--variants":
        variants(argv[1], argv[2:])
    elif len(argv) >= 3 and argv[0] == "--offsets":
        write_offsets(processor(argv[1]), read_lines(argv[2:]), out)
    elif len(argv) >= 3 and argv[0] == "--decode":
        write_decoded(processor(argv[1]), read_lines(argv[2:]), out)
    elif len(argv) == 3 and argv[0] == "--decode-ids":
        sp = processor(argv[1])
        for line in read_lines([argv[2]]):
            text = sp.decode([int(w) for w in line.split()])
            out.write(text.replace("\n", "\\n") + "\n")
    elif len(argv) >= 2 and not argv[0].startswith("--"):
        write_ids(processor(argv[0]), read_lines(argv[1:]), out)
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
