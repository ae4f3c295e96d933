#!/usr/bin/python3
"""Regenerates expected.json: what Jinja2 renders for each template and context.

The renderer is configured the way transformers' apply_chat_template configures
it (transformers/utils/chat_template_utils.py: ImmutableSandboxedEnvironment,
trim_blocks, lstrip_blocks, loopcontrols, its own tojson, raise_exception and
strftime_now), so expected.json is an independent reference for MoEScope's
C++ renderer (core/experiments/jinja_template.cpp). Needs Debian's
python3-jinja2 (a development-time tool; the product has no Python):

    /usr/bin/python3 tests/data/chat_templates/make_expected.py
"""
import json
import os

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
TOKENIZERS = os.path.join(HERE, "..", "tokenizers")


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(fmt):
    return "@@NOW@@"  # the C++ test substitutes its own clock's value


def environment():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def templates():
    out = {}
    for name in ("qwen3", "deepseek_v3"):
        with open(os.path.join(TOKENIZERS, name, "tokenizer_config.json"), encoding="utf-8") as f:
            out[name] = json.load(f)["chat_template"]
    with open(os.path.join(HERE, "model_templates.json"), encoding="utf-8") as f:
        out.update({k: v["template"] for k, v in json.load(f).items()})
    with open(os.path.join(HERE, "features.json"), encoding="utf-8") as f:
        out.update({"feature:" + k: v for k, v in json.load(f).items()})
    return out


def contexts():
    user = {"role": "user", "content": "Wie viele Äpfel sind 3 + 4?"}
    system = {"role": "system", "content": "Answer briefly."}
    assistant = {"role": "assistant", "content": "<think>\nadd\n</think>\n\n7"}
    zh = {"role": "user", "content": "请把这句话翻译成英文：天气很好。"}
    specials = {"bos_token": "<s>", "eos_token": "</s>"}
    return {
        "user": dict(messages=[user], add_generation_prompt=True, **specials),
        "user_no_generation_prompt": dict(messages=[user], add_generation_prompt=False, **specials),
        "user_thinking_off": dict(messages=[zh], add_generation_prompt=True, enable_thinking=False, **specials),
        "system_user": dict(messages=[system, user], add_generation_prompt=True, **specials),
        "multi_turn": dict(messages=[user, assistant, zh], add_generation_prompt=True, x=1, **specials),
    }


def main():
    env = environment()
    cases = []
    for tname, text in templates().items():
        for cname, ctx in contexts().items():
            case = {"template": tname, "context": cname, "variables": ctx}
            try:
                case["expected"] = env.from_string(text).render(**ctx)
            except jinja2.exceptions.TemplateError as e:
                case["error"] = type(e).__name__ + ": " + str(e)
            except TypeError as e:
                case["error"] = "TypeError: " + str(e)
            cases.append(case)
    with open(os.path.join(HERE, "expected.json"), "w", encoding="utf-8") as f:
        json.dump({"generator": "make_expected.py, Jinja2 " + jinja2.__version__, "cases": cases}, f,
                  ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
