// Query directives and plugin options: parsing, canonical forms, and errors
// that suggest the closest valid name.
import { describe, expect, it } from 'vitest'

import { canonicalQuery, parseDirectives } from '../src/plugin/directives.js'
import { resolveModelImport } from '../src/plugin/model-request.js'
import { modelOptions, resolveOptions } from '../src/plugin/options.js'
import { fixture, fixturesDir } from './fixtures.js'

describe('directives', () => {
  it('mirror TensorFlow tool flags and combine in any order', () => {
    expect(parseDirectives('quantize')).toEqual({ quantize: 'uint8' })
    expect(parseDirectives('quantize=int8&outputs=a,b&inputs=x&format=pb')).toEqual({
      quantize: 'int8',
      outputs: ['a', 'b'],
      inputs: ['x'],
      format: 'pb',
    })
    const a = canonicalQuery(parseDirectives('outputs=probs&quantize=float16&url'))
    const b = canonicalQuery(parseDirectives('url&quantize=float16&outputs=probs'))
    expect(a).toBe(b)
  })

  it('ema and placeholders reach the core as use_ema and placeholder_to_const_names', () => {
    expect(parseDirectives('ema&placeholders=is_training=true,keep_prob=0.5')).toEqual({
      ema: true,
      placeholders: ['is_training=true', 'keep_prob=0.5'],
    })
    expect(canonicalQuery(parseDirectives('placeholders=keep_prob=1&ema'))).toBe('ema&placeholders=keep_prob=1')
    const resolved = resolveOptions({ models: [{ include: 'train/**', ema: true, placeholders: { keep_prob: 1, is_training: false } }] }, '/app')
    expect(modelOptions(resolved, 'train/model.ckpt-60')).toMatchObject({ ema: true, placeholders: ['keep_prob=1', 'is_training=false'] })
    expect(modelOptions(resolved, 'other')).toMatchObject({ ema: false, placeholders: undefined })
    expect(() => resolveOptions({ models: [{ include: 'a', placeholders: { keep_prob: 'one' } as never }] })).toThrow(/placeholders/)
  })

  it('ignore the parameters bundlers add themselves', () => {
    expect(parseDirectives('quantize&import&t=1700000000')).toEqual({ quantize: 'uint8' })
  })

  it.each([
    ['quantise', /unknown directive "quantise".*"quantize"/],
    ['quantize=uint9', /"quantize" takes .* not "uint9".*"uint8"/],
    ['format=tfjss', /"format" takes .*"tfjs"/],
    ['outputs=', /needs node names/],
    ['url=1', /takes no value/],
    ['ema=true', /takes no value/],
    ['placeholders=keep_prob', /name=value pairs/],
    ['placeholders=keep_prob=high', /not "keep_prob=high"/],
  ])('reject %s', (query, message) => {
    expect(() => parseDirectives(query)).toThrow(message)
    try {
      parseDirectives(query)
    } catch (error) {
      expect((error as { code: string }).code).toBe('INVALID_DIRECTIVE')
    }
  })
})

describe('options', () => {
  it('apply defaults once, and per-glob overrides by path', () => {
    const resolved = resolveOptions({ quantize: true, models: [{ include: 'models/**', outputs: ['probs'], quantize: 'int8' }] }, '/app')
    expect(resolved.quantize).toBe('uint8')
    expect(resolved.shardSize).toBe(4 * 1024 * 1024)
    expect(resolved.cacheDir).toBe('/app/node_modules/.cache/unplugin-tfmodel')
    expect(resolved.dts).toBe('/app/tfmodel-env.d.ts')
    expect(modelOptions(resolved, 'models/ssd.ckpt')).toMatchObject({ outputs: ['probs'], quantize: 'int8' })
    expect(modelOptions(resolved, 'other/ssd.ckpt')).toMatchObject({ outputs: undefined, quantize: 'uint8' })
  })

  it.each([
    [{ quantise: true }, /unknown option "quantise".*"quantize"/],
    [{ quantize: 'int4' }, /"quantize" takes/],
    [{ shardSize: -1 }, /positive integer/],
    [{ opCheck: 'maybe' }, /"opCheck" takes/],
    [{ models: [{ include: 'x', output: ['y'] }] }, /unknown option of models\[0\] "output".*"outputs"/],
    [{ models: [{ include: 'x', quantize: 'int4' }] }, /"models\[0\].quantize" takes/],
    [{ models: [{ include: 'x', outputs: 'probs' }] }, /models\[0\].outputs must be a list/],
    [{ backends: ['webgll'] }, /unknown backend "webgll".*"webgl"/],
    [{ cacheDir: 1 }, /"cacheDir" takes a path or false/],
  ])('reject %j', (options, message) => {
    expect(() => resolveOptions(options as never, '/app')).toThrow(message)
  })
})

describe('model imports', () => {
  const convnet = fixture('convnet')
  const importer = `${fixturesDir}/app/main.js`

  it('resolve a checkpoint prefix, one of its files, a training directory and a graph file', () => {
    expect(resolveModelImport('../convnet/model.ckpt?quantize', importer, '/')).toEqual({ source: convnet.path('model.ckpt'), query: 'quantize' })
    expect(resolveModelImport('../convnet/model.ckpt.index', importer, '/')?.source).toBe(convnet.path('model.ckpt'))
    expect(resolveModelImport('../train_dir', importer, '/')?.source).toBe(fixture('train_dir').dir)
    // A folder of checkpoints without a state file is a training directory too.
    expect(resolveModelImport('../convnet', importer, '/')?.source).toBe(convnet.dir)
    expect(resolveModelImport('../graph_pair/graph.pbtxt', importer, '/')?.source).toBe(fixture('graph_pair').path('graph.pbtxt'))
  })

  it('leave everything else to the bundler', () => {
    expect(resolveModelImport('./main.js', importer, '/')).toBeUndefined()
    expect(resolveModelImport('react', importer, '/')).toBeUndefined()
    expect(resolveModelImport('../errors', importer, '/')).toBeUndefined()
  })
})
