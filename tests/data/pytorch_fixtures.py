#!/usr/bin/env python3
"""Checkpoints for tests/test_pytorch.c, written by PyTorch itself (torch.save) into
the folder given as the only argument. Run by the test's set-up when `import torch`
works (Debian: apt-get install python3-torch); nothing here is kept in the repo.

Written:
  default.pt, p4.pt, p5.pt    one state dict with the default protocol (2), 4 and 5
  legacy.pt                   the same, _use_new_zipfile_serialization=False
  floats.pt                   the float tensors only (for GGUF output)
  nested.pt                   {"model": ..., "optimizer": ..., "epoch": 3}
  ambiguous.pt                {"a": state dict, "b": state dict}
  tensor.pt                   one bare tensor
  params.pt                   a module's state_dict(keep_vars=True): nn.Parameter
  sharded/                    pytorch_model-0000N-of-00002.bin + index + config.json
  raw/<name>.bin              for every tensor of default.pt: the bytes of
                              tensor.contiguous(), as torch holds them
  manifest.tsv                name, tokvec dtype, shape (comma-separated) per tensor
"""
import json
import os
import sys

import torch

out = sys.argv[1]
os.makedirs(out + "/raw", exist_ok=True)
os.makedirs(out + "/sharded", exist_ok=True)

g = torch.Generator().manual_seed(1234)
base = torch.randn(6, 8, generator=g)
emb = torch.randn(10, 4, generator=g)
qkv = torch.randn(12, 4, generator=g)

sd = {
    "f32": torch.randn(5, 7, generator=g),
    "f16": torch.randn(4, 3, generator=g).half(),
    "bf16": torch.randn(2, 6, generator=g).bfloat16(),
    "f64": torch.randn(3, generator=g).double(),
    "i64": torch.arange(-5, 7),
    "i32": torch.arange(6, dtype=torch.int32).reshape(2, 3),
    "i16": torch.arange(-3, 3, dtype=torch.int16),
    "i8": torch.arange(-4, 4, dtype=torch.int8),
    "u8": torch.arange(250, 256, dtype=torch.uint8),
    "bool": torch.tensor([True, False, True]),
    "scalar": torch.tensor(2.5),
    "empty": torch.zeros(0, 4),
    "offset_view": base[2:5],              # contiguous, at a storage offset
    "transposed": base.t(),                # strided
    "every_other": base[:, ::2],           # strided, offset 0
    "column": base[1:, 3],                 # strided 1-D at an offset
    "expanded": torch.arange(3.0).expand(4, 3),  # stride 0
    "half_t": torch.randn(3, 5, generator=g).half().t(),
    "embed.weight": emb,
    "lm_head.weight": emb,                 # tied: the same tensor twice
    "qkv_q": qkv[0:4],                     # one storage, different bytes: not tied
    "qkv_k": qkv[4:8],
}

DTYPES = {
    torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.float64: "F64", torch.int64: "I64", torch.int32: "I32", torch.int16: "I16",
    torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL",
}

with open(out + "/manifest.tsv", "w") as f:
    for name, t in sd.items():
        c = t.contiguous().reshape(-1)
        raw = c.view(torch.uint8) if c.dtype != torch.bool else c.to(torch.uint8)
        with open(out + "/raw/" + name + ".bin", "wb") as r:
            r.write(raw.numpy().tobytes())
        f.write("%s\t%s\t%s\n" % (name, DTYPES[t.dtype], ",".join(str(s) for s in t.shape)))

torch.save(sd, out + "/default.pt")
torch.save(sd, out + "/p4.pt", pickle_protocol=4)
torch.save(sd, out + "/p5.pt", pickle_protocol=5)
torch.save(sd, out + "/legacy.pt", _use_new_zipfile_serialization=False)

floats = {k: v for k, v in sd.items()
          if v.dtype in (torch.float32, torch.float16, torch.bfloat16) and v.dim() in (1, 2)
          and v.numel() > 0}
torch.save(floats, out + "/floats.pt")

model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2))
opt = torch.optim.Adam(model.parameters())
model(torch.ones(2, 4)).sum().backward()
opt.step()
torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3},
           out + "/nested.pt")
torch.save({"a": model.state_dict(), "b": {"w": torch.ones(2)}}, out + "/ambiguous.pt")
torch.save(base, out + "/tensor.pt")
torch.save(model.state_dict(keep_vars=True), out + "/params.pt")
with open(out + "/nested.raw", "wb") as r:
    r.write(model[0].weight.detach().contiguous().numpy().tobytes())

names = list(floats)
half = len(names) // 2
shards = {"pytorch_model-00001-of-00002.bin": names[:half],
          "pytorch_model-00002-of-00002.bin": names[half:]}
weight_map = {}
for shard, keys in shards.items():
    torch.save({k: floats[k] for k in keys}, out + "/sharded/" + shard)
    for k in keys:
        weight_map[k] = shard
with open(out + "/sharded/pytorch_model.bin.index.json", "w") as f:
    json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f)
with open(out + "/sharded/config.json", "w") as f:
    json.dump({"model_type": "test", "hidden_size": 4, "vocab_size": 10}, f)
