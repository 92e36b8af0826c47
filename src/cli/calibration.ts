// `--calibration` and its image flags, shared by `tfmodel convert` and
// `tfmodel quantize --format tflite`: the ranges int8-full needs, measured
// on the user's samples before the core writes the file.
import { statSync } from 'node:fs'

import type { ConvertRequest } from '../native.js'
import { type FlagSpec, hasPixelFlags, pixelFlags, UsageError } from './args.js'

export const calibrationFlags = [
  {
    name: 'calibration',
    kind: 'string',
    help: 'int8-full: representative inputs: a folder of PNG/JPEG images, an .npy (samples along its first axis), an .npz (an array per input) or a module (.js, .mjs) exporting an iterable of input records',
  },
  { name: 'mean_value', kind: 'string', help: 'calibration images: subtracted from each float pixel (default 0)' },
  { name: 'std_value', kind: 'string', help: 'calibration images: what each float pixel is then divided by (default 255)' },
] as const satisfies readonly FlagSpec[]

/** `request` with the ranges calibration measured, when it asks for int8-full with calibration data. */
export async function withCalibration(
  request: ConvertRequest,
  flags: { calibration?: string; mean_value?: string; std_value?: string },
): Promise<ConvertRequest> {
  if (!flags.calibration) {
    if (hasPixelFlags(flags)) throw new UsageError('--mean_value and --std_value apply to --calibration images')
    return request
  }
  if (request.quantize !== 'int8-full') throw new UsageError('--calibration is for int8-full')
  const options = pixelFlags(flags)
  const kind = statSync(flags.calibration, { throwIfNoEntry: false })
  // A path that is not there is the calibration's own FILE_NOT_FOUND, below.
  if (hasPixelFlags(flags) && kind && !kind.isDirectory()) {
    throw new UsageError(`--mean_value and --std_value apply to a folder of calibration images; ${flags.calibration} is fed as it is`)
  }
  // Loaded on use (and kept in dist/node/, where it finds LiteRT.js's files).
  const { calibrate } = await import('../node/index.js')
  const { ranges } = await calibrate({ ...request, outputDir: undefined }, flags.calibration, options)
  return { ...request, calibrationRanges: ranges }
}
