/**
 * WebSocket masking (RFC 6455 §5.3) with WebAssembly SIMD: 16 bytes per `v128.xor`, four per
 * loop iteration. No native addon and no toolchain: the module's bytes are written below by a
 * tiny encoder, instruction by instruction, when this module is first loaded (about 120 bytes).
 *
 * The module works in its own linear memory, so each call copies the bytes in, XORs them and
 * copies them out. Two `memcpy`s and a SIMD pass still beat the JavaScript word loop
 * (`protocol/mask.ts`) by 1.5–4× from about 1 KiB up (docs/design.md, "Masking"); below
 * {@link WASM_MIN_BYTES} the JavaScript loop is used, as it is whenever WebAssembly SIMD is
 * unavailable. Because the bytes are copied anyway, writing the result into another buffer costs
 * nothing more: {@link maskInto} unmasks a payload straight into the message buffer.
 *
 * @module
 */
import { applyMask as jsApplyMask } from "../protocol/mask.js";

/** Below this many bytes the JavaScript word loop is faster than a call into WebAssembly. */
export const WASM_MIN_BYTES = 1024;

/**
 * Bytes processed per call into WebAssembly: the size of the module's memory (one 64 KiB page),
 * small enough to stay in cache between the copy in and the copy out.
 */
const BLOCK_BYTES = 65536;

/** Bytes per iteration of the module's loop (four 16-byte vectors); the rest is done in JS. */
const STRIDE = 64;

// ---- a minimal WebAssembly binary encoder -------------------------------------------------------

/** Unsigned LEB128. */
function uleb(value: number): number[] {
  const out: number[] = [];
  let v = value;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** A vector: its length, then its items. */
function vec(items: readonly (readonly number[])[]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function name(text: string): number[] {
  const bytes = [...new TextEncoder().encode(text)];
  return [...uleb(bytes.length), ...bytes];
}

function section(id: number, content: readonly number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

// Value types and opcodes used (WebAssembly core spec §5.3–5.4, SIMD proposal).
const I32 = 0x7f;
const V128 = 0x7b;
const FUNC = 0x60;
const EMPTY_BLOCK = 0x40;
const BLOCK = 0x02;
const LOOP = 0x03;
const BR = 0x0c;
const BR_IF = 0x0d;
const END = 0x0b;
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const I32_CONST = 0x41;
const I32_GE_U = 0x4f;
const I32_ADD = 0x6a;
const SIMD = 0xfd;
const V128_LOAD = 0x00;
const V128_STORE = 0x0b;
const I32X4_SPLAT = 0x11;
const V128_XOR = 0x51;
/** memarg alignment: 2^4 = 16 bytes (a hint only; unaligned accesses are valid). */
const ALIGN_16 = 4;

/**
 * `mask(ptr: i32, length: i32, key: i32)`: XORs `length` bytes at `ptr` (a multiple of
 * {@link STRIDE}) with the little-endian 32-bit `key` repeated.
 *
 *     vkey = i32x4.splat(key); end = ptr + length
 *     loop: if ptr >= end: break
 *           for off in 0, 16, 32, 48: v128.store(ptr + off, v128.load(ptr + off) ^ vkey)
 *           ptr += 64
 */
function maskFunctionBody(): number[] {
  const [ptr, length, key, end, vkey] = [0, 1, 2, 3, 4];
  // prettier-ignore
  const xorVector = (offset: number): number[] => [
    LOCAL_GET, ptr,
    LOCAL_GET, ptr,
    SIMD, V128_LOAD, ALIGN_16, ...uleb(offset),
    LOCAL_GET, vkey,
    SIMD, V128_XOR,
    SIMD, V128_STORE, ALIGN_16, ...uleb(offset),
  ];
  // prettier-ignore
  const code = [
    // locals: one i32 (end), one v128 (vkey)
    ...vec([[1, I32], [1, V128]]),
    LOCAL_GET, key, SIMD, I32X4_SPLAT, LOCAL_SET, vkey,
    LOCAL_GET, ptr, LOCAL_GET, length, I32_ADD, LOCAL_SET, end,
    BLOCK, EMPTY_BLOCK,
    LOOP, EMPTY_BLOCK,
    LOCAL_GET, ptr, LOCAL_GET, end, I32_GE_U, BR_IF, 1,
    ...xorVector(0), ...xorVector(16), ...xorVector(32), ...xorVector(48),
    LOCAL_GET, ptr, I32_CONST, ...[0xc0, 0x00] /* signed LEB128 of 64 */, I32_ADD, LOCAL_SET, ptr,
    BR, 0,
    END,
    END,
    END,
  ];
  return [...uleb(code.length), ...code];
}

/** The whole module: one function type, one function, one memory of `pages` pages, exports. */
export function maskModuleBytes(pages: number): Uint8Array {
  // prettier-ignore
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d], // "\0asm"
    ...[0x01, 0x00, 0x00, 0x00], // version 1
    ...section(1, vec([[FUNC, ...vec([[I32], [I32], [I32]]), ...vec([])]])), // type: (i32 i32 i32) -> ()
    ...section(3, vec([[0]])), // function 0 has type 0
    ...section(5, vec([[0x00, ...uleb(pages)]])), // memory 0: min `pages`, no max
    ...section(7, vec([[...name("memory"), 0x02, 0], [...name("mask"), 0x00, 0]])), // exports
    ...section(10, vec([maskFunctionBody()])), // code
  ]);
}

// ---- the instance ---------------------------------------------------------------------------

interface MaskInstance {
  readonly memory: Uint8Array;
  readonly mask: (ptr: number, length: number, key: number) => void;
}

/**
 * The part of the WebAssembly JS API used here (TypeScript's Node typings do not declare the
 * `WebAssembly` global).
 */
interface WebAssemblyApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { readonly exports: Record<string, unknown> };
}

/** The instance, or null when WebAssembly SIMD is unavailable (then JS does all the work). */
function instantiate(): MaskInstance | null {
  try {
    const api = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
    const bytes = maskModuleBytes(BLOCK_BYTES / 65536);
    if (api === undefined || !api.validate(bytes)) return null;
    const exports = new api.Instance(new api.Module(bytes)).exports as {
      memory: { buffer: ArrayBuffer };
      mask: (ptr: number, length: number, key: number) => void;
    };
    return { memory: new Uint8Array(exports.memory.buffer), mask: exports.mask };
  } catch {
    return null;
  }
}

const wasm = instantiate();

/** Whether the WebAssembly SIMD path is in use in this process. */
export const wasmMaskAvailable = wasm !== null;

/** The 4 key bytes rotated to start at `keyOffset`, as the little-endian word the module XORs. */
function keyWord(maskKey: Uint8Array, keyOffset: number): number {
  return (
    maskKey[keyOffset & 3]! |
    (maskKey[(keyOffset + 1) & 3]! << 8) |
    (maskKey[(keyOffset + 2) & 3]! << 16) |
    (maskKey[(keyOffset + 3) & 3]! << 24)
  );
}

/**
 * Writes `source` XOR the mask into `target` (the same length; it may be `source` itself), where
 * `source[0]` lines up with key byte `keyOffset`.
 * @returns the key offset for the byte that follows
 */
export function maskInto(
  source: Uint8Array,
  target: Uint8Array,
  maskKey: Uint8Array,
  keyOffset: number,
): number {
  const length = source.length;
  if (wasm === null || length < WASM_MIN_BYTES) {
    if (target !== source) target.set(source);
    return jsApplyMask(target, maskKey, keyOffset);
  }
  // Whole 64-byte strides go through WebAssembly, so the key offset is the same after each block.
  const key = keyWord(maskKey, keyOffset);
  const memory = wasm.memory;
  let done = 0;
  for (let rest = length & -STRIDE; rest > 0;) {
    const block = rest < BLOCK_BYTES ? rest : BLOCK_BYTES;
    memory.set(block === length ? source : source.subarray(done, done + block));
    wasm.mask(0, block, key);
    target.set(block === BLOCK_BYTES ? memory : memory.subarray(0, block), done);
    done += block;
    rest -= block;
  }
  if (done === length) return keyOffset;
  const tail = target.subarray(done);
  if (target !== source) tail.set(source.subarray(done));
  return jsApplyMask(tail, maskKey, keyOffset);
}

/** {@link maskInto} in place: the contract of `protocol/mask.ts applyMask`. */
export function applyMask(bytes: Uint8Array, maskKey: Uint8Array, keyOffset = 0): number {
  return maskInto(bytes, bytes, maskKey, keyOffset);
}
