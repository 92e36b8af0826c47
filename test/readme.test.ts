// The README documents what the code defines; these keep the two in step.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

import { errorCodes } from '../src/native.js'
import { DIRECTIVES, QUANTIZE_MODES } from '../src/plugin/directives.js'
import { root } from './fixtures.js'

const readme = readFileSync(join(root, 'README.md'), 'utf8')

/** The backticked first cells of the table under `heading`. */
function tableNames(heading: string): string[] {
  const section = readme.slice(readme.indexOf(heading))
  const table = section.slice(0, section.indexOf('\n\n', section.indexOf('\n|')))
  return [...table.matchAll(/^\| `([^`=/ ]+)/gm)].map((m) => m[1]!)
}

describe('README', () => {
  it("lists exactly the core's error codes", () => {
    expect(tableNames('## Errors').sort()).toEqual([...errorCodes()].sort())
  })

  it('documents every directive and quantization mode', () => {
    const documented = new Set(tableNames('### Directives'))
    for (const directive of DIRECTIVES) expect(documented.has(directive), directive).toBe(true)
    for (const mode of QUANTIZE_MODES) expect(readme).toContain(`quantize=${mode}`)
  })
})
