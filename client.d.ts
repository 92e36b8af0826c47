// Generic types for model imports, for a project that has no generated
// tfmodel-env.d.ts yet (the per-model types there are exact and take priority).
// Add `/// <reference types="unplugin-tfmodel/client" />` or list
// "unplugin-tfmodel/client" in tsconfig's compilerOptions.types.
//
// A pattern has one `*` and a fixed end, so these cover checkpoints and graph
// files with no directive or one fixed directive, and training directories
// written with a trailing slash (`./models/train/`); an import with a value
// (`?outputs=y`) is typed once a build has written tfmodel-env.d.ts. Outputs
// are typed numeric here (Float32Array | Int32Array | Uint8Array).

type TfModelImport = import('unplugin-tfmodel/runtime').TfModel

declare module '*.ckpt' {
  const model: TfModelImport
  export default model
}
declare module '*.ckpt?quantize' {
  const model: TfModelImport
  export default model
}
declare module '*.ckpt?quantize=uint8' {
  const model: TfModelImport
  export default model
}
declare module '*.ckpt?quantize=float16' {
  const model: TfModelImport
  export default model
}
declare module '*.ckpt?quantize=int8' {
  const model: TfModelImport
  export default model
}
declare module '*.ckpt?ema' {
  const model: TfModelImport
  export default model
}
declare module '*.ckpt?format=pb' {
  const model: TfModelImport
  export default model
}
declare module '*.pb' {
  const model: TfModelImport
  export default model
}
declare module '*.pb?quantize' {
  const model: TfModelImport
  export default model
}
declare module '*.pb?quantize=uint8' {
  const model: TfModelImport
  export default model
}
declare module '*.pb?quantize=float16' {
  const model: TfModelImport
  export default model
}
declare module '*.pb?quantize=int8' {
  const model: TfModelImport
  export default model
}
declare module '*.pb?format=pb' {
  const model: TfModelImport
  export default model
}
declare module '*.pbtxt' {
  const model: TfModelImport
  export default model
}
declare module '*.pbtxt?quantize' {
  const model: TfModelImport
  export default model
}
declare module '*.pbtxt?quantize=uint8' {
  const model: TfModelImport
  export default model
}
declare module '*.pbtxt?quantize=float16' {
  const model: TfModelImport
  export default model
}
declare module '*.pbtxt?quantize=int8' {
  const model: TfModelImport
  export default model
}
declare module '*.pbtxt?format=pb' {
  const model: TfModelImport
  export default model
}
declare module '*/' {
  const model: TfModelImport
  export default model
}
declare module '*/?quantize' {
  const model: TfModelImport
  export default model
}
declare module '*/?quantize=uint8' {
  const model: TfModelImport
  export default model
}
declare module '*/?quantize=float16' {
  const model: TfModelImport
  export default model
}
declare module '*/?quantize=int8' {
  const model: TfModelImport
  export default model
}
declare module '*/?ema' {
  const model: TfModelImport
  export default model
}
declare module '*/?format=pb' {
  const model: TfModelImport
  export default model
}
declare module '*.ckpt?url' {
  const url: string
  export default url
}
declare module '*.pb?url' {
  const url: string
  export default url
}
declare module '*.pbtxt?url' {
  const url: string
  export default url
}
declare module '*/?url' {
  const url: string
  export default url
}
