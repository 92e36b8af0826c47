// Models run in this Node process, on the app's own runtime (TF.js's CPU or
// WASM backend, LiteRT.js): what `tfmodel run` and int8-full's calibration
// need, shared by the CLI and the plugin. One entry of dist/, since
// run-model.ts finds LiteRT.js's and TF.js's files from where it sits.
export { type CalibrateOptions, type Calibration, calibrate, type Ranges } from './calibrate.js'
export { type Feed, type ImageOptions, InputMismatchError, readInput, readInputFile } from './run-input.js'
export { loadForRun, type NodeBackend } from './run-model.js'
