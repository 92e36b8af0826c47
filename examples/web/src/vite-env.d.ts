/// <reference types="vite/client" />

/** Whether the build keeps the float32 and dynamic-range int8 .tflite beside full int8 (vite.config.ts). */
declare const __ALL_TFLITE_VARIANTS__: boolean
