// Copies the few onnxruntime-web files the in-browser page needs into the Python package (no bundler):
//   cd web && npm ci && npm run vendor
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "node_modules", "onnxruntime-web", "dist");
const vendor = join(here, "..", "src", "inkwash", "app", "static", "vendor");
// the WebAssembly CPU backend only: ESM entry, its loader, and the SIMD build (single-threaded without
// cross-origin isolation, which plain static hosting does not give)
const files = ["ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"];

mkdirSync(vendor, { recursive: true });
for (const name of files) copyFileSync(join(dist, name), join(vendor, name));
const pkg = JSON.parse(readFileSync(join(here, "node_modules", "onnxruntime-web", "package.json"), "utf8"));
writeFileSync(join(vendor, "VERSION"), `onnxruntime-web ${pkg.version} (${pkg.license}), from npm; see LICENSE\n`);
console.log(`copied onnxruntime-web ${pkg.version}: ${files.join(", ")} -> ${vendor}`);
