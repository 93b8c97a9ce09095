#!/usr/bin/env node
// HuggingFace tokenizers (npm tokenizers@0.23.2) peer for the tokenize
// package's parity test and benchmark.
//
//   node encode.js TOKENIZER_JSON            ids mode
//   node encode.js TOKENIZER_JSON --bench    bench mode
//
// Input on stdin: one JSON string per line (the text to encode).
// ids mode: one JSON array of ids per input line, in order, from
//   Tokenizer.encode without added special tokens (no post-processor runs).
// bench mode: one JSON object with the measurements, timed inside Node after
//   loading (startup, stdin and JSON parsing excluded):
//   - single: encode(text) awaited one text at a time, on one thread;
//   - batch: encodeBatch(all texts) in one call, on all cores (rayon).
//   Each regime first runs once untimed to warm up, then repeats until at
//   least minSeconds have passed. bytes are UTF-8 bytes per pass. cpuSeconds
//   is the process's CPU time (user + system, all threads, from
//   process.cpuUsage) over the timed passes, so that a rate per CPU-second
//   can be given when other load on the machine distorts wall-clock time.
'use strict'

const fs = require('fs')
const { Tokenizer } = require('tokenizers')

async function main() {
  const [file, mode] = process.argv.slice(2)
  if (!file) {
    process.stderr.write('usage: node encode.js TOKENIZER_JSON [--bench]\n')
    process.exit(2)
  }
  const tok = Tokenizer.fromFile(file)
  const input = fs.readFileSync(0, 'utf8')
  const texts = input.split('\n')
  if (texts.length > 0 && texts[texts.length - 1] === '') texts.pop()
  for (let i = 0; i < texts.length; i++) texts[i] = JSON.parse(texts[i])

  const opts = { addSpecialTokens: false }
  if (mode === undefined) {
    const out = []
    for (const t of texts) {
      const enc = await tok.encode(t, null, opts)
      out.push(JSON.stringify(enc.getIds()))
    }
    out.push('')
    fs.writeFileSync(1, out.join('\n'))
    return
  }
  if (mode !== '--bench') {
    process.stderr.write(`unknown mode ${mode}\n`)
    process.exit(2)
  }
  const minSeconds = Number(process.env.HFPEER_MIN_SECONDS || '1')
  let bytes = 0
  for (const t of texts) bytes += Buffer.byteLength(t, 'utf8')

  const time = async (pass) => {
    let tokens = await pass() // warm-up, also counts tokens per pass
    let passes = 0
    const t0 = process.hrtime.bigint()
    const c0 = process.cpuUsage()
    let elapsed = 0
    do {
      await pass()
      passes++
      elapsed = Number(process.hrtime.bigint() - t0) / 1e9
    } while (elapsed < minSeconds)
    const c = process.cpuUsage(c0)
    return { passes, seconds: elapsed, cpuSeconds: (c.user + c.system) / 1e6, tokens }
  }
  const single = await time(async () => {
    let n = 0
    for (const t of texts) n += (await tok.encode(t, null, opts)).getIds().length
    return n
  })
  const batch = await time(async () => {
    let n = 0
    for (const e of await tok.encodeBatch(texts, opts)) n += e.getIds().length
    return n
  })
  const os = require('os')
  const threads = Number(process.env.RAYON_NUM_THREADS || 0) || os.availableParallelism()
  process.stdout.write(JSON.stringify({ texts: texts.length, bytes, threads, single, batch }) + '\n')
}

main().catch((err) => {
  process.stderr.write(`hfpeer: ${err.stack || err}\n`)
  process.exit(1)
})
