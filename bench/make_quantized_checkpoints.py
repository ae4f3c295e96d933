#!/usr/bin/env python3
"""Random-weight checkpoints for timing the quantised formats (docs/performance.md,
"Quantised formats"): a qwen3_moe-shaped model as FP8 block-quantised and as
plain bf16, and a gpt_oss-shaped one as MXFP4 experts and as plain bf16.
Pure Python (no numpy): the values are random bytes kept finite and small;
only the timing means anything.

    bench/make_quantized_checkpoints.py OUT_DIR [--layers 4 --hidden 1024 --experts 32 --width 512]
"""
import argparse
import json
import os
import random
import struct


def bf16_random(n):
    """n random bf16 values of magnitude ~0.004-0.03 (both signs)."""
    b = bytearray(os.urandom(2 * n))
    high = bytes(random.choice((0x3B, 0x3C, 0xBB, 0xBC)) for _ in range(256))
    b[1::2] = bytes(b[1::2]).translate(high)
    return bytes(b)


def bf16_ones(n):
    return b"\x80\x3f" * n


def fp8_codes(n):
    """Random e4m3fn codes without the NaN codes 0x7F / 0xFF."""
    table = bytes(c if c not in (0x7F, 0xFF) else 0x00 for c in range(256))
    return os.urandom(n).translate(table)


def write(path, tensors, config):
    os.makedirs(path, exist_ok=True)
    header, offset = {}, 0
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(os.path.join(path, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, (_, _, data) in tensors.items():
            f.write(data)
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(config, f, indent=2)


def linear(tensors, name, out, inp, fp8, block=128):
    if not fp8:
        tensors[name] = ("BF16", [out, inp], bf16_random(out * inp))
        return
    tensors[name] = ("F8_E4M3", [out, inp], fp8_codes(out * inp))
    grid = [(out + block - 1) // block, (inp + block - 1) // block]
    tensors[name + "_scale_inv"] = ("F32", grid, struct.pack("<f", 1e-4) * (grid[0] * grid[1]))


def qwen3(args, fp8):
    H, E, I, L, V = args.hidden, args.experts, args.width, args.layers, args.vocab
    heads, kv, d = H // 128, max(1, H // 512), 128
    t = {"model.embed_tokens.weight": ("BF16", [V, H], bf16_random(V * H))}
    for l in range(L):
        p = f"model.layers.{l}."
        t[p + "input_layernorm.weight"] = ("BF16", [H], bf16_ones(H))
        t[p + "post_attention_layernorm.weight"] = ("BF16", [H], bf16_ones(H))
        for n, rows in (("q", heads * d), ("k", kv * d), ("v", kv * d)):
            linear(t, p + f"self_attn.{n}_proj.weight", rows, H, fp8)
        linear(t, p + "self_attn.o_proj.weight", H, heads * d, fp8)
        t[p + "self_attn.q_norm.weight"] = ("BF16", [d], bf16_ones(d))
        t[p + "self_attn.k_norm.weight"] = ("BF16", [d], bf16_ones(d))
        t[p + "mlp.gate.weight"] = ("BF16", [E, H], bf16_random(E * H))
        for e in range(E):
            q = p + f"mlp.experts.{e}."
            linear(t, q + "gate_proj.weight", I, H, fp8)
            linear(t, q + "up_proj.weight", I, H, fp8)
            linear(t, q + "down_proj.weight", H, I, fp8)
    t["model.norm.weight"] = ("BF16", [H], bf16_ones(H))
    t["lm_head.weight"] = ("BF16", [V, H], bf16_random(V * H))
    config = {"model_type": "qwen3_moe", "vocab_size": V, "hidden_size": H, "num_hidden_layers": L,
              "num_attention_heads": heads, "num_key_value_heads": kv, "head_dim": d,
              "intermediate_size": 4 * I, "moe_intermediate_size": I, "num_experts": E,
              "num_experts_per_tok": args.top_k, "norm_topk_prob": True, "max_position_embeddings": 4096,
              "rms_norm_eps": 1e-6, "rope_theta": 1e6, "torch_dtype": "bfloat16", "eos_token_id": 1}
    if fp8:
        config["quantization_config"] = {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
                                         "weight_block_size": [128, 128]}
    return t, config


def gpt_oss(args, mxfp4):
    H, E, I, L, V = args.hidden, args.experts, args.width, args.layers, args.vocab
    heads, kv, d = H // 64, max(1, H // 256), 64
    t = {"model.embed_tokens.weight": ("BF16", [V, H], bf16_random(V * H))}
    for l in range(L):
        p = f"model.layers.{l}."
        t[p + "input_layernorm.weight"] = ("BF16", [H], bf16_ones(H))
        t[p + "post_attention_layernorm.weight"] = ("BF16", [H], bf16_ones(H))
        for n, rows in (("q", heads * d), ("k", kv * d), ("v", kv * d)):
            linear(t, p + f"self_attn.{n}_proj.weight", rows, H, False)
            t[p + f"self_attn.{n}_proj.bias"] = ("BF16", [rows], bf16_random(rows))
        linear(t, p + "self_attn.o_proj.weight", H, heads * d, False)
        t[p + "self_attn.o_proj.bias"] = ("BF16", [H], bf16_random(H))
        t[p + "self_attn.sinks"] = ("BF16", [heads], bf16_random(heads))
        t[p + "mlp.router.weight"] = ("BF16", [E, H], bf16_random(E * H))
        t[p + "mlp.router.bias"] = ("BF16", [E], bf16_random(E))
        x = p + "mlp.experts."
        for name, out, inp in (("gate_up_proj", 2 * I, H), ("down_proj", H, I)):
            if mxfp4:
                g = inp // 32
                t[x + name + "_blocks"] = ("U8", [E, out, g, 16], os.urandom(E * out * g * 16))
                t[x + name + "_scales"] = ("U8", [E, out, g], bytes([120]) * (E * out * g))
            else:
                t[x + name] = ("BF16", [E, inp, out], bf16_random(E * inp * out))
            t[x + name + "_bias"] = ("BF16", [E, out], bf16_random(E * out))
    t["model.norm.weight"] = ("BF16", [H], bf16_ones(H))
    t["lm_head.weight"] = ("BF16", [V, H], bf16_random(V * H))
    config = {"model_type": "gpt_oss", "vocab_size": V, "hidden_size": H, "num_hidden_layers": L,
              "num_attention_heads": heads, "num_key_value_heads": kv, "head_dim": d,
              "intermediate_size": I, "num_local_experts": E, "num_experts_per_tok": args.top_k,
              "max_position_embeddings": 4096, "rms_norm_eps": 1e-5, "rope_theta": 150000.0,
              "sliding_window": 128, "torch_dtype": "bfloat16", "eos_token_id": 1}
    if mxfp4:
        config["quantization_config"] = {"quant_method": "mxfp4", "modules_to_not_convert": [
            "model.layers.*.self_attn", "model.layers.*.mlp.router", "model.embed_tokens", "lm_head"]}
    return t, config


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=1024)
    ap.add_argument("--experts", type=int, default=32)
    ap.add_argument("--width", type=int, default=512)
    ap.add_argument("--top-k", type=int, default=4)
    ap.add_argument("--vocab", type=int, default=8192)
    args = ap.parse_args()
    random.seed(1234)
    for name, make, quantised in (("qwen3_moe-fp8", qwen3, True), ("qwen3_moe-bf16", qwen3, False),
                                  ("gpt_oss-mxfp4", gpt_oss, True), ("gpt_oss-bf16", gpt_oss, False)):
        tensors, config = make(args, quantised)
        write(os.path.join(args.out, name), tensors, config)
        print(os.path.join(args.out, name))


if __name__ == "__main__":
    main()
